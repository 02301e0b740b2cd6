"""``flowlaws.load``: certificates on disk back into results, re-checked by the checker."""

from __future__ import annotations

import json

import pytest

import flowlaws as fl


CASES = [
    (lambda: fl.models.mlp([3, 4, 3], activation="relu"), {}),
    (lambda: fl.models.mlp([2, 3, 2], activation=["leaky_relu"], bias=True), {}),
    (lambda: fl.models.mlp([2, 3, 2], activation="linear"), {"flow": "momentum", "tau": "1/2"}),
    (lambda: fl.models.mlp([2, 2, 2], activation="linear"), {"flow": "nesterov"}),
    (lambda: fl.models.factorization(2, 2, 2), {}),
    (lambda: fl.models.factorization(1, 2, 1), {"flow": "momentum", "tau": 0}),
    (lambda: fl.models.nmf(2, 2, 2), {}),
    (lambda: fl.models.from_polynomials(["x0*x1*x2"], variables=["x0", "x1", "x2"]), {}),
    (lambda: fl.models.mlp([2, 1, 2], "linear"),
     {"metric": [[1, 0, 0, 0], [0, "1/(1 + W1[0,1]^2)", 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]}),
]


@pytest.mark.parametrize("make, options", CASES)
def test_round_trip(tmp_path, make, options):
    model = make()
    res = fl.analyze(model, **options)
    path = str(tmp_path / "cert.json")
    res.save(path)
    back = fl.load(path)
    assert (back.count, back.dim, back.rank, back.complete) == (res.count, res.dim, res.rank, res.complete)
    assert [str(law) for law in back.laws] == [str(law) for law in res.laws]
    assert back.flow == res.flow and back.model.variables == model.variables
    # the name comes from the proved model (meta.model_name is never shown as proved)
    assert back.model.name == fl._load.describe_model(res.certificate["model"], model.variables)
    assert "certificate verified by the independent checker" in back.notes
    if back.model.name != model.name:
        assert f"unverified metadata (not part of the proof): meta.model_name = {model.name!r}" in back.notes
        assert back.model.name.startswith("polynomials (")
    # the rebuilt model is a real model: the laws are conserved by it, under the same flow
    flow_args = {k: v for k, v in options.items() if k in ("flow", "tau", "metric")}
    for law in back.laws:
        assert fl.verify.is_conserved(back.model, law, **flow_args)


def test_tampered_or_broken_files(tmp_path):
    res = fl.analyze(fl.models.mlp([2, 3, 2], activation="relu"))
    path = tmp_path / "c.json"
    res.save(str(path))
    cert = json.loads(path.read_text())
    cert["rank"]["value"] += 1
    path.write_text(json.dumps(cert))
    with pytest.raises(fl.errors.CertificateError) as err:
        fl.load(str(path))
    assert err.value.step == "rank"
    unchecked = fl.load(str(path), check=False)  # the file's claim, taken as it is
    assert unchecked.rank == res.rank + 1 and "certificate verified by the independent checker" not in unchecked.notes
    path.write_text("[1, 2]")
    with pytest.raises(fl.errors.CertificateError, match="not a certificate object"):
        fl.load(str(path))
    path.write_text("{not json")
    with pytest.raises(fl.errors.CertificateError, match="cannot read a JSON certificate"):
        fl.load(str(path))
    path.write_text(json.dumps({"schema": "flowlaws-certificate/1"}))
    with pytest.raises(fl.errors.CertificateError, match="cannot rebuild"):
        fl.load(str(path), check=False)
    with pytest.raises(fl.errors.CertificateError, match="cannot read"):
        fl.load(str(tmp_path / "missing.json"))
