#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-all.sh - run every integration/test-*.sh inside the lab VM, each with a
# time limit, and end with "N passed, N failed" (skips are counted apart).
cd "$(dirname "$0")/.." || exit 1
pass=0 failn=0 skipn=0
limit=${PRH_IT_TIMEOUT:-600}
for t in integration/test-*.sh; do
    [ -n "${PRH_IT_ONLY:-}" ] && [[ "$t" != *"$PRH_IT_ONLY"* ]] && continue
    echo "== $t"
    timeout -k 5 "$limit" bash "$t"
    rc=$?
    case $rc in
    0) pass=$((pass + 1)) ;;
    77) skipn=$((skipn + 1)) ;;
    124) echo "FAIL: $t timed out after ${limit}s"; failn=$((failn + 1)) ;;
    *) echo "FAIL: $t (exit $rc)"; failn=$((failn + 1))
       for f in /run/prh-it/$(basename "$t" .sh)/*.log; do
           [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
       done ;;
    esac
done
echo "integration: $pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
