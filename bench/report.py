#!/usr/bin/env python3
"""Turns bench/run.sh's results.txt (key=value lines) into RESULTS.md and gnuplot data.
  report.py RESULTS_TXT RESULTS_MD PLOT_DAT [PRELIMINARY_NOTE]
"""
import sys

TITLES = {
    "verify": "ATIS verification (cached cert)",
    "sign": "ATIS signing",
    "forward": "Calls API forward (CallToken)",
    "forward_normal": "Calls API forward, synchronous=normal",
    "forward_pg": "Calls API forward, PostgreSQL (synchronous_commit=on)",
    "forward_pg_cluster": "Calls API forward, PostgreSQL, two instances behind haproxy (both cores)",
    "webhook": "Incoming-call webhook",
}
SHORT = {"verify": "verify", "sign": "sign", "forward": "forward",
         "forward_normal": "fwd sync=normal", "forward_pg": "fwd postgres", "forward_pg_cluster": "fwd pg x2",
         "webhook": "webhook"}
CEILING = {"verify": "verifies/s", "sign": "signs/s",
           "forward": "1/(1/sign+1/verify)", "forward_normal": "1/(1/sign+1/verify)",
           "forward_pg": "1/(1/sign+1/verify)", "forward_pg_cluster": "1/(1/sign+1/verify)",
           "webhook": "1/(1/sign+1/verify)"}


def parse(path):
    head, rows, idle = {}, [], None
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        # values may contain spaces (cpu=...): split on " key=" boundaries
        kv, key = {}, None
        for tok in line.split(" "):
            if "=" in tok and tok.split("=", 1)[0].isidentifier():
                key, val = tok.split("=", 1)
                kv[key] = val
            elif key:
                kv[key] += " " + tok
        if "scenario" in kv:
            rows.append(kv)
        elif "idle_connections" in kv:
            idle = kv
        else:
            head.update(kv)
    return head, rows, idle


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def pct(a, b):
    a, b = num(a), num(b)
    return f"{100 * a / b:.1f} %" if a is not None and b else "-"


def fmt(v, digits=0):
    v = num(v)
    return "-" if v is None else f"{v:,.{digits}f}"


def main():
    src, md, dat = sys.argv[1:4]
    note = sys.argv[4] if len(sys.argv) > 4 else ""
    head, rows, idle = parse(src)
    out = ["# stirgate benchmark results", ""]
    if note:
        out += [f"> **{note}**", ""]
    out += [
        f"One sitting of `bench/run.sh` ({head.get('date', '?')}, commit {head.get('commit', '?')}); "
        f"{head.get('cpus', '?')} CPUs: {head.get('cpu', '?')}; kernel {head.get('kernel', '?')}; "
        f"{head.get('openssl', '?')}. wrk: 1 thread, {head.get('connections', '?')} connections, "
        f"{head.get('duration', '?')} per measured run after a {head.get('warmup', '?')} warm-up; "
        f"storage synchronous: {head.get('storage_sync', 'default')}; whole run {head.get('elapsed_s', '?')} s.",
        "",
        "Crypto ceiling, `openssl speed -seconds 3 ecdsap256` in the same sitting: "
        f"one core (CPU 0) **{fmt(head.get('sign1'))} signs/s, {fmt(head.get('verify1'))} verifies/s**; "
        f"two cores (twice that) {fmt(head.get('sign2'))} signs/s, {fmt(head.get('verify2'))} verifies/s. "
        "openssl speed counts CPU time, so the ceiling does not drop when the machine is busy; the "
        "gateway's figures do.",
        "",
        "One core: gateway pinned to CPU 0 (`taskset`) with one I/O thread, wrk pinned to CPU 1. "
        "Paced: the same gateway at 80 % of that peak (wrk `delay()` on a fixed schedule, "
        "bench/wrk_report.lua). Two cores: gateway unpinned with two I/O threads, wrk sharing the "
        "cores with it. The forward and the webhook store every call in SQLite (WAL) before they "
        "answer: by default with synchronous=FULL (a 201 survives power loss); the "
        "`synchronous=normal` row opens the database with `?synchronous=normal` (survives a crash "
        "of the process, not a power loss).",
        "",
        "| scenario | req/s (1 core) | p50 ms | p99 ms | peak RSS MiB | ceiling (1 core) | % of ceiling "
        "| paced req/s | paced p99 ms | req/s (2 cores) | ceiling (2 cores) | % (2 cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    plot = []
    for r in rows:
        s = r["scenario"]
        rss = num(r.get("peak_rss_kib"))
        out.append(
            f"| {TITLES.get(s, s)} | {fmt(r.get('rps'))} | {fmt(r.get('p50_ms'), 2)} | "
            f"{fmt(r.get('p99_ms'), 2)} | {'-' if rss is None else f'{rss / 1024:.1f}'} | "
            f"{fmt(r.get('ceiling1'))} {CEILING.get(s, '')} | **{pct(r.get('rps'), r.get('ceiling1'))}** | "
            f"{fmt(r.get('paced_rps'))} | {fmt(r.get('paced_p99_ms'), 2)} | {fmt(r.get('two_rps'))} | "
            f"{fmt(r.get('ceiling2'))} | {pct(r.get('two_rps'), r.get('ceiling2'))} |")
        plot.append((s, r.get("rps") or "0", r.get("two_rps") or "0", r.get("ceiling1") or "0",
                     r.get("p99_ms") or "0", r.get("paced_p99_ms") or "0"))
    out.append("")
    if idle:
        out.append(
            f"Idle keep-alive connections: {fmt(idle.get('idle_connections'))} connections (one "
            f"GET /healthz each, then idle): VmRSS {fmt(idle.get('rss_before_kib'))} KiB -> "
            f"{fmt(idle.get('rss_after_kib'))} KiB = **{idle.get('kib_per_connection')} KiB per connection**.")
        out.append("")
    out += ["![throughput and p99 per scenario](results.png)", "",
            "## Targets (issue #7)", "", "| target | measured | met |", "|---|---|---|"]
    by = {r["scenario"]: r for r in rows}

    def target(name, ok, measured):
        out.append(f"| {name} | {measured} | {'yes' if ok else 'no'} |")

    def ratio(s):
        r = by.get(s)
        a, b = (num(r.get("rps")), num(r.get("ceiling1"))) if r else (None, None)
        return None if a is None or not b else 100 * a / b

    if "verify" in by:
        v = ratio("verify")
        target("verification >= 85 % of the one-core verify ceiling", v is not None and v >= 85,
               f"{v:.1f} %" if v is not None else "-")
    if "forward" in by:
        v = ratio("forward")
        target("forward >= 80 % of 1/(1/sign+1/verify)", v is not None and v >= 80,
               f"{v:.1f} %" if v is not None else "-")
    for r in rows:
        p = num(r.get("paced_p99_ms"))
        target(f"p99 <= 5 ms at 80 % of peak: {TITLES.get(r['scenario'], r['scenario'])}",
               p is not None and p <= 5, f"{fmt(p, 2)} ms at {fmt(r.get('paced_rps'))} req/s")
    if idle:
        k = num(idle.get("kib_per_connection"))
        target("<= 100 KiB RSS per idle keep-alive connection (10k)", k is not None and k <= 100,
               f"{idle.get('kib_per_connection')} KiB")
    out.append("")
    out.append("Raw figures: results.txt (written by the same run). Where the time goes and what "
               "blocks each target: [PROFILE.md](PROFILE.md) (callgrind and strace per request).")
    open(md, "w").write("\n".join(out) + "\n")
    with open(dat, "w") as f:
        for p in plot:
            f.write(f'"{SHORT.get(p[0], p[0])}" ' + " ".join(p[1:]) + "\n")


if __name__ == "__main__":
    main()
