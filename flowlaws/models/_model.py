"""The ``Model`` object: parameters, the reparametrization φ, its generators.

A model is either a **network** — a DAG of neurons (``model.network``), built
by ``mlp`` (layered), ``from_graph``, ``resnet_block``, ``conv1d``, torch
imports; φ is its path-lifting, never listed by the point-evaluation engine —
or explicit **polynomials**. Both know their parameter names and describe
themselves as the certificate's ``model`` JSON.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import BudgetExceeded

__all__ = ["Model", "DEFAULT_MAX_PHI_TERMS"]

Poly = dict[tuple[int, ...], int]

DEFAULT_MAX_PHI_TERMS = 400_000


class Model:
    """A reparametrized model ``f(θ, x) = g(φ(θ), x)``.

    Build it with :func:`flowlaws.models.mlp`, :func:`~flowlaws.models.factorization`,
    :func:`~flowlaws.models.from_polynomials`, … rather than directly.

    Attributes
    ----------
    variables : tuple of str
        Parameter names, e.g. ``"W1[0,2]"``; ``params`` is an alias.
    dim : int
        Number of parameters ``D``.
    kind : {"network", "polynomials"}
    network : GraphNetwork or None
        For networks: the DAG of neurons the engine evaluates.
    layers, activations, bias
        For layered networks (``mlp``): widths ``n0..nL``, hidden activations,
        biases; ``layers`` is None for other networks.
    name : str
        A short description (the CLI spec when there is one).

    Examples
    --------
    >>> import flowlaws as fl
    >>> m = fl.models.mlp([2, 3, 1], activation="relu")
    >>> m.dim, m.variables[:2]
    (9, ('W1[0,0]', 'W1[0,1]'))
    """

    def __init__(
        self,
        *,
        variables: tuple[str, ...],
        kind: str,
        name: str,
        phi: list[Poly] | None = None,
        layers: tuple[int, ...] | None = None,
        activations: tuple[str, ...] | None = None,
        bias: bool = False,
        network: Any = None,
        max_phi_terms: int = DEFAULT_MAX_PHI_TERMS,
    ) -> None:
        self.variables = tuple(variables)
        self.kind = kind
        self.name = name
        self._phi = phi
        self.layers = layers
        self.activations = activations
        self.bias = bias
        self._graph = None
        self._network = network
        self._max_phi_terms = max_phi_terms
        self.metric = "euclidean"

    @property
    def network(self):
        """The :class:`~flowlaws.algebra._graph_network.GraphNetwork` of a network model (else None)."""
        if self._network is None and self.kind == "network" and self.layers is not None:
            from ..algebra._graph_network import GraphNetwork

            self._network = GraphNetwork.layered(tuple(self.layers), tuple(self.activations), bool(self.bias))
        return self._network

    @property
    def graph(self):
        """The architecture as a ``networkx.DiGraph`` (None for bare polynomial models)."""
        if self._graph is None and self.kind == "network" and self.layers is not None:
            from ._mlp_graph import mlp_graph

            self._graph = mlp_graph(self.layers, self.activations, self.bias, self.variables)
        return self._graph

    @graph.setter
    def graph(self, G) -> None:
        self._graph = G

    def draw(self, path: str | None = None, *, ax=None):
        """Draw the architecture with matplotlib (trainable, frozen, shared weights distinguished).

        Returns the matplotlib figure; saves it to ``path`` when given.
        """
        from ._draw import draw_model

        return draw_model(self, path=path, ax=ax)

    @property
    def params(self) -> tuple[str, ...]:
        return self.variables

    @property
    def dim(self) -> int:
        return len(self.variables)

    def __repr__(self) -> str:
        return f"<flowlaws Model {self.name}: D={self.dim}>"

    # -- φ ------------------------------------------------------------------------
    def phi_polynomials(self, *, max_terms: int | None = None) -> list[Poly]:
        """φ's coordinates as integer polynomials ``{exponents: coefficient}``.

        For a network this expands the path-lifting; it raises
        :class:`~flowlaws.errors.BudgetExceeded` past ``max_terms`` monomials.
        """
        max_terms = self._max_phi_terms if max_terms is None else max_terms
        if self._phi is None:
            from ._paths import network_path_lifting, path_lifting

            if self.layers is not None:
                self._phi = path_lifting(self.layers, self.activations, self.bias, max_terms=max_terms)
            else:
                self._phi = integer_coordinates(network_path_lifting(self.network, max_terms=max_terms))
        total = sum(len(c) for c in self._phi)
        if total > max_terms:
            raise BudgetExceeded(
                f"φ of {self.name} has {total} monomials, over max_terms={max_terms}; "
                "raise max_terms or use the point-evaluation route"
            )
        return self._phi

    @property
    def phi(self) -> list[Any]:
        """φ as a list of SymPy expressions (small models only)."""
        import sympy

        syms = [sympy.Symbol(v) for v in self.variables]
        out = []
        for coord in self.phi_polynomials():
            expr = sympy.Integer(0)
            for mono, c in coord.items():
                term = sympy.Integer(c)
                for s, e in zip(syms, mono):
                    if e:
                        term *= s**e
                expr += term
            out.append(expr)
        return out

    def homogeneous(self) -> bool:
        """True when every coordinate of φ is a homogeneous polynomial."""
        if self.kind == "network" and self.layers is not None:
            return not self.bias or all(a != "linear" for a in self.activations or ())
        if self.kind == "network":
            return self.network.homogeneous()
        return all(len({sum(m) for m in c}) <= 1 for c in self.phi_polynomials())

    # -- JSON ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The certificate's ``model`` object (``docs/certificate-format.md``)."""
        if self.kind == "network" and self.layers is None:
            return self.network.to_json()
        if self.kind == "network":
            return {
                "kind": "network",
                "layers": list(self.layers),
                "activations": list(self.activations),
                "bias": bool(self.bias),
            }
        return {
            "kind": "polynomials",
            "phi": [poly_json(coord) for coord in self.phi_polynomials()],
        }


def poly_json(poly: Poly) -> list[list[Any]]:
    """A dense integer polynomial ``{exponents: coefficient}`` as a certificate POLY
    (``[[coefficient string, [[variable, exponent], ...]], ...]``, largest exponents first).

    >>> poly_json({(2, 0): 1, (0, 1): -3})
    [['1', [[0, 2]]], ['-3', [[1, 1]]]]
    """
    return [[str(c), [[i, e] for i, e in enumerate(m) if e]] for m, c in sorted(poly.items(), reverse=True)]


def integer_coordinates(coords: list[dict[tuple[int, ...], Fraction]]) -> list[Poly]:
    """Scale each coordinate to integer coefficients, drop constants and constant coordinates.

    Scaling a coordinate of φ by a non-zero constant, or adding a constant,
    leaves the span of its gradient unchanged, hence every count and law; a
    constant coordinate has zero gradient and generates nothing.
    """
    from math import lcm

    out = []
    for coord in coords:
        coord = {m: c for m, c in coord.items() if any(m) and c}
        den = lcm(*(Fraction(c).denominator for c in coord.values())) if coord else 1
        if coord:
            out.append({m: int(Fraction(c) * den) for m, c in coord.items()})
    return out
