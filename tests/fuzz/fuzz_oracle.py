"""The soundness oracle of the fuzzing suite: is an accepted mutated certificate's claim true?

:func:`judge` runs the independent checker on a mutated certificate and sorts
the outcome into

* ``"rejected"``: a :class:`~flowlaws.errors.CertificateError` (its ``step``
  and, when the message names one, the ``LIMITS`` key are kept);
* ``"same"``: accepted, and every claim equals the original's (:func:`claims`:
  count, bounds, complete, model, flow with ``tau`` and metric, dim, variables);
* ``"true"``: accepted with other claims that are true anyway: the engine
  (``flowlaws.analyze``, not the checker) recomputes the model and flow rebuilt
  from the certificate the way ``flowlaws.load`` rebuilds them, and the claimed
  ``lower <= count <= upper`` must hold for the engine's proved bounds; names of
  a network's parameters must name their positions (:func:`names_problem`);
* ``"false"``: accepted with a claim the engine refutes — a false acceptance;
* ``"undecided"``: accepted with other claims the engine could not recompute
  within its budget (counted apart, never silently as true);
* ``"crash"``: any other exception (a traceback);
* ``"unloadable"`` (with ``load=True``): accepted, but ``flowlaws.load`` cannot rebuild it.

Examples
--------
>>> claims({"count": 1, "bounds": {"lower": 1, "upper": 1}, "complete": True, "dim": 2,
...         "model": {"kind": "polynomials"}, "flow": {"name": "gradient"}, "variables": ["x", "y"]})["count"]
1
"""

from __future__ import annotations

import json
import re
import time
import traceback
from fractions import Fraction
from typing import Any

from flowlaws.verify.checker import LIMITS

__all__ = ["BASES", "build_bases", "dumps", "limit_of", "claims", "names_problem", "truth", "judge", "Verdict"]

#: The valid certificates the fuzzers mutate: name -> (builder, options of ``flowlaws.analyze``).
BASES: dict[str, tuple[str, dict[str, Any]]] = {
    "relu:2x3x2 gradient": ("relu:2x3x2", {}),
    "linear:2x3x2 gradient": ("linear:2x3x2", {}),
    "linear:2x2x2 momentum": ("linear:2x2x2", {"flow": "momentum", "tau": "1/2"}),
    "relu:2x2x1 nesterov": ("relu:2x2x1", {"flow": "nesterov"}),
    "factorization:2x2x2 gradient": ("factorization", {}),
    "xyz gradient": ("xyz", {}),
    "xyz momentum tau=0": ("xyz", {"flow": "momentum", "tau": 0}),
    "resnet_block(2,3) gradient": ("resnet_block", {}),
    "nmf:2x2x2 gradient": ("nmf", {}),
    "xy,yz matrix metric": ("xy,yz", {"metric": [["1+x^2", "0", "0"], ["0", "1", "0"], ["0", "0", "2"]]}),
    "sym:1x3 rational laws": ("sym13", {}),  # log_laws: U[0,0]/U[0,1], U[0,0]/U[0,2]
    "corpus 909 frobenius": ("c909", {}),  # frobenius identities, 1 of 2 laws listed
    "relu+bias:2x3x2 triangular": ("relu+bias:2x3x2", {"rank_proof": "triangular"}),  # paths and pivots
}


def build_bases() -> dict[str, dict]:
    """The certificates of :data:`BASES`, written by ``flowlaws.analyze`` and round-tripped through JSON."""
    import flowlaws as fl

    models = {
        "factorization": lambda: fl.models.factorization(2, 2, 2),
        "xyz": lambda: fl.models.from_polynomials(["x*y*z"], variables=["x", "y", "z"]),
        "resnet_block": lambda: fl.models.resnet_block(2, 3),
        "nmf": lambda: fl.models.nmf(2, 2, 2),
        "xy,yz": lambda: fl.models.from_polynomials(["x*y", "y*z"], variables=["x", "y", "z"]),
        "sym13": lambda: fl.models.symmetric_factorization(1, 3),
        "c909": lambda: fl.models.from_polynomials(["3*x1 + 2*x0*x2 + 3*x0*x1"], variables=["x0", "x1", "x2"]),
    }
    out = {}
    for name, (spec, options) in BASES.items():
        model = models[spec]() if spec in models else fl.models.parse(spec)
        out[name] = json.loads(json.dumps(fl.analyze(model, **options).certificate))
    return out

# which LIMITS key a rejection names (the checker's messages give the value, some the key itself)
_LIMITS_BY_MESSAGE = [
    (r"LIMITS\[['\"](\w+)['\"]\]", None),
    (r"word nested deeper than", "word_depth"),
    (r"nodes in total", "word_nodes"),
    (r"polynomial terms in total", "terms_total"),
    (r"coefficient with \d+ digits, more than|frozen weight of \d+ characters, more than", "coefficient_digits"),
    (r"\(exponent\)=\S+: must be <=", "exponent"),
    (r"paths; the checker expands at most", "paths"),
    (r"parameters, more than the checker's limit|^\[schema\] (dim|\S+\.size|\S+\.layers\[\d+\])=\S+: must be <=", "dim"),
    (r"^\[schema\] rank\.words: \d+ entries, more than the checker's limit", "words"),
    (r"^\[schema\] laws: \d+ entries, more than the checker's limit", "laws"),
    (r"\.(phi|entries): \d+ entries, more than the checker's limit", "phi"),
    (r"\.layers: \d+ entries, more than the checker's limit", "layers"),
    (r"\.nodes: \d+ entries, more than the checker's limit", "graph_nodes"),
    (r"\.edges: \d+ entries, more than the checker's limit", "graph_edges"),
    (rf"entries, more than the checker's limit {LIMITS['terms_per_poly']}$", "terms_per_poly"),
]


def limit_of(message: str) -> str | None:
    """The ``LIMITS`` key a rejection message names, or ``None`` (a rejection on the merits).

    >>> limit_of("[schema] rank.words[0][1]: word nested deeper than 8 brackets")
    'word_depth'
    >>> limit_of("[rank] ... more than LIMITS['jet_work']=1e+09 ...")
    'jet_work'
    """
    for pattern, key in _LIMITS_BY_MESSAGE:
        m = re.search(pattern, message)
        if m:
            return key or m[1]
    return None


def _shrink(value: Any) -> Any:
    """``value`` with ints past Python's int-to-str limit replaced by a description (so it can be dumped)."""
    if isinstance(value, dict):
        return {k: _shrink(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrink(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return f"<int of {value.bit_length()} bits>"
    return value


def dumps(value: Any) -> str:
    """``json.dumps`` of any mutated certificate (huge ints described, NaN kept as NaN)."""
    return json.dumps(_shrink(value), sort_keys=True)


def _canon(value: Any) -> str:
    return dumps(value)


def _flow_canon(flow: Any) -> str:
    """The flow as the checker reads it: ``tau`` as a Fraction, the euclidean metric implied."""
    if not isinstance(flow, dict):
        return _canon(flow)
    out = dict(flow)
    if out.get("metric") == "euclidean":
        del out["metric"]
    if "tau" in out:
        out["tau"] = str(Fraction(out["tau"]))
    return _canon(out)


def claims(cert: dict) -> dict[str, Any]:
    """What an accepted certificate claims and ``flowlaws.load`` would show."""
    bounds = cert.get("bounds", {})
    return {
        "count": cert.get("count"),
        "lower": bounds.get("lower"),
        "upper": bounds.get("upper"),
        "complete": cert.get("complete"),
        "dim": cert.get("dim"),
        "model": _canon(cert.get("model")),
        "flow": _flow_canon(cert.get("flow")),
        "variables": list(cert.get("variables", [])),
    }


_INDEXED = re.compile(r"^([^\[\]]+)\[(\d+(?:,\d+)*)\]$")


def names_problem(cert: dict) -> str | None:
    """Why the variable names of an accepted ``network`` certificate misname positions, or ``None``.

    A layered network's parameter at a position is entry ``(i, j)`` of the
    weights of layer ``l`` (row-major), or entry ``i`` of its bias. Its name
    must say so: ``BASE[i,j]`` (or ``BASE[j,i]`` throughout a transposed
    block), one base per block, distinct across blocks, ``W<k>``/``b<k>`` only
    on layer ``k``. For phase flows, velocities are the names primed.
    """
    model = cert["model"]
    names = list(cert["variables"])
    phase = cert["flow"]["name"] != "gradient"
    D = (cert["dim"] - 1) // 2 if phase else cert["dim"]
    params = names[1 : D + 1] if phase else names
    if phase and names[D + 1 :] != [n + "'" for n in params]:
        return "velocity names are not the parameter names primed"
    if model.get("kind") != "network":
        return None
    layers, bias = model["layers"], model["bias"]
    blocks = []
    pos = 0
    for l in range(1, len(layers)):
        rows, cols = layers[l], layers[l - 1]
        blocks.append(("W", l, [(i, j) for i in range(rows) for j in range(cols)], pos))
        pos += rows * cols
        if bias:
            blocks.append(("b", l, [(i,) for i in range(rows)], pos))
            pos += rows
    bases = set()
    for kind, l, entries, start in blocks:
        parsed = [_INDEXED.match(n) for n in params[start : start + len(entries)]]
        if not all(parsed):
            return f"a name of block {kind}{l} is not BASE[index]"
        base = {m[1] for m in parsed if m}
        if len(base) != 1:
            return f"block {kind}{l} has several bases {sorted(base)}"
        (b,) = base
        if b in bases:
            return f"base {b!r} names two blocks"
        bases.add(b)
        if re.fullmatch(r"[Wb]\d+", b) and b != f"{kind}{l}":
            return f"base {b!r} on block {kind}{l}"
        idx = [tuple(int(x) for x in m[2].split(",")) for m in parsed if m]
        if idx != entries and idx != [e[::-1] for e in entries]:
            return f"the indices of block {kind}{l} do not follow the positions"
    return None


def truth(cert: dict, *, max_dim: int = 60) -> tuple[int, int] | None:
    """The engine's proved ``(lower, upper)`` for the model and flow of ``cert``, or ``None`` (out of budget).

    The model and flow are rebuilt as :func:`flowlaws.load` rebuilds them;
    ``flowlaws.analyze`` recomputes the bounds (its own algebra, not the checker).
    """
    import flowlaws as fl
    from flowlaws._load import _flow, _model, describe_model
    from flowlaws.errors import FlowlawsError

    names = [str(v) for v in cert["variables"]]
    phase = cert["flow"]["name"] != "gradient"
    params = names[1 : (cert["dim"] - 1) // 2 + 1] if phase else names
    if len(params) > max_dim:
        return None
    model_json = cert["model"]
    if model_json["kind"] == "polynomials" and not any(
        int(c) for coord in model_json["phi"] for c, _ in coord if str(c).lstrip("-").isdigit()
    ):  # phi = 0: every field is zero, so every function is a law (momentum: all but the drift's direction)
        n = cert["dim"] - (1 if phase else 0)
        return n, n
    try:
        model = _model(cert, params, describe_model(cert["model"], params))
        flow = _flow(cert["flow"], model)
        model.metric = flow.metric
        res = fl.analyze(model, flow=flow, max_dim=max_dim)
    except FlowlawsError:
        return None
    return len(res.laws), res.count


class Verdict(dict):
    """``{"outcome", "step", "limit", "seconds", "detail"}`` of one mutated certificate."""


def _load_problem(cert: dict) -> str | None:
    """Why ``flowlaws.load`` cannot rebuild a result from an accepted certificate, or ``None``."""
    import os
    import tempfile

    import flowlaws as fl

    try:
        text = json.dumps(cert)
    except ValueError:  # an int past Python's int-to-str limit, or NaN: no JSON file holds it
        return None
    fd, path = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        res = fl.load(path)
        if res.count != cert["count"] or len(res.laws) != len(cert["laws"]):
            return f"load shows count {res.count} and {len(res.laws)} laws"
    except Exception as err:  # noqa: BLE001 - any failure to rebuild an accepted certificate is a finding
        return "".join(traceback.format_exception(err))[-3000:]
    finally:
        os.unlink(path)
    return None


def judge(original: dict, cert: Any, *, truth_cache: dict[str, Any] | None = None, load: bool = False) -> Verdict:
    """Check ``cert`` (a mutation of ``original``) and sort the outcome (module docstring).

    With ``load``, an accepted certificate is also written to a file and read back by
    ``flowlaws.load``; a failure is the outcome ``"unloadable"``.
    """
    from flowlaws.errors import CertificateError
    from flowlaws.verify import check_certificate

    t = time.perf_counter()
    try:
        check_certificate(cert)
    except CertificateError as err:
        return Verdict(outcome="rejected", step=err.step, limit=limit_of(str(err)),
                       seconds=time.perf_counter() - t, detail=str(err)[:300])
    except Exception as err:  # noqa: BLE001 - a traceback is what the fuzzer looks for
        return Verdict(outcome="crash", step=None, limit=None, seconds=time.perf_counter() - t,
                       detail="".join(traceback.format_exception(err))[-4000:])
    seconds = time.perf_counter() - t
    verdict = _accepted(original, cert, seconds, truth_cache)
    if load and verdict["outcome"] in ("same", "true"):
        problem = _load_problem(cert)
        if problem is not None:
            return Verdict(outcome="unloadable", step=None, limit=None, seconds=seconds, detail=problem)
    return verdict


def _accepted(original: dict, cert: dict, seconds: float, cache: dict[str, Any] | None) -> Verdict:
    before, after = claims(original), claims(cert)
    if before == after:
        return Verdict(outcome="same", step=None, limit=None, seconds=seconds, detail="")
    changed = sorted(k for k in before if before[k] != after[k])
    bad = names_problem(cert)
    if bad is not None:
        return Verdict(outcome="false", step=None, limit=None, seconds=seconds,
                       detail=f"changed {changed}: {bad}; certificate {dumps(cert)[:4000]}")
    key = after["model"] + after["flow"] + _canon([after["dim"]] + after["variables"][:1])
    if cache is not None and key in cache:
        bounds = cache[key]
    else:
        bounds = truth(cert)
        if cache is not None:
            cache[key] = bounds
    if bounds is None:
        return Verdict(outcome="undecided", step=None, limit=None, seconds=seconds,
                       detail=f"changed {changed}; the engine could not recompute {after['model'][:200]}")
    lo, hi = bounds
    exact = lo == hi
    ok = after["lower"] <= hi and after["upper"] >= lo  # the claimed interval meets the proved one
    if exact:
        ok = after["lower"] <= lo <= after["upper"]
    if after["complete"]:
        ok = ok and after["lower"] == after["upper"] and (not exact or after["count"] == lo)
    outcome = "true" if ok else "false"
    return Verdict(outcome=outcome, step=None, limit=None, seconds=seconds,
                   detail=f"changed {changed}; engine bounds {lo}..{hi}; claimed {after['lower']}..{after['upper']}"
                   + ("" if ok else f"; certificate {dumps(cert)[:4000]}"))
