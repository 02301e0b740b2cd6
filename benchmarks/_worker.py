"""Child process of the benchmark harness: times one tool on a list of cases.

Reads a job ``{"tool": ..., "cases": [...], "check": bool}`` as JSON on stdin and
reports progress as JSON lines prefixed with ``@@`` on stdout, so that the parent
(``_harness.py``) can enforce a time limit per case and per phase and recover
what was measured when it has to kill a case.

Timing rule (same for every tool): the first run is timed; when it takes less
than ``REPEAT_BELOW`` seconds the case is repeated (a fresh model each time)
until ``REPEAT_BUDGET`` seconds or ``MAX_RUNS`` runs, and the median is
reported. Imports and a warm-up on a tiny model are outside the timings.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time

REPEAT_BELOW = 0.2
REPEAT_BUDGET = 1.0
MAX_RUNS = 7

HERE = os.path.dirname(os.path.abspath(__file__))
# measure this checkout's flowlaws, whatever another checkout may have installed in editable mode
sys.path[:0] = [os.path.dirname(HERE), HERE]


def emit(event: str, **fields) -> None:
    sys.stdout.write("@@" + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def timed(fn, make_input):
    """Run ``fn(make_input())`` with the repeat rule.

    Returns (median wall seconds, median CPU seconds of this process, runs, last output).
    """
    times, cpu = [], []
    out = None
    while True:
        arg = make_input()
        t, c = time.perf_counter(), time.process_time()
        out = fn(arg)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if times[0] >= REPEAT_BELOW or sum(times) >= REPEAT_BUDGET or len(times) >= MAX_RUNS:
            break
    return statistics.median(times), statistics.median(cpu), len(times), out


def _tool(name: str):
    """``run(model, case) -> dict`` for a tool, plus an optional checker."""
    import flowlaws as fl

    if name == "flowlaws":
        def run(model, case):
            res = fl.analyze(model, flow=case.get("flow", "gradient"), tau=_tau(case))
            text = json.dumps(res.certificate)  # the certificate as the checker will receive it
            return {"dim": res.dim, "count": res.count, "rank": res.rank, "complete": res.complete,
                    "laws": len(res.laws), "certificate": text, "engine_timings": res.timings,
                    "notes": list(res.notes)}

        return run
    if name == "flint":
        import baseline_flint

        def run(model, case):
            return baseline_flint.count(model, flow=case.get("flow", "gradient"), tau=_tau(case) or 1)

        return run
    if name == "sympy":
        import baseline_sympy

        def run(model, case):
            if case.get("flow", "gradient") != "gradient":
                raise ValueError("the SymPy baseline implements gradient flow only")
            return baseline_sympy.count(model)

        return run
    raise ValueError(f"tool={name!r}: expected flowlaws, flint or sympy")


def _tau(case):
    tau = case.get("tau")
    if tau is None or case.get("flow", "gradient") == "gradient":
        return None
    from fractions import Fraction

    return Fraction(str(tau))


def check(text: str) -> dict:
    import flowlaws as fl

    cert = json.loads(text)
    try:
        fl.verify.check_certificate(cert)
    except fl.errors.CertificateError as err:
        # the checker's own size limits (e.g. at most 10**6 paths) raise at step "generators":
        # the certificate is then not verified, which is reported as "refused", not as a wrong proof
        refused = err.step in ("schema", "generators") and "at most" in str(err)
        return {"check_status": "refused" if refused else "failed", "check_step": err.step,
                "check_error": str(err)[:500]}
    return {"check_status": "ok"}


def main() -> int:
    job = json.loads(sys.stdin.read())
    from importlib.metadata import version

    import flowlaws as fl

    run = _tool(job["tool"])
    flows = {c.get("flow", "gradient") for c in job["cases"]}
    warm = [({"spec": "relu:2x2x1", "flow": "gradient"})]
    if "momentum" in flows:
        warm.append({"spec": "linear:1x2x1", "flow": "momentum", "tau": "1"})
    for case in warm:
        out = run(fl.models.parse(case["spec"]), case)
        if job.get("check") and "certificate" in out:
            check(out["certificate"])
    versions = {"python": platform.python_version(), "python-flint": version("python-flint"),
                "sympy": version("sympy"), "flowlaws": fl.__version__, "flowlaws_path": os.path.dirname(fl.__file__)}
    if "sympy" in sys.modules:  # only the SymPy baseline needs it; its speed depends on the ground types
        from sympy.external.gmpy import GROUND_TYPES

        versions["sympy_ground_types"] = GROUND_TYPES
    emit("ready", **{job["tool"]: versions})
    for i, case in enumerate(job["cases"]):
        emit("start", i=i)
        try:
            seconds, cpu, runs, out = timed(lambda m: run(m, case), lambda: fl.models.parse(case["spec"]))
        except Exception as err:  # reported, never hidden
            emit("error", i=i, error=f"{type(err).__name__}: {err}"[:500], rss_mib=rss_mib())
            continue
        cert = out.pop("certificate", None)
        emit("analyzed", i=i, seconds=seconds, cpu_seconds=cpu, runs=runs, rss_mib=rss_mib(), **out)
        if job.get("check") and cert is not None:
            check_seconds, check_cpu, check_runs, ok = timed(check, lambda: cert)
            emit("checked", i=i, check_seconds=check_seconds, check_cpu_seconds=check_cpu, check_runs=check_runs, rss_mib=rss_mib(), **ok)
        emit("done", i=i, rss_mib=rss_mib())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
