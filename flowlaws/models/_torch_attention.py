"""Attention, normalization and softmax heads in :func:`~flowlaws.models.from_torch`.

Attention is not a DAG of neurons, but it is polynomial in its parameters at a
point (DESIGN section 6): ``softmax(q kᵀ) v`` with ``q = x W_qᵀ + b_q`` and
``k = x W_kᵀ + b_k`` depends on the parameters only through

* the **score products** ``M = Σ_c W̃_q[c, i] W_k[c, j]`` of each head (``W̃_q``
  is ``W_q`` with its bias as an extra column: a row of ``M`` for the constant
  input). ``b_k`` adds ``q_t · b_k`` to a whole row of scores, which the softmax
  does not see, so ``b_k`` enters no coordinate (its entries are conserved);
* the **value path** ``x → v → (mixing by the softmax weights) → out_proj``, a
  DAG of identity neurons. Mixing key token ``s`` into query token ``t`` of a
  head goes through identity *relay* neurons labelled ``(call, head, t, s)``
  (frozen placeholder ``1/S``); a path's key records the labels it passes, like
  the gates it passes, so the coordinates of different heads and tokens stay
  apart and the true weight ``A_h[t, s]`` — a function of the scores, hence of
  ``M`` and of the neurons the scores read (these are *tapped*: their
  path-lifting is part of φ) — multiplies whole coordinates.

So φ is the path-lifting of the graph plus the coordinates of ``M``: per head
``(Q_h K_hᵀ, V_h O_hᵀ)``. The constant ``1/√d`` of the scores scales a
coordinate and changes nothing.

``LayerNorm`` (eps taken as 0) depends on its input ``y`` (one token) only
through the differences ``y_i − y_0``: those are tapped and the output is a
fresh input of the rest of the network (then ``γ``, ``β`` as a diagonal layer).
A final ``softmax``/``log_softmax`` (or ``loss="cross_entropy"``) likewise
sees the logits ``z`` only through ``z_i − z_0``.

Not used (so the count is a lower bound for the model when it matters, and the
result says so): the scale invariance of a normalization, e.g. ``‖W‖²`` of a
bias-free ``Linear`` that feeds a ``LayerNorm`` is conserved but not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ._paths import propagate_paths
from ._torch_ops import Neurons as _Neurons

__all__ = ["Scores", "Weights", "scores", "softmax", "mix", "multihead", "layer_norm", "differences",
           "LN_NOTE", "SOFTMAX_NOTE", "ATTENTION_NOTE"]

LN_NOTE = ("LayerNorm is idealized: eps is taken as 0 and its translation invariance is used (it reads the "
           "differences of its inputs); its scale invariance is not: when the block feeding it is scale invariant "
           "(e.g. a bias-free Linear), a law such as that block's squared norm is not counted and the count is "
           "a lower bound for the model")
SOFTMAX_NOTE = ("softmax head: the logits enter only through their differences z_i - z_0 (a softmax, log_softmax "
                "or cross-entropy loss does not see a common shift)")
ATTENTION_NOTE = ("attention enters as the products Q_h K_h^T (scores) and V_h O_h^T (value path) of each head; "
                  "the softmax weights are functions of the scores; a key bias shifts whole rows of scores and "
                  "is not seen by the softmax (its entries are conserved)")


@dataclass
class Scores:
    """``q @ kᵀ`` (times a constant): the query and key neurons, shapes ``(1, *heads, T, c)`` and ``(1, *heads, S, c)``."""

    q: np.ndarray
    k: np.ndarray
    node: Any


@dataclass
class Weights:
    """``softmax(q @ kᵀ, dim=-1)``: ``(1, *heads, T, S)`` mixing weights (functions of the score products)."""

    shape: tuple[int, ...]
    node: Any


def _note(builder, note: str) -> None:
    if note not in builder.notes:
        builder.notes.append(note)


def scores(builder, q: _Neurons, kt: _Neurons) -> Scores:
    """``q @ kt`` where ``kt`` is a transpose of the keys (last two axes swapped)."""
    if q.ids.ndim < 3 or kt.ids.ndim != q.ids.ndim or q.ids.shape[-1] != kt.ids.shape[-2]:
        raise builder.fail(f"multiplies shapes {tuple(q.ids.shape)} and {tuple(kt.ids.shape)}; from_torch reads "
                           "q @ k.transpose(-2, -1) with q, k of shape (1, ..., tokens, features)")
    if q.ids.shape[:-2] != kt.ids.shape[:-2]:
        raise builder.fail(f"multiplies shapes {tuple(q.ids.shape)} and {tuple(kt.ids.shape)} with different "
                           "leading (head) dimensions")
    return Scores(q.ids, np.swapaxes(kt.ids, -1, -2), builder.node)


def _factors(builder, block: np.ndarray, side: str):
    """Per channel ``c`` of ``block`` (tokens x channels): ``{feature: coefficient}`` with a feature a column
    of source neurons over the tokens (or ``"bias"``) and a coefficient an entry name (or None for 1)."""
    out = []
    for c in range(block.shape[1]):
        origins = [builder.proj.get(int(i)) for i in block[:, c]]
        if all(o is None for o in origins):
            out.append({tuple(int(i) for i in block[:, c]): None})
            continue
        if any(o is None for o in origins) or len({o[1:] for o in origins}) != 1:
            raise builder.fail(f"reads {side} whose channel {c} is not one Linear projection shared by all tokens")
        _, wname, row, wshape, bias = origins[0]
        form: dict = {}
        for i in range(wshape[1]):
            form[tuple(o[0][i] for o in origins)] = builder.entry(wname, (row, i), wshape)
        if bias is not None:
            form["bias"] = bias
        out.append(form)
    return out


def softmax(builder, s: Scores, dim) -> Weights:
    """The softmax of scores over the keys: registers the score products of every head."""
    nd = s.q.ndim
    if not isinstance(dim, int) or dim % nd != nd - 1:
        raise builder.fail(f"takes the softmax of attention scores over dim={dim!r}; from_torch reads the "
                           "softmax over the keys (dim=-1)")
    lead = s.q.shape[1:-2]
    for pos in np.ndindex(*lead):
        qb, kb = s.q[(0,) + pos], s.k[(0,) + pos]
        fq, fk = _factors(builder, qb, "queries"), _factors(builder, kb, "keys")
        qfeat = list(dict.fromkeys(f for form in fq for f in form))
        kfeat = [f for f in dict.fromkeys(f for form in fk for f in form) if f != "bias"]  # b_k: row shifts
        for feats in (qfeat, kfeat):
            for f in feats:
                if f != "bias":
                    builder.tap(list(f))
        for fi in qfeat:
            for fj in kfeat:
                poly: dict[tuple[str, ...], int] = {}
                for a, b in zip(fq, fk):
                    if fi in a and fj in b:
                        mono = tuple(sorted(n for n in (a[fi], b[fj]) if n is not None))
                        poly[mono] = poly.get(mono, 0) + 1
                poly = {m: c for m, c in poly.items() if c and m}
                if poly:
                    builder.scores.append(poly)
    _note(builder, ATTENTION_NOTE)
    return Weights(s.q.shape[:-1] + (s.k.shape[-2],), builder.node)


def mix(builder, w: Weights, v: _Neurons) -> _Neurons:
    """``weights @ v``: each query token's value neuron sums every key token's (frozen placeholder weights 1)."""
    if v.ids.ndim != len(w.shape) or v.ids.shape[:-2] != w.shape[:-2] or v.ids.shape[-2] != w.shape[-1]:
        raise builder.fail(f"multiplies attention weights of shape {w.shape} by values of shape {tuple(v.ids.shape)}")
    lead, T = w.shape[:-2], w.shape[-2]
    S, c = v.ids.shape[-2:]
    builder.reserve(int(np.prod(lead)) * T * c * (S + 1), 2 * int(np.prod(lead)) * T * c * S)
    out = builder.new(tuple(lead) + (T, c))
    call = builder.G.graph["mixing"] = builder.G.graph.get("mixing", 0) + 1
    weight = Fraction(1, S)  # the weights at zero scores: rows sum to 1, as the softmax's do
    for pos in np.ndindex(*lead):
        src, dst = v.ids[pos], out[pos]
        for t in range(T):
            for s_ in range(S):
                relay = builder.new((c,))
                for ch in range(c):
                    builder.G.nodes[int(relay[ch])]["label"] = (call, pos, t, s_)
                    builder.edge(int(src[s_, ch]), int(relay[ch]), value=weight)
                    builder.edge(int(relay[ch]), int(dst[t, ch]), value=Fraction(1))
    return builder.wrap(out)


def multihead(builder, mod, args, kwargs) -> tuple:
    """``nn.MultiheadAttention(batch_first=True)`` as projections, score products per head, mixing, ``out_proj``."""
    from ._torch_dispatch import _bind

    b = _bind(builder, args, kwargs, ["query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
                                      "average_attn_weights", "is_causal"],
              {"key_padding_mask": None, "need_weights": True, "attn_mask": None, "average_attn_weights": True,
               "is_causal": False})
    if b["key_padding_mask"] is not None or b["attn_mask"] is not None or b["is_causal"]:
        raise builder.fail("uses an attention mask; from_torch reads unmasked attention")
    if not mod.batch_first:
        raise builder.fail("has batch_first=False; build it with batch_first=True and give the input as "
                           "(1, tokens, embed_dim)")
    if mod.bias_k is not None or mod.add_zero_attn:
        raise builder.fail("uses add_bias_kv or add_zero_attn")
    qx, kx, vx = (b[n] for n in ("query", "key", "value"))
    for name, x in (("query", qx), ("key", kx), ("value", vx)):
        if not isinstance(x, _Neurons) or x.ids.ndim != 3:
            raise builder.fail(f"takes a {name} that is not a (1, tokens, features) tensor computed from the input")
    E, H = mod.embed_dim, mod.num_heads
    hd = E // H
    bname = builder.param_of(mod.in_proj_bias, "a bias") if mod.in_proj_bias is not None else None
    if mod._qkv_same_embed_dim:
        wname = builder.param_of(mod.in_proj_weight, "a weight")
        shape = tuple(mod.in_proj_weight.shape)
        specs = [(wname, shape, range(p * E, (p + 1) * E)) for p in range(3)]
    else:
        specs = []
        for p, w in enumerate((mod.q_proj_weight, mod.k_proj_weight, mod.v_proj_weight)):
            specs.append((builder.param_of(w, "a weight"), tuple(w.shape), range(E)))
    projected = []
    for p, (x, (wname, shape, rows)) in enumerate(zip((qx, kx, vx), specs)):
        if bname is not None and not mod._qkv_same_embed_dim:
            # separate weights share one in_proj_bias of 3E entries: name its rows
            y = builder.linear(x, wname, shape, None)
            y = _row_bias(builder, y, bname, range(p * E, (p + 1) * E), 3 * E)
        else:
            y = builder.linear(x, wname, shape, bname, rows=rows)
        T = y.ids.shape[1]
        projected.append(np.transpose(y.ids.reshape(1, T, H, hd), (0, 2, 1, 3)))  # (1, H, T, hd)
    q, k, v = projected
    w = softmax(builder, Scores(q, k, builder.node), -1)
    heads = mix(builder, w, _Neurons(v, builder.node, builder.storage))
    T = heads.ids.shape[2]
    concat = _Neurons(np.transpose(heads.ids, (0, 2, 1, 3)).reshape(1, T, E), builder.node, heads.storage)
    ow = builder.param_of(mod.out_proj.weight, "a weight")
    ob = builder.param_of(mod.out_proj.bias, "a bias") if mod.out_proj.bias is not None else None
    out = builder.linear(concat, ow, tuple(mod.out_proj.weight.shape), ob)
    if mod.dropout:
        _note(builder, "Dropout is the identity: its training-time noise is not part of the gradient flow")
    return (out, None)


def _row_bias(builder, y: _Neurons, bname: str, rows: range, size: int) -> _Neurons:
    """Add the bias entries ``bname[rows]`` to the last axis of fresh Linear outputs ``y``."""
    bias = builder.bias_node()
    for pos in np.ndindex(*y.ids.shape[:-1]):
        for o, r in enumerate(rows):
            v = int(y.ids[pos][o])
            entry = builder.entry(bname, (r,), (size,))
            builder.edge(bias, v, param=entry)
            builder.proj[v] = builder.proj[v][:4] + (entry,)
    return y


def differences(builder, x: _Neurons, axes: int) -> None:
    """Tap ``y_i − y_0`` over each group of the last ``axes`` axes of ``x`` (what a centring reads)."""
    n = int(np.prod(x.ids.shape[x.ids.ndim - axes:]))
    rows = x.ids.reshape(-1, n)
    if n < 2:
        return
    builder.reserve(rows.shape[0] * (n - 1), 2 * rows.shape[0] * (n - 1))
    for row in rows:
        for i in range(1, n):
            v = int(builder.new((1,), kind="output")[0])
            builder.edge(int(row[i]), v, value=Fraction(1))
            builder.edge(int(row[0]), v, value=Fraction(-1))
            builder.G.graph.setdefault("taps", []).append(v)


def _scale_invariant_weight(builder, x: _Neurons) -> str | None:
    """The parameter whose entries are the only weights into ``x`` (no bias, no frozen or other edge), if any:
    the output is then linear in it, so a scale-invariant reader makes its squared norm a law (Euler)."""
    names = set()
    G = builder.G
    for i in x.ids.ravel():
        for _, _, data in G.in_edges(int(i), data=True):
            if "param" not in data:
                return None
            names.add(data["param"][:data["param"].rindex("[")])
    if len(names) != 1:
        return None
    name = names.pop()
    inside = {int(i) for i in x.ids.ravel()}
    if any("param" in d and d["param"].startswith(name + "[") and v not in inside for _, v, d in G.edges(data=True)):
        return None  # the parameter is used elsewhere too
    return name


def layer_norm(builder, x: _Neurons, normalized_shape, wname: str | None, bname: str | None) -> _Neurons:
    """``LayerNorm`` (eps as 0): taps the differences of its input, returns fresh inputs times ``γ`` plus ``β``."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.ids.shape[x.ids.ndim - len(ns):]) != ns or x.ids.ndim <= len(ns):
        raise builder.fail(f"normalizes over {ns} an input of shape {tuple(x.ids.shape)}")
    _note(builder, LN_NOTE)
    scaled = _scale_invariant_weight(builder, x)
    if scaled is not None:
        _note(builder, f"also conserved but not counted (LayerNorm's scale invariance, eps = 0): the squared norm "
                       f"of {scaled}, the only parameter of the layer feeding it")
    differences(builder, x, len(ns))
    builder.reserve(2 * x.ids.size + 1, 2 * x.ids.size)
    fresh = builder.new(x.ids.shape, kind="input")
    if wname is None and bname is None:
        return builder.wrap(fresh)
    out = builder.new(x.ids.shape)
    bias = builder.bias_node() if bname else None
    lead = x.ids.ndim - len(ns)
    for pos in np.ndindex(*x.ids.shape):
        idx = pos[lead:]
        u, v = int(fresh[pos]), int(out[pos])
        if wname:
            builder.edge(u, v, param=builder.entry(wname, idx, ns))
        else:
            builder.edge(u, v, value=Fraction(1))
        if bias is not None:
            builder.edge(bias, v, param=builder.entry(bname, idx, ns))
    return builder.wrap(out)


@dataclass
class Probabilities:
    """A softmax (or log-softmax) of neurons: ``ids`` are identity neurons ``z_i − z_0`` along its axis.

    Only the module's result may be one: anything computed from it is refused.
    """

    ids: np.ndarray


def head(builder, x: _Neurons, dim) -> Probabilities:
    """``softmax(x, dim)`` of logits: the differences ``x_i − x_0`` along ``dim``."""
    nd = x.ids.ndim
    if not isinstance(dim, int) or dim % nd == 0:
        raise builder.fail(f"takes a softmax over dim={dim!r}; give the class dimension, e.g. dim=-1")
    moved = np.moveaxis(x.ids, dim % nd, -1)
    n = moved.shape[-1]
    if n < 2:
        raise builder.fail("takes a softmax over one class (a constant)")
    builder.reserve(moved[..., 1:].size, 2 * moved[..., 1:].size)
    out = builder.new(moved.shape[:-1] + (n - 1,))
    for pos in np.ndindex(*moved.shape[:-1]):
        for i in range(1, n):
            builder.edge(int(moved[pos][i]), int(out[pos][i - 1]), value=Fraction(1))
            builder.edge(int(moved[pos][0]), int(out[pos][i - 1]), value=Fraction(-1))
    _note(builder, SOFTMAX_NOTE)
    return Probabilities(np.moveaxis(out, -1, dim % nd))


def labelled_path_lifting(G, index: dict[str, int], *, max_terms: int) -> list[dict[tuple[int, ...], Fraction]]:
    """φ of a traced graph whose keys also record the labels of attention's relay neurons.

    As :func:`~flowlaws.models._paths.network_path_lifting`: a key is (start
    node, or -1 for every bias; the gated neurons and relay labels passed, in
    order; the output), and a coordinate sums the weight products of the paths
    with that key; ``index`` maps entry names to variable positions.

    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from([(0, {"kind": "input"}), (3, {"kind": "output"})])
    >>> G.add_node(1, kind="hidden", activation="linear", label="a")
    >>> G.add_node(2, kind="hidden", activation="linear", label="b")
    >>> G.add_edges_from([(0, 1, {"param": "u"}), (0, 2, {"param": "v"})])
    >>> G.add_edges_from([(1, 3, {"param": "w"}), (2, 3, {"param": "w"})])
    >>> sorted(labelled_path_lifting(G, {"u": 0, "v": 1, "w": 2}, max_terms=10), key=str)
    [{(0, 1, 1): Fraction(1, 1)}, {(1, 0, 1): Fraction(1, 1)}]
    """
    import networkx as nx

    def incoming(node):
        for src in G.predecessors(node):
            edge = G.edges[src, node]
            param = index[edge["param"]] if "param" in edge else None
            yield src, param, None if param is not None else Fraction(edge.get("value", 1))

    def mark(node):
        data = G.nodes[node]
        if data.get("label") is None and data["kind"] == "hidden" and data.get("activation", "linear") != "linear":
            return ("gate", node)
        return data.get("label")

    order = list(nx.topological_sort(G))
    state = propagate_paths(order, lambda node: G.nodes[node]["kind"], incoming, mark, dim=len(index),
                            max_terms=max_terms)
    coords = []
    for node in order:
        if G.nodes[node]["kind"] == "output":
            for key in sorted(state[node], key=repr):
                coord = {m: c for m, c in state[node][key].items() if c}
                if coord:
                    coords.append(coord)
    return coords
