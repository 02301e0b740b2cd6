"""User metrics ``θ' = −M(θ)∇L`` (and momentum ``θ'' + τθ' = −M(θ)∇L``): engine, certificate, checker."""

import copy
import json
import random
from fractions import Fraction

import pytest
import sympy

import flowlaws as fl
from flowlaws.engine.flow import check_flow
from flowlaws.engine.metric import MatrixMetric, metric_matrix
from flowlaws.errors import CertificateError, DomainError, InvalidArgument
from flowlaws.verify import NotConserved, assert_conserved, check_certificate, is_conserved

P3 = fl.models.from_polynomials(["x0*x1*x2"], variables=["x0", "x1", "x2"])
RATIONAL = [["1/(1 + x0^2)", 0, 0], [0, 1, 0], [0, 0, 1]]
CONSTANT = [[2, 1, 0], [1, 2, 0], [0, 0, 1]]


def checked(res):
    assert res.complete
    cert = json.loads(json.dumps(res.certificate))
    report = check_certificate(cert)
    assert report["proved"]["exact"] is True
    assert report["flow"] == cert["flow"]
    return res


def reject(cert, step, *fragments):
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == step, str(info.value)
    for f in fragments:
        assert f in str(info.value)


def diag(model, entries):
    D = model.dim
    return [[entries[i] if i == j else 0 for j in range(D)] for i in range(D)]


# -- (1) diag(θ) is the NMF metric; (2) the identity is euclidean ---------------------------------
def test_diag_theta_reproduces_nmf():
    model = fl.models.nmf(2, 2, 2)
    nmf = checked(fl.analyze(model))
    mine = checked(fl.analyze(model, metric=diag(model, model.variables)))
    assert mine.count == nmf.count == 2
    assert sorted(map(str, mine.laws)) == sorted(map(str, nmf.laws))
    assert isinstance(mine.flow.metric, MatrixMetric) and str(mine.flow) == "gradient, custom metric"
    assert mine.certificate["flow"]["metric"]["kind"] == "matrix"
    for law in mine.laws:  # Σ_i U_ik − Σ_j V_jk
        assert law.degree == 1 and {abs(c) for c, _ in law.terms} == {1}
        assert is_conserved(model, law, metric=diag(model, model.variables))


@pytest.mark.parametrize("spec,flow", [("relu:2x2x1", "gradient"), ("factorization:2x2x1", "gradient"),
                                       ("factorization:1x2x1", "momentum")])
def test_identity_reproduces_euclidean(spec, flow):
    model = fl.models.parse(spec)
    eye = {(i, i): 1 for i in range(model.dim)}
    plain = checked(fl.analyze(model, flow=flow))
    mine = checked(fl.analyze(model, flow=flow, metric=eye))
    assert (mine.count, mine.rank, mine.dim) == (plain.count, plain.rank, plain.dim)
    assert sorted(map(str, mine.laws)) == sorted(map(str, plain.laws))


# -- (3) a constant non-diagonal metric, cross-checked with SymPy ----------------------------------
def _sympy_count(phi, syms, M):
    """``D − rank`` of the Lie algebra of ``M∇φ_i`` by all-pairs brackets (SymPy, random rational point)."""
    fields = [M * sympy.Matrix([sympy.diff(f, s) for s in syms]) for f in phi]
    X = sympy.Matrix(syms)
    rng = random.Random(1)
    point = {s: sympy.Rational(rng.randint(2, 50), rng.randint(1, 7)) for s in syms}
    algebra, rank = list(fields), 0
    while True:
        new = [Y.jacobian(X) * Z - Z.jacobian(X) * Y for Y in algebra for Z in algebra]
        algebra = algebra + [sympy.expand(b) for b in new if b != sympy.zeros(len(syms), 1)]
        r = sympy.Matrix.hstack(*[f.subs(point) for f in algebra]).rank()
        if r == rank or r == len(syms):
            return len(syms) - r
        rank = r
        algebra = algebra[:40]


def _sympy_law_space(phi, syms, M, degree):
    """Dimension of the space of non-constant polynomial laws of degree ≤ ``degree`` (SymPy nullspace)."""
    monos = sorted(sympy.itermonomials(syms, degree), key=sympy.default_sort_key)
    monos = [m for m in monos if m != 1]
    cs = sympy.symbols(f"c0:{len(monos)}")
    h = sum(c * m for c, m in zip(cs, monos))
    grad = sympy.Matrix([sympy.diff(h, s) for s in syms])
    rows = []
    for f in phi:
        expr = sympy.expand((grad.T * M * sympy.Matrix([sympy.diff(f, s) for s in syms]))[0])
        for coeff in sympy.Poly(expr, *syms).coeffs():
            rows.append([coeff.coeff(c) for c in cs])
    return len(monos) - sympy.Matrix(rows).rank()


def test_constant_metric_matches_sympy():
    syms = sympy.symbols("x0 x1 x2")
    phi = [syms[0] * syms[1] * syms[2]]
    M = sympy.Matrix(CONSTANT)
    res = checked(fl.analyze(P3, metric=CONSTANT))
    assert res.count == _sympy_count(phi, syms, M) == 2
    sym_laws = [sympy.sympify(law.to_sympy()) for law in res.laws]
    for law in sym_laws:  # each law is conserved, checked by SymPy
        grad = sympy.Matrix([sympy.diff(law, s) for s in syms])
        assert sympy.expand((grad.T * M * sympy.Matrix([sympy.diff(phi[0], s) for s in syms]))[0]) == 0
        assert is_conserved(P3, law, metric=sympy.Matrix(CONSTANT))
    # the laws of degree ≤ 4 are exactly the polynomials in the two found laws: h1, h1^2, h2 (deg 2, 4, 4)
    assert sorted(law.degree for law in res.laws) == [2, 4]
    assert _sympy_law_space(phi, syms, M, 4) == 3
    # the euclidean flow has different laws: x0^2 - x1^2 is not conserved under M
    assert not is_conserved(P3, "x0^2 - x1^2", metric=CONSTANT) and is_conserved(P3, "x0^2 - x1^2")


@pytest.mark.parametrize("metric,count", [([[2, 0, 1], [0, 1, 0], [1, 0, 2]], 1), ([[1, 1, 0], [0, 1, 0], [0, 1, 3]], 0)])
def test_constant_metric_two_coordinates_matches_sympy(metric, count):
    syms = sympy.symbols("x0 x1 x2")
    model = fl.models.from_polynomials(["x0*x1", "x1*x2"], variables=["x0", "x1", "x2"])
    res = checked(fl.analyze(model, metric=metric))
    phi = [syms[0] * syms[1], syms[1] * syms[2]]
    assert res.count == _sympy_count(phi, syms, sympy.Matrix(metric)) == count
    assert fl.analyze(model).count == 1  # euclidean: x0^2 - x1^2 + x2^2
    assert _sympy_law_space(phi, syms, sympy.Matrix(metric), 2) == len(res.laws) == count
    assert all(law.degree == 2 for law in res.laws)


# -- (4) a rational metric, its certificate and tampering ------------------------------------------
@pytest.fixture(scope="module")
def rational():
    return checked(fl.analyze(P3, metric=RATIONAL))


def test_rational_metric(rational):
    assert rational.count == 2
    assert sorted(map(str, rational.laws)) == ["x0^4 + 2*x0^2 - 2*x2^2", "x1^2 - x2^2"]
    metric = rational.certificate["flow"]["metric"]
    assert metric["denominator"] == [["1", [[0, 2]]], ["1", []]]  # q = x0^2 + 1
    assert [0, 0, [["1", []]]] in metric["entries"]  # P = q M = diag(1, q, q)
    for law in rational.laws:
        assert is_conserved(P3, law, metric=RATIONAL)
        assert is_conserved(P3, law, metric={(0, 0): "1/(1+x0^2)", (1, 1): 1, (2, 2): Fraction(1)})
    x0 = sympy.Symbol("x0")
    same = sympy.Matrix([[1 / (1 + x0**2), 0, 0], [0, 1, 0], [0, 0, 1]])
    assert checked(fl.analyze(P3, metric=same)).certificate["flow"] == rational.certificate["flow"]


def test_tampered_metric_entry(rational):
    cert = copy.deepcopy(rational.certificate)
    entry = next(e for e in cert["flow"]["metric"]["entries"] if e[:2] == [0, 0])
    entry[2] = [["2", []]]
    reject(cert, "laws", "laws[", "q*M * grad phi[0]")
    cert = copy.deepcopy(rational.certificate)
    del cert["flow"]["metric"]
    reject(cert, "laws", "<grad h, grad phi[0]>")


def test_rank_point_where_the_denominator_vanishes(rational):
    cert = copy.deepcopy(rational.certificate)
    p = cert["rank"]["prime"]
    root = next(r for g in range(2, 200) if (r := pow(g, (p - 1) // 4, p)) * r % p == p - 1)
    cert["rank"]["point"][0] = root  # q = x0^2 + 1 = 0 mod p
    reject(cert, "rank", "denominator", "vanishes")


@pytest.mark.parametrize("change,fragments", [
    (lambda m: m.update(denominator=[]), ["zero polynomial"]),
    (lambda m: m.update(size=4), ["flow.metric.size=4", "3 parameters"]),
    (lambda m: m["entries"].append(copy.deepcopy(m["entries"][0])), ["given twice"]),
    (lambda m: m["entries"][0].__setitem__(1, 3), ["(column)", "<= 2"]),
    (lambda m: m.update(kind="diag"), ["not 'matrix'"]),
    (lambda m: m.update(extra=1), ["unknown field"]),
])
def test_malformed_metric_object(rational, change, fragments):
    cert = copy.deepcopy(rational.certificate)
    change(cert["flow"]["metric"])
    reject(cert, "schema", *fragments)


# -- (5) errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric,error,fragment", [
    ([[1, 0], [0, 1]], InvalidArgument, "2×2 matrix but the model has D=3"),
    ([[1, 0, 0], [0, 1, 0]], InvalidArgument, "pass a 3×3 matrix"),
    ([[1, 0.5, 0], [0, 1, 0], [0, 0, 1]], DomainError, "metric[0][1]=0.5 is a float"),
    ([[float("nan"), 0, 0], [0, 1, 0], [0, 0, 1]], DomainError, "not finite"),
    ([[1, "2.5*x0", 0], [0, 1, 0], [0, 0, 1]], DomainError, "float"),
    ([[1, "y + x0", 0], [0, 1, 0], [0, 0, 1]], InvalidArgument, "unknown name(s) ['y']"),
    (sympy.Matrix([[sympy.Symbol("z"), 0, 0], [0, 1, 0], [0, 0, 1]]), InvalidArgument, "unknown name(s) ['z']"),
    ([[1, 0, 0], [0, 0, 0], [0, 0, 1]], InvalidArgument, "row 1 (x1) is identically zero"),
    ([[0, 0, 0], [0, 0, 0], [0, 0, 0]], InvalidArgument, "row 0 (x0) is identically zero"),
    ([[1, "1/(x0 - x0)", 0], [0, 1, 0], [0, 0, 1]], InvalidArgument, "division by zero"),
    ({(0, 3): 1}, InvalidArgument, "0 <= i, j < D=3"),
    ("riemann", InvalidArgument, "a D×D matrix"),
])
def test_metric_errors(metric, error, fragment):
    with pytest.raises(error) as info:
        fl.analyze(P3, metric=metric)
    assert fragment in str(info.value)


@pytest.mark.parametrize("metric,error", [
    ([[1, 0], [0, 1]], InvalidArgument),
    ([[1, 0.5, 0], [0, 1, 0], [0, 0, 1]], DomainError),
    ([[1, "y", 0], [0, 1, 0], [0, 0, 1]], InvalidArgument),
    ([[1, 0, 0], [0, 0, 0], [0, 0, 1]], InvalidArgument),
])
def test_checker_metric_errors(metric, error):
    with pytest.raises(error):
        is_conserved(P3, "x1^2 - x2^2", metric=metric)


def test_nesterov_refuses_a_matrix_metric():
    with pytest.raises(InvalidArgument, match="euclidean metric only"):
        fl.analyze(P3, flow="nesterov", metric=CONSTANT)
    with pytest.raises(InvalidArgument, match="euclidean metric only"):
        is_conserved(P3, "x0", flow="nesterov", metric=CONSTANT)
    rows = fl.compare_flows(P3, flows=(("gradient", None), ("nesterov", None)), metric=CONSTANT)
    assert rows[0]["count"] == 2 and "error" in rows[1]


def test_metric_needs_the_model():
    with pytest.raises(InvalidArgument, match="needs the model"):
        check_flow("gradient", None, CONSTANT)
    M = metric_matrix(CONSTANT, P3.variables)
    assert check_flow("gradient", None, M, model=P3).metric is M
    assert str(check_flow("momentum", 1, M, model=P3)) == "momentum (tau=1), custom metric"


# -- (6) is_conserved / assert_conserved -------------------------------------------------------------
def test_is_conserved_with_a_matrix(rational):
    law = rational.laws[1]
    assert is_conserved(P3, law, metric=RATIONAL)
    assert not is_conserved(P3, law)  # not a law of the euclidean flow
    with pytest.raises(NotConserved) as info:
        assert_conserved(P3, "x0^2 - x1^2", metric=RATIONAL)
    err = info.value
    assert "gradient flow (custom metric)" in str(err) and err.field.startswith("q*M * grad phi[0]")
    x = [err.point.get(n, 0) for n in ("x0", "x1", "x2")]
    assert 1 + x[0] ** 2 != 0  # M is defined at the counterexample
    # <grad h, M grad phi> at the point, recomputed here with fractions, is not 0
    Mx = [[Fraction(1, 1 + x[0] ** 2), 0, 0], [0, 1, 0], [0, 0, 1]]
    grad_phi = [x[1] * x[2], x[0] * x[2], x[0] * x[1]]
    grad_h = [2 * x[0], -2 * x[1], 0]
    assert sum(grad_h[i] * Mx[i][j] * grad_phi[j] for i in range(3) for j in range(3)) != 0


# -- (7) momentum with a constant metric -------------------------------------------------------------
def test_momentum_with_a_constant_metric():
    model = fl.models.factorization(1, 2, 1)  # variables V[0,0], V[0,1], U[0,0], U[0,1]
    metric = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]
    res = checked(fl.analyze(model, flow="momentum", tau="1/2", metric=metric))
    assert (res.dim, res.count) == (9, 2)
    for law in res.laws:
        assert law.time_rate == Fraction(1, 2)
        assert is_conserved(model, law, flow="momentum", tau="1/2", metric=metric)
    # the rotation law weighs V by 2 (= M_UU / M_VV): with M = diag(a, a, b, b) it is b V-part + a U-part
    assert "2*V[0,0]*V[0,1]' - 2*V[0,1]*V[0,0]' + U[0,0]*U[0,1]' - U[0,1]*U[0,0]'" in str(res.laws[0])
    assert not is_conserved(model, res.laws[0], flow="momentum", tau="1/2")
    flow = res.certificate["flow"]
    assert flow["name"] == "momentum" and flow["metric"]["size"] == 4
    cert = copy.deepcopy(res.certificate)
    cert["flow"]["metric"]["entries"][0][2] = [["3", []]]
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step in ("rank", "laws")


def test_momentum_rational_metric_point_check():
    model = fl.models.factorization(1, 1, 1)
    metric = {(0, 0): "1/(1 + V[0,0]^2)", (1, 1): 1}
    res = checked(fl.analyze(model, flow="momentum", metric=metric))
    cert = copy.deepcopy(res.certificate)
    p = cert["rank"]["prime"]
    root = next(r for g in range(2, 200) if (r := pow(g, (p - 1) // 4, p)) * r % p == p - 1)
    cert["rank"]["point"][1] = root  # θ_0 = V[0,0] is phase coordinate 1
    reject(cert, "rank", "vanishes")


def test_model_carries_a_matrix_metric():
    model = fl.models.from_polynomials(["x0*x1*x2"], variables=["x0", "x1", "x2"])
    model.metric = CONSTANT  # like models.nmf's "nmf": the default of analyze and is_conserved
    res = checked(fl.analyze(model))
    assert res.certificate["flow"]["metric"]["kind"] == "matrix"
    assert is_conserved(model, res.laws[0]) and not is_conserved(model, res.laws[0], metric="euclidean")
    assert fl.analyze(model, metric="euclidean").count == 2
    assert str(res.flow) == "gradient, custom metric" and res.to_json()["flow"] == res.certificate["flow"]
