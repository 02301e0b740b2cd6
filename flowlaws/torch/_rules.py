"""The update an optimizer applies, rebuilt from its gradients, hyper-parameters and state.

For the monitor's step identity the update ``Δ`` of every law variable is computed in float64
from what the optimizer holds, not read from the parameter change:

* ``torch.optim.SGD``: ``d = g + wd·θ`` (``g`` negated under ``maximize``); with momentum ``μ``
  the buffer ``b`` after the step (``b = μ b_prev + (1 − dampening) d``, ``b = d`` at the
  first step) gives ``d = b``, or ``d + μ b`` with ``nesterov``; ``Δ = −lr·d``;
* ``torch.optim.Adam`` / ``AdamW``: from the state after the step (``step``, ``exp_avg``,
  ``exp_avg_sq`` or ``max_exp_avg_sq`` with ``amsgrad``),
  ``Δ = −lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)``, plus ``−lr·wd·θ`` for the decoupled
  decay of AdamW (Adam's coupled decay is inside ``m`` and ``v``).

Any other optimizer has no rule here: :func:`rule_for` returns None and the monitor uses the
parameter change. Each update is returned with its parts: the plain gradient step ``−lr·g``
and the decay ``−lr·wd·θ``, None without decay (the remainder is what momentum or
preconditioning add).

What it does not check: ``differentiable``, ``capturable`` or ``fused`` variants are read the
same way (their arithmetic is the same up to rounding).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["rule_for", "Gatherer"]

Gatherer = Callable[[Callable[[Any], Any]], torch.Tensor]


def _per_group(optimizer: Any, key: str, default: float, group_of: torch.Tensor) -> torch.Tensor:
    """A per-variable float64 vector of the hyper-parameter ``key`` (read now: schedules change lr)."""
    vals = torch.tensor([float(g.get(key, default)) for g in optimizer.param_groups], dtype=torch.float64)
    return vals[group_of]


def sgd_update(optimizer: Any, x: torch.Tensor, g: torch.Tensor, gather: Gatherer, group_of: torch.Tensor) -> dict:
    lr = _per_group(optimizer, "lr", 0.0, group_of)
    wd = _per_group(optimizer, "weight_decay", 0.0, group_of)
    mu = _per_group(optimizer, "momentum", 0.0, group_of)
    sign = 1.0 - 2.0 * _per_group(optimizer, "maximize", 0.0, group_of)
    nesterov = _per_group(optimizer, "nesterov", 0.0, group_of)
    d = sign * g + wd * x
    if bool((mu != 0).any()):
        buf = gather(lambda p: optimizer.state.get(p, {}).get("momentum_buffer"))
        d = torch.where(mu != 0, torch.where(nesterov != 0, d + mu * buf, buf), d)
    decay = -lr * wd * x if bool((wd != 0).any()) else None
    return {"update": -lr * d, "gradient": -lr * sign * g, "weight_decay": decay}


def adam_update(optimizer: Any, x: torch.Tensor, g: torch.Tensor, gather: Gatherer, group_of: torch.Tensor) -> dict:
    lr = _per_group(optimizer, "lr", 0.0, group_of)
    wd = _per_group(optimizer, "weight_decay", 0.0, group_of)
    eps = _per_group(optimizer, "eps", 1e-8, group_of)
    beta1 = torch.tensor([float(gr["betas"][0]) for gr in optimizer.param_groups], dtype=torch.float64)[group_of]
    beta2 = torch.tensor([float(gr["betas"][1]) for gr in optimizer.param_groups], dtype=torch.float64)[group_of]
    decoupled = _per_group(optimizer, "decoupled_weight_decay", 0.0, group_of)
    if isinstance(optimizer, torch.optim.AdamW):
        decoupled = torch.ones_like(decoupled)
    amsgrad = _per_group(optimizer, "amsgrad", 0.0, group_of)
    sign = 1.0 - 2.0 * _per_group(optimizer, "maximize", 0.0, group_of)
    step = gather(lambda p: _broadcast_step(optimizer.state.get(p, {}).get("step"), p))
    m = gather(lambda p: optimizer.state.get(p, {}).get("exp_avg"))
    v = gather(lambda p: optimizer.state.get(p, {}).get("exp_avg_sq"))
    if bool((amsgrad != 0).any()):
        vmax = gather(lambda p: optimizer.state.get(p, {}).get("max_exp_avg_sq"))
        v = torch.where(amsgrad != 0, vmax, v)
    bc1 = 1 - beta1**step
    bc2 = 1 - beta2**step
    adam = -(lr / bc1) * m / (v.sqrt() / bc2.sqrt() + eps)
    adam = torch.where(step > 0, adam, torch.zeros_like(adam))
    if not bool((wd * decoupled != 0).any()):
        return {"update": adam, "gradient": -lr * sign * g, "weight_decay": None}
    decay = -lr * wd * x * decoupled
    return {"update": adam + decay, "gradient": -lr * sign * g, "weight_decay": decay}


def _broadcast_step(step: Any, p: Any) -> Any:
    if step is None:
        return None
    value = float(step.item() if hasattr(step, "item") else step)
    return torch.full(p.shape, value, dtype=torch.float64)


def rule_for(optimizer: Any) -> Callable[..., dict] | None:
    """The update rule of ``optimizer`` (SGD, Adam, AdamW and subclasses), or None."""
    if isinstance(optimizer, torch.optim.SGD):
        return sgd_update
    if isinstance(optimizer, torch.optim.Adam):  # AdamW is a subclass
        return adam_update
    return None
