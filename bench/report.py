#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py RESULTS_DIR PNG - turn scripts/bench's raw rows into report.md
(tables, the ratios against the issue's targets) and a gnuplot PNG of
latency vs clients.  Every run's row stays in the *.tsv files; a table cell
is the median over the rounds."""
import csv
import os
import re
import statistics
import subprocess
import sys

out, png = sys.argv[1], sys.argv[2]


def rows(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def med(rs, label, clients, field):
    v = [float(r[field]) for r in rs if r["label"] == label and int(r["clients"]) == clients]
    return statistics.median(v) if v else None


def fmt(v, nd=0):
    return "-" if v is None else f"{v:,.{nd}f}"


lines = []
w = lines.append
targets = []


def target(name, ok, detail):
    targets.append((name, ok, detail))


def sweep_table(rs, labels, title):
    clients = sorted({int(r["clients"]) for r in rs})
    rounds = len({r.get("round", "1") for r in rs})
    w(f"### {title} (median of {rounds} rounds)\n")
    w("| clients | " + " | ".join(f"{l} req/s | {l} p50 us | {l} p99 us" for l in labels) + " |")
    w("|---:|" + "---:|" * (3 * len(labels)))
    for c in clients:
        cells = []
        for l in labels:
            cells += [fmt(med(rs, l, c, "rps")), fmt(med(rs, l, c, "p50_us"), 1),
                      fmt(med(rs, l, c, "p99_us"), 1)]
        w(f"| {c} | " + " | ".join(cells) + " |")
    w("")


vm = rows("vm.tsv")
host = rows("host.tsv")
mix = rows("vm-mix.tsv")

if vm:
    sweep_table(vm, ["raw", "floor", "prhelper", "qemu-pr-helper"],
                "Lab VM (TCG), LIO fileio LUN, READ KEYS")
    raw1, floor1 = med(vm, "raw", 1, "p50_us"), med(vm, "floor", 1, "p50_us")
    prh1, qph1 = med(vm, "prhelper", 1, "p50_us"), med(vm, "qemu-pr-helper", 1, "p50_us")
    if None not in (raw1, floor1, prh1, qph1):
        bound = 1.3 * (raw1 + floor1)
        target("READ KEYS round trip <= 1.3 x (echo-with-fd + raw SG_IO), p50, 1 client",
               prh1 <= bound,
               f"prhelper {prh1:.1f} us vs 1.3 x ({floor1:.1f} + {raw1:.1f}) = {bound:.1f} us "
               f"(ratio {prh1 / (raw1 + floor1):.2f}x the floor sum)")
        target("READ KEYS round trip <= 1/2 of qemu-pr-helper's, p50, 1 client",
               prh1 <= 0.5 * qph1,
               f"prhelper {prh1:.1f} us vs qemu-pr-helper {qph1:.1f} us "
               f"(ratio {prh1 / qph1:.2f}; qemu-pr-helper is {qph1 / raw1:.1f}x raw)")
    for c in (32, 256):
        pr, qr = med(vm, "prhelper", c, "rps"), med(vm, "qemu-pr-helper", c, "rps")
        pp, qp = med(vm, "prhelper", c, "p99_us"), med(vm, "qemu-pr-helper", c, "p99_us")
        if None not in (pr, qr, pp, qp):
            target(f"{c} clients: throughput >= 2x qemu-pr-helper's", pr >= 2 * qr,
                   f"prhelper {pr:,.0f} req/s vs qemu-pr-helper {qr:,.0f} req/s (ratio {pr / qr:.2f}x)")
            target(f"{c} clients: p99 <= 1/2 of qemu-pr-helper's", pp <= 0.5 * qp,
                   f"prhelper {pp:,.0f} us vs qemu-pr-helper {qp:,.0f} us (ratio {pp / qp:.2f})")

if mix:
    w("### Lab VM, other mixes (one round)\n")
    w("| mix | clients | raw req/s | raw p50 us | prhelper req/s | prhelper p50 us | prhelper p99 us "
      "| qemu-pr-helper req/s | qemu-pr-helper p50 us | qemu-pr-helper p99 us | prhelper conflicts |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in ("read-reservation", "register-read-keys", "reserve-release"):
        rm = [r for r in mix if r["mix"] == m]
        for c in sorted({int(r["clients"]) for r in rm}):
            w(f"| {m} | {c} | {fmt(med(rm, 'raw', c, 'rps'))} | {fmt(med(rm, 'raw', c, 'p50_us'), 1)} | "
              f"{fmt(med(rm, 'prhelper', c, 'rps'))} | {fmt(med(rm, 'prhelper', c, 'p50_us'), 1)} | "
              f"{fmt(med(rm, 'prhelper', c, 'p99_us'), 1)} | {fmt(med(rm, 'qemu-pr-helper', c, 'rps'))} | "
              f"{fmt(med(rm, 'qemu-pr-helper', c, 'p50_us'), 1)} | "
              f"{fmt(med(rm, 'qemu-pr-helper', c, 'p99_us'), 1)} | "
              f"{fmt(med(rm, 'prhelper', c, 'conflict'))} |")
    w("")

if host:
    sweep_table(host, ["floor", "prhelper-sim"], "This machine, sim transport, READ KEYS")


def mem_table(rs, title, where):
    w(f"### {title}\n")
    w("| helper | clients | RSS before KiB | RSS all connected KiB | idle KiB/client "
      "| RSS after one request each KiB | KiB/client after use | fds connected |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        n = int(r["clients"])
        used = (float(r["rss_after_kib"]) - float(r["rss_before_kib"])) / n
        w(f"| {r['label']} | {n} | {r['rss_before_kib']} | {r['rss_idle_kib']} | "
          f"{float(r['idle_kib_per_client']):.2f} | {r['rss_after_kib']} | {used:.2f} | {r['fds_idle']} |")
        if r["label"].startswith("prhelper"):
            idle = float(r["idle_kib_per_client"])
            target(f"idle memory per connected client < 16 KiB ({where}, {n} clients, fresh daemon)",
                   idle < 16, f"{idle:.2f} KiB idle, {used:.2f} KiB after one request each")
    w("")


vmmem, hostmem = rows("vm-mem.tsv"), rows("host-mem.tsv")
if vmmem:
    mem_table(vmmem, "Memory per connected client, lab VM, sg (fresh helpers)", "sg, VM")
if hostmem:
    mem_table(hostmem, "Memory per connected client, this machine, sim transport (fresh daemon)",
              "sim, host")

simpath = os.path.join(out, "simbench.md")
if os.path.exists(simpath):
    sim = open(simpath).read()
    m = re.search(r"^\| READ KEYS \| 8192 \| (\d+) \|", sim, re.M)
    if m:
        ops = int(m.group(1))
        target("simulator >= 1,000,000 READ KEYS/s in-process, 8 registrants", ops >= 1_000_000,
               f"{ops:,} READ KEYS/s")

w("### Targets\n")
w("| target | met | measured |")
w("|---|---|---|")
for name, ok, detail in targets:
    w(f"| {name} | {'yes' if ok else '**no**'} | {detail} |")
w("")

with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))

# the plot: p50 and p99 latency against clients, log-log, VM modes
if vm:
    labels = ["raw", "floor", "prhelper", "qemu-pr-helper"]
    clients = sorted({int(r["clients"]) for r in vm})
    dat = os.path.join(out, "latency.dat")
    with open(dat, "w") as f:
        f.write("# clients " + " ".join(f"{l}_p50 {l}_p99" for l in labels) + "\n")
        for c in clients:
            f.write(f"{c} " + " ".join(f"{fmt(med(vm, l, c, 'p50_us'), 1).replace(',', '')} "
                                       f"{fmt(med(vm, l, c, 'p99_us'), 1).replace(',', '')}"
                                       for l in labels) + "\n")
    plots = []
    colours = ["#2a9d8f", "#8d99ae", "#e76f51", "#264653"]
    for i, l in enumerate(labels):
        plots.append(f"'{dat}' using 1:{2 + 2 * i} with linespoints lw 2 pt 7 lc rgb '{colours[i]}' "
                     f"title '{l} p50'")
        plots.append(f"'{dat}' using 1:{3 + 2 * i} with linespoints lw 1 dt 2 pt 6 lc rgb "
                     f"'{colours[i]}' title '{l} p99'")
    script = f"""set terminal pngcairo size 960,600 font 'DejaVu Sans,10'
set output '{png}'
set title 'READ KEYS latency vs concurrent clients (lab VM, TCG, LIO fileio LUN)'
set xlabel 'concurrent clients'
set ylabel 'latency (us)'
set logscale xy
set grid
set key top left
set xtics ({', '.join(str(c) for c in clients)})
plot {', '.join(plots)}
"""
    with open(os.path.join(out, "latency.gp"), "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", os.path.join(out, "latency.gp")], check=True)
    print(f"plot: {png}")
