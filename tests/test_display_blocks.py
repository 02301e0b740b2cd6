"""Readable laws of residual, conv, attention, graph and torch models (``flowlaws._display_blocks``).

Every printed form — each law's line and each group's compact line instantiated
at every index of its range — is rebuilt here by an evaluator written for this
test (SymPy symbols named after the law's variables, independent of the module's
own expansion) and compared with the exact law.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

import pytest
import sympy

import flowlaws as fl
from flowlaws import _display as D
from flowlaws import _display_blocks as B
from flowlaws.laws import Law


@lru_cache(maxsize=None)
def analysed(spec: str, flow: str = "gradient"):
    return fl.analyze(fl.models.parse(spec), flow=flow)


# -- an independent evaluator of the printed forms ---------------------------------------
_VAR = re.compile(r"^(?P<base>[^\[\]']+?)(?:\[(?P<idx>[\d,]+)\])?(?P<prime>'?)$")


def _tensors(variables):
    """``{"W1": {(0, 1): W1[0,1], ...}, "W1'": {...}}`` (velocities named with a prime)."""
    out: dict[str, dict] = {}
    for name in variables:
        m = _VAR.match(name)
        idx = tuple(int(x) for x in m["idx"].split(",")) if m["idx"] else ()
        out.setdefault(m["base"] + m["prime"], {})[idx] = sympy.Symbol(name)
    return out


def _slice(tensors, ref: str) -> list:
    """The entries of ``NAME[0,:,2]`` (or ``NAME`` for every entry), in a fixed order."""
    m = re.fullmatch(r"(?P<base>[^\[\]]+?)(?:\[(?P<idx>[\d:,]+)\])?", ref)
    entries = tensors[m["base"]]
    if not m["idx"]:
        return [entries[k] for k in sorted(entries)]
    pat = m["idx"].split(",")
    keys = sorted(k for k in entries if all(p == ":" or int(p) == v for p, v in zip(pat, k)))
    assert keys, ref
    return [entries[k] for k in keys]


def _matrix(tensors, name: str) -> sympy.Matrix:
    ent = tensors[name]
    rows, cols = 1 + max(i for i, _ in ent), 1 + max(j for _, j in ent)
    return sympy.Matrix(rows, cols, lambda i, j: ent[(i, j)])


def _term(tensors, term: str):
    term = term.strip()
    if m := re.fullmatch(r"‖(.+)‖²", term):
        return sum(x**2 for x in _slice(tensors, m[1]))
    if m := re.fullmatch(r"Σ(.+)", term):
        return sum(_slice(tensors, m[1]))
    if m := re.fullmatch(r"(.+)²", term):
        (x,) = _slice(tensors, m[1])
        return x**2
    if m := re.fullmatch(r"⟨(.+), (.+)⟩", term):
        a, b = _slice(tensors, m[1]), _slice(tensors, m[2])
        return sum(x * y for x, y in zip(a, b, strict=True))
    raise AssertionError(f"cannot evaluate {term!r}")


def _signed(text: str):
    """``a + b − c`` as [(±1, term)], splitting only outside brackets."""
    out, depth, start, sign = [], 0, 0, 1
    if text.startswith("−"):
        sign, text = -1, text[1:]
    k = 0
    while k < len(text):
        ch = text[k]
        depth += ch in "([⟨"
        depth -= ch in ")]⟩"
        if depth == 0 and text[k:k + 3] in (" + ", " − "):
            out.append((sign, text[start:k]))
            sign, start, k = (1 if text[k + 1] == "+" else -1), k + 3, k + 3
            continue
        k += 1
    return out + [(sign, text[start:])]


def evaluate(text: str, variables) -> sympy.Expr:
    tensors = _tensors(variables)
    factor, t = sympy.Integer(1), sympy.Symbol("t")
    while m := re.match(r"exp\((?:(\d+(?:/\d+)?)·)?t\)·|t(?:\^(\d+))?·|(\d+(?:/\d+)?)·", text):
        if m[0].startswith("exp"):
            factor *= sympy.exp(sympy.Rational(m[1] or 1) * t)
        elif m[0].startswith("t"):
            factor *= t ** int(m[2] or 1)
        else:
            factor *= sympy.Rational(m[3])
        text = text[m.end():]
    if m := re.fullmatch(r"\((.*)\)\[(\d+),(\d+)\]", text):  # (Aᵀ B − …)[i,j]
        total = sympy.zeros(1, 1)
        first = True
        for sign, term in _signed(m[1]):
            prod = None
            for f in term.split():
                mat = _matrix(tensors, f[:-1]).T if f.endswith("ᵀ") else _matrix(tensors, f)
                prod = mat if prod is None else prod * mat
            total = sign * prod if first else total + sign * prod
            first = False
        return factor * total[int(m[2]), int(m[3])]
    if text.startswith("(") and text.endswith(")") and not text.startswith("(⟨"):
        text = text[1:-1]
    expr = sympy.Integer(0)
    for sign, term in _signed(text):
        if term.startswith("(⟨"):
            expr += sign * sum(s * _term(tensors, x) for s, x in _signed(term[1:-1]))
        else:
            expr += sign * _term(tensors, term)
    return factor * expr


def instances(compact: str):
    """The lines a compact group line stands for, one per index (pair) of its range."""
    line, _, rng = compact.rpartition(",  ")
    if m := re.fullmatch(r"i = (\d+)\.\.(\d+)", rng):
        pairs = [(i, None) for i in range(int(m[1]), int(m[2]) + 1)]
    else:
        m = re.fullmatch(r"(\d+) ≤ i (≤|<) j ≤ (\d+)", rng)
        lo, hi = int(m[1]), int(m[3])
        pairs = [(i, j) for i in range(lo, hi + 1) for j in range(i + (m[2] == "<"), hi + 1)]
    out = []
    for i, j in pairs:
        text = re.sub(r"_i\b", str(i), line)
        text = re.sub(r"(?<=[\[,])i(?=[\],])", str(i), text)
        if j is not None:
            text = re.sub(r"_j\b", str(j), text)
            text = re.sub(r"(?<=[\[,])j(?=[\],])", str(j), text)
        out.append(text)
    return out


def assert_group_exact(group) -> None:
    laws = [law.to_sympy() for law in group["laws"]]
    for text, law in zip(group["text"], group["laws"]):
        assert sympy.expand(evaluate(text, law.variables) - law.to_sympy()) == 0, (text, str(law))
    if group.get("compact"):
        rebuilt = [evaluate(text, group["laws"][0].variables) for text in instances(group["compact"])]
        assert len(rebuilt) == len(laws)
        for r in rebuilt:
            assert any(sympy.expand(r - law) == 0 for law in laws), (group["compact"], r)


# -- what flowlaws analyze prints --------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "flow", "lines"),
    [
        ("resnet:2x3", "gradient", ["norm-balance laws of W1, W2 (3): ‖W1[i,:]‖² − ‖W2[:,i]‖²,  i = 0..2"]),
        ("resnet+bias:2x2", "gradient",
         ["norm-balance laws of W1, b1, W2 (2): ‖W1[i,:]‖² + b1[i]² − ‖W2[:,i]‖²,  i = 0..1"]),
        ("conv1d:5x2x2", "gradient", ["norm-balance laws of k_i, V (2): ‖k_i‖² − ‖V[0,i,:]‖²,  i = 0..1"]),
        ("conv1d:4x2", "gradient", ["norm-balance laws of k0, V (1):", "  ‖k0‖² − ‖V[0,0,:]‖²"]),
        ("attention:2x2", "gradient", ["Gram-matrix laws of Q, K (3): (Qᵀ Q − Kᵀ K)[i,j],  0 ≤ i ≤ j ≤ 1",
                                       "Gram-matrix laws of V, O (3): (Vᵀ V − Oᵀ O)[i,j],  0 ≤ i ≤ j ≤ 1"]),
        ("attention:2x3", "momentum",
         ["antisymmetric Gram laws (momentum) of Q, K (3): exp(t)·(Qᵀ Q' − Q'ᵀ Q + Kᵀ K' − K'ᵀ K)[i,j],  0 ≤ i < j ≤ 2",
          "antisymmetric Gram laws (momentum) of V, O (3): exp(t)·(Vᵀ V' − V'ᵀ V + Oᵀ O' − O'ᵀ O)[i,j],  0 ≤ i < j ≤ 2"]),
    ],
)
def test_str_groups_blocks_and_every_form_rebuilds_the_law(spec, flow, lines):
    res = analysed(spec, flow)
    printed = str(res).splitlines()
    assert printed[2:2 + len(lines)] == [f"  {line}" for line in lines]
    groups = res.groups()
    assert sum(len(g["laws"]) for g in groups) == len(res.laws) == res.count
    for g in groups:
        assert g["kind"] in B.BLOCK_TITLES
        assert_group_exact(g)
        for form, law in zip(g["forms"], g["laws"]):
            assert B.expand_block_form(form, law.variables) == {m: c for c, m in law.terms}


def test_to_json_readable_groups_and_latex():
    res = analysed("attention:2x2")
    out = res.to_json()
    assert out["readable"][4] == "(Qᵀ Q − Kᵀ K)[0,1]" and out["readable"][0] == "(Qᵀ Q − Kᵀ K)[0,0]"
    assert out["groups"] == [{"kind": "gram", "layer": None, "laws": [0, 1, 4]},
                             {"kind": "gram", "layer": None, "laws": [2, 3, 5]}]
    assert out["laws"] == [str(law) for law in res.laws]
    tex = res.to_latex()
    assert r"&(Q^{\top} Q - K^{\top} K)[i,j], \quad 0 \le i \le j \le 1 && \text{Gram-matrix laws of Q, K (3)}" in tex
    conv = analysed("conv1d:5x2x2").to_latex()
    assert r"\lVert k_{i}\rVert^2 - \lVert V[0,i,:]\rVert^2, \quad i = 0,\dots,1" in conv
    assert "(Qᵀ Q − Kᵀ K)[i,j]" in res._repr_html_()


def test_partial_groups_list_each_law():
    res = analysed("resnet:2x3")
    part = dataclasses.replace(res, laws=[res.laws[0], res.laws[2]])  # i = 0, 2: not a range
    (g,) = part.groups()
    assert g["compact"] is None and g["text"] == ["‖W1[0,:]‖² − ‖W2[:,0]‖²", "‖W1[2,:]‖² − ‖W2[:,2]‖²"]
    assert str(part).splitlines()[2:5] == [
        "  norm-balance laws of W1, W2 (2):", "    ‖W1[0,:]‖² − ‖W2[:,0]‖²", "    ‖W1[2,:]‖² − ‖W2[:,2]‖²"]
    # only the off-diagonal Gram entries of an attention head: a strict range
    att = analysed("attention:3x2")
    assert_group_exact(dataclasses.replace(att, laws=att.laws).groups()[0])


def test_near_misses_print_expanded():
    res = analysed("resnet:2x3")
    law = res.laws[0]  # W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2 - W2[1,0]^2
    # a term missing is still an exact sum over slices, and printed as one
    short = Law(law.terms[:-1], law.variables)
    assert B.block_text(short) == "‖W1[0,:]‖² − W2[0,0]²"
    assert sympy.expand(evaluate(B.block_text(short), law.variables) - short.to_sympy()) == 0
    variants = [
        ((2, law.terms[0][1]),) + law.terms[1:],                    # one coefficient off
        tuple((c, tuple((v, 4) for v, _ in m)) for c, m in law.terms),  # fourth powers
        law.terms + ((1, ((0, 1), (1, 1))),),                       # an extra cross term
    ]
    for terms in variants:
        odd = Law(tuple(terms), law.variables)
        assert B.block_form(odd) is None and B.block_text(odd) is None
        assert [g["kind"] for g in D.group_laws([odd], res.model)] == ["other"]
    # half of an antisymmetric unit is not the Gram form
    mom = analysed("attention:2x2", "momentum")
    half = Law(mom.laws[0].terms[::2], mom.laws[0].variables, mom.laws[0].time_rate)
    assert B.block_form(half) is None
    # single entries only gain nothing: product laws stay expanded
    prod = analysed("product:3")
    assert [g["kind"] for g in prod.groups()] == ["other"]
    assert str(prod).splitlines()[2:] == [f"  {law}" for law in prod.laws]


def test_scaled_and_negated_laws():
    res = analysed("attention:2x2")
    law = res.laws[4]
    neg = Law(tuple((-3 * c, m) for c, m in law.terms), law.variables)
    text = B.block_text(neg)
    assert text == "3·(Kᵀ K − Qᵀ Q)[0,1]"
    assert sympy.expand(evaluate(text, law.variables) - neg.to_sympy()) == 0
    conv = analysed("conv1d:4x2").laws[0]
    neg = Law(tuple((-c, m) for c, m in conv.terms), conv.variables)
    assert B.block_text(neg) == "‖V[0,0,:]‖² − ‖k0‖²"


def test_graph_with_prefixed_names_and_skip():
    nx = pytest.importorskip("networkx")
    G = nx.DiGraph()
    for j in range(2):
        G.add_node(f"x{j}", kind="input")
    G.add_node("y", kind="output")
    for i in range(3):
        G.add_node(f"h{i}", kind="hidden", activation="relu")
        for j in range(2):
            G.add_edge(f"x{j}", f"h{i}", param=f"layer1.0.weight[{i},{j}]")
        G.add_edge(f"h{i}", "y", param=f"layer2.weight[0,{i}]")
    G.add_edge("x0", "y", param="skip.weight[0,0]")
    res = fl.analyze(fl.models.from_graph(G))
    (g,) = res.groups()
    assert g["compact"] == "‖layer1.0.weight[i,:]‖² − layer2.weight[0,i]²,  i = 0..2"
    assert_group_exact(g)


def test_torch_sequential_names():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    res = fl.analyze(fl.models.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))))
    assert "‖0.weight[i,:]‖² + 0.bias[i]² − ‖2.weight[:,i]‖²,  i = 0..2" in str(res)
