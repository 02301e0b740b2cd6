"""``flowlaws check`` exit status: 0 complete, 3 valid but bounds only, 2 rejected (README, ``check --help``)."""

from __future__ import annotations

import json

import pytest

import flowlaws as fl
from flowlaws import cli


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    # 8 per-neuron laws, all of degree 2; D = 72 is beyond the Frobenius stage (dimension <= 64)
    model = fl.models.parse("relu:8x8x1")
    complete = fl.analyze(model)
    partial = fl.analyze(model, max_degree=1)  # degree 1 cannot reach them: bounds 0..8
    assert complete.complete and not partial.complete and partial.bounds == (0, 8)
    complete.save(str(d / "complete.json"))
    partial.save(str(d / "bounds.json"))
    tampered = json.loads((d / "complete.json").read_text())
    tampered["rank"]["value"] = 65  # claims one more independent bracket than its words span
    (d / "tampered.json").write_text(json.dumps(tampered))
    return d


def test_complete_certificate_exits_0(certificates, capsys):
    assert cli.main(["check", "--quiet", str(certificates / "complete.json")]) == 0
    out = capsys.readouterr().out
    assert "certificate verified: exactly 8 laws" in out and "NOT determined" not in out


def test_bounds_only_certificate_exits_3_and_says_the_count_is_not_determined(certificates, capsys):
    assert cli.EXIT_INCOMPLETE == 3
    assert cli.main(["check", "--quiet", str(certificates / "bounds.json")]) == 3
    out = capsys.readouterr().out
    assert "bounds only: between 0 and 8 laws; the count is NOT determined" in out
    # one complete and one bounds-only certificate: still 3
    assert cli.main(["check", "--quiet", str(certificates / "complete.json"), str(certificates / "bounds.json")]) == 3


def test_rejected_certificate_exits_2_even_next_to_valid_ones(certificates, capsys):
    paths = [str(certificates / n) for n in ("complete.json", "bounds.json", "tampered.json")]
    assert cli.main(["check", "--quiet", *paths]) == 2
    err = capsys.readouterr().err
    assert "tampered.json: NOT PROVED" in err


def test_exit_codes_are_documented():
    epilog = cli._CHECK_EPILOG
    for line in ("0    every certificate proves its count exactly", "2    at least one certificate is rejected",
                 "3    every certificate is valid, but at least one proves only bounds"):
        assert line in epilog
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "exit status 3" in readme and "--max-dim" in readme


def test_analyze_hints_a_larger_degree_when_only_bounds_are_proved(capsys):
    assert cli.main(["analyze", "relu:8x8x1", "--max-degree", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    hint = [line for line in out.splitlines() if line.startswith("hint:")]
    assert hint == ["hint: the count is NOT determined (between 0 and 8 laws); laws of degree up to 1 were searched: "
                    "try --max-degree 2 or more"]
    assert cli.main(["analyze", "relu:8x8x1", "--max-degree", "2", "--quiet"]) == 0  # the hint works
    assert "hint:" not in capsys.readouterr().out


def test_analyze_max_dim(capsys):
    assert cli.main(["analyze", "relu:3x4x3", "--max-dim", "10", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max_dim=10" in err[0] and "--max-dim 24" in err[0]
    assert cli.main(["analyze", "relu:3x4x3", "--max-dim", "24", "--quiet"]) == 0  # the hint works
