#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# docs/tutorial.md chapter 11 ("Fencing a real kernel disk") runs as
# written: every command of its root-console blocks, in order, in one
# shell, printing what the tutorial shows (integration/tutorial_kernel.py).
# A transcript with the real outputs is kept in the test's logs
# (chapter-11.md) to update the tutorial from.  About 40 s in the TCG lab VM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcmu_lib.sh"
command -v sg_persist >/dev/null || skip "sg3-utils is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
modprobe target_core_user || skip "no target_core_user module"
# The lab VM has no udev to load the disk drivers when the disks appear
# (a reader's machine does).
modprobe sd_mod; modprobe sg
PIDFILE=/run/prhelper-tcmu.pid
# The chapter stops its daemon itself; if it fails half-way, the disks go
# first (tcmu_cleanup), then the daemon.
trap 'tcmu_cleanup; [ -s $PIDFILE ] && kill "$(cat $PIDFILE)" 2>/dev/null; cp /run/prhelper-tcmu.log "$LOGS/" 2>/dev/null' EXIT
export PATH=$BUILD/src/tcmu:$BUILD/src:$PATH
python3 "$ROOT/integration/tutorial_kernel.py" "$ROOT/docs/tutorial.md" "$LOGS/chapter-11.md" \
    >"$LOGS/tutorial.out" 2>&1 || fail "the chapter does not run as written: $(head -c 1500 "$LOGS/tutorial.out")"
[ -e "$PIDFILE" ] && fail "the chapter left prhelper-tcmu running"
log "$(tail -1 "$LOGS/tutorial.out")"
pass
