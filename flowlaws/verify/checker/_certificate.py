"""The certificate checker: ``check_certificate`` and the JSON shape it accepts.

Implements ``docs/certificate-format.md`` (schema ``flowlaws-certificate/1``)
step by step, each failure raising :class:`~flowlaws.errors.CertificateError`
with ``step`` in ``schema``, ``prime``, ``generators``, ``rank``, ``laws``,
``independence``, ``conclusion``. Pure Python: no pickle, no eval, no engine;
NumPy, when installed, for the fast route of networks (words on jets, exact
rank mod p: :mod:`._network_eval`, :mod:`._rank_np`), whose laws are then
checked band by band (:mod:`._local_laws`) when the network has too many paths
to expand.

The shape is strict: a missing, unknown or mistyped field is refused (a
claim the checker would ignore must not ride along), integers must be JSON
integers (never floats or booleans) and every size is bounded (:data:`LIMITS`).

Flows (section "Other flows" of the format, :mod:`flowlaws.verify.checker._flows`):
gradient flow with the euclidean or the ``"nmf"`` metric or a user metric
matrix ``M = P/q`` (``{"kind": "matrix", ...}``, generators ``P∇φ_k``, the
rank point must not make ``q`` vanish mod the prime), momentum with a
rational ``tau`` (any of these metrics) and Nesterov. For momentum and Nesterov the
phase space is ``(s or t, θ, v)``, ``dim = 2D + 1``, word leaf ``0`` is the
drift ``χ_0`` and leaf ``k ≥ 1`` the lift of generator ``k − 1``.

What it does not check: the parameter names in ``variables`` (information
only; for momentum and Nesterov the time coordinate's name and the velocity
names ``name + "'"`` *are* checked) and the ``library`` and ``timings``
fields beyond their types.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import CertificateError
from ._flows import (
    FLOW_NAMES, METRICS, FlowSpec, LiftedGenerators, MetricMatrix, drift_label, law_fields, parse_tau,
)
from ._local_laws import LocalBudgetExceeded, drift_residual, local_residual, new_cache
from ._modp import Echelon, WordEvaluator, is_prime
from ._network import ACTIVATIONS, Network
from ._network_eval import NetworkWords, fast_route_problem
from ._rank_np import MAX_PRIME, numpy_problem, rank_mod_p_np, rank_of_sparse_rows
from ._polys import Field, Poly, hessian_vector_at, inner, int_str

__all__ = [
    "check_certificate", "read_certificate", "parse_flow", "parse_metric", "parse_model", "parse_poly", "path_budget_problem", "Reparam", "SCHEMA",
    "LIMITS",
]

SCHEMA = "flowlaws-certificate/1"

#: Size bounds enforced by the schema step (a certificate beyond them is refused).
LIMITS = {
    "dim": 100_000,
    "words": 200_000,
    "word_depth": 8,
    "word_nodes": 2_000_000,
    "laws": 100_000,
    "phi": 1_000_000,
    "terms_per_poly": 1_000_000,
    "terms_total": 10_000_000,
    "exponent": 1_000_000,
    "coefficient_digits": 4_000,
    "layers": 1_000,
    "paths": 1_000_000,
    # the fast route for networks (no path expansion; see _network_eval, _local_laws, _rank_np)
    "fast_dim": 20_000,
    "fast_entries": 160_000_000,
    "explicit_law_paths": 20_000,
}

_TOP_REQUIRED = (
    "schema", "dim", "variables", "model", "flow", "generators",
    "rank", "laws", "independence", "bounds", "count", "complete",
)
_TOP_OPTIONAL = ("library", "timings", "meta")
_COEF_RE = re.compile(r"-?[0-9]+")
_U64 = 2**64


def _fail(message: str, step: str = "schema") -> CertificateError:
    return CertificateError(message, step=step)


def _describe(x: Any) -> str:
    try:
        text = repr(x)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        text = int_str(x) if isinstance(x, int) else "<unprintable>"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(x).__name__} {text}"


# -- shape helpers ------------------------------------------------------------------
def _int(x: Any, where: str, *, lo: int | None = None, hi: int | None = None) -> int:
    if type(x) is not int:  # refuses bool, float (even 3.0), NaN, strings
        hint = " (write integers without a decimal point)" if isinstance(x, float) else ""
        raise _fail(f"{where}: expected an integer, got {_describe(x)}{hint}")
    if lo is not None and x < lo:
        raise _fail(f"{where}={x}: must be >= {lo}")
    if hi is not None and x > hi:
        raise _fail(f"{where}={x}: must be <= {hi}")
    return x


def _bool(x: Any, where: str) -> bool:
    if type(x) is not bool:
        raise _fail(f"{where}: expected true or false, got {_describe(x)}")
    return x


def _str(x: Any, where: str) -> str:
    if not isinstance(x, str):
        raise _fail(f"{where}: expected a string, got {_describe(x)}")
    return x


def _list(x: Any, where: str, *, max_len: int | None = None, length: int | None = None) -> list:
    if not isinstance(x, list):
        raise _fail(f"{where}: expected a list, got {_describe(x)}")
    if length is not None and len(x) != length:
        raise _fail(f"{where}: expected {length} entries, got {len(x)}")
    if max_len is not None and len(x) > max_len:
        raise _fail(f"{where}: {len(x)} entries, more than the checker's limit {max_len}")
    return x


def _object(x: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping:
    if not isinstance(x, Mapping):
        raise _fail(f"{where}: expected an object, got {_describe(x)}")
    for k in x:
        if not isinstance(k, str):
            raise _fail(f"{where}: keys must be strings, got {_describe(k)}")
    missing = [k for k in required if k not in x]
    if missing:
        raise _fail(f"{where}: missing field(s) {missing}; required fields are {list(required)}")
    unknown = [k for k in x if k not in required and k not in optional]
    if unknown:
        raise _fail(
            f"{where}: unknown field(s) {sorted(unknown)}; {SCHEMA} allows {list(required) + list(optional)}"
        )
    return x


def _point(x: Any, where: str, dim: int) -> list[int]:
    _list(x, where, length=dim)
    return [_int(v, f"{where}[{i}]") for i, v in enumerate(x)]


class _Budget:
    """Counts polynomial terms across the whole certificate."""

    def __init__(self) -> None:
        self.terms = 0

    def take(self, n: int, where: str) -> None:
        self.terms += n
        if self.terms > LIMITS["terms_total"]:
            raise _fail(f"{where}: the certificate has more than {LIMITS['terms_total']} polynomial terms in total")


def parse_poly(x: Any, where: str, dim: int, budget: _Budget | None = None) -> Poly:
    """A POLY (``[["coef", [[var, exp], ...]], ...]``) as a :class:`Poly` over Z."""
    _list(x, where, max_len=LIMITS["terms_per_poly"])
    if budget is not None:
        budget.take(len(x), where)
    acc: dict = {}
    for t, term in enumerate(x):
        tw = f"{where}[{t}]"
        _list(term, tw, length=2)
        coef, mono = term
        if not isinstance(coef, str) or not _COEF_RE.fullmatch(coef):
            raise _fail(f"{tw}[0]: a coefficient is a decimal integer string such as \"-3\", got {_describe(coef)}")
        if len(coef) > LIMITS["coefficient_digits"]:
            raise _fail(f"{tw}[0]: coefficient with {len(coef)} digits, more than {LIMITS['coefficient_digits']}")
        _list(mono, f"{tw}[1]", max_len=dim)
        pairs = []
        for k, pair in enumerate(mono):
            pw = f"{tw}[1][{k}]"
            _list(pair, pw, length=2)
            var = _int(pair[0], f"{pw}[0] (variable index)", lo=0, hi=dim - 1)
            exp = _int(pair[1], f"{pw}[1] (exponent)", lo=1, hi=LIMITS["exponent"])
            pairs.append((var, exp))
        pairs.sort()
        for k in range(1, len(pairs)):
            if pairs[k][0] == pairs[k - 1][0]:
                raise _fail(f"{tw}[1]: variable {pairs[k][0]} appears twice in one monomial; merge the exponents")
        m = tuple(pairs)
        acc[m] = acc.get(m, 0) + int(coef)
    return Poly(acc)


def _word(x: Any, where: str, depth: int, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > LIMITS["word_nodes"]:
        raise _fail(f"{where}: the words have more than {LIMITS['word_nodes']} nodes in total")
    if isinstance(x, list):
        if len(x) != 2:
            raise _fail(f"{where}: a bracket word is a pair [U, V], got a list of {len(x)} entries")
        if depth >= LIMITS["word_depth"]:
            raise _fail(f"{where}: word nested deeper than {LIMITS['word_depth']} brackets")
        return (
            _word(x[0], f"{where}[0]", depth + 1, counter),
            _word(x[1], f"{where}[1]", depth + 1, counter),
        )
    if type(x) is not int:
        raise _fail(f"{where}: a word is a generator index (int) or a pair [U, V], got {_describe(x)}")
    if not 0 <= x < _U64:
        raise _fail(f"{where}={x}: generator indices are in [0, 2**64)")
    return x


def _leaves(word: Any, out: set[int]) -> None:
    if isinstance(word, int):
        out.add(word)
    else:
        _leaves(word[0], out)
        _leaves(word[1], out)


# -- models and generators -------------------------------------------------------------------
class Reparam:
    """The reparametrization φ: its coordinates over Z and its generators mod p."""

    dim: int
    names: list[str] | None = None

    def coordinates(self) -> list[tuple[str, Poly]]:  # pragma: no cover - interface
        """``(description, φ_k)`` over Z for every coordinate."""
        raise NotImplementedError

    def coordinate_gradients(self) -> list[tuple[str, Poly, Field]]:
        """``(description, φ_k, ∇φ_k)`` over Z, computed once."""
        cached = getattr(self, "_grads", None)
        if cached is None:
            cached = [(d, phi, phi.gradient()) for d, phi in self.coordinates()]
            self._grads = cached
        return cached


def path_budget_problem(model: Reparam) -> str | None:
    """Why the model is too large to expand, or ``None``."""
    if isinstance(model, _NetworkModel):
        paths = model.net.path_count()
        if paths > LIMITS["paths"]:
            return (
                f"the network layers={list(model.net.layers)} has {paths} paths; the checker expands "
                f"at most {LIMITS['paths']} (use a smaller network)"
            )
    return None


class _PolynomialsModel(Reparam):
    def __init__(self, phi: list[Poly], dim: int) -> None:
        self.phi = phi
        self.dim = dim

    def coordinates(self) -> list[tuple[str, Poly]]:
        return [(f"phi[{k}]", f) for k, f in enumerate(self.phi)]


class _NetworkModel(Reparam):
    def __init__(self, net: Network) -> None:
        self.net = net
        self.dim = net.dim
        self.names = net.names()

    def coordinates(self) -> list[tuple[str, Poly]]:
        return [(f"phi[{k}] ({self.net.describe_key(key)})", f) for k, (key, f) in enumerate(self.net.coordinates())]


def parse_model(x: Any, dim: int | None, where: str = "model", budget: _Budget | None = None) -> Reparam:
    """The ``model`` object as a :class:`Reparam` (raises ``CertificateError`` step ``schema``).

    ``dim=None`` takes the dimension from the model (networks only).
    """
    if not isinstance(x, Mapping) or "kind" not in x:
        raise _fail(f"{where}: expected an object with a 'kind' ('polynomials' or 'network'), got {_describe(x)}")
    kind = x["kind"]
    if kind == "polynomials":
        _object(x, where, ("kind", "phi"))
        if dim is None:
            raise _fail(f"{where}: a 'polynomials' model needs the dimension (number of variables)")
        _list(x["phi"], f"{where}.phi", max_len=LIMITS["phi"])
        phi = [parse_poly(f, f"{where}.phi[{k}]", dim, budget) for k, f in enumerate(x["phi"])]
        return _PolynomialsModel(phi, dim)
    if kind == "network":
        _object(x, where, ("kind", "layers", "activations", "bias"))
        layers = _list(x["layers"], f"{where}.layers", max_len=LIMITS["layers"])
        if len(layers) < 2:
            raise _fail(f"{where}.layers={layers}: a network needs at least an input and an output layer")
        widths = [_int(n, f"{where}.layers[{i}]", lo=1, hi=LIMITS["dim"]) for i, n in enumerate(layers)]
        acts = _list(x["activations"], f"{where}.activations", length=len(widths) - 2)
        for i, a in enumerate(acts):
            if a not in ACTIVATIONS:
                raise _fail(f"{where}.activations[{i}]: {_describe(a)} is not one of {list(ACTIVATIONS)}")
        bias = _bool(x["bias"], f"{where}.bias")
        D = Network.count_parameters(widths, bias)
        if D > LIMITS["dim"]:
            raise _fail(f"{where}: the network has {D} parameters, more than the checker's limit {LIMITS['dim']}")
        if dim is not None and D != dim:
            raise _fail(
                f"dim={dim} but the network layers={widths} {'with' if bias else 'without'} bias "
                f"has {D} parameters; set dim to {D}"
            )
        return _NetworkModel(Network(widths, acts, bias))
    raise _fail(f"{where}.kind: {_describe(kind)} is not 'polynomials' or 'network'")


class _Generators:
    """What a generator index means: ``F_a`` mod ``p`` and its gradient field."""

    def __init__(self, model: Reparam, spec: Mapping, p: int, *, expand: bool = True) -> None:
        self.model = model
        self.p = p
        self.kind = spec["kind"]
        self.seed = spec.get("seed")
        self._cache: dict[int, Field] = {}
        self._potentials: dict[int, Poly] = {}
        if self.kind == "coordinates" and not isinstance(model, _PolynomialsModel):
            raise _fail("generators.kind 'coordinates' needs a 'polynomials' model; "
                        "use 'network-combinations' for a network", "generators")
        if self.kind == "network-combinations" and not isinstance(model, _NetworkModel):
            raise _fail("generators.kind 'network-combinations' needs a 'network' model; "
                        "use 'coordinates' for a 'polynomials' model", "generators")
        problem = path_budget_problem(model) if expand else None
        if problem:
            raise _fail(problem, "generators")

    def check_index(self, a: int, where: str, offset: int = 0) -> None:
        """Refuse a generator index the model does not have (``offset=1``: word leaves of a flow
        with a drift, where leaf ``a + 1`` is generator ``a``)."""
        if self.kind == "coordinates":
            n = len(self.model.phi)  # type: ignore[attr-defined]
            if a >= n:
                if offset:
                    raise _fail(
                        f"{where} uses leaf {a + offset}, the lift of generator {a}, but the model has {n} "
                        f"coordinates (leaf 0 is chi_0, leaves 1..{n} their lifts)",
                        "generators",
                    )
                raise _fail(
                    f"{where} uses generator {a} but the model has {n} coordinates (generators 0..{n - 1})",
                    "generators",
                )

    def potential(self, a: int) -> Poly:
        """``F_a`` mod ``p`` (generator ``a`` is ``∇F_a``)."""
        got = self._potentials.get(a)
        if got is None:
            if self.kind == "coordinates":
                got = self.model.phi[a].reduce(self.p)  # type: ignore[attr-defined]
            else:
                got = self.model.net.combination(self.seed, a, self.p)  # type: ignore[attr-defined]
            self._potentials[a] = got
        return got

    def field(self, a: int) -> Field:
        """``∇F_a`` as a polynomial field mod ``p``."""
        got = self._cache.get(a)
        if got is None:
            got = self.potential(a).gradient()
            self._cache[a] = got
        return got

    def value_at(self, point: list[int]) -> Callable[[int], dict[int, int]]:
        """``a -> ∇F_a(point)`` without building the field."""
        return lambda a: self.potential(a).gradient_at(point)

    def jvp_at(self, point: list[int]) -> Callable[[int, dict[int, int]], dict[int, int]]:
        """``(a, u) -> D(∇F_a)(point)·u`` (Hessian-vector product) without building the field."""
        return lambda a, u: hessian_vector_at(self.potential(a).terms, point, u, self.p)


# -- the parsed certificate ---------------------------------------------------------------
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
    flow = _object(x, where, ("name",), ("tau", "metric"))
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
        return FlowSpec(name, metric, value)
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
    if isinstance(x, Mapping) and x.get("kind") == "network":
        model = parse_model(x, None, "model", budget)
        D = model.dim
        if dim != 2 * D + 1:
            raise _fail(
                f"dim={dim} but the {label} of a network with {D} parameters has the phase space "
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
            if type(v) not in (int, float) or not math.isfinite(v):
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


_GRADIENT = FlowSpec("gradient")


def _check_prime(p: int, where: str) -> None:
    if p < 3:
        raise _fail(f"{where}={p}: the prime must be at least 3", "prime")
    if p >= _U64:
        raise _fail(f"{where}={p}: the checker accepts primes below 2**64 only; use a smaller prime", "prime")
    if not is_prime(p):
        raise _fail(f"{where}={p} is not prime; use a prime such as 2**61 - 1 = {2**61 - 1}", "prime")


def _law_str(h: Poly, names: list[str]) -> str:
    return h.to_str(names, max_terms=6)


def _fast_words_problem(c: _Parsed, p: int) -> str | None:
    """Why the words of ``c`` are not evaluated by the jet route of :mod:`._network_eval`, or ``None``."""
    if not isinstance(c.model, _NetworkModel):
        return "the model is not a network"
    if not isinstance(c.flow.metric, str):
        return "the flow has a custom metric"
    if c.params > LIMITS["fast_dim"]:
        return f"the network has {c.params} parameters, more than {LIMITS['fast_dim']}"
    if len(c.words) * c.dim > LIMITS["fast_entries"]:
        return f"{len(c.words)} words x dim {c.dim} exceed {LIMITS['fast_entries']} entries"
    return fast_route_problem(c.model.net, p) or numpy_problem()


def _uses_local_laws(c: _Parsed) -> bool:
    """Whether the laws of ``c`` are checked band by band (:mod:`._local_laws`) instead of per coordinate."""
    return (
        isinstance(c.model, _NetworkModel)
        and isinstance(c.flow.metric, str)
        and c.model.net.path_count() > LIMITS["explicit_law_paths"]
    )


def _rank_of_rows(rows: list[dict[int, int]], p: int, dim: int) -> int:
    """Rank mod ``p`` of sparse rows: NumPy elimination when available and large enough, else :class:`Echelon`."""
    if len(rows) * dim > 40_000 and p < MAX_PRIME and numpy_problem() is None:
        return rank_of_sparse_rows(rows, p, dim)
    ech = Echelon(p, dim)
    for row in rows:
        ech.add(row)
    return ech.rank


def _check_laws_locally(
    c: _Parsed, names: list[str], by: str, progress: Callable[[str, int, int], None] | None
) -> None:
    """Step ``laws`` for a large network: ``⟨∇h, χ_0⟩ ≡ 0`` and the band condition of :mod:`._local_laws`."""
    net = c.model.net  # type: ignore[attr-defined]
    flow = c.flow
    cache = new_cache()
    for i, h in enumerate(c.laws):
        if flow.has_drift:
            r = drift_residual(flow, c.params, h)
            if r:
                raise _fail(
                    f"laws[{i}] = {_law_str(h, names)} is not conserved{by}: "
                    f"<grad h, {drift_label(flow)}> = {r.to_str(names, max_terms=4)} is not 0",
                    "laws",
                )
        try:
            why = local_residual(net, flow, h, cache, names)
        except LocalBudgetExceeded as err:
            raise _fail(
                f"laws[{i}] = {_law_str(h, names)}: the network is too large to expand its paths and {err}, "
                "too many for the band check; split the law into laws on fewer consecutive layers",
                "laws",
            ) from err
        if why:
            raise _fail(
                f"laws[{i}] = {_law_str(h, names)} is not proved conserved{by}: the network is checked band by "
                f"band (a sufficient condition, docs/certificate-format.md) and {why}",
                "laws",
            )
        if progress is not None:
            progress("laws", i + 1, len(c.laws))


def read_certificate(path: str) -> dict[str, Any]:
    """Read a certificate file as JSON (never pickle or eval), without checking it.

    Raises
    ------
    CertificateError
        Step ``schema``: the file cannot be read, is not JSON, or holds no JSON object.

    Examples
    --------
    >>> read_certificate("no/such/file.json")
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [schema] cannot read a JSON certificate from 'no/such/file.json': [Errno 2] No such file or directory: 'no/such/file.json'
    """
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as err:
        raise _fail(f"cannot read a JSON certificate from {path!r}: {err}") from err
    if not isinstance(data, dict):
        raise _fail(f"{path!r} holds a JSON {type(data).__name__}, not a certificate object")
    return data


def check_certificate(
    cert: Mapping[str, Any], *, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Check a certificate (``docs/certificate-format.md``) and report what it proves.

    Every step is re-derived from the JSON with the checker's own arithmetic:
    shape and sizes, primality, the generators (including a network's
    path-lifting), the rank of the bracket words at the point mod the prime,
    each law as an exact polynomial identity over Z, the independence of the
    laws, and the stated conclusion. Gradient flow (euclidean or ``"nmf"``
    metric), momentum (``tau``, either metric) and Nesterov are checked in
    their phase space (``docs/certificate-format.md``, "Other flows").

    Networks are checked without expanding their paths when NumPy is
    available: the words by forward-mode jets over the network's backward
    pass (:mod:`flowlaws.verify.checker._network_eval`) and an exact NumPy rank mod
    ``p`` (:mod:`flowlaws.verify.checker._rank_np`), the laws of a network with more
    than ``LIMITS["explicit_law_paths"]`` paths band by band
    (:mod:`flowlaws.verify.checker._local_laws`, a sufficient condition).

    Parameters
    ----------
    cert : dict
        The certificate, as loaded by ``json.load``.
    progress : callable, optional
        ``progress(stage, done, total)``, called while the words are
        evaluated (stage ``"rank"``) and the laws checked (stage ``"laws"``).

    Returns
    -------
    dict
        ``{"proved": {"upper_bound", "lower_bound", "exact"}, "flow", "count",
        "dim", "rank", "laws", "complete", "steps": [{"step", "detail"}, ...],
        "seconds": {step: float}, "routes": {"words", "laws"}}`` (``"flow"``
        is the certificate's flow object in canonical form; ``"routes"`` says
        whether the words were evaluated on jets or on the expanded paths,
        and whether the laws were checked by bands or per coordinate).

    Raises
    ------
    flowlaws.errors.CertificateError
        If the certificate is malformed or does not prove its claim; ``.step``
        names the failing step (``schema``, ``prime``, ``generators``,
        ``rank``, ``laws``, ``independence`` or ``conclusion``).

    See Also
    --------
    is_conserved : check one law against a model without a certificate.

    Examples
    --------
    φ = x0·x1 has one law, x0² − x1², and its generator has rank 1:

    >>> law = [["1", [[0, 2]]], ["-1", [[1, 2]]]]
    >>> cert = {
    ...     "schema": "flowlaws-certificate/1", "dim": 2, "variables": ["x0", "x1"],
    ...     "model": {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]},
    ...     "flow": {"name": "gradient"}, "generators": {"kind": "coordinates"},
    ...     "rank": {"prime": 101, "point": [1, 2], "words": [0], "value": 1},
    ...     "laws": [law],
    ...     "independence": {"prime": 101, "point": [1, 2], "value": 1},
    ...     "bounds": {"lower": 1, "upper": 1}, "count": 1, "complete": True,
    ... }
    >>> report = check_certificate(cert)
    >>> report["proved"], report["count"]
    ({'upper_bound': 1, 'lower_bound': 1, 'exact': True}, 1)

    A wrong claim names the failing step:

    >>> cert["rank"]["value"] = 2
    >>> check_certificate(cert)
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [rank] claimed 2, the 1 words have rank 1 mod 101 at the point
    """
    steps: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def done(step: str, detail: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now
        steps.append({"step": step, "detail": detail})

    c = _parse(cert)
    done("schema", f"{SCHEMA}: {c.flow.describe()}, dim={c.dim}, {len(c.words)} words, {len(c.laws)} laws")

    _check_prime(c.rank_prime, "rank.prime")
    _check_prime(c.ind_prime, "independence.prime")
    done("prime", f"rank.prime={c.rank_prime} and independence.prime={c.ind_prime} are prime")

    names = c.names
    flow = c.flow
    p = c.rank_prime
    fast_words = c.generators["kind"] == "network-combinations" and _fast_words_problem(c, p) is None
    local_laws = _uses_local_laws(c)
    # the path budget bounds the explicit expansion, which the fast route avoids only for both words and laws
    gens = _Generators(c.model, c.generators, p, expand=not (fast_words and local_laws))
    offset = 1 if flow.has_drift else 0
    used: set[int] = set()
    for i, w in enumerate(c.words):
        leaves: set[int] = set()
        _leaves(w, leaves)
        for a in sorted(leaves - used):
            if a >= offset:
                gens.check_index(a - offset, f"rank.words[{i}]", offset)
        used |= leaves
    what = "generators" if not flow.has_drift else "lifted generators and chi_0"
    if local_laws:
        net = c.model.net  # type: ignore[attr-defined]
        coords, fields = [], []
        done(
            "generators",
            f"{net.path_count()} paths of phi (not expanded: the words are evaluated on jets and the laws "
            f"checked band by band), {len(used)} distinct {what} used by the words",
        )
    else:
        coords = c.model.coordinate_gradients()
        fields = law_fields(flow, c.params, [(desc, grad) for desc, _phi, grad in coords])
        done("generators", f"{len(coords)} coordinates of phi, {len(used)} distinct {what} used by the words")

    point = [x % p for x in c.rank_point]
    if isinstance(flow.metric, MetricMatrix):
        theta = point[1 : c.params + 1] if flow.has_drift else point
        if not flow.metric.denominator.reduce(p).evaluate(theta):
            raise _fail(
                f"the metric's denominator q = {flow.metric.denominator.to_str(names[1:] if flow.has_drift else names, max_terms=4)} "
                f"vanishes mod {p} at rank.point: the generators q*M*grad phi say nothing about M there; "
                "pick a point where q != 0 mod p",
                "rank",
            )
    if fast_words:
        tick = (lambda d, t: progress("rank", d, t)) if progress is not None else None
        values = NetworkWords(
            c.model.net, seed=c.generators["seed"], p=p, point=c.rank_point, flow=flow  # type: ignore[attr-defined]
        ).values(c.words, progress=tick)
        rank = rank_mod_p_np(values, p) if len(c.words) else 0
    else:
        if flow.has_drift or flow.metric != "euclidean":
            lifted = LiftedGenerators(flow, c.params, p, gens.field, gens.value_at, gens.jvp_at)
            value, jvp = lifted.at(point)
            evaluator = WordEvaluator(lifted.field, point, p, value, jvp)
        else:
            evaluator = WordEvaluator(gens.field, point, p, gens.value_at(point), gens.jvp_at(point))
        rows = []
        for i, w in enumerate(c.words):
            rows.append(evaluator.value(w))
            if progress is not None:
                progress("rank", i + 1, len(c.words))
        rank = _rank_of_rows(rows, p, c.dim)
    if rank != c.rank_value:
        raise _fail(
            f"claimed {c.rank_value}, the {len(c.words)} words have rank {rank} mod {p} at the point",
            "rank",
        )
    done("rank", f"the {len(c.words)} words have rank {rank} mod {p} at the point")

    by = "" if flow == _GRADIENT else f" by the {flow.describe()}"
    if local_laws:
        _check_laws_locally(c, names, by, progress)
    for i, h in enumerate(c.laws if not local_laws else ()):
        gh = h.gradient()
        for _index, label, chi in fields:
            r = inner(gh, chi)
            if r:
                raise _fail(
                    f"laws[{i}] = {_law_str(h, names)} is not conserved{by}: "
                    f"<grad h, {label}> = {r.to_str(names, max_terms=4)} is not 0",
                    "laws",
                )
        if progress is not None:
            progress("laws", i + 1, len(c.laws))
    if local_laws:
        against = (
            "band by band: <X, grad P> = 0 over Z for the band paths P of every law"
            + (", and <grad h, chi_0> = 0" if flow.has_drift else "")
        )
    elif flow == _GRADIENT:
        against = f"<grad h, grad phi_k> = 0 over Z for {len(coords)} coordinates"
    elif flow.has_drift:
        against = f"<grad h, chi> = 0 over Z for chi_0 and the lifts of {len(coords)} coordinate fields"
    else:
        against = f"<grad h, chi> = 0 over Z for {len(coords)} coordinate fields under the {flow.metric} metric"
    done("laws", f"{len(c.laws)} laws are conserved exactly ({against})")

    k = len(c.laws)
    if c.ind_value != k:
        raise _fail(f"independence.value={c.ind_value} but there are {k} laws; the value must be len(laws)", "independence")
    q = c.ind_prime
    ipoint = [x % q for x in c.ind_point]
    jac_rank = _rank_of_rows([h.reduce(q).gradient_at(ipoint) for h in c.laws], q, c.dim)
    if jac_rank != k:
        raise _fail(
            f"claimed {k} independent laws, their Jacobian has rank {jac_rank} mod {q} at the point; "
            "pick a generic point or drop dependent laws",
            "independence",
        )
    done("independence", f"the Jacobian of the {k} laws has rank {k} mod {q} at the point")

    upper = c.dim - c.rank_value
    if c.lower != k:
        raise _fail(f"bounds.lower={c.lower} but the certificate proves {k} laws", "conclusion")
    if c.upper != upper:
        raise _fail(f"bounds.upper={c.upper} but dim - rank.value = {c.dim} - {c.rank_value} = {upper}", "conclusion")
    if c.count != upper:
        raise _fail(f"count={c.count} but must equal bounds.upper={upper}", "conclusion")
    if k > upper:
        raise _fail(
            f"{k} independent laws exceed the upper bound {upper}: the certificate is inconsistent", "conclusion"
        )
    if c.complete != (k == upper):
        raise _fail(f"complete={str(c.complete).lower()} but lower={k} and upper={upper}", "conclusion")
    done("conclusion", f"{k} <= count <= {upper}" + (" (exact)" if k == upper else ""))

    return {
        "proved": {"upper_bound": upper, "lower_bound": k, "exact": k == upper},
        "flow": flow.to_json(),
        "count": c.count,
        "dim": c.dim,
        "rank": c.rank_value,
        "laws": k,
        "complete": c.complete,
        "steps": steps,
        "seconds": seconds,
        "routes": {"words": "jets" if fast_words else "expanded", "laws": "bands" if local_laws else "coordinates"},
    }
