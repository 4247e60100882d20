#!/bin/bash
ROOT=/work/main
export PRH_BUILD=$ROOT/build/bench-head
source $ROOT/integration/lib.sh
B=$BUILD/bench/prhelper-bench
make_lun fileio exp 1
DEV=${DEVS[0]}
start_prhelper /run/p.sock -q
for v in A B C; do PRHELPER=$ROOT/build/bench-exp/b$v/src/prhelper start_prhelper /run/$v.sock -q; done
start_qemu_pr_helper /run/q.sock
for m in p A B C q; do $B -k /run/$m.sock -n 5 $DEV >/dev/null; done
for r in 1 2 3 4 5 6; do
for m in p A B C q; do $B -k /run/$m.sock -n 800 -l $m --tsv $DEV | tail -1 | cut -f1,8,10,12; done
$B --raw -n 800 -l raw --tsv $DEV | tail -1 | cut -f1,8,10,12
$B --floor -n 800 -l floor --tsv $DEV | tail -1 | cut -f1,8,10,12
done
for r in 1 2 3; do
for m in p A B C q; do $B -k /run/$m.sock -c 32 -n 40 -l ${m}32 --tsv $DEV | tail -1 | cut -f1,8,10,12; done
done
pass
