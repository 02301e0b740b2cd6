"""Law search support for any :class:`GraphNetwork`, without listing its paths.

* :func:`dag_grading`: the relations of the ``(Z/2)^D`` grading under which
  every coordinate of φ is homogeneous. A coordinate collects the paths of one
  *key* (its start — an input node, or the constant ``1`` for every bias node —,
  its set of relu / leaky-relu nodes, its output). A path is a chain of
  *segments* between consecutive key nodes whose interior nodes are linear, so
  two paths of one key differ segment by segment, and the relations are the
  differences of parities of segments with the same ends. One forward pass per
  segment start keeps a reference parity per node reached through linear
  nodes and adds, at every further edge into a node, the XOR of the two
  parities (a spanning tree and its cycles).
* :class:`DagLocalVerifier`: the exact check of a law ``h`` on the parameters
  ``S`` of its support. The generic combination ``Φ = Σ_key m_key φ_key`` (one
  indeterminate per start, per gated node, per output) is ``R + Φ_S`` with
  ``R`` free of ``S``; ``Φ_S`` lives on the region ``M`` of nodes lying on a
  path from the tail to the head of an edge carrying ``S``. Inside ``M`` the
  values with and without ``S`` edges are computed exactly; what enters ``M``
  from outside, and what leaves it, are replaced by independent indeterminates
  (all bias nodes share one: they carry the same constant), except the values
  of nodes reached by frozen edges only, computed exactly (a frozen layer's
  outputs are combinations of the inputs, not free values). An identity
  ``⟨∇h, ∇_S P⟩ ≡ 0`` there survives substituting the actual values (they do
  not involve ``S``), so ``h`` is a law: a sufficient, exact check over Q.

What this module does not check: that the network came from a validated graph
(every node on an input/bias → output path; :func:`flowlaws.models._graph.graph_network`
guarantees it). Nodes off such paths are ignored by the grading.

Examples
--------
>>> net = GraphNetwork.layered((1, 2, 1), ("linear",), False)   # φ = x2 x0 + x3 x1
>>> sorted(dag_grading(net).rows.values())                     # x0 x2 ~ x1 x3
[15]
>>> check = DagLocalVerifier(net)
>>> h = {((0, 2),): 1, ((1, 2),): 1, ((2, 2),): -1, ((3, 2),): -1}   # ‖W1‖² − ‖W2‖²
>>> check(h), check({((0, 2),): 1, ((3, 2),): -1})
(True, False)
"""

from __future__ import annotations

import heapq
from fractions import Fraction

from ..errors import BudgetExceeded
from ._gf2 import GF2Basis
from ._graph_network import GraphNetwork
from ._laws import SparsePoly, to_flint
from ._polynomial_fields import balanced_sum, pairing, sparse_gradient

__all__ = ["dag_grading", "DagLocalVerifier", "adjacency"]

#: Above this many candidate relations :func:`dag_grading` merges segment starts (a coarser grading).
MAX_RELATIONS = 3_000_000
#: Above this many terms in the local polynomial :class:`DagLocalVerifier` gives up (not proved).
MAX_TERMS = 400_000

In = tuple[int, "int | None", "Fraction | None"]  # (other end, param, frozen value)


def adjacency(net: GraphNetwork) -> tuple[list[list[In]], list[list[In]]]:
    """Per node: its in-edges ``(src, param, value)`` and out-edges ``(dst, param, value)``."""
    n = len(net.kinds)
    ins: list[list[In]] = [[] for _ in range(n)]
    outs: list[list[In]] = [[] for _ in range(n)]
    for src, dst, param, value in net.edges:
        ins[dst].append((src, param, value))
        outs[src].append((dst, param, value))
    return ins, outs


def _linear_hidden(net: GraphNetwork, x: int) -> bool:
    return net.kinds[x] == "hidden" and not net.gated(x)


def _live(net: GraphNetwork, ins: list[list[In]]) -> set[int]:
    """Nodes with a path to an output."""
    live = {x for x, kind in enumerate(net.kinds) if kind == "output"}
    for x in range(len(net.kinds) - 1, -1, -1):
        if x in live:
            for y, _, _ in ins[x]:
                live.add(y)
    return live


def _fed(net: GraphNetwork, outs: list[list[In]]) -> set[int]:
    """Nodes reached from an input or bias node."""
    fed = {x for x, kind in enumerate(net.kinds) if kind in ("input", "bias")}
    for x in range(len(net.kinds)):
        if x in fed:
            for z, _, _ in outs[x]:
                fed.add(z)
    return fed


# -- grading ------------------------------------------------------------------------------
def _segment_cost(net: GraphNetwork, ins: list[list[In]], outs: list[list[In]], group: list[int]) -> int:
    """How many candidate relations the segments from ``group`` give (extra edges into reached nodes)."""
    start = set(group)
    through = set(group)
    seen: set[int] = set()
    frontier = [z for s in group for z, _, _ in outs[s]]
    while frontier:
        x = frontier.pop()
        if x in seen:
            continue
        seen.add(x)
        if _linear_hidden(net, x) and x not in start:
            through.add(x)
            frontier += [z for z, _, _ in outs[x]]
    return sum(max(sum(y in through for y, _, _ in ins[x]) - 1, 0) for x in seen)


def _segment_relations(net, ins, outs, live, group: list[int], basis: GF2Basis) -> int:
    """Add the relations among segments from ``group`` (one start, or a merged set); return their count."""
    start = set(group)
    ref = {s: 0 for s in group}
    heap = sorted({z for s in group for z, _, _ in outs[s]})
    queued = set(heap)
    added = 0
    while heap:
        x = heapq.heappop(heap)
        if x not in live:
            continue
        r0 = None
        for y, param, _ in ins[x]:
            ry = ref.get(y)
            if ry is None:
                continue
            r = ry ^ (1 << param) if param is not None else ry
            if r0 is None:
                r0 = r
            elif r != r0:
                basis.add(r ^ r0)
                added += 1
        if r0 is None or x in start or not _linear_hidden(net, x):
            continue  # a key node ends the segment
        ref[x] = r0
        for z, _, _ in outs[x]:
            if z not in queued:
                queued.add(z)
                heapq.heappush(heap, z)
    return added


def _starts(net: GraphNetwork, fed: set[int]) -> list[list[int]]:
    """Segment starts: each input, the constant (all bias nodes), each reached gated node."""
    inputs = [[x] for x, k in enumerate(net.kinds) if k == "input"]
    biases = [x for x, k in enumerate(net.kinds) if k == "bias"]
    gated = [[x] for x in range(len(net.kinds)) if net.gated(x) and x in fed]
    return inputs + ([biases] if biases else []) + gated


def _merge(net: GraphNetwork, groups: list[list[int]], costs: list[int], threshold: int) -> list[list[int]]:
    """Merge the starts whose segments cost more than ``threshold``: inputs together, gated nodes by level.

    The span grows (differences of segments from different starts are added)
    but stays sound for the law search: a coarser grading.
    """
    level = {x: d for d, nodes in enumerate(net.levels()) for x in nodes}
    kept: list[list[int]] = []
    merged: dict[tuple, list[int]] = {}
    for group, cost in zip(groups, costs):
        x = group[0]
        if cost <= threshold or net.kinds[x] == "bias":
            kept.append(group)
        else:
            key = ("input",) if net.kinds[x] == "input" else ("gated", level[x])
            merged.setdefault(key, []).extend(group)
    return kept + [merged[k] for k in sorted(merged)]


def dag_grading(net: GraphNetwork, *, max_relations: int = MAX_RELATIONS) -> GF2Basis:
    """Relations among the parities of paths sharing a key, without listing paths.

    Parameters
    ----------
    net : GraphNetwork
    max_relations : int
        When the segments from single starts would give more candidate relations
        than this, the starts with the largest segment regions are merged
        (inputs together, gated nodes level by level): more relations, i.e. a
        coarser grading with larger blocks. A coarser grading is still sound
        for :class:`~flowlaws.algebra._laws.LawSearch` (every field stays
        homogeneous); a finer one (fewer relations, e.g. the empty set on a
        linear net) is not: laws spanning several of its classes would be missed.

    Returns
    -------
    GF2Basis
        On a layered network the span of :func:`~flowlaws.algebra._network_laws.network_grading`.
        A path made only of frozen edges is counted like any other, so the span
        may exceed the grading of the explicit fields (whose constant terms vanish)
        — a coarser, still sound grading.

    Examples
    --------
    >>> net = GraphNetwork.layered((2, 3, 1), ("relu",), True)
    >>> bool(dag_grading(net))          # every path of a ReLU net has its own key
    False
    >>> lin = GraphNetwork.layered((2, 2, 2, 1), ("linear", "linear"), True)
    >>> len(dag_grading(lin).rows)
    8
    """
    ins, outs = adjacency(net)
    live, fed = _live(net, ins), _fed(net, outs)
    groups = _starts(net, fed)
    costs = [_segment_cost(net, ins, outs, g) for g in groups]
    if sum(costs) > max_relations:
        groups = _merge(net, groups, costs, max_relations // max(len(groups), 1))
    basis = GF2Basis()
    for group in groups:
        _segment_relations(net, ins, outs, live, group, basis)
    return basis


# -- local verifier -----------------------------------------------------------------------
class _Plan:
    """What to compute for a support ``S`` (no polynomial yet).

    ``M`` is the set of nodes reachable from a tail of an ``S`` edge that reach
    a head of one (any path through ``S`` meets ``M`` in one stretch). Only two
    parts of ``M`` matter: ``has_s``, reached from a head (``S(x)``, the paths
    through ``S`` ending at ``x``, is non-zero there), and ``need_a``, which
    reaches a tail by edges outside ``S`` (``A(x)``, the value of ``x`` without
    ``S`` edges, feeds an ``S`` edge).
    """

    def __init__(self, net: GraphNetwork, ins, outs, param_edges, support: set[int], frozen_only: set[int]) -> None:
        self.frozen_only = frozen_only
        self.cone: set[int] = set()  # frozen-only nodes whose exact value is used
        tails, heads = set(), set()
        for v in support:
            for src, dst in param_edges[v]:
                tails.add(src)
                heads.add(dst)
        lo, hi = min(tails), max(heads)
        # in/out lists are sorted (in: sources descending, out: targets ascending) so scans stop early
        f_heads = set(heads)
        for x in range(min(heads), hi + 1):
            if x in f_heads:
                for z, _, _ in outs[x]:
                    if z > hi:
                        break
                    f_heads.add(z)
        has_s = set(heads)
        for x in range(hi, lo - 1, -1):
            if x in has_s:
                has_s.update(y for y, _, _ in ins[x] if y in f_heads)
        b_tails = set(tails)  # reach a tail
        n_tails = set(tails)  # reach a tail by edges outside S
        for x in range(max(tails), lo - 1, -1):
            if x in b_tails:
                non_s = x in n_tails
                for y, p, _ in ins[x]:
                    if y < lo:
                        break
                    b_tails.add(y)
                    if non_s and p not in support:
                        n_tails.add(y)
        f_tails = set(tails)  # reached from a tail, among the nodes reaching one
        for x in range(lo, max(tails) + 1):
            if x in f_tails:
                f_tails.update(z for z, _, _ in outs[x] if z in b_tails)
        need_a = n_tails & f_tails
        self.order = sorted(has_s | need_a)
        self.need_a, self.has_s = need_a, has_s
        self.steps = [self._step(net, x, ins[x], outs[x], support) for x in self.order]
        stack = list(self.cone)
        while stack:
            x = stack.pop()
            for y, _, _ in ins[x]:
                if y not in self.cone:
                    self.cone.add(y)
                    stack.append(y)

    def _step(self, net: GraphNetwork, x: int, ins_x, outs_x, support: set[int]) -> tuple:
        """``(x, a, s, gate, exit)`` for node ``x``.

        ``a``: None (not needed), ``("key", k)`` (an indeterminate for all of
        ``A(x)``), ``("zero",)`` or ``("sum", inner edges, outer)`` with
        ``outer`` None (no edge from outside), ``"key"`` (one indeterminate for
        what enters from outside) or the list of those edges when they are
        frozen and come from frozen-only nodes (whose values are computed
        exactly: a constant times the bias, combinations of inputs and gates);
        ``s``: the edges ``(y, p, v, with_s, with_a)`` feeding ``S(x)``.
        """
        a = None
        gate = False
        if x in self.need_a:
            inner = [(y, p, v) for y, p, v in ins_x if p not in support and y in self.need_a]
            outer_edges = [(y, p, v) for y, p, v in ins_x if p not in support and y not in self.need_a]
            kind = net.kinds[x]
            outer: object = None
            if outer_edges:
                if all(p is None and y in self.frozen_only for y, p, _ in outer_edges):
                    outer = outer_edges
                    self.cone.update(y for y, _, _ in outer_edges)
                else:
                    outer = "key"
            if inner or isinstance(outer, list):
                a = ("sum", inner, outer)
                gate = net.gated(x)
            elif outer:
                a = ("key", ("a", x))
            elif kind == "bias":
                a = ("key", "const")
            elif kind == "input":
                a = ("key", ("in", x))
            else:
                a = ("zero",)
        s = None
        exit_ = False
        if x in self.has_s:
            s = []
            for y, p, v in ins_x:
                with_s = y in self.has_s
                with_a = p in support and y in self.need_a
                if with_s or with_a:
                    s.append((y, p, v, with_s, with_a))
            onward = any(z in self.has_s for z, _, _ in outs_x)
            gate = gate or (onward and net.gated(x))
            exit_ = net.kinds[x] == "output" or any(z not in self.has_s for z, _, _ in outs_x)
        return x, a, s, gate, exit_


class DagLocalVerifier:
    """Exact law check for a :class:`GraphNetwork` through the local polynomial of its support.

    Parameters
    ----------
    net : GraphNetwork
    max_terms : int
        Budget of terms of the local polynomial; past it a law is reported as
        not proved (``False``) instead of building the polynomial.

    Examples
    --------
    >>> net = GraphNetwork.layered((2, 2, 1), ("relu",), True)
    >>> check = DagLocalVerifier(net)
    >>> h = {((0, 2),): 1, ((1, 2),): 1, ((4, 2),): 1, ((6, 2),): -1}   # neuron 0: in² + bias² − out²
    >>> check(h), check({**h, ((4, 2),): 2})
    (True, False)
    """

    def __init__(self, net: GraphNetwork, *, max_terms: int = MAX_TERMS) -> None:
        self.net = net
        ins, outs = adjacency(net)
        self.ins = [sorted(e, key=lambda t: -t[0]) for e in ins]
        self.outs = [sorted(e, key=lambda t: t[0]) for e in outs]
        self.frozen_only = set()  # nodes whose value involves no parameter
        for x, kind in enumerate(net.kinds):
            if kind in ("input", "bias") or (ins[x] and all(p is None and y in self.frozen_only for y, p, _ in ins[x])):
                self.frozen_only.add(x)
        self.param_edges: list[list[tuple[int, int]]] = [[] for _ in range(net.dim)]
        for src, dst, param, _ in net.edges:
            if param is not None:
                self.param_edges[param].append((src, dst))
        self.max_terms = max_terms

    def _local_part(self, support: set[int], extra: tuple = ()):
        """``(ctx, index, P)``: the local polynomial of the paths through ``support``.

        ``index`` maps the parameters of ``P`` (and the keys of ``extra``, which
        become further variables of ``ctx``) to variable indices of ``ctx``.

        Raises
        ------
        BudgetExceeded
            ``P`` grows past ``max_terms``.
        """
        import flint

        net = self.net
        plan = _Plan(net, self.ins, self.outs, self.param_edges, set(support), self.frozen_only)
        index: dict = {}
        for key in list(extra) + sorted(support):
            index.setdefault(key, len(index))
        rational = False
        for x, a, s, gate, exit_ in plan.steps:
            edges = list(a[1]) if a is not None and a[0] == "sum" else []
            if a is not None and a[0] == "sum" and isinstance(a[2], list):
                edges += a[2]
            edges += [(y, p, v) for y, p, v, _, _ in s or ()]
            for _, p, v in edges:
                if p is not None:
                    index.setdefault(p, len(index))
                elif v.denominator != 1:
                    rational = True
            if a is not None and a[0] == "key":
                index.setdefault(a[1], len(index))
            if a is not None and a[0] == "sum" and a[2] == "key":
                index.setdefault(("o", x), len(index))
            if gate:
                index.setdefault(("g", x), len(index))
            if exit_:
                index.setdefault(("B", x), len(index))
        for y in sorted(plan.cone):
            kind = net.kinds[y]
            index.setdefault("const" if kind == "bias" else ("in", y) if kind == "input" else ("g", y), len(index))
            rational = rational or any(v.denominator != 1 for _, _, v in self.ins[y])
        names = tuple(f"z{k}" for k in range(len(index)))
        ctx = (flint.fmpq_mpoly_ctx if rational else flint.fmpz_mpoly_ctx).get(names, "deglex")
        gens = ctx.gens()

        def weight(p, value, poly):
            if p is not None:
                return gens[index[p]] * poly
            if rational:
                return flint.fmpq(value.numerator, value.denominator) * poly
            return int(value) * poly

        exact: dict[int, object] = {}
        for y in sorted(plan.cone):  # frozen-only values, exactly
            kind = net.kinds[y]
            if kind in ("input", "bias"):
                exact[y] = gens[index["const" if kind == "bias" else ("in", y)]]
                continue
            total = balanced_sum([weight(None, v, exact[z]) for z, _, v in self.ins[y]])
            exact[y] = gens[index[("g", y)]] * total if net.gated(y) else total
        A: dict[int, object] = {}
        S: dict[int, object] = {}
        P_terms = []
        size = 0
        for x, a, s, gate, exit_ in plan.steps:
            g = gens[index[("g", x)]] if gate else None
            if a is not None and a[0] == "key":
                A[x] = gens[index[a[1]]]
            elif a is not None and a[0] == "sum":
                terms = [weight(p, v, A[y]) for y, p, v in a[1] if y in A]
                if a[2] == "key":
                    terms.append(gens[index[("o", x)]])
                elif a[2] is not None:
                    terms += [weight(None, v, exact[y]) for y, _, v in a[2]]
                total = balanced_sum(terms)
                if total is not None:
                    A[x] = g * total if g is not None else total
                    size += len(A[x])
            if s is not None:
                terms = []
                for y, p, v, with_s, with_a in s:
                    inner = S.get(y) if with_s else None
                    if with_a and y in A:
                        inner = A[y] if inner is None else inner + A[y]
                    if inner is not None:
                        terms.append(weight(p, v, inner))
                total = balanced_sum(terms)
                if total is not None:
                    S[x] = g * total if g is not None else total
                    size += len(S[x])
                    if exit_:
                        P_terms.append(gens[index[("B", x)]] * S[x])
            if size > self.max_terms:
                raise BudgetExceeded(
                    f"the local polynomial of a law on {len(support)} parameter(s) passes max_terms={self.max_terms}"
                )
        P = balanced_sum(P_terms)
        return ctx, index, (P if P is not None else ctx.from_dict({}))

    def __call__(self, h: SparsePoly) -> bool:
        """True when ``h`` is proved a law (exactly); False when not, or past the budget."""
        if not h:
            return False
        support = {v for mono in h for v, _ in mono}
        try:
            ctx, index, P = self._local_part(support)
        except BudgetExceeded:
            return False
        grad = sparse_gradient(to_flint(h, ctx, index))
        value = pairing(grad, {v: P.derivative(v) for v in grad})
        return value is not None and value.is_zero()
