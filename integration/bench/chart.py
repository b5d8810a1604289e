"""The benchmark chart as an SVG, by hand (standard library only).

Top: every workload, the three runtimes side by side, as a multiple of
crun's median (the absolute median on each bar); on the engine workloads the
darker part of a bar is the time spent inside the runtime (rt-timer's share).
Bottom: the scale run — create time against the number of containers alive
(a running median), and `list` time at the checkpoints.
"""

import statistics
from xml.sax.saxutils import escape

COLORS = {"hull": "#2b6cb0", "crun": "#dd6b20", "runc": "#718096"}
DARK = {"hull": "#1a365d", "crun": "#7b341e", "runc": "#2d3748"}
RUNTIMES = ["hull", "crun", "runc"]


class Svg:
    def __init__(self, w, h):
        self.w, self.h, self.parts = w, h, []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=11, anchor="start", weight="normal", color="#1a202c", rotate=None):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{color}"{tr}>{escape(str(s))}</text>')

    def rect(self, x, y, w, h, color, title=None):
        t = f"<title>{escape(title)}</title>" if title else ""
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}">{t}</rect>')

    def line(self, x1, y1, x2, y2, color="#cbd5e0", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" stroke-width="{width}"{d}/>')

    def polyline(self, pts, color, width=1.5):
        p = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        self.add(f'<polyline points="{p}" fill="none" stroke="{color}" stroke-width="{width}"/>')

    def circle(self, x, y, r, color):
        self.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>')

    def render(self):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">\n'
                f'<rect width="{self.w}" height="{self.h}" fill="white"/>\n' + "\n".join(self.parts) + "\n</svg>\n")


def fmt(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def legend(svg, x, y):
    for i, r in enumerate(RUNTIMES):
        svg.rect(x + i * 70, y - 9, 10, 10, COLORS[r])
        svg.text(x + i * 70 + 14, y, r)


def bars(svg, x0, y0, w, h, groups, title, cap=3.0):
    """groups: [(label, {runtime: ms}, {runtime: share or None}, unit)]."""
    svg.text(x0, y0 - 8, title, size=13, weight="bold")
    plot_top, plot_h = y0 + 8, h - 58
    base = plot_top + plot_h
    for k in range(0, int(cap * 2) + 1):
        v = k / 2
        y = base - v / cap * plot_h
        svg.line(x0 + 44, y, x0 + w, y, "#4a5568" if v == 1 else "#e2e8f0", 1, None if v == 1 else "3,3")
        svg.text(x0 + 40, y + 4, f"{v:.1f}×", size=10, anchor="end", color="#4a5568")
    svg.text(x0 + 8, plot_top + plot_h / 2, "time / crun's", size=10, anchor="middle", color="#4a5568", rotate=-90)
    gw = (w - 50) / max(len(groups), 1)
    bw = min(22, (gw - 10) / 3)
    for g, (label, vals, shares, unit) in enumerate(groups):
        gx = x0 + 50 + g * gw + (gw - 3 * bw) / 2
        crun = vals.get("crun")
        for i, r in enumerate(RUNTIMES):
            v = vals.get(r)
            if v is None or not crun:
                continue
            ratio = v / crun
            bh = min(ratio, cap) / cap * plot_h
            x = gx + i * bw
            svg.rect(x, base - bh, bw - 2, bh, COLORS[r], f"{r} {label}: {fmt(v)} {unit} ({ratio:.2f}× crun)")
            s = (shares or {}).get(r)
            if s is not None and s == s:
                svg.rect(x, base - bh * min(s, 1.0), bw - 2, bh * min(s, 1.0), DARK[r],
                         f"{r} {label}: {s * 100:.0f} % inside the runtime")
            svg.text(x + bw / 2, base - bh - 3, fmt(v) + ("▲" if ratio > cap else ""), size=8, anchor="middle",
                     color="#2d3748", rotate=None)
        lines = label.split("\n")
        for j, part in enumerate(lines):
            svg.text(gx + 1.5 * bw, base + 14 + 12 * j, part, size=10, anchor="middle")
        svg.text(gx + 1.5 * bw, base + 14 + 12 * len(lines), unit, size=9, anchor="middle", color="#718096")


def running_median(v, k):
    return [statistics.median(v[max(0, i - k + 1):i + 1]) for i in range(len(v))]


def curve(svg, x0, y0, w, h, title, series, xlabel, ylabel, markers=False):
    """series: {runtime: [(x, y)]} (y may be None)."""
    svg.text(x0, y0 - 8, title, size=13, weight="bold")
    pts_all = [p for s in series.values() for p in s if p[1] is not None]
    if not pts_all:
        svg.text(x0 + 10, y0 + 30, "no data", color="#718096")
        return
    xmax = max(p[0] for p in pts_all) or 1
    ymax = max(p[1] for p in pts_all) * 1.1 or 1
    left, top, pw, ph = x0 + 45, y0 + 8, w - 55, h - 50
    for k in range(5):
        v = ymax * k / 4
        y = top + ph - v / ymax * ph
        svg.line(left, y, left + pw, y, "#e2e8f0", 1, "3,3")
        svg.text(left - 4, y + 4, fmt(v), size=10, anchor="end", color="#4a5568")
    for k in range(5):
        v = xmax * k / 4
        x = left + v / xmax * pw
        svg.text(x, top + ph + 14, f"{v:.0f}", size=10, anchor="middle", color="#4a5568")
    svg.line(left, top + ph, left + pw, top + ph, "#4a5568")
    svg.text(left + pw / 2, top + ph + 30, xlabel, size=10, anchor="middle", color="#4a5568")
    svg.text(x0 + 8, top + ph / 2, ylabel, size=10, anchor="middle", color="#4a5568", rotate=-90)
    for r in RUNTIMES:
        pts = [(left + x / xmax * pw, top + ph - y / ymax * ph) for x, y in series.get(r, []) if y is not None]
        if pts:
            svg.polyline(pts, COLORS[r])
            if markers:
                for x, y in pts:
                    svg.circle(x, y, 2.5, COLORS[r])


def render(bench, engines, scale, note=""):
    svg = Svg(980, 760)
    svg.text(20, 24, "hull, crun and runc: medians, as a multiple of crun's (lower is better)", size=15, weight="bold")
    legend(svg, 620, 24)
    if note:
        svg.text(20, 42, note, size=10, color="#4a5568")
    groups = []
    if bench:
        groups += [
            ("lifecycle", bench["lifecycle_ms"], None, "ms"),
            ("run true", bench["run_ms"], None, "ms"),
            ("exec true", bench["exec_ms"], None, "ms"),
            ("100 lifecycles\n8 at a time", {r: v["seconds"] for r, v in bench["parallel"].items()}, None, "s"),
        ]
    bars(svg, 20, 72, 330, 330, groups, "Runtime level")
    eg = []
    if engines:
        labels = {"ctr-run": "ctr run\n--rm", "podman-run": "podman\nrun --rm", "docker-run": "docker\nrun --rm",
                  "ctr-exec": "ctr\nexec", "podman-exec": "podman\nexec", "docker-exec": "docker\nexec"}
        share = engines.get("share", {})
        for w, label in labels.items():
            if w in engines["workloads"]:
                sh = {r: v["share"] for r, v in share.get(w, {}).items()}
                eg.append((label, engines["workloads"][w]["median_ms"], sh, "ms"))
        pod = engines["workloads"].get("cri-pod")
        if pod:
            sh = {r: v["share"] for r, v in share.get("cri-pod", {}).items()}
            eg.append(("CRI pod\nstart p50", pod["median_ms"], sh, "ms"))
            eg.append(("CRI pod\nstart p99", pod["p99_ms"], None, "ms"))
    bars(svg, 370, 72, 590, 330, eg, "Engine level (dark: time inside the runtime)")
    if scale:
        n = scale["n"]
        ser, lst = {}, {}
        for r, d in scale["runtimes"].items():
            med = running_median(d["create_ms"], 25)
            ser[r] = list(enumerate(med, 1))
            lst[r] = [(c["alive"], c["list_ms"]) for c in d["checkpoints"]]
        curve(svg, 20, 470, 470, 270, f"Scale: create, with up to {n} alive (running median of 25)", ser,
              "containers alive", "create (ms)")
        curve(svg, 500, 470, 460, 270, "Scale: list, by containers alive", lst, "containers alive", "list (ms)",
              markers=True)
    return svg.render()
