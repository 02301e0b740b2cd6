"""LawMonitor.from_torch reads law variables BY NAME: residual, conv and attention modules.

Every expected value is computed directly from the module's tensors with torch
(``||incoming row||^2 - ||outgoing column||^2``, ``Q^T Q - K^T K``, ...), never
through the monitor's own gather. The parameters are registered in an order
different from the flow's and the law variables are shuffled, so a positional
reading cannot pass.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nx = pytest.importorskip("networkx")

import flowlaws as fl  # noqa: E402
from flowlaws.dynamics import LawMonitor  # noqa: E402
from flowlaws.errors import InvalidArgument  # noqa: E402
from flowlaws.laws import Law  # noqa: E402

nn = torch.nn


def entries(module, *names):
    """All ``name[i,j,...]`` variables of the given parameters."""
    params = dict(module.named_parameters())
    out = []
    for name in names:
        for idx in np.ndindex(*params[name].shape):
            out.append(f"{name}[{','.join(map(str, idx))}]")
    return out


def law(terms, variables):
    """A Law from ``[(coef, {name: exp}), ...]`` over ``variables`` (names)."""
    where = {v: k for k, v in enumerate(variables)}
    return Law(tuple((c, tuple(sorted((where[v], e) for v, e in mono.items()))) for c, mono in terms),
               tuple(variables))


def shuffled(names, seed=0):
    names = list(names)
    random.Random(seed).shuffle(names)
    return names


class Residual(nn.Module):
    """``x + fc2(relu(fc1(x)))``; fc2 is registered first, so named_parameters() is not flow order."""

    def __init__(self, d=4, m=3, bias=True):
        super().__init__()
        self.fc2 = nn.Linear(m, d, bias=False)
        self.fc1 = nn.Linear(d, m, bias=bias)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


def residual_laws(module):
    variables = shuffled(entries(module, "fc1.weight", "fc1.bias", "fc2.weight"))
    d, m = module.fc1.in_features, module.fc1.out_features
    laws = []
    for i in range(m):
        terms = [(1, {f"fc1.weight[{i},{j}]": 2}) for j in range(d)] + [(1, {f"fc1.bias[{i}]": 2})]
        terms += [(-1, {f"fc2.weight[{k},{i}]": 2}) for k in range(d)]
        laws.append(law(terms, variables))
    return laws


def residual_truth(module):
    with torch.no_grad():
        w1, b1, w2 = module.fc1.weight, module.fc1.bias, module.fc2.weight
        return ((w1**2).sum(1) + b1**2 - (w2**2).sum(0)).double().numpy()


def test_residual_values_equal_hand_computed_and_drift_is_the_true_drift():
    torch.manual_seed(0)
    module = Residual().double()
    mon = LawMonitor.from_torch(module, residual_laws(module))
    truth0 = residual_truth(module)
    assert np.allclose(mon.record(), truth0, rtol=0, atol=1e-12)
    opt = torch.optim.SGD(module.parameters(), lr=1e-3)
    mon.attach(opt)
    X = torch.randn(16, 4, dtype=torch.float64)
    for _ in range(5):
        opt.zero_grad()
        (module(X) ** 2).mean().backward()
        opt.step()
    truth = residual_truth(module)
    assert np.allclose(mon.values[-1], truth, rtol=0, atol=1e-12)
    true_drift = np.abs(truth - truth0).max()
    assert 0 < true_drift < 1e-4       # SGD: O(lr^2) per step
    assert np.allclose(np.abs(mon.values - mon.values[0]).max(0)[np.argmax(np.abs(truth - truth0))],
                       true_drift, rtol=1e-6)


def test_laws_from_a_graph_rebuild_need_a_mapping_and_then_give_the_true_values():
    # the reported bug: from_graph lists weights column by column, torch row by row
    torch.manual_seed(1)
    module = Residual(d=2, m=2, bias=False).double()
    G = nx.DiGraph()
    for j in range(2):
        G.add_node(f"x{j}", kind="input")
        G.add_node(f"h{j}", kind="hidden", activation="relu")
        G.add_node(f"y{j}", kind="output")
    for i in range(2):
        for j in range(2):
            G.add_edge(f"x{j}", f"h{i}")
            G.add_edge(f"h{j}", f"y{i}")
    for j in range(2):
        G.add_edge(f"x{j}", f"y{j}", trainable=False, value=1)
    model = fl.models.from_graph(G)
    res = fl.analyze(model)
    assert res.count == 2
    mapping = {}
    for i in range(2):
        for j in range(2):
            mapping[f"w[x{j},h{i}]"] = ("fc1.weight", (i, j))
            mapping[f"w[h{i},y{j}]"] = ("fc2.weight", (j, i))
    assert set(mapping) == set(model.variables)
    with pytest.raises(InvalidArgument, match=r"mapping=\{'w\[x0,h0\]'"):
        LawMonitor.from_torch(module, res.laws)          # never guessed by position
    mon = LawMonitor.from_torch(module, res.laws, mapping=mapping)
    values = mon.record()
    # each law is ||fc1 row h||^2 - ||fc2 column h||^2 (up to sign / order): compare as sets
    w1, w2 = module.fc1.weight.detach(), module.fc2.weight.detach()
    truth = ((w1**2).sum(1) - (w2**2).sum(0)).numpy()
    direct = []
    for h in res.laws:                                  # the law's polynomial, read by name
        params = dict(module.named_parameters())
        total = 0.0
        for c, mono in h.terms:
            term = float(c)
            for v, e in mono:
                p, idx = mapping[h.variables[v]]
                term *= float(params[p].detach()[idx]) ** e
            total += term
        direct.append(total)
    assert np.allclose(values, direct, rtol=0, atol=1e-12)
    assert np.allclose(sorted(np.abs(values)), sorted(np.abs(truth)), rtol=0, atol=1e-12)
    # the positional reading would have given something else
    from flowlaws.dynamics import flatten_torch_parameters

    positional = LawMonitor(res.laws).evaluate(flatten_torch_parameters(module))
    assert not np.allclose(positional, values)


def test_conv_module_per_channel_laws():
    torch.manual_seed(2)
    module = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 2, stride=2)).double()
    variables = shuffled(entries(module, "0.weight", "0.bias", "2.weight", "2.bias"), seed=3)
    laws = []
    for c in range(3):
        terms = [(1, {f"0.weight[{c},{i},{a},{b}]": 2}) for i in range(2) for a in range(3) for b in range(3)]
        terms += [(1, {f"0.bias[{c}]": 2})]
        terms += [(-1, {f"2.weight[{o},{c},{a},{b}]": 2}) for o in range(2) for a in range(2) for b in range(2)]
        laws.append(law(terms, variables))
    mon = LawMonitor.from_torch(module, laws)
    with torch.no_grad():
        w1, b1, w2 = module[0].weight, module[0].bias, module[2].weight
        truth = ((w1**2).sum((1, 2, 3)) + b1**2 - (w2**2).sum((0, 2, 3))).numpy()
    assert np.allclose(mon.record(), truth, rtol=0, atol=1e-12)


class Attention(nn.Module):
    """Single head: ``softmax((x Q)(x K)^T) (x V) O``, parameters registered out of order."""

    def __init__(self, d=3, h=2):
        super().__init__()
        self.o = nn.Parameter(torch.randn(h, d, dtype=torch.float64))
        self.k = nn.Parameter(torch.randn(d, h, dtype=torch.float64))
        self.v = nn.Parameter(torch.randn(d, h, dtype=torch.float64))
        self.q = nn.Parameter(torch.randn(d, h, dtype=torch.float64))

    def forward(self, x):
        scores = (x @ self.q) @ (x @ self.k).T
        return torch.softmax(scores, dim=-1) @ (x @ self.v) @ self.o


def test_attention_laws_qq_minus_kk_and_vv_minus_oo():
    torch.manual_seed(3)
    module = Attention()
    d, h = module.q.shape
    variables = shuffled(entries(module, "o", "k", "v", "q"), seed=4)
    laws, expect = [], []
    with torch.no_grad():
        QK = (module.q.T @ module.q - module.k.T @ module.k).numpy()   # invariance Q -> QA, K -> K A^-T
        VO = (module.v.T @ module.v - module.o @ module.o.T).numpy()   # invariance V -> VA, O -> A^-1 O
    for a in range(h):
        for b in range(a, h):
            qk = [(1, {f"q[{i},{a}]": 1, f"q[{i},{b}]": 1} if a != b else {f"q[{i},{a}]": 2}) for i in range(d)]
            qk += [(-1, {f"k[{i},{a}]": 1, f"k[{i},{b}]": 1} if a != b else {f"k[{i},{a}]": 2}) for i in range(d)]
            vo = [(1, {f"v[{i},{a}]": 1, f"v[{i},{b}]": 1} if a != b else {f"v[{i},{a}]": 2}) for i in range(d)]
            vo += [(-1, {f"o[{a},{j}]": 1, f"o[{b},{j}]": 1} if a != b else {f"o[{a},{j}]": 2}) for j in range(d)]
            laws += [law(qk, variables), law(vo, variables)]
            expect += [QK[a, b], VO[a, b]]
    mon = LawMonitor.from_torch(module, laws)
    assert np.allclose(mon.record(), expect, rtol=0, atol=1e-12)
    # and they are conserved by gradient flow (tiny steps: drift O(lr^2))
    q0 = module.q.detach().clone()
    opt = torch.optim.SGD(module.parameters(), lr=1e-5)
    x = torch.randn(5, d, dtype=torch.float64)
    for _ in range(3):
        opt.zero_grad()
        (module(x) ** 2).sum().backward()
        opt.step()
    mon.record()
    moved = float(((module.q.detach() ** 2).sum(0) - (q0**2).sum(0)).abs().max())   # not a law: O(lr)
    assert mon.drift().max_drift < 1e-2 * moved


def test_from_torch_model_laws_read_by_name():
    torch.manual_seed(4)
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    res = fl.analyze(fl.models.from_torch(module))
    mon = LawMonitor.from_torch(module, res.laws)
    with torch.no_grad():
        w1, b1, w2 = module[0].weight, module[0].bias, module[2].weight
        truth = ((w1**2).sum(1) + b1**2 - (w2**2).sum(0)).numpy()
    values = mon.record()
    assert res.count == 4
    # whatever basis the engine returned, each law is a combination of the per-neuron ones
    M = np.array([[float(c) for c in row] for row in _coefficients(res.laws, module)])
    assert np.allclose(values, M @ truth, rtol=0, atol=1e-12)


def _coefficients(laws, module):
    """Express each law (a sum of squares with +-1) in the per-neuron basis of the 4 hidden neurons."""
    rows = []
    for h in laws:
        row = [0] * 4
        for c, mono in h.terms:
            (v, e), = mono
            name = h.variables[v]
            if name.startswith("0.weight[") and e == 2:
                i = int(name[len("0.weight["):].split(",")[0])
                row[i] = c
        rows.append(row)
    return rows


# ------------------------------------------------------------------- errors
def test_errors_name_the_problem():
    module = Residual(d=2, m=2).double()
    laws = residual_laws(module)
    names = laws[0].variables
    mapping = {v: (v.split("[")[0], tuple(int(i) for i in v[v.index("[") + 1:-1].split(","))) for v in names}
    assert np.allclose(LawMonitor.from_torch(module, laws, mapping=mapping).record(), residual_truth(module))
    bad = dict(mapping, **{names[0]: ("fc3.weight", (0, 0))})
    with pytest.raises(InvalidArgument, match="no parameter 'fc3.weight'"):
        LawMonitor.from_torch(module, laws, mapping=bad)
    w = next(v for v in names if v.startswith("fc1.weight"))
    with pytest.raises(InvalidArgument, match=r"out of 'fc1.weight''s shape \(2, 2\)"):
        LawMonitor.from_torch(module, laws, mapping=dict(mapping, **{w: ("fc1.weight", (2, 0))}))
    with pytest.raises(InvalidArgument, match="1 index"):
        LawMonitor.from_torch(module, laws, mapping=dict(mapping, **{w: ("fc1.weight", 0)}))
    with pytest.raises(InvalidArgument, match="both read"):
        other = next(v for v in names if v.startswith("fc2.weight"))
        LawMonitor.from_torch(module, laws, mapping=dict(mapping, **{other: mapping[w]}))
    with pytest.raises(InvalidArgument, match="no entry in mapping"):
        LawMonitor.from_torch(module, laws, mapping={k: v for k, v in mapping.items() if k != w})
    with pytest.raises(InvalidArgument, match="expected a dict"):
        LawMonitor.from_torch(module, laws, mapping=[("a", 1)])
    # laws of a bigger module: out of shape, never a silent read
    big = residual_laws(Residual(d=2, m=3))
    small = Residual(d=7, m=1).double()        # same parameter count (m (2d + 1) = 15), other shapes
    with pytest.raises(InvalidArgument, match=r"index \[\d, \d\] is out of 'fc[12].weight''s shape \((1, 7|7, 1)\)"):
        LawMonitor.from_torch(small, big)
    with pytest.raises(InvalidArgument, match="the module has 10 parameters but the laws are over 15"):
        LawMonitor.from_torch(module, big)
    # a law variable of the wrong arity without mapping
    wrong = Law(((1, ((0, 2),)),), tuple(["fc1.weight[1]"] + list(names[1:])))
    with pytest.raises(InvalidArgument, match=r"1 index\(es\) \[1\] but 'fc1.weight' has shape \(2, 2\)"):
        LawMonitor.from_torch(module, [wrong])
    # a parameter that changes shape after the monitor was built
    mon = LawMonitor.from_torch(module, laws)
    module.fc2.weight = nn.Parameter(torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(InvalidArgument, match="now has shape"):
        mon.record()


def test_certificate_names_on_a_sequential_but_not_on_other_modules():
    torch.manual_seed(5)
    seq = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1, bias=False)).double()
    laws = fl.analyze(fl.models.mlp([2, 3, 1], activation="relu")).laws   # W1[i,j], b1[i], W2[0,i]
    vals = LawMonitor.from_torch(seq, laws).record()
    with torch.no_grad():
        truth = ((seq[0].weight**2).sum(1) - (seq[2].weight**2).sum(0)).numpy()
    assert len(laws) == 3
    direct = [sum(float(c) * np.prod([_mlp_value(seq, h.variables[v]) ** e for v, e in mono])
                  for c, mono in h.terms) for h in laws]
    assert np.allclose(vals, direct, rtol=0, atol=1e-12)
    assert np.isclose(abs(np.sum(vals)), abs(np.sum(truth))) or np.allclose(sorted(vals), sorted(truth))
    # a custom module with the same parameter count: W1 is not guessed
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.Linear(3, 1, bias=False)
            self.a = nn.Linear(2, 3, bias=False)

    with pytest.raises(InvalidArgument, match="names no parameter of the module"):
        LawMonitor.from_torch(Two().double(), laws)


def _mlp_value(seq, name):
    layer = {"1": seq[0], "2": seq[2]}[name[1]]
    idx = tuple(int(i) for i in name[name.index("[") + 1:-1].split(","))
    p = layer.weight if name[0] == "W" else layer.bias
    return float(p.detach()[idx])
