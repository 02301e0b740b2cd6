"""Fuzzing the input parsers (issue 15): spec strings, polynomial strings, graph files.

Each input either builds its object or raises a :class:`~flowlaws.errors.FlowlawsError`
subclass with a one-line message — never another exception — and within
``SECONDS``. Accepted inputs are checked against an independent reading:

* a spec string that builds a model is ASCII (no Unicode digits);
* a polynomial string that ``parse_polynomial`` accepts equals SymPy's reading
  of the same text (``parse_expr`` with ``^`` as power), as an exact polynomial;
* a graph file that ``flowlaws show`` accepts is also read by
  ``flowlaws analyze`` (exit 0 or a one-line error), never a traceback.

The hand-written reproductions of the issue are in ``tests/models/test_input_hardening.py``.
"""

from __future__ import annotations

import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowlaws as fl
from flowlaws._parse import parse_polynomial
from flowlaws.cli import main
from flowlaws.errors import FlowlawsError
from flowlaws.models import from_polynomials

SECONDS = 10.0
QUICK = settings(max_examples=300, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _clean_or_flowlaws_error(fn, *args, **kwargs):
    """``fn(*args)``'s value, or ``None`` after a one-line FlowlawsError; within SECONDS."""
    t = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    except FlowlawsError as err:
        assert "\n" not in str(err) and str(err), repr(err)
        return None
    finally:
        assert time.perf_counter() - t < SECONDS, (fn.__name__, str(args)[:200])


# -- spec strings ----------------------------------------------------------------------------------
KINDS = ["relu", "linear", "leaky", "leaky_relu", "sym", "nmf", "product", "attention", "resnet", "conv1d",
         "factorization", "relu+bias", "linear+bias", "resnet+bias", "RELU", "mlp", "", "relu+", "+bias"]
NUMBERS = st.one_of(
    st.integers(0, 6).map(str),
    st.sampled_from(["0", "007", "-1", "3.0", "1e3", " 3", "99999", "100000", "1" * 30, "2**64", "३", "٣", "３",
                     "𝟑", "Ⅲ", "³", "1_0", "0x3", "", "+2"]),
)
SEPARATORS = st.sampled_from(["x", "x", "x", "X", "×", ",", " ", "*", "xx", "x "])


@st.composite
def spec_strings(draw):
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return draw(st.text(max_size=40))
    kind = draw(st.sampled_from(KINDS[:13]))
    n = draw(st.integers(1, 4))
    if shape >= 2:  # well formed: small widths
        return kind + ":" + "x".join(str(draw(st.integers(1, 4))) for _ in range(n))
    kind = draw(st.sampled_from([kind] * 3 + KINDS))
    parts = [draw(st.one_of(st.integers(1, 4).map(str), NUMBERS)) for _ in range(n)]
    text = kind + draw(st.sampled_from([":", ":", ":", ": ", "=", "::", ""]))
    for i, part in enumerate(parts):
        text += (draw(SEPARATORS) if i else "") + part
    return text


@QUICK
@given(spec_strings())
def test_spec_strings_build_a_model_or_one_error(spec):
    model = _clean_or_flowlaws_error(fl.models.parse, spec)
    if model is not None:
        assert spec.isascii(), spec  # Unicode digits never build a model
        assert model.dim >= 1


# -- polynomial strings ----------------------------------------------------------------------------
NAMES = ["x", "y", "z", "x0", "W1[0,0]", "layer.0.weight[1,2]"]
TOKENS = ["x", "y", "z", "x0", "W1[0,0]", "layer.0.weight[1,2]", "(", ")", "(", ")", "+", "-", "*", "*", "^", "**",
          "/", "2", "0", "1", "3", "12", "1000000000", "3/4", "1.5", " ", "e", "nan", "inf", "١", "xy", "[", ",",
          "**-1", "^2", "^3", "^0", "--", "+-", "√", "\t", "1e5", "0x1"]


@st.composite
def polynomial_strings(draw):
    shape = draw(st.integers(0, 5))
    if shape == 0:  # deep nesting and long runs of signs
        n = draw(st.sampled_from([1, 10, 99, 100, 101, 1000, 5000]))
        return draw(st.sampled_from(["(" * n + "x" + ")" * n, "-" * n + "x", "(" * n + "x", "x" + "^2" * n,
                                     "+" * n + "(" * n + "y" + ")" * n]))
    if shape == 1:  # huge exponents and powers of sums
        e = draw(st.sampled_from([0, 1, 2, 10, 100, 10_000, 10_001, 10**9, 10**30]))
        base = draw(st.sampled_from(["x", "(x+y)", "(x+y+z+x0)", "2", "(x*y - 3/4)", "-x", "(1)"]))
        return f"{base}^{e}"
    if shape == 2:
        return draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
    return "".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25)))


def _sympy_reading(text: str):
    """SymPy's polynomial for ``text`` (names made SymPy symbols), or ``None`` when SymPy does not read it."""
    import sympy
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    safe = {n: f"v{k}" for k, n in enumerate(sorted(NAMES, key=len, reverse=True))}
    code = text
    for name, sym in safe.items():
        code = code.replace(name, f" {sym} ")
    symbols = {sym: sympy.Symbol(sym) for sym in safe.values()}
    try:
        expr = parse_expr(code, local_dict=symbols, transformations=standard_transformations + (convert_xor,),
                          evaluate=True)
        return sympy.Poly(sympy.expand(expr), *[symbols[safe[n]] for n in NAMES])
    except Exception:  # noqa: BLE001 - SymPy's many parse errors: no reading to compare with
        return None


@QUICK
@given(polynomial_strings())
def test_polynomial_strings_parse_exactly_or_one_error(text):
    poly = _clean_or_flowlaws_error(parse_polynomial, text, NAMES)
    if poly is None or len(text) > 200 or any(sum(e) > 60 for e in poly):
        return
    reading = _sympy_reading(text)
    assert reading is not None, f"parse_polynomial read {text!r}, SymPy does not"
    theirs = {tuple(m): Fraction(int(c.p), int(c.q)) for m, c in reading.terms() if c != 0}
    ours = {m: c for m, c in poly.items() if c != 0}
    assert ours == theirs, text


@QUICK
@given(st.lists(st.one_of(polynomial_strings(), st.integers(-3, 3), st.none(), st.floats(), st.binary(max_size=3),
                          st.lists(st.integers(0, 2), max_size=2), st.dictionaries(st.tuples(st.integers(0, 2)),
                                                                                     st.integers(), max_size=2)),
                min_size=0, max_size=3),
       st.one_of(st.none(), st.just(NAMES[:4]), st.lists(st.sampled_from(NAMES + ["1", "x*y", "y[0", "", "é"]),
                                                          max_size=4)))
def test_from_polynomials_builds_or_one_error(polys, variables):
    model = _clean_or_flowlaws_error(from_polynomials, polys, variables=variables)
    if model is not None:
        assert len(model.variables) == model.dim


# -- graph files -----------------------------------------------------------------------------------
def _valid_graph_data() -> dict:
    import networkx as nx

    return json.loads(json.dumps(nx.node_link_data(fl.models.resnet_block(2, 2).graph, edges="edges"), default=str))


JUNK = [None, True, 0, -1, 1.5, "x", "", "\x1b[2K", [], {}, [1, 2], {"id": "h0"}, 10**30, "NaN", "1/2", "hidden",
        "relu", "sigmoid", "output", "input", "bias"]


@st.composite
def graph_files(draw):
    data = _valid_graph_data()
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["nodes", "edges", "top"]))
        if where == "top":
            key = draw(st.sampled_from(["nodes", "edges", "links", "directed", "multigraph", "graph"]))
            op = draw(st.sampled_from(["delete", "junk"]))
            if op == "delete":
                data.pop(key, None)
            else:
                data[key] = draw(st.sampled_from(JUNK + ["abc"]))
            continue
        items = data.get(where)
        if not isinstance(items, list) or not items:
            continue
        i = draw(st.integers(0, len(items) - 1))
        op = draw(st.sampled_from(["field", "field", "drop", "duplicate", "delete-field", "replace"]))
        if op == "drop":
            del items[i]
        elif op == "duplicate":
            items.append(json.loads(json.dumps(items[i])))
        elif op == "replace":
            items[i] = draw(st.sampled_from(JUNK))
        elif isinstance(items[i], dict):
            fields = ["id", "kind", "activation"] if where == "nodes" else ["source", "target", "param", "trainable",
                                                                               "value"]
            key = draw(st.sampled_from(fields))
            if op == "delete-field":
                items[i].pop(key, None)
            else:
                others = [n.get("id") for n in data.get("nodes", []) if isinstance(n, dict)] or ["x0"]
                items[i][key] = draw(st.sampled_from(JUNK + others))
    return data


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    t = time.perf_counter()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors: one line, status 2
        code = exc.code
    out = capsys.readouterr()
    assert time.perf_counter() - t < SECONDS, argv
    assert "Traceback" not in out.out + out.err
    if code == 2:
        assert len(out.err.strip().splitlines()) == 1, out.err
    return code, out.out, out.err


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=graph_files())
def test_graph_files_show_and_analyze_or_one_error(data, workdir, capsys):
    pytest.importorskip("networkx")
    path = workdir / "g.json"
    path.write_text(json.dumps(data))
    code, _, _ = _cli(capsys, "show", str(path))
    assert code in (0, 2)
    code2, _, _ = _cli(capsys, "analyze", str(path), "--max-dim", "40")
    assert code2 in (0, 2)
    if code == 2:  # a file show refuses is refused by analyze too
        assert code2 == 2


@QUICK
@given(tau=st.one_of(st.text(max_size=30), st.sampled_from(["11111111111111111111", "1e308", "-1", "1/0", "NaN", "३",
                                                        "0.5", "1" * 5000, "2/3", "0"])))
def test_tau_option_is_a_result_or_one_error(tau, capsys):
    code, _, _ = _cli(capsys, "analyze", "linear:1x1x1", "--flow", "momentum", f"--tau={tau}")
    assert code in (0, 2)
