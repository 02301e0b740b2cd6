"""Every ``flowlaws`` command through a real subprocess (``python -m flowlaws``).

Each subprocess costs about a second of imports, so cheap assertions are batched
per call; variants of one command that need no new process run ``cli.main``
in-process (``test_*_in_process``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flowlaws as fl
from flowlaws import cli

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))


def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowlaws", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout, encoding="utf-8")


def assert_user_error(p: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2, exactly one line on stderr naming the problem, no traceback."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    for frag in fragments:
        assert frag in lines[0], lines[0]


def write_graph(path: Path) -> None:
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from(["x0", "x1"], kind="input")
    G.add_node("h", kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("x0", "h", param="a")
    G.add_edge("x1", "h", param="b")
    G.add_edge("h", "y", param="c")
    G.add_edge("x0", "y", trainable=False)
    path.write_text(json.dumps(nx.node_link_data(G, edges="edges")))


MODULE = '''
import networkx as nx
import flowlaws as fl

net = fl.models.parse("relu+bias:2x3x1")

def make():
    return fl.models.factorization(2, 2, 2)

def graph():
    G = nx.DiGraph()
    G.add_node("x", kind="input"); G.add_node("h", kind="hidden", activation="linear"); G.add_node("y", kind="output")
    G.add_edge("x", "h", param="u"); G.add_edge("h", "y", param="v")
    return G

number = 3

def broken():
    raise RuntimeError("boom")
'''


# -- analyze -------------------------------------------------------------------------
def test_analyze_spec_text_and_json(tmp_path):
    p = run("analyze", "relu:3x4x3", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "relu:3x4x3 under gradient flow: 4 independent conservation law(s), certified exact"
    assert "per-neuron laws, hidden layer 1 (4): ‖W1[i,:]‖² − ‖W2[:,i]‖²,  i = 0..3" in p.stdout
    assert "--expand" in p.stdout

    p = run("analyze", "linear:2x3x2", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"count", "dim", "rank", "complete", "bounds", "laws", "notes", "timings", "model", "flow",
            "interrupted", "readable", "groups"} <= set(out)
    assert (out["count"], out["dim"], out["rank"], out["complete"]) == (6, 12, 6, True)
    assert out["bounds"] == [6, 6] and out["interrupted"] is False
    assert out["laws"][0] == "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2 - W2[1,0]^2"
    assert "(W1 W1ᵀ − W2ᵀ W2)[0,1]" in out["readable"]  # readable[k] is laws[k], in the engine's order
    assert out["groups"] == [{"kind": "layer-matrix", "layer": 1, "laws": [0, 1, 2, 3, 4, 5]}]


def test_analyze_latex_expand_and_certificate_then_check(tmp_path):
    p = run("analyze", "relu+bias:2x3x2", "--latex", "--certificate", "cert.json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert r"\begin{align*}" in p.stdout and r"\end{align*}" in p.stdout
    assert r"\lVert W_{1}[i,:]\rVert^2 + b_{1}[i]^2 - \lVert W_{2}[:,i]\rVert^2" in p.stdout
    assert "certificate written to cert.json" in p.stdout
    cert = json.loads((tmp_path / "cert.json").read_text())
    assert cert["schema"] == "flowlaws-certificate/1" and cert["library"]["version"] == fl.__version__
    assert cert["meta"]["model_name"] == "relu+bias:2x3x2" and cert["meta"]["interrupted"] is False
    assert set(cert["timings"]) >= {"laws", "rank"} and cert["flow"] == {"name": "gradient"}

    # tampered and broken copies next to the good one
    bad = dict(cert, rank=dict(cert["rank"], value=cert["rank"]["value"] + 1))
    (tmp_path / "tampered.json").write_text(json.dumps(bad))
    (tmp_path / "notjson.json").write_text("{ this is not json")
    p = run("check", "cert.json", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.startswith("cert.json: certificate verified: exactly 3 laws"), p
    p = run("check", "cert.json", "tampered.json", "missing.json", "notjson.json", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stdout.count("\n") == 1 and "cert.json: certificate verified" in p.stdout
    err = p.stderr.strip().splitlines()
    assert len(err) == 3, p.stderr
    assert err[0].startswith("tampered.json: NOT PROVED [rank]")
    assert err[1].startswith("missing.json: NOT PROVED") and "No such file" in err[1]
    assert err[2].startswith("notjson.json: NOT PROVED") and "JSON" in err[2]

    p = run("analyze", "linear:2x2x2", "--expand", "--flow", "gradient", "--max-degree", "2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "  W1[0,0]*W1[1,0] + W1[0,1]*W1[1,1] - W2[0,0]*W2[0,1] - W2[1,0]*W2[1,1]" in p.stdout
    assert "‖" not in p.stdout


def test_analyze_graph_file_and_module_attr(tmp_path):
    write_graph(tmp_path / "net.json")
    (tmp_path / "mymodels.py").write_text(MODULE)
    p = run("analyze", "net.json", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["count"] == 1 and out["complete"] and out["laws"] == ["a^2 + b^2 - c^2"]
    assert out["model"] == "net.json"
    p = run("analyze", "mymodels:net", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "‖W1[i,:]‖² + b1[i]² − ‖W2[:,i]‖²,  i = 0..2" in p.stdout


def test_analyze_sources_in_process(tmp_path, monkeypatch, capsys):
    """module:attr variants (factory function, DiGraph, torch module) without new processes."""
    (tmp_path / "mymodels_inproc.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli.main(["analyze", "mymodels_inproc:make", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3 and out["readable"][0] == "(Vᵀ V − Uᵀ U)[0,0]"
    assert cli.main(["analyze", "mymodels_inproc:graph", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["laws"] == ["u^2 - v^2"]
    assert cli.main(["analyze", "mymodels_inproc:number"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mymodels_inproc:number is a int" in err
    assert cli.main(["analyze", "mymodels_inproc:broken"]) == 2
    assert "calling broken() failed: RuntimeError: boom" in capsys.readouterr().err
    assert cli.main(["analyze", "mymodels_inproc:nothing"]) == 2
    assert "has no attribute 'nothing'" in capsys.readouterr().err
    (tmp_path / "list.json").write_text("[1, 2]")
    assert cli.main(["analyze", "list.json"]) == 2
    assert "not a networkx node-link graph" in capsys.readouterr().err
    torch = pytest.importorskip("torch")
    (tmp_path / "tnet.py").write_text(
        "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))\n"
    )
    assert torch is not None
    assert cli.main(["analyze", "tnet:net", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3 and out["readable"][0] == "‖0.weight[0,:]‖² + 0.bias[0]² − ‖2.weight[:,0]‖²"


def test_analyze_metric_matrix_file_in_process(tmp_path, monkeypatch, capsys):
    """--metric FILE.json: a dense or sparse matrix of rationals; the law is the one the metric
    predicts (∫ θ_i / m_i(θ_i) dθ_i per coordinate, times 4) and the certificate checks."""
    monkeypatch.chdir(tmp_path)
    dense = [["1", 0, 0, 0], [0, "1/(1 + W1[0,1]^2)", 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]
    (tmp_path / "m.json").write_text(json.dumps(dense))
    assert cli.main(["analyze", "linear:2x1x2", "--metric", "m.json", "--json", "--certificate", "c.json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["complete"] and out["count"] == 1
    assert out["laws"] == ["2*W1[0,0]^2 + W1[0,1]^4 + 2*W1[0,1]^2 - W2[0,0]^2 - 2*W2[1,0]^2"]
    assert out["flow"]["metric"]["kind"] == "matrix"
    assert cli.main(["check", "c.json"]) == 0
    capsys.readouterr()
    (tmp_path / "s.json").write_text(json.dumps({"0,0": 1, "1,1": 1, "2,2": 2, "3,3": 1}))
    assert cli.main(["analyze", "linear:2x1x2", "--metric", "s.json", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["laws"] == ["2*W1[0,0]^2 + 2*W1[0,1]^2 - W2[0,0]^2 - 2*W2[1,0]^2"]
    for name, text, fragment in [
        ("f.json", "[[1.5]]", "1×1 matrix"),
        ("bad.json", "{", "not valid JSON"),
        ("k.json", '{"0-0": 1}', "is not 'i,j'"),
        ("n.json", '"nmf"', "expected a list of rows"),
    ]:
        (tmp_path / name).write_text(text)
        assert cli.main(["analyze", "linear:2x1x2", "--metric", name]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and fragment in err, err
    assert cli.main(["analyze", "linear:2x1x2", "--metric", "missing.json"]) == 2
    assert "no such file" in capsys.readouterr().err


# -- the other commands ---------------------------------------------------------------
def test_compare_show_demo(tmp_path):
    p = run("compare", "relu:2x2x1", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = p.stdout.splitlines()
    assert rows[0].startswith("relu:2x2x1: conservation laws under each flow")
    assert rows[2].split()[:4] == ["gradient", "6", "2", "4"] and any(r.startswith("momentum tau=1") for r in rows)
    p = run("show", "relu:2x2x1", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "relu:2x2x1: D = 6 parameters" in p.stdout and "W1[0,0]*W2[0,0]" in p.stdout
    p = run("demo", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "count = 4" in p.stdout and "certificate verified" in p.stdout
    assert "‖W1[i,:]‖² − ‖W2[:,i]‖²" in p.stdout


def test_bias_lab_small(tmp_path):
    p = run("bias-lab", "--out", "lab", "--steps", "5", "--n", "8", "--d", "20", "--width", "4",
            "--init-scale", "0.001", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "plots and figures.json written to lab" in p.stdout
    figures = json.loads((tmp_path / "lab" / "figures.json").read_text())
    assert "stable_rank" in figures and (tmp_path / "lab" / "stable_rank.png").exists()


def test_sweep_tiny(tmp_path):
    p = run("sweep", "relu:2x{2..3}x1", "--workers", "1", "--out", "rows.csv", "--no-plot", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "rows.csv").read_text().splitlines()
    assert text[0].startswith("spec,flow,dim,count,rank,certified,seconds") and len(text) == 3


# -- errors --------------------------------------------------------------------------
def test_user_errors_are_one_line_exit_2(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    cases = [
        (("analyze", "bogus:3x3"), ("unknown kind 'bogus'",)),
        (("analyze", "relu:3xx3"), ("must look like 3x4x3",)),
        (("analyze", "relu:2x2x1", "--flow", "sideways"), ("flow='sideways'",)),
        (("analyze", "relu:2x2x1", "--flow", "momentum", "--tau", "fast"), ("tau",)),
        (("analyze", "missing.json"), ("missing.json: no such file",)),
        (("analyze", "broken.json"), ("broken.json: not valid JSON",)),
        (("analyze", "no_such_module_xyz:model"), ("no module named 'no_such_module_xyz'",)),
        (("analyze", "relu:2x2x1", "--json", "--latex"), ("not allowed with",)),
        (("analyze",), ("required",)),
        (("frobnicate",), ("invalid choice",)),
        (("show", "bogus:1"), ("unknown kind",)),
        (("compare", "nope.json"), ("no such file",)),
        (("check", "missing.json"), ("missing.json: NOT PROVED",)),
    ]
    procs = [
        (subprocess.Popen([sys.executable, "-m", "flowlaws", *args], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, encoding="utf-8"), args, frags)
        for args, frags in cases
    ]
    for proc, args, frags in procs:
        out, err = proc.communicate(timeout=120)
        assert_user_error(subprocess.CompletedProcess(args, proc.returncode, out, err), *frags)


def test_debug_shows_the_traceback(tmp_path):
    p = run("analyze", "bogus:3x3", "--debug", cwd=tmp_path)
    assert p.returncode != 0 and "Traceback" in p.stderr and "InvalidArgument" in p.stderr


# -- Ctrl-C --------------------------------------------------------------------------
SLOW_RANK = """
import sys, time
import flowlaws.engine.degree_search as A
import flowlaws.engine.structural as S
from flowlaws import cli

def slow_rank(*args, **kwargs):
    print("READY", file=sys.stderr, flush=True)
    time.sleep(120)

A.lie_rank = slow_rank
S.lie_rank = slow_rank
sys.exit(cli.main(sys.argv[1:]))
"""


def _interrupt(args: list[str], cwd: Path, *, wait_ready: bool, delay: float) -> tuple[int, str, str]:
    proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline() if wait_ready else ""
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, first + err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_prints_a_labelled_partial_result(tmp_path):
    """The laws are found, the bracket search is interrupted: a partial result with proved bounds."""
    (tmp_path / "slowrank.py").write_text(SLOW_RANK)
    rc, out, err = _interrupt([sys.executable, "slowrank.py", "analyze", "relu:3x4x3", "--certificate", "part.json"],
                              tmp_path, wait_ready=True, delay=0.2)
    assert rc == 130, (out, err)
    assert out.splitlines()[0] == ("INTERRUPTED — partial result, not certified: between 4 and 24 laws; "
                                   "the count is NOT determined")
    assert "note: interrupted" in out and "Traceback" not in err
    cert = json.loads((tmp_path / "part.json").read_text())
    assert cert["meta"]["interrupted"] is True and cert["bounds"] == {"lower": 4, "upper": 24}
    report = fl.verify.check_certificate(cert)  # the partial certificate proves what it states
    assert report["proved"]["lower_bound"] == 4 and report["proved"]["upper_bound"] == 24


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_on_a_long_real_analysis(tmp_path):
    code = ("import sys; import flowlaws.cli as c; print('READY', file=sys.stderr, flush=True); "
            "sys.exit(c.main(sys.argv[1:]))")
    rc, out, err = _interrupt([sys.executable, "-c", code, "analyze", "relu:30x40x40x30", "--json",
                               "--rank-proof", "dense"], tmp_path,
                              wait_ready=True, delay=1.0)
    assert "Traceback" not in err
    if rc == 0:  # pragma: no cover - a very fast machine finished first
        assert json.loads(out)["complete"]
        return
    assert rc == 130, (out, err)
    if out.strip():
        res = json.loads(out)
        assert res["interrupted"] is True and res["complete"] is False
        assert res["bounds"][1] == res["dim"] - res["rank"]
    else:
        assert "interrupted" in err


def test_analyze_on_interrupt_partial_in_process(monkeypatch):
    import flowlaws.engine.degree_search as A
    import flowlaws.engine.structural as S

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(A, "lie_rank", interrupted)
    monkeypatch.setattr(S, "lie_rank", interrupted)
    model = fl.models.parse("relu:3x4x3")
    with pytest.raises(KeyboardInterrupt):
        fl.analyze(model)
    res = fl.analyze(model, on_interrupt="partial")
    assert res.interrupted and not res.complete and res.bounds == (4, 24) and res.rank == 0
    assert res.to_json()["interrupted"] is True and any(n.startswith("interrupted") for n in res.notes)
    assert fl.verify.check_certificate(res.certificate)["proved"]["lower_bound"] == 4
    with pytest.raises(fl.errors.InvalidArgument, match="on_interrupt='ignore'"):
        fl.analyze(model, on_interrupt="ignore")


def test_save_load_round_trip(tmp_path):
    res = fl.analyze(fl.models.parse("factorization:2x2x2"))
    res.save(str(tmp_path / "f.json"))
    back = fl.load(str(tmp_path / "f.json"))
    cert = back.certificate
    assert cert == json.loads(json.dumps(res.certificate)) and back.count == res.count == 3
    assert {"schema", "library", "model", "flow", "timings", "meta"} <= set(cert)
    assert fl.verify.check_certificate(cert)["proved"] == {"upper_bound": 3, "lower_bound": 3, "exact": True}
    cert["meta"] = ["not", "an", "object"]
    with pytest.raises(fl.errors.CertificateError, match="meta"):
        fl.verify.check_certificate(cert)
