"""torch.fx import of custom modules (issue 17): graphs that compute the module, counts against theorems
and against hand-built graphs / the explicit polynomial route."""

import re

import networkx as nx
import numpy as np
import pytest

import flowlaws as fl
from flowlaws.errors import BudgetExceeded, DomainError, InvalidArgument, UnsupportedArchitecture

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

ENTRY = re.compile(r"^(.*)\[([0-9,]+)\]$")


# -- an independent float evaluator of the imported graph, parameters mapped BY NAME ------------------
def evaluate(model, module, x, slope=0.01):
    """The graph's output at the module's own parameter values (looked up by name) and input ``x``."""
    G = model.graph
    params = {k: p.detach() for k, p in module.named_parameters()}
    value = {}
    flat_x = x.detach().double().reshape(-1).numpy()
    inputs = {node: k for k, node in enumerate(G.graph["inputs"])}
    for node in nx.topological_sort(G):
        data = G.nodes[node]
        if data["kind"] == "input":
            value[node] = flat_x[inputs[node]]
            continue
        if data["kind"] == "bias":
            value[node] = 1.0
            continue
        total = 0.0
        for u, _, e in G.in_edges(node, data=True):
            if e.get("trainable", True):
                name, idx = ENTRY.match(e["param"]).groups()
                w = float(params[name][tuple(int(i) for i in idx.split(","))])
            else:
                w = float(e.get("value", 1))
            total += w * value[u]
        act = data.get("activation", "linear") if data["kind"] == "hidden" else "linear"
        if act == "relu":
            total = max(total, 0.0)
        elif act == "leaky_relu":
            total = total if total > 0 else slope * total
        value[node] = total
    return np.array([value[o] for o in G.graph["outputs"]])


def assert_same_function(module, model, shape, *, slope=0.01, trials=3):
    torch.manual_seed(1)
    module = module.double().eval()
    for _ in range(trials):
        x = torch.randn(*shape, dtype=torch.float64)
        want = module(x).detach().reshape(-1).numpy()
        got = evaluate(model, module, x, slope=slope)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def all_entries(module):
    names = []
    for name, p in module.named_parameters():
        names += [f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*p.shape)]
    return tuple(names)


def explicit_count(model):
    """The count on the explicit polynomial route (φ expanded), independent of the network route."""
    poly = fl.models.from_polynomials([str(c) for c in model.phi], variables=list(model.variables))
    res = fl.analyze(poly)
    assert res.complete
    return res.count


# -- the zoo ------------------------------------------------------------------------------------------
class DropoutMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(3, 4), nn.Linear(4, 3), nn.Linear(3, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = self.drop(F.relu(self.fc1(x)))
        x = torch.relu(self.fc2(x))
        return self.head(F.dropout(x, 0.1, self.training))


class SmallConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))


class ResidualBlock(nn.Module):
    def __init__(self, channels=2, hidden=3, skip=True):
        super().__init__()
        self.conv1 = nn.Conv1d(channels, hidden, 3, padding=1, bias=False)
        self.conv2 = nn.Conv1d(hidden, channels, 3, padding=1, bias=False)
        self.skip = skip

    def forward(self, x):
        out = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return out + x if self.skip else out


class StridedBlock(nn.Module):
    """conv(stride 2, zero padding) - ReLU - conv(stride 2): the strided conv-ReLU-conv block."""

    def __init__(self, c0=1, c1=3, c2=2):
        super().__init__()
        self.conv1 = nn.Conv1d(c0, c1, 3, stride=2, padding=1, bias=False)
        self.conv2 = nn.Conv1d(c1, c2, 2, stride=2, bias=False)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x)))


class GroupedBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 2, groups=2)
        self.conv2 = nn.Conv2d(4, 2, 2, bias=False)

    def forward(self, x):
        return self.conv2(nn.functional.relu(self.conv1(x)))


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(1, 2, 3, bias=False)
        self.b = nn.Conv1d(1, 1, 3, dilation=2, padding=1, bias=False)
        self.out = nn.Conv1d(3, 1, 2, bias=False)

    def forward(self, x):
        return self.out(torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x))], dim=1))


ZOO = [
    (DropoutMLP, (1, 3), 4 + 3),                 # one law per hidden ReLU neuron
    (SmallConvNet, (1, 1, 4, 4), 2),             # one law per hidden channel
    (ResidualBlock, (1, 2, 5), 3),               # c1 = 3: the skip does not change the block's laws
    (StridedBlock, (1, 1, 8), 3),                # c1 = 3, also strided
    (GroupedBlock, (1, 4, 3, 3), 4),             # c1 = 4 with groups=2
    (TwoBranches, (1, 1, 6), 3),                 # 2 + 1 hidden channels concatenated
]


@pytest.mark.parametrize("cls, shape, laws", ZOO, ids=[c.__name__ for c, _, _ in ZOO])
def test_zoo_function_names_and_count(cls, shape, laws):
    torch.manual_seed(0)
    module = cls()
    model = fl.models.from_torch(module, shape)
    assert model.variables == all_entries(module)  # named_parameters() order, row-major
    assert_same_function(module, model, shape)
    res = fl.analyze(model)
    assert res.complete and res.count == laws
    fl.verify.check_certificate(res.certificate)
    for law in res.laws:  # every law is a channel's ‖in‖² − ‖out‖²: quadratic, conserved exactly
        assert fl.verify.is_conserved(model, law)


@pytest.mark.parametrize("cls, shape", [(SmallConvNet, (1, 1, 4, 4)), (StridedBlock, (1, 1, 8)),
                                        (ResidualBlock, (1, 2, 4))])
def test_count_matches_explicit_polynomial_route(cls, shape):
    torch.manual_seed(0)
    model = fl.models.from_torch(cls(), shape)
    assert explicit_count(model) == fl.analyze(model).count


def hand_conv_block(length, c0, c1, c2, k1, k2, stride1, pad1, stride2):
    """conv-ReLU-conv in 1-D written directly as a graph (independent index code), torch's names."""
    G = nx.DiGraph()
    for c in range(c0):
        for i in range(length):
            G.add_node(("x", c, i), kind="input")
    out1 = (length + 2 * pad1 - k1) // stride1 + 1
    out2 = (out1 - k2) // stride2 + 1
    for h in range(c1):
        for o in range(out1):
            G.add_node(("h", h, o), kind="hidden", activation="relu")
            for c in range(c0):
                for t in range(k1):
                    i = o * stride1 - pad1 + t
                    if 0 <= i < length:
                        G.add_edge(("x", c, i), ("h", h, o), param=f"conv1.weight[{h},{c},{t}]")
    for y in range(c2):
        for o in range(out2):
            G.add_node(("y", y, o), kind="output")
            for h in range(c1):
                for t in range(k2):
                    G.add_edge(("h", h, o * stride2 + t), ("y", y, o), param=f"conv2.weight[{y},{h},{t}]")
    return fl.models.from_graph(G)


def test_strided_block_equals_hand_built_graph():
    model = fl.models.from_torch(StridedBlock(1, 3, 2), (1, 1, 8))
    hand = hand_conv_block(8, 1, 3, 2, 3, 2, 2, 1, 2)
    assert sorted(model.variables) == sorted(hand.variables)
    import sympy

    def coords(m):
        syms = {v: sympy.Symbol(v) for v in m.variables}
        return sorted(str(sympy.expand(p.subs(syms))) for p in m.phi)

    assert coords(model) == coords(hand)
    assert fl.analyze(hand).count == fl.analyze(model).count == 3


@pytest.mark.parametrize("c1", [1, 2, 4])
def test_conv_relu_conv_has_c1_laws(c1):
    model = fl.models.from_torch(StridedBlock(2, c1, 2), (1, 2, 8))
    res = fl.analyze(model)
    assert res.complete and res.count == c1


def test_skip_connection_keeps_the_laws():
    torch.manual_seed(0)
    with_skip = fl.models.from_torch(ResidualBlock(skip=True), (1, 2, 5))
    without = fl.models.from_torch(ResidualBlock(skip=False), (1, 2, 5))
    a, b = fl.analyze(with_skip), fl.analyze(without)
    assert a.count == b.count == 3
    for law in a.laws:
        assert fl.verify.is_conserved(without, law)
    for law in b.laws:
        assert fl.verify.is_conserved(with_skip, law)


def test_mlp_with_dropout_matches_mlp_builder_and_notes_dropout():
    model = fl.models.from_torch(DropoutMLP(), (1, 3))
    assert any("Dropout is the identity" in note for note in model.notes)
    assert fl.analyze(model).count == fl.analyze(fl.models.mlp([3, 4, 3, 2], activation="relu", bias=True)).count


# -- more layers: pooling, views, arithmetic ----------------------------------------------------------
class Misc(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 2, stride=1, padding="same", bias=True)
        self.lin = nn.Linear(3, 2)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        y = self.act(self.conv(x))
        z = F.adaptive_avg_pool2d(y, (2, 1)) + F.avg_pool2d(y, 3, stride=2, padding=1, count_include_pad=False)
        z = z.permute(0, 2, 3, 1).reshape(x.size(0), -1, 3)
        w = z.mean(1) - 2 * z[:, 0] + z.sum(dim=1) / 3
        return self.lin(w) + 1


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_pooling_views_and_arithmetic_compute_the_module():
    torch.manual_seed(0)
    module = Misc()
    model = fl.models.from_torch(module, torch.zeros(1, 2, 4, 3))
    assert model.variables == all_entries(module)
    assert_same_function(module, model, (1, 2, 4, 3), slope=0.2)


def test_shared_module_is_a_shared_parameter():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2, bias=False)

        def forward(self, x):
            return self.lin(torch.relu(self.lin(x)))

    module = Twice()
    model = fl.models.from_torch(module)  # the first layer is a Linear: no example input needed
    assert model.variables == all_entries(module)
    assert_same_function(module, model, (1, 2))
    assert explicit_count(model) == fl.analyze(model).count


def test_kernel_entries_on_padding_only_are_left_out_with_a_note():
    module = nn.Sequential(nn.Conv1d(1, 1, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(1, 1, bias=False))
    model = fl.models.from_torch(module, (1, 1, 1))
    assert model.variables == ("0.weight[0,0,1]", "2.weight[0,0]")
    assert any("2 parameter entries of 0.weight never reach the output" in note for note in model.notes)
    assert_same_function(module, model, (1, 1, 1))


# -- errors ---------------------------------------------------------------------------------------------
class WithLayer(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 2)
        self.layer = layer

    def forward(self, x):
        return self.layer(self.conv(x)).flatten(1)


class Sig(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x


@pytest.mark.parametrize("module, pattern", [
    (WithLayer(nn.MaxPool2d(2, dilation=2)),
     r"traced node 'layer' = 'layer' \(MaxPool2d\) is supported only with dilation=1 and return_indices=False"),
    (WithLayer(nn.BatchNorm2d(2)), r"'layer' \(BatchNorm2d\) is not supported"),
    (Sig(), r"traced node 'sigmoid' = torch.sigmoid is not supported"),
    (Branchy(), r"torch.fx could not trace Branchy: .*data-dependent control flow"),
])
def test_unsupported_operations_name_the_node(module, pattern):
    shape = (1, 1, 3, 3) if isinstance(module, WithLayer) else (1, 2)
    with pytest.raises(UnsupportedArchitecture, match=pattern) as info:
        fl.models.from_torch(module, shape)
    assert "\n" not in str(info.value)


def test_bad_example_inputs_and_floats():
    with pytest.raises(InvalidArgument, match="give example_input"):
        fl.models.from_torch(SmallConvNet())
    with pytest.raises(InvalidArgument, match="expected a tensor or a shape"):
        fl.models.from_torch(SmallConvNet(), "1x1x4x4")
    with pytest.raises(InvalidArgument, match="expected a torch.nn.Module"):
        fl.models.from_torch(object())

    class Half(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) * 0.5

    with pytest.raises(DomainError, match="x / 2 instead of x \\* 0.5"):
        fl.models.from_torch(Half())
    with pytest.raises(UnsupportedArchitecture, match="flattens the batch dimension"):
        fl.models.from_torch(nn.Sequential(nn.Conv1d(1, 1, 1), nn.Flatten(0)), (1, 1, 3))


def test_big_conv_net_is_refused_before_it_is_built():
    module = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1))
    with pytest.raises(BudgetExceeded, match="max_parameters=1000000"):
        fl.models.from_torch(module, (1, 3, 64, 64))


# -- in-place activations (torchvision style) ---------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(3, 2, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu(self.conv1(x))
        out = self.conv2(out)
        out += identity
        return self.relu(out)


class InPlaceAlias(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        y = self.fc(x)
        z = F.relu(y, inplace=True)
        return z + y  # y was changed in place: 2 relu(fc(x))


def test_in_place_relu_is_followed():
    torch.manual_seed(0)
    block = BasicBlock()
    model = fl.models.from_torch(block, (1, 2, 3, 3))
    assert_same_function(block, model, (1, 2, 3, 3))
    res = fl.analyze(model)
    assert res.complete and res.count == 3
    alias = InPlaceAlias()
    model = fl.models.from_torch(alias)
    with torch.no_grad():
        assert_same_function(alias, model, (1, 2))


def test_result_notes_say_what_is_idealized():
    res = fl.analyze(fl.models.from_torch(DropoutMLP(), (1, 3)))
    assert res.notes[0].startswith("Dropout is the identity")
    assert "Dropout is the identity" in str(res)


def test_parameter_used_as_a_scale_is_refused():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.fc(x) * self.scale

    with pytest.raises(UnsupportedArchitecture, match="uses the parameter scale other than as the weight"):
        fl.models.from_torch(Scaled())


def test_law_monitor_reads_conv_laws_by_name():
    import sympy

    from flowlaws.dynamics import LawMonitor

    torch.manual_seed(3)
    module = StridedBlock(1, 2, 2)
    res = fl.analyze(fl.models.from_torch(module, (1, 1, 8)))
    mon = LawMonitor.from_torch(module, res.laws)
    mon.record()
    params = {k: p.detach().double() for k, p in module.named_parameters()}
    for k, law in enumerate(res.laws):
        expr = law.to_sympy()
        values = {}
        for s in expr.free_symbols:
            name, idx = ENTRY.match(s.name).groups()
            values[s] = float(params[name][tuple(int(i) for i in idx.split(","))])
        assert mon.values[0][k] == pytest.approx(float(expr.subs(values)), rel=1e-12)


def test_a_tensor_added_to_itself_and_subtracted():
    class Doubled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.out = nn.Linear(2, 3), nn.Linear(3, 2)

        def forward(self, x):
            y = self.fc(x)
            h = torch.relu(y + y)
            return self.out(h) - self.out(h) / 4 + x.sum(1, keepdim=True)

    torch.manual_seed(0)
    module = Doubled()
    model = fl.models.from_torch(module)
    assert_same_function(module, model, (1, 2))
    assert fl.analyze(model).count == explicit_count(model)


class SkipBlock(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.conv1 = nn.Conv1d(c, h, 3, padding=1, bias=False)
        self.conv2 = nn.Conv1d(h, c, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


class TwoBlocks(nn.Module):
    def __init__(self, c=2, h=2):
        super().__init__()
        self.layer1 = nn.Sequential(SkipBlock(c, h), SkipBlock(c, h))

    def forward(self, x):
        return self.layer1(x)


def test_two_residual_blocks_have_per_block_laws_only():
    torch.manual_seed(0)
    module = TwoBlocks(2, 3)
    model = fl.models.from_torch(module, (1, 2, 5))
    assert_same_function(module, model, (1, 2, 5))
    res = fl.analyze(model)
    assert res.complete and res.count == 6  # 3 hidden channels per block
    for law in res.laws:  # no law spans two residual blocks
        assert len({s.name.split(".")[1] for s in law.to_sympy().free_symbols}) == 1
    small = fl.models.from_torch(TwoBlocks(2, 2), (1, 2, 4))
    assert explicit_count(small) == fl.analyze(small).count == 4


class StemNet(nn.Module):
    """A ReLU stem, two residual blocks whose sums are ReLU'd, a linear head (1x1 convolutions)."""

    def __init__(self, c=2, h=2):
        super().__init__()
        self.stem = nn.Conv1d(1, c, 1, bias=False)
        self.layer1 = nn.ModuleList([nn.ModuleDict({"conv1": nn.Conv1d(c, h, 1, bias=False),
                                                    "conv2": nn.Conv1d(h, c, 1, bias=False)}) for _ in range(2)])
        self.fc = nn.Linear(c, 1, bias=False)

    def forward(self, x):
        x = F.relu(self.stem(x))
        for block in self.layer1:
            x = F.relu(block["conv2"](F.relu(block["conv1"](x))) + x)
        return self.fc(torch.flatten(x, 1))


def test_a_relu_stem_adds_one_law_per_residual_channel_across_blocks():
    torch.manual_seed(0)
    module = StemNet()
    model = fl.models.from_torch(module, (1, 1, 1))
    assert_same_function(module, model, (1, 1, 1))
    res = fl.analyze(model)
    assert res.complete and res.count == 2 + 2 * 2 == explicit_count(model)
    # channel 0 of the residual stream: stem and conv2 output slices against conv1 input slices and the head
    pairs = [(b, j) for b in (0, 1) for j in (0, 1)]
    law = ("stem.weight[0,0,0]^2 + " + " + ".join(f"layer1.{b}.conv2.weight[0,{j},0]^2" for b, j in pairs)
           + " - " + " - ".join(f"layer1.{b}.conv1.weight[{j},0,0]^2" for b, j in pairs) + " - fc.weight[0,0]^2")
    assert fl.verify.is_conserved(model, law)


class Functional(nn.Module):
    """F.conv1d / F.linear on the module's own parameters, and every pooling option against PyTorch."""

    def __init__(self, include_pad):
        super().__init__()
        self.kernel = nn.Parameter(torch.randn(3, 2, 2))
        self.W, self.b = nn.Parameter(torch.randn(2, 9)), nn.Parameter(torch.randn(2))
        self.pool = nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=include_pad)
        self.pool2 = nn.AvgPool2d(2, stride=1, divisor_override=3)

    def forward(self, x):
        y = F.leaky_relu(F.conv1d(x, self.kernel, stride=1, dilation=2), 0.3)   # (1, 3, 4)
        z = torch.cat([self.pool(y), F.adaptive_avg_pool1d(y, 3)], dim=2)       # (1, 3, 6)
        w = self.pool2(z.unsqueeze(1)).flatten(1)                                # (1, 10)
        return F.linear(w[:, 1:], self.W, self.b)


@pytest.mark.parametrize("include_pad", [True, False])
def test_functional_layers_and_pooling_options(include_pad):
    torch.manual_seed(0)
    module = Functional(include_pad)
    model = fl.models.from_torch(module, (1, 2, 6))
    assert model.variables == all_entries(module)
    assert_same_function(module, model, (1, 2, 6), slope=0.3)


class MaxPooled(nn.Module):
    """Conv -> ReLU -> MaxPool -> Linear, 1-d or 2-d, with stride and padding."""

    def __init__(self, c, nd, kernel, stride, padding, features):
        super().__init__()
        self.conv = (nn.Conv1d if nd == 1 else nn.Conv2d)(1, c, 2, bias=False)
        self.pool = (nn.MaxPool1d if nd == 1 else nn.MaxPool2d)(kernel, stride=stride, padding=padding)
        self.fc = nn.Linear(features, 1, bias=False)

    def forward(self, x):
        return self.fc(self.pool(F.relu(self.conv(x))).flatten(1))


@pytest.mark.parametrize(("c", "nd", "kernel", "stride", "padding", "shape"), [
    (2, 1, 2, None, 0, (1, 1, 5)), (3, 1, 2, 1, 1, (1, 1, 6)), (2, 2, 2, None, 0, (1, 1, 5, 5)),
])
def test_max_pooling_is_a_gate_and_keeps_one_law_per_channel(c, nd, kernel, stride, padding, shape):
    probe = MaxPooled(c, nd, kernel, stride, padding, 1)
    with torch.no_grad():
        features = probe.pool(F.relu(probe.conv(torch.zeros(shape)))).flatten(1).shape[1]
    model = fl.models.from_torch(MaxPooled(c, nd, kernel, stride, padding, features), shape)
    res = fl.analyze(model)
    # max(λz) = λ max(z): rescaling a conv channel passes through the pooling, one law per channel
    assert res.complete and res.count == c == explicit_count(model)
    assert fl.verify.check_certificate(res.certificate)["complete"]
    law = " + ".join(f"conv.weight[0,0,{k}]^2" if nd == 1 else f"conv.weight[0,0,{k // 2},{k % 2}]^2" for k in range(2 * nd))
    fc0 = [f"fc.weight[0,{j}]^2" for j in range(features // c)]
    assert fl.verify.is_conserved(model, law + " - " + " - ".join(fc0))
