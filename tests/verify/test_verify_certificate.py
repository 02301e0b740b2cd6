"""check_certificate on hand-written certificates, and every way to break them.

The certificates are written here by hand (no engine): the models, the words,
the ranks and the laws come from the known results of DESIGN.md section 4
(one law per hidden ReLU neuron, ``W1 W1^T - W2^T W2`` for linear nets,
``x_i^2 - x_j^2`` for a product).
"""

from __future__ import annotations

import copy
import json
import math
import time

import pytest

from flowlaws.errors import CertificateError, FlowlawsError
from flowlaws.verify import check_certificate
from flowlaws.verify.checker import _certificate

P = 16777213  # prime
Q = 2**61 - 1  # prime


# -- builders ------------------------------------------------------------------------------
def term(coef: int, *pairs: tuple[int, int]) -> list:
    return [str(coef), [list(p) for p in pairs]]


def make_cert(model, names, generators, words, rank, laws, point, ind_point, *, prime=P, ind_prime=Q):
    dim = len(names)
    k, upper = len(laws), dim - rank
    return {
        "schema": "flowlaws-certificate/1",
        "library": {"name": "flowlaws", "version": "test"},
        "dim": dim,
        "variables": list(names),
        "model": model,
        "flow": {"name": "gradient"},
        "generators": generators,
        "rank": {"prime": prime, "point": list(point), "words": words, "value": rank},
        "laws": laws,
        "independence": {"prime": ind_prime, "point": list(ind_point), "value": k},
        "bounds": {"lower": k, "upper": upper},
        "count": upper,
        "complete": k == upper,
        "timings": {"rank": 0.01},
    }


def net_names(layers, bias):
    out = []
    for l in range(1, len(layers)):
        out += [f"W{l}[{i},{j}]" for i in range(layers[l]) for j in range(layers[l - 1])]
        if bias:
            out += [f"b{l}[{i}]" for i in range(layers[l])]
    return out


def net_index(layers, bias):
    return {n: i for i, n in enumerate(net_names(layers, bias))}


def relu_laws(layers, bias):
    """One law per hidden neuron: |incoming|^2 (+ bias^2) - |outgoing|^2 (DESIGN section 4)."""
    idx = net_index(layers, bias)
    laws = []
    for l in range(1, len(layers) - 1):
        for j in range(layers[l]):
            law = [term(1, (idx[f"W{l}[{j},{i}]"], 2)) for i in range(layers[l - 1])]
            if bias:
                law.append(term(1, (idx[f"b{l}[{j}]"], 2)))
            law += [term(-1, (idx[f"W{l + 1}[{o},{j}]"], 2)) for o in range(layers[l + 1])]
            laws.append(law)
    return laws


def linear_laws(layers):
    """Entries (i <= k) of W_l W_l^T - W_{l+1}^T W_{l+1} for every hidden layer (no bias)."""
    idx = net_index(layers, False)
    laws = []
    for l in range(1, len(layers) - 1):
        for i in range(layers[l]):
            for k in range(i, layers[l]):
                law = []
                for j in range(layers[l - 1]):
                    a, b = idx[f"W{l}[{i},{j}]"], idx[f"W{l}[{k},{j}]"]
                    law.append(term(1, (a, 2)) if a == b else term(1, (a, 1), (b, 1)))
                for o in range(layers[l + 1]):
                    a, b = idx[f"W{l + 1}[{o},{i}]"], idx[f"W{l + 1}[{o},{k}]"]
                    law.append(term(-1, (a, 2)) if a == b else term(-1, (a, 1), (b, 1)))
                laws.append(law)
    return laws


def network_cert(layers, activation, bias, words, rank, laws, point, ind_point, seed=0):
    model = {"kind": "network", "layers": list(layers), "activations": [activation] * (len(layers) - 2), "bias": bias}
    gens = {"kind": "network-combinations", "seed": seed}
    return make_cert(model, net_names(layers, bias), gens, words, rank, laws, point, ind_point)


def product3():
    """phi = x0*x1*x2: one generator, rank 1, the 2 laws x0^2 - x1^2, x1^2 - x2^2."""
    model = {"kind": "polynomials", "phi": [[term(1, (0, 1), (1, 1), (2, 1))]]}
    laws = [[term(1, (0, 2)), term(-1, (1, 2))], [term(1, (1, 2)), term(-1, (2, 2))]]
    # [0, 0] is the zero field: it cannot raise the rank (and is accepted as a word)
    return make_cert(model, ["x0", "x1", "x2"], {"kind": "coordinates"}, [0, [0, 0]], 1, laws, [1, 2, 3], [2, 3, 5])


def uv11():
    """phi = u*v (UV^T with n = m = r = 1): rank 1, the law u^2 - v^2."""
    model = {"kind": "polynomials", "phi": [[term(1, (0, 1), (1, 1))]]}
    laws = [[term(1, (0, 2)), term(-1, (1, 2))]]
    return make_cert(model, ["U[0,0]", "V[0,0]"], {"kind": "coordinates"}, [0], 1, laws, [2, 3], [1, 4])


def uv_2x2x1():
    """phi = U V^T, U 2x1, V 2x1 (r = 1 <= N): 4 coordinates, rank 3, one law."""
    # variables U0, U1, V0, V1 ; phi_ij = U_i V_j
    model = {"kind": "polynomials", "phi": [[term(1, (i, 1), (2 + j, 1))] for i in range(2) for j in range(2)]}
    laws = [[term(1, (0, 2)), term(1, (1, 2)), term(-1, (2, 2)), term(-1, (3, 2))]]
    return make_cert(model, ["U0", "U1", "V0", "V1"], {"kind": "coordinates"}, [0, 1, 2, 3, [0, 3]], 3, laws,
                     [1, 2, 3, 4], [2, -1, 3, 5])


def relu221(bias=False, seed=0):
    layers = (2, 2, 1)
    D = len(net_names(layers, bias))
    rank = D - 2
    point = [1, 2, 3, -1, 2, 5, 4, -3, 2][:D]
    ind_point = [3, -2, 1, 4, -1, 2, 5, 1, -3][:D]
    return network_cert(layers, "relu", bias, list(range(10)), rank, relu_laws(layers, bias), point, ind_point, seed)


def linear222():
    layers = (2, 2, 2)
    words = [0, 1, 2, 3, [0, 1], [1, [2, 3]]]
    return network_cert(layers, "linear", False, words, 5, linear_laws(layers), [1, 4, -5, 2, -1, -2, 4, -4],
                        [2, 1, -3, 5, 4, -2, 1, 3])


def relu343():
    layers = (3, 4, 3)
    point = [(7 * i) % 11 - 5 for i in range(24)]
    ind_point = [(5 * i) % 13 - 6 for i in range(24)]
    return network_cert(layers, "relu", False, list(range(24)), 20, relu_laws(layers, False), point, ind_point)


LIN434_POINT = [-5, 1, 3, 5, -4, -3, 5, -1, -4, 2, 3, 1, 3, 5, -2, -1, -1, 4, 2, 3, 1, 4, -5, 2]


def linear434():
    layers = (4, 3, 4)
    point = LIN434_POINT
    ind_point = [(5 * i) % 13 - 6 for i in range(24)]
    words = list(range(16)) + [[0, 1], [0, 2], [0, 3], [0, 4], [1, [2, 3]]]
    return network_cert(layers, "linear", False, words, 18, linear_laws(layers), point, ind_point)


ALL = {
    "product3": product3,
    "uv11": uv11,
    "uv_2x2x1": uv_2x2x1,
    "relu221": relu221,
    "relu221_bias": lambda: relu221(bias=True),
    "linear222": linear222,
    "relu343": relu343,
    "linear434": linear434,
}


def reject(cert, step: str, *fragments: str) -> CertificateError:
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == step, str(info.value)
    for f in fragments:
        assert f in str(info.value), str(info.value)
    return info.value


# -- valid certificates ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, dim, rank, laws",
    [
        ("product3", 3, 1, 2),
        ("uv11", 2, 1, 1),
        ("uv_2x2x1", 4, 3, 1),
        ("relu221", 6, 4, 2),
        ("relu221_bias", 9, 7, 2),
        ("linear222", 8, 5, 3),
        ("relu343", 24, 20, 4),
        ("linear434", 24, 18, 6),
    ],
)
def test_known_counts_are_certified_exact(name, dim, rank, laws):
    cert = ALL[name]()
    report = check_certificate(json.loads(json.dumps(cert)))  # survives a JSON round trip
    assert report["proved"] == {"upper_bound": dim - rank, "lower_bound": laws, "exact": True}
    assert report["dim"] == dim and report["rank"] == rank and report["count"] == laws
    assert [s["step"] for s in report["steps"]] == [
        "schema", "prime", "generators", "rank", "laws", "independence", "conclusion",
    ]
    assert set(report["seconds"]) == {s["step"] for s in report["steps"]}


@pytest.mark.parametrize("name", ["relu343", "linear434"])
def test_checker_is_fast_on_24_parameter_networks(name):
    cert = ALL[name]()
    start = time.perf_counter()
    check_certificate(cert)
    assert time.perf_counter() - start < 2.0


def test_any_seed_gives_a_valid_rank_bound():
    for seed in (1, 12345, 2**64 - 1):
        assert check_certificate(relu221(seed=seed))["proved"]["exact"]


def test_linear_222_needs_a_bracket():
    cert = linear222()
    cert["rank"]["words"] = [0, 1, 2, 3, 4, 5, 6, 7]  # generators alone span at most 4 directions
    reject(cert, "rank", "claimed 5", "rank 4")


def test_incomplete_certificate_reports_both_bounds():
    cert = relu221()
    cert["laws"] = cert["laws"][:1]
    cert["independence"]["value"] = 1
    cert["bounds"] = {"lower": 1, "upper": 2}
    cert["count"] = 2
    cert["complete"] = False
    report = check_certificate(cert)
    assert report["proved"] == {"upper_bound": 2, "lower_bound": 1, "exact": False}
    assert report["complete"] is False


def test_no_laws_and_full_rank():
    # phi = (x0, x1^2): the generators span everything at (1, 1): no law
    model = {"kind": "polynomials", "phi": [[term(1, (0, 1))], [term(1, (1, 2))]]}
    cert = make_cert(model, ["x0", "x1"], {"kind": "coordinates"}, [0, 1], 2, [], [1, 1], [0, 0])
    assert check_certificate(cert)["proved"] == {"upper_bound": 0, "lower_bound": 0, "exact": True}


def test_big_integers_and_negative_points_are_fine():
    cert = uv11()
    cert["rank"]["point"] = [10**40 + 3, -(10**30)]
    cert["laws"][0] = [term(10**50, (0, 2)), term(-(10**50), (1, 2))]
    assert check_certificate(cert)["proved"]["exact"]


def test_nested_words_up_to_depth_8():
    cert = linear222()
    deep = 0
    for a in (1, 2, 3, 0, 1, 2, 3, 0):
        deep = [a, deep]
    cert["rank"]["words"].append(deep)
    check_certificate(cert)
    deeper = [0, deep]
    cert["rank"]["words"].append(deeper)
    reject(cert, "schema", "deeper than 8")


def test_words_may_be_left_nested_trees():
    cert = linear222()
    # level-2 brackets add nothing for this net (checked against SymPy in test_verify_arithmetic)
    cert["rank"]["words"] = [0, 1, 2, 3, [[0, 1], [2, 3]], [[0, 1], 2]]
    reject(cert, "rank", "claimed 5", "rank 4")
    cert["rank"]["words"].append([1, 0])
    assert check_certificate(cert)["rank"] == 5


def test_a_degenerate_point_gives_a_weaker_bound():
    cert = linear434()
    cert["rank"]["point"] = [(7 * i) % 11 - 5 for i in range(24)]  # the generators span 14 there, not 15
    cert["rank"]["words"] = list(range(16)) + [[0, 1], [0, 2], [0, 3], [1, [2, 3]]]
    reject(cert, "rank", "claimed 18", "rank 17")


# -- tampering: every step -------------------------------------------------------------------
def test_tampered_rank_value():
    cert = relu221()
    cert["rank"]["value"] = 5
    cert["bounds"]["upper"] = cert["count"] = 1
    reject(cert, "rank", "claimed 5, the 10 words have rank 4 mod 16777213 at the point")
    cert["rank"]["value"] = 3
    reject(cert, "rank", "claimed 3")


def test_tampered_point_breaks_the_rank():
    cert = product3()
    cert["rank"]["point"] = [0, 0, 3]  # grad(x0 x1 x2) vanishes there
    reject(cert, "rank", "rank 0")
    cert = relu221()
    cert["rank"]["point"] = [0] * 6  # every field is homogeneous of degree 1
    reject(cert, "rank", "rank 0")
    cert = relu221()
    cert["rank"]["point"][4] = 0  # W2[0,0] = 0 kills the paths of hidden neuron 0
    reject(cert, "rank", "claimed 4", "rank 3")


def test_tampered_point_multiple_of_the_prime():
    cert = uv11()
    cert["rank"]["point"] = [P, 3]  # 0 mod P: grad(uv) = (3, 0) has rank 1 still
    check_certificate(cert)
    cert["rank"]["point"] = [P, 2 * P]
    reject(cert, "rank", "rank 0")


def test_tampered_bracket_word():
    cert = linear222()
    cert["rank"]["words"][4] = [0, 0]  # the zero field
    cert["rank"]["words"][5] = [1, [2, 2]]
    reject(cert, "rank", "claimed 5", "rank 4")


def test_word_with_unknown_generator():
    cert = product3()
    cert["rank"]["words"] = [0, [0, 1]]
    reject(cert, "generators", "rank.words[1] uses generator 1", "1 coordinates")


def test_tampered_law_coefficient():
    cert = relu221()
    cert["laws"][1][2][0] = "-2"
    err = reject(cert, "laws", "laws[1]", "2*W2[0,1]^2", "is not conserved")
    assert "W1[1,0]^2" in str(err)


def test_tampered_law_exponent_and_variable():
    cert = linear222()
    cert["laws"][1][0][1][0][0] = 2  # W1[0,0]*W1[1,0] -> W1[1,0]*W1[1,0] written as two pairs? no: index
    reject(cert, "schema", "appears twice")
    cert = linear222()
    cert["laws"][0][0][1][0][1] = 3
    reject(cert, "laws", "laws[0]")


def test_law_zero_is_not_independent():
    cert = uv11()
    cert["laws"] = [[term(0, (0, 2))]]
    reject(cert, "independence", "rank 0")


def test_duplicated_law_is_not_independent():
    cert = relu221()
    cert["laws"][1] = [[c, m] for c, m in cert["laws"][0]]
    reject(cert, "independence", "claimed 2 independent laws", "rank 1")


def test_independence_point_where_gradients_vanish():
    cert = relu221()
    cert["independence"]["point"] = [0] * 6
    reject(cert, "independence", "rank 0")


def test_independence_value_must_be_the_number_of_laws():
    cert = relu221()
    cert["independence"]["value"] = 1
    reject(cert, "independence", "independence.value=1", "2 laws")


@pytest.mark.parametrize("where", ["rank", "independence"])
@pytest.mark.parametrize(
    "p, fragment",
    [(16777215, "is not prime"), (2, "at least 3"), (1, "at least 3"), (-7, "at least 3"),
     (2**64 + 13, "below 2**64"), (3215031751, "is not prime"), (3825123056546413051, "is not prime")],
)
def test_composite_or_out_of_range_prime(where, p, fragment):
    cert = relu221()
    cert[where]["prime"] = p
    reject(cert, "prime", fragment)


def test_small_and_large_primes_are_accepted():
    cert = relu221()
    cert["rank"]["prime"] = 2**64 - 59  # the largest prime below 2**64
    cert["independence"]["prime"] = 101
    check_certificate(cert)


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("lower", 1, "bounds.lower=1"),
        ("upper", 3, "bounds.upper=3"),
        ("count", 3, "count=3"),
        ("complete", False, "complete=false"),
    ],
)
def test_tampered_conclusion(field, value, fragment):
    cert = relu221()
    if field in ("lower", "upper"):
        cert["bounds"][field] = value
    else:
        cert[field] = value
    reject(cert, "conclusion", fragment)


def test_claiming_complete_without_all_laws():
    cert = relu221()
    cert["laws"] = cert["laws"][:1]
    cert["independence"]["value"] = 1
    cert["bounds"]["lower"] = 1
    reject(cert, "conclusion", "complete=true")


# -- schema ---------------------------------------------------------------------------------
def _set(cert, path, value):
    obj = cert
    for key in path[:-1]:
        obj = obj[key]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    "path, value, fragment",
    [
        (("schema",), "flowlaws-certificate/2", "flowlaws-certificate/1"),
        (("dim",), 6.0, "expected an integer, got float"),
        (("dim",), True, "got bool"),
        (("dim",), 7, "variables: expected 7 entries"),
        (("dim",), 0, "dim=0"),
        (("dim",), 100_001, "must be <= 100000"),
        (("rank", "value"), 4.0, "rank.value: expected an integer"),
        (("rank", "value"), 7, "rank.value=7"),
        (("rank", "value"), float("nan"), "got float nan"),
        (("rank", "point", 0), 1.0, "rank.point[0]"),
        (("rank", "point", 0), float("inf"), "rank.point[0]"),
        (("rank", "point", 0), "1", "rank.point[0]: expected an integer, got str"),
        (("rank", "point"), [1, 2, 3], "expected 6 entries"),
        (("rank", "prime"), 16777213.0, "rank.prime"),
        (("rank", "words", 0), 1.0, "rank.words[0]"),
        (("rank", "words", 0), -1, "rank.words[0]=-1"),
        (("rank", "words", 0), True, "rank.words[0]"),
        (("rank", "words", 0), [0, 1, 2], "pair [U, V]"),
        (("rank", "words", 0), 2**64, "[0, 2**64)"),
        (("rank", "words"), "0123", "rank.words: expected a list"),
        (("laws", 0, 0, 0), 1, "decimal integer string"),
        (("laws", 0, 0, 0), "1.5", "decimal integer string"),
        (("laws", 0, 0, 0), "+1", "decimal integer string"),
        (("laws", 0, 0, 0), "1_000", "decimal integer string"),
        (("laws", 0, 0, 0), " 1", "decimal integer string"),
        (("laws", 0, 0, 1, 0, 0), 6, "variable index"),
        (("laws", 0, 0, 1, 0, 1), 0, "exponent"),
        (("laws", 0, 0, 1, 0, 1), 2.0, "exponent"),
        (("laws", 0, 0), ["1"], "expected 2 entries"),
        (("laws",), {"0": []}, "laws: expected a list"),
        (("independence", "value"), None, "independence.value"),
        (("bounds", "lower"), "2", "bounds.lower"),
        (("complete",), 1, "expected true or false"),
        (("count",), 2.0, "count"),
        (("model", "kind"), "tree", "'tree' is not 'polynomials', 'network' or 'graph'"),
        (("model", "layers"), [2, 2, 2], "dim=6 but the network"),
        (("model", "layers"), [2], "at least an input and an output"),
        (("model", "layers", 1), 0, "model.layers[1]=0"),
        (("model", "activations"), ["tanh"], "'tanh' is not one of"),
        (("model", "activations"), [], "expected 1 entries"),
        (("model", "bias"), 0, "model.bias"),
        (("generators", "seed"), -1, "generators.seed=-1"),
        (("generators", "seed"), 1.5, "generators.seed"),
        (("generators", "kind"), "random", "generators"),
        (("flow", "name"), "momentum", "momentum needs its damping"),
        (("flow", "tau"), 1, "gradient flow has no tau"),
        (("variables", 0), 3, "variables[0]"),
        (("timings", "rank"), float("nan"), "timings.rank"),
        (("library",), "flowlaws", "library"),
        (("rank",), _DELETE, "missing field(s) ['rank']"),
        (("rank", "words"), _DELETE, "missing field(s) ['words']"),
        (("independence", "point"), _DELETE, "independence: missing"),
        (("bounds",), _DELETE, "missing"),
        (("generators", "seed"), _DELETE, "missing"),
        (("proof",), "trust me", "unknown field(s) ['proof']"),
        (("rank", "exact"), True, "unknown field(s) ['exact']"),
    ],
)
def test_schema_rejections(path, value, fragment):
    cert = relu221()
    _set(cert, path, value)
    err = reject(cert, "schema", fragment)
    assert isinstance(err, FlowlawsError)


def test_not_a_dict():
    reject("{}", "schema", "json.load")
    reject([1, 2], "schema", "got list")


def test_optional_fields_may_be_missing():
    cert = relu221()
    del cert["library"], cert["timings"]
    check_certificate(cert)
    cert["flow"]["tau"] = None
    check_certificate(cert)


def test_generators_must_match_the_model():
    cert = relu221()
    cert["generators"] = {"kind": "coordinates"}
    reject(cert, "generators", "needs a 'polynomials' or 'graph' model")
    cert = uv11()
    cert["generators"] = {"kind": "network-combinations", "seed": 0}
    reject(cert, "generators", "needs a 'network' or 'graph' model")


def test_too_many_paths(monkeypatch):
    monkeypatch.setitem(_certificate.LIMITS, "paths", 3)
    reject(relu221(), "generators", "4 paths", "at most 3")


def test_size_limits(monkeypatch):
    with monkeypatch.context() as m:
        m.setitem(_certificate.LIMITS, "words", 5)
        reject(relu221(), "schema", "rank.words: 10 entries, more than the checker's limit 5")
    monkeypatch.setitem(_certificate.LIMITS, "terms_per_poly", 2)
    reject(linear222(), "schema", "laws[0]")


def test_deeply_nested_garbage_does_not_recurse_forever():
    cert = relu221()
    junk: list = [0, 0]
    for _ in range(10_000):
        junk = [junk, 0]
    cert["rank"]["words"] = [junk]
    reject(cert, "schema", "more than 64 deep")
    cert = relu221()
    cert["rank"]["words"] = [[[[[[[[[[[[1, 2], 0], 0], 0], 0], 0], 0], 0], 0], 0], 0]]  # within 64, past 8
    reject(cert, "schema", "deeper than 8")


@pytest.mark.parametrize("key", ["meta", "count", "model", "flow"])
def test_any_field_nested_100000_deep_is_one_schema_error(key):
    cert = relu221()
    junk: list = []
    for _ in range(100_000):
        junk = [junk]
    cert[key] = junk  # was a RecursionError while describing the bad value
    reject(cert, "schema", "more than 64 deep")


def test_error_message_names_step_first():
    cert = relu221()
    cert["rank"]["value"] = 5
    with pytest.raises(CertificateError, match=r"^\[rank\] "):
        check_certificate(cert)


def test_checker_does_not_mutate_its_input():
    cert = linear222()
    before = copy.deepcopy(cert)
    check_certificate(cert)
    assert cert == before


def test_exponent_large_but_valid_law():
    # phi = x0 * x1 ; h = (x0^2 - x1^2)^1 times nothing; check huge exponent handling in evaluation
    model = {"kind": "polynomials", "phi": [[term(1, (0, 1), (1, 1))]]}
    # h = x0^2 - x1^2 is a law; so is (a function of it) but we only take polynomials written out
    laws = [[term(1, (0, 2)), term(-1, (1, 2))]]
    cert = make_cert(model, ["a", "b"], {"kind": "coordinates"}, [0], 1, laws, [3, 7**20], [10**6, 3])
    assert math.isclose(check_certificate(cert)["proved"]["upper_bound"], 1)


def test_huge_coefficients_in_error_messages():
    big = "9" * 4000
    cert = uv11()
    cert["model"]["phi"] = [[[big, [[0, 1], [1, 1]]]]]
    cert["laws"] = [[[big, [[0, 2]]], ["-1", [[1, 2]]]]]
    err = reject(cert, "laws", "is not conserved", "(4000 digits)", "digits>")
    assert len(str(err)) < 300
    cert["laws"][0][0][0] = "9" * 4001
    reject(cert, "schema", "4001 digits")
