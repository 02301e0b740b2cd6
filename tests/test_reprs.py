"""Short reprs: a law prints as itself (cut with … when long), a result on one line; the README's examples."""

import networkx as nx

import flowlaws as fl
from flowlaws.laws import REPR_WIDTH


def test_readme_from_graph_example_prints_what_it_promises():
    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], kind="input")
    G.add_node("h", kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("x0", "h", param="a"); G.add_edge("x1", "h", param="b"); G.add_edge("h", "y", param="c")
    G.add_edge("x0", "y", trainable=False)
    assert repr(fl.analyze(fl.models.from_graph(G)).laws) == "[a^2 + b^2 - c^2]"


def test_long_law_repr_is_cut_and_str_is_not():
    res = fl.analyze(fl.models.mlp([12, 12, 1], "relu"))
    law = res.laws[0]
    assert len(str(law)) > REPR_WIDTH
    text = repr(law)
    assert len(text) == REPR_WIDTH and text.endswith("…") and str(law).startswith(text[:-1])
    assert len(repr(res.laws)) < 20 * REPR_WIDTH  # 12 laws, no term tuples or variable lists


def test_result_repr_is_one_line_with_the_claim():
    res = fl.analyze(fl.models.parse("relu:3x4x3"))
    text = repr(res)
    assert "\n" not in text and len(text) < 200
    assert text == "<Result relu:3x4x3 | gradient flow | count=4 | bounds=(4, 4) | complete>"
    partial = fl.analyze(fl.models.parse("relu:3x4x3"), max_degree=1)
    assert repr(partial) == "<Result relu:3x4x3 | gradient flow | count=4 | bounds=(0, 4) | bounds only>"
    assert "NOT determined" in str(partial)
