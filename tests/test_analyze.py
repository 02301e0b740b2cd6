"""analyze: results, bounds, budgets and errors."""

import json

import pytest

import flowlaws as fl
from flowlaws.errors import BudgetExceeded, DomainError, FlowlawsError, InvalidArgument, UnsupportedArchitecture


def test_result_fields_and_json():
    res = fl.analyze(fl.models.mlp([3, 4, 3], activation="relu"))
    assert (res.count, res.dim, res.rank, res.complete) == (4, 24, 20, True)
    data = res.to_json()
    assert data["count"] == 4 and data["laws"] == [str(law) for law in res.laws]
    json.dumps(res.certificate)  # plain JSON
    exprs = res.to_sympy()
    assert len(exprs) == 4 and all(e.free_symbols for e in exprs)


def test_degree_limit_gives_both_bounds():
    # φ = UVᵀ needs degree-2 laws; max_degree=1 cannot find them, and D = 72 is beyond the Frobenius
    # stage (dimension <= 64), so the result keeps both bounds
    res = fl.analyze(fl.models.factorization(9, 4, 9), max_degree=1)
    assert not res.complete and not res.frobenius
    assert res.bounds == (0, 10)
    assert "between 0 and 10" in str(res)
    report = fl.verify.check_certificate(res.certificate)
    assert report["proved"]["exact"] is False


def test_a_non_polynomial_law_is_found_and_counted():
    # φ = x0 + x1^2: one law, h = x1·exp(−2·x0) (∂0h + 2·x1·∂1h = 0), which is not polynomial: no
    # polynomial law exists, but log h = log(x1) - 2*x0 is found (issue 16) and the checker verifies it
    # as a cleared polynomial identity
    import sympy as sp

    x0, x1 = sp.symbols("x0 x1")
    h = x1 * sp.exp(-2 * x0)
    assert sp.simplify(sp.diff(h, x0) * 1 + sp.diff(h, x1) * 2 * x1) == 0  # <grad h, grad phi> = 0
    m = fl.models.from_polynomials(["x0 + x1^2"], variables=["x0", "x1"])
    res = fl.analyze(m, max_degree=3)
    assert res.bounds == (1, 1) and res.complete and res.laws == []
    assert [str(h) for h in res.nonpolynomial_laws] == ["log(x1) - 2*x0"]  # the log of h
    report = fl.verify.check_certificate(res.certificate)
    assert report["proved"] == {"upper_bound": 1, "lower_bound": 1, "exact": True}
    assert "log(x1) - 2*x0   (not polynomial)" in str(res)


def test_budget_on_dimension():
    with pytest.raises(BudgetExceeded, match="max_dim=10"):
        fl.analyze(fl.models.mlp([3, 4, 3]), max_dim=10)


def test_budget_on_law_search_is_stated():
    m = fl.models.from_polynomials(["x0*x1 + x2*x3 + x0^3"], variables=["x0", "x1", "x2", "x3"])
    res = fl.analyze(m, max_monomials=5)
    assert any("max_monomials=5" in note for note in res.notes)


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda: fl.models.mlp([]), InvalidArgument),
        (lambda: fl.models.mlp([3]), InvalidArgument),
        (lambda: fl.models.mlp([2, 0, 2]), InvalidArgument),
        (lambda: fl.models.mlp([2, -1, 2]), InvalidArgument),
        (lambda: fl.models.mlp([2, 2.0, 2]), DomainError),
        (lambda: fl.models.mlp([2, 10**9, 2]), InvalidArgument),
        (lambda: fl.models.mlp([2, 2, 2], activation="tanh"), UnsupportedArchitecture),
        (lambda: fl.models.mlp([2, 2, 2], activation=["relu", "relu"]), InvalidArgument),
        (lambda: fl.models.from_polynomials(["0.5*x"], variables=["x"]), DomainError),
        (lambda: fl.models.from_polynomials(["x*nan"], variables=["x"]), DomainError),
        (lambda: fl.models.from_polynomials(["sin(x)"], variables=["x"]), InvalidArgument),
        (lambda: fl.models.from_polynomials(["x/y"], variables=["x", "y"]), InvalidArgument),
        (lambda: fl.models.from_polynomials([], variables=["x"]), InvalidArgument),
        (lambda: fl.models.from_polynomials(["x"], variables=["x", "x"]), InvalidArgument),
        (lambda: fl.models.from_polynomials([{(1,): 0.25}], variables=["x"]), DomainError),
        (lambda: fl.models.factorization(2, 0, 2), InvalidArgument),
        (lambda: fl.models.parse("relu:3xx3"), InvalidArgument),
        (lambda: fl.models.parse("softmax:3x3"), InvalidArgument),
        (lambda: fl.analyze("relu:3x3x3"), InvalidArgument),
        (lambda: fl.analyze(fl.models.mlp([2, 2, 2]), flow="rmsprop"), InvalidArgument),
        (lambda: fl.analyze(fl.models.mlp([2, 2, 2]), tau=1), InvalidArgument),
        (lambda: fl.analyze(fl.models.mlp([2, 2, 2]), max_degree=0), InvalidArgument),
    ],
)
def test_bad_input_gets_a_clear_error(call, error):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, FlowlawsError)
    assert len(str(info.value)) > 20  # a message that says something


def test_sympy_input():
    import sympy

    x, y, z = sympy.symbols("x y z")
    m = fl.models.from_polynomials([x * y * z])
    assert m.variables == ("x", "y", "z")
    assert fl.analyze(m).count == 2
    with pytest.raises(DomainError):
        fl.models.from_polynomials([0.5 * x * y])
    with pytest.raises(DomainError):
        fl.models.from_polynomials([sympy.sin(x)])


def test_seed_changes_point_not_answer():
    m = fl.models.mlp([2, 3, 2], activation="linear")
    a, b = fl.analyze(m, seed=0), fl.analyze(m, seed=7)
    assert a.count == b.count and a.certificate["rank"]["point"] != b.certificate["rank"]["point"]
    fl.verify.check_certificate(b.certificate)


def test_public_contract_names():
    m = fl.models.parse("relu:3x3x3")
    for name in ("mlp", "from_polynomials", "factorization", "symmetric_factorization", "parse"):
        assert callable(getattr(fl.models, name))
    for name in ("check_certificate", "is_conserved", "assert_conserved"):
        assert callable(getattr(fl.verify, name))
    assert issubclass(fl.errors.CertificateError, fl.errors.FlowlawsError)
    res = fl.analyze(m, flow="gradient")
    for attr in ("count", "dim", "rank", "laws", "complete", "certificate"):
        assert hasattr(res, attr)
    law = res.laws[0]
    assert str(law) and law.to_sympy() is not None
    assert fl.verify.is_conserved(m, law, flow="gradient")


# -- a constant φ is analysed, not refused (issue 16) ------------------------------------------
@pytest.mark.parametrize(("flow", "count"), [("gradient", 3), ("momentum", 6), ("nesterov", 6)])
def test_a_constant_phi_conserves_every_coordinate(flow, count):
    m = fl.models.from_polynomials(["3", "0"], variables=["a", "b", "c"])
    res = fl.analyze(m, flow=flow)
    # gradient flow: nothing moves, the D coordinates are the laws; momentum flows keep their drift
    # (rank 1 on the phase space of dimension 2D + 1), and the 2D laws are found explicitly
    assert res.complete and res.count == count == len(res.laws) and res.rank == (0 if flow == "gradient" else 1)
    assert fl.verify.check_certificate(json.loads(json.dumps(res.certificate)))["complete"]
    if flow == "gradient":
        assert [str(h) for h in res.laws] == ["a", "b", "c"] and "φ is constant" in str(res)


def test_a_network_whose_paths_all_cross_a_zero_weight_conserves_every_parameter():
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from([("x", {"kind": "input"}), ("y", {"kind": "output"})])
    G.add_node("h", kind="hidden", activation="relu")
    G.add_edge("x", "h", param="a")
    G.add_edge("h", "y", trainable=False, value=0)
    res = fl.analyze(fl.models.from_graph(G))
    assert res.complete and res.count == 1 and [str(h) for h in res.laws] == ["a"]
    assert fl.verify.check_certificate(res.certificate)["complete"]


def test_a_dense_rank_beyond_the_memory_is_refused_before_allocating(monkeypatch):
    # relu:200x200x200 with --max-dim 100000 was killed by the OS; the dense rank's memory is checked first
    from flowlaws.engine import problem

    assert problem.memory_problem(80_000, available=22 * 2**30).startswith("a dense rank for dim=80000 needs about 191 GiB")
    assert problem.memory_problem(5_000, available=22 * 2**30) is None
    monkeypatch.setattr(problem, "available_memory", lambda: 2**30)  # a 1 GiB machine
    with pytest.raises(BudgetExceeded, match="dim=6000 needs about 1 GiB"):
        fl.analyze(fl.models.parse("relu:60x50x60"), max_dim=10_000, rank_proof="dense")


def test_a_scalar_phi_samples_one_row_per_point_so_no_candidate_is_spurious():
    # linear 1-3-3-3-1: φ is one scalar, so 8 sampled values per point span one direction; the search
    # saw spurious nullspaces and dropped 291 failing candidates (15 s). Sampling measures the span.
    res = fl.analyze(fl.models.mlp([1, 3, 3, 3, 1], "linear"))
    assert res.complete and res.count == 23 and len(res.laws) == 18
    assert not any("failed the exact check" in n for n in res.notes)
