"""The whole certificate read into a :class:`_Parsed` record: flow, metric, model, words, laws.

Step ``schema`` of the checker: :func:`_parse` checks every field of the
certificate object and its sizes (:data:`~._schema.LIMITS`); the later steps
(:mod:`._certificate`) work on the record it returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import CertificateError
from ._flows import FLOW_NAMES, METRICS, FlowSpec, MetricMatrix, parse_tau
from ._model import Reparam, parse_model
from ._network import Network
from ._varnames import check_network_names, check_printable_names
from ._polys import Poly
from ._schema import (
    _TOP_OPTIONAL, _TOP_REQUIRED, _U64, LIMITS, SCHEMA, _bool, _Budget, _describe, _fail, _int, _list, _object,
    _point, _str, _word, parse_poly,
)

__all__ = ["parse_flow", "parse_metric"]


@dataclass
class _Parsed:
    dim: int
    names: list[str]
    flow: FlowSpec
    params: int
    model: Reparam
    generators: Mapping
    rank_prime: int
    rank_point: list[int]
    words: list[Any]
    rank_value: int
    laws: list[Poly]
    ind_prime: int
    ind_point: list[int]
    ind_value: int
    lower: int
    upper: int
    count: int
    complete: bool


def parse_metric(x: Any, where: str = "flow.metric") -> MetricMatrix:
    """A user metric ``{"kind": "matrix", "size": D, "denominator": POLY, "entries": [[i, j, POLY], ...]}``
    as a :class:`~flowlaws.verify.checker._flows.MetricMatrix` (``CertificateError`` step ``schema``).

    >>> parse_metric({"kind": "matrix", "size": 1, "denominator": [["1", []]], "entries": [[0, 0, [["2", []]]]]})
    MetricMatrix(size=1, 1 entries)
    >>> parse_metric({"kind": "matrix", "size": 1, "denominator": [], "entries": []})
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [schema] flow.metric.denominator: the zero polynomial; a metric P/q needs q != 0 (write [["1", []]] for a polynomial metric)
    """
    m = _object(x, where, ("kind", "size", "denominator", "entries"))
    if m["kind"] != "matrix":
        raise _fail(f"{where}.kind: {_describe(m['kind'])} is not 'matrix'")
    D = _int(m["size"], f"{where}.size", lo=1, hi=LIMITS["dim"])
    den = parse_poly(m["denominator"], f"{where}.denominator", D)
    if not den:
        raise _fail(
            f"{where}.denominator: the zero polynomial; a metric P/q needs q != 0 "
            "(write [[\"1\", []]] for a polynomial metric)"
        )
    entries: dict[tuple[int, int], Poly] = {}
    for k, e in enumerate(_list(m["entries"], f"{where}.entries", max_len=LIMITS["phi"])):
        ew = f"{where}.entries[{k}]"
        _list(e, ew, length=3)
        i = _int(e[0], f"{ew}[0] (row)", lo=0, hi=D - 1)
        j = _int(e[1], f"{ew}[1] (column)", lo=0, hi=D - 1)
        if (i, j) in entries:
            raise _fail(f"{ew}: entry ({i}, {j}) is given twice; merge the two polynomials")
        entries[(i, j)] = parse_poly(e[2], f"{ew}[2]", D)
    return MetricMatrix(D, entries, den)


def parse_flow(x: Any, where: str = "flow") -> FlowSpec:
    """The ``flow`` object as a :class:`~flowlaws.verify.checker._flows.FlowSpec` (``CertificateError`` step ``schema``).

    >>> parse_flow({"name": "momentum", "tau": "1/2"}).describe()
    'momentum flow (tau=1/2)'
    >>> parse_flow({"name": "momentum", "tau": 0.5})
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [schema] flow.tau: tau=0.5 (type=float): tau is a rational written as a string "a/b"; floats are not exact, write e.g. "1/2"
    """
    flow = _object(x, where, ("name",), ("tau", "metric", "weight_decay"))
    name = flow["name"]
    if name not in FLOW_NAMES:
        raise _fail(f"{where}.name: {_describe(name)} is not one of {list(FLOW_NAMES)}")
    metric = flow.get("metric")
    if metric is None:
        metric = "euclidean"
    if isinstance(metric, Mapping):
        metric = parse_metric(metric, f"{where}.metric")
    elif metric not in METRICS:
        raise _fail(
            f"{where}.metric: {_describe(metric)} is not one of {list(METRICS)}, a {{\"kind\": \"matrix\", ...}} "
            "object (or absent for euclidean)"
        )
    if name == "nesterov" and metric != "euclidean":
        raise _fail(
            f"{where}.metric: the format defines Nesterov's flow with the euclidean metric only, got {str(metric)!r}; "
            "remove the metric"
        )
    tau = flow.get("tau")
    if name == "momentum":
        if "tau" not in flow:
            raise _fail(f"{where}: momentum needs its damping \"tau\" (a string such as \"1\" or \"1/2\")")
        try:
            value = parse_tau(tau)
        except ValueError as err:
            raise _fail(f"{where}.tau: {err}") from err
        if "weight_decay" not in flow:
            return FlowSpec(name, metric, value)
        try:
            lam = parse_tau(flow["weight_decay"])
        except ValueError as err:
            raise _fail(f"{where}.weight_decay: " + str(err).replace("tau", "weight_decay").replace("damping", "weight decay")) from err
        if lam == 0 or metric != "euclidean":
            raise _fail(f"{where}.weight_decay: must be > 0 (absent for none) and with the euclidean metric, got "
                        f"{flow['weight_decay']!r} with metric {str(metric)!r}")
        return FlowSpec(name, metric, value, lam)
    if "weight_decay" in flow:
        raise _fail(f"{where}.weight_decay: the flow object carries weight decay for momentum only; gradient flow "
                    "records it in the top-level \"weight_decay\" object")
    if tau is not None:
        what = "its damping is 3/t" if name == "nesterov" else "tau is the damping of momentum"
        raise _fail(f"{where}.tau: {name} flow has no tau ({what}), got {_describe(tau)}; remove it or use null")
    return FlowSpec(name, metric, None)


def _parse_model_for_flow(x: Any, dim: int, flow: FlowSpec, budget: _Budget) -> tuple[Reparam, int]:
    """The model and its number of parameters ``D``, with ``dim`` checked against the flow."""
    if not flow.has_drift:
        model = parse_model(x, dim, "model", budget)
        return model, dim
    label = flow.describe()
    if isinstance(x, Mapping) and x.get("kind") in ("network", "graph"):
        model = parse_model(x, None, "model", budget)
        D = model.dim
        if dim != 2 * D + 1:
            raise _fail(
                f"dim={dim} but the {label} of a {x['kind']} model with {D} parameters has the phase space "
                f"(time, theta, v) of dimension 2*{D} + 1 = {2 * D + 1}; set dim to {2 * D + 1}"
            )
        return model, D
    if dim % 2 == 0 or dim < 3:
        raise _fail(
            f"dim={dim}: the {label} has the phase space (time, theta, v) of dimension 2D + 1 (odd, >= 3) "
            "for D parameters"
        )
    D = (dim - 1) // 2
    try:
        model = parse_model(x, D, "model", budget)
    except CertificateError as err:
        if "variable index" in str(err):
            raise _fail(
                f"{str(err)[len('[schema] '):]} (under the {label}, phi is a polynomial in the D = (dim - 1)/2 = {D} "
                f"parameters, indices 0..{D - 1})"
            ) from err
        raise
    return model, D


def _check_phase_names(names: list[str], D: int, flow: FlowSpec) -> None:
    """The phase-space naming convention: time coordinate first, velocities ``name + "'"`` last."""
    time_name = flow.time_name
    if names[0] != time_name:
        why = "s = exp(tau*t) since tau > 0" if time_name == "s" else "the time t itself"
        raise _fail(
            f"variables[0]={names[0]!r}: the {flow.describe()} has its time coordinate first, named "
            f"{time_name!r} ({why})"
        )
    for j in range(D):
        want = names[1 + j] + "'"
        if names[D + 1 + j] != want:
            raise _fail(
                f"variables[{D + 1 + j}]={names[D + 1 + j]!r}: the velocity of parameter {names[1 + j]!r} "
                f"(variables[{1 + j}]) is named {want!r}"
            )


def _check_displayed_names(names: list[str], model: Reparam, params: int, flow: FlowSpec) -> None:
    """Names are printable; a layered network's parameters carry the names of their positions."""
    check_printable_names(names)
    net = getattr(model, "net", None)
    if isinstance(net, Network):
        check_network_names(names[1 : params + 1] if flow.has_drift else names, net.layers, net.bias)


def _finite(v: float) -> bool:
    """Whether a JSON number is finite as a float (an int past 1.8e308 overflows: not finite)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _parse(cert: Any) -> _Parsed:
    if not isinstance(cert, Mapping):
        hint = " (parse the file first with json.load)" if isinstance(cert, (str, bytes)) else ""
        raise _fail(f"a certificate is a JSON object (dict), got {type(cert).__name__}{hint}")
    _object(cert, "certificate", _TOP_REQUIRED, _TOP_OPTIONAL)
    if cert["schema"] != SCHEMA:
        raise _fail(f"schema: {_describe(cert['schema'])} is not {SCHEMA!r}; this checker reads only {SCHEMA!r}")
    if "library" in cert:
        lib = cert["library"]
        if not isinstance(lib, Mapping) or not all(isinstance(k, str) for k in lib):
            raise _fail(f"library: expected an object such as {{'name': 'flowlaws', 'version': '...'}}, got {_describe(lib)}")
    if "timings" in cert:
        tim = cert["timings"]
        if not isinstance(tim, Mapping):
            raise _fail(f"timings: expected an object of seconds per phase, got {_describe(tim)}")
        for k, v in tim.items():
            if type(v) not in (int, float) or not _finite(v):
                raise _fail(f"timings.{k}: expected a finite number of seconds, got {_describe(v)}")
    if "meta" in cert:  # information only (model name, creation date, ...): never part of the proof
        meta = cert["meta"]
        if not isinstance(meta, Mapping) or len(meta) > 64 or not all(isinstance(k, str) for k in meta):
            raise _fail(f"meta: expected an object of at most 64 named fields (information only), got {_describe(meta)}")
    dim = _int(cert["dim"], "dim", lo=1, hi=LIMITS["dim"])
    names = [_str(v, f"variables[{i}]") for i, v in enumerate(_list(cert["variables"], "variables", length=dim))]
    flow = parse_flow(cert["flow"])
    budget = _Budget()
    model, params = _parse_model_for_flow(cert["model"], dim, flow, budget)
    if isinstance(flow.metric, MetricMatrix) and flow.metric.size != params:
        raise _fail(f"flow.metric.size={flow.metric.size} but the model has {params} parameters; the metric is D×D")
    if flow.has_drift:
        _check_phase_names(names, params, flow)
    _check_displayed_names(names, model, params, flow)
    gens = cert["generators"]
    if not isinstance(gens, Mapping) or gens.get("kind") not in ("coordinates", "network-combinations"):
        raise _fail(
            "generators: expected {'kind': 'coordinates'} or {'kind': 'network-combinations', 'seed': s}, "
            f"got {_describe(gens)}"
        )
    if gens["kind"] == "coordinates":
        _object(gens, "generators", ("kind",))
    else:
        _object(gens, "generators", ("kind", "seed"))
        _int(gens["seed"], "generators.seed", lo=0, hi=_U64 - 1)

    rank = _object(cert["rank"], "rank", ("prime", "point", "words", "value"))
    rank_prime = _int(rank["prime"], "rank.prime")
    rank_point = _point(rank["point"], "rank.point", dim)
    counter = [0]
    words = [
        _word(w, f"rank.words[{i}]", 0, counter)
        for i, w in enumerate(_list(rank["words"], "rank.words", max_len=LIMITS["words"]))
    ]
    rank_value = _int(rank["value"], "rank.value", lo=0, hi=dim)

    laws_json = _list(cert["laws"], "laws", max_len=LIMITS["laws"])
    if len(laws_json) > dim:
        raise _fail(f"laws: {len(laws_json)} laws in dimension dim={dim}; at most dim laws can be independent")
    laws = [parse_poly(h, f"laws[{i}]", dim, budget) for i, h in enumerate(laws_json)]

    ind = _object(cert["independence"], "independence", ("prime", "point", "value"))
    ind_prime = _int(ind["prime"], "independence.prime")
    ind_point = _point(ind["point"], "independence.point", dim)
    ind_value = _int(ind["value"], "independence.value", lo=0)

    bounds = _object(cert["bounds"], "bounds", ("lower", "upper"))
    lower = _int(bounds["lower"], "bounds.lower")
    upper = _int(bounds["upper"], "bounds.upper")
    count = _int(cert["count"], "count")
    complete = _bool(cert["complete"], "complete")
    return _Parsed(
        dim, names, flow, params, model, gens, rank_prime, rank_point, words, rank_value, laws,
        ind_prime, ind_point, ind_value, lower, upper, count, complete,
    )
