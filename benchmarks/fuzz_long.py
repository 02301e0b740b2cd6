"""The long fuzzing profile of the certificate checker (issue 15): 100,000 mutated certificates.

The quick profile is ``tests/fuzz`` (Hypothesis, in CI); this script drives the
same mutators (``tests/fuzz/fuzz_mutations.py``) and soundness oracle
(``tests/fuzz/fuzz_oracle.py``) from seeded :class:`random.Random` choosers, so
mutation ``i`` of a run is reproducible from ``(--seed, i)`` alone. Mutation
``i`` takes base certificate ``i mod 10``; one in ten is a file-level mutation
(the JSON text: repeated keys, deep nesting, huge numbers, Unicode, invalid
UTF-8), written to a file and read by ``flowlaws.load`` and ``flowlaws check``.
The others apply one to three mutations to the certificate object (every field,
type and structure; claims, model, flow, names, primes, words, laws; splices).

Each outcome is one of: accepted with the original's claims; accepted with
other claims that ``flowlaws.analyze`` confirms on the rebuilt model and flow
(called only then, cached by model and flow); rejected (counted per checker
step and per named ``LIMITS`` key); *false acceptance* (accepted, the engine
refutes a claim); *traceback* (any exception but ``CertificateError``, or a
``flowlaws check`` exit status other than 0, 2, 3); *timeout* (a check over
``--timeout`` seconds); *unloadable* (accepted, but ``flowlaws.load`` cannot
rebuild it from the file). The script prints every false acceptance and traceback
in full, and exits 1 if there is any.

Usage::

    python benchmarks/fuzz_long.py                       # 100,000 mutations, 2 processes
    python benchmarks/fuzz_long.py --mutations 2000       # measure the rate first
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import io
import json
import multiprocessing
import os
import platform
import random
import signal
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "fuzz"))

import fuzz_mutations  # noqa: E402
from fuzz_mutations import RandomChooser, mutate, mutate_text  # noqa: E402
from fuzz_oracle import _accepted, build_bases, dumps, judge  # noqa: E402

TEXT_EVERY = 10  # one mutation in TEXT_EVERY is file-level
CHUNK = 500
FINDINGS = ("false", "crash", "timeout", "undecided", "unloadable")


class CheckTimeout(BaseException):
    """Raised by the alarm: not an ``Exception``, so the oracle's ``except Exception`` lets it through."""


def _alarm(signum: int, frame: Any) -> None:
    raise CheckTimeout


_STATE: dict[str, Any] = {}


def _init(timeout: int) -> None:
    fuzz_mutations.HEAVY_WORDS = True  # rare words of depth 7 and 8: the slowest checks within LIMITS
    _STATE["bases"] = build_bases()
    _STATE["names"] = sorted(_STATE["bases"])
    _STATE["texts"] = {k: json.dumps(v) for k, v in _STATE["bases"].items()}
    _STATE["cache"] = {}
    _STATE["timeout"] = timeout
    _STATE["dir"] = tempfile.mkdtemp(prefix="fuzz_long_")
    signal.signal(signal.SIGALRM, _alarm)


def _file_case(name: str, data: bytes) -> dict[str, Any]:
    """A file-level mutant through ``flowlaws.load`` (checker + rebuild) and ``flowlaws check``."""
    import flowlaws as fl
    from flowlaws.cli import main
    from flowlaws.errors import CertificateError, FlowlawsError

    path = os.path.join(_STATE["dir"], "cert.json")
    with open(path, "wb") as fh:
        fh.write(data)
    t = time.perf_counter()
    try:
        res = fl.load(path)
    except CertificateError as err:
        verdict: dict[str, Any] = {"outcome": "rejected", "step": err.step, "limit": None, "detail": str(err)[:300]}
    except FlowlawsError as err:
        verdict = {"outcome": "rejected", "step": type(err).__name__, "limit": None, "detail": str(err)[:300]}
    else:
        verdict = dict(_accepted(_STATE["bases"][name], res.certificate, 0.0, _STATE["cache"]))
    verdict["seconds"] = time.perf_counter() - t
    out, err_stream = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err_stream):
        code = main(["check", path])
    if code not in (0, 2, 3) or "Traceback" in err_stream.getvalue():
        verdict = {"outcome": "crash", "step": None, "limit": None, "seconds": verdict["seconds"],
                   "detail": f"flowlaws check exit {code}: {err_stream.getvalue()[-3000:]}"}
    return verdict


def _one(i: int, seed: int) -> tuple[str, str, dict[str, Any], list[str]]:
    bases, names = _STATE["bases"], _STATE["names"]
    name = names[i % len(names)]
    ch = RandomChooser(random.Random(f"{seed}:{i}"))
    text = (i // len(names)) % TEXT_EVERY == TEXT_EVERY - 1  # every base gets file-level mutations
    done: list[str] = []
    cert_repr = ""
    signal.alarm(_STATE["timeout"])
    try:
        if text:
            data = mutate_text(_STATE["texts"][name], ch)
            done = [f"file-level mutation of {len(data)} bytes"]
            cert_repr = data[:4000].decode("utf-8", "backslashreplace")
            verdict = _file_case(name, data)
        else:
            cert = copy.deepcopy(bases[name])
            done = mutate(cert, ch, n=ch.integer(1, 3), donors=[bases[k] for k in names if k != name])
            cert_repr = dumps(cert)[:4000]
            verdict = dict(judge(bases[name], cert, truth_cache=_STATE["cache"], load=True))
    except CheckTimeout:
        verdict = {"outcome": "timeout", "step": None, "limit": None, "seconds": float(_STATE["timeout"]),
                   "detail": ""}
    except Exception as err:  # noqa: BLE001 - a crash of load/rebuild/oracle is a finding too
        import traceback

        verdict = {"outcome": "crash", "step": None, "limit": None, "seconds": 0.0,
                   "detail": "".join(traceback.format_exception(err))[-4000:]}
    finally:
        signal.alarm(0)
    if verdict["outcome"] in FINDINGS:
        verdict["certificate"] = cert_repr
    return name, "file" if text else "object", verdict, done


def _rebuild(i: int, seed: int) -> tuple[dict, dict] | None:
    """The base and mutated certificate of object-level mutation ``i`` (``None`` for a file-level one)."""
    bases, names = _STATE["bases"], _STATE["names"]
    if (i // len(names)) % TEXT_EVERY == TEXT_EVERY - 1:
        return None
    name = names[i % len(names)]
    ch = RandomChooser(random.Random(f"{seed}:{i}"))
    cert = copy.deepcopy(bases[name])
    mutate(cert, ch, n=ch.integer(1, 3), donors=[bases[k] for k in names if k != name])
    return bases[name], cert


def _bound(row: dict[str, Any], seed: int) -> str:
    """What bounded the time of one check: the limit that rejected it, else the work limit of its
    words' route and how much of it the words used."""
    if row["outcome"] == "rejected" and row["limit"]:
        return f"rejected by LIMITS[{row['limit']!r}]"
    if row["outcome"] not in ("same", "true", "rejected"):
        return row["outcome"]
    from flowlaws.verify.checker import LIMITS
    from flowlaws.verify.checker._network_eval import jet_work

    what = "accepted" if row["outcome"] != "rejected" else f"rejected at step {row['step']} (no limit reached)"
    pair = _rebuild(row["index"], seed)
    if pair is None:
        return f"{what} (file-level)"
    cert = pair[1]
    try:
        jets = cert["generators"]["kind"] == "network-combinations"
        phase = cert["flow"]["name"] != "gradient"
        work = jet_work(cert["rank"]["words"], cert["dim"], phase) * (4 if cert["model"]["kind"] == "graph" else 1)
    except Exception:  # noqa: BLE001 - a malformed field: the schema step bounded it
        return what
    depth = f"words within LIMITS['word_depth'] = {LIMITS['word_depth']}"
    if jets:
        return f"{what}; {depth}, on jets: {work:.2g} units of LIMITS['jet_work'] = {LIMITS['jet_work']:.0e}"
    return f"{what}; {depth}, expanded: within LIMITS['bracket_work'] = {LIMITS['bracket_work']:.0e} term products"


def _chunk(args: tuple[int, int, int]) -> dict[str, Any]:
    start, stop, seed = args
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    steps: collections.Counter = collections.Counter()
    limits: collections.Counter = collections.Counter()
    findings: list[dict[str, Any]] = []
    slowest: list[dict[str, Any]] = []
    for i in range(start, stop):
        name, kind, v, done = _one(i, seed)
        rows[f"{name} | {kind}"][v["outcome"]] += 1
        if v["outcome"] == "rejected":
            steps[v["step"]] += 1
            if v.get("limit"):
                limits[v["limit"]] += 1
        if v["outcome"] in FINDINGS:
            findings.append({"index": i, "base": name, "kind": kind, "mutations": done, **v})
        slowest.append({"index": i, "base": name, "kind": kind, "seconds": v["seconds"], "outcome": v["outcome"],
                        "step": v.get("step"), "limit": v.get("limit"), "mutations": done,
                        "detail": v.get("detail", "")[:300]})
        slowest = sorted(slowest, key=lambda r: -r["seconds"])[:10]
    return {"rows": {k: dict(c) for k, c in rows.items()}, "steps": dict(steps), "limits": dict(limits),
            "findings": findings, "slowest": slowest}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutations", type=int, default=100_000, help="number of mutated certificates")
    ap.add_argument("--seed", type=int, default=0, help="mutation i uses random.Random(f'{seed}:{i}')")
    ap.add_argument("--processes", type=int, default=2, help="worker processes")
    ap.add_argument("--timeout", type=int, default=120, help="seconds before one check counts as a timeout")
    ap.add_argument("--out", default=os.path.join(HERE, "fuzz_long.json"), help="JSON report path")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    jobs = [(s, min(s + CHUNK, args.mutations), args.seed) for s in range(0, args.mutations, CHUNK)]
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    steps: collections.Counter = collections.Counter()
    limits: collections.Counter = collections.Counter()
    findings: list[dict[str, Any]] = []
    slowest: list[dict[str, Any]] = []
    with multiprocessing.get_context("fork").Pool(args.processes, _init, (args.timeout,)) as pool:
        for k, part in enumerate(pool.imap_unordered(_chunk, jobs), 1):
            for key, counts in part["rows"].items():
                rows[key].update(counts)
            steps.update(part["steps"])
            limits.update(part["limits"])
            findings += part["findings"]
            slowest = sorted(slowest + part["slowest"], key=lambda r: -r["seconds"])[:10]
            if k % 20 == 0 or k == len(jobs):
                done = sum(sum(c.values()) for c in rows.values())
                print(f"  {done:7d} mutations, {time.perf_counter() - t0:7.1f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    _init(args.timeout)  # the bases, to explain the slowest checks
    for row in slowest:
        row["bounded_by"] = _bound(row, args.seed)
    outcomes = ("same", "true", "rejected", "false", "crash", "timeout", "undecided", "unloadable")
    total: collections.Counter = collections.Counter()
    print(f"{'base certificate | kind':52s} {'n':>6s} {'same':>6s} {'true':>5s} {'reject':>6s} {'false':>5s} "
          f"{'crash':>5s} {'time':>4s} {'undec':>5s} {'unload':>6s}")
    table = []
    for key in sorted(rows):
        c = rows[key]
        total.update(c)
        n = sum(c.values())
        table.append({"base": key.split(" | ")[0], "kind": key.split(" | ")[1], "mutations": n,
                      **{o: c.get(o, 0) for o in outcomes}})
        print(f"{key:52s} {n:6d} " + " ".join(f"{c.get(o, 0):{w}d}" for o, w in zip(outcomes, (6, 5, 6, 5, 5, 4, 5, 6))))
    n = sum(total.values())
    print(f"{'total':52s} {n:6d} " + " ".join(f"{total.get(o, 0):{w}d}" for o, w in zip(outcomes, (6, 5, 6, 5, 5, 4, 5, 6))))
    print("rejected per step:", dict(steps.most_common()))
    print("rejected per named limit:", dict(limits.most_common()))
    top = slowest[0] if slowest else None
    if top:
        print(f"slowest check: {top['seconds']:.3f} s (mutation {top['index']}, {top['base']}, {top['kind']}, "
              f"{top['outcome']}): {top['mutations']}\n  bounded by: {top['bounded_by']}")
    print(f"wall time: {wall:.1f} s for {n} mutations ({n / wall:.0f}/s) on {args.processes} processes")
    bad = [f for f in findings if f["outcome"] != "undecided"]
    for f in findings:
        print(f"\n{f['outcome'].upper()} (mutation {f['index']}, {f['base']}, {f['kind']}): {f['mutations']}\n"
              f"{f['detail']}\n{f.get('certificate', '')}")
    report = {
        "mutations": n, "seed": args.seed, "processes": args.processes, "wall_seconds": round(wall, 1),
        "totals": {o: total.get(o, 0) for o in outcomes},
        "false_acceptances": total.get("false", 0), "tracebacks": total.get("crash", 0),
        "timeouts": total.get("timeout", 0), "undecided": total.get("undecided", 0),
        "unloadable": total.get("unloadable", 0),
        "per_base": table, "rejected_per_step": dict(steps.most_common()),
        "rejected_per_limit": dict(limits.most_common()),
        "slowest": [{k: (round(v, 4) if k == "seconds" else v) for k, v in r.items()} for r in slowest],
        "findings": findings,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
