"""from_torch on attention, softmax heads and LayerNorm (issue 17): the reparametrization against one
written by hand, counts against the theorems, an independent SymPy brute force and the certificate checker."""

import pytest
import sympy

import flowlaws as fl
from flowlaws.errors import UnsupportedArchitecture

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional



def brute_force_trace_rank(phi, xs, depth=None):
    """D minus this is an upper bound on the count, from φ written as SymPy expressions (see point_bracket_rank)."""
    return point_bracket_rank([{tuple(m): int(c) for m, c in sympy.Poly(f, *xs).as_dict().items()} for f in phi],
                              len(xs))


def sym_matrix(name, rows, cols):
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}[{i},{j}]"))


def normalized(exprs):
    """Polynomials up to a constant factor (the coefficient of their first term is 1)."""
    out = set()
    for e in exprs:
        p = sympy.Poly(sympy.expand(e), *sorted(e.free_symbols, key=str))
        out.add(sympy.expand(e / p.coeffs()[0]))
    return out


def certified(model):
    res = fl.analyze(model)
    assert res.complete
    fl.verify.check_certificate(res.certificate)
    for law in res.laws:
        assert fl.verify.is_conserved(model, law)
    return res


class SingleHead(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(d, k, bias=False) for _ in range(3))
        self.o = nn.Linear(k, d, bias=False)

    def forward(self, x):
        scores = self.q(x) @ self.k(x).transpose(-2, -1) / 3.0
        return self.o(torch.softmax(scores, dim=-1) @ self.v(x))


class MultiHead(nn.Module):
    """Hand-written multi-head self-attention, heads by view + transpose."""

    def __init__(self, d, heads, hd):
        super().__init__()
        self.h, self.hd = heads, hd
        self.q, self.k, self.v = (nn.Linear(d, heads * hd, bias=False) for _ in range(3))
        self.o = nn.Linear(heads * hd, d, bias=False)

    def forward(self, x):
        B, T, _ = x.shape
        q, k, v = (f(x).view(B, T, self.h, self.hd).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = F.softmax(q @ k.transpose(-2, -1) * self.hd ** -0.5, dim=-1)
        return self.o((a @ v).transpose(1, 2).reshape(B, T, self.h * self.hd))


def hand_phi(d, heads, hd):
    """φ = (Q_h K_hᵀ, V_h O_hᵀ) per head, from the parameters' names (PyTorch's layout: W_q ∈ R^{H·hd × d})."""
    Wq, Wk, Wv = (sym_matrix(n, heads * hd, d) for n in ("q.weight", "k.weight", "v.weight"))
    Wo = sym_matrix("o.weight", d, heads * hd)
    phi = []
    for h in range(heads):
        rows = slice(h * hd, (h + 1) * hd)
        phi += list(Wq[rows, :].T * Wk[rows, :]) + list(Wv[rows, :].T * Wo[:, rows].T)
    return phi


@pytest.mark.parametrize("d, k", [(2, 1), (3, 1), (2, 2), (3, 2)])
def test_single_head_laws_are_functions_of_QQ_minus_KK_and_VV_minus_OO(d, k):
    model = fl.models.from_torch(SingleHead(d, k), (1, 3, d))
    assert normalized(model.phi) == normalized(hand_phi(d, 1, k))  # the reparametrization is the one by hand
    res = certified(model)
    assert res.count == k * (k + 1)  # k(k+1)/2 per product (DESIGN section 4, r = k <= N = 2d)
    xs = [sympy.Symbol(v) for v in model.variables]
    assert res.count == model.dim - brute_force_trace_rank(hand_phi(d, 1, k), xs, depth=3)
    # the entries of W_q W_qᵀ − W_k W_kᵀ and W_v W_vᵀ − W_oᵀ W_o are laws, and as many independent ones
    # as the count: every law is (locally) a function of them
    Wq, Wk, Wv = (sym_matrix(n, k, d) for n in ("q.weight", "k.weight", "v.weight"))
    Wo = sym_matrix("o.weight", d, k)
    entries = []
    for M in (Wq * Wq.T - Wk * Wk.T, Wv * Wv.T - Wo.T * Wo):
        entries += [M[i, j] for i in range(k) for j in range(i, k)]
    for e in entries:
        assert fl.verify.is_conserved(model, e)
    J = sympy.Matrix([[sympy.diff(e, x) for x in xs] for e in entries])
    point = {x: sympy.Integer((7 * i) % 11 - 5) for i, x in enumerate(xs)}
    assert J.subs(point).rank() == res.count


@pytest.mark.parametrize("bias", [False, True])
def test_multihead_attention_module_has_the_per_head_laws(bias):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True, bias=bias)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = mha

        def forward(self, x):
            return self.attn(x, x, x)[0]

    model = fl.models.from_torch(Net(), (1, 3, 4))
    res = certified(model)
    assert res.count == 2 * fl.analyze(fl.models.attention(4, 2)).count  # 2 heads x 6
    for law in res.laws:  # no law mixes the heads: its rows of in_proj_weight belong to one head
        rows = {int(str(s).split("[")[1].split(",")[0].rstrip("]")) for s in law.to_sympy().free_symbols
                if "in_proj" in str(s)}
        assert len({r % 4 // 2 for r in rows}) == 1, law
    if bias:
        assert any("key bias" in n for n in model.notes)


def test_hand_written_multihead_matches_the_module_and_brute_force():
    model = fl.models.from_torch(MultiHead(2, 2, 1), (1, 3, 2))
    assert normalized(model.phi) == normalized(hand_phi(2, 2, 1))
    res = certified(model)
    xs = [sympy.Symbol(v) for v in model.variables]
    assert res.count == model.dim - brute_force_trace_rank(hand_phi(2, 2, 1), xs, depth=3) == 4


def test_scaled_dot_product_attention_is_read_like_the_hand_written_one():
    class SDPA(SingleHead):
        def forward(self, x):
            return self.o(F.scaled_dot_product_attention(self.q(x), self.k(x), self.v(x)))

    model = fl.models.from_torch(SDPA(3, 2), (1, 2, 3))
    assert normalized(model.phi) == normalized(hand_phi(3, 1, 2))


def test_attention_misuse_is_refused_with_the_node():
    class Masked(SingleHead):
        def forward(self, x):
            s = self.q(x) @ self.k(x).transpose(-2, -1)
            return self.o(torch.softmax(s + 1, dim=-1) @ self.v(x))

    class WrongAxis(SingleHead):
        def forward(self, x):
            return self.o(torch.softmax(self.q(x) @ self.k(x).transpose(-2, -1), dim=1) @ self.v(x))

    with pytest.raises(UnsupportedArchitecture, match="scores"):
        fl.models.from_torch(Masked(2, 1), (1, 3, 2))
    with pytest.raises(UnsupportedArchitecture, match="dim=1"):
        fl.models.from_torch(WrongAxis(2, 1), (1, 3, 2))
    mha = nn.MultiheadAttention(2, 1)

    class SeqFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = mha

        def forward(self, x):
            return self.a(x, x, x)[0]

    with pytest.raises(UnsupportedArchitecture, match="batch_first"):
        fl.models.from_torch(SeqFirst(), (1, 3, 2))


# -- softmax / cross-entropy heads ------------------------------------------------------------------
class Head(nn.Module):
    def __init__(self, m, n, hidden=0, bias=False, log=True):
        super().__init__()
        self.body = nn.Linear(m, hidden, bias=bias) if hidden else None
        self.out = nn.Linear(hidden or m, n, bias=bias)
        self.log = log

    def forward(self, x):
        if self.body is not None:
            x = torch.relu(self.body(x))
        z = self.out(x)
        return F.log_softmax(z, dim=-1) if self.log else z


@pytest.mark.parametrize("m, n", [(1, 2), (2, 3), (3, 2)])
def test_softmax_layer_has_m_laws_sum_of_each_column(m, n):
    model = fl.models.from_torch(Head(m, n), (1, m))
    res = certified(model)
    assert res.count == m
    cols = [sum(sympy.Symbol(f"out.weight[{i},{j}]") for i in range(n)) for j in range(m)]
    for c in cols:
        assert fl.verify.is_conserved(model, c)
    xs = [sympy.Symbol(v) for v in model.variables]
    assert sympy.Matrix([[sympy.diff(c, x) for x in xs] for c in cols]).rank() == m
    # the same from the logits with loss="cross_entropy", and by brute force on z_i − z_0
    same = fl.models.from_torch(Head(m, n, log=False), (1, m), loss="cross_entropy")
    assert fl.analyze(same).count == m
    W = sym_matrix("out.weight", n, m)
    phi = [W[i, j] - W[0, j] for i in range(1, n) for j in range(m)]
    assert model.dim - brute_force_trace_rank(phi, xs, depth=2) == m


@pytest.mark.parametrize("m, hidden, n, bias", [(2, 2, 2, False), (2, 3, 3, False), (1, 2, 3, True)])
def test_softmax_head_after_a_relu_layer_adds_one_law_per_column(m, hidden, n, bias):
    """Theorem (proved in docs/torch.md): hidden ReLU neurons + one law per column of the last layer
    (+ one for its bias), since in an orthonormal basis whose first vector is (1,...,1)/√n the model
    reads only the other n − 1 rows, a ReLU net with n − 1 ≥ 1 outputs (one law per hidden neuron)."""
    module = Head(m, n, hidden=hidden, bias=bias, log=False)
    res = certified(fl.models.from_torch(module, (1, m), loss="cross_entropy"))
    assert res.count == hidden + hidden + (1 if bias else 0)
    plain = fl.analyze(fl.models.from_torch(module, (1, m)))
    assert plain.count == hidden


# -- LayerNorm -------------------------------------------------------------------------------------
def test_layer_norm_reads_differences_and_says_what_it_idealizes():
    class LN(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 3, bias=False)
            self.norm = nn.LayerNorm(3, elementwise_affine=False)
            self.fc2 = nn.Linear(3, 2, bias=False)

        def forward(self, x):
            return self.fc2(self.norm(self.fc1(x)))

    model = fl.models.from_torch(LN(), (1, 2))
    res = certified(model)
    assert res.count == 2  # the column sums of fc1 (translation invariance of the centring)
    for j in range(2):
        assert fl.verify.is_conserved(model, sum(sympy.Symbol(f"fc1.weight[{i},{j}]") for i in range(3)))
    assert any("eps is taken as 0" in n and "lower bound" in n for n in model.notes)
    assert any("squared norm of fc1.weight" in n for n in model.notes)
    # the note's law holds for the model itself: the LayerNorm output does not change along θ_fc1 -> c θ_fc1,
    # so the loss gradient is orthogonal to fc1.weight (Euler), checked here on PyTorch's own gradient
    torch.manual_seed(0)
    net = LN().double()
    for m in net.modules():
        if isinstance(m, nn.LayerNorm):
            m.eps = 0.0
    loss = net(torch.randn(5, 2, dtype=torch.float64)).pow(3).sum()
    loss.backward()
    assert abs(float((net.fc1.weight.detach() * net.fc1.weight.grad).sum())) < 1e-9


def test_transformer_block_count_matches_the_per_part_theorems_and_brute_force():
    """attention (H heads of hd, in_proj biases) + residual + LayerNorm + ReLU MLP + residual:
    per head hd(hd+1)/2 score laws, hd(hd+1)/2 value laws (O_h is read modulo its column sums:
    V_h (P O_h)ᵀ with P the centring, r = hd <= N = 2d) and the hd column sums of O_h; one law Σ out_proj.bias; one per hidden ReLU neuron."""
    block = Block(2, 1, 2)
    model = fl.models.from_torch(block, (1, 2, 2))
    res = certified(model)
    hd, H, hidden = 2, 1, 2
    assert res.count == H * (hd * (hd + 1) + hd) + 1 + hidden
    assert res.count == model.dim - point_bracket_rank(model.phi_polynomials(), model.dim)


def point_bracket_rank(phi, D, seed=0):
    """Brute force without the engine: the exact rank of the fields ∇φ_i and all brackets
    [∇φ_i, ∇φ_j] = H_j ∇φ_i − H_i ∇φ_j at an integer point, from φ's monomials (a lower bound on
    the trace dimension, so D minus it bounds the count from above)."""
    import random

    import flint

    rng = random.Random(seed)
    pt = [rng.choice([-3, -2, -1, 1, 2, 3]) for _ in range(D)]

    def value(mono):
        out = 1
        for v, e in enumerate(mono):
            out *= pt[v] ** e
        return out

    grads, hess = [], []
    for coord in phi:
        g, h = [0] * D, {}
        for mono, c in coord.items():
            for a, ea in enumerate(mono):
                if not ea:
                    continue
                da = list(mono)
                da[a] -= 1
                g[a] += c * ea * value(da)
                for b, eb in enumerate(da):
                    if eb:
                        db = list(da)
                        db[b] -= 1
                        h[(a, b)] = h.get((a, b), 0) + c * ea * eb * value(db)
        grads.append(g)
        hess.append(h)
    vecs = list(grads)
    for i in range(len(phi)):
        for j in range(i + 1, len(phi)):
            v = [0] * D
            for (a, b), x in hess[j].items():
                v[a] += x * grads[i][b]
            for (a, b), x in hess[i].items():
                v[a] -= x * grads[j][b]
            vecs.append(v)
    return flint.fmpz_mat(vecs).rank()


class Block(nn.Module):
    def __init__(self, d=4, heads=2, hidden=8):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)

    def forward(self, x):
        y = self.norm(x + self.attn(x, x, x, need_weights=False)[0])
        return y + self.fc2(torch.relu(self.fc1(y)))


# -- LawMonitor.from_torch reads these laws by name ---------------------------------------------------
def test_law_monitor_reads_attention_laws_by_name_against_hand_computed_values():
    from flowlaws.dynamics import LawMonitor

    torch.manual_seed(5)
    block = Block(4, 2, 3)
    res = fl.analyze(fl.models.from_torch(block, (1, 3, 4)))
    mon = LawMonitor.from_torch(block, res.laws)
    mon.record()
    values = [float(v) for v in mon.values[0]]
    W = block.attn.in_proj_weight.detach().double()
    b = block.attn.in_proj_bias.detach().double()
    O = block.attn.out_proj.weight.detach().double()
    hand = []
    for h in range(2):
        q, k = slice(2 * h, 2 * h + 2), slice(4 + 2 * h, 4 + 2 * h + 2)
        M = W[q] @ W[q].T + torch.outer(b[q], b[q]) - W[k] @ W[k].T  # Q̃ᵀQ̃ − KᵀK of head h
        hand += [float(M[0, 0]), float(M[1, 1]), float(M[0, 1])]
        hand += [float(O[:, 2 * h + c].sum()) for c in range(2)]  # column sums of O_h (LayerNorm's centring)
    hand.append(float(block.attn.out_proj.bias.detach().double().sum()))
    W1, b1, W2 = (t.detach().double() for t in (block.fc1.weight, block.fc1.bias, block.fc2.weight))
    hand += [float(W1[j] @ W1[j] + b1[j] ** 2 - W2[:, j] @ W2[:, j]) for j in range(3)]  # ReLU neurons
    for v in hand:
        assert any(abs(v - u) < 1e-9 * (1 + abs(v)) for u in values), (v, values)


def test_law_monitor_reads_residual_block_laws_by_name():
    from flowlaws.dynamics import LawMonitor

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(2, 3, 3, padding=1, bias=False)
            self.conv2 = nn.Conv1d(3, 2, 3, padding=1, bias=False)

        def forward(self, x):
            return torch.relu(self.conv2(torch.relu(self.conv1(x)))) + x

    torch.manual_seed(2)
    net = Residual()
    res = fl.analyze(fl.models.from_torch(net, (1, 2, 4)))
    assert res.count == 3
    mon = LawMonitor.from_torch(net, res.laws)
    mon.record()
    w1, w2 = net.conv1.weight.detach().double(), net.conv2.weight.detach().double()
    hand = sorted(float((w1[j] ** 2).sum() - (w2[:, j] ** 2).sum()) for j in range(3))
    got = sorted(float(v) for v in mon.values[0])
    assert got == pytest.approx(hand, rel=1e-12)


def test_cli_analyzes_a_transformer_block_in_a_user_file(tmp_path, monkeypatch, capsys):
    import json

    from flowlaws import cli

    name = f"tblock_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "import torch\nimport torch.nn as nn\n\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.attn = nn.MultiheadAttention(2, 1, batch_first=True)\n"
        "        self.norm = nn.LayerNorm(2)\n"
        "        self.fc1, self.fc2 = nn.Linear(2, 2), nn.Linear(2, 2)\n\n"
        "    def forward(self, x):\n"
        "        y = self.norm(x + self.attn(x, x, x, need_weights=False)[0])\n"
        "        return y + self.fc2(torch.relu(self.fc1(y)))\n\n\n"
        "def make_model():\n"
        "    return Block()\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    cert = tmp_path / "cert.json"
    assert cli.main(["analyze", f"{name}:make_model", "--example-input-shape", "1x2x2", "--json",
                     "--certificate", str(cert)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 1 * (2 * 3 + 2) + 1 + 2 and out["complete"]
    assert "attn.out_proj.bias[0] + attn.out_proj.bias[1]" in out["laws"]
    assert cli.main(["check", str(cert)]) == 0


def test_multihead_benchmark_finds_no_law_beyond_the_heads_on_a_small_size():
    """benchmarks/multihead_attention.py: the exact rank of the model's own Taylor gradients equals rank ∇φ."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "multihead_attention.py"
    spec = importlib.util.spec_from_file_location("multihead_attention", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    row = bench.case(2, 2, 1)
    assert row["count"] == row["heads_x_single_head"] == 4
    assert row["model_rank"] == row["phi_rank"] == row["phi_rank_closed_form"] == 12
    assert row["no_extra_laws"]
