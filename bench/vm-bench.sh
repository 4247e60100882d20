#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm-bench.sh - the lab-VM half of scripts/bench (runs inside ../shared/lab/vm.sh).
# One LIO fileio LUN; prhelper (sg) and the real qemu-pr-helper both running;
# raw SG_IO, the echo floor, prhelper and qemu-pr-helper measured in turn for
# each client count, the order rotated every round so that drift hits all.
# Env: PRH_BENCH_OUT (results directory, required), PRH_BUILD (build dir),
#      PRH_BENCH_ROUNDS (default 5), PRH_BENCH_CLIENTS (default "1 4 16 32 64 256").
# Writes: vm.tsv (one row per run), vm-mix.tsv, vm-mem.tsv, perf-*.txt, vm-env.txt.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../integration/lib.sh
source "$ROOT/integration/lib.sh"
OUT=${PRH_BENCH_OUT:?PRH_BENCH_OUT names the results directory}
BENCH=$BUILD/bench/prhelper-bench
ROUNDS=${PRH_BENCH_ROUNDS:-5}
CLIENTS=${PRH_BENCH_CLIENTS:-1 4 16 32 64 256}
[ -x "$BENCH" ] || fail "no $BENCH (scripts/bench builds it)"
mkdir -p "$OUT"

{
    echo "guest kernel: $(uname -r)"
    echo "guest cpus: $(nproc)"
    grep -m1 'model name' /proc/cpuinfo
    echo "qemu-pr-helper: $(qemu-pr-helper --version | head -1)"
} >"$OUT/vm-env.txt"

make_lun fileio bench 1
DEV=${DEVS[0]}
PRH_SOCK=/run/prh-bench.sock
QPH_SOCK=/run/qph-bench.sock
start_prhelper "$PRH_SOCK" -q
start_qemu_pr_helper "$QPH_SOCK"
log "prhelper pid $PRH_PID, qemu-pr-helper pid $QPH_PID, LUN $DEV"

# requests per client for a client count: 1000 to 4096 requests per run
nreq() {
    case $1 in
    1) echo 1000 ;; 2) echo 600 ;; 4) echo 300 ;; 8) echo 200 ;; 16) echo 100 ;;
    32) echo 60 ;; 64) echo 40 ;; *) echo $(( (4096 + $1 - 1) / $1 )) ;;
    esac
}

# one run: label clients requests [extra bench args]; appends the TSV row
HDR_DONE=0
one() {
    local label=$1 c=$2 n=$3 round=$4 out args=()
    shift 4
    case $label in
    raw) args=(--raw) ;;
    floor) args=(--floor) ;;
    prhelper) args=(-k "$PRH_SOCK") ;;
    qemu-pr-helper) args=(-k "$QPH_SOCK") ;;
    esac
    local w=10
    [ "$c" -ge 64 ] && w=2
    out=$(timeout 300 "$BENCH" "${args[@]}" -l "$label" -c "$c" -n "$n" -w "$w" --tsv "$@" "$DEV" 2>&1)
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "$out" >&2
        fail "prhelper-bench $label -c $c -n $n $* exited $rc"
    fi
    if [ "$HDR_DONE" = 0 ]; then
        printf 'round\t%s\n' "$(sed -n 1p <<<"$out")" >"$TSV"
        HDR_DONE=1
    fi
    printf '%s\t%s\n' "$round" "$(sed -n 2p <<<"$out")" >>"$TSV"
    log "round $round $label c=$c: $(sed -n 2p <<<"$out" | awk -F'\t' '{printf "%.0f req/s p50 %.0f us p99 %.0f us", $8, $10, $12}')"
}

# drain unit attentions of the fresh LUN through both helpers
"$BENCH" -k "$PRH_SOCK" -c 1 -n 5 -w 5 "$DEV" >/dev/null 2>&1
"$BENCH" -k "$QPH_SOCK" -c 1 -n 5 -w 5 "$DEV" >/dev/null 2>&1

TSV=$OUT/vm.tsv
MODES=(raw floor prhelper qemu-pr-helper)
start=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
    for c in $CLIENTS; do
        for k in 0 1 2 3; do
            m=${MODES[$(( (k + round + c) % 4 ))]}
            one "$m" "$c" "$(nreq "$c")" "$round"
        done
    done
done
log "client sweep took $(( $(date +%s) - start )) s"

# the other mixes, one client and 32 clients
TSV=$OUT/vm-mix.tsv
HDR_DONE=0
for mix in read-reservation register-read-keys reserve-release; do
    for c in 1 32; do
        for m in raw prhelper qemu-pr-helper; do
            one "$m" "$c" $(( $(nreq "$c") / 2 )) 1 --mix="$mix"
        done
    done
done

# memory per connected client, each helper started fresh (bench/mem.sh)
source "$ROOT/bench/mem.sh"
for n in 256 768; do
    start_prhelper /run/prh-mem.sock -q
    mem_row "$OUT/vm-mem.tsv" prhelper /run/prh-mem.sock "$DEV" "$n" ||
        log "memory run (prhelper, $n clients) failed: see docs/performance.md (fd limit)"
    kill "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    start_qemu_pr_helper /run/qph-mem.sock
    mem_row "$OUT/vm-mem.tsv" qemu-pr-helper /run/qph-mem.sock "$DEV" "$n" ||
        log "memory run (qemu-pr-helper, $n clients) failed"
    kill "$QPH_PID"; wait "$QPH_PID" 2>/dev/null
done
log "memory runs done"

# where the time goes: a system-wide profile during single-client READ KEYS
profile() { # label command-name socket-args...
    local label=$1 comm=$2
    shift 2
    if perf record -a -g -e cpu-clock -F 1999 -o "$WORK/perf-$label.data" -- \
        "$BENCH" "$@" -c 1 -n 3000 "$DEV" >"$WORK/perf-$label.bench" 2>&1; then
        perf report -i "$WORK/perf-$label.data" --stdio --no-children --sort comm,dso,sym \
            --percent-limit 0.7 -g none 2>/dev/null | grep -v '^$' | head -80 >"$OUT/perf-$label.txt"
        perf report -i "$WORK/perf-$label.data" --stdio --no-children --sort comm \
            -g none 2>/dev/null | grep -v '^$' | head -30 >"$OUT/perf-$label-comm.txt"
        perf report -i "$WORK/perf-$label.data" --stdio --no-children --comms "$comm" \
            --sort dso,sym -g none --percent-limit 0.5 2>/dev/null | grep -v '^$' |
            head -60 >"$OUT/perf-$label-self.txt"
        cat "$WORK/perf-$label.bench" >>"$OUT/perf-$label.txt"
        return 0
    fi
    return 1
}
if profile prhelper prhelper -k "$PRH_SOCK" &&
   profile qemu-pr-helper qemu-pr-helper -k "$QPH_SOCK" &&
   profile raw prhelper-bench --raw && profile floor prhelper-bench --floor; then
    log "perf profiles written"
else
    log "perf does not work here: $(tail -2 "$WORK/perf-prhelper.bench" 2>/dev/null)"
fi
pass
