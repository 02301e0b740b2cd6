"""Bugs the fuzzing suite found, each kept as a regression test (issue 15)."""

from __future__ import annotations

import json

import pytest

import flowlaws as fl
from flowlaws.errors import CertificateError
from flowlaws.verify import check_certificate


@pytest.fixture(scope="module")
def certificate() -> dict:
    return json.loads(json.dumps(fl.analyze(fl.models.parse("relu:2x2x1"), flow="nesterov").certificate))


@pytest.mark.parametrize("seconds", [10**400, -(10**400), 10**4400], ids=["1e400", "-1e400", "1e4400"])
def test_huge_integer_timing_is_refused_not_an_overflow(certificate, seconds):
    # math.isfinite(10**400) raised OverflowError out of check_certificate
    cert = json.loads(json.dumps(certificate))
    cert["timings"]["setup"] = seconds
    with pytest.raises(CertificateError, match="timings.setup: expected a finite number of seconds") as info:
        check_certificate(cert)
    assert info.value.step == "schema"


def test_integer_timings_within_float_range_still_pass(certificate):
    cert = json.loads(json.dumps(certificate))
    cert["timings"]["setup"] = 10**300
    assert check_certificate(cert)["complete"]


HUGE_FIELDS = [("dim",), ("count",), ("bounds", "lower"), ("bounds", "upper"), ("rank", "value"), ("rank", "prime"),
               ("independence", "value"), ("independence", "prime"), ("generators", "seed"), ("rank", "words", 0),
               ("laws", 0, 0, 1, 0, 0), ("laws", 0, 0, 1, 0, 1)]


@pytest.mark.parametrize("path", HUGE_FIELDS, ids=[".".join(map(str, p)) for p in HUGE_FIELDS])
@pytest.mark.parametrize("sign", [1, -1])
def test_integers_past_the_str_digit_limit_are_named_in_one_line(path, sign):
    # a Python-object certificate with a 4,401-digit int: f"{x}" in the message raised ValueError
    # (Python's limit on int-to-str conversion) out of check_certificate
    cert = json.loads(json.dumps(fl.analyze(fl.models.parse("relu:2x2x1")).certificate))
    target = cert
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = sign * 10**4400
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    msg = str(info.value)
    assert "integer of about 4400 digits" in msg and "\n" not in msg and len(msg) < 300


def test_a_loaded_zero_model_is_analysed_not_an_indexerror(tmp_path):
    # a certificate with phi = 0 is true (every function is conserved) and loads; analyze on the
    # loaded model raised IndexError deep in the law search (found by the long fuzz run); a constant
    # phi is now analysed (issue 16): every coordinate is a law
    cert = json.loads(json.dumps(fl.analyze(fl.models.from_polynomials(["x*y*z"], variables=["x", "y", "z"]))
                                 .certificate))
    cert["model"]["phi"] = [[]]
    cert["rank"].update(words=[], value=0)
    cert.update(bounds={"lower": 2, "upper": 3}, count=3, complete=False)
    assert check_certificate(cert)["proved"] == {"upper_bound": 3, "lower_bound": 2, "exact": False}
    path = tmp_path / "zero.json"
    path.write_text(json.dumps(cert))
    res = fl.load(str(path))
    again = fl.analyze(res.model)
    assert again.complete and again.count == 3 and [str(h) for h in again.laws] == ["x", "y", "z"]
