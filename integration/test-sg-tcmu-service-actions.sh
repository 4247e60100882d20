#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every PR service action through prhelper on a tcmu-runner (qcow) LUN.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr-flow.sh"
command -v tcmu-runner >/dev/null || skip "tcmu-runner is not installed"
service_action_flow tcmu it_tcmu
pass
