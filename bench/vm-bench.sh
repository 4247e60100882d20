#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm-bench.sh - the lab-VM half of scripts/bench (runs inside ../shared/lab/vm.sh).
# One LIO fileio LUN; prhelper (sg, the work tree), prhelper-old (sg, the
# base commit) and the real qemu-pr-helper all running; raw SG_IO, the echo
# floor and the three helpers measured in turn for each client count, the
# order rotated every round so that drift hits all.
# Env: PRH_BENCH_OUT (results directory, required), PRH_BUILD (build dir),
#      PRH_BUILD_OLD (build of the base commit; without it no prhelper-old),
#      PRH_BENCH_ROUNDS (default 3), PRH_BENCH_CLIENTS (default "1 4 16 32 64 256"),
#      PRH_BENCH_PARTS (default all; else some of: sweep mix workers costs strace hung mem perf).
# Writes: vm.tsv (one row per run), vm-mix.tsv, vm-workers.tsv, vm-mem.tsv, vm-hung.tsv, costs.tsv, strace-*.txt,
#         perf-*.txt, vm-env.txt.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../integration/lib.sh
source "$ROOT/integration/lib.sh"
OUT=${PRH_BENCH_OUT:?PRH_BENCH_OUT names the results directory}
BENCH=$BUILD/bench/prhelper-bench
ROUNDS=${PRH_BENCH_ROUNDS:-3}
OLD=${PRH_BUILD_OLD:-}
[ -n "$OLD" ] && [ ! -x "$OLD/src/prhelper" ] && fail "no $OLD/src/prhelper"
CLIENTS=${PRH_BENCH_CLIENTS:-1 4 16 32 64 256}
PARTS=${PRH_BENCH_PARTS:-all}
part() { [ "$PARTS" = all ] || [[ " $PARTS " == *" $1 "* ]]; }
[ -x "$BENCH" ] || fail "no $BENCH (scripts/bench builds it)"
mkdir -p "$OUT"

{
    echo "guest kernel: $(uname -r)"
    echo "guest cpus: $(nproc)"
    grep -m1 'model name' /proc/cpuinfo
    echo "qemu-pr-helper: $(qemu-pr-helper --version | head -1)"
    echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
    echo "open files limit: $(ulimit -Sn) soft, $(ulimit -Hn) hard"
} >"$OUT/vm-env.txt"

# start_old SOCKET [ARGS...]: the base commit's prhelper (lib.sh's start_prhelper)
start_old() { PRHELPER=$OLD/src/prhelper start_prhelper "$@"; OLD_PID=$PRH_PID; }

make_lun fileio bench 1
DEV=${DEVS[0]}
PRH_SOCK=/run/prh-bench.sock
QPH_SOCK=/run/qph-bench.sock
OLD_SOCK=/run/prh-old-bench.sock
start_prhelper "$PRH_SOCK" -q
NEW_PID=$PRH_PID
[ -n "$OLD" ] && start_old "$OLD_SOCK" -q
start_qemu_pr_helper "$QPH_SOCK"
log "prhelper pid $NEW_PID, prhelper-old pid ${OLD_PID:-none}, qemu-pr-helper pid $QPH_PID, LUN $DEV"

# requests per client for a client count: 1,000 requests for one client,
# about 4,000 from 4 clients on.  Fewer made a run at 32 clients last
# 0.7 s, in which its first and last clients' ramp dominate (one run's
# three rounds ranged from 2,368 to 3,330 req/s through prhelper).
nreq() {
    case $1 in
    1) echo 1000 ;; 2) echo 1000 ;; *) echo $(( (4096 + $1 - 1) / $1 )) ;;
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
    prhelper-old) args=(-k "$OLD_SOCK") ;;
    qemu-pr-helper) args=(-k "$QPH_SOCK") ;;
    prhelper-w*) args=(-k "$W_SOCK") ;;
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
[ -n "$OLD" ] && "$BENCH" -k "$OLD_SOCK" -c 1 -n 5 -w 5 "$DEV" >/dev/null 2>&1

if part sweep; then
TSV=$OUT/vm.tsv
MODES=(raw floor prhelper qemu-pr-helper)
[ -n "$OLD" ] && MODES+=(prhelper-old)
NM=${#MODES[@]}
start=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
    for c in $CLIENTS; do
        for k in $(seq 0 $((NM - 1))); do
            m=${MODES[$(( (k + round + c) % NM ))]}
            one "$m" "$c" "$(nreq "$c")" "$round"
        done
    done
done
log "client sweep took $(( $(date +%s) - start )) s"
fi

if part mix; then
# the other mixes, one client and 32 clients
TSV=$OUT/vm-mix.tsv
HDR_DONE=0
for mix in read-reservation register-read-keys reserve-release; do
    for c in 1 32; do
        for m in raw prhelper ${OLD:+prhelper-old} qemu-pr-helper; do
            one "$m" "$c" $(( $(nreq "$c") / 2 )) 1 --mix="$mix"
        done
    done
done
fi

if part workers; then
# Is the pool's size what bounds throughput?  prhelper with fixed pools of
# 2, 4 and 8 threads (--workers=N:N), fresh, at 32 and 256 clients.
TSV=$OUT/vm-workers.tsv
HDR_DONE=0
W_SOCK=/run/prh-workers.sock
for w in 2 4 8; do
    start_prhelper "$W_SOCK" -q --workers="$w:$w"
    "$BENCH" -k "$W_SOCK" -c 1 -n 5 -w 5 "$DEV" >/dev/null 2>&1
    for c in 32 256; do
        one "prhelper-w$w" "$c" "$(nreq "$c")" 1
    done
    kill "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
done
fi

# system calls per READ KEYS: strace -c -f on each helper while one client
# sends 1,000 (the connection's own set-up is in the count too: ~10 calls)
syscalls() { # label pid socket
    local label=$1 pid=$2 sock=$3 st
    "$BENCH" -k "$sock" -c 1 -n 20 -w 0 "$DEV" >/dev/null 2>&1
    strace -c -f -p "$pid" -o "$OUT/strace-$label.txt" 2>"$WORK/strace-$label.err" &
    st=$!
    sleep 2
    "$BENCH" -k "$sock" -p "$pid" -c 1 -n 1000 -w 0 "$DEV" >"$WORK/strace-$label.bench" 2>&1
    sleep 1
    kill -INT "$st"
    wait "$st" 2>/dev/null
    printf 'requests: 1000\n' >>"$OUT/strace-$label.txt"
}
# what the pieces of a request cost in this guest: a system call, the
# fd's stat, an epoll re-arm, a passed fd, one SG_IO, a thread hand-off
if part costs; then
"$BUILD/bench/prhelper-costs" -n 1000 "$DEV" >"$OUT/costs.tsv" || fail "prhelper-costs failed"
log "costs: $(awk -F'\t' 'NR > 1 { printf "%s %s us; ", $1, $2 }' "$OUT/costs.tsv")"
fi

if part strace; then
syscalls prhelper "$NEW_PID" "$PRH_SOCK"
[ -n "$OLD" ] && syscalls prhelper-old "$OLD_PID" "$OLD_SOCK"
syscalls qemu-pr-helper "$QPH_PID" "$QPH_SOCK"
log "strace counts written"
fi

# A device that answers after 3 s: four READ KEYS to it (a tcmu LUN whose
# tcmu-runner is stopped for 3 s, PR passed through to it), and meanwhile
# one READ KEYS to the fileio LUN through the same helper.  The four get
# tcmu-runner's answer (it does not implement PR: CHECK CONDITION) after
# 3 s; the question is when the unrelated request is answered.
# Writes vm-hung.tsv: helper, the stalled requests' latency, the unrelated one's.
hung_device() { # label socket
    local label=$1 sock=$2 hp lp n0 t_in i
    # first contact with the LUN (unit attentions, the helper's caches) not timed
    "$BENCH" -k "$sock" -c 1 -n 3 -w 0 "$HUNG" >/dev/null 2>&1
    kill -STOP "$RUNNER"
    n0=$(cat "$HUNG_CMDS" 2>/dev/null || echo 0)
    "$BENCH" -k "$sock" -l "$label" -c 4 -n 1 -w 0 --tsv "$HUNG" >"$WORK/hung-$label.tsv" \
        2>"$WORK/hung-$label.err" &
    hp=$!
    # The four are in the device once LIO has counted them (a loaded TCG
    # guest can take seconds to get there); without the counter, 2 s.
    for i in $(seq 200); do
        [ -r "$HUNG_CMDS" ] || { sleep 2; break; }
        [ $(( $(cat "$HUNG_CMDS") - n0 )) -ge 4 ] && break
        sleep 0.1
    done
    t_in=$(date +%s%N)
    "$BENCH" -k "$sock" -l "$label" -c 1 -n 1 -w 0 --tsv "$DEV" >"$WORK/live-$label.tsv" \
        2>"$WORK/live-$label.err" &
    lp=$!
    # the device answers 3 s after the four reached it
    sleep "$(awk -v t="$t_in" -v now="$(date +%s%N)" 'BEGIN { s = 3 - (now - t) / 1e9;
        print (s > 0 ? s : 0) }')"
    kill -CONT "$RUNNER"
    wait "$lp" "$hp"
    local live stalled
    live=$(awk -F'\t' '$1 == "'"$label"'" { print $13 }' "$WORK/live-$label.tsv")
    stalled=$(awk -F'\t' '$1 == "'"$label"'" { print $9 "\t" $13 }' "$WORK/hung-$label.tsv")
    cp "$WORK"/hung-"$label".* "$WORK"/live-"$label".* "$OUT/" 2>/dev/null
    [ -n "$live" ] && [ -n "$stalled" ] || {
        log "hung-device run ($label) gave no rows: $(cat "$WORK/live-$label.err" "$WORK/hung-$label.err")"
        return 0
    }
    [ -s "$OUT/vm-hung.tsv" ] ||
        printf 'label\tdevice_s\tstalled\tstalled_min_us\tstalled_max_us\tunrelated_us\n' >"$OUT/vm-hung.tsv"
    printf '%s\t3\t4\t%s\t%s\n' "$label" "$stalled" "$live" >>"$OUT/vm-hung.tsv"
    log "hung device ($label): the 4 stalled took $(tr '\t' ' ' <<<"$stalled") us (min max), the unrelated READ KEYS $live us"
}
if part hung; then
# (not make_lun: a LUN that cannot be made skips this part, not the rest)
if ! command -v tcmu-runner >/dev/null; then
    log "tcmu-runner is not installed: no hung-device runs"
elif ! HUNG=$(LUN_NAME=bench_hung LUN_PGR_PASSTHROUGH=1 "$LAB/lun.sh" tcmu 1 2>"$WORK/hung-lun.err"); then
    log "no tcmu LUN: no hung-device runs: $(cat "$WORK/hung-lun.err")"
else
    HUNG=$(head -1 <<<"$HUNG")
    RUNNER=$(pgrep -x tcmu-runner | head -1)
    HUNG_CMDS=$C/core/user_0/bench_hung/statistics/scsi_lu/num_cmds # commands LIO received
    log "hung-device LUN $HUNG, tcmu-runner pid ${RUNNER:-none}, LIO's count: $(cat "$HUNG_CMDS" 2>&1)"
    if [ -n "$RUNNER" ]; then
        hung_device prhelper "$PRH_SOCK"
        [ -n "$OLD" ] && hung_device prhelper-old "$OLD_SOCK"
        hung_device qemu-pr-helper "$QPH_SOCK"
    else
        log "tcmu-runner is not running: no hung-device runs"
    fi
fi
fi

# memory per connected client, each helper started fresh (bench/mem.sh):
# idle clients, then one READ KEYS from each, all at once
if part mem; then
source "$ROOT/bench/mem.sh"
for n in 256 1024; do
    start_prhelper /run/prh-mem.sock -q --max-clients=1024
    mem_row "$OUT/vm-mem.tsv" prhelper /run/prh-mem.sock "$DEV" "$n" ||
        log "memory run (prhelper, $n clients) failed"
    kill "$PRH_PID"; wait "$PRH_PID" 2>/dev/null
    if [ -n "$OLD" ]; then
        start_old /run/prh-old-mem.sock -q --max-clients=1024
        mem_row "$OUT/vm-mem.tsv" prhelper-old /run/prh-old-mem.sock "$DEV" "$n" ||
            log "memory run (prhelper-old, $n clients) failed"
        kill "$OLD_PID"; wait "$OLD_PID" 2>/dev/null
    fi
    start_qemu_pr_helper /run/qph-mem.sock
    mem_row "$OUT/vm-mem.tsv" qemu-pr-helper /run/qph-mem.sock "$DEV" "$n" ||
        log "memory run (qemu-pr-helper, $n clients) failed (its open-files limit: $(ulimit -Sn))"
    kill "$QPH_PID"; wait "$QPH_PID" 2>/dev/null
done
log "memory runs done"
fi

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
if part perf; then
if profile prhelper prhelper -k "$PRH_SOCK" &&
   { [ -z "$OLD" ] || profile prhelper-old prhelper -k "$OLD_SOCK"; } &&
   profile qemu-pr-helper qemu-pr-helper -k "$QPH_SOCK" &&
   profile raw prhelper-bench --raw && profile floor prhelper-bench --floor; then
    log "perf profiles written"
else
    log "perf does not work here: $(tail -2 "$WORK/perf-prhelper.bench" 2>/dev/null)"
fi
fi
pass
