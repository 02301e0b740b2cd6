"""Counts that needed more than polynomial laws (issue 16): before and after, measured in one run.

Each case is analysed twice in the same process: with this library as it is, and
with the stages of issue 16 switched off (the time-weighted charges, the rational /
logarithmic laws and the Frobenius identities), which is the degree ladder alone
of the previous version. The table gives the bounds each reaches, the times and their
ratio, and the independent check of the new certificate.

Usage::

    python benchmarks/nonpolynomial_counts.py            # table + benchmarks/nonpolynomial_counts.json
    python benchmarks/nonpolynomial_counts.py --quick    # without the slow baselines
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import flowlaws as fl  # noqa: E402
import flowlaws._analyze as pipeline  # noqa: E402
from flowlaws.verify import check_certificate  # noqa: E402

M = fl.models
CASES = [  # (label, builder, flow, slow baseline)
    ("factorization(1,3,1)", lambda: M.factorization(1, 3, 1), "nesterov", True),
    ("symmetric_factorization(3,3)", lambda: M.symmetric_factorization(3, 3), "nesterov", True),
    ("mlp([1,2,1,3,1], linear)", lambda: M.mlp([1, 2, 1, 3, 1], "linear"), "nesterov", False),
    ("linear:1x3x2x1", lambda: M.parse("linear:1x3x2x1"), "gradient", False),
    ("sym:1x2 (u0/u1)", lambda: M.symmetric_factorization(1, 2), "gradient", False),
    ("sym:1x3", lambda: M.symmetric_factorization(1, 3), "gradient", False),
    ("phi = x0 + x1^2", lambda: M.from_polynomials(["x0 + x1^2"], variables=["x0", "x1"]), "gradient", False),
    ("phi = 3 (constant)", lambda: M.from_polynomials(["3"], variables=["a", "b"]), "gradient", False),
]


def _nothing(*_args, **_kwargs):
    return iter(())


@contextmanager
def _previous_version():
    """The pipeline without the stages of issue 16 (the degree ladder alone)."""
    saved = {k: getattr(pipeline, k) for k in ("time_charges_stage", "darboux_stage", "frobenius_stage")}
    for k in saved:
        setattr(pipeline, k, _nothing)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(pipeline, k, v)


def _timed(model, flow):
    t = time.perf_counter()
    try:
        res = fl.analyze(model, flow=flow)
    except fl.errors.FlowlawsError as err:
        return None, time.perf_counter() - t, str(err).splitlines()[0]
    return res, time.perf_counter() - t, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the baselines that take tens of seconds")
    ap.add_argument("--out", default=os.path.join(HERE, "nonpolynomial_counts.json"), help="JSON report path")
    args = ap.parse_args(argv)
    rows = []
    print(f"{'case':30s} {'flow':9s} {'before':>12s} {'s':>7s} {'after':>12s} {'s':>7s} {'ratio':>7s} {'how':>18s} {'check':>6s}")
    for label, build, flow, slow in CASES:
        res, after_s, _ = _timed(build(), flow)
        before, before_s, before_err = (None, None, "skipped (--quick)")
        if not (args.quick and slow):
            with _previous_version():
                before, before_s, before_err = _timed(build(), flow)
        report = check_certificate(json.loads(json.dumps(res.certificate)))
        how = ("Frobenius" if res.frobenius else "laws") + (f" +{len(res.nonpolynomial_laws)} non-poly"
                                                            if res.nonpolynomial_laws else "")
        row = {
            "case": label, "flow": flow,
            "before": {"bounds": list(before.bounds) if before else None, "complete": bool(before and before.complete),
                       "seconds": before_s, "error": before_err},
            "after": {"bounds": list(res.bounds), "complete": res.complete, "seconds": after_s,
                      "polynomial_laws": len(res.laws), "nonpolynomial_laws": [str(h) for h in res.nonpolynomial_laws],
                      "frobenius": res.frobenius},
            "ratio": (before_s / after_s) if before_s else None,
            "checked": report["proved"]["exact"],
        }
        rows.append(row)
        b = f"{before.bounds}" if before else "-"
        print(f"{label:30s} {flow:9s} {b:>12s} {before_s or 0:7.2f} {str(res.bounds):>12s} {after_s:7.2f} "
              f"{(row['ratio'] or 0):7.1f} {how:>18s} {'ok' if row['checked'] else 'NO':>6s}")
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"rows": rows, "load_average": os.getloadavg()}, fh, indent=1)
    print(f"written {args.out}")
    return 0 if all(r["checked"] and r["after"]["complete"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
