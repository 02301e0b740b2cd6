"""The triangular rank proof (issue 18): counts against the dense route, the witness against a dense
rank of the same rows, the law check against enumerated paths, and tampered certificates refused
with the step named."""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest

import flowlaws as fl
from flowlaws.algebra._modular import rank_mod
from flowlaws.engine.triangular import diagonal_law_conserved, witness
from flowlaws.errors import CertificateError, InvalidArgument
from flowlaws.verify import check_certificate

SHAPES = [[2, 3, 1], [3, 4, 5, 2], [2, 3, 3, 3, 2], [4, 1, 3], [3, 2], [1, 1, 1, 1], [5, 2, 4]]


def _paths(layers, bias):
    """Every source -> output path as the list of its parameter indices (the path-lifting oracle)."""
    from flowlaws.engine.triangular import offsets

    w_off, b_off = offsets(layers, bias)
    L = len(layers) - 1
    out = []
    for start in range(L):
        sources = range(layers[0]) if start == 0 else []
        firsts = [("n", s) for s in sources] + ([("b", None)] if bias else [])
        for kind, s in firsts:
            for rest in itertools.product(*[range(n) for n in layers[start + 1:]]):
                edges = [b_off[start] + rest[0] if kind == "b" else w_off[0] + rest[0] * layers[0] + s]
                for m in range(1, len(rest)):
                    l = start + m + 1
                    edges.append(w_off[l - 1] + rest[m] * layers[l - 1] + rest[m - 1])
                out.append(edges)
    return out


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_counts_and_laws_agree_with_the_dense_route(shape, bias):
    m = fl.models.mlp(shape, "relu", bias=bias)
    dense = fl.analyze(m, rank_proof="dense")
    tri = fl.analyze(m, rank_proof="triangular")
    assert tri.count == dense.count == sum(shape[1:-1]) and tri.complete and dense.complete
    assert sorted(map(str, tri.laws)) == sorted(map(str, dense.laws))
    report = check_certificate(json.loads(json.dumps(tri.certificate)))
    assert report["proved"]["exact"] and report["routes"]["words"] == "triangular"
    assert tri.certificate["rank_proof"] == "triangular" and "rank_proof" not in dense.certificate


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape", SHAPES[:4])
def test_the_witness_rows_have_full_rank_densely(shape, bias):
    """The listed path gradients at a random point, as a dense matrix: rank = number of rows, and
    each row is the gradient of a path monomial of the oracle's path list."""
    w = witness(shape, bias)
    D = fl.models.mlp(shape, "relu", bias=bias).dim
    p = 16777213
    point = np.random.default_rng(1).integers(1, p, size=D)
    oracle = {tuple(sorted(e)) for e in _paths(shape, bias)}
    E = w.edges()
    rows = np.zeros((w.rank, D), dtype=np.int64)
    for k, edges in enumerate(E):
        edges = [int(e) for e in edges if e >= 0]
        assert tuple(sorted(edges)) in oracle
        for e in edges:
            rows[k, e] = int(np.prod([point[f] for f in edges if f != e], dtype=object) % p)
    assert rank_mod(rows, p) == w.rank == D - sum(shape[1:-1])


def test_leaky_relu_and_mixed_activations_take_the_route():
    m = fl.models.mlp([3, 4, 3, 2], ["leaky_relu", "relu"], bias=True)
    tri = fl.analyze(m, rank_proof="triangular")
    assert tri.count == fl.analyze(m, rank_proof="dense").count == 7
    assert check_certificate(tri.certificate)["proved"]["exact"]


def test_the_route_is_refused_where_it_does_not_apply():
    with pytest.raises(InvalidArgument, match="rank_proof='triangular' needs"):
        fl.analyze(fl.models.mlp([2, 2, 1], "linear"), rank_proof="triangular")
    with pytest.raises(InvalidArgument, match="rank_proof='fast'"):
        fl.analyze(fl.models.mlp([2, 2, 1], "relu"), rank_proof="fast")
    big = fl.analyze(fl.models.mlp([20, 50, 20], "relu"))  # auto: D = 2,000
    assert big.certificate["rank_proof"] == "triangular" and big.count == 50


@pytest.mark.parametrize("bias", [False, True])
def test_the_law_check_agrees_with_enumerated_paths(bias):
    """Random diagonal quadratic forms: conserved (engine and checker) iff every path sums to 0."""
    from flowlaws.verify.checker._triangular import _conserved

    rng = np.random.default_rng(7)
    shape = [2, 3, 2, 2]
    m = fl.models.mlp(shape, "relu", bias=bias)
    paths = _paths(shape, bias)
    laws = list(fl.analyze(m, rank_proof="triangular").laws)
    seen = {True: 0, False: 0}
    for trial in range(60):
        c = np.zeros(m.dim, dtype=np.int64)
        for law in laws:  # a combination of the rescaling laws: conserved
            a = int(rng.integers(-2, 3))
            for coef, ((v, _),) in law.terms:
                c[v] += coef * a
        if trial % 2:  # then perturb a few coefficients: usually not conserved
            c[rng.integers(0, m.dim, size=2)] += rng.integers(-2, 3, size=2)
        truth = all(sum(c[e] for e in path) == 0 for path in paths)
        h = {((int(v), 2),): int(c[v]) for v in np.flatnonzero(c)}
        assert diagonal_law_conserved(shape, bias, h) == truth
        V = np.flatnonzero(c).astype(np.int64)
        assert (_conserved(shape, bias, V, c[V], [10**9]) is None) == truth
        seen[truth] += 1
    assert seen[True] > 10 and seen[False] > 10


# -- tampering -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cert():
    return json.loads(json.dumps(fl.analyze(fl.models.mlp([3, 4, 3, 2], "relu", bias=True),
                                            rank_proof="triangular").certificate))


def _paths_of(c):
    L = len(c["model"]["layers"])
    return [c["triangular"]["paths"][k * L:(k + 1) * L] for k in range(len(c["triangular"]["pivots"]))]


def _set_paths(c, rows):
    c["triangular"]["paths"] = [v for row in rows for v in row]


def _refused(c, step, match):
    with pytest.raises(CertificateError, match=match) as err:
        check_certificate(c)
    assert err.value.step == step, err.value


def test_tampered_pivots_are_refused(cert):
    c = copy.deepcopy(cert)  # a pivot moved to another edge of its own path: a designated edge, nonzero later
    c["triangular"]["pivots"][0] = c["triangular"]["pivots"][1]
    _refused(c, "rank", "pivot of two rows")
    c = copy.deepcopy(cert)
    c["triangular"]["pivots"][5] = 0  # an edge not on row 5's path
    _refused(c, "rank", "pivot")
    c = copy.deepcopy(cert)
    c["triangular"]["pivots"][3] = c["dim"]
    _refused(c, "rank", "not a parameter index")
    c = copy.deepcopy(cert)
    c["triangular"]["pivots"][3] = -1
    _refused(c, "rank", "not a parameter index")


def test_a_row_that_is_not_the_models_is_refused(cert):
    c = copy.deepcopy(cert)  # row 0's path rerouted: its pivot W1[0,0] is no longer on it
    rows = _paths_of(c)
    rows[0][0] = 1
    _set_paths(c, rows)
    _refused(c, "rank", "not one of the row's coordinates")
    c = copy.deepcopy(cert)
    rows = _paths_of(c)
    rows[0][1] = 9  # no neuron 9 in layer 1
    _set_paths(c, rows)
    _refused(c, "rank", "not a path")
    c = copy.deepcopy(cert)
    rows = _paths_of(c)
    rows[0][2] = -1  # a path that stops in a hidden layer
    _set_paths(c, rows)
    _refused(c, "rank", "not a path")


def test_a_zero_claimed_where_there_is_none_is_refused(cert):
    """Reordered rows: row 0 (a first-layer edge) moved last, the rows whose pivots it does not
    touch are fine, but a later-layer row listed before a row whose pivot it crosses is caught."""
    c = copy.deepcopy(cert)
    rows, piv = _paths_of(c), c["triangular"]["pivots"]
    order = list(range(len(piv)))[::-1]  # the reverse order: not triangular
    _set_paths(c, [rows[k] for k in order])
    c["triangular"]["pivots"] = [piv[k] for k in order]
    _refused(c, "rank", "not triangular")


def test_a_zero_pivot_entry_is_refused(cert):
    from flowlaws.engine.triangular import offsets

    c = copy.deepcopy(cert)
    w_off, _ = offsets(c["model"]["layers"], True)
    c["rank"]["point"][w_off[-1]] = c["rank"]["prime"]  # W3[0,0], on most paths, is 0 mod p there
    _refused(c, "rank", "pivot entry is 0 mod")


def test_claims_and_sizes_are_checked(cert):
    c = copy.deepcopy(cert)
    c["rank"]["value"] += 1
    _refused(c, "rank", "lists")
    c = copy.deepcopy(cert)
    c["triangular"]["paths"].append(0)
    _refused(c, "schema", "expected")
    c = copy.deepcopy(cert)
    c["triangular"]["paths"][0] = True
    _refused(c, "schema", "expected an integer")
    c = copy.deepcopy(cert)
    c["triangular"]["pivots"][0] = 2**70
    _refused(c, "schema", "64-bit")
    c = copy.deepcopy(cert)
    c["dim"] = 10**12
    _refused(c, "schema", "must be <=")
    c = copy.deepcopy(cert)
    c["rank_proof"] = "magic"
    _refused(c, "schema", "not 'dense' or 'triangular'")
    c = copy.deepcopy(cert)
    c["rank"]["prime"] = 2**61 - 1
    _refused(c, "prime", "2\\*\\*31")
    c = copy.deepcopy(cert)
    c["model"]["activations"] = ["linear", "relu"]
    _refused(c, "schema", "positively homogeneous|needs every hidden layer")
    c = copy.deepcopy(cert)
    c["bounds"]["upper"] -= 1
    _refused(c, "conclusion", "bounds.upper")


def test_tampered_laws_and_independence_are_refused(cert):
    c = copy.deepcopy(cert)
    c["laws"][0][0][0] = "2"
    _refused(c, "laws", "not conserved")
    c = copy.deepcopy(cert)
    c["laws"][0].pop()
    _refused(c, "laws", "not conserved")
    c = copy.deepcopy(cert)
    c["laws"][0][0][1] = [[0, 1], [1, 1]]
    _refused(c, "schema", "sum c\\*theta\\^2")
    c = copy.deepcopy(cert)
    c["laws"][1] = c["laws"][0]  # a repeated law: dependent
    c["independence"]["pivots"][1] = c["independence"]["pivots"][0]
    _refused(c, "independence", "pivot of two rows")
    c = copy.deepcopy(cert)
    c["independence"]["pivots"] = c["independence"]["pivots"][::-1]  # laws from the input side: not triangular
    c["laws"] = c["laws"][::-1]
    _refused(c, "independence", "not triangular")


def test_the_dense_kind_is_the_plain_certificate():
    res = fl.analyze(fl.models.mlp([2, 2, 1], "relu"))
    c = dict(res.certificate, rank_proof="dense")
    assert check_certificate(c)["proved"]["exact"]


def test_the_engine_checks_its_own_laws_and_witness():
    """RescalingLaws.verify is a real check (a changed coefficient or a dropped edge fails it), and
    the witness's pivot entries are the products of the other weights on each path."""
    from flowlaws.engine.triangular import RescalingLaws, diagonal

    laws = RescalingLaws((3, 4, 2, 2), True)
    assert laws.verify()
    first, variables, coefs = laws._blocks[1]
    laws._blocks[1] = (first, variables, coefs * np.r_[np.ones(coefs.size - 1, dtype=np.int64), 2])
    assert not laws.verify()
    laws._blocks[1] = (first, variables.copy(), coefs)
    laws._blocks[1][1][0, 0] = laws._blocks[1][1][0, 1]  # an edge twice, another missing
    assert not laws.verify()
    w = witness((3, 4, 2, 2), True)
    point = np.arange(2, w.rank + 100, dtype=np.int64)
    E = w.edges()
    want = [int(np.prod([point[f] for f in row if f >= 0 and f != piv], dtype=object) % 101)
            for row, piv in zip(E, w.pivots)]
    assert diagonal(w, point, 101).tolist() == want
