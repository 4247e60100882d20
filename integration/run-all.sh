#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-all.sh - run every integration/test-*.sh inside the lab VM, each with a
# time limit.  Every test is one pass, fail or skip; its output and logs go
# to build/test-logs/integration/<test>/ (output.log is what it printed), and
# one line per test goes to build/test-logs/integration/results.tsv as soon
# as it ends (name, PASS|FAIL|SKIP, seconds, reason), so the results outlive
# a VM that dies half-way.  A failing test prints the tails of the logs it
# wrote last.  Ends with "integration: N passed, N failed, N skipped".
cd "$(dirname "$0")/.." || exit 1

# selected TEST: is integration/TEST-*.sh one of PRH_IT_ONLY's choice (a
# comma-separated list of substrings of the name; empty: every test)?
selected() {
    local sub
    [ -n "${PRH_IT_ONLY:-}" ] || return 0
    for sub in ${PRH_IT_ONLY//,/ }; do
        [[ "$1" == *"$sub"* ]] && return 0
    done
    return 1
}
# "run-all.sh --selected TEST": scripts/integration asks the same question.
if [ "${1:-}" = --selected ]; then selected "$2"; exit; fi
ROOT=$(pwd)
LOGBASE=${PRH_IT_LOGS:-$ROOT/build/test-logs/integration}
export PRH_IT_LOGS=$LOGBASE
RESULTS=$LOGBASE/results.tsv
mkdir -p "$LOGBASE"
: >"$RESULTS"
pass=0 failn=0 skipn=0
default_limit=${PRH_IT_TIMEOUT:-600}

# tails DIR: the end of the logs a failed test wrote last (its own output
# was already printed), the kernel's messages last.
tails() {
    local f
    ls -t "$1" 2>/dev/null | grep -vx -e output.log -e dmesg.log | head -4 | while read -r f; do
        [ -f "$1/$f" ] && [ -s "$1/$f" ] || continue
        echo "--- tail of $1/$f"
        tail -n 25 "$1/$f" | cut -c1-400
    done
    if [ -s "$1/dmesg.log" ]; then echo "--- tail of $1/dmesg.log"; tail -n 15 "$1/dmesg.log"; fi
}

for t in integration/test-*.sh; do
    selected "$t" || continue
    name=$(basename "$t" .sh)
    dir=$LOGBASE/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    # A test that needs longer says so in a "# prh-it-timeout: SECONDS" line.
    limit=$(sed -n 's/^# prh-it-timeout: *\([0-9]*\).*/\1/p' "$t" | head -1)
    limit=${limit:-$default_limit}
    # PRH_IT_TIME_SCALE=N: every limit N times longer (a host loaded by
    # other work; the tests' own deadlines follow PRH_IT_LIMIT).
    limit=$((limit * ${PRH_IT_TIME_SCALE:-1}))
    export PRH_IT_LIMIT=$limit
    echo "== $t (limit ${limit} s; logs: ${dir#"$ROOT"/})"
    printf '%s\t%s\n' "$name" "$(date +%s)" >"$LOGBASE/running"
    start=$(date +%s)
    timeout -k 5 "$limit" bash "$t" 2>&1 | tee "$dir/output.log"
    rc=${PIPESTATUS[0]}
    secs=$(( $(date +%s) - start ))
    reason=
    case $rc in
    0) result=PASS; pass=$((pass + 1))
       # A passing test may say what it left out (a "NOTE: [test] ..." line).
       reason=$(sed -n 's/^NOTE: \[[^]]*\] //p' "$dir/output.log" | tail -1 | cut -c1-200) ;;
    77) result=SKIP; skipn=$((skipn + 1))
        reason=$(sed -n 's/^SKIP: \[[^]]*\] //p' "$dir/output.log" | tail -1)
        reason=${reason:-"exit status 77 without a reason"} ;;
    124) result=FAIL; failn=$((failn + 1)); reason="timed out after ${limit} s"
         echo "FAIL: $t $reason"; tails "$dir" ;;
    *) result=FAIL; failn=$((failn + 1))
       reason=$(sed -n 's/^FAIL: \[[^]]*\] //p' "$dir/output.log" | tail -1 | cut -c1-200)
       reason=${reason:-"exit status $rc"}
       echo "FAIL: $t (exit $rc)"; tails "$dir" ;;
    esac
    printf '%s\t%s\t%s\t%s\n' "$name" "$result" "$secs" "${reason//$'\t'/ }" >>"$RESULTS"
    rm -f "$LOGBASE/running"
done
echo "integration: $pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
