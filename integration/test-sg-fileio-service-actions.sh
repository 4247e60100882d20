#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every PR service action through prhelper on a LIO fileio LUN, two nexuses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr-flow.sh"
service_action_flow fileio it_fileio
pass
