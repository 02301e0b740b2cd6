"""The structured route of ``analyze`` for layered ReLU / leaky-ReLU networks: rescaling laws and a
triangular rank proof, in time and memory linear in the number of parameters.

For a fully connected network whose hidden activations are all positively
homogeneous, every coordinate of the path-lifting φ is one path's product of
weights ``φ_P = Π_{e∈P} θ_e``, and ``∇φ_P`` has one nonzero per layer. A rank
``≥ r`` at one point proves ``#laws ≤ D − r`` (the rank at a point never exceeds
the generic rank, and mod p never exceeds the rank over Q), so no dense matrix
is needed: the witness lists ``D − H`` paths (``H`` hidden neurons), one pivot
edge each, whose gradients form a triangular submatrix with nonzero diagonal.

The witness. Every edge is a pivot except, for each hidden neuron, its edge to
neuron 0 of the next layer (its *designated* outgoing edge). The path of a pivot
edge ``a → b`` of layer ``l`` runs backward from ``a`` through neuron 0 of every
earlier layer and forward from ``b`` along designated edges (``b → 0 → … → 0``);
a bias edge's path starts at its bias node. Listed layer by layer from the
input side, the other edges of a path are either in earlier layers or
designated (never pivots), so the pivot submatrix is lower triangular, its
diagonal the products of the other weights on each path: nonzero mod p at a
point with nonzero entries.

The laws are ``‖in(v)‖² − ‖out(v)‖²`` for every hidden neuron ``v`` (bias edges
count as incoming), verified exactly by the path condition of
:func:`diagonal_law_conserved`, and independent by a triangular argument too
(pivot: ``v``'s edge from neuron 0 of the previous layer, laws listed from the
output side). Together: exactly ``H`` laws.

Examples
--------
>>> w = witness((2, 3, 1), False)
>>> w.rank, w.paths.shape, w.pivots.tolist()
(6, (6, 3), [0, 1, 2, 3, 4, 5])
>>> w.paths[0].tolist()                 # pivot W1[0,0]: input 0 -> hidden 0 -> output 0
[0, 0, 0]
>>> laws = rescaling_laws((2, 3, 1), False)
>>> len(laws), sorted(laws[0].items())   # hidden neuron 0: W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2
(3, [(((0, 2),), 1), (((1, 2),), 1), (((6, 2),), -1)])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..algebra._lie import LieRank
from .bounds import Bounds

__all__ = ["Witness", "witness", "RescalingLaws", "rescaling_laws", "diagonal_law_conserved", "triangular_stage", "offsets"]

Progress = Callable[[str, int, int], None] | None


def offsets(layers: Sequence[int], bias: bool) -> tuple[list[int], list[int]]:
    """Start of ``W_l`` and of ``b_l`` (``-1`` without bias) for ``l = 1..L``, indexed ``l - 1``.

    >>> offsets((2, 3, 1), True)
    ([0, 9], [6, 12])
    """
    w_off, b_off, pos = [], [], 0
    for l in range(1, len(layers)):
        w_off.append(pos)
        pos += layers[l] * layers[l - 1]
        b_off.append(pos if bias else -1)
        pos += layers[l] if bias else 0
    return w_off, b_off


@dataclass(frozen=True)
class Witness:
    """The triangular rank witness: one path per row (a node index per layer, ``-1`` before its
    start, the width of the layer for a bias node) and its pivot parameter, rows in order."""

    layers: tuple[int, ...]
    bias: bool
    paths: np.ndarray  # (rank, L + 1) int32
    pivots: np.ndarray  # (rank,) int64

    @property
    def rank(self) -> int:
        return int(self.pivots.shape[0])

    def edges(self) -> np.ndarray:
        """Parameter index of every path's edge per layer (``-1`` before the path starts)."""
        return path_edges(self.layers, self.bias, self.paths)

    def to_json(self) -> dict:
        """The certificate's ``triangular`` object (``docs/certificate-format.md``)."""
        return {"paths": self.paths.ravel().tolist(), "pivots": self.pivots.tolist()}


def path_edges(layers: Sequence[int], bias: bool, paths: np.ndarray) -> np.ndarray:
    """``(rows, L)`` parameter indices of the paths' edges, ``-1`` where a path has not started."""
    w_off, b_off = offsets(layers, bias)
    out = np.full((paths.shape[0], len(layers) - 1), -1, dtype=np.int64)
    for l in range(1, len(layers)):
        src, dst = paths[:, l - 1].astype(np.int64), paths[:, l].astype(np.int64)
        weight = (src >= 0) & (src < layers[l - 1])
        out[weight, l - 1] = w_off[l - 1] + dst[weight] * layers[l - 1] + src[weight]
        if bias:
            b = src == layers[l - 1]
            out[b, l - 1] = b_off[l - 1] + dst[b]
    return out


def witness(layers: Sequence[int], bias: bool) -> Witness:
    """The triangular witness of rank ``D − H`` of a layered homogeneous network (module docstring)."""
    layers = tuple(int(n) for n in layers)
    L = len(layers) - 1
    w_off, b_off = offsets(layers, bias)
    paths, pivots = [], []
    for l in range(1, L + 1):
        n_out, n_in = layers[l], layers[l - 1]
        i, j = np.divmod(np.arange(n_out * n_in, dtype=np.int64), n_in)
        keep = (i != 0) if l >= 2 else np.ones(i.shape, dtype=bool)  # W_l[0, j]: designated edges of layer l-1
        i, j = i[keep], j[keep]
        P = np.zeros((i.size, L + 1), dtype=np.int32)
        P[:, l - 1], P[:, l] = j, i
        paths.append(P)
        pivots.append(w_off[l - 1] + i * n_in + j)
        if bias:
            P = np.zeros((n_out, L + 1), dtype=np.int32)
            P[:, : l - 1] = -1
            P[:, l - 1], P[:, l] = n_in, np.arange(n_out)
            paths.append(P)
            pivots.append(b_off[l - 1] + np.arange(n_out, dtype=np.int64))
    return Witness(layers, bias, np.concatenate(paths), np.concatenate(pivots))


def diagonal(w: Witness, point: np.ndarray, prime: int) -> np.ndarray:
    """The pivot entries ``∂φ_P/∂θ_pivot`` mod ``prime`` (product of the path's other weights)."""
    E = w.edges()
    vals = np.where(E >= 0, point[np.maximum(E, 0)] % prime, 1).astype(np.int64)
    vals[E == w.pivots[:, None]] = 1
    out = np.ones(E.shape[0], dtype=np.int64)
    for col in vals.T:
        out = out * col % prime
    return out


class RescalingLaws(Sequence):
    """The laws ``‖in(v)‖² − ‖out(v)‖²`` of every hidden neuron, from the output side, held as
    NumPy arrays (no Python object per term until one is asked for).

    Item ``k`` is law ``k`` as a sparse polynomial ``{((v, 2),): c}``; :meth:`terms` gives its
    ``(variables, coefficients)`` arrays, :meth:`to_json` the certificate's POLYs and
    :meth:`law_objects` lazy :class:`~flowlaws.laws.Law` objects.

    >>> laws = RescalingLaws((1, 2, 1), True)
    >>> len(laws), laws.terms(0)[0].tolist(), laws.terms(0)[1].tolist()
    (2, [0, 2, 4], [1, 1, -1])
    """

    def __init__(self, layers: Sequence[int], bias: bool) -> None:
        self.layers, self.bias = tuple(int(n) for n in layers), bool(bias)
        w_off, b_off = offsets(self.layers, self.bias)
        self._blocks = []  # per hidden layer from the output side: (first law, variables, coefficients)
        first = 0
        for l in range(len(self.layers) - 2, 0, -1):
            n_in, n_h, n_out = self.layers[l - 1], self.layers[l], self.layers[l + 1]
            v = np.arange(n_h, dtype=np.int64)[:, None]
            cols = [w_off[l - 1] + v * n_in + np.arange(n_in, dtype=np.int64)]
            if self.bias:
                cols.append(b_off[l - 1] + v)
            n_pos = n_in + (1 if self.bias else 0)
            cols.append(w_off[l] + np.arange(n_out, dtype=np.int64) * n_h + v)
            variables = np.concatenate(cols, axis=1)
            coefs = np.r_[np.ones(n_pos, dtype=np.int64), -np.ones(n_out, dtype=np.int64)]
            self._blocks.append((first, variables, coefs))
            first += n_h
        self._count = first

    def __len__(self) -> int:
        return self._count

    def layer_blocks(self) -> list[tuple[int, int, int]]:
        """``(hidden layer, first law, count)`` per hidden layer, from the output side."""
        layers = range(len(self.layers) - 2, 0, -1)
        return [(l, first, variables.shape[0]) for l, (first, variables, _) in zip(layers, self._blocks)]

    def _where(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        for first, variables, coefs in self._blocks:
            if first <= k < first + variables.shape[0]:
                return variables[k - first], coefs
        raise IndexError(k)

    def terms(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Law ``k``'s variables (increasing) and coefficients."""
        variables, coefs = self._where(k)
        order = np.argsort(variables, kind="stable")
        return variables[order], coefs[order]

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        variables, coefs = self.terms(k)
        return {((v, 2),): c for v, c in zip(variables.tolist(), coefs.tolist())}

    def pivots(self) -> np.ndarray:
        """Pivot of every law: ``W_l[v, 0]`` (its first variable), triangular in this order."""
        return np.concatenate([variables[:, 0] for _, variables, _ in self._blocks]) if self._blocks else \
            np.zeros(0, dtype=np.int64)

    def verify(self) -> bool:
        """Exact check of every law by the potential ``π`` = 1 at its neuron, 0 elsewhere
        (:func:`diagonal_law_conserved`): each coefficient is ``π(head) − π(tail)`` of its edge, and
        the law has a term on every edge at its neuron, once."""
        head, tail, degree, start = _edge_ends(self.layers, self.bias)
        for (_first, variables, coefs), l in zip(self._blocks, range(len(self.layers) - 2, 0, -1)):
            neuron = start[l] + np.arange(variables.shape[0], dtype=np.int64)[:, None]
            h, t = head[variables], tail[variables]
            if not np.array_equal((h == neuron).astype(np.int64) - (t == neuron), np.broadcast_to(coefs, h.shape)):
                return False
            ordered = np.sort(variables, axis=1)
            if (ordered[:, 1:] == ordered[:, :-1]).any():
                return False
            if not (degree[neuron[:, 0]] == variables.shape[1]).all():
                return False
        return True

    def to_json(self) -> list:
        """The certificate's ``laws``: one POLY ``[["c", [[v, 2]]], ...]`` per law."""
        out = []
        for k in range(len(self)):
            variables, coefs = self.terms(k)
            out.append([["1" if c > 0 else "-1", [[v, 2]]] for v, c in zip(variables.tolist(), coefs.tolist())])
        return out

    def law_objects(self, variables: tuple[str, ...]) -> "LazyLaws":
        """The laws as :class:`~flowlaws.laws.Law`, each built when first read."""
        return LazyLaws(self, variables)


class LazyLaws(Sequence):
    """:class:`~flowlaws.laws.Law` objects of a :class:`RescalingLaws`, built on access; a slice is
    a view (nothing built).

    >>> laws = RescalingLaws((2, 3, 1), False).law_objects(("a", "b", "c", "d", "e", "f", "u", "v", "w"))
    >>> len(laws), str(laws[0]), len(laws[1:]), str(laws[1:][0])
    (3, 'a^2 + b^2 - u^2', 2, 'c^2 + d^2 - v^2')
    """

    def __init__(self, laws: RescalingLaws, variables: tuple[str, ...], start: int = 0, stop: int | None = None) -> None:
        self._laws, self._variables = laws, variables
        self._start, self._stop = start, len(laws) if stop is None else stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, k):  # type: ignore[override]
        from ..laws import Law

        if isinstance(k, slice):
            start, stop, step = k.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return LazyLaws(self._laws, self._variables, self._start + start, self._start + max(start, stop))
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        variables, coefs = self._laws.terms(self._start + k)
        return Law(tuple((c, ((v, 2),)) for v, c in zip(variables.tolist(), coefs.tolist())), self._variables)

    def layer_blocks(self) -> list[tuple[int, int, int]] | None:
        """``(hidden layer, first position, count)`` of the laws, neuron ``v`` at ``first + v``
        (None for a view)."""
        if self._start or self._stop != len(self._laws):
            return None
        return self._laws.layer_blocks()

    def __repr__(self) -> str:
        return f"<{len(self)} rescaling laws, built on access>"


def _edge_ends(layers: Sequence[int], bias: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per parameter its head and tail node (neuron ``i`` of layer ``l`` is ``start[l] + i``; a bias
    edge's tail is ``-1``), per neuron its number of edges, and ``start``."""
    start = np.r_[0, np.cumsum(layers)].astype(np.int64)
    heads, tails = [], []
    for l in range(1, len(layers)):
        n_in, n_out = layers[l - 1], layers[l]
        i, j = np.divmod(np.arange(n_out * n_in, dtype=np.int64), n_in)
        heads.append(start[l] + i)
        tails.append(start[l - 1] + j)
        if bias:
            heads.append(start[l] + np.arange(n_out, dtype=np.int64))
            tails.append(np.full(n_out, -1, dtype=np.int64))
    head, tail = np.concatenate(heads), np.concatenate(tails)
    degree = np.bincount(np.r_[head, tail[tail >= 0]], minlength=int(start[-1]))
    return head, tail, degree, start


def rescaling_laws(layers: Sequence[int], bias: bool) -> list[dict]:
    """``Σ_in θ² − Σ_out θ²`` per hidden neuron as sparse polynomials, from the output side.

    The order makes the independence pivots (:func:`independence_pivots`) triangular.
    """
    return list(RescalingLaws(layers, bias))


def independence_pivots(layers: Sequence[int], bias: bool) -> list[int]:
    """Pivot of every rescaling law in :func:`rescaling_laws`' order: ``W_l[v, 0]``."""
    return RescalingLaws(layers, bias).pivots().tolist()


def diagonal_law_conserved(layers: Sequence[int], bias: bool, law: dict) -> bool:
    """Whether ``h = Σ c_e θ_e²`` is conserved on the layered network with homogeneous activations.

    ``⟨∇h, ∇φ_P⟩ = 2 φ_P Σ_{e∈P} c_e``, so ``h`` is conserved when the coefficients sum to 0 along
    every path from a source (input or bias node) to an output: exactly when node potentials
    ``π`` exist with ``π = 0`` at sources and outputs and ``c_(u→v) = π(v) − π(u)`` on every edge
    (every node of a full layered network lies on a path between them). Laws with another shape
    return False (not decided here).

    >>> diagonal_law_conserved((2, 2, 1), False, {((0, 2),): 1, ((1, 2),): 1, ((4, 2),): -1})
    True
    >>> diagonal_law_conserved((2, 2, 1), False, {((0, 2),): 1, ((4, 2),): -1})
    False
    """
    w_off, b_off = offsets(layers, bias)
    coef: dict[int, int] = {}
    for mono, c in law.items():
        if len(mono) != 1 or mono[0][1] != 2:
            return False
        coef[mono[0][0]] = coef.get(mono[0][0], 0) + int(c)
    pi_prev: dict[int, int] = {}  # nonzero potentials of the previous layer
    for l in range(1, len(layers)):
        n_in, n_out = layers[l - 1], layers[l]
        lo, hi = w_off[l - 1], w_off[l - 1] + n_in * n_out
        special: dict[int, dict[int, int]] = {}  # dst -> {src: pi(src) + c}
        for e, c in coef.items():
            if lo <= e < hi:
                dst, src = divmod(e - lo, n_in)
                special.setdefault(dst, {})[src] = pi_prev.get(src, 0) + c
            elif bias and b_off[l - 1] <= e < b_off[l - 1] + n_out:
                special.setdefault(e - b_off[l - 1], {})[n_in] = c
        for src, value in pi_prev.items():
            for dst in range(n_out):
                special.setdefault(dst, {}).setdefault(src, value + coef.get(lo + dst * n_in + src, 0))
        indegree = n_in + (1 if bias else 0)
        pi: dict[int, int] = {}
        for dst, incoming in special.items():
            values = set(incoming.values())
            if len(incoming) < indegree:
                values.add(0)  # the other incoming edges: potential 0, coefficient 0
            if len(values) != 1:
                return False
            if (value := values.pop()) != 0:
                pi[dst] = value
        pi_prev = pi
    return not pi_prev  # potentials vanish at the outputs


def triangular_stage(problem, family, bounds: Bounds, progress: Progress) -> Iterator[Bounds]:
    """The structured route's laws and rank (module docstring); certified when they meet."""
    model = problem.model
    layers, bias = tuple(model.layers), bool(model.bias)
    t = time.perf_counter()
    if progress is not None:
        progress("triangular witness", 0, problem.dim)
    w = witness(layers, bias)
    diag = diagonal(w, problem.point, problem.prime)
    if not diag.all():  # the point has no zero entry mod a prime, so this cannot happen
        raise AssertionError("a pivot entry of the triangular witness vanishes at the rank point")
    bounds = bounds.with_rank(LieRank(rank=w.rank, words=[], saturated=True)).with_rank_proof(w)
    bounds = bounds.timed("rank", time.perf_counter() - t)
    yield bounds
    if problem.max_degree < 2:
        return
    t = time.perf_counter()
    laws = RescalingLaws(layers, bias)
    pivots = laws.pivots()
    if not laws.verify() or not (problem.law_point[pivots] % problem.prime).all():
        raise AssertionError("a rescaling law failed its exact check; please report this")
    bounds = replace(bounds, laws=laws).with_law_pivots(pivots).with_search(None)
    yield bounds.timed("laws", time.perf_counter() - t)
