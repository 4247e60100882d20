#!/bin/bash
ROOT=/work/main
export PRH_BUILD=$ROOT/build/bench-head
source $ROOT/integration/lib.sh
B=$BUILD/bench/prhelper-bench
make_lun fileio exp 1
DEV=${DEVS[0]}
start_prhelper /run/p.sock -q
PRHELPER=$ROOT/build/bench-exp/bA/src/prhelper start_prhelper /run/a.sock -q
PRHELPER=$ROOT/build/bench-exp/bB/src/prhelper start_prhelper /run/b.sock -q
start_qemu_pr_helper /run/q.sock
for m in p a b q; do $B -k /run/$m.sock -n 5 $DEV >/dev/null; done
for c in 1 32; do
n=$((c == 1 ? 1500 : 60))
for r in 1 2 3; do
for m in p a b q; do $B -k /run/$m.sock -c $c -n $n -l $m$c --tsv $DEV | tail -1 | cut -f1,8,10,12; done
$B --raw -c $c -n $n -l raw$c --tsv $DEV | tail -1 | cut -f1,8,10,12
$B --floor -c $c -n $n -l floor$c --tsv $DEV | tail -1 | cut -f1,8,10,12
done
done
pass
