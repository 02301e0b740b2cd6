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
