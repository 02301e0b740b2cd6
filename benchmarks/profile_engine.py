"""Profile ``flowlaws.analyze`` (and optionally the checker) on one case with pyinstrument.

pyinstrument is a development tool (``pip install pyinstrument``), not a
dependency of flowlaws. Prints pyinstrument's call tree (trimmed) and a table
of the functions with the most *self* time, aggregated over the whole tree,
which is what says where to optimise.

Usage::

    python benchmarks/profile_engine.py relu:30x30x30x30
    python benchmarks/profile_engine.py linear:6x6x6x6 --flow momentum --tau 1
    python benchmarks/profile_engine.py relu:10x10x10x10 --checker      # profile check_certificate instead
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict


def function_table(session, top: int = 25) -> str:
    root = session.root_frame()
    totals: dict = defaultdict(float)
    inclusive: dict = defaultdict(float)

    def walk(frame, chain):
        if frame.is_synthetic:  # pyinstrument's "[self]" leaves: already in the parent's total_self_time
            return
        key = (frame.function, frame.file_path_short or frame.file_path or "", frame.line_no)
        totals[key] += frame.total_self_time
        if key not in chain:
            inclusive[key] += frame.time
        for child in frame.children:
            walk(child, chain | {key})

    walk(root, frozenset())
    total = root.time or 1.0
    rows = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    lines = [f"{'self s':>8} {'self %':>7} {'incl s':>8}  function (file:line)"]
    for (func, path, line), t in rows:
        lines.append(f"{t:8.2f} {100 * t / total:6.1f}% {inclusive[(func, path, line)]:8.2f}  "
                     f"{func} ({path}:{line})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pyinstrument import Profiler

    # profile this checkout's flowlaws, whatever another checkout may have installed in editable mode
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    import flowlaws as fl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("--flow", default="gradient")
    ap.add_argument("--tau", default=None)
    ap.add_argument("--checker", action="store_true", help="profile check_certificate on the result")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    ap.add_argument("--interval", type=float, default=0.001)
    args = ap.parse_args(argv)

    fl.analyze(fl.models.parse("relu:2x2x1"))  # warm-up: lazy imports outside the profile
    model = fl.models.parse(args.spec)
    tau = None if args.tau is None else args.tau
    prof = Profiler(interval=args.interval)
    t = time.perf_counter()
    if args.checker:
        res = fl.analyze(model, flow=args.flow, tau=tau)
        cert = json.loads(json.dumps(res.certificate))
        t = time.perf_counter()
        prof.start()
        fl.verify.check_certificate(cert)
        prof.stop()
    else:
        prof.start()
        res = fl.analyze(model, flow=args.flow, tau=tau)
        prof.stop()
    seconds = time.perf_counter() - t
    what = "check_certificate" if args.checker else "analyze"
    print(f"# flowlaws from {os.path.dirname(fl.__file__)}")
    print(f"# {what} {args.spec} flow={args.flow}: D={model.dim} dim={res.dim} count={res.count} "
          f"complete={res.complete} {seconds:.2f} s; engine timings {json.dumps({k: round(v, 2) for k, v in res.timings.items()})}")
    if args.tree:
        print(prof.output_text(unicode=True, color=False, show_all=False))
    print(function_table(prof.last_session, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
