"""The reparametrization φ of a certificate's ``model`` and its generators mod p.

A ``polynomials`` model gives φ's coordinates directly; a ``network`` model
is rebuilt by :mod:`._network` (path-lifting), a ``graph`` model (a DAG of
neurons) by :mod:`._graph`. :class:`_Generators` says what
a generator index of a bracket word means (``∇F_a`` mod ``p``).

>>> model = parse_model({"kind": "network", "layers": [2, 2, 1], "activations": ["relu"], "bias": False}, 6)
>>> model.dim, len(model.coordinates()), path_budget_problem(model)
(6, 4, None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._graph import Graph, parse_graph
from ._network import ACTIVATIONS, Network
from ._polys import Field, Poly, hessian_vector_at
from ._schema import LIMITS, _Budget, _bool, _describe, _fail, _int, _list, _object, parse_poly

__all__ = ["Reparam", "parse_model", "path_budget_problem", "network_of"]


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
    if isinstance(model, _GraphModel):
        paths = model.graph.path_count()
        if paths > LIMITS["paths"]:
            return (
                f"the graph model ({model.graph.n} nodes, {model.graph.E} edges) has {paths} paths; the checker "
                f"expands at most {LIMITS['paths']}"
            )
    return None


def network_of(model: Reparam) -> Network | Graph | None:
    """The network behind a ``"network"`` or ``"graph"`` model, else ``None``."""
    if isinstance(model, _NetworkModel):
        return model.net
    if isinstance(model, _GraphModel):
        return model.graph
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


class _GraphModel(Reparam):
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.dim = graph.dim

    def coordinates(self) -> list[tuple[str, Poly]]:
        return [(f"phi[{k}] ({self.graph.describe_key(key)})", f) for k, (key, f) in enumerate(self.graph.coordinates())]

    def coordinates_mod(self, p: int) -> list[Poly]:
        """The coordinates of φ mod ``p`` (rational coefficients: ``p`` must divide no frozen denominator)."""
        cached = getattr(self, "_mod", None)
        if cached is None or cached[0] != p:
            out = []
            for _key, phi, den in self.graph.expand():  # den·φ_key over Z: undo the scale mod p
                out.append((phi * pow(den, -1, p)).reduce(p) if den != 1 else phi.reduce(p))
            cached = (p, out)
            self._mod = cached
        return cached[1]


def parse_model(x: Any, dim: int | None, where: str = "model", budget: _Budget | None = None) -> Reparam:
    """The ``model`` object as a :class:`Reparam` (raises ``CertificateError`` step ``schema``).

    ``dim=None`` takes the dimension from the model (networks only).
    """
    if not isinstance(x, Mapping) or "kind" not in x:
        raise _fail(f"{where}: expected an object with a 'kind' ('polynomials', 'network' or 'graph'), got {_describe(x)}")
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
    if kind == "graph":
        return _GraphModel(parse_graph(x, dim, where))
    raise _fail(f"{where}.kind: {_describe(kind)} is not 'polynomials', 'network' or 'graph'")


class _Generators:
    """What a generator index means: ``F_a`` mod ``p`` and its gradient field."""

    def __init__(self, model: Reparam, spec: Mapping, p: int, *, expand: bool = True) -> None:
        self.model = model
        self.p = p
        self.kind = spec["kind"]
        self.seed = spec.get("seed")
        self._cache: dict[int, Field] = {}
        self._potentials: dict[int, Poly] = {}
        if self.kind == "coordinates" and not isinstance(model, (_PolynomialsModel, _GraphModel)):
            raise _fail("generators.kind 'coordinates' needs a 'polynomials' or 'graph' model; "
                        "use 'network-combinations' for a network", "generators")
        if self.kind == "network-combinations" and not isinstance(model, (_NetworkModel, _GraphModel)):
            raise _fail("generators.kind 'network-combinations' needs a 'network' or 'graph' model; "
                        "use 'coordinates' for a 'polynomials' model", "generators")
        if isinstance(model, _GraphModel):
            problem = model.graph.denominator_problem(p)
            if problem:
                raise _fail(problem, "generators")
        if self.kind == "coordinates" and isinstance(model, _GraphModel):
            expand = True  # the coordinates are the expanded path-lifting
        problem = path_budget_problem(model) if expand else None
        if problem:
            raise _fail(problem, "generators")

    def check_index(self, a: int, where: str, offset: int = 0) -> None:
        """Refuse a generator index the model does not have (``offset=1``: word leaves of a flow
        with a drift, where leaf ``a + 1`` is generator ``a``)."""
        if self.kind == "coordinates":
            n = len(self._coordinate_polys())
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

    def _coordinate_polys(self) -> list[Poly]:
        """φ's coordinates (over Z for ``polynomials``, mod ``p`` for a graph)."""
        if isinstance(self.model, _GraphModel):
            return self.model.coordinates_mod(self.p)
        return self.model.phi  # type: ignore[attr-defined]

    def potential(self, a: int) -> Poly:
        """``F_a`` mod ``p`` (generator ``a`` is ``∇F_a``)."""
        got = self._potentials.get(a)
        if got is None:
            if self.kind == "coordinates":
                got = self._coordinate_polys()[a]
                if isinstance(self.model, _PolynomialsModel):
                    got = got.reduce(self.p)
            else:
                net = network_of(self.model)
                assert net is not None
                got = net.combination(self.seed, a, self.p)
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
