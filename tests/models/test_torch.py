"""PyTorch import (optional extra): names follow named_parameters()."""

import pytest

import flowlaws as fl
from flowlaws.errors import UnsupportedArchitecture

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.mark.parametrize("bias", [False, True])
def test_relu_sequential_round_trip(bias):
    module = nn.Sequential(nn.Linear(3, 4, bias=bias), nn.ReLU(), nn.Linear(4, 2, bias=bias))
    model = fl.models.from_torch(module)
    names = []
    for name, p in module.named_parameters():
        if p.dim() == 2:
            names += [f"{name}[{i},{j}]" for i in range(p.shape[0]) for j in range(p.shape[1])]
        else:
            names += [f"{name}[{i}]" for i in range(p.shape[0])]
    assert model.variables == tuple(names)
    res = fl.analyze(model)
    assert res.count == 4 and res.complete
    assert str(res.laws[0]).startswith("0.weight[0,0]^2")
    assert fl.analyze(fl.models.mlp([3, 4, 2], activation="relu", bias=bias)).count == res.count


def test_linear_sequential_round_trip():
    module = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Identity(), nn.Linear(3, 2, bias=False))
    res = fl.analyze(fl.models.from_torch(module))
    assert res.count == 6 and res.complete  # r = 3 <= N = 4: r(r+1)/2


def test_leaky_relu_and_error_names_the_layer():
    ok = nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.1), nn.Linear(2, 1))
    assert fl.analyze(fl.models.from_torch(ok)).count == 2
    bad = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    with pytest.raises(UnsupportedArchitecture, match="'1' \\(Tanh\\)"):
        fl.models.from_torch(bad)
