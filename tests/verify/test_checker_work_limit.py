"""The checker cannot be hung by a small certificate with deep words (issue 15).

A balanced bracket word of depth 6 on a 6-variable cubic model made the check
of a 1.4 KB certificate run for minutes (the polynomial fields of its subwords
grow without bound). The checker now counts the term products of every
bracket before computing it and rejects the word past ``LIMITS["bracket_work"]``.
"""

import json
import time

import pytest

import flowlaws as fl
from flowlaws.errors import CertificateError
from flowlaws.verify import check_certificate
from flowlaws.verify.checker._schema import LIMITS

PHI = ["a*b*c + d*e*f", "a*d + b*e*c", "c*f*a + b^3", "e*f*d + a*b", "f^2*c + d*a*e"]


def _balanced(depth: int, k: int = 0):
    return k % 5 if depth == 0 else [_balanced(depth - 1, k), _balanced(depth - 1, k + 1)]


@pytest.fixture(scope="module")
def certificate():
    res = fl.analyze(fl.models.from_polynomials(PHI, variables=list("abcdef")))
    assert check_certificate(res.certificate)["complete"]
    return res.certificate


def test_a_deep_word_is_rejected_quickly_not_evaluated_for_minutes(certificate):
    cert = json.loads(json.dumps(certificate))
    cert["rank"]["words"] = [_balanced(8)] + cert["rank"]["words"]
    assert len(json.dumps(cert)) < 3000
    t = time.perf_counter()
    with pytest.raises(CertificateError, match=r"rank.words\[0\] is not evaluated: .*LIMITS\['bracket_work'\]") as err:
        check_certificate(cert)
    assert err.value.step == "rank"
    assert time.perf_counter() - t < 60


def test_a_word_within_the_limit_is_still_checked(certificate, monkeypatch):
    cert = json.loads(json.dumps(certificate))
    cert["rank"]["words"] = [_balanced(3)] + cert["rank"]["words"]
    check_certificate(cert)  # a dependent extra word: same rank, accepted
    monkeypatch.setitem(LIMITS, "bracket_work", 10)
    with pytest.raises(CertificateError, match="bracket_work"):
        check_certificate(cert)


def _many_linear_laws(D: int) -> dict:
    """φ = x0*x1 in D variables: the D − 2 laws x2, …, x_{D−1} are true and independent."""
    laws = [[["1", [[i, 1]]]] for i in range(2, D)]
    return {"schema": "flowlaws-certificate/1", "dim": D, "variables": [f"x{i}" for i in range(D)],
            "model": {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]}, "flow": {"name": "gradient"},
            "generators": {"kind": "coordinates"},
            "rank": {"prime": 16777213, "point": [3] * D, "words": [0], "value": 1},
            "laws": laws, "independence": {"prime": 16777213, "point": [5] * D, "value": len(laws)},
            "bounds": {"lower": len(laws), "upper": D - 1}, "count": D - 1, "complete": False}


def test_many_laws_do_not_allocate_a_dense_jacobian():
    # 7,998 laws x 8,000 coordinates: a dense int64 Jacobian would take 512 MB (the issue: 20,000 laws, 3 GiB)
    import tracemalloc

    cert = _many_linear_laws(8000)
    tracemalloc.start()
    report = check_certificate(cert)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report["proved"] == {"upper_bound": 7999, "lower_bound": 7998, "exact": False}
    assert peak < 200 * 2**20


def test_more_laws_than_dim_is_refused_before_any_work():
    cert = _many_linear_laws(50)
    cert["laws"] = cert["laws"] + cert["laws"]
    with pytest.raises(CertificateError, match="at most dim laws can be independent"):
        check_certificate(cert)


# -- network words are evaluated on jets: their work is counted before the evaluation -------------
def _comb(depth: int, k: int):
    w = k
    for i in range(depth):
        w = [w, (k + i + 1) % 5]
    return w


@pytest.fixture(scope="module")
def network_certificate():
    return fl.analyze(fl.models.parse("relu:20x30x30x20"), rank_proof="dense").certificate  # D = 2,100: the jet route


def test_deep_network_words_are_refused_before_the_jets_run(network_certificate):
    from flowlaws.verify.checker._network_eval import jet_work

    cert = json.loads(json.dumps(network_certificate))
    cert["rank"]["words"] = [_comb(8, k) for k in range(12)]  # three depth-8 words on D=5,600 took 23 s
    cert["rank"]["value"] = 12
    assert jet_work(cert["rank"]["words"], cert["dim"], False) > LIMITS["jet_work"]
    t = time.perf_counter()
    with pytest.raises(CertificateError, match=r"LIMITS\['jet_work'\]") as err:
        check_certificate(cert)
    assert err.value.step == "rank" and time.perf_counter() - t < 2


def test_a_balanced_deep_word_on_a_small_network_is_refused_at_once():
    cert = fl.analyze(fl.models.parse("relu:3x4x3")).certificate
    cert["rank"]["words"] = [_balanced(8)]  # 3 KB; evaluating it took 29 s (7^8 pass products)
    cert["rank"]["value"] = 1
    assert len(json.dumps(cert)) < 4000
    t = time.perf_counter()
    with pytest.raises(CertificateError, match=r"LIMITS\['jet_work'\]") as err:
        check_certificate(cert)
    assert err.value.step == "rank" and time.perf_counter() - t < 2


def test_jet_work_counts_the_engines_own_certificates_well_below_the_limit(network_certificate):
    from flowlaws.verify.checker._network_eval import jet_work

    momentum = fl.analyze(fl.models.parse("linear:2x2x5x2x4"), flow="momentum").certificate  # words of depth 5
    for cert, has_drift in ((network_certificate, False), (momentum, True)):
        assert jet_work(cert["rank"]["words"], cert["dim"], has_drift) < LIMITS["jet_work"] / 10
        assert check_certificate(cert)["complete"]


def test_a_shallow_word_the_jet_limit_allows_is_still_checked(network_certificate):
    cert = json.loads(json.dumps(network_certificate))
    cert["rank"]["words"] = cert["rank"]["words"] + [_comb(5, 0)]  # a depth-5 word is evaluated, not refused
    out = check_certificate(cert)  # the rank is already maximal (dim - count): one more word keeps it
    assert out["complete"] and out["routes"]["words"] == "jets"
