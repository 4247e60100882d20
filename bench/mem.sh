#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mem.sh OUT.tsv LABEL SOCKET-STARTER... - memory per connected client of a
# FRESH helper: a daemon that already served clients keeps their freed heap
# resident, so growth measured on it says little.  Usage (sourced helpers):
#   mem_row OUT.tsv LABEL SOCKET DEVICE CLIENTS
# connects CLIENTS idle clients (handshake only), then lets each send one
# READ KEYS; the row has rss_before/idle/after and idle_kib_per_client.
mem_row() {
    local out=$1 label=$2 sock=$3 dev=$4 n=$5 row
    row=$("$BENCH" -k "$sock" -l "$label" -c "$n" -n 1 -w 0 --tsv "$dev") || return 1
    [ -s "$out" ] || sed -n 1p <<<"$row" >"$out"
    sed -n 2p <<<"$row" >>"$out"
}
