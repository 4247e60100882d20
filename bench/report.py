#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py RESULTS_DIR [--docs DOCS_DIR] [--mem-run DIR] - turn one scripts/bench run into
report.md (tables, the issue's targets, the host load) and, with --docs,
regenerate DOCS_DIR/performance.md, DOCS_DIR/performance-latency.png and
DOCS_DIR/performance-data/<run>/ (the raw rows) from it.  Nothing in those
files is written by hand: rerun scripts/bench (or this script on a results
directory) to change them.  A table cell is the median over the rounds;
every run's row stays in the *.tsv files.  --mem-run DIR takes the memory
rows from another results directory (a run of the memory parts alone:
PRH_BENCH_PARTS=mem) and says so on the page."""
import csv
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys

args = sys.argv[1:]
if not args or args[0].startswith("-"):
    sys.exit(__doc__)
out = args[0]
docs = None
if "--docs" in args:
    docs = args[args.index("--docs") + 1]
# --mem-run DIR: the memory rows (vm-mem.tsv, host-mem.tsv) from another
# run of scripts/bench (or of its memory parts alone), named as such.
mem_run = None
if "--mem-run" in args:
    mem_run = args[args.index("--mem-run") + 1]

HELPERS = ["raw", "floor", "prhelper", "prhelper-old", "qemu-pr-helper"]
COLOURS = {"raw": "#2a9d8f", "floor": "#8d99ae", "prhelper": "#e76f51",
           "prhelper-old": "#f4a261", "qemu-pr-helper": "#264653"}


def rows(name, where=None):
    path = os.path.join(where or out, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def kv(name, where=None):
    """'key: value' lines of env.txt / vm-env.txt."""
    d = {}
    path = os.path.join(where or out, name)
    if os.path.exists(path):
        for line in open(path):
            if ":" in line:
                k, v = line.split(":", 1)
                d[k.strip()] = v.strip()
    return d


def med(rs, label, clients, field):
    v = [float(r[field]) for r in rs if r["label"] == label and int(r["clients"]) == clients]
    return statistics.median(v) if v else None


def med_opt(rs, label, clients, field):
    """med() of a column older runs lack (None there), ignoring -1 (unknown)."""
    v = [float(r[field]) for r in rs if r["label"] == label and int(r["clients"]) == clients
         and r.get(field) not in (None, "") and float(r[field]) >= 0]
    return statistics.median(v) if v else None


def fmt(v, nd=0):
    return "-" if v is None else f"{v:,.{nd}f}"


def ratio(a, b, nd=2):
    return "-" if a is None or b in (None, 0) else f"{a / b:.{nd}f}"


env, venv = kv("env.txt"), kv("vm-env.txt")
vm, vmmix, vmmem = rows("vm.tsv"), rows("vm-mix.tsv"), rows("vm-mem.tsv", mem_run)
vmhung, vmworkers = rows("vm-hung.tsv"), rows("vm-workers.tsv")
host, hostmem = rows("host.tsv"), rows("host-mem.tsv", mem_run)
memenv = kv("env.txt", mem_run) if mem_run else {}
ncpu = int(env.get("host cpus", "2") or 2)

# ---- host load ------------------------------------------------------------
load = []
lpath = os.path.join(out, "host-load.tsv")
if os.path.exists(lpath):
    for line in open(lpath):
        p = line.rstrip("\n").split("\t")
        if len(p) >= 5:
            load.append((int(p[0]), float(p[1]), float(p[2]), float(p[3]), p[4]))


def load_summary(phase_prefix, exact=False):
    v = [l[1] for l in load if (l[4] == phase_prefix if exact else l[4].startswith(phase_prefix))]
    if not v:
        return None
    return min(v), statistics.median(v), max(v), len(v)


# The load average counts the benchmark's own runnable threads too: during
# the lab-VM part the guest's vCPU threads (TCG keeps them busy while a run
# is in flight), during the sim-transport part the client and the daemon
# (they keep every CPU of this machine busy).  A quiet host is one where
# what is left for everybody else stays under half a CPU (median).
OTHERS = 0.5
vm_own = float(venv.get("guest cpus", "2") or 2)
host_own = float(ncpu)
QUIET_VM = vm_own + OTHERS
QUIET_HOST = host_own + OTHERS
vm_load = load_summary("vm", exact=True)  # not "vm-wait": waiting for a VM slot
host_load = load_summary("2.")
loaded_vm = vm_load is not None and vm_load[1] > QUIET_VM
loaded_host = host_load is not None and host_load[1] > QUIET_HOST

# ---- strace ----------------------------------------------------------------


def strace(label):
    path = os.path.join(out, f"strace-{label}.txt")
    if not os.path.exists(path):
        return None
    calls, reqs = {}, 1000
    for line in open(path):
        t = line.split()
        if line.startswith("requests:"):
            reqs = int(t[1])
            continue
        if len(t) >= 5 and re.match(r"^[\d.]+$", t[0]) and t[-1] != "total":
            try:
                calls[t[-1]] = int(t[3])
            except ValueError:
                pass
    return {k: v / reqs for k, v in calls.items()}


sys_new, sys_old, sys_qph = strace("prhelper"), strace("prhelper-old"), strace("qemu-pr-helper")

# ---- perf: CPU share per command ------------------------------------------


def perf_comm(label):
    path = os.path.join(out, f"perf-{label}-comm.txt")
    if not os.path.exists(path):
        return None
    share = {}
    for line in open(path):
        m = re.match(r"^\s+([\d.]+)%\s+(\S+)", line)
        if m:
            share[m.group(2)] = float(m.group(1))
    return share


# ---- targets -------------------------------------------------------------------
targets = []


def target(name, ok, detail):
    targets.append((name, ok, detail))


lines = []
w = lines.append


def sweep_table(rs, labels, title):
    clients = sorted({int(r["clients"]) for r in rs})
    rounds = len({r.get("round", "1") for r in rs})
    labels = [l for l in labels if any(r["label"] == l for r in rs)]
    w(f"#### {title} (median of {rounds} round{'s' if rounds != 1 else ''})\n")
    w("| clients | " + " | ".join(f"{l} req/s | {l} p50 us | {l} p99 us" for l in labels) + " |")
    w("|---:|" + "---:|" * (3 * len(labels)))
    for c in clients:
        cells = []
        for l in labels:
            cells += [fmt(med(rs, l, c, "rps")), fmt(med(rs, l, c, "p50_us"), 1),
                      fmt(med(rs, l, c, "p99_us"), 1)]
        w(f"| {c} | " + " | ".join(cells) + " |")
    w("")


def ratio_table(rs, new, old, qph, title):
    clients = sorted({int(r["clients"]) for r in rs})
    w(f"#### {title}\n")
    w(f"| clients | p50 {new} / {qph} | p99 {new} / {qph} | req/s {new} / {qph} "
      f"| p50 {new} / {old} | p99 {new} / {old} | req/s {new} / {old} |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    for c in clients:
        g = lambda l, f: med(rs, l, c, f)
        w(f"| {c} | {ratio(g(new, 'p50_us'), g(qph, 'p50_us'))} | "
          f"{ratio(g(new, 'p99_us'), g(qph, 'p99_us'))} | {ratio(g(new, 'rps'), g(qph, 'rps'))} | "
          f"{ratio(g(new, 'p50_us'), g(old, 'p50_us'))} | {ratio(g(new, 'p99_us'), g(old, 'p99_us'))} | "
          f"{ratio(g(new, 'rps'), g(old, 'rps'))} |")
    w("")


if vm:
    raw1, floor1 = med(vm, "raw", 1, "p50_us"), med(vm, "floor", 1, "p50_us")
    prh1, qph1 = med(vm, "prhelper", 1, "p50_us"), med(vm, "qemu-pr-helper", 1, "p50_us")
    if None not in (raw1, floor1, prh1, qph1):
        fsum = raw1 + floor1
        note = " (**loaded host: not a result**)" if loaded_vm else ""
        ok = None if loaded_vm else prh1 <= 0.8 * qph1
        target("1 client, READ KEYS p50 <= 0.8 x qemu-pr-helper's (stretch 0.5)", ok,
               f"prhelper {prh1:.1f} us, qemu-pr-helper {qph1:.1f} us: {prh1 / qph1:.2f}x{note}")
        ok = None if loaded_vm else prh1 <= 2.5 * fsum
        target("1 client, READ KEYS p50 <= 2.5 x the floor sum (stretch 1.3)", ok,
               f"prhelper {prh1:.1f} us, raw SG_IO {raw1:.1f} + echo floor {floor1:.1f} = "
               f"{fsum:.1f} us: {prh1 / fsum:.2f}x{note}")
    for c in (32, 256):
        pr, qr = med(vm, "prhelper", c, "rps"), med(vm, "qemu-pr-helper", c, "rps")
        pp, qp = med(vm, "prhelper", c, "p99_us"), med(vm, "qemu-pr-helper", c, "p99_us")
        if None not in (pr, qr, pp, qp):
            target(f"{c} clients: throughput >= 2 x qemu-pr-helper's", pr >= 2 * qr,
                   f"prhelper {pr:,.0f} req/s, qemu-pr-helper {qr:,.0f} req/s: {pr / qr:.2f}x")
            target(f"{c} clients: p99 <= 0.5 x qemu-pr-helper's", pp <= 0.5 * qp,
                   f"prhelper {pp:,.0f} us, qemu-pr-helper {qp:,.0f} us: {pp / qp:.2f}x")



def per_request(sysc):
    """(calls every request makes, calls per request left over): a system
    call made at least every other request counts its rounded rate; what
    remains (well under one per request) is the connection's own: its
    set-up, its teardown and the memory trim when the last client goes,
    which strace counts once over the 1,000 requests."""
    each = sum(round(v) for v in sysc.values() if v >= 0.5)
    return each, sum(sysc.values()) - each


if sys_new:
    tot = sum(sys_new.values())
    each, rest = per_request(sys_new)
    target("system calls per READ KEYS on sg <= 8 (strace -c -f, 1,000 requests)", each <= 8,
           f"prhelper {each} per request ({tot:.2f} with its connection's own set-up, teardown and "
           f"memory trim: {rest * 1000:.0f} calls over the 1,000 requests)"
           + (f", prhelper-old {per_request(sys_old)[0]}" if sys_old else "")
           + (f", qemu-pr-helper {per_request(sys_qph)[0]}" if sys_qph else ""))


def mem_targets(rs, label, where):
    for r in rs:
        if r["label"] != label:
            continue
        n = int(r["clients"])
        idle = float(r["idle_kib_per_client"])
        used = (float(r["rss_after_kib"]) - float(r["rss_before_kib"])) / n
        served = int(r["done"]) == n and int(r["errors"]) == 0
        target(f"{where}, {n} clients: idle <= 2 KiB each", idle <= 2.0, f"{idle:.2f} KiB")
        target(f"{where}, {n} clients: <= 4 KiB each after one request each", used <= 4.0,
               f"{used:.2f} KiB")
        if n >= 1024:
            target(f"{where}, {n} clients: all served when each sends one request", served,
                   f"{r['done']} of {n} answered, {r['errors']} clients failed")


for r in vmhung:
    if r["label"] == "prhelper":
        u = float(r["unrelated_us"]) / 1000
        target("a device that answers after 3 s holds only its own clients: an unrelated LUN's "
               "READ KEYS during four stalled ones answered in under 1 s (vs the 3 s wait)", u < 1000,
               f"{u:,.1f} ms")

mem_targets(vmmem, "prhelper", "sg (lab VM)")
mem_targets(hostmem, "prhelper-sim", "sim (this machine)")


def mem_table(rs, title):
    w(f"#### {title}\n")
    w("| helper | clients | RSS before KiB | RSS all connected KiB | idle KiB/client "
      "| RSS after one request each KiB | KiB/client after use | answered | threads after |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        n = int(r["clients"])
        used = (float(r["rss_after_kib"]) - float(r["rss_before_kib"])) / n
        w(f"| {r['label']} | {n} | {r['rss_before_kib']} | {r['rss_idle_kib']} | "
          f"{float(r['idle_kib_per_client']):.2f} | {r['rss_after_kib']} | {used:.2f} | "
          f"{r['done']} of {n} | {r['threads_after']} |")
    w("")


def syscall_table():
    cols = [(l, s) for l, s in (("prhelper", sys_new), ("prhelper-old", sys_old),
                                ("qemu-pr-helper", sys_qph)) if s]
    if not cols:
        return
    # by the largest count, then by name: the same order whatever the hash seed
    names = sorted({k for _, s in cols for k in s},
                   key=lambda k: (-max(s.get(k, 0) for _, s in cols), k))
    w("| system call | " + " | ".join(l for l, _ in cols) + " |")
    w("|---|" + "---:|" * len(cols))
    for k in names:
        if max(s.get(k, 0) for _, s in cols) < 0.005:
            continue
        w(f"| {k} | " + " | ".join(f"{s.get(k, 0):.2f}" for _, s in cols) + " |")
    w("| **total** | " + " | ".join(f"**{sum(s.values()):.2f}**" for _, s in cols) + " |")
    w("| **every request** (calls made at least every other request, rounded) | "
      + " | ".join(f"**{per_request(s)[0]}**" for _, s in cols) + " |")
    w("")


def load_text():
    t = []
    if vm_load:
        lo, md, hi, n = vm_load
        t.append(f"during the lab-VM part the host's 1-minute load average was {lo:.2f} to "
                 f"{hi:.2f} (median {md:.2f}, {n} samples) on {ncpu} CPUs: "
                 + ("**the host was loaded** (median above "
                    f"{QUIET_VM:.2f}: the guest's {vm_own:.0f} vCPUs plus {OTHERS} for everything else); "
                    "single-client latencies from this run are scheduling noise of "
                    "a TCG guest, not results, and only ratios inside one round mean something"
                    if loaded_vm else
                    f"quiet (median at most {QUIET_VM:.2f}: the guest's own {vm_own:.0f} busy vCPUs "
                    f"plus {OTHERS} for everything else)"))
    if host_load:
        lo, md, hi, n = host_load
        t.append(f"during the sim-transport runs on this machine {lo:.2f} to {hi:.2f} "
                 f"(median {md:.2f}; " + ("**loaded**" if loaded_host else "quiet")
                 + f": at most {QUIET_HOST:.2f}, the client and daemon's {host_own:.0f} busy CPUs "
                 f"plus {OTHERS})")
    return "; ".join(t) if t else "not recorded"


# ---- report.md (the tables) ---------------------------------------------------------
vm_state = env.get("vm part", "")
if not vm:
    VM_NOTE = ("The lab-VM part (sg on an LIO LUN, raw SG_IO, the echo floor and qemu-pr-helper) "
               f"has no rows in this run ({vm_state or 'not run'}): the tables compare the old and "
               "new request path on the sim transport only; the targets against qemu-pr-helper "
               "are not measured here.")
elif vm_state.startswith("failed"):
    VM_NOTE = ("The lab-VM part failed before it finished (vm.log): its tables hold only the "
               "rows it measured.")
else:
    VM_NOTE = ""
if VM_NOTE:
    w(f"**{VM_NOTE}**\n")
if vm:
    sweep_table(vm, HELPERS, "Lab VM (TCG), LIO fileio LUN, sg, READ KEYS")
    ratio_table(vm, "prhelper", "prhelper-old", "qemu-pr-helper", "Ratios (lab VM, READ KEYS)")
if vmmix:
    w("#### Lab VM, other mixes (one round)\n")
    labels = [l for l in ("raw", "prhelper", "prhelper-old", "qemu-pr-helper")
              if any(r["label"] == l for r in vmmix)]
    w("| mix | clients | " + " | ".join(f"{l} req/s | {l} p50 us | {l} p99 us" for l in labels) + " |")
    w("|---|---:|" + "---:|" * (3 * len(labels)))
    for m in ("read-reservation", "register-read-keys", "reserve-release"):
        rm = [r for r in vmmix if r["mix"] == m]
        for c in sorted({int(r["clients"]) for r in rm}):
            cells = []
            for l in labels:
                cells += [fmt(med(rm, l, c, "rps")), fmt(med(rm, l, c, "p50_us"), 1),
                          fmt(med(rm, l, c, "p99_us"), 1)]
            w(f"| {m} | {c} | " + " | ".join(cells) + " |")
    w("")
GUEST_CPUS = float(venv.get("guest cpus", "2") or 2)


def guest_cpu_us(rs, label, c):
    """Guest CPU time per request, all of it (clients, helper, kernel): the
    busy share of the guest's CPUs over the measured requests / req/s."""
    busy, rps = med_opt(rs, label, c, "sys_busy_pct"), med(rs, label, c, "rps")
    if busy is None or not rps:
        return None
    return busy / 100 * GUEST_CPUS / rps * 1e6


CPU_COUNTS = [c for c in (1, 32, 256) if any(int(r["clients"]) == c for r in vm)]
has_cpu = any(r.get("sys_busy_pct") not in (None, "") for r in vm)
if vm and has_cpu:
    w("#### Where the CPU went (lab VM, READ KEYS, median of the rounds)\n")
    w("Over the measured requests of each run: how busy the guest's CPUs were (`/proc/stat`), "
      "the guest CPU time that makes per request (busy share x vCPUs / req/s: the clients, the "
      "helper and the kernel together), and the helper's own CPU time (`/proc/PID/stat`, all "
      "threads) and context switches (its threads' `voluntary` + `nonvoluntary_ctxt_switches`) "
      "per request, and of those the preemptions (`nonvoluntary_ctxt_switches`: the thread was "
      "switched out while it could run, e.g. for a task it woke).\n")
    has_pre = any(r.get("helper_preempt_per_req") not in (None, "") for r in vm)
    w("| clients | helper | req/s | guest CPUs busy % | guest CPU us/request | helper CPU us/request "
      "| helper context switches/request |" + (" of them preemptions |" if has_pre else ""))
    w("|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if has_pre else ""))
    for c in CPU_COUNTS:
        for l in HELPERS:
            if med(vm, l, c, "rps") is None:
                continue
            own = l not in ("raw", "floor")
            w(f"| {c} | {l} | {fmt(med(vm, l, c, 'rps'))} | {fmt(med_opt(vm, l, c, 'sys_busy_pct'), 1)} | "
              f"{fmt(guest_cpu_us(vm, l, c), 1)} | "
              f"{fmt(med_opt(vm, l, c, 'helper_cpu_us_per_req'), 1) if own else '-'} | "
              f"{fmt(med_opt(vm, l, c, 'helper_cs_per_req'), 2) if own else '-'} |"
              + (f" {fmt(med_opt(vm, l, c, 'helper_preempt_per_req'), 2) if own else '-'} |"
                 if has_pre else ""))
    w("")
COSTS = {}
for r in rows("costs.tsv"):
    try:
        COSTS[r["item"]] = float(r["us_per_call"])
    except (KeyError, TypeError, ValueError):
        pass  # "-": the device does not have it
if rows("costs.tsv"):
    w("#### What the pieces of a request cost (lab VM, `prhelper-costs` on the LUN)\n")
    w("One thread doing each piece in a loop on the guest when nothing else runs (the fastest "
      "of 5 batches of 1,000): what the lab guest charges for the steps a request is made of. "
      "Under TCG the proportions differ from a real machine's: a wake-up and context switch "
      "costs as much as dozens of system calls.\n")
    w("| piece | us per call | what |")
    w("|---|---:|---|")
    for r in rows("costs.tsv"):
        v = r.get("us_per_call", "-")
        w(f"| {r['item']} | {fmt(float(v), 2) if v not in ('-', '', None) else '-'} | {r.get('what', '')} |")
    w("")
if vmworkers:
    w("#### Pool size and throughput (lab VM, prhelper with a fixed pool, one round)\n")
    w("| clients | " + " | ".join(f"--workers={l[len('prhelper-w'):]}:{l[len('prhelper-w'):]} req/s"
                                  for l in sorted({r['label'] for r in vmworkers},
                                                  key=lambda l: int(l[len('prhelper-w'):])))
      + " | default pool req/s (the sweep) |")
    wl = sorted({r["label"] for r in vmworkers}, key=lambda l: int(l[len("prhelper-w"):]))
    w("|---:|" + "---:|" * (len(wl) + 1))
    for c in sorted({int(r["clients"]) for r in vmworkers}):
        w(f"| {c} | " + " | ".join(fmt(med(vmworkers, l, c, "rps")) for l in wl)
          + f" | {fmt(med(vm, 'prhelper', c, 'rps'))} |")
    w("")
SYSCALLS_AT = len(lines)
if sys_new or sys_qph:
    w("#### System calls per READ KEYS (lab VM, sg, one client, strace -c -f over 1,000 requests)\n")
    syscall_table()
if vmhung:
    w("#### A device that answers after 3 s (lab VM, sg)\n")
    w("Four clients send READ KEYS to a LUN whose device answers after 3 s (a tcmu LUN, PR "
      "passed through, its tcmu-runner stopped for 3 s); 0.5 s later a fifth client sends "
      "READ KEYS to the fileio LUN through the same helper.\n")
    w("| helper | the four stalled requests, ms (first, last) | unrelated LUN's READ KEYS, ms |")
    w("|---|---:|---:|")
    for r in vmhung:
        w(f"| {r['label']} | {float(r['stalled_min_us']) / 1000:,.1f}, "
          f"{float(r['stalled_max_us']) / 1000:,.1f} | {float(r['unrelated_us']) / 1000:,.1f} |")
    w("")
    hpath = os.path.join(out, "hung-env.txt")
    if os.path.exists(hpath):
        w("These rows come from a separate lab-VM run of this part alone (`PRH_BENCH_PARTS=hung "
          "bench/vm-bench.sh`, same builds): " + "; ".join(
              l.strip() for l in open(hpath) if l.strip()) + ".\n")
if vmmem:
    mem_table(vmmem, "Memory per connected client, lab VM, sg (fresh helpers)")
if host:
    sweep_table(host, ["floor", "prhelper-sim", "prhelper-old-sim"],
                "This machine, sim transport, READ KEYS")
    ratio_table(host, "prhelper-sim", "prhelper-old-sim", "floor",
                "Ratios (this machine, sim; the floor stands in for the reference)")
if hostmem:
    mem_table(hostmem, "Memory per connected client, this machine, sim transport (fresh daemons)")

simpath = os.path.join(out, "simbench.md")
sim = open(simpath).read() if os.path.exists(simpath) else ""

w("#### Targets\n")
w("| target | met | measured |")
w("|---|---|---|")
for name, ok, detail in targets:
    mark = "not measurable" if ok is None else ("yes" if ok else "**no**")
    w(f"| {name} | {mark} | {detail} |")
w("")
w(f"Host load: {load_text()}.\n")

tables = "\n".join(lines) + "\n"
with open(os.path.join(out, "report.md"), "w") as f:
    f.write(tables)
print(tables)

# ---- the plot ---------------------------------------------------------------------------
png = os.path.join(out, "performance-latency.png")
if vm:
    labels = [l for l in HELPERS if any(r["label"] == l for r in vm)]
    clients = sorted({int(r["clients"]) for r in vm})
    dat = os.path.join(out, "latency.dat")
    with open(dat, "w") as f:
        f.write("# clients " + " ".join(f"{l}_p50 {l}_p99" for l in labels) + "\n")
        for c in clients:
            f.write(f"{c} " + " ".join(f"{fmt(med(vm, l, c, 'p50_us'), 1).replace(',', '')} "
                                       f"{fmt(med(vm, l, c, 'p99_us'), 1).replace(',', '')}"
                                       for l in labels) + "\n")
    plots = []
    for i, l in enumerate(labels):
        plots.append(f"'{dat}' using 1:{2 + 2 * i} with linespoints lw 2 pt 7 lc rgb '{COLOURS[l]}' "
                     f"title '{l} p50'")
        plots.append(f"'{dat}' using 1:{3 + 2 * i} with linespoints lw 1 dt 2 pt 6 lc rgb "
                     f"'{COLOURS[l]}' title '{l} p99'")
    title = "READ KEYS latency vs concurrent clients (lab VM, TCG, LIO fileio LUN)"
    if loaded_vm:
        title += " - LOADED HOST"
    script = f"""set terminal pngcairo size 960,600 font 'DejaVu Sans,10'
set output '{png}'
set title "{title}"
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

if not docs:
    sys.exit(0)

# ---- docs/performance.md ---------------------------------------------------------------------
run = os.path.basename(os.path.normpath(out))
datadir = os.path.join(docs, "performance-data")
shutil.rmtree(datadir, ignore_errors=True)
dest = os.path.join(datadir, run)
os.makedirs(dest)
for pat in ("*.tsv", "env.txt", "vm-env.txt", "hung-env.txt", "hung-*.err", "live-*.err", "simbench.md", "strace-*.txt", "perf-*-comm.txt",
            "perf-*-self.txt", "callgrind-*.txt", "report.md", "latency.dat"):
    for p in glob.glob(os.path.join(out, pat)):
        shutil.copy(p, dest)
if mem_run:
    mdest = os.path.join(datadir, os.path.basename(os.path.normpath(mem_run)))
    os.makedirs(mdest, exist_ok=True)
    for pat in ("*-mem.tsv", "env.txt", "vm-env.txt", "host-load.tsv"):
        for q in glob.glob(os.path.join(mem_run, pat)):
            shutil.copy(q, mdest)
if os.path.exists(png):
    shutil.copy(png, os.path.join(docs, "performance-latency.png"))

d = []
p = d.append
p("# prhelper performance: the request path, old and new, side by side with qemu-pr-helper\n")
p("<!-- Generated by bench/report.py from performance-data/" + run + "; do not edit: rerun "
  "scripts/bench. -->\n")
p("Everything on this page was measured in one run of `scripts/bench` and written by "
  f"`bench/report.py` from the raw rows in [performance-data/{run}/](performance-data/{run}/) "
  "(every run's TSV row, the strace counts, the profiles, the host load every 5 s). "
  "`prhelper` is the work tree, `prhelper-old` the request path before issue 13 (commit "
  f"{env.get('base', '?').split()[0]}: one event-loop thread handing each request to a fixed "
  "pool of 4 workers and back through an eventfd), built beside it by the same run.\n")
p("The previous report (issue 8: the request path before this one, the experiment that "
  "led to it and findings about qemu-pr-helper) is in the history: "
  "`git show b334a31:docs/performance.md`.\n")
p("## Conditions\n")
p("| | |\n|---|---|")
p(f"| date | {env.get('date', '?')} |")
p(f"| commit | {env.get('commit', '?')}; base {env.get('base', '?')} |")
p(f"| host | {ncpu} CPUs, {env.get('model name', '?')}, Linux {env.get('host kernel', '?')}, "
  f"{env.get('compiler', '?')}, `-O2 -g` |")
if venv:
    p(f"| lab VM | `../shared/lab/vm.sh`, accelerator {env.get('accelerator', '?')}, "
      f"{venv.get('guest cpus', '?')} vCPUs, guest {venv.get('guest kernel', '?')}, clocksource "
      f"{venv.get('clocksource', '?')} |")
    p(f"| reference | {venv.get('qemu-pr-helper', '?')} |")
if vm:
    p("| LUN | LIO fileio, 64 MiB sparse file on the guest's tmpfs, one tcm_loop nexus |")
    p("| helpers | default options (`sg` transport, default pool), `-q` |")
p("| this machine | `--transport=sim`, default pool, `-q`, a fresh daemon per run; the disk a "
  "64 MiB sparse file |")
p(f"| host load | {load_text()} |")
if mem_run:
    p(f"| memory rows | from a separate run of the memory parts, "
      f"performance-data/{os.path.basename(os.path.normpath(mem_run))}/ ({memenv.get('date', '?')}, "
      f"commit {memenv.get('commit', '?')}, load before {memenv.get('load before', '?')}) |")
if vm_state and not vm_state.startswith(("failed", "skipped")):
    p(f"| lab-VM part | {vm_state} |")
# "note: ..." lines of env.txt: what the person who ran it had to say about this run
epath = os.path.join(out, "env.txt")
for line in (open(epath) if os.path.exists(epath) else []):
    if line.startswith("note:"):
        p(f"| note | {line.split(':', 1)[1].strip()} |")
p("")
p("The host is shared: other sessions' builds, tests and TCG lab VMs run on the same 2 CPUs "
  "whenever they need to, and nothing here can stop them. Its 1-minute load average was "
  "sampled every 5 s for the whole run (`host-load.tsv`), and every comparison below is a "
  "ratio of helpers measured side by side in the same run, their order rotated every round, "
  "so that the load hits all of them.\n")
if loaded_vm:
    p("**This run was taken on a loaded host.** A TCG guest pays, for every wake-up of a "
      "thread on its other vCPU, the wait until the host schedules that vCPU's thread, so the "
      "single-client latencies below measure the host's scheduler, not the helpers; the "
      "single-client targets are reported as not measurable. Rerun `scripts/bench` on a quiet "
      "host for results.\n")
if VM_NOTE:
    p(f"**{VM_NOTE}**\n")
if loaded_host:
    p("**The sim-transport runs on this machine were taken on a loaded host** (load above: "
      "other processes held the CPUs): their latencies include waits for a CPU, so only the "
      "ratios between helpers measured in the same round mean something.\n")
p("## Targets\n")
p("| target | met | measured |")
p("|---|---|---|")
for name, ok, detail in targets:
    mark = "not measurable (loaded host)" if ok is None else ("yes" if ok else "**no**")
    p(f"| {name} | {mark} | {detail} |")
p("")
missed = [t for t in targets if t[1] is False]
if missed:
    p("### Why the missed targets were missed (from this run's data)\n")
    newc, qphc = perf_comm("prhelper"), perf_comm("qemu-pr-helper")
    # one explanation per kind of target, naming every missed one of that kind
    kinds = {}
    for name, _, _ in missed:
        kind = ("1 client" if name.startswith("1 client") else
                "load" if "throughput" in name or "p99" in name else
                "mem" if "KiB" in name or "served" in name else name)
        kinds.setdefault(kind, []).append(name)
    for names in kinds.values():
        name = "; ".join(names)
        if names[0].startswith("1 client"):
            hint = (f"prhelper makes {sum(sys_new.values()):.1f} system calls per READ KEYS"
                    if sys_new else "")
            if sys_qph:
                hint += f", qemu-pr-helper {sum(sys_qph.values()):.1f}"
            if newc and qphc:
                hint += (f"; under `perf record -a` the prhelper process took "
                         f"{newc.get('prhelper', 0):.1f} % of the guest's CPU samples, "
                         f"qemu-pr-helper {qphc.get('qemu-pr-helper', 0):.1f} %")
            p(f"- *{name}*: the time per request is kernel time around the system calls "
              f"and the wake-ups of a TCG guest ({hint}). What would remove the rest: fewer "
              "calls per request and no cross-CPU wake-up per request (see the profiles).")
        elif "throughput" in name or "p99" in name:
            why = ("with one request in flight per connection, throughput is bounded by CPU "
                   "per request on the guest's vCPUs; see the system-call table and the "
                   "profiles in the data directory")
            facts = []
            for c in (32, 256):
                tp, tq = guest_cpu_us(vm, "prhelper", c), guest_cpu_us(vm, "qemu-pr-helper", c)
                bp, bq = med_opt(vm, "prhelper", c, "sys_busy_pct"), med_opt(vm, "qemu-pr-helper", c, "sys_busy_pct")
                cp, cq = (med_opt(vm, "prhelper", c, "helper_cpu_us_per_req"),
                          med_opt(vm, "qemu-pr-helper", c, "helper_cpu_us_per_req"))
                sq = med_opt(vm, "qemu-pr-helper", c, "helper_cs_per_req")
                sp = med_opt(vm, "prhelper", c, "helper_cs_per_req")
                if None in (tp, tq, bp, bq, cp, cq):
                    continue
                rest = tp - cp
                f = (f"at {c} clients the guest's {GUEST_CPUS:.0f} vCPUs were {bp:.0f} % busy "
                     f"during prhelper's runs ({bq:.0f} % during qemu-pr-helper's); a request "
                     f"took {tp:,.0f} us of guest CPU through prhelper, {cp:,.0f} us of it in "
                     f"prhelper itself and {rest:,.0f} us in the client and the kernel (the "
                     f"SCSI command, the socket), against {tq:,.0f} us through qemu-pr-helper "
                     f"({cq:,.0f} us its own, {sq:.1f} context switches per request"
                     + (f" where prhelper makes {sp:.1f}" if sp is not None else "") + ")")
                if rest > 0 and bq > 0:
                    # prhelper at best: all of the guest's CPUs / rest per request;
                    # qemu-pr-helper: its busy share of them / tq per request
                    f += (f"; so even a prhelper that took no CPU at all would reach at most "
                          f"{tq / rest / (bq / 100):.2f}x qemu-pr-helper's throughput here")
                    rq = med(vm, "qemu-pr-helper", c, "rps")
                    if rq:
                        # 2x qemu-pr-helper's req/s on saturated CPUs: this much guest CPU
                        # per request at most, the client's and kernel's part included
                        need = GUEST_CPUS / (2 * rq) * 1e6 - rest
                        f += (f", and 2x would take prhelper's own CPU per request down from "
                              f"{cp:,.0f} us to {need:,.0f} us or less" if need > 0 else
                              ", and 2x is out of reach whatever prhelper does")
                ho = COSTS.get("hand-off")
                if ho and sp is not None and c == 32:
                    f += (f"; in this guest one hand-off to a sleeping thread (its wake-up and "
                          f"the context switch) costs {ho:,.0f} us and a system call "
                          f"{COSTS.get('syscall', 0):,.1f} us (the cost table), so prhelper's "
                          f"{sp:.2f} context switches per request are about {sp * ho:,.0f} us "
                          f"of its {cp:,.0f} us, one of them SG_IO's wait for the LUN's answer "
                          f"(raw SG_IO waits the same way)")
                    pp = med_opt(vm, "prhelper", c, "helper_preempt_per_req")
                    p1 = med_opt(vm, "prhelper", 1, "helper_preempt_per_req")
                    if pp is not None:
                        f += (f"; {pp:.2f} of those switches are preemptions"
                              + (f" ({p1:.2f} with one client)" if p1 is not None else "")
                              + ", the rest waits")
                facts.append(f)
            if vmworkers:
                pools = []
                for c in (32, 256):
                    v = [med(vmworkers, l, c, "rps") for l in sorted(
                        {r["label"] for r in vmworkers}, key=lambda l: int(l[len("prhelper-w"):]))]
                    if all(x is not None for x in v):
                        pools.append(f"{c} clients: " + " / ".join(f"{x:,.0f}" for x in v) + " req/s")
                if pools:
                    facts.append("the pool's size is not the bound: fixed pools of "
                                 + "/".join(r["label"][len("prhelper-w"):] for r in vmworkers
                                            if int(r["clients"]) == 32)
                                 + " threads served " + "; ".join(pools))
            if facts:
                why = ("the guest's CPUs are the bound, not waiting: prhelper keeps them "
                       "busy where qemu-pr-helper leaves them idle between its hand-offs, but "
                       "its own CPU time per request is no smaller than qemu-pr-helper's: "
                       + "; ".join(facts)
                       + ". What would remove it: less CPU per request inside prhelper, to the "
                       "figure above: in this guest that means fewer sleeps per request (a "
                       "thread's wait in epoll_wait and in SG_IO each cost a wake-up and a "
                       "switch, see the cost table), since the system calls themselves are "
                       "a few microseconds each; the pool's size is not it")
            if loaded_vm:
                why = ("measured on a loaded host (see Conditions): the guest's two vCPU "
                       "threads shared the host's two CPUs with other sessions' guests, so each "
                       "helper got a varying fraction of a CPU and these ratios carry that "
                       "noise (compare the echo floor, which does nothing, across rounds in "
                       "vm.tsv). Beyond that, " + why)
            p(f"- *{name}*: {why}.")
        elif "KiB" in name or "served" in name:
            p(f"- *{name}*: RSS growth per client includes, besides the connection's own heap "
              "(`test_server_idle_connection_costs_under_2_kib`: about 0.5 KiB on sg, 1.1 to "
              "1.8 KiB on sim), the pool threads started while the clients connected or sent "
              "their requests: each brings its stack and its request buffer (`threads after` "
              "in the memory table; rows with more threads cost more per client). What would "
              "remove it: fewer threads started by a burst (a connection's set-up counts as a "
              "device call only where it may block: sim's `/proc` reads, an audit trail).")
        else:
            p(f"- *{name}*: see the tables below.")
    p("")
p("## Results\n")
p(tables.split("#### Targets")[0].replace(f"**{VM_NOTE}**\n\n", "") if VM_NOTE else
  tables.split("#### Targets")[0])
if os.path.exists(png):
    p("![READ KEYS latency vs concurrent clients](performance-latency.png)\n")
    p("p50 (solid) and p99 (dashed) per client count, log-log, from the lab-VM sweep above.\n")
if sim:
    p("#### The simulator in-process (prhelper-simbench)\n")
    p(("\n" + sim.strip()).replace("\n## ", "\n##### ").replace("\n### ", "\n##### ").strip() + "\n")
p("## Method\n")
p("""| program | what it does |
|---|---|
| `bench/prhelper-bench` | N concurrent clients (threads, one connection and one device fd each, one request in flight per connection, as N QEMU processes) x M requests of a mix (`read-keys`, `read-reservation`, `register-read-keys`, `reserve-release`): p50/p90/p99/max latency, throughput, SAM statuses, and the helper's RSS, fds and threads from `/proc` before connecting, with all clients connected and idle, after the run and after disconnecting. `--raw` issues the same CDBs by SG_IO, `--floor` runs them against a forked minimal echo server (CDB with its fd by `SCM_RIGHTS`, fd closed, 104 + 8 bytes back). |
| `bench/prhelper-simbench` | the simulator in-process, one thread, no lock. |
| `bench/prhelper-costs` | in the lab VM, on the LUN: what a system call, the fd's stat (the fstat system call and glibc's `fstat()`), `BLKGETDISKSEQ`, an `EPOLLONESHOT` re-arm, a passed fd, one SG_IO READ KEYS and a hand-off to a sleeping thread cost, one at a time (`costs.tsv`). |
| `scripts/bench` | builds the work tree and the base commit (RelWithDebInfo), runs the simulator benchmark, the sim transport on this machine (floor, prhelper, prhelper-old, a fresh daemon per run), memory per client of fresh daemons (256 and 1,024 clients), then in the lab VM raw SG_IO, the floor, prhelper, prhelper-old and `qemu-pr-helper` for each client count in an order rotated every round, the other mixes, `strace -c -f` on each helper over 1,000 single-client READ KEYS, what the pieces of a request cost there (`prhelper-costs`), the hung-device scenario (four READ KEYS to a device that answers after 3 s, one to another LUN meanwhile), memory per client (256 and 1,024), prhelper with fixed pools of 2, 4 and 8 threads at 32 and 256 clients, a system-wide `perf` profile; then this report. Each run also records the helper's CPU time and context switches per request and how busy the machine's CPUs were. The host's load is sampled every 5 s throughout. |

Requests per run in the VM: 1,000 for one client, 4,096 from 4 clients on
(1,024 per client at 4, 128 at 32, 16 at 256), after 10 (2 at 64+ clients) unmeasured warm-up requests per client.
Latency is measured per request around `sendmsg` and the full reply; throughput
is all measured requests over the time from the start barrier to the last
client's last reply. The floor sum is raw SG_IO + the echo floor: what a helper
that added nothing would cost. Memory per client is the RSS growth of a freshly
started helper from "no client" to "N clients connected and handshaked" (idle)
and to "each has sent one READ KEYS" (after use), divided by N, the resident set
read from `/proc/PID/smaps_rollup` (exact; `VmRSS` of `/proc/PID/status` is a
counter the kernel updates in batches: in the run of 2026-12-06 06:15 UTC
(`git show 1e24249:docs/performance.md`) it showed no
growth at all for 256 idle `sg` clients and exactly 2,048 KiB after their
requests); a helper that already served clients keeps freed heap resident,
hence fresh ones. The system
call counts are per request, all threads of the helper, the one connection's own
set-up included (about ten calls spread over 1,000 requests).

Timings taken in a TCG guest measure the emulator as much as the code: compare
them only with each other, inside one run.

## Reproducing

```sh
scripts/bench                          # everything, then docs/performance.md is rewritten
PRH_BENCH_DOCS=0 scripts/bench         # results directory only
PRH_BENCH_SKIP_VM=1 scripts/bench      # simulator and sim transport only
python3 bench/report.py RESULTS_DIR --docs docs   # regenerate this page from a run
```

`scripts/bench` waits up to `PRH_BENCH_QUIET_WAIT` seconds (600) for the host's
1-minute load to drop below 0.75 per CPU before the VM part, and records the
load every 5 s either way; this page says whether the host was quiet.
""")
with open(os.path.join(docs, "performance.md"), "w") as f:
    f.write("\n".join(d))
print(f"docs: {os.path.join(docs, 'performance.md')}, data in {dest}")
