"""Regenerate the figures of docs/training-drift.md (PNG) and their numbers (JSON) in docs/images/.

Run:  python docs/scripts/training_drift.py   (about 100 s on 2 cores; nothing is typed in by hand)

A small conv net (Conv2d–ReLU–Conv2d–ReLU–flatten–Linear, 105 parameters) imported with
``flowlaws.models.from_torch``; its 5 certified laws (one per hidden channel) are monitored
with ``flowlaws.torch.LawMonitor`` over 1,000 float64 steps on synthetic data (MSE, minibatches
of 32 out of 256 random samples) with

* ``training_drift_sgd.png``: SGD, ``lr = 0.01``;
* ``training_drift_momentum.png``: SGD with ``momentum = 0.9``, ``lr = 0.01``;
* ``training_drift_adamw.png``: AdamW, ``lr = 1e-3``, ``weight_decay = 0.05``;

and ``training_drift.json``: per run the cumulative predicted and observed drift of every
law, their relative error, the first-order / second-order split and the first order's parts;
the ratio of the SGD drift (total variation ``Σ_t Σ_laws |h(θ_{t+1}) − h(θ_t)|``) at ``η`` and
``η/2`` for several ``η`` over the same 1,000 minibatches; and the monitor's cost per step, on this
net and on a 784-256-256-10 ReLU MLP (269,322 parameters, 512 laws) in float32 and float64.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from flowlaws._optional import require  # noqa: E402

torch = require("torch", extra="torch", what="docs/scripts/training_drift.py")
require("matplotlib", extra="plots", what="docs/scripts/training_drift.py")

import numpy as np  # noqa: E402

import flowlaws as fl  # noqa: E402
from flowlaws.torch import LawMonitor  # noqa: E402

IMAGES = ROOT / "docs" / "images"
nn = torch.nn


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(3, 2, 3, padding=1)
        self.fc = nn.Linear(18, 1)

    def forward(self, x: Any) -> Any:
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


def train(laws: Any, optimizer: str, lr: float, steps: int, *, monitor: bool = True, every: int = 10,
          **kw: Any) -> tuple[Any, float]:
    """``steps`` minibatch steps; the same data and minibatches for every run. Returns (monitor, seconds)."""
    torch.manual_seed(0)
    net = ConvNet().double()
    X = torch.randn(256, 1, 6, 6, dtype=torch.float64)
    Y = torch.randn(256, 1, dtype=torch.float64)
    opt = {"sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}[optimizer](net.parameters(), lr=lr, **kw)
    batches = torch.Generator().manual_seed(1)
    mon = LawMonitor(net, laws, opt, every=every) if monitor else None
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, 256, (32,), generator=batches)
        opt.zero_grad()
        nn.functional.mse_loss(net(X[idx]), Y[idx]).backward()
        opt.step()
    seconds = time.perf_counter() - start
    if mon is not None:
        mon.close()
    return mon, seconds


def summary_json(mon: Any) -> dict[str, Any]:
    s = mon.summary()
    per_law = np.abs(s.predicted - s.observed) / np.abs(s.observed)
    return {
        "steps": s.steps,
        "cumulative_observed": s.observed.tolist(),
        "cumulative_predicted": s.predicted.tolist(),
        "relative_error_per_law": per_law.tolist(),
        "max_relative_error": float(per_law.max()),
        "first_order": s.first_order.tolist(),
        "second_order": s.second_order.tolist(),
        "first_order_gradient_part": s.gradient.tolist(),
        "first_order_weight_decay_part": s.weight_decay.tolist(),
        "first_order_rest": s.rest.tolist(),
    }


def mlp_cost(steps: int = 50) -> dict[str, Any]:
    """Milliseconds per SGD step of a 784-256-256-10 ReLU MLP (batch 128), bare and monitored (its 512 laws)."""
    torch.manual_seed(0)
    out: dict[str, Any] = {"model": "nn.Sequential 784-256-256-10 ReLU MLP, batch 128, cross-entropy"}
    for dtype in (torch.float32, torch.float64):
        net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)).to(dtype)
        res = fl.analyze(fl.models.from_torch(net), max_dim=300_000)
        out["dim"], out["laws"] = res.dim, res.count
        X, Y = torch.randn(128, 784, dtype=dtype), torch.randint(0, 10, (128,))
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        start = time.perf_counter()
        mon = LawMonitor(net, res.laws, opt)
        build = time.perf_counter() - start
        mon.close()

        def loop() -> float:
            t = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad()
                nn.functional.cross_entropy(net(X), Y).backward()
                opt.step()
            return (time.perf_counter() - t) / steps * 1000

        bare = loop()
        mon.attach(opt)
        monitored = loop()
        mon.close()
        out[str(dtype).replace("torch.", "")] = {
            "ms_per_step_without_monitor": round(bare, 2), "ms_per_step_with_monitor": round(monitored, 2),
            "seconds_to_build_the_monitor": round(build, 1),
            "max_relative_error": float(mon.summary().max_relative_error)}
    return out


def main() -> None:
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest and the timings do not depend on other jobs
    IMAGES.mkdir(parents=True, exist_ok=True)
    res = fl.analyze(fl.models.from_torch(ConvNet(), (1, 1, 6, 6)))
    assert res.complete and res.count == 5, res
    fl.verify.check_certificate(res.certificate)
    laws = res.laws
    out: dict[str, Any] = {"model": "ConvNet Conv2d(1,3,3,s2,p1)-ReLU-Conv2d(3,2,3,p1)-ReLU-flatten-Linear(18,1)",
                           "dim": res.dim, "laws": [str(h) for h in laws], "runs": {}}
    runs = {
        "sgd": ("sgd", 0.01, {}, "SGD, lr = 0.01"),
        "momentum": ("sgd", 0.01, {"momentum": 0.9}, "SGD with momentum 0.9, lr = 0.01"),
        "adamw": ("adamw", 1e-3, {"weight_decay": 0.05}, "AdamW, lr = 1e-3, weight_decay = 0.05"),
    }
    for key, (opt, lr, kw, title) in runs.items():
        mon, seconds = train(laws, opt, lr, 1000, **kw)
        mon.plot(str(IMAGES / f"training_drift_{key}.png"), title=f"{title}: 5 laws of a conv net, 1,000 steps")
        out["runs"][key] = {"optimizer": title, **summary_json(mon), "seconds": round(seconds, 2)}
        print(key, mon.summary())
    ratios = []
    for lr in [4e-3, 1e-3, 1e-4, 2e-5]:
        a, _ = train(laws, "sgd", lr, 1000, every=1000)
        b, _ = train(laws, "sgd", lr / 2, 1000, every=1000)
        va, vb = (float(np.abs(m.per_step()["observed"]).sum()) for m in (a, b))
        ratios.append({"lr": lr, "steps_times_lr": 1000 * lr, "total_variation": va,
                       "total_variation_half_lr": vb, "ratio": va / vb})
        print(f"lr {lr:g}: drift ratio {va / vb:.3f}")
    out["eta_squared"] = ratios
    _, bare = train(laws, "sgd", 0.01, 1000, monitor=False)
    _, monitored = train(laws, "sgd", 0.01, 1000, every=1)
    out["cost"] = {"seconds_1000_steps_without_monitor": round(bare, 2),
                   "seconds_1000_steps_with_monitor_every_1": round(monitored, 2),
                   "overhead_ms_per_step": round((monitored - bare), 3), "threads": 1}
    out["cost"]["mlp"] = mlp_cost()
    print(out["cost"])
    (IMAGES / "training_drift.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
