"""Architectures as graphs: agreement with mlp, skips, sharing, freezing, errors."""

import math

import networkx as nx
import pytest
import sympy

import flowlaws as fl
from flowlaws.errors import DomainError, InvalidArgument, UnsupportedArchitecture


def law_strings(res):
    return sorted(str(law) for law in res.laws)


@pytest.mark.parametrize(
    "widths,activation,bias",
    [([2, 3, 2], "relu", False), ([2, 2, 2], "linear", False), ([2, 3, 2], "relu", True), ([2, 2, 2, 2], "leaky_relu", True)],
)
def test_chain_graph_equals_mlp(widths, activation, bias):
    chain = fl.models.mlp(widths, activation=activation, bias=bias)
    via_graph = fl.models.from_graph(chain.graph)
    assert sorted(via_graph.variables) == sorted(chain.variables)
    a, b = fl.analyze(chain), fl.analyze(via_graph)
    assert (a.count, a.rank, a.complete) == (b.count, b.rank, b.complete)
    # the same laws: each law found on one route is an exact law of the other model
    for law in b.laws:
        assert fl.verify.is_conserved(chain, law.to_sympy())
    for law in a.laws:
        assert fl.verify.is_conserved(via_graph, law.to_sympy())
    if activation != "linear" and len(widths) == 3:  # one hidden layer: per-neuron laws, unique up to scale
        assert {law.to_sympy() for law in a.laws} == {law.to_sympy() for law in b.laws}
    fl.verify.check_certificate(b.certificate)


def test_chain_graph_has_the_same_phi_as_mlp():
    chain = fl.models.mlp([2, 3, 2], activation="relu", bias=True)
    assert set(map(sympy.expand, chain.phi)) == set(map(sympy.expand, fl.models.from_graph(chain.graph).phi))


@pytest.mark.parametrize("width,hidden,bias", [(2, 3, False), (3, 2, True)])
def test_residual_block_has_the_laws_of_the_block_without_skip(width, hidden, bias):
    with_skip = fl.analyze(fl.models.resnet_block(width, hidden, bias=bias))
    without = fl.analyze(fl.models.resnet_block(width, hidden, bias=bias, skip=False))
    assert with_skip.complete and without.complete
    assert law_strings(with_skip) == law_strings(without)
    assert with_skip.count == hidden


def brute_force_count(model):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "algebra"))
    from test_bruteforce import brute_force_trace_rank

    xs = [sympy.Symbol(v) for v in model.variables]
    return model.dim - brute_force_trace_rank(model.phi, xs, depth=3)


def shared_chain(share: bool):
    G = nx.DiGraph()
    for n in ("x0", "x1"):
        G.add_node(n, kind="input")
    for n in ("h0", "h1"):
        G.add_node(n, kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("x0", "h0", param="a")
    G.add_edge("x1", "h0", param="b")
    G.add_edge("x0", "h1", param="a" if share else "c")
    G.add_edge("x1", "h1", param="d")
    G.add_edge("h0", "y", param="e")
    G.add_edge("h1", "y", param="f")
    return fl.models.from_graph(G)


def test_sharing_changes_the_count_as_brute_force_says():
    free, shared = shared_chain(False), shared_chain(True)
    res_free, res_shared = fl.analyze(free), fl.analyze(shared)
    assert res_free.count == brute_force_count(free) == 2
    assert res_shared.count == brute_force_count(shared)
    assert res_shared.count != res_free.count
    assert res_shared.complete
    fl.verify.check_certificate(res_shared.certificate)


def test_conv1d_shared_kernel_matches_brute_force():
    m = fl.models.conv1d(4, 2)
    res = fl.analyze(m)
    assert res.count == brute_force_count(m)
    assert res.complete


def leaky_net(freeze_last: bool):
    G = nx.DiGraph()
    for j in range(3):
        G.add_node(f"x{j}", kind="input")
    for i in range(4):
        G.add_node(f"h{i}", kind="hidden", activation="leaky_relu")
        for j in range(3):
            G.add_edge(f"x{j}", f"h{i}", param=f"W[{i},{j}]")
    G.add_node("y", kind="output")
    for i in range(4):
        if freeze_last:
            G.add_edge(f"h{i}", "y", trainable=False, value=1 if i % 2 else -1)
        else:
            G.add_edge(f"h{i}", "y", param=f"a[{i}]")
    return fl.models.from_graph(G)


def test_frozen_output_layer_of_leaky_relu_net_has_no_law():
    res = fl.analyze(leaky_net(freeze_last=True))
    assert res.count == 0 and res.complete
    fl.verify.check_certificate(res.certificate)
    both = fl.analyze(leaky_net(freeze_last=False))
    assert both.count == 4  # a_j² − ‖w_j‖² when both layers train


def test_attention_head_has_the_laws_of_its_two_factorizations():
    res = fl.analyze(fl.models.attention(3, 2))
    # Q Kᵀ and V Oᵀ are two UVᵀ with n = m = 3, r = 2 ≤ N = 6: r(r+1)/2 each
    assert res.count == 2 * 3 and res.complete


def test_deep_product_equals_linear_mlp():
    a = fl.analyze(fl.models.deep_product([2, 3, 3, 2]))
    b = fl.analyze(fl.models.mlp([2, 3, 3, 2], activation="linear"))
    assert a.count == b.count and a.complete


def test_model_is_inspectable(tmp_path):
    m = fl.models.resnet_block(2, 2)
    assert m.params == m.variables
    assert isinstance(m.graph, nx.DiGraph)
    assert all(isinstance(e, sympy.Expr) for e in m.phi)
    out = tmp_path / "arch.png"
    m.draw(str(out))
    assert out.stat().st_size > 1000
    mlp = fl.models.mlp([2, 3, 1])
    mlp.draw(str(tmp_path / "mlp.png"))
    with pytest.raises(InvalidArgument):
        fl.models.from_polynomials(["x*y"], variables=["x", "y"]).draw()


def base_graph():
    G = nx.DiGraph()
    G.add_node("x", kind="input")
    G.add_node("h", kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("x", "h")
    G.add_edge("h", "y")
    return G


def test_cycle_is_rejected_naming_a_node():
    G = base_graph()
    G.add_node("g", kind="hidden")
    G.add_edge("h", "g")
    G.add_edge("g", "h")
    with pytest.raises(InvalidArgument, match="cycle through node 'h'|cycle through node 'g'"):
        fl.models.from_graph(G)


@pytest.mark.parametrize(
    "mutate,error,pattern",
    [
        (lambda G: G.add_node("z", kind="hidden"), InvalidArgument, "no path to an output"),
        (lambda G: (G.add_node("z", kind="hidden"), G.add_edge("z", "y")), InvalidArgument, "not reached"),
        (lambda G: G.nodes["h"].update(activation="tanh"), UnsupportedArchitecture, "tanh"),
        (lambda G: G.nodes["h"].update(kind="neuron"), InvalidArgument, "kind"),
        (lambda G: G.edges["h", "y"].update(trainable=False, value=0.5), DomainError, "float"),
        (lambda G: G.edges["h", "y"].update(trainable=False, value=math.nan), DomainError, "not finite"),
        (lambda G: G.edges["h", "y"].update(trainable=False, param="w"), InvalidArgument, "fixed edge"),
        (lambda G: G.edges["h", "y"].update(value=2), InvalidArgument, "value="),
        (lambda G: G.nodes["y"].update(kind="hidden"), InvalidArgument, "no output"),
    ],
)
def test_bad_graphs(mutate, error, pattern):
    G = base_graph()
    mutate(G)
    with pytest.raises(error, match=pattern):
        fl.models.from_graph(G)


def test_not_a_digraph():
    with pytest.raises(InvalidArgument, match="DiGraph"):
        fl.models.from_graph(nx.Graph())
    with pytest.raises(InvalidArgument, match="no nodes"):
        fl.models.from_graph(nx.DiGraph())


def test_fixed_exact_values_are_used():
    G = base_graph()
    G.edges["h", "y"].update(trainable=False, value="3/2")
    m = fl.models.from_graph(G)
    assert m.dim == 1 and fl.analyze(m).count == 0


def test_constant_coordinates_do_not_shift_generators():
    m = fl.models.from_polynomials(["x*y", "7", "y*z"], variables=["x", "y", "z"])
    res = fl.analyze(m)
    fl.verify.check_certificate(res.certificate)
    assert res.count == 1 and res.complete


@pytest.mark.parametrize("spec,count", [("attention:2x2", 6), ("resnet:2x3", 3), ("resnet+bias:2x2", 2), ("conv1d:5x2x2", 2)])
def test_specs(spec, count):
    assert fl.analyze(fl.models.parse(spec)).count == count


def test_a_skip_between_hidden_nodes_ties_them_into_one_rescaling_law():
    # x -a-> s (relu) -b-> h (relu) -c-> y (linear sum) -d-> out, and the skip s -> y frozen at 1:
    # s and y must scale alike, so the law of the pair is a^2 + c^2 - b^2 - d^2 (with b^2 - c^2 for h)
    import networkx as nx

    from flowlaws.algebra._dag_candidates import dag_structural_candidates

    G = nx.DiGraph()
    G.add_nodes_from([("x", {"kind": "input"}), ("out", {"kind": "output"})])
    G.add_nodes_from([("s", {"kind": "hidden", "activation": "relu"}), ("h", {"kind": "hidden", "activation": "relu"}),
                      ("y", {"kind": "hidden", "activation": "linear"})])
    for u, v, p in [("x", "s", "a"), ("s", "h", "b"), ("h", "y", "c"), ("y", "out", "d")]:
        G.add_edge(u, v, param=p)
    G.add_edge("s", "y", trainable=False, value=1)
    model = fl.models.from_graph(G)
    index = {v: i for i, v in enumerate(model.variables)}
    cross = {((index["a"], 2),): 1, ((index["c"], 2),): 1, ((index["b"], 2),): -1, ((index["d"], 2),): -1}
    assert cross in dag_structural_candidates(model.network)
    res = fl.analyze(model)
    assert res.complete and res.count == 2
    assert fl.verify.is_conserved(model, "a^2 + c^2 - b^2 - d^2") and fl.verify.is_conserved(model, "b^2 - c^2")
