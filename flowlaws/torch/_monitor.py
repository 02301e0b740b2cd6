"""A training monitor that accounts for every bit of a law's drift (issue 19).

:class:`LawMonitor` hooks into ``optimizer.step()`` (``register_step_pre_hook`` /
``register_step_post_hook``). Before each step it reads the law variables and their
gradients; after it, the new values. It then computes, per law and in float64:

* the **predicted** change: the exact Taylor expansion of ``h`` along the update ``Δ`` the
  optimizer applied (rebuilt from its gradients, learning rate, weight decay and state for
  SGD, momentum SGD, Adam and AdamW, see :mod:`flowlaws.torch._rules`), split into the
  first-order term ``⟨∇h, Δ⟩``, the second-order ``Δᵀ∇²hΔ/2`` and the rest; the first order is
  split again into the gradient's part (zero for a conservation law: ``⟨∇h, ∇L⟩ = 0``), the
  weight decay's, and the remainder (momentum, Adam's preconditioning);
* the **observed** change ``h(θ⁺) − h(θ)``.

Summed over the run, predicted and observed agree to float rounding; the drift itself is
``O(η²)`` per SGD step (second order only) and first order under momentum, Adam or weight
decay. Law values are also recorded every ``every`` steps.

Cheap: the laws are compiled once to index tensors (:class:`~flowlaws.torch._compiled.CompiledLaws`);
a step costs one gather of the law variables (one ``torch.cat`` over the few parameter tensors
the laws read) and a few vectorised ops, without a Python loop over entries or terms.

What it does not check: that the laws belong to the module (only names and shapes), nor that
something outside ``optimizer.step()`` leaves the parameters alone between steps (the
predicted/observed pair of a step covers that step only).
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InvalidArgument
from ..laws import Law
from ._compiled import CompiledLaws, as_float64
from ._rules import rule_for

__all__ = ["LawMonitor", "DriftSummary"]


def _check_shapes(variables: tuple[str, ...], shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Raise when the laws' model has a whole parameter of another shape than the module's.

    The variables ``name[i,j,...]`` of a parameter that form a full box of indices give the
    shape the laws were computed for (a parameter some of whose entries the model left out is
    not compared: its shape is not known).
    """
    from ..dynamics._monitor import _ENTRY

    seen: dict[str, list[tuple[int, ...]]] = {}
    for v in variables:
        m = _ENTRY.match(v)
        if m is not None and m["index"] and m["name"] in shapes:
            seen.setdefault(m["name"], []).append(tuple(int(i) for i in m["index"].split(",")))
    for name, indices in seen.items():
        extent = tuple(max(col) + 1 for col in zip(*indices))
        if len(set(indices)) == math.prod(extent) and extent != shapes[name]:
            raise InvalidArgument(f"the laws are for {name!r} of shape {extent}, the module's has shape "
                                  f"{shapes[name]}: build the laws from this module (flowlaws.models.from_torch)")

_UPDATES = ("auto", "rule", "observed")


@dataclass(frozen=True)
class DriftSummary:
    """Cumulative drift of every law over the monitored steps.

    Attributes
    ----------
    predicted, observed : ndarray, shape (k,)
        ``Σ_steps`` of the predicted and of the observed change of each law.
    first_order, second_order, higher : ndarray, shape (k,)
        The predicted change's orders, summed over the steps.
    gradient, weight_decay, rest : ndarray, shape (k,)
        The first order's parts: the plain gradient step's (zero up to rounding for a law),
        the weight decay's, and the remainder (momentum, preconditioning).
    relative_error : ndarray, shape (k,)
        ``|predicted − observed| / Σ_steps |observed step|`` (0 where nothing moved).
    steps : int
        Number of optimizer steps monitored.
    """

    predicted: np.ndarray
    observed: np.ndarray
    first_order: np.ndarray
    second_order: np.ndarray
    higher: np.ndarray
    gradient: np.ndarray
    weight_decay: np.ndarray
    rest: np.ndarray
    relative_error: np.ndarray
    steps: int

    @property
    def max_relative_error(self) -> float:
        """The largest relative error over the laws (``0.0`` with none)."""
        return float(self.relative_error.max(initial=0.0))

    def __str__(self) -> str:
        drift = float(np.abs(self.observed).max(initial=0.0))
        return (f"{len(self.observed)} laws over {self.steps} steps: max |observed drift| {drift:.3e}, "
                f"predicted vs observed max relative error {self.max_relative_error:.1e}")


class LawMonitor:
    """Record laws along a PyTorch training run and account for their drift, step by step.

    Parameters
    ----------
    model : torch.nn.Module
        The module whose parameters the laws read.
    laws : sequence of Law, or a result of ``flowlaws.analyze``
        Gradient-flow laws (not time dependent), e.g. of ``flowlaws.models.from_torch(model, ...)``:
        a law variable ``conv1.weight[2,0,1,1]`` is that entry of that parameter.
    optimizer : torch.optim.Optimizer, optional
        Hooked at once (see :meth:`attach`); every law parameter must be one it optimizes.
    every : int
        Record the law values every ``every`` steps (the drift is accounted at every step).
    mapping : mapping, optional
        ``{law variable: (parameter name, index)}`` for laws whose variables are not the
        module's names (as :class:`flowlaws.dynamics.TorchLawMonitor`).
    update : {"auto", "rule", "observed"}
        ``"rule"``: predict from the update the optimizer's rule gives (SGD, Adam, AdamW;
        other optimizers fall back to the parameter change); ``"observed"``: expand along the
        parameter change as applied. ``"auto"`` (default): the rule when every law parameter
        is float64, else the parameter change (in float32 the rebuilt update and the rounded
        one differ at first order, by far more than the second-order drift).

    Raises
    ------
    InvalidArgument
        A law variable that names no parameter entry, shapes that differ, time-dependent
        laws, ``every < 1``, an unknown ``update``, a law parameter the optimizer does not train.

    Examples
    --------
    >>> import torch, flowlaws as fl
    >>> from flowlaws.torch import LawMonitor
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)).double()
    >>> laws = fl.analyze(fl.models.from_torch(net)).laws
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.05)
    >>> x, y = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    >>> with LawMonitor(net, laws, opt, every=10) as mon:
    ...     for _ in range(50):
    ...         opt.zero_grad(); torch.nn.functional.mse_loss(net(x), y).backward(); opt.step()
    >>> s = mon.summary()
    >>> s.steps, s.max_relative_error < 1e-9, bool(abs(s.first_order).max() < 1e-12)
    (50, True, True)
    >>> mon.values.shape              # 3 laws recorded at steps 0, 10, ..., 50
    (6, 3)
    """

    def __init__(self, model: Any, laws: Any, optimizer: Any = None, *, every: int = 1,
                 mapping: Mapping[str, Any] | None = None, update: str = "auto") -> None:
        from ..dynamics._monitor import TorchLawMonitor

        laws = list(getattr(laws, "laws", laws))
        for h in laws:
            if not isinstance(h, Law):
                raise InvalidArgument(f"laws contains {h!r:.60} (type={type(h).__name__}): expected flowlaws.laws.Law "
                                      "(e.g. flowlaws.analyze(flowlaws.models.from_torch(model, x)).laws)")
            if h.time_rate:
                raise InvalidArgument(f"law {h!r} is time dependent (time_rate={h.time_rate}): the step identity is for "
                                      "gradient-flow laws h(θ) (the default flow of flowlaws.analyze)")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InvalidArgument(f"every={every!r}: expected an int >= 1 (record the laws every that many steps)")
        if update not in _UPDATES:
            raise InvalidArgument(f"update={update!r}: expected one of {_UPDATES}")
        resolved = TorchLawMonitor(model, laws, mapping=mapping)  # names and indices, checked there
        if mapping is None and laws:
            _check_shapes(laws[0].variables, {n: tuple(p.shape) for n, p in model.named_parameters()})
        self.model, self.laws, self.every, self.update = model, tuple(laws), every, update
        support = CompiledLaws.support_of(laws)
        entries = [resolved.entries[v] for v in support]
        params = dict(model.named_parameters())
        names = list(dict.fromkeys(name for name, _ in entries))
        self._params = [params[n] for n in names]
        self._param_names = names
        offsets, total = {}, 0
        for n in names:
            offsets[n] = total
            total += params[n].numel()
        flat = [offsets[name] + (int(np.ravel_multi_index(index, tuple(params[name].shape))) if index else 0)
                for name, index in entries]
        # the laws read the flattened law parameters directly: no gather of the law variables per step
        self._compiled = CompiledLaws(laws, positions=flat, size=total)
        self._numel = torch.tensor([params[n].numel() for n in names], dtype=torch.long)
        self.optimizer: Any = None
        self._handles: list[Any] = []
        self.reset()
        if optimizer is not None:
            self.attach(optimizer)

    # ------------------------------------------------------------------ reading the module
    def _gather(self, read: Any) -> torch.Tensor:
        """``read(p)`` for every parameter ``p`` the laws read, flattened and concatenated (None -> zeros), float64."""
        parts = []
        for p in self._params:  # the few parameter tensors the laws read, one cat
            t = read(p)
            parts.append(as_float64(t).reshape(-1) if t is not None else torch.zeros(p.numel(), dtype=torch.float64))
        return torch.cat(parts)

    def parameters(self) -> torch.Tensor:
        """The parameters the laws read, flattened in ``named_parameters()`` order and concatenated (float64)."""
        return self._gather(lambda p: p)

    def evaluate(self) -> np.ndarray:
        """The laws at the module's current parameters, shape ``(k,)``."""
        return self._compiled.values(self.parameters()).numpy()

    # ------------------------------------------------------------------ hooks
    def attach(self, optimizer: Any) -> LawMonitor:
        """Hook ``optimizer.step()`` and record the laws now (step 0); returns the monitor.

        Raises
        ------
        InvalidArgument
            Already attached, or a law parameter the optimizer does not train.
        """
        if self.optimizer is not None:
            raise InvalidArgument("the monitor is already attached to an optimizer; close() it first")
        group_of = {}
        for k, group in enumerate(optimizer.param_groups):
            for p in group["params"]:
                group_of[id(p)] = k
        missing = [n for n, p in zip(self._param_names, self._params) if id(p) not in group_of]
        if missing:
            raise InvalidArgument(f"the laws read parameter {missing[0]!r}, which the optimizer does not train: "
                                  "pass the optimizer of all the module's parameters (or laws of the trained ones)")
        self._group_of = torch.tensor([group_of[id(p)] for p in self._params], dtype=torch.long).repeat_interleave(
            self._numel)
        self.optimizer = optimizer
        rule = self.update == "rule" or (
            self.update == "auto" and all(p.dtype == torch.float64 for p in self._params))
        self._rule = rule_for(optimizer) if rule else None
        self._handles = [optimizer.register_step_pre_hook(self._pre), optimizer.register_step_post_hook(self._post)]
        if not self._record_steps:
            self._record(0)
        return self

    def close(self) -> None:
        """Remove the hooks (the records stay)."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self.optimizer = None

    def __enter__(self) -> LawMonitor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _pre(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        grads = self._gather(lambda p: p.grad) if self._rule is not None else None  # only the rules read them
        skipped = None  # torch's optimizers leave a parameter without .grad untouched (no decay, no momentum)
        if self._rule is not None and any(p.grad is None for p in self._params):
            has = torch.tensor([p.grad is not None for p in self._params], dtype=torch.float64)
            skipped = has.repeat_interleave(self._numel)
        self._before = (self.parameters(), grads, skipped)

    def _post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        x0, g, mask = self._before
        x1 = self.parameters()
        if self._rule is not None:
            parts = self._rule(optimizer, x0, g, self._gather, self._group_of)
            if mask is not None:
                parts = {k: (v * mask if v is not None else None) for k, v in parts.items()}
            delta = parts["update"]
        else:
            delta = x1 - x0
            parts = {"gradient": None, "weight_decay": None}
        others = [v for v in (parts["gradient"], parts["weight_decay"]) if v is not None]
        table = self._compiled.taylor(x0, delta, others, after=x1)
        deg = self._compiled.degree
        zero = torch.zeros(table.shape[0], dtype=table.dtype)
        firsts = iter(table[:, deg + 1 : deg + 1 + len(others)].t())
        grad_part = next(firsts) if parts["gradient"] is not None else zero
        decay_part = next(firsts) if parts["weight_decay"] is not None else zero
        pred = table[:, 1 : deg + 1]  # (k, degree): order 1, 2, ...
        h0, h1 = table[:, 0], table[:, -1]
        self._steps_done += 1
        self._rows.append(torch.stack([
            pred.sum(dim=1),                 # predicted
            h1 - h0,                         # observed
            pred[:, 0], pred[:, 1] if pred.shape[1] > 1 else torch.zeros_like(h0),
            pred[:, 2:].sum(dim=1),          # higher
            grad_part, decay_part,           # first order of the gradient's and the decay's parts
        ]))
        if self._steps_done % self.every == 0:
            self._record(self._steps_done, h1)

    def _record(self, step: int, values: torch.Tensor | None = None) -> None:
        self._record_steps.append(step)
        self._values.append(self._compiled.values(self.parameters()) if values is None else values)

    # ------------------------------------------------------------------ results
    def reset(self) -> None:
        """Forget every record (hooks stay)."""
        self._steps_done = 0
        self._rows: list[torch.Tensor] = []
        self._record_steps: list[int] = []
        self._values: list[torch.Tensor] = []

    def _table(self) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, 7, len(self.laws)))
        return torch.stack(self._rows).numpy()

    @property
    def record_steps(self) -> np.ndarray:
        """Steps at which law values were recorded, shape ``(R,)`` (0 is before the first step)."""
        return np.array(self._record_steps, dtype=np.int64)

    @property
    def values(self) -> np.ndarray:
        """Recorded law values, shape ``(R, k)``."""
        if not self._values:
            return np.zeros((0, len(self.laws)))
        return torch.stack(self._values).numpy()

    def per_step(self) -> dict[str, np.ndarray]:
        """Per-step arrays of shape ``(steps, k)``: ``predicted``, ``observed``, ``first_order``,
        ``second_order``, ``higher``, ``gradient``, ``weight_decay`` and ``rest`` (first order
        minus the gradient's and decay's parts)."""
        t = self._table()
        out = {key: t[:, i, :] for i, key in enumerate(
            ["predicted", "observed", "first_order", "second_order", "higher", "gradient", "weight_decay"])}
        out["rest"] = out["first_order"] - out["gradient"] - out["weight_decay"]
        return out

    def summary(self) -> DriftSummary:
        """The cumulative drift of every law since the monitor was attached (or reset)."""
        s = self.per_step()
        total = {k: v.sum(axis=0) for k, v in s.items()}
        scale = np.abs(s["observed"]).sum(axis=0)
        err = np.abs(total["predicted"] - total["observed"])
        rel = np.divide(err, scale, out=np.zeros_like(err), where=scale > 0)
        return DriftSummary(relative_error=rel, steps=self._steps_done, **total)

    def plot(self, path: str | None = None, *, title: str | None = None, max_laws: int = 6) -> Any:
        """Law values over steps and cumulative predicted vs observed drift (matplotlib; ``flowlaws[plots]``).

        Saves a PNG when ``path`` is given; returns the figure.
        """
        from ._plots import plot_monitor

        return plot_monitor(self, path, title=title, max_laws=max_laws)

    def __repr__(self) -> str:
        state = "attached" if self.optimizer is not None else "detached"
        return (f"LawMonitor({len(self.laws)} laws over {len(self._compiled.support)} entries of "
                f"{len(self._params)} parameters, {self._steps_done} steps, {state})")

