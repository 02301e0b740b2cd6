"""Monitor exact conservation laws along simulated or real training (float64).

A :class:`LawMonitor` precompiles the integer polynomials of a list of
:class:`~flowlaws.laws.Law` into index / exponent arrays and evaluates them,
vectorised, on any parameter vector (or a stack of them). It keeps a log of
the values per step and reports the drift ``max_t |h(theta_t) - h(theta_0)|``.

Vectors are read in the laws' own coordinate order: for a layered network that
is the certificate order ``W1, b1, W2, b2, ...`` (PyTorch's
``named_parameters()`` order for ``nn.Sequential`` of ``nn.Linear``). For
momentum laws on the phase space ``(s, theta, v)``, build the vector with
:func:`phase_space`. Laws with a ``time_rate`` ``r`` are multiplied by
``exp(r t)``, so ``t`` must be given.

Floats only: this module does not prove anything; exact checks live in
:mod:`flowlaws.verify`. It does not check that the laws belong to the model
whose parameters it is given, only that the sizes agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument
from flowlaws.laws import Law

__all__ = ["LawMonitor", "TorchLawMonitor", "DriftReport", "phase_space", "flatten_torch_parameters"]

_CHUNK = 4_000_000  # floats per evaluation block


def phase_space(params: Any, velocities: Any, times: Any, *, tau: float) -> np.ndarray:
    """Phase-space points ``(s, theta, v)`` with ``s = exp(tau t)`` (``s = t`` when ``tau = 0``).

    This is the coordinate order of momentum-flow laws (DESIGN section 3).

    Examples
    --------
    >>> phase_space([[1.0, 2.0]], [[3.0, 4.0]], [0.0], tau=1.0).tolist()
    [[1.0, 1.0, 2.0, 3.0, 4.0]]
    """
    p = np.atleast_2d(np.asarray(params, dtype=np.float64))
    v = np.atleast_2d(np.asarray(velocities, dtype=np.float64))
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if p.shape != v.shape or t.shape != (p.shape[0],):
        raise InvalidArgument(
            f"params {p.shape}, velocities {v.shape} and times {t.shape} do not match"
        )
    s = np.exp(float(tau) * t) if tau else t
    return np.concatenate([s[:, None], p, v], axis=1)


@dataclass(frozen=True)
class DriftReport:
    """How far the monitored laws moved from their first recorded value.

    Attributes
    ----------
    max_abs : ndarray, shape (k,)
        ``max_t |h(theta_t) - h(theta_0)|`` per law.
    relative : ndarray, shape (k,)
        ``max_abs`` divided by the law's scale at ``theta_0``: the sum of the
        absolute values of its terms there (never smaller than ``|h(theta_0)|``,
        and non-zero unless every term vanishes, in which case it is 1).
    per_step : ndarray, shape (T,)
        ``max_laws |h(theta_t) - h(theta_0)|`` at each record.
    steps : ndarray, shape (T,)
        The record labels.
    laws : tuple of str
        The laws, printed.
    """

    max_abs: np.ndarray
    relative: np.ndarray
    per_step: np.ndarray
    steps: np.ndarray
    laws: tuple[str, ...]

    @property
    def max_drift(self) -> float:
        """Largest absolute drift over all laws (``0.0`` with no laws)."""
        return float(self.max_abs.max(initial=0.0))

    @property
    def max_relative_drift(self) -> float:
        """Largest relative drift over all laws."""
        return float(self.relative.max(initial=0.0))

    @property
    def worst(self) -> int:
        """Index of the law with the largest relative drift."""
        return int(np.argmax(self.relative)) if self.relative.size else -1

    def __str__(self) -> str:
        if not self.laws:
            return "no laws monitored"
        w = self.worst
        return (
            f"{len(self.laws)} laws over {len(self.steps)} records: max drift "
            f"{self.max_drift:.3e}, max relative drift {self.max_relative_drift:.3e} "
            f"(worst: {self.laws[w]})"
        )


class LawMonitor:
    """Evaluate exact laws on float parameter vectors and log their drift.

    Parameters
    ----------
    laws : sequence of Law
        Laws of one model (same ``variables``).

    Raises
    ------
    InvalidArgument
        Empty input of the wrong type, laws over different variables, or a
        vector of the wrong size.

    Examples
    --------
    >>> u_v = Law(((1, ((0, 2),)), (-1, ((1, 2),))), ("u", "v"))   # u^2 - v^2
    >>> mon = LawMonitor([u_v])
    >>> mon.evaluate([3.0, 2.0]).tolist()
    [5.0]
    >>> _ = mon.record([3.0, 2.0]); _ = mon.record([3.0, 2.1])
    >>> round(mon.drift().max_drift, 6)
    0.41
    """

    def __init__(self, laws: Sequence[Law]) -> None:
        laws = list(laws)
        for h in laws:
            if not isinstance(h, Law):
                raise InvalidArgument(
                    f"laws contains {h!r} (type={type(h).__name__}): expected flowlaws.laws.Law"
                )
        self.laws: tuple[Law, ...] = tuple(laws)
        names = {h.variables for h in laws}
        if len(names) > 1:
            raise InvalidArgument(
                "laws are over different variables; monitor the laws of one model at a time"
            )
        self.variables: tuple[str, ...] = laws[0].variables if laws else ()
        self.size = len(self.variables)
        self._compile()
        self.reset()

    # ---------------------------------------------------------------- compile
    def _compile(self) -> None:
        coefs: list[float] = []
        owner: list[int] = []
        monos: list[tuple[tuple[int, int], ...]] = []
        for k, h in enumerate(self.laws):
            for c, mono in h.terms:
                for v, e in mono:
                    if not 0 <= v < self.size or e < 0:
                        raise InvalidArgument(
                            f"laws[{k}] has a term with variable index {v} or exponent {e} "
                            f"out of range for its {self.size} variables; build laws with "
                            "indices in [0, len(variables)) and exponents >= 0"
                        )
                coefs.append(float(c))
                owner.append(k)
                monos.append(tuple(mono))
        # x^e becomes e repeated factors, so evaluation is a gather and a product;
        # padding points at an extra column of ones (index ``size``).
        K = max((sum(e for _, e in m) for m in monos), default=0)
        T = len(monos)
        idx = np.full((T, max(K, 1)), self.size, dtype=np.int64)
        for t, mono in enumerate(monos):
            j = 0
            for v, e in mono:
                idx[t, j : j + e] = v
                j += e
        self._coef = np.array(coefs, dtype=np.float64)
        self._owner = np.array(owner, dtype=np.int64)
        self._idx = idx
        counts = np.bincount(self._owner, minlength=len(self.laws))
        self._nonempty = counts > 0
        self._starts = (np.cumsum(counts) - counts)[self._nonempty]
        self._rates = np.array([float(h.time_rate or 0) for h in self.laws], dtype=np.float64)
        self._timed = bool(np.any(self._rates != 0))

    def _terms(self, X: np.ndarray) -> np.ndarray:
        """Term values, shape (B, T), chunked over B to bound memory."""
        B = X.shape[0]
        T, K = self._idx.shape
        out = np.empty((B, T))
        rows = max(1, _CHUNK // max(1, T * K))
        for a in range(0, B, rows):
            part = X[a : a + rows]
            ext = np.concatenate([part, np.ones((part.shape[0], 1))], axis=1)
            value = ext[:, self._idx[:, 0]]
            for j in range(1, K):  # K is the largest degree: a few factors
                value *= ext[:, self._idx[:, j]]
            out[a : a + rows] = self._coef * value
        return out

    def _stack(self, x: Any) -> tuple[np.ndarray, bool]:
        X = np.asarray(x, dtype=np.float64)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.ndim != 2 or X.shape[1] != self.size:
            raise InvalidArgument(
                f"parameters have shape {np.shape(x)}: the laws are over {self.size} "
                "variables (use phase_space(...) for momentum laws)"
            )
        return X, single

    def _reduce(self, terms: np.ndarray) -> np.ndarray:
        out = np.zeros((terms.shape[0], len(self.laws)))
        if self._starts.size:
            out[:, self._nonempty] = np.add.reduceat(terms, self._starts, axis=1)
        return out

    def evaluate(self, x: Any, *, t: Any = None) -> np.ndarray:
        """Values of the laws at ``x`` (shape ``(size,)`` -> ``(k,)``; ``(B, size)`` -> ``(B, k)``).

        ``t`` (a float, or one per row) is required when a law has a ``time_rate``.
        """
        X, single = self._stack(x)
        vals = self._reduce(self._terms(X))
        if self._timed:
            if t is None:
                raise InvalidArgument(
                    "these laws depend on time (time_rate != 0): pass t=..."
                )
            tt = np.broadcast_to(np.asarray(t, dtype=np.float64), (X.shape[0],))
            vals = vals * np.exp(np.outer(tt, self._rates))
        return vals[0] if single else vals

    def scales(self, x: Any, *, t: Any = None) -> np.ndarray:
        """Sum of the absolute values of each law's terms at ``x`` (1 where all vanish)."""
        X, single = self._stack(x)
        vals = self._reduce(np.abs(self._terms(X)))
        if self._timed and t is not None:
            tt = np.broadcast_to(np.asarray(t, dtype=np.float64), (X.shape[0],))
            vals = vals * np.exp(np.outer(tt, self._rates))
        vals = np.where(vals > 0, vals, 1.0)
        return vals[0] if single else vals

    # -------------------------------------------------------------------- log
    def reset(self) -> None:
        """Forget the log."""
        self._steps: list[float] = []
        self._times: list[float] = []
        self._values: list[np.ndarray] = []
        self._scale0: np.ndarray | None = None

    def record(self, x: Any, *, step: float | None = None, t: float | None = None) -> np.ndarray:
        """Evaluate at ``x`` and append to the log; returns the values.

        ``step`` defaults to the number of records so far.
        """
        vals = self.evaluate(x, t=t)
        if vals.ndim != 1:
            raise InvalidArgument("record takes one parameter vector; use track(...) for many")
        if self._scale0 is None:
            self._scale0 = self.scales(x, t=t)
        self._steps.append(len(self._steps) if step is None else step)
        self._times.append(np.nan if t is None else float(t))
        self._values.append(vals)
        return vals

    def track(self, trajectory: Any, *, tau: float | None = None) -> np.ndarray:
        """Log the laws along a :class:`~flowlaws.dynamics.Trajectory`; returns ``(T, k)`` values.

        Laws over ``D`` variables read ``trajectory.params``; laws over
        ``2D + 1`` variables read the phase space ``(s, theta, v)`` built with
        :func:`phase_space` (``tau`` required).
        """
        P = np.asarray(trajectory.params, dtype=np.float64)
        D = P.shape[1]
        times = np.asarray(trajectory.times, dtype=np.float64)
        if self.size == 2 * D + 1:
            if trajectory.velocities is None or tau is None:
                raise InvalidArgument(
                    "these laws live on the phase space (s, theta, v): track a momentum "
                    "trajectory (with velocities) and pass tau=..."
                )
            X = phase_space(P, trajectory.velocities, times, tau=tau)
        else:
            X = P
        vals = self.evaluate(X, t=times if self._timed else None)
        if self._scale0 is None:
            self._scale0 = self.scales(X[0], t=times[0] if self._timed else None)
        steps = trajectory.steps if getattr(trajectory, "steps", None) is not None else np.arange(len(times))
        for k in range(len(times)):
            self._steps.append(float(steps[k]))
            self._times.append(float(times[k]))
            self._values.append(vals[k])
        return vals

    @property
    def steps(self) -> np.ndarray:
        """Record labels, shape ``(T,)``."""
        return np.array(self._steps, dtype=np.float64)

    @property
    def times(self) -> np.ndarray:
        """Record times (NaN where none was given), shape ``(T,)``."""
        return np.array(self._times, dtype=np.float64)

    @property
    def values(self) -> np.ndarray:
        """Logged values, shape ``(T, k)``."""
        return np.array(self._values).reshape(len(self._values), len(self.laws))

    def drift(self) -> DriftReport:
        """Drift of every law from its first record.

        Raises
        ------
        InvalidArgument
            Nothing was recorded yet.
        """
        if not self._values:
            raise InvalidArgument("nothing recorded yet: call record(...) or track(...) first")
        V = self.values
        dev = np.abs(V - V[0])
        max_abs = dev.max(axis=0)
        scale = self._scale0 if self._scale0 is not None else np.ones(len(self.laws))
        return DriftReport(
            max_abs=max_abs,
            relative=max_abs / scale,
            per_step=dev.max(axis=1, initial=0.0),
            steps=self.steps,
            laws=tuple(str(h) for h in self.laws),
        )

    # ------------------------------------------------------------------ torch
    @classmethod
    def from_torch(cls, module: Any, laws: Sequence[Law]) -> TorchLawMonitor:
        """A monitor bound to a PyTorch module (``named_parameters()`` order).

        See :class:`TorchLawMonitor`. PyTorch is only needed to own the module.
        """
        return TorchLawMonitor(module, laws)


def flatten_torch_parameters(module: Any) -> np.ndarray:
    """A module's parameters as one float64 vector, in ``named_parameters()`` order.

    For ``nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1))`` this is
    ``W1, b1, W2, b2`` with weights row-major (out x in): the certificate order.
    """
    parts = [
        np.asarray(p.detach().cpu().double().numpy(), dtype=np.float64).ravel()
        for _, p in module.named_parameters()
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


class TorchLawMonitor(LawMonitor):
    """A :class:`LawMonitor` that reads its parameters from a PyTorch module.

    Use :meth:`record` (no argument) inside your loop, or :meth:`attach` it to
    the optimizer so that every ``optimizer.step()`` records::

        mon = LawMonitor.from_torch(net, laws)
        mon.record()                 # theta_0
        mon.attach(optimizer)        # then train as usual
        ...
        print(mon.drift())

    Raises
    ------
    InvalidArgument
        The module's parameter count differs from the laws' variable count.
    """

    def __init__(self, module: Any, laws: Sequence[Law]) -> None:
        super().__init__(laws)
        self.module = module
        n = self.parameters().size
        if self.laws and n != self.size:
            raise InvalidArgument(
                f"the module has {n} parameters but the laws are over {self.size} "
                "variables; build the laws from a model with the same layers and bias"
            )

    def parameters(self) -> np.ndarray:
        """The module's current flat parameter vector (float64 copy)."""
        return flatten_torch_parameters(self.module)

    def record(self, x: Any = None, *, step: float | None = None, t: float | None = None) -> np.ndarray:  # type: ignore[override]
        """Record the module's current parameters (or ``x`` when given)."""
        return super().record(self.parameters() if x is None else x, step=step, t=t)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Record; the signature accepts any hook arguments (optimizer, args, kwargs)."""
        self.record()

    def attach(self, optimizer: Any) -> Any:
        """Record after every ``optimizer.step()`` (``register_step_post_hook``); returns the handle."""
        return optimizer.register_step_post_hook(self)
