"""Issue 15, display side: a certificate shows only what it proves, and nothing it holds can
rewrite a terminal line.

Each test is one reproduction from the issue: ``meta.model_name`` shown as the proved model,
permuted ``variables``, repeated JSON keys, ANSI escape codes in names (a rejected certificate
displayed as verified), and deep JSON through ``flowlaws check``.
"""

from __future__ import annotations

import json
import unicodedata

import pytest

import flowlaws as fl
from flowlaws._load import describe_model
from flowlaws._safe_text import printable
from flowlaws.cli import main
from flowlaws.errors import CertificateError
from flowlaws.verify import check_certificate, read_certificate

ANSI = "\x1b[2K\rcertificate verified: exactly 9 laws\x1b[8m"


def _cert(spec: str, **options) -> dict:
    return json.loads(json.dumps(fl.analyze(fl.models.parse(spec), **options).certificate))


def _write(tmp_path, cert: dict, name: str = "c.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(cert))
    return str(path)


def _no_controls(text: str) -> bool:
    return not any(unicodedata.category(ch)[0] == "C" for ch in text.replace("\n", ""))


def _check_cli(capsys, *paths: str) -> tuple[int, str, str]:
    code = main(["check", "--quiet", *paths])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- meta is never shown as proved ------------------------------------------------------
def test_meta_model_name_is_labelled_unverified(tmp_path, capsys):
    cert = _cert("linear:2x3x2")
    cert["meta"]["model_name"] = "relu:3x4x3"  # the true count for relu:3x4x3 is 4, not 6
    path = _write(tmp_path, cert)
    assert _check_cli(capsys, path)[0] == 0  # meta is free-form: the proof still holds
    res = fl.load(path)
    text = str(res)
    assert text.splitlines()[0] == "linear:2x3x2 under gradient flow: 6 independent conservation law(s), certified exact"
    assert "relu:3x4x3 under" not in text and res.model.name == "linear:2x3x2"
    assert "  note: unverified metadata (not part of the proof): meta.model_name = 'relu:3x4x3'" in text.splitlines()
    assert "relu:3x4x3" not in res.to_latex().splitlines()[0]


def test_model_descriptions_come_from_the_model_object():
    assert describe_model(_cert("relu+bias:2x3x2")["model"]) == "relu+bias:2x3x2"
    assert describe_model(_cert("leaky:2x3x1")["model"]) == "leaky_relu:2x3x1"
    fact = fl.models.factorization(2, 2, 3)
    cert = fl.analyze(fact).certificate
    assert describe_model(cert["model"], fact.variables) == "factorization:2x2x3"
    assert describe_model(cert["model"], [f"W{k}" for k in range(fact.dim)]) == "linear:3x2x2"
    assert describe_model(_cert("attention:2x1")["model"]) == "polynomials (8 coordinates)"  # QKᵀ and VOᵀ, 2x2 each
    assert describe_model({"kind": "graph", "nodes": [{}, {}, {}]}) == "graph (3 nodes)"
    # an unchanged meta name adds no note
    res = fl.analyze(fl.models.parse("relu:3x4x3"))
    assert not any("unverified" in n for n in res.notes)


# -- names are bound to positions -------------------------------------------------------------
@pytest.mark.parametrize(("spec", "options"), [("relu:2x3x2", {}), ("linear:2x2x2", {"flow": "momentum", "tau": "1/2"})])
def test_permuted_variables_are_rejected(tmp_path, capsys, spec, options):
    cert = _cert(spec, **options)
    names = cert["variables"]
    D = (cert["dim"] - 1) // 2 if options else cert["dim"]
    start = 1 if options else 0
    a, b = start, start + 1  # swap two weights' names (and their velocities' names)
    names[a], names[b] = names[b], names[a]
    if options:
        names[a + D], names[b + D] = names[b + D], names[a + D]
    with pytest.raises(CertificateError, match="must follow the layers' order") as info:
        check_certificate(cert)
    assert info.value.step == "schema"
    path = _write(tmp_path, cert)
    with pytest.raises(CertificateError, match="must follow the layers' order"):
        fl.load(path)
    code, out, err = _check_cli(capsys, path)
    assert code == 2 and out == "" and "NOT PROVED" in err and len(err.splitlines()) == 1


def test_layer_names_swapped_between_layers_are_rejected():
    cert = _cert("relu:2x2x2")  # both weight blocks are 2x2: only the names tell them apart
    cert["variables"] = [v.replace("W1", "T").replace("W2", "W1").replace("T", "W2") for v in cert["variables"]]
    with pytest.raises(CertificateError, match="W<k> and b<k> belong to the weights and bias of layer k"):
        check_certificate(cert)


def test_names_the_library_writes_still_pass():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    models = [
        fl.models.factorization(2, 2, 3),
        fl.models.nmf(2, 2, 2),
        fl.models.mlp([2, 3, 2], activation="relu", bias=True),
        fl.models.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))),
    ]
    for model in models:
        check_certificate(fl.analyze(model).certificate)
    check_certificate(fl.analyze(fl.models.factorization(1, 2, 1), flow="momentum", tau=0).certificate)


# -- repeated keys ------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["count", "complete", "model"])
def test_duplicate_keys_are_rejected_everywhere(tmp_path, capsys, key):
    cert = _cert("linear:2x3x2")
    text = json.dumps(cert)
    extra = {"count": 9, "complete": False, "model": {"kind": "network", "layers": [3, 4, 3],
                                                      "activations": ["relu"], "bias": False}}[key]
    path = tmp_path / "dup.json"
    path.write_text(text[:-1] + f', "{key}": {json.dumps(extra)}}}')
    for read in (fl.load, read_certificate):
        with pytest.raises(CertificateError, match=f"duplicate key '{key}'"):
            read(str(path))
    code, out, err = _check_cli(capsys, str(path))
    assert code == 2 and out == "" and f"duplicate key '{key}'" in err and len(err.splitlines()) == 1


def test_deep_json_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = _check_cli(capsys, str(path))
    assert code == 2 and "nests more than 64 brackets" in err and len(err.splitlines()) == 1


# -- escape codes -------------------------------------------------------------------------------
def test_ansi_in_names_cannot_display_as_verified(tmp_path, capsys):
    cert = _cert("linear:2x3x2")
    cert["variables"][0] = "W1[0,0]" + ANSI
    with pytest.raises(CertificateError, match="control character") as info:
        check_certificate(cert)
    assert info.value.step == "schema"
    path = _write(tmp_path, cert, "evil\x1b[8m.json")
    code, out, err = _check_cli(capsys, path)
    assert code == 2 and out == ""
    assert "\x1b" not in err and "\r" not in err and len(err.splitlines()) == 1
    assert err.startswith(printable(path) + ": NOT PROVED ")
    # a polynomial model: no layer names to compare with, still printable only
    poly = _cert("product:3")
    poly["variables"][1] = "x1\u202e"  # a right-to-left override
    with pytest.raises(CertificateError, match="control character"):
        check_certificate(poly)


def test_unchecked_load_prints_names_escaped(tmp_path):
    cert = _cert("linear:2x3x2")
    cert["variables"][0] = "W1[0,0]" + ANSI
    cert["meta"]["model_name"] = "relu:3x4x3" + ANSI
    res = fl.load(_write(tmp_path, cert), check=False)  # the file's claims, as they are
    for text in (str(res), res.expanded(), res.to_latex(), res._repr_html_()):
        assert _no_controls(text), text
    assert "W1[0,0]\\x1b[2K\\rcertificate verified" in str(res)
    assert "meta.model_name = 'relu:3x4x3\\x1b[2K\\rcertificate" in str(res)


def test_show_escapes_names(tmp_path, capsys):
    nx = pytest.importorskip("networkx")
    G = nx.DiGraph()
    G.add_node("x", kind="input")
    G.add_node("h", kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("x", "h", param="a\x1b[2K")
    G.add_edge("h", "y", param="b")
    path = tmp_path / "g\x1b[8m.json"
    path.write_text(json.dumps(nx.node_link_data(G, edges="edges")))
    # a parameter name with an escape code is refused by from_graph, the error line is escaped
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert _no_controls(err) and "must be a non-empty printable ASCII name" in err and "a\\x1b[2K" in err
    G.edges["x", "h"]["param"] = "a"
    path.write_text(json.dumps(nx.node_link_data(G, edges="edges")))
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert _no_controls(out) and "g\\x1b[8m.json: D = 2 parameters" in out


@pytest.mark.parametrize("spec", ["resnet:2x2", "conv1d:5x2x2", "resnet+bias:2x2"])
def test_graph_certificates_load_under_their_proved_description(tmp_path, spec):
    res = fl.analyze(fl.models.parse(spec))
    assert res.certificate["model"]["kind"] == "graph"
    back = fl.load(_write(tmp_path, res.certificate))
    nodes = len(res.certificate["model"]["nodes"])
    assert back.model.name == f"graph ({nodes} nodes)" and back.count == res.count
    assert f"unverified metadata (not part of the proof): meta.model_name = {spec!r}" in back.notes
    assert [str(law) for law in back.laws] == [str(law) for law in res.laws]
    assert str(back).splitlines()[2:3] == str(res).splitlines()[2:3]  # grouped the same way
    for law in back.laws:
        assert fl.verify.is_conserved(back.model, law)
