"""The --expect formula evaluator: arithmetic only, never eval."""

from __future__ import annotations

from fractions import Fraction

import time

import pytest

import flowlaws as fl
from flowlaws.sweep.formulas import KNOWN_FORMULAS, compile_formula, expectations, formula_names
from flowlaws.errors import InvalidArgument


def _two_layer(r: int, N: int) -> int:
    return r * (r + 1) // 2 if r <= N else N * r - N * (N - 1) // 2


@pytest.mark.parametrize(
    "text, names, value",
    [
        ("r*(r+1)//2", {"r": 4}, 10),
        ("2**10 - 1", {}, 1023),
        ("-n0 + +n1 % 3", {"n0": 2, "n1": 7}, -1),
        ("D / 4", {"D": 6}, Fraction(3, 2)),
        ("D / 3", {"D": 6}, 2),
        ("min(r, n+m) if r > 2 and not r == 5 else max(widths)", {"r": 4, "n": 1, "m": 2, "widths": (1, 4, 2)}, 3),
        ("sum(hidden) + len(widths) - depth", {"hidden": (3, 4), "widths": (2, 3, 4, 1), "depth": 4}, 7),
        ("sum(h*(h-1)//2 for h in hidden if h > 2)", {"hidden": (2, 3, 4)}, 9),
        ("sum([a*b for a, b in zip(widths, widths[1:])])", {"widths": (2, 3, 4)}, 18),
        ("widths[-1] + widths[::2][1]", {"widths": (2, 3, 4)}, 8),
        ("sum(i for i in range(depth))", {"depth": 4}, 6),
        ("abs(n0 - n1) or 7", {"n0": 3, "n1": 3}, 7),
        ("1 < n0 <= 3", {"n0": 3}, None),  # a bool is not a number: refused below
    ],
)
def test_values(text, names, value):
    f = compile_formula(text)
    if value is None:
        with pytest.raises(InvalidArgument, match="not a number"):
            f(names)
    else:
        assert f(names) == value


@pytest.mark.parametrize(
    "text, match",
    [
        ("__import__('os').system('true')", "attribute access"),
        ("__import__('os')", "calling '__import__' is not allowed"),
        ("eval('1')", "calling 'eval' is not allowed"),
        ("open('/etc/passwd')", "calling 'open' is not allowed"),
        ("().__class__", "attribute access"),
        ("hidden.count(2)", "attribute access"),
        ("(lambda: 1)()", "Lambda is not allowed|calling"),
        ("__builtins__", "unknown name '__builtins__'"),
        ("[x for _x in hidden]", "names starting with '_'"),
        ("sum(hidden, start=1)", "keyword and \\* arguments"),
        ("sum(*hidden)", "keyword and \\* arguments"),
        ("r := 3", "not a valid expression"),
        ("x", "unknown name 'x'"),
        ("1.5 * r", "not an integer"),
        ("'a' * 10", "not an integer"),
        ("True + 1", "not an integer"),
        ("{1: 2}", "Dict is not allowed"),
        ("r if", "not a valid expression"),
        ("", "expected an expression"),
        ("1+" * 2000 + "1", "over the limit"),
    ],
)
def test_refused_at_compile_time(text, match):
    with pytest.raises(InvalidArgument, match=match):
        compile_formula(text)


def test_refused_input_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(InvalidArgument):
        compile_formula(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, names, match",
    [
        ("r", {}, "name 'r' is not defined for this row"),
        ("1 // (r - r)", {"r": 2}, "ZeroDivisionError"),
        ("9**9**9", {}, "too large"),
        ("2**n0", {"n0": 10**6}, "too large"),
        ("widths * 1000", {"widths": (1, 2)}, "arithmetic needs numbers"),
        ("len(range(10**9))", {}, "over the formula limit"),
        ("widths[5]", {"widths": (1, 2)}, "IndexError"),
        ("sum(a for a, b in hidden)", {"hidden": (1, 2)}, "cannot unpack"),
        ("sum", {}, "is a function"),
    ],
)
def test_refused_at_evaluation(text, names, match):
    with pytest.raises(InvalidArgument, match=match):
        compile_formula(text)(names)


@pytest.mark.parametrize(
    "text",
    [
        "sum(1 for a in range(100000) for b in range(100000) if 0)",  # 10^10 filtered items: nothing yielded
        "sum(len(range(100000)) for a in range(100000))",  # each item builds a long range
        "sum(sum(widths[0:100000]) for a in range(100000))",
    ],
)
def test_iteration_is_bounded_by_evaluation_steps(text):
    t0 = time.perf_counter()
    with pytest.raises(InvalidArgument, match="MAX_STEPS=1,000,000"):
        compile_formula(text)({"widths": tuple(range(100_000))})
    assert time.perf_counter() - t0 < 10


def test_the_papers_formulas_stay_within_the_step_budget():
    widths = tuple([64] * 200)  # a deep net: 198 hidden layers
    assert compile_formula("linear")({"widths": widths}) == 198 * (64 * 65 // 2)
    assert compile_formula("relu")({"hidden": widths[1:-1]}) == 198 * 64


def test_names_of_rows():
    n = formula_names("linear:2x5x3x2", params=31, dim=31)
    assert n["widths"] == (2, 5, 3, 2) and n["hidden"] == (5, 3) and n["depth"] == 4
    assert (n["n0"], n["n3"], n["D"]) == (2, 2, 31) and "r" not in n
    assert formula_names("factorization:4x2x3", params=14, dim=14)["r"] == 2
    assert formula_names("sym:4x2", params=8, dim=8)["r"] == 2
    model = fl.models.mlp([2, 3, 1])
    model.name = "my net"
    assert formula_names("my net", params=9, dim=19, model=model)["hidden"] == (3,)
    assert formula_names("my net", params=9, dim=19) == {"D": 9, "dim": 19}


@pytest.mark.parametrize("widths", [(2, 5, 2), (3, 2, 4, 5), (5, 5, 5, 5, 5), (2, 3, 2, 3, 2)])
def test_known_formulas_match_the_papers(widths):
    names = formula_names("x:" + "x".join(map(str, widths)), params=0, dim=0)
    assert compile_formula("relu")(names) == sum(widths[1:-1])
    expected = sum(_two_layer(widths[i], widths[i - 1] + widths[i + 1]) for i in range(1, len(widths) - 1))
    assert compile_formula("linear")(names) == expected
    assert compile_formula("linear").text == KNOWN_FORMULAS["linear"]


def test_expectations_per_flow():
    e = expectations(["gradient=sum(hidden)", "momentum = 0", "n0 == 2"], ["gradient", "momentum"])
    assert set(e) == {"gradient", "momentum", "*"}
    assert e["momentum"][1]({}) == 0
    assert expectations({"gradient": "relu"}, ["gradient"])["gradient"][0] == "sum(hidden)"
    assert expectations(lambda names: 1, ["gradient"])["*"][1]({}) == 1
    with pytest.raises(InvalidArgument, match="two formulas for flow 'gradient'"):
        expectations(["gradient=1", "gradient=2"], ["gradient"])
    with pytest.raises(InvalidArgument, match="unknown flow 'rmsprop'"):
        expectations({"rmsprop": "1"}, ["gradient"])
    with pytest.raises(InvalidArgument, match="expected a formula string"):
        expectations(3, ["gradient"])
