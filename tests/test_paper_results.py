"""Gradient-flow rows of DESIGN section 4, each certified and re-checked independently."""

import json

import pytest

import flowlaws as fl


def two_layer_count(n: int, r: int, m: int) -> int:
    N = n + m
    return r * (r + 1) // 2 if r <= N else N * r - N * (N - 1) // 2


def deep_linear_count(widths: list[int]) -> int:
    return sum(
        two_layer_count(widths[i - 1], widths[i], widths[i + 1]) for i in range(1, len(widths) - 1)
    )


def certified(res: fl.Result) -> None:
    assert res.complete
    assert len(res.laws) == res.count == res.dim - res.rank
    report = fl.verify.check_certificate(json.loads(json.dumps(res.certificate)))
    assert report["proved"] == {"upper_bound": res.count, "lower_bound": res.count, "exact": True}


@pytest.mark.parametrize(
    "n,r,m",
    [(1, 1, 1), (2, 1, 3), (2, 2, 2), (3, 2, 4), (2, 4, 2), (2, 5, 2), (1, 3, 1), (1, 4, 2), (3, 3, 3)],
)
def test_two_layer_linear(n, r, m):
    # covers r <= N = n + m and r > N (U^T U - V^T V has dependent entries then)
    res = fl.analyze(fl.models.factorization(n, r, m))
    assert res.count == two_layer_count(n, r, m)
    certified(res)
    assert all(law.degree == 2 for law in res.laws)


@pytest.mark.parametrize(
    "widths",
    [[2, 2, 2, 2], [3, 3, 3, 3], [2, 3, 2, 3], [1, 5, 1, 2], [2, 2, 6, 2, 2], [4, 3, 4], [5, 4, 5]],
)
def test_deep_linear(widths):
    res = fl.analyze(fl.models.mlp(widths, activation="linear"))
    assert res.count == deep_linear_count(widths)
    certified(res)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(
    "widths,activation",
    [([2, 2, 2], "relu"), ([3, 4, 3], "relu"), ([2, 3, 3, 2], "relu"), ([3, 3, 3], "leaky_relu"), ([2, 3, 2, 3], "relu")],
)
def test_relu_one_law_per_hidden_neuron(widths, activation, bias):
    res = fl.analyze(fl.models.mlp(widths, activation=activation, bias=bias))
    hidden = sum(widths[1:-1])
    assert res.count == hidden
    certified(res)
    # each law is ‖incoming‖² − ‖outgoing‖² of one neuron (biases incoming)
    for law in res.laws:
        assert law.degree == 2
        assert all(len(mono) == 1 and mono[0][1] == 2 for _, mono in law.terms)


def test_relu_law_reads_as_incoming_minus_outgoing():
    res = fl.analyze(fl.models.mlp([2, 2, 1], activation="relu", bias=True))
    assert {str(law) for law in res.laws} == {
        "W1[0,0]^2 + W1[0,1]^2 + b1[0]^2 - W2[0,0]^2",
        "W1[1,0]^2 + W1[1,1]^2 + b1[1]^2 - W2[0,1]^2",
    }


@pytest.mark.parametrize("D", [1, 2, 3, 5, 8])
def test_product_of_parameters(D):
    res = fl.analyze(fl.models.parse(f"product:{D}"))
    assert res.count == D - 1
    certified(res)


def test_two_layer_law_is_gram_difference():
    res = fl.analyze(fl.models.factorization(2, 2, 3))
    U = [[f"U[{i},{k}]" for k in range(2)] for i in range(2)]
    text = {str(law) for law in res.laws}
    # (VᵀV − UᵀU)[0,1] up to sign and term order
    assert any(all(f"{U[i][0]}*{U[i][1]}" in t for i in range(2)) for t in text)
