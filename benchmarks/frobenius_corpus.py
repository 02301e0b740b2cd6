"""A seeded random corpus of small architectures, run end to end (issue 16).

Draws ``--cases`` architectures (default 1,000) from five families — random
polynomial maps (``from_polynomials``), MLPs (linear / ReLU / leaky ReLU, with
and without bias), ``factorization`` and ``symmetric_factorization``, and small
random DAGs (``from_graph``: skip edges, shared and frozen weights) — each under
one of the gradient, momentum (τ = 1) and Nesterov flows. Every case runs in a
worker process: ``flowlaws.analyze``, then the independent checker
``flowlaws.verify.check_certificate`` (it must accept every certificate: a
``CertificateError`` is a bug), then, on the small explicit cases (D <= 6 under
gradient flow, D <= 3 under the phase flows), an independent SymPy brute force
of the Lie algebra's rank (``_lie_bruteforce.py``, no flowlaws import) whose
count must equal the result's.

Each phase of a case has a time budget (``--timeout`` seconds, SIGALRM in the
worker); a worker that overruns all of them is killed and replaced, and the
case is recorded as ``"timeout"``. A flow that the library refuses for an
architecture (``UnsupportedArchitecture`` / ``InvalidArgument`` from
``analyze``) is recorded as ``"unsupported"``. Ctrl-C stops the workers and
writes what was measured (``"interrupted": true``).

Writes ``benchmarks/frobenius_corpus.json`` (``--out``) and prints a summary
table, the incomplete results grouped by reason, and the slowest cases. Exit
status 1 when the checker rejects a certificate, a count disagrees with the
brute force, or a case raises an unexpected error.

Usage::

    python benchmarks/frobenius_corpus.py                    # 1,000 cases on 2 processes
    python benchmarks/frobenius_corpus.py --quick            # 60 cases (smoke test)
    python benchmarks/frobenius_corpus.py --cases 3000 --seed 7 --processes 4 --timeout 30
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import time
import traceback
from collections import Counter, defaultdict
from multiprocessing.connection import wait

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

FLOWS = ("gradient", "momentum", "nesterov")
FAMILIES = (("poly", 0.30), ("mlp", 0.25), ("factorization", 0.10), ("symmetric_factorization", 0.08), ("dag", 0.27))
ACTIVATIONS = ("linear", "relu", "leaky_relu")
BRUTE_MAX_D = {"gradient": 6, "momentum": 3, "nesterov": 3}
MAX_TASKS_PER_WORKER = 50
HARD_SLACK = 15.0  # seconds beyond the three phase budgets before a worker is killed


# -- the corpus (seeded, plain JSON specs) ----------------------------------------------------
def _poly_case(rng: random.Random) -> dict:
    nvars = rng.randint(2, 4)
    coords = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.02:  # a constant coordinate now and then (constant φ is supported)
            coords.append([[rng.choice([-2, -1, 1, 2, 3]), [0] * nvars]])
            continue
        terms: dict[tuple, int] = {}
        for _ in range(rng.randint(1, 3)):
            deg = rng.randint(1, 3)
            exps = [0] * nvars
            for _ in range(deg):
                exps[rng.randrange(nvars)] += 1
            terms[tuple(exps)] = rng.choice([-3, -2, -1, 1, 1, 1, 2, 3])
        if rng.random() < 0.15:
            terms[(0,) * nvars] = rng.choice([-1, 1, 2])
        coords.append([[c, list(e)] for e, c in sorted(terms.items())])
    if all(len(c) == 1 and not any(c[0][1]) for c in coords):  # keep at least one non-constant coordinate
        coords.append([[1, [1] + [0] * (nvars - 1)]])
    return {"family": "poly", "nvars": nvars, "coords": coords}


def _mlp_case(rng: random.Random) -> dict:
    widths = [rng.randint(1, 3) for _ in range(rng.randint(3, 5))]
    return {"family": "mlp", "widths": widths, "activation": rng.choice(ACTIVATIONS), "bias": rng.random() < 0.4}


def _dag_case(rng: random.Random) -> dict:
    """A random DAG: inputs, hidden nodes in a random order, outputs, maybe a bias node;
    skip edges, shared weights (``param``) and frozen ones (``trainable=False``)."""
    ins = [f"x{i}" for i in range(rng.randint(1, 2))]
    hid = [f"h{i}" for i in range(rng.randint(1, 4))]
    outs = [f"y{i}" for i in range(rng.randint(1, 2))]
    bias = ["b"] if rng.random() < 0.3 else []
    nodes = ([[n, "input", None] for n in ins] + [[n, "bias", None] for n in bias]
             + [[n, "hidden", rng.choice(ACTIVATIONS)] for n in hid] + [[n, "output", None] for n in outs])
    order = ins + bias + hid + outs
    pos = {n: i for i, n in enumerate(order)}
    sources, sinks = set(ins + bias), set(outs)
    edges: set[tuple[str, str]] = set()
    for u in order:
        for v in order:
            if pos[u] < pos[v] and u not in sinks and v not in sources and rng.random() < 0.35:
                edges.add((u, v))
    # repair: every hidden/output node gets an input edge, every source/hidden an output edge
    for v in hid + outs:
        if not any(e[1] == v for e in edges):
            edges.add((rng.choice([u for u in order if pos[u] < pos[v] and u not in sinks]), v))
    for u in ins + bias + hid:
        if not any(e[0] == u for e in edges):
            edges.add((u, rng.choice([v for v in order if pos[v] > pos[u] and v not in sources])))
    edges_l = sorted(edges, key=lambda e: (pos[e[0]], pos[e[1]]))
    while len(edges_l) > 12:  # keep D small: drop surplus skip edges that the repair does not need
        cand = [e for e in edges_l if sum(1 for f in edges_l if f[1] == e[1]) > 1
                and sum(1 for f in edges_l if f[0] == e[0]) > 1]
        if not cand:
            break
        edges_l.remove(rng.choice(cand))
    attrs = [{"param": f"w{k}"} for k in range(len(edges_l))]
    if len(edges_l) >= 3 and rng.random() < 0.35:  # share one weight between two edges
        i, j = rng.sample(range(len(edges_l)), 2)
        attrs[j] = {"param": attrs[i]["param"]}
    if len(edges_l) >= 2 and rng.random() < 0.3:  # freeze one weight to an exact integer
        k = rng.randrange(len(edges_l))
        if sum(1 for a in attrs if a.get("param") == attrs[k].get("param")) == 1:
            attrs[k] = {"trainable": False, "value": rng.choice([-1, 0, 1, 2])}
    if not any("param" in a for a in attrs):
        attrs[0] = {"param": "w0"}
    return {"family": "dag", "nodes": nodes, "edges": [[u, v, a] for (u, v), a in zip(edges_l, attrs)]}


def draw_case(rng: random.Random) -> dict:
    fam = rng.choices([f for f, _ in FAMILIES], weights=[w for _, w in FAMILIES])[0]
    if fam == "poly":
        spec = _poly_case(rng)
    elif fam == "mlp":
        spec = _mlp_case(rng)
    elif fam == "factorization":
        spec = {"family": fam, "n": rng.randint(1, 3), "r": rng.randint(1, 3), "m": rng.randint(1, 3)}
    elif fam == "symmetric_factorization":
        spec = {"family": fam, "n": rng.randint(1, 3), "r": rng.randint(1, 3)}
    else:
        spec = _dag_case(rng)
    return {"spec": spec, "flow": rng.choice(FLOWS)}


def make_corpus(n: int, seed: int) -> list[dict]:
    """``n`` distinct (architecture, flow) cases; a repeat is redrawn (up to 50 times)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    cases = []
    while len(cases) < n:
        for _ in range(50):
            case = draw_case(rng)
            key = json.dumps(case, sort_keys=True)
            if key not in seen:
                break
        seen.add(key)
        case["id"] = len(cases)
        case["description"] = describe(case["spec"])
        cases.append(case)
    return cases


def describe(spec: dict) -> str:
    fam = spec["family"]
    if fam == "poly":
        names = [f"x{i}" for i in range(spec["nvars"])]

        def mono(c, e):
            m = "*".join(f"{x}^{k}" if k > 1 else x for x, k in zip(names, e) if k)
            return str(c) if not m else m if c == 1 else f"-{m}" if c == -1 else f"{c}*{m}"

        return "phi=[" + ", ".join(" + ".join(mono(c, e) for c, e in co).replace("+ -", "- ") for co in spec["coords"]) + "]"
    if fam == "mlp":
        act = {"leaky_relu": "leaky"}.get(spec["activation"], spec["activation"])
        return f"{act}{'+bias' if spec['bias'] else ''}:{'x'.join(map(str, spec['widths']))}"
    if fam == "factorization":
        return f"factorization({spec['n']},{spec['r']},{spec['m']})"
    if fam == "symmetric_factorization":
        return f"symmetric_factorization({spec['n']},{spec['r']})"
    acts = {n: a for n, k, a in spec["nodes"] if k == "hidden"}
    short = {"linear": "lin", "relu": "relu", "leaky_relu": "leaky"}
    parts = []
    for u, v, a in spec["edges"]:
        w = a["param"] if "param" in a else f"={a['value']}"
        parts.append(f"{u}->{v}[{w}]")
    return "dag{" + " ".join(f"{n}:{short[a]}" for n, a in acts.items()) + " | " + " ".join(parts) + "}"


# -- the worker -------------------------------------------------------------------------------
class PhaseTimeout(BaseException):
    """Raised by SIGALRM inside a worker (a BaseException: no ``except Exception`` swallows it)."""


def _on_alarm(signum, frame):
    raise PhaseTimeout


def build_model(spec: dict):
    import flowlaws as fl

    fam = spec["family"]
    if fam == "poly":
        names = [f"x{i}" for i in range(spec["nvars"])]
        coords = [{tuple(e): c for c, e in co} for co in spec["coords"]]
        return fl.models.from_polynomials(coords, variables=names)
    if fam == "mlp":
        return fl.models.mlp(spec["widths"], spec["activation"], bias=spec["bias"])
    if fam == "factorization":
        return fl.models.factorization(spec["n"], spec["r"], spec["m"])
    if fam == "symmetric_factorization":
        return fl.models.symmetric_factorization(spec["n"], spec["r"])
    import networkx as nx

    G = nx.DiGraph()
    for n, kind, act in spec["nodes"]:
        G.add_node(n, kind=kind, **({"activation": act} if act else {}))
    for u, v, a in spec["edges"]:
        G.add_edge(u, v, **a)
    return fl.models.from_graph(G)


def _timed(budget: float, fn, *args, **kwargs):
    signal.setitimer(signal.ITIMER_REAL, budget)
    t = time.perf_counter()
    try:
        return fn(*args, **kwargs), time.perf_counter() - t
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def run_case(case: dict, timeout: float) -> dict:
    """Analyse, check and brute-force one case; always returns a JSON-ready record."""
    import flowlaws as fl
    from flowlaws.errors import CertificateError, InvalidArgument, UnsupportedArchitecture
    from flowlaws.verify import check_certificate

    spec, flow = case["spec"], case["flow"]
    rec = {"id": case["id"], "family": spec["family"], "flow": flow, "description": case["description"], "spec": spec}
    try:
        model = build_model(spec)
    except Exception as err:  # a generator bug or a library refusal of a valid graph: report it
        rec.update(status="error", error=f"model: {type(err).__name__}: {err}")
        return rec
    rec["D"] = model.dim
    try:
        res, rec["analysis_seconds"] = _timed(timeout, fl.analyze, model, flow=flow, **({"tau": 1} if flow == "momentum" else {}))
    except PhaseTimeout:
        rec.update(status="timeout", analysis_seconds=timeout)
        return rec
    except (UnsupportedArchitecture, InvalidArgument) as err:
        rec.update(status="unsupported", reason=f"{type(err).__name__}: {err}")
        return rec
    except Exception as err:
        rec.update(status="error", error=f"analyze: {type(err).__name__}: {err}", traceback=traceback.format_exc()[-3000:])
        return rec
    rec.update(status="ok", dim=res.dim, rank=res.rank, count=res.count, bounds=list(res.bounds),
               complete=res.complete, frobenius=res.frobenius, laws=len(res.laws))
    nonpoly = list(getattr(res, "nonpolynomial_laws", []))  # rational / logarithmic laws, when listed
    rec["nonpolynomial_laws"] = len(nonpoly)
    if nonpoly:
        rec["nonpolynomial"] = [str(law) for law in nonpoly[:6]]
    rec["analysis_seconds"] = round(rec["analysis_seconds"], 4)
    if not res.complete:
        rec["notes"] = list(res.notes)
    try:
        report, secs = _timed(timeout, check_certificate, res.certificate)
        rec["check_seconds"] = round(secs, 4)
        proved = report.get("proved", {})
        agrees = (proved.get("exact") == res.complete and bool(report.get("frobenius")) == bool(res.frobenius)
                  and [proved.get("lower_bound"), proved.get("upper_bound")] == list(res.bounds))
        rec["checker"] = "accepted" if agrees else "accepted, other claim"
        if not agrees:
            rec["checker_report"] = {k: report.get(k) for k in ("proved", "frobenius", "count", "laws", "complete")}
    except PhaseTimeout:
        rec.update(checker="timeout", check_seconds=timeout)
    except CertificateError as err:
        rec.update(checker="rejected", checker_error=str(err))
    except Exception as err:
        rec.update(checker="error", checker_error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-3000:])
    if model.dim <= BRUTE_MAX_D[flow]:
        from _lie_bruteforce import lie_count

        try:
            bf, _ = _timed(timeout, lie_count, spec, flow, seconds=timeout / 2, seed=case["id"])
            rec["brute_force"] = bf
            if bf["dim"] != res.dim:
                rec["agreement"] = "disagree"  # not even the same phase space
            elif bf["count"] == res.count:
                rec["agreement"] = "agree"
            elif not res.complete and res.bounds[0] <= bf["count"] <= res.bounds[1]:
                rec["agreement"] = "within bounds"  # bounds only: the count is not claimed
            elif not bf["exact"] and bf["count"] > res.count:
                rec["agreement"] = "inconclusive"  # depth cap: the brute force's rank is only a lower bound
            else:
                rec["agreement"] = "disagree"
        except PhaseTimeout:
            rec["brute_force"], rec["agreement"] = {"status": "timeout"}, "brute-force timeout"
        except Exception as err:
            rec["brute_force"] = {"status": "error", "error": f"{type(err).__name__}: {err}"}
            rec["agreement"] = "brute-force error"
    return rec


def _worker(conn, timeout: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.signal(signal.SIGALRM, _on_alarm)
    import flowlaws  # noqa: F401  (imports outside the timings)

    for _ in range(MAX_TASKS_PER_WORKER):
        try:
            case = conn.recv()
        except EOFError:
            return
        if case is None:
            return
        conn.send(run_case(case, timeout))


# -- the scheduler ----------------------------------------------------------------------------
class Pool:
    """Worker processes fed one case at a time; a worker past its deadline is killed and replaced,
    and a worker is recycled after ``MAX_TASKS_PER_WORKER`` cases (like ``maxtasksperchild``)."""

    def __init__(self, processes: int, timeout: float):
        self.ctx = mp.get_context("fork")
        self.timeout = timeout
        self.slots = [self._spawn() for _ in range(processes)]

    def _spawn(self) -> dict:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.timeout), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "case": None, "started": 0.0, "tasks": 0}

    def _replace(self, i: int, kill: bool) -> None:
        slot = self.slots[i]
        if kill and slot["proc"].is_alive():
            os.kill(slot["proc"].pid, signal.SIGKILL)
        slot["proc"].join(5)
        slot["conn"].close()
        self.slots[i] = self._spawn()

    def run(self, cases: list[dict], on_result) -> None:
        todo = list(reversed(cases))
        deadline = 3 * self.timeout + HARD_SLACK
        while todo or any(s["case"] is not None for s in self.slots):
            for i, slot in enumerate(self.slots):
                if slot["case"] is None and todo:
                    if slot["tasks"] >= MAX_TASKS_PER_WORKER or not slot["proc"].is_alive():
                        self._replace(i, kill=False)
                        slot = self.slots[i]
                    slot["case"], slot["started"] = todo.pop(), time.monotonic()
                    slot["conn"].send(slot["case"])
                    slot["tasks"] += 1
            busy = [s["conn"] for s in self.slots if s["case"] is not None]
            for conn in wait(busy, timeout=1.0):
                i = next(k for k, s in enumerate(self.slots) if s["conn"] is conn)
                slot = self.slots[i]
                try:
                    rec = conn.recv()
                except (EOFError, OSError):  # the worker died (out of memory, a crash in C code)
                    case = slot["case"]
                    rec = {"id": case["id"], "family": case["spec"]["family"], "flow": case["flow"],
                           "description": case["description"], "spec": case["spec"], "status": "error",
                           "error": f"worker died (exit code {slot['proc'].exitcode})"}
                    slot["case"] = None
                    self._replace(i, kill=True)
                    on_result(rec)
                    continue
                slot["case"] = None
                on_result(rec)
            now = time.monotonic()
            for i, slot in enumerate(self.slots):
                case = slot["case"]
                if case is not None and now - slot["started"] > deadline:
                    on_result({"id": case["id"], "family": case["spec"]["family"], "flow": case["flow"],
                               "description": case["description"], "spec": case["spec"], "status": "timeout",
                               "error": f"worker killed after {now - slot['started']:.0f} s (a phase ignored SIGALRM)"})
                    slot["case"] = None
                    self._replace(i, kill=True)

    def close(self) -> None:
        for slot in self.slots:
            if slot["proc"].is_alive():
                if slot["case"] is None:
                    try:
                        slot["conn"].send(None)
                    except OSError:
                        pass
                    slot["proc"].join(2)
                if slot["proc"].is_alive():
                    os.kill(slot["proc"].pid, signal.SIGKILL)
                    slot["proc"].join(5)
            slot["conn"].close()


# -- the report -------------------------------------------------------------------------------
def _reason(rec: dict) -> str:
    notes = rec.get("notes") or ["(no note)"]
    text = " / ".join(notes)
    for digit in "0123456789":  # group reasons that differ only by their figures
        text = text.replace(digit, "#")
    while "##" in text:
        text = text.replace("##", "#")
    return text[:300]


def summarize(records: list[dict]) -> dict:
    ok = [r for r in records if r["status"] == "ok"]
    totals = {
        "cases": len(records),
        "analysed": len(ok),
        "complete": sum(r["complete"] for r in ok),
        "complete_by_frobenius": sum(r["complete"] and r["frobenius"] for r in ok),
        "complete_by_frobenius_with_missing_laws": sum(r["complete"] and r["frobenius"] and r["laws"] < r["count"] for r in ok),
        "complete_with_nonpolynomial_laws": sum(r["complete"] and r.get("nonpolynomial_laws", 0) > 0 for r in ok),
        "complete_by_polynomial_laws_only": sum(r["complete"] and not r["frobenius"] and not r.get("nonpolynomial_laws")
                                                for r in ok),
        "incomplete": sum(not r["complete"] for r in ok),
        "timeouts": sum(r["status"] == "timeout" for r in records),
        "unsupported": sum(r["status"] == "unsupported" for r in records),
        "errors": sum(r["status"] == "error" for r in records),
        "checker_accepted": sum(r.get("checker") == "accepted" for r in ok),
        "checker_rejected": sum(r.get("checker") == "rejected" for r in ok),
        "checker_other": sum(r.get("checker") not in ("accepted", "rejected") for r in ok),
        "brute_force_cases": sum("agreement" in r for r in ok),
        "brute_force_agree": sum(r.get("agreement") == "agree" for r in ok),
        "brute_force_disagree": sum(r.get("agreement") == "disagree" for r in ok),
        "brute_force_agree_exact": sum(r.get("agreement") == "agree" and r["brute_force"]["exact"] for r in ok),
        "brute_force_within_bounds": sum(r.get("agreement") == "within bounds" for r in ok),
        "brute_force_inconclusive": sum(r.get("agreement") == "inconclusive" for r in ok),
        "brute_force_not_run": sum(r.get("agreement", "").startswith("brute-force") for r in ok),
    }
    reasons = Counter(_reason(r) for r in ok if not r["complete"])
    totals["incomplete_reasons"] = [{"reason": k, "cases": v} for k, v in reasons.most_common()]
    totals["unsupported_reasons"] = [{"reason": k, "cases": v} for k, v in Counter(
        r["reason"].split(":")[0] + ": " + r["reason"].split(":", 1)[1][:120] for r in records
        if r["status"] == "unsupported").most_common()]
    return totals


def table(records: list[dict]) -> list[str]:
    groups: dict[tuple, list] = defaultdict(list)
    for r in records:
        groups[(r["family"], r["flow"])].append(r)
    head = (f"{'family':24s} {'flow':9s} {'cases':>5s} {'compl':>5s} {'frob':>4s} {'nonp':>4s} {'incmp':>5s} {'t/o':>3s} "
            f"{'unsup':>5s} {'err':>3s} {'rej':>3s} {'bf ok':>5s} {'bf ≠':>4s} {'med s':>6s} {'max s':>6s}")
    lines = [head, "-" * len(head)]
    for (fam, flow), rs in sorted(groups.items()):
        ok = [r for r in rs if r["status"] == "ok"]
        secs = [r["analysis_seconds"] for r in ok] or [0.0]
        lines.append(
            f"{fam:24s} {flow:9s} {len(rs):5d} {sum(r['complete'] for r in ok):5d} "
            f"{sum(r['complete'] and r['frobenius'] for r in ok):4d} "
            f"{sum(r['complete'] and r.get('nonpolynomial_laws', 0) > 0 for r in ok):4d} {sum(not r['complete'] for r in ok):5d} "
            f"{sum(r['status'] == 'timeout' for r in rs):3d} {sum(r['status'] == 'unsupported' for r in rs):5d} "
            f"{sum(r['status'] == 'error' for r in rs):3d} {sum(r.get('checker') == 'rejected' for r in ok):3d} "
            f"{sum(r.get('agreement') == 'agree' for r in ok):5d} {sum(r.get('agreement') == 'disagree' for r in ok):4d} "
            f"{statistics.median(secs):6.3f} {max(secs):6.2f}")
    return lines


def _case_line(r: dict) -> str:
    got = (f"D={r.get('D')} dim={r.get('dim')} count={r.get('count')} bounds={r.get('bounds')} "
           f"laws={r.get('laws')}+{r.get('nonpolynomial_laws', 0)}" if r["status"] == "ok" else r["status"])
    return f"  #{r['id']} {r['family']} / {r['flow']}: {r['description']} -> {got}"


def _flagged(r: dict) -> bool:
    return (r["status"] != "ok" or not r["complete"] or r.get("checker") != "accepted"
            or r.get("agreement") not in (None, "agree"))


def write_report(report: dict, path: str) -> None:
    """The report as JSON, one case per line; a case keeps its ``spec`` only when it is flagged
    (not ok, incomplete, not accepted, not agreeing): the others are redrawn from the seed
    (``make_corpus``) and read from their ``description``."""
    cases = [r if _flagged(r) else {k: v for k, v in r.items() if k != "spec"} for r in report["cases"]]
    head = json.dumps({k: v for k, v in report.items() if k != "cases"}, indent=1)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head[:-2] + ',\n "cases": [\n')
        fh.write(",\n".join("  " + json.dumps(r, sort_keys=False) for r in cases))
        fh.write("\n ]\n}\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=None, help="number of cases (default 1000; 60 with --quick)")
    ap.add_argument("--seed", type=int, default=16, help="seed of the corpus")
    ap.add_argument("--processes", type=int, default=2, help="worker processes")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per phase of a case (analysis, check, brute force)")
    ap.add_argument("--quick", action="store_true", help="60 cases (the smoke test)")
    ap.add_argument("--out", default=os.path.join(HERE, "frobenius_corpus.json"), help="JSON report path")
    args = ap.parse_args(argv)
    n = args.cases if args.cases is not None else (60 if args.quick else 1000)
    if n < 1 or args.processes < 1 or not args.timeout > 0:
        ap.error(f"--cases={n}, --processes={args.processes}, --timeout={args.timeout}: all must be positive")
    cases = make_corpus(n, args.seed)
    records: list[dict] = []
    t0 = time.perf_counter()
    interrupted = False
    # Ctrl-C (even when started in the background, where SIGINT is inherited as ignored) and
    # SIGTERM stop the run cleanly: the workers ignore SIGINT and are stopped here
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    pool = Pool(args.processes, args.timeout)

    def on_result(rec: dict) -> None:
        records.append(rec)
        bad = (rec["status"] == "error" or rec.get("checker") not in (None, "accepted")
               or rec.get("agreement") in ("disagree", "inconclusive"))
        if bad:
            print(f"!! case #{rec['id']}:", json.dumps(rec, indent=1), flush=True)
        if len(records) % 50 == 0 or len(records) == n:
            print(f"[{len(records)}/{n}] {time.perf_counter() - t0:.0f} s", flush=True)

    print(f"frobenius corpus: {n} cases, seed {args.seed}, {args.processes} processes, {args.timeout:g} s per phase",
          flush=True)
    try:
        pool.run(cases, on_result)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted: {len(records)} of {n} cases done; stopping the workers", flush=True)
    finally:
        pool.close()
    wall = time.perf_counter() - t0
    records.sort(key=lambda r: r["id"])
    totals = summarize(records)
    from run import engine_fingerprint

    report = {
        "settings": {"cases": n, "seed": args.seed, "processes": args.processes, "timeout": args.timeout,
                     "quick": args.quick, "brute_force_max_D": BRUTE_MAX_D, "families": dict(FAMILIES)},
        "engine_sha256_16": engine_fingerprint(), "wall_seconds": round(wall, 1),
        "load_average": os.getloadavg(), "interrupted": interrupted, "totals": totals, "cases": records,
    }
    write_report(report, args.out)
    print()
    print("\n".join(table(records)))
    print()
    for key, value in totals.items():
        if not isinstance(value, list):
            print(f"{key:42s} {value}")
    if totals["incomplete_reasons"]:
        print("\nincomplete, by reason:")
        for item in totals["incomplete_reasons"]:
            print(f"  {item['cases']:4d}  {item['reason']}")
        for r in records:
            if r["status"] == "ok" and not r["complete"]:
                print(_case_line(r))
    if totals["unsupported_reasons"]:
        print("\nunsupported, by reason:")
        for item in totals["unsupported_reasons"]:
            print(f"  {item['cases']:4d}  {item['reason']}")
    timeouts = [r for r in records if r["status"] == "timeout"]
    if timeouts:
        print("\ntimeouts:")
        for r in timeouts:
            print(_case_line(r))
    slow = sorted((r for r in records if r["status"] == "ok"), key=lambda r: -r["analysis_seconds"])[:10]
    print("\nslowest analyses:")
    for r in slow:
        print(f"{_case_line(r)}  analysis {r['analysis_seconds']:.2f} s, check {r.get('check_seconds', 0):.2f} s")
    print(f"\nwall time {wall:.1f} s; report written to {os.path.relpath(args.out)}")
    failed = totals["checker_rejected"] or totals["brute_force_disagree"] or totals["errors"] or totals["checker_other"]
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
