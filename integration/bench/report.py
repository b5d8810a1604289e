#!/usr/bin/python3
"""The benchmarks' bookkeeping (standard library only).

    report.py merge OUT ROUND_JSON LOAD [ROUND_JSON LOAD...]
        hyperfine's per-round exports → OUT: {"times": {name: [s...]}, "loads": [...]}
    report.py share OUT WINDOWS CALLS_DIR
        what the runtimes did inside each timed engine command (see engines.sh)
    report.py summary DIR [SVG...]
        the goals table from DIR/{bench,engines,scale}.json, and the chart
"""

import json
import os
import statistics
import sys

RUNTIMES = ["hull", "crun", "runc"]


def median(v):
    return statistics.median(v) if v else float("nan")


def percentile(v, p):
    """Nearest-rank percentile (p in 0..100) of a list."""
    if not v:
        return float("nan")
    s = sorted(v)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def merge(out, parts):
    times, loads = {}, []
    for f, load in zip(parts[0::2], parts[1::2]):
        for r in json.load(open(f))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
        loads.append(float(load))
    json.dump({"times": times, "loads": loads}, open(out, "w"))


def subcommand(args):
    """The runtime command in a call's arguments, after the global flags."""
    takes_value = {"--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager"}
    i = 0
    while i < len(args):
        a = args[i]
        if a in takes_value:
            i += 2
        elif a.startswith("-"):
            i += 1
        else:
            rest = [x for x in args[i + 1:] if x.startswith("-")]
            if a in ("kill", "delete") and any(x in ("--all", "-a", "--force", "-f") for x in rest):
                return a + " " + " ".join(sorted({x for x in rest if x in ("--all", "-a", "--force", "-f")}))
            if a == "ps" or a == "events":
                return a + ("" if not rest else " " + " ".join(x for x in rest if x != "--format"))
            return a
    return "?"


def read_calls(path):
    calls = []
    if not os.path.exists(path):
        return calls
    for line in open(path):
        p = line.split()
        if len(p) < 6:
            continue
        calls.append({
            "start": float(p[0]), "wall": float(p[1]), "user": float(p[2]), "sys": float(p[3]),
            "rss": int(p[4]), "status": int(p[5]), "cmd": subcommand(p[6:]),
        })
    return calls


def share(out, windows_file, calls_dir):
    """Runtime calls inside each timed engine command.

    WINDOWS has one line per timed command: WORKLOAD RUNTIME T0 T1 (unix s).
    A call belongs to the window it starts in, or to the short gap after it
    (the runtime calls an engine makes once its client has returned, such as
    a delete in the background). Wall time inside the window over the
    window's length is the runtime's share of what the user waited for.
    """
    windows = []
    for line in open(windows_file):
        w, rt, t0, t1 = line.split()
        windows.append((w, rt, float(t0), float(t1)))
    calls = {rt: read_calls(os.path.join(calls_dir, rt, "calls.log")) for rt in {w[1] for w in windows}}
    starts = sorted(w[2] for w in windows)
    res = {}
    for w, rt, t0, t1 in windows:
        nxt = min([s for s in starts if s > t0] or [t1 + 5.0])
        inside = [c for c in calls[rt] if t0 <= c["start"] < t1]
        after = [c for c in calls[rt] if t1 <= c["start"] < min(nxt, t1 + 5.0)]
        d = res.setdefault(w, {}).setdefault(rt, {"n": 0, "wall": [], "inside": [], "cpu": [], "after": [],
                                                  "calls": {}})
        d["n"] += 1
        d["wall"].append((t1 - t0) * 1000)
        # Overlapping calls (an engine may run two at once) count once.
        spans, busy = sorted((c["start"], min(c["start"] + c["wall"] / 1000, t1)) for c in inside), 0.0
        end = t0
        for s, e in spans:
            if e > end:
                busy += e - max(s, end)
                end = e
        d["inside"].append(busy * 1000)
        d["cpu"].append(sum(c["user"] + c["sys"] for c in inside))
        d["after"].append(sum(c["wall"] for c in after))
        for c in inside + after:
            k = c["cmd"] + ("" if c in inside else " (after)")
            e = d["calls"].setdefault(k, {"count": 0, "wall": []})
            e["count"] += 1
            e["wall"].append(c["wall"])
    summary = {}
    for w, per in res.items():
        for rt, d in per.items():
            n = d["n"]
            summary.setdefault(w, {})[rt] = {
                "runs": n,
                "wall_ms": median(d["wall"]),
                "runtime_ms": median(d["inside"]),
                "share": median([i / t for i, t in zip(d["inside"], d["wall"]) if t > 0]),
                "runtime_cpu_ms": median(d["cpu"]),
                "after_ms": median(d["after"]),
                "calls": {k: {"per_op": e["count"] / n, "median_ms": median(e["wall"])}
                          for k, e in sorted(d["calls"].items())},
            }
    json.dump(summary, open(out, "w"), indent=1)


def fmt(v, unit=""):
    if v is None or v != v:
        return "n/a"
    return (f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}") + unit


def load_range(loads):
    loads = [x for x in loads if x is not None]
    if not loads:
        return ""
    lo, hi = min(loads), max(loads)
    return f"{lo:.1f}" if abs(hi - lo) < 0.05 else f"{lo:.1f}-{hi:.1f}"


def summary(dirname, svgs):
    def get(name):
        path = os.path.join(dirname, name)
        return json.load(open(path)) if os.path.exists(path) else None

    bench, engines, scale = get("bench.json"), get("engines.json"), get("scale.json")
    rows = []  # (section, goal, values {runtime: v}, unit, ratio, target, met, loads)

    def ratio_row(section, goal, vals, unit, target, loads):
        h, c = vals.get("hull"), vals.get("crun")
        ratio = h / c if h is not None and c else None
        met = None if ratio is None or target is None else ratio <= target
        rows.append((section, goal, vals, unit, ratio, f"<= {target:.2f}x crun" if target else "", met, loads))

    if bench:
        bl = bench.get("loads", {})
        ratio_row("runtime", "lifecycle create-start-delete", bench["lifecycle_ms"], "ms", 0.40, bl.get("lifecycle", []))
        ratio_row("runtime", "run true", bench["run_ms"], "ms", 0.45, bl.get("run", []))
        ratio_row("runtime", "exec true", bench["exec_ms"], "ms", 0.40, bl.get("exec", []))
        par = bench["parallel"]
        ratio_row("runtime", "100 lifecycles, 8 at a time", {r: v["seconds"] for r, v in par.items()}, "s", 0.45,
                  [v.get("load") for v in par.values()])
        rss = {r: max(v.values()) for r, v in bench["peak_rss_kb"].items()}
        ratio_row("runtime", "peak RSS (worst command)", rss, "KiB", 1.0, [])
    if engines:
        names = {"ctr-run": "ctr run --rm true", "podman-run": "podman run --rm true",
                 "docker-run": "docker run --rm true", "ctr-exec": "ctr task exec true",
                 "podman-exec": "podman exec true", "docker-exec": "docker exec true"}
        for w, label in names.items():
            d = engines["workloads"].get(w)
            if d:
                ratio_row("engine", label, d["median_ms"], "ms", 1.0, d["loads"])
        pod = engines["workloads"].get("cri-pod")
        if pod:
            ratio_row("engine", f"CRI pod start, p50 ({len(pod['times_ms']['hull'])} pods)", pod["median_ms"], "ms",
                      None, pod["loads"])
            ratio_row("engine", "CRI pod start, p99", pod["p99_ms"], "ms", 1.0, pod["loads"])
    if scale:
        n = scale["n"]
        sr = scale["runtimes"]
        growth = {r: d["create_last_ms"] / d["create_first_ms"] for r, d in sr.items()}
        h = growth.get("hull")
        tenth = max(1, n // 10)
        rows.append(("scale", f"create #{n - tenth + 1}-{n} / #1-{tenth} (medians)", growth, "x", None, "hull <= 1.10",
                     None if h is None else h <= 1.10, [x for d in sr.values() for x in d["loads"]]))
        lst = {r: d["checkpoints"][-1]["list_ms"] for r, d in sr.items()}
        h = lst.get("hull")
        rows.append(("scale", f"list of {n}", lst, "ms", None, "hull < 50 ms", None if h is None else h < 50,
                     [d["checkpoints"][-1]["load"] for d in sr.values()]))
        st = {r: d["checkpoints"][-1]["state_ms"] for r, d in sr.items()}
        st1 = {r: d["checkpoints"][0]["state_ms"] for r, d in sr.items()}
        h, h1 = st.get("hull"), st1.get("hull")
        rows.append(("scale", f"state, {n} alive (1 alive: {fmt(h1)} ms)", st, "ms", None, "hull: no growth", None,
                     [d["checkpoints"][-1]["load"] for d in sr.values()]))
        dl = {r: d["delete_all_ms"] / 1000 for r, d in sr.items()}
        ratio_row("scale", f"delete -f of all {n}", dl, "s", None, [d["delete_load"] for d in sr.values()])
    head = f"{'':<7} {'':<40}{'hull':>9}{'crun':>9}{'runc':>9}  {'hull/crun':>9}  {'goal':<18} {'met':<4} load"
    print(head)
    print("-" * len(head))
    for section, goal, vals, unit, ratio, target, met, loads in rows:
        v = "".join(f"{fmt(vals.get(r)):>9}" for r in RUNTIMES)
        m = "" if met is None else ("yes" if met else "NO")
        print(f"{section:<7} {(goal + ' (' + unit + ')'):<40}{v}  {fmt(ratio):>9}  {target:<18} {m:<4} {load_range(loads)}")
    if engines and engines.get("share"):
        print()
        print("Time inside the runtime during each engine command (rt-timer; median share, runtime ms per command):")
        print(f"{'':<14}" + "".join(f"{r:>16}" for r in RUNTIMES) + "   hull's calls per command")
        for w, per in engines["share"].items():
            cells = "".join(f"{fmt(per[r]['share'] * 100, '%') + ' ' + fmt(per[r]['runtime_ms']) + 'ms':>16}"
                            if r in per else f"{'n/a':>16}" for r in RUNTIMES)
            calls = ", ".join(f"{k} x{v['per_op']:g} {fmt(v['median_ms'])}ms"
                              for k, v in per.get("hull", {}).get("calls", {}).items())
            print(f"{w:<14}{cells}   {calls}")
    if svgs:
        sys.dont_write_bytecode = True
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import chart
        loads = [x for r in rows for x in r[7] if x is not None]
        note = f"load average {load_range(loads)} during the run (2 cores)" if loads else ""
        text = chart.render(bench, engines, scale, note)
        for path in svgs:
            with open(path, "w") as f:
                f.write(text)
            print(f"chart: {path}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "merge":
        merge(args[0], args[1:])
    elif cmd == "share":
        share(*args)
    elif cmd == "summary":
        summary(args[0], args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
