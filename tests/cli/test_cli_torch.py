"""flowlaws analyze/show/compare module:attr --example-input-shape on a user's torch module file (issue 17)."""

import json
import subprocess
import sys

import pytest

from flowlaws import cli

pytest.importorskip("torch")

USER_FILE = '''
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c1=3):
        super().__init__()
        self.conv1 = nn.Conv1d(2, c1, 3, stride=2, padding=1, bias=False)
        self.conv2 = nn.Conv1d(c1, 1, 2, bias=False)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x)))


def make_model():
    return Block(c1=2)


instance = Block()
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    name = f"torch_user_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_factory_and_instance_with_example_shape(user_module, capsys):
    assert cli.main(["analyze", f"{user_module}:make_model", "--example-input-shape", "1x2x8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 2 and out["complete"]  # one law per hidden channel
    assert out["laws"][0].startswith("conv1.weight[0,0,0]^2")
    assert cli.main(["analyze", f"{user_module}:instance", "--example-input-shape", "1x2x8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 3
    assert cli.main(["analyze", f"{user_module}:Block", "--example-input-shape", "1x2x8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 3  # an nn.Module class is built with no arguments
    assert cli.main(["show", f"{user_module}:instance", "--example-input-shape", "1x2x4"]) == 0
    assert "conv1.weight[0,0,0]" in capsys.readouterr().out


@pytest.mark.parametrize("argv, fragment", [
    (["analyze", "{m}:instance"], "give example_input"),
    (["analyze", "{m}:instance", "--example-input-shape", "1x2xeight"], "expected 2 to 8 positive sizes"),
    (["analyze", "{m}:instance", "--example-input-shape", "1x3x8"], "expects 2 input channels"),
    (["analyze", "relu:2x2x1", "--example-input-shape", "1x2"], "is for a torch module given as module:attr"),
])
def test_errors_are_one_line(user_module, capsys, argv, fragment):
    assert cli.main([a.format(m=user_module) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err


def test_subprocess_from_the_user_directory(user_module, tmp_path):
    p = subprocess.run([sys.executable, "-m", "flowlaws", "analyze", f"{user_module}:make_model",
                        "--example-input-shape", "1x2x8", "--json"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["count"] == 2
