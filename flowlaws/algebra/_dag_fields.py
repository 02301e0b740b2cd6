"""Seeded generators of a DAG network's gradient flow, evaluated at a point mod p.

Generator ``a`` is ``∇F_a`` with ``F_a = Σ c_key(a) φ_key``
(``docs/certificate-format.md``, ``"network-combinations"``): the network of a
:class:`~flowlaws.algebra._graph_network.GraphNetwork` run on seeded values
``z(a, number)`` (:func:`~flowlaws.algebra._modular.splitmix_values`, numbers
from :meth:`GraphNetwork.numbers`). Input nodes hold ``z(a, number)``, bias
nodes ``z(a, C)``; a hidden node's value is the weighted sum of its
predecessors' values, times ``z(a, node)`` for relu / leaky-relu nodes;
``F_a = Σ_outputs z(a, o) · (weighted sum into o)``. Frozen weights are exact
rationals taken mod ``p``; a shared parameter's derivative is the sum over its
edges. ``∇F_a`` is one backward pass, and brackets are evaluated exactly by
running the same passes on jets (forward-mode over reverse-mode), so nothing
is expanded: the cost of a word is a few passes whatever the number of paths.

The passes go level by level (:meth:`GraphNetwork.levels`). The edges into a
level are split into *parts*:

* a *run*: a full-height block ``(level's nodes) × (some predecessors)`` of
  trainable, unshared edges whose parameters are one contiguous range of θ in
  row-major or column-major order — the weight jet is a view of θ, used through
  :func:`~flowlaws.algebra._jets.jet_matvec`, and its gradient a slice of the
  result (the weight matrices and wide bias columns of a layered network);
* the *rest*: a dense block scattered from θ at precomputed positions (frozen
  values in the constant jet component only), its gradient gathered at the
  edges and summed per parameter (``np.add.reduceat``); or, when the block is
  sparse (convolution kernels, skip connections), the products taken edge by
  edge and summed per node and per parameter.

What this module does not check: that the network is small enough for any
budget (callers do), nor that ``prime`` is prime.

Examples
--------
>>> import numpy as np
>>> from flowlaws.algebra._graph_network import GraphNetwork
>>> net = GraphNetwork.layered((1, 1, 1), ("linear",), False)     # φ = w2 * w1
>>> gens = DagGenerators(net, seed=0, prime=16777213)
>>> v = gens.evaluate([(0,)], np.array([2, 3]))[0]
>>> bool(v[0] * 2 % gens.prime == v[1] * 3 % gens.prime)          # ∝ (w2, w1)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import InvalidArgument
from ._graph_network import GraphNetwork
from ._jets import GradientWords, jet_matvec, jet_mul, jet_outer
from ._modular import splitmix_values

__all__ = ["DagGenerators"]

_SPARSE = 4  # the rest is taken edge by edge when its block has more than 4x as many entries as edges
_MIN_RUN = 16  # a run smaller than this (and not the whole block) joins the rest
_MAX_RUNS = 8  # the largest runs of a level are views; the others join the rest


def _matvec(W: np.ndarray, x: np.ndarray, p: int) -> np.ndarray:
    """``jet_matvec``; a single column (a bias) is an elementwise product."""
    if W.shape[-1] == 1:
        return jet_mul(W[..., 0], x, p)
    return jet_matvec(W, x, p)


def _index(nodes: np.ndarray) -> slice | np.ndarray:
    """A slice when ``nodes`` is a contiguous ascending range (views instead of copies)."""
    if len(nodes) and np.array_equal(nodes, np.arange(nodes[0], nodes[0] + len(nodes))):
        return slice(int(nodes[0]), int(nodes[0]) + len(nodes))
    return nodes


class _Dense:
    """A part whose weights are a dense block ``(nj, Bθ, h, w)``."""

    need: slice | np.ndarray | None

    def apply(self, W: np.ndarray, x: np.ndarray, p: int) -> np.ndarray:
        return _matvec(W, x, p)

    def transpose_apply(self, W: np.ndarray, d: np.ndarray, p: int) -> np.ndarray:
        Wt = np.swapaxes(W, -1, -2)
        if not isinstance(self.need, slice):
            Wt = Wt[..., self.need, :]
        return _matvec(Wt, d, p)


@dataclass
class _Run(_Dense):
    """Full-height block of unshared trainable edges on ``theta[base : base + h*w]``."""

    src: slice | np.ndarray  # the w predecessor nodes (columns)
    base: int
    h: int
    w: int
    row_major: bool  # param(i, j) = base + i*w + j, else base + j*h + i
    need: slice | np.ndarray | None  # columns (local) whose nodes need a delta
    need_nodes: slice | np.ndarray | None

    def weights(self, theta: np.ndarray) -> np.ndarray:
        nj, bt = theta.shape[:2]
        flat = theta[..., self.base : self.base + self.h * self.w]
        if self.row_major:
            return flat.reshape(nj, bt, self.h, self.w)
        return np.swapaxes(flat.reshape(nj, bt, self.w, self.h), -1, -2)

    def write_gradient(self, grad: np.ndarray, delta: np.ndarray, x: np.ndarray, p: int) -> None:
        nj, B = delta.shape[:2]
        outer = jet_outer(delta, x, p) if self.row_major else jet_outer(x, delta, p)
        grad[..., self.base : self.base + self.h * self.w] = outer.reshape(nj, B, self.h * self.w)


@dataclass
class _Rest(_Dense):
    """The other edges into a level, as a dense block scattered from θ and frozen values."""

    src: slice | np.ndarray
    h: int
    m: int
    tpos: np.ndarray  # flat positions (i*m + j) of the trainable edges, sorted by parameter
    tpar: np.ndarray  # their parameters, sorted
    fpos: np.ndarray  # flat positions of the frozen edges
    fval: np.ndarray  # their values mod p
    full: np.ndarray | None  # parameters by position when the block is full of trainable edges
    starts: np.ndarray | None  # reduceat starts per distinct parameter (None: one edge per parameter)
    uniq: np.ndarray  # the distinct parameters, in ``starts`` order
    assign: bool  # parameters on no other edge: assign instead of accumulating
    need: slice | np.ndarray | None
    need_nodes: slice | np.ndarray | None

    def weights(self, theta: np.ndarray) -> np.ndarray:
        nj, bt = theta.shape[:2]
        if self.full is not None:
            return theta[..., self.full].reshape(nj, bt, self.h, self.m)
        M = np.zeros((nj, bt, self.h * self.m), dtype=np.int64)
        if len(self.tpos):
            M[..., self.tpos] = theta[..., self.tpar]
        if len(self.fpos):
            M[0][:, self.fpos] = self.fval[None, :]
        return M.reshape(nj, bt, self.h, self.m)

    def write_gradient(self, grad: np.ndarray, delta: np.ndarray, x: np.ndarray, p: int) -> None:
        if not len(self.tpos):
            return
        nj, B = delta.shape[:2]
        vals = jet_outer(delta, x, p).reshape(nj, B, self.h * self.m)[..., self.tpos]
        _scatter(grad, vals, self.starts, self.uniq, self.assign)


@dataclass
class _Sparse:
    """The other edges into a level when they are few: products taken edge by edge.

    Edges are listed by destination row; sums per row, per source column and per
    parameter are ``np.add.reduceat`` over precomputed orders.
    """

    src: slice | np.ndarray
    h: int
    rows: np.ndarray  # per edge: local destination row (ascending)
    cols: np.ndarray  # per edge: local source column
    eparam: np.ndarray | None  # per edge: its parameter, when no edge is frozen
    tidx: np.ndarray  # trainable edges, sorted by parameter
    tpar: np.ndarray
    fidx: np.ndarray  # frozen edges and their values mod p
    fval: np.ndarray
    row_starts: np.ndarray
    rows_present: np.ndarray | None  # None: every row has an edge
    starts: np.ndarray | None
    uniq: np.ndarray
    assign: bool
    back: np.ndarray  # edges into needed columns, sorted by column
    back_starts: np.ndarray
    need: np.ndarray | None  # needed columns (with an edge), ascending
    need_nodes: np.ndarray | None

    def weights(self, theta: np.ndarray) -> np.ndarray:
        if self.eparam is not None:
            return theta[..., self.eparam]
        nj, bt = theta.shape[:2]
        W = np.zeros((nj, bt, len(self.rows)), dtype=np.int64)
        W[..., self.tidx] = theta[..., self.tpar]
        W[0][:, self.fidx] = self.fval[None, :]
        return W

    def apply(self, W: np.ndarray, x: np.ndarray, p: int) -> np.ndarray:
        sums = np.add.reduceat(jet_mul(W, x[..., self.cols], p), self.row_starts, axis=-1) % p
        if self.rows_present is None:
            return sums
        out = np.zeros(sums.shape[:-1] + (self.h,), dtype=np.int64)
        out[..., self.rows_present] = sums
        return out

    def transpose_apply(self, W: np.ndarray, d: np.ndarray, p: int) -> np.ndarray:
        prod = jet_mul(W[..., self.back], d[..., self.rows[self.back]], p)
        return np.add.reduceat(prod, self.back_starts, axis=-1) % p

    def write_gradient(self, grad: np.ndarray, delta: np.ndarray, x: np.ndarray, p: int) -> None:
        if len(self.tidx):
            vals = jet_mul(delta[..., self.rows[self.tidx]], x[..., self.cols[self.tidx]], p)
            _scatter(grad, vals, self.starts, self.uniq, self.assign)


def _scatter(grad: np.ndarray, vals: np.ndarray, starts: np.ndarray | None, uniq: np.ndarray, assign: bool) -> None:
    """Add (or assign) edge gradients ``vals`` (sorted by parameter) into ``grad``."""
    if starts is not None:
        vals = np.add.reduceat(vals, starts, axis=-1)
    if assign:
        grad[..., uniq] = vals
    else:
        grad[..., uniq] += vals


@dataclass
class _Level:
    dst: slice | np.ndarray
    parts: list
    gate_local: slice | np.ndarray | None  # dst positions of gated nodes (None: no gate)
    gate_nums: np.ndarray


def _by_param(tpar: np.ndarray, uses: np.ndarray) -> tuple:
    """``(reduceat starts or None, distinct parameters, assign)`` for edges sorted by parameter."""
    uniq, starts = np.unique(tpar, return_index=True)
    assign = bool(np.all(uses[uniq] == 1)) if len(uniq) else True
    return (starts if len(uniq) < len(tpar) else None), uniq, assign


def _frozen_mod(value: Fraction, p: int, where: str) -> int:
    value = Fraction(value)
    if value.denominator % p == 0:
        raise InvalidArgument(
            f"prime={p} divides the denominator of the frozen weight {value} on edge {where} "
            "(node positions in topological order); "
            "the weight has no value mod p: choose another prime"
        )
    return value.numerator % p * pow(value.denominator, -1, p) % p


class DagGenerators(GradientWords):
    """Seeded generator fields ``∇F_a`` of a DAG network, evaluated mod ``p``.

    Words are right-nested tuples of generator indices: ``(a,)`` is ``∇F_a``
    and ``(a, b, c)`` is ``[∇F_a, [∇F_b, ∇F_c]]``. The interface of
    :class:`~flowlaws.algebra._network_fields.NetworkGenerators`.

    Parameters
    ----------
    net : GraphNetwork
    seed : int
        The seed of the generator combinations (``"network-combinations"``).
    prime : int

    Raises
    ------
    InvalidArgument
        ``prime`` divides the denominator of a frozen weight, or two edges join
        the same pair of nodes.

    Examples
    --------
    ``φ = a/2``: the frozen weight ``1/2`` is ``51`` mod 101 and has no value mod 2.

    >>> from fractions import Fraction
    >>> net = GraphNetwork(("input", "hidden", "output"), (None, "relu", None),
    ...                    ((0, 1, 0, None), (1, 2, None, Fraction(1, 2))), 1)
    >>> DagGenerators(net, seed=0, prime=101).dim
    1
    >>> DagGenerators(net, seed=0, prime=2)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: prime=2 divides the denominator of the frozen weight 1/2 on edge 1->2 (node positions in topological order); the weight has no value mod p: choose another prime
    """

    finite_generators = None

    def __init__(self, net: GraphNetwork, *, seed: int, prime: int) -> None:
        self.network = net
        self.seed = seed
        self.prime = prime
        self.dim = net.dim
        self._n = len(net.kinds)
        nums = np.array(net.numbers(), dtype=np.int64)
        kinds = net.kinds
        self._sources = np.array([v for v in range(self._n) if kinds[v] in ("input", "bias")], dtype=np.int64)
        self._source_nums = nums[self._sources]
        self._outputs = np.array([v for v in range(self._n) if kinds[v] == "output"], dtype=np.int64)
        self._output_nums = nums[self._outputs]
        seen = set()
        for src, dst, _, _ in net.edges:
            if (src, dst) in seen:
                raise InvalidArgument(f"two edges {src}->{dst}: join parallel weights into one edge (or one parameter)")
            seen.add((src, dst))
        uses = np.bincount([e[2] for e in net.edges if e[2] is not None], minlength=net.dim)
        levels = net.levels()
        depth = np.zeros(self._n, dtype=np.int64)
        for k, nodes in enumerate(levels):
            depth[list(nodes)] = k
        into: dict[int, list] = {}
        for e in net.edges:
            into.setdefault(e[1], []).append(e)
        self._levels = []
        for nodes in levels[1:]:
            dst = np.array(nodes, dtype=np.int64)
            edges = [e for v in nodes for e in into.get(v, [])]
            gated = [i for i, v in enumerate(nodes) if net.gated(v)]
            gate_local = None if not gated else (slice(None) if len(gated) == len(nodes) else np.array(gated))
            parts = self._parts(dst, edges, uses, depth) if edges else []
            self._levels.append(_Level(_index(dst), parts, gate_local, nums[dst[gated]] if gated else nums[:0]))
        self._accumulates = any(not isinstance(part, _Run) and not part.assign for lv in self._levels for part in lv.parts)

    # -- precomputed structure ------------------------------------------------------
    def _parts(self, dst: np.ndarray, edges: list, uses: np.ndarray, depth: np.ndarray) -> list:
        p = self.prime
        h = len(dst)
        row = {int(v): i for i, v in enumerate(dst)}
        srcs = np.array(sorted({e[0] for e in edges}), dtype=np.int64)
        col = {int(v): j for j, v in enumerate(srcs)}
        # runs only use full columns (h unshared trainable edges): P holds those columns' parameters
        count = np.zeros(len(srcs), dtype=np.int64)
        for s, _, par, _ in edges:
            if par is not None and uses[par] == 1:
                count[col[s]] += 1
        c_of = {int(j): c for c, j in enumerate(np.nonzero(count == h)[0])}
        P = np.empty((h, len(c_of)), dtype=np.int64)
        for s, d, par, _ in edges:
            if par is not None and uses[par] == 1 and col[s] in c_of:
                P[row[d], c_of[col[s]]] = par
        runs = []  # (size, first column, width, base, row-major)
        ar = np.arange(h)
        j = 0
        while j < len(srcs):
            if j not in c_of:
                j += 1
                continue
            c0 = c_of[j]
            base = P[0, c0]
            # column-major: column j is base..base+h-1, next columns follow
            wc = 0
            while j + wc in c_of and np.array_equal(P[:, c0 + wc], base + wc * h + ar):
                wc += 1
            # row-major: row 0 runs base..base+w-1 and row i starts at base + i*w
            wr = 0
            while j + wr in c_of and P[0, c0 + wr] == base + wr:
                wr += 1
            if not np.array_equal(P[:, c0 : c0 + wr], base + ar[:, None] * wr + np.arange(wr)[None, :]):
                wr = 0
            w, row_major = (wr, True) if wr >= wc else (wc, False)
            if w == 0:
                j += 1
                continue
            if h * w >= _MIN_RUN or w == len(srcs):
                runs.append((h * w, j, w, int(base), row_major))
            j += w
        parts: list = []
        in_run = np.zeros(len(srcs), dtype=bool)
        for _, j, w, base, row_major in sorted(runs, reverse=True)[:_MAX_RUNS]:
            cols = srcs[j : j + w]
            need, need_nodes = self._need(cols, depth)
            parts.append(_Run(_index(cols), base, h, w, row_major, need, need_nodes))
            in_run[j : j + w] = True
        rest = [e for e in edges if not in_run[col[e[0]]]]
        if rest:
            parts.append(self._rest(dst, rest, uses, depth, row, p))
        return parts

    def _need(self, cols: np.ndarray, depth: np.ndarray) -> tuple:
        need = np.nonzero(depth[cols] > 0)[0]
        if not len(need):
            return None, None
        if len(need) == len(cols):
            return slice(None), _index(cols)
        return need, cols[need]

    def _rest(self, dst: np.ndarray, edges: list, uses: np.ndarray, depth: np.ndarray, row: dict, p: int):
        srcs = np.array(sorted({e[0] for e in edges}), dtype=np.int64)
        col = {int(v): j for j, v in enumerate(srcs)}
        h, m = len(dst), len(srcs)
        if len(edges) * _SPARSE < h * m:
            return self._sparse(srcs, h, edges, uses, depth, row, col, p)
        trained = sorted((par, row[d] * m + col[s]) for s, d, par, _ in edges if par is not None)
        frozen = [(row[d] * m + col[s], _frozen_mod(val, p, f"{s}->{d}")) for s, d, par, val in edges if par is None]
        tpar = np.array([t[0] for t in trained], dtype=np.int64)
        tpos = np.array([t[1] for t in trained], dtype=np.int64)
        fpos = np.array([f[0] for f in frozen], dtype=np.int64)
        fval = np.array([f[1] for f in frozen], dtype=np.int64)
        full = None
        if len(tpos) == h * m:
            full = np.empty(h * m, dtype=np.int64)
            full[tpos] = tpar
        starts, uniq, assign = _by_param(tpar, uses)
        need, need_nodes = self._need(srcs, depth)
        return _Rest(_index(srcs), h, m, tpos, tpar, fpos, fval, full, starts, uniq, assign, need, need_nodes)

    def _sparse(self, srcs, h, edges, uses, depth, row, col, p) -> _Sparse:
        edges = sorted(edges, key=lambda e: (row[e[1]], col[e[0]]))
        rows = np.array([row[e[1]] for e in edges], dtype=np.int64)
        cols = np.array([col[e[0]] for e in edges], dtype=np.int64)
        params = np.array([-1 if e[2] is None else e[2] for e in edges], dtype=np.int64)
        fidx = np.nonzero(params < 0)[0]
        fval = np.array([_frozen_mod(edges[k][3], p, f"{edges[k][0]}->{edges[k][1]}") for k in fidx], dtype=np.int64)
        tidx = np.nonzero(params >= 0)[0]
        tidx = tidx[np.argsort(params[tidx], kind="stable")]
        tpar = params[tidx]
        starts, uniq, assign = _by_param(tpar, uses)
        present, row_starts = np.unique(rows, return_index=True)
        needed = depth[srcs] > 0
        back = np.nonzero(needed[cols])[0]
        back = back[np.argsort(cols[back], kind="stable")]
        need_cols, back_starts = np.unique(cols[back], return_index=True)
        return _Sparse(
            _index(srcs), h, rows, cols, params if not len(fidx) else None, tidx, tpar, fidx, fval,
            row_starts, None if len(present) == h else present, starts, uniq, assign, back, back_starts,
            need_cols if len(need_cols) else None, srcs[need_cols] if len(need_cols) else None,
        )

    # -- ∇F_a on jets -------------------------------------------------------------
    def gradient(self, theta: np.ndarray, gens: np.ndarray) -> np.ndarray:
        """``∇F_a(θ)`` for each ``a`` in ``gens``; ``θ`` is a jet ``(2**k, Bθ, D)``, result ``(2**k, B, D)``."""
        p, seed = self.prime, self.seed
        gens = np.asarray(gens, dtype=np.int64)
        nj, B = theta.shape[0], len(gens)
        values = np.zeros((nj, B, self._n), dtype=np.int64)
        values[0][:, self._sources] = splitmix_values(seed, gens[:, None], self._source_nums[None, :], p)
        weights, gates = [], []
        for lv in self._levels:
            Ws = [part.weights(theta) for part in lv.parts]
            pre = None
            for part, W in zip(lv.parts, Ws):
                y = part.apply(W, values[..., part.src], p)
                pre = y if pre is None else pre + y
            if len(lv.parts) > 1:
                pre %= p
            z = None
            if lv.gate_local is not None:
                z = splitmix_values(seed, gens[:, None], lv.gate_nums[None, :], p)
                if isinstance(lv.gate_local, slice):
                    np.multiply(pre, z, out=pre)
                    np.remainder(pre, p, out=pre)
                else:
                    pre[..., lv.gate_local] = pre[..., lv.gate_local] * z % p
            values[..., lv.dst] = pre
            weights.append(Ws)
            gates.append(z)
        delta = np.zeros((nj, B, self._n), dtype=np.int64)
        delta[0][:, self._outputs] = splitmix_values(seed, gens[:, None], self._output_nums[None, :], p)
        grad = np.zeros((nj, B, self.dim), dtype=np.int64)
        for lv, Ws, z in zip(reversed(self._levels), reversed(weights), reversed(gates)):
            d = delta[..., lv.dst]
            if z is not None and isinstance(lv.gate_local, slice):
                d = d * z % p
            elif z is not None:
                d = d.copy()
                d[..., lv.gate_local] = d[..., lv.gate_local] * z % p
            for part, W in zip(lv.parts, Ws):
                part.write_gradient(grad, d, values[..., part.src], p)
                if part.need is not None:
                    c = part.transpose_apply(W, d, p)
                    delta[..., part.need_nodes] = (delta[..., part.need_nodes] + c) % p
        return grad % p if self._accumulates else grad
