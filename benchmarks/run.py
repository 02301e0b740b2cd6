"""flowlaws benchmark suite (issue 7).

Times, in the same run and in child processes with time limits:

* **comparison**: the papers' architectures with their published reference
  times (Sage, floating-point rank, all-pairs brackets, timed on this 2-core
  machine): ``flowlaws.analyze`` (certificate included) and the independent
  checker ``flowlaws.verify.check_certificate``, against the two baselines
  ``baseline_flint.py`` and ``baseline_sympy.py``; plus heavy-ball momentum on
  linear 2-2-5-2-4 (flowlaws against the flint baseline). Every count must agree
  (and match the closed forms of DESIGN section 4).
* **scale**: ReLU and deep linear MLPs of growing size under gradient flow, and
  under momentum, one child per case (so the peak RSS is the case's own), each
  analysis and each check with its own time limit; a family stops at its first
  timeout. Fits the exponent of time against D (log-log least squares) and
  draws ``scaling.png``.

Writes ``results.json`` (and ``scaling.png``) into ``--out`` (default: this
directory) and prints the tables in Markdown. Exit status 1 when counts
disagree or a certificate fails its check; timeouts are reported, not failures.

Usage::

    python benchmarks/run.py                 # everything (about 20 minutes on 2 cores)
    python benchmarks/run.py --quick         # CI smoke: tiny cases, a few seconds
    python benchmarks/run.py --only scale --timeout 60
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from _harness import run_cases  # noqa: E402

# architecture, published reference time in seconds (issue 7)
PUBLISHED = [
    ("linear:2x2x2", 0.38), ("linear:3x2x3", 1.54), ("linear:4x3x4", 6.67), ("linear:3x3x3x3", 3.25),
    ("linear:5x4x5", 29.7), ("relu:2x2x2", 1.05), ("relu:3x3x3", 13.4), ("relu:2x3x3x2", 26.1),
    ("relu:3x4x3", 32.8), ("relu+bias:2x3x2", 6.41),
]
MOMENTUM_COMPARISON = ["linear:2x2x5x2x4"]

SCALE = {
    "relu / gradient": ("gradient", [
        "relu:4x4x4x4", "relu:10x10x10x10", "relu:10x20x20x10", "relu:20x20x20x20", "relu:20x30x30x20",
        "relu:30x30x30x30", "relu:30x40x40x30", "relu:30x40x40x40x30", "relu:35x45x45x45x35",
        "relu:40x50x50x50x40", "relu:40x55x55x55x40", "relu:45x60x60x60x45",
    ]),
    "linear / gradient": ("gradient", [
        "linear:4x4x4x4", "linear:6x6x6x6", "linear:10x10x10x10", "linear:12x12x12x12x12",
        "linear:10x20x20x10", "linear:16x16x16x16x16", "linear:20x20x20x20x20", "linear:24x24x24x24x24x24",
        "linear:30x30x30x30x30x30", "linear:36x36x36x36x36x36", "linear:40x40x40x40x40x40x40",
    ]),
    "linear / momentum": ("momentum", [
        "linear:2x2x2", "linear:3x3x3x3", "linear:2x2x5x2x4", "linear:4x4x4x4", "linear:5x5x5x5",
        "linear:6x6x6x6", "linear:8x8x8x8", "linear:10x10x10x10", "linear:12x14x14x12",
        "linear:13x13x13x13", "linear:16x16x16x16x16", "linear:20x20x20x20x20", "linear:24x24x24x24x24",
    ]),
    "relu / momentum": ("momentum", [
        "relu:2x2x2", "relu:3x4x3", "relu:4x4x4x4", "relu:5x5x5x5", "relu:6x6x6x6", "relu:8x8x8x8",
        "relu:10x10x10x10", "relu:12x14x14x12", "relu:13x13x13x13", "relu:16x16x16x16x16",
        "relu:20x20x20x20x20", "relu:24x24x24x24x24",
    ]),
}

QUICK_PUBLISHED = [("linear:2x2x2", 0.38), ("relu:2x2x2", 1.05)]
QUICK_MOMENTUM = ["linear:2x2x2"]
QUICK_SCALE = {
    "relu / gradient": ("gradient", ["relu:2x2x2", "relu:3x3x3", "relu+bias:2x3x2", "relu:3x4x4x3"]),
    "linear / gradient": ("gradient", ["linear:2x2x2", "linear:3x3x3"]),
    "linear / momentum": ("momentum", ["linear:1x2x1", "linear:2x2x2"]),
    "relu / momentum": ("momentum", ["relu:1x2x1", "relu:2x2x2"]),
}
TAU = "1"


# -- closed forms (DESIGN section 4), an independent sanity check of every count ---------------
def _widths(spec: str) -> tuple[str, list[int]]:
    kind, sizes = spec.split(":")
    return kind, [int(x) for x in sizes.split("x")]


def expected_count(spec: str, flow: str) -> int | None:
    """The published closed form of the count, when DESIGN section 4 gives one."""
    kind, w = _widths(spec)
    hidden = w[1:-1]
    if kind in ("relu", "relu+bias"):
        return sum(hidden) if flow == "gradient" else 0
    if kind != "linear":
        return None
    total = 0
    for i in range(1, len(w) - 1):
        r, N = w[i], w[i - 1] + w[i + 1]
        if flow == "gradient":
            total += r * (r + 1) // 2 if r <= N else N * r - N * (N - 1) // 2
        else:
            if N < 3 or r > 2 * N:
                return None
            total += r * (r - 1) // 2
    return total


def param_count(spec: str) -> int:
    kind, w = _widths(spec)
    D = sum(a * b for a, b in zip(w, w[1:]))
    return D + (sum(w[1:]) if kind.endswith("+bias") else 0)


# -- helpers ----------------------------------------------------------------------------------
def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def fit_exponent(points: list[tuple[int, float]]) -> dict | None:
    """Least squares of log(seconds) = a log(D) + b over the points; None below 3 points."""
    pts = [(d, t) for d, t in points if d > 0 and t > 0]
    if len(pts) < 3:
        return None
    xs = [math.log(d) for d, _ in pts]
    ys = [math.log(t) for _, t in pts]
    n = len(pts)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    a = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    b = my - a * mx
    return {"exponent": round(a, 3), "coefficient": math.exp(b), "points": n,
            "D_range": [min(d for d, _ in pts), max(d for d, _ in pts)]}


def engine_fingerprint() -> str:
    """sha256 of the package's Python sources: which engine version was measured."""
    root = os.path.join(os.path.dirname(HERE), "flowlaws")
    h = hashlib.sha256()
    for dirpath, dirnames, files in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                h.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()[:16]


def _fmt(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.3g}"


def _secs(res: dict | None) -> str:
    if res is None:
        return "—"
    if res["status"] == "ok":
        return _fmt(res["seconds"])
    return res["status"]


def normalise_check(r: dict | None) -> dict | None:
    """Older workers reported the checker's size refusals as "failed": relabel them "refused"."""
    if r and r.get("check_status") == "failed" and "at most" in r.get("check_error", "") \
            and r.get("check_error", "").startswith(("[generators]", "[schema]")):
        r["check_status"] = "refused"
    return r


def consistent(results: dict) -> bool:
    """Every count agrees (baselines, closed forms) and no certificate failed a proof step."""
    ok = True
    if "comparison" in results:
        rows = results["comparison"]["rows"]
        ok &= all(r["counts_agree"] for r in rows)
        ok &= all(r["flowlaws"].get("check_status") != "failed" for r in rows)
    for fam in results.get("scale", {}).values():
        ok &= all(r.get("count_ok", True) for r in fam["rows"])
        ok &= all(r.get("check_status") != "failed" for r in fam["rows"])
    return ok


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- sections ----------------------------------------------------------------------------------
def comparison(published, momentum, *, timeout, baseline_timeout, info) -> dict:
    cases = [{"spec": s, "flow": "gradient", "published": t} for s, t in published]
    cases += [{"spec": s, "flow": "momentum", "tau": TAU, "published": None} for s in momentum]
    jobs = [{k: c[k] for k in ("spec", "flow", "tau") if k in c} for c in cases]
    grad_idx = [i for i, c in enumerate(cases) if c["flow"] == "gradient"]
    _log(f"comparison: flowlaws on {len(jobs)} cases")
    fl = [normalise_check(r) for r in run_cases("flowlaws", jobs, timeout=timeout, check=True, info=info)]
    _log("comparison: flint baseline")
    fb = run_cases("flint", jobs, timeout=baseline_timeout, info=info)
    _log("comparison: sympy baseline")
    sy_g = run_cases("sympy", [jobs[i] for i in grad_idx], timeout=baseline_timeout, info=info)
    sy: list[dict | None] = [None] * len(cases)
    for i, r in zip(grad_idx, sy_g):
        sy[i] = r
    rows = []
    for c, a, b, s in zip(cases, fl, fb, sy):
        counts = {name: r["count"] for name, r in (("flowlaws", a), ("flint", b), ("sympy", s))
                  if r is not None and r["status"] == "ok"}
        exp = expected_count(c["spec"], c["flow"])
        row = {
            "spec": c["spec"], "flow": c["flow"], "D": param_count(c["spec"]),
            "dim": a.get("dim"), "count": a.get("count"), "expected": exp, "complete": a.get("complete"),
            "flowlaws": a, "flint": b, "sympy": s, "published_seconds": c["published"],
            "counts_agree": len(set(counts.values())) <= 1 and (exp is None or all(v == exp for v in counts.values())),
            "certified": a["status"] == "ok" and bool(a.get("complete")) and a.get("check_status") == "ok",
        }
        t = a["seconds"] if a["status"] == "ok" else None
        row["ratio_flint"] = b["seconds"] / t if t and b["status"] == "ok" else None
        row["ratio_sympy"] = s["seconds"] / t if t and s is not None and s["status"] == "ok" else None
        row["ratio_published"] = c["published"] / t if t and c["published"] else None
        tc = t + a["check_seconds"] if t and a.get("check_status") == "ok" else None
        row["ratio_published_with_check"] = c["published"] / tc if tc and c["published"] else None
        row["ratio_flint_with_check"] = b["seconds"] / tc if tc and b["status"] == "ok" else None
        row["ratio_flint_cpu"] = (b["cpu_seconds"] / a["cpu_seconds"]
                                  if t and b["status"] == "ok" and a["cpu_seconds"] > 0 else None)
        rows.append(row)
    pub = [r for r in rows if r["published_seconds"]]
    summary = {
        "geomean_ratio_vs_flint": geomean([r["ratio_flint"] for r in pub]),
        "geomean_ratio_vs_sympy": geomean([r["ratio_sympy"] for r in pub]),
        "geomean_ratio_vs_published": geomean([r["ratio_published"] for r in pub]),
        "geomean_ratio_vs_flint_with_check": geomean([r["ratio_flint_with_check"] for r in pub]),
        "geomean_ratio_vs_published_with_check": geomean([r["ratio_published_with_check"] for r in pub]),
        "geomean_ratio_vs_flint_cpu_time": geomean([r["ratio_flint_cpu"] for r in pub]),
        "geomean_ratio_flint_vs_published": geomean(
            [r["published_seconds"] / r["flint"]["seconds"] for r in pub if r["flint"]["status"] == "ok"]),
        "ratios_over": "published architectures where both sides finished (momentum rows excluded)",
    }
    return {"rows": rows, "summary": summary}


def scale(families, *, timeout, check_timeout, isolate, info) -> dict:
    out = {}
    shared: list[dict] = []
    if not isolate:  # quick mode: one child for every family (peak RSS is then the child's, not the case's)
        _log("scale: all families in one child")
        shared = run_cases("flowlaws", [{"spec": s, "flow": flow, "tau": TAU}
                                        for flow, specs in families.values() for s in specs],
                           timeout=timeout, check=True, check_timeout=check_timeout, info=info)
    for name, (flow, specs) in families.items():
        _log(f"scale: {name}")
        rows = []
        stopped = None
        res, shared = shared[:len(specs)], shared[len(specs):]
        for k, spec in enumerate(specs):
            if stopped:
                rows.append({"spec": spec, "D": param_count(spec), "status": "skipped",
                             "reason": f"{stopped} timed out at the previous size"})
                continue
            r = normalise_check(res[k] if not isolate else run_cases(
                "flowlaws", [{"spec": spec, "flow": flow, "tau": TAU}], timeout=timeout, check=True,
                check_timeout=check_timeout, isolate=True, info=info)[0])
            exp = expected_count(spec, flow)
            row = {"spec": spec, "flow": flow, "D": param_count(spec), "expected": exp, **r}
            row["certified"] = r["status"] == "ok" and bool(r.get("complete")) and r.get("check_status") == "ok"
            row["count_ok"] = r["status"] != "ok" or exp is None or r.get("count") == exp
            rows.append(row)
            _log(f"  {spec:28s} D={row['D']:6d} {_secs(r):>8s} s  complete={r.get('complete')} "
                 f"check={r.get('check_status')} {_fmt(r.get('check_seconds'))} s  "
                 f"rss={_fmt(r.get('analyze_rss_mib'))}/{_fmt(r.get('rss_mib'))} MiB")
            if r["status"] != "ok" and isolate:
                stopped = spec
        ok = [(r["D"], r["seconds"]) for r in rows if r.get("status") == "ok"]  # finished, complete or not
        certified = [r for r in rows if r.get("certified")]
        fit_pts = [(d, t) for d, t in ok if d >= 100] if len([d for d, _ in ok if d >= 100]) >= 3 else ok
        checked = [(r["D"], r["check_seconds"]) for r in rows if r.get("check_status") == "ok"]
        chk_pts = [(d, t) for d, t in checked if d >= 100] if len([d for d, _ in checked if d >= 100]) >= 3 else checked
        out[name] = {
            "flow": flow, "rows": rows,
            "fit": fit_exponent(fit_pts),
            "fit_cpu": fit_exponent([(d, next(r["cpu_seconds"] for r in rows if r["D"] == d and r.get("status") == "ok"))
                                     for d, _ in fit_pts]),
            "fit_check": fit_exponent(chk_pts),
            "largest_complete_analyze_within_60s": max(
                (r["D"] for r in rows if r.get("status") == "ok" and r.get("complete") and r["seconds"] <= 60),
                default=None),
            "largest_certified_within_60s": max(
                (r["D"] for r in certified if r["seconds"] + r["check_seconds"] <= 60), default=None),
        }
    return out


# -- output ----------------------------------------------------------------------------------
def print_comparison(comp: dict) -> None:
    print("\n| architecture | flow | D | count | flowlaws s | checker s | flint s | sympy s | × flint | × published |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in comp["rows"]:
        a = r["flowlaws"]
        count = f"{r['count']}" + ("" if r["counts_agree"] else " (DISAGREE)") + ("" if r["certified"] else " (not certified)")
        print(f"| {r['spec']} | {r['flow']} | {r['D']} | {count} | {_secs(a)} | "
              f"{_fmt(a.get('check_seconds')) if a.get('check_status') == 'ok' else a.get('check_status', '—')} | "
              f"{_secs(r['flint'])} | {_secs(r['sympy'])} | {_fmt(r['ratio_flint'])} | {_fmt(r['ratio_published'])} |")
    s = comp["summary"]
    print(f"\ngeometric means over the published list: × flint {_fmt(s['geomean_ratio_vs_flint'])}, "
          f"× sympy {_fmt(s['geomean_ratio_vs_sympy'])}, × published {_fmt(s['geomean_ratio_vs_published'])}; "
          f"checker included: × flint {_fmt(s['geomean_ratio_vs_flint_with_check'])}, "
          f"× published {_fmt(s['geomean_ratio_vs_published_with_check'])}; "
          f"flint baseline × published {_fmt(s['geomean_ratio_flint_vs_published'])}")


def print_scale(sc: dict) -> None:
    for name, fam in sc.items():
        print(f"\n### {name}\n")
        print("| architecture | D | dim | count (expected) | flowlaws s | complete | checker s "
              "| peak RSS MiB (analyze / with check) |")
        print("|---|---:|---:|---:|---:|---|---:|---:|")
        for r in fam["rows"]:
            if r.get("status") == "skipped":
                print(f"| {r['spec']} | {r['D']} | | | skipped | | | |")
                continue
            if r.get("status") != "ok":
                print(f"| {r['spec']} | {r['D']} | | ({r['expected']}) | {r['status']} | | | |")
                continue
            chk = r.get("check_status")
            chk = _fmt(r["check_seconds"]) if chk == "ok" else (chk or "—")
            rss = _fmt(r.get("analyze_rss_mib")) + (f" / {_fmt(r['rss_mib'])}" if r.get("check_status") == "ok" else "")
            print(f"| {r['spec']} | {r['D']} | {r.get('dim', '—')} | {r.get('count', '—')} ({r['expected']}) | "
                  f"{_secs(r)} | {r.get('complete', '—')} | {chk} | {rss} |")
        f, fc = fam["fit"], fam["fit_check"]
        print(f"\nfit: time ∝ D^{f['exponent'] if f else '—'} (analyze, {f['points'] if f else 0} points); "
              f"checker ∝ D^{fc['exponent'] if fc else '—'}; largest complete analysis ≤ 60 s: "
              f"D = {fam['largest_complete_analyze_within_60s']}; largest certified (analysis + check ≤ 60 s): "
              f"D = {fam['largest_certified_within_60s']}")


def plot(sc: dict, path: str, timeout: float, check_timeout: float) -> None:
    from flowlaws._optional import require

    matplotlib = require("matplotlib", extra="plots", what="benchmarks/run.py's plot")

    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="benchmarks/run.py's plot")

    fig, ax = plt.subplots(figsize=(8, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (name, fam) in zip(colors, sc.items()):
        ok = [r for r in fam["rows"] if r.get("status") == "ok"]
        if ok:
            ax.plot([r["D"] for r in ok], [r["seconds"] for r in ok], "o-", color=color,
                    label=f"{name}: analyze" + (f" (∝ D^{fam['fit']['exponent']:.2f})" if fam["fit"] else ""))
            inc = [r for r in ok if not r.get("complete")]
            if inc:
                ax.plot([r["D"] for r in inc], [r["seconds"] for r in inc], "x", color="k", ms=10)
        chk = [r for r in ok if r.get("check_status") == "ok"]
        if chk:
            ax.plot([r["D"] for r in chk], [r["check_seconds"] for r in chk], "s--", color=color, alpha=0.6,
                    mfc="none", label=f"{name}: checker")
        to = [r for r in fam["rows"] if r.get("status") == "timeout"]
        if to:
            ax.plot([r["D"] for r in to], [timeout] * len(to), "v", color=color, ms=9)
        cto = [r for r in ok if r.get("check_status") == "timeout"]
        if cto:
            ax.plot([r["D"] for r in cto], [check_timeout] * len(cto), "v", color=color, ms=9, mfc="none")
        ref = [r for r in ok if r.get("check_status") == "refused"]
        if ref:
            ax.plot([r["D"] for r in ref], [check_timeout] * len(ref), "D", color=color, ms=6, mfc="none")
    ax.axhline(60, color="grey", lw=0.8, ls=":")
    ax.annotate("60 s", xy=(0.99, 60), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("D (trainable parameters; momentum phase space is 2D + 1)")
    ax.set_ylabel("seconds (wall, 2-core machine)")
    ax.set_title(f"flowlaws vs D — ▼ analysis over {timeout:g} s, ▽ check over {check_timeout:g} s, "
                 f"◇ checker refused (over its path limit), × count not certified complete", fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="flowlaws benchmarks (issue 7)")
    ap.add_argument("--quick", action="store_true", help="CI smoke: tiny cases, a few seconds")
    ap.add_argument("--out", default=HERE, help="directory for results.json and scaling.png (default: benchmarks/)")
    ap.add_argument("--only", choices=["comparison", "scale"], help="run one section")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per flowlaws case (default 120; quick 20)")
    ap.add_argument("--check-timeout", type=float, default=None, help="seconds per certificate check (default: min(--timeout, 60))")
    ap.add_argument("--report", metavar="RESULTS_JSON",
                    help="re-print the tables (and redraw scaling.png into --out) from a results.json; run nothing")
    ap.add_argument("--baseline-timeout", type=float, default=None, help="seconds per baseline case (default 120; quick 2)")
    args = ap.parse_args(argv)
    timeout = args.timeout or (20.0 if args.quick else 120.0)
    check_timeout = args.check_timeout or min(timeout, 60.0)
    baseline_timeout = args.baseline_timeout or (2.0 if args.quick else 120.0)
    os.makedirs(args.out, exist_ok=True)
    if args.report:
        with open(args.report, encoding="utf-8") as fh:
            old = json.load(fh)
        for r in old.get("comparison", {}).get("rows", []):
            normalise_check(r["flowlaws"])
        for fam in old.get("scale", {}).values():
            for r in fam["rows"]:
                normalise_check(r)
        old["consistent"] = consistent(old)
        if "comparison" in old:
            print_comparison(old["comparison"])
        if "scale" in old:
            print_scale(old["scale"])
            if old.get("mode") != "quick":
                plot(old["scale"], os.path.join(args.out, "scaling.png"), old["settings"]["timeout"],
                     old["settings"]["check_timeout"])
        print(f"\nconsistent = {old['consistent']}")
        return 0 if old["consistent"] else 1

    info: dict = {}
    t0 = time.time()
    results: dict = {
        "issue": 7,
        "mode": "quick" if args.quick else "full",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "engine_sha256_16": engine_fingerprint(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "settings": {"timeout": timeout, "check_timeout": check_timeout, "baseline_timeout": baseline_timeout,
                     "momentum_tau": TAU, "scale_one_child_per_case": not args.quick,
                     "timing": "wall seconds in a child process, imports and a warm-up excluded; a case under 0.2 s "
                               "is repeated for up to 1 s (at most 7 runs) and the median kept; flowlaws time = "
                               "analyze + json.dumps(certificate); checker time = json.loads + check_certificate"},
        "versions": info,
        "load_average": {"start": os.getloadavg()},
    }
    if args.only in (None, "comparison"):
        comp = comparison(QUICK_PUBLISHED if args.quick else PUBLISHED,
                          QUICK_MOMENTUM if args.quick else MOMENTUM_COMPARISON,
                          timeout=timeout, baseline_timeout=baseline_timeout, info=info)
        results["comparison"] = comp
        results["load_average"]["after_comparison"] = os.getloadavg()
        print_comparison(comp)
    if args.only in (None, "scale"):
        sc = scale(QUICK_SCALE if args.quick else SCALE, timeout=timeout, check_timeout=check_timeout,
                   isolate=not args.quick, info=info)
        results["scale"] = sc
        results["load_average"]["after_scale"] = os.getloadavg()
        print_scale(sc)
        if not args.quick:
            plot(sc, os.path.join(args.out, "scaling.png"), timeout, check_timeout)
    results["seconds_total"] = round(time.time() - t0, 1)
    results["engine_sha256_16_at_end"] = engine_fingerprint()
    if results["engine_sha256_16_at_end"] != results["engine_sha256_16"]:
        _log("warning: the flowlaws sources changed during the run; the timings mix two engine versions")
    ok = results["consistent"] = consistent(results)
    path = os.path.join(args.out, "results.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1)
    print(f"\nwrote {path}" + ("" if args.quick else f" and {os.path.join(args.out, 'scaling.png')}")
          + f" in {results['seconds_total']} s; consistent = {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
