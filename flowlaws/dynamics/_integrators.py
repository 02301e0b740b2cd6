"""Integrators of training flows over a generic gradient ``grad(theta) -> array``.

Continuous flows are solved with :func:`scipy.integrate.solve_ivp` at tight
tolerances (default ``DOP853``, ``rtol=1e-10``, ``atol=1e-12``); discrete
methods run plain loops. Every function returns a :class:`Trajectory`.

Flows (DESIGN section 3):

* gradient flow ``theta' = -grad L(theta)`` and gradient descent (its Euler
  discretisation with step ``lr``, time ``t = k lr``);
* heavy ball ``theta'' + tau theta' = -grad L`` and its discretisation
  ``theta_{k+1} = theta_k - lr grad L(theta_k) + beta (theta_k - theta_{k-1})``,
  which is the ODE with ``h = sqrt(lr)``, ``beta = 1 - tau h`` (time ``t = k h``);
* Nesterov's flow ``theta'' + (3/t) theta' = -grad L`` and Nesterov's method
  (``beta_k = k / (k + 3)`` unless a constant ``momentum`` is given).

These functions do not check that ``grad`` is the gradient of anything, nor
that it returns finite values; a non-finite state stops a discrete run early
(``Trajectory.info["stopped"]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowlaws.errors import BudgetExceeded, InvalidArgument

__all__ = [
    "Trajectory",
    "gradient_flow",
    "gradient_descent",
    "heavy_ball",
    "heavy_ball_flow",
    "nesterov",
    "nesterov_flow",
]

Grad = Callable[[np.ndarray], np.ndarray]
Callback = Callable[[int, np.ndarray], Any]


@dataclass
class Trajectory:
    """Recorded states of a flow or an iterative method.

    Attributes
    ----------
    times : ndarray, shape (T,)
        Flow time of each record (``k * lr`` for gradient descent, ``k * sqrt(lr)``
        for the momentum methods, the ODE time for flows).
    params : ndarray, shape (T, D)
        Parameter vectors.
    velocities : ndarray, shape (T, D), or None
        ``theta'`` for the second-order flows; the momentum buffer
        ``theta_k - theta_{k-1}`` for the discrete momentum methods; ``None``
        for first-order methods.
    steps : ndarray of int, shape (T,), or None
        Iteration numbers for discrete methods, ``None`` for flows.
    method : str
        Which integrator produced it.
    info : dict
        Solver details (``nfev``, ``message``, step size, ...).
    """

    times: np.ndarray
    params: np.ndarray
    velocities: np.ndarray | None = None
    steps: np.ndarray | None = None
    method: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def final(self) -> np.ndarray:
        """The last recorded parameter vector."""
        return self.params[-1]


def _theta0(theta0: Any) -> np.ndarray:
    arr = np.array(theta0, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidArgument(
            f"theta0 has shape {arr.shape}: expected a non-empty flat vector"
        )
    return arr


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected a number") from err
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidArgument(f"{name}={value!r}: expected a finite number {bound}")
    return v


def _steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InvalidArgument(f"steps={steps!r} (type={type(steps).__name__}): expected an int >= 0")
    return int(steps)


def _record_set(record: int | Sequence[int] | None, steps: int) -> set[int] | int:
    if record is None:
        return 1
    if isinstance(record, bool) or (isinstance(record, (int, np.integer)) and record < 1):
        raise InvalidArgument(f"record={record!r}: expected an int >= 1 or a list of steps")
    if isinstance(record, (int, np.integer)):
        return int(record)
    return {int(k) for k in record if 0 <= int(k) <= steps}


def _wanted(k: int, rec: set[int] | int, steps: int) -> bool:
    if isinstance(rec, int):
        return k % rec == 0 or k == steps
    return k in rec


class _Counted:
    """Wrap an ODE right-hand side; raise BudgetExceeded past ``max_nfev`` calls."""

    def __init__(self, fun: Callable[[float, np.ndarray], np.ndarray], max_nfev: int | None, name: str) -> None:
        self.fun, self.max_nfev, self.name, self.nfev, self.t = fun, max_nfev, name, 0, 0.0

    def __call__(self, t: float, z: np.ndarray) -> np.ndarray:
        self.nfev += 1
        self.t = t
        if self.max_nfev is not None and self.nfev > self.max_nfev:
            raise BudgetExceeded(
                f"{self.name}: more than max_nfev={self.max_nfev} gradient evaluations, stuck "
                f"near t={t:.6g}. ReLU-type flows are non-smooth: the solver crawls where the "
                "flow slides along an activation kink (data not nearly orthogonal enough). "
                "Loosen rtol, shorten t_end, raise max_nfev, or use gradient_descent with a "
                "small lr"
            )
        return self.fun(t, z)


def _t_eval(t_end: float, t_eval: Any, n_eval: int, t0: float = 0.0) -> np.ndarray:
    if t_eval is None:
        return np.linspace(t0, t_end, int(n_eval))
    out = np.asarray(t_eval, dtype=np.float64)
    if out.ndim != 1 or np.any(np.diff(out) < 0) or out[0] < t0 or out[-1] > t_end:
        raise InvalidArgument(f"t_eval must be increasing inside [{t0}, {t_end}]")
    return out


def gradient_flow(
    grad: Grad,
    theta0: Any,
    *,
    t_end: float,
    t_eval: Sequence[float] | None = None,
    n_eval: int = 101,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_nfev: int | None = 1_000_000,
) -> Trajectory:
    """Solve gradient flow ``theta' = -grad(theta)`` on ``[0, t_end]``.

    Parameters
    ----------
    grad : callable
        ``grad(theta) -> ndarray`` of the loss.
    theta0 : array_like
        Initial parameters.
    t_end : float
        Final time.
    t_eval, n_eval
        Record times (default ``n_eval`` equally spaced times).
    method, rtol, atol
        Passed to :func:`scipy.integrate.solve_ivp`.
    max_nfev : int or None
        Budget of gradient evaluations (``None``: no limit).

    Raises
    ------
    InvalidArgument
        Bad sizes or times; the solver failing is reported in ``info``.
    BudgetExceeded
        More than ``max_nfev`` evaluations (e.g. a ReLU flow sliding along a kink).

    Examples
    --------
    >>> traj = gradient_flow(lambda th: th, [1.0], t_end=1.0, n_eval=3)
    >>> round(float(traj.final[0]), 8) == round(float(np.exp(-1.0)), 8)
    True
    """
    from scipy.integrate import solve_ivp

    th0 = _theta0(theta0)
    t_end = _positive("t_end", t_end)
    times = _t_eval(t_end, t_eval, n_eval)
    rhs = _Counted(lambda t, th: -np.asarray(grad(th), dtype=np.float64), max_nfev, "gradient_flow")
    sol = solve_ivp(
        rhs,
        (0.0, t_end),
        th0,
        method=method,
        t_eval=times,
        rtol=rtol,
        atol=atol,
    )
    return Trajectory(
        times=sol.t,
        params=sol.y.T.copy(),
        method=f"gradient_flow[{method}]",
        info={"nfev": int(sol.nfev), "status": int(sol.status), "message": sol.message,
              "rtol": rtol, "atol": atol},
    )


def _second_order(
    accel: Callable[[float, np.ndarray, np.ndarray], np.ndarray],
    th0: np.ndarray,
    v0: np.ndarray,
    t0: float,
    t_end: float,
    times: np.ndarray,
    method: str,
    rtol: float,
    atol: float,
    name: str,
    max_nfev: int | None,
) -> Trajectory:
    from scipy.integrate import solve_ivp

    D = th0.size

    def rhs(t: float, z: np.ndarray) -> np.ndarray:
        th, v = z[:D], z[D:]
        return np.concatenate([v, accel(t, th, v)])

    sol = solve_ivp(_Counted(rhs, max_nfev, name), (t0, t_end), np.concatenate([th0, v0]), method=method,
                    t_eval=times, rtol=rtol, atol=atol)
    return Trajectory(
        times=sol.t,
        params=sol.y[:D].T.copy(),
        velocities=sol.y[D:].T.copy(),
        method=f"{name}[{method}]",
        info={"nfev": int(sol.nfev), "status": int(sol.status), "message": sol.message,
              "rtol": rtol, "atol": atol},
    )


def _velocity0(v0: Any, th0: np.ndarray) -> np.ndarray:
    if v0 is None:
        return np.zeros_like(th0)
    v = np.array(v0, dtype=np.float64)
    if v.shape != th0.shape:
        raise InvalidArgument(f"v0 has shape {v.shape}: expected {th0.shape} like theta0")
    return v


def heavy_ball_flow(
    grad: Grad,
    theta0: Any,
    *,
    tau: float,
    t_end: float,
    v0: Any = None,
    t_eval: Sequence[float] | None = None,
    n_eval: int = 101,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_nfev: int | None = 1_000_000,
) -> Trajectory:
    """Solve the momentum (heavy-ball) flow ``theta'' + tau theta' = -grad(theta)``.

    The trajectory carries ``velocities`` (``theta'``), so time-dependent laws
    in the phase space ``(s, theta, v)``, ``s = exp(tau t)``, can be monitored
    (see :func:`phase_space`). ``max_nfev`` and the errors are those of
    :func:`gradient_flow`.

    Examples
    --------
    >>> traj = heavy_ball_flow(lambda th: th, [1.0], tau=2.0, t_end=1.0, n_eval=2)
    >>> traj.velocities.shape
    (2, 1)
    """
    th0 = _theta0(theta0)
    tau = _positive("tau", tau, allow_zero=True)
    t_end = _positive("t_end", t_end)
    times = _t_eval(t_end, t_eval, n_eval)
    return _second_order(
        lambda t, th, v: -np.asarray(grad(th), dtype=np.float64) - tau * v,
        th0, _velocity0(v0, th0), 0.0, t_end, times, method, rtol, atol, "heavy_ball_flow",
        max_nfev,
    )


def nesterov_flow(
    grad: Grad,
    theta0: Any,
    *,
    t_end: float,
    t0: float = 0.0,
    v0: Any = None,
    t_eval: Sequence[float] | None = None,
    n_eval: int = 101,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_nfev: int | None = 1_000_000,
) -> Trajectory:
    """Solve Nesterov's flow ``theta'' + (3/t) theta' = -grad(theta)`` from ``t0``.

    At ``t0 = 0`` the velocity must start at zero and the limit
    ``theta''(0) = -grad(theta(0)) / 4`` is used.

    Examples
    --------
    >>> traj = nesterov_flow(lambda th: th, [1.0], t_end=1.0, n_eval=2)
    >>> 0.0 < float(traj.final[0]) < 1.0
    True
    """
    th0 = _theta0(theta0)
    t0 = _positive("t0", t0, allow_zero=True)
    t_end = _positive("t_end", t_end)
    if t_end <= t0:
        raise InvalidArgument(f"t_end={t_end!r} must exceed t0={t0!r}")
    v = _velocity0(v0, th0)
    if t0 == 0 and np.any(v != 0):
        raise InvalidArgument("nesterov_flow from t0=0 needs v0=0 (the 3/t damping is singular there)")
    times = _t_eval(t_end, t_eval, n_eval, t0)

    def accel(t: float, th: np.ndarray, vel: np.ndarray) -> np.ndarray:
        g = np.asarray(grad(th), dtype=np.float64)
        if t <= 0:
            return -g / 4.0
        return -g - (3.0 / t) * vel

    return _second_order(accel, th0, v, t0, t_end, times, method, rtol, atol, "nesterov_flow",
                         max_nfev)


def _discrete(
    name: str,
    grad: Grad,
    theta0: Any,
    lr: float,
    steps: int,
    momentum: Callable[[int], float] | None,
    nesterov_lookahead: bool,
    record: int | Sequence[int] | None,
    callback: Callback | None,
    time_unit: float,
) -> Trajectory:
    th = _theta0(theta0)
    lr = _positive("lr", lr)
    steps = _steps(steps)
    rec = _record_set(record, steps)
    prev = th.copy()
    ts, ps, vs, ks = [], [], [], []
    stopped = None

    def keep(k: int) -> None:
        ks.append(k)
        ts.append(k * time_unit)
        ps.append(th.copy())
        if momentum is not None:
            vs.append(th - prev)

    def _step(k: int) -> np.ndarray:
        if momentum is None:
            return th - lr * np.asarray(grad(th), dtype=np.float64)
        beta = momentum(k)
        if nesterov_lookahead:
            look = th + beta * (th - prev)
            return look - lr * np.asarray(grad(look), dtype=np.float64)
        return th - lr * np.asarray(grad(th), dtype=np.float64) + beta * (th - prev)

    if _wanted(0, rec, steps):
        keep(0)
    if callback is not None:
        callback(0, th)
    for k in range(steps):
        with np.errstate(over="ignore", invalid="ignore"):
            new = _step(k)
        prev, th = th, new
        if not np.all(np.isfinite(th)):
            stopped = f"non-finite parameters at step {k + 1}; lower lr={lr}"
            keep(k + 1)
            break
        if _wanted(k + 1, rec, steps):
            keep(k + 1)
        if callback is not None:
            callback(k + 1, th)
    return Trajectory(
        times=np.array(ts),
        params=np.array(ps).reshape(len(ps), -1),
        velocities=np.array(vs).reshape(len(vs), -1) if momentum is not None else None,
        steps=np.array(ks, dtype=np.int64),
        method=name,
        info={"lr": lr, "stopped": stopped},
    )


def gradient_descent(
    grad: Grad,
    theta0: Any,
    *,
    lr: float,
    steps: int,
    record: int | Sequence[int] | None = None,
    callback: Callback | None = None,
) -> Trajectory:
    """Gradient descent ``theta_{k+1} = theta_k - lr grad(theta_k)``.

    Parameters
    ----------
    grad : callable
        ``grad(theta) -> ndarray``.
    theta0 : array_like
        Initial parameters.
    lr : float
        Step size ``> 0``.
    steps : int
        Number of steps.
    record : int or sequence of int, optional
        Record every ``record``-th step (default every step), or exactly the
        listed steps. Step ``0`` and the last step are recorded with an int.
    callback : callable, optional
        ``callback(k, theta)`` after step ``k`` (and at ``k = 0``), e.g. to
        update a progress bar or a :class:`~flowlaws.dynamics.LawMonitor`.

    Examples
    --------
    >>> traj = gradient_descent(lambda th: th, [1.0], lr=0.5, steps=3)
    >>> traj.params.ravel().tolist(), traj.steps.tolist()
    ([1.0, 0.5, 0.25, 0.125], [0, 1, 2, 3])
    """
    return _discrete("gradient_descent", grad, theta0, lr, steps, None, False,
                     record, callback, float(lr))


def heavy_ball(
    grad: Grad,
    theta0: Any,
    *,
    lr: float,
    momentum: float,
    steps: int,
    record: int | Sequence[int] | None = None,
    callback: Callback | None = None,
) -> Trajectory:
    """Polyak's heavy ball ``theta_{k+1} = theta_k - lr grad(theta_k) + momentum (theta_k - theta_{k-1})``.

    With ``h = sqrt(lr)`` and ``momentum = 1 - tau h`` this discretises
    :func:`heavy_ball_flow`; ``times`` are ``k h``.

    Examples
    --------
    >>> traj = heavy_ball(lambda th: th, [1.0], lr=0.1, momentum=0.9, steps=2)
    >>> [round(float(x), 3) for x in traj.params.ravel()]
    [1.0, 0.9, 0.72]
    """
    beta = float(momentum)
    if not 0.0 <= beta < 1.0:
        raise InvalidArgument(f"momentum={momentum!r}: expected a float in [0, 1)")
    return _discrete("heavy_ball", grad, theta0, lr, steps, lambda k: beta, False,
                     record, callback, float(np.sqrt(lr)))


def nesterov(
    grad: Grad,
    theta0: Any,
    *,
    lr: float,
    steps: int,
    momentum: float | None = None,
    record: int | Sequence[int] | None = None,
    callback: Callback | None = None,
) -> Trajectory:
    """Nesterov's accelerated gradient with look-ahead.

    ``y_k = theta_k + beta_k (theta_k - theta_{k-1})``,
    ``theta_{k+1} = y_k - lr grad(y_k)``, with ``beta_k = k / (k + 3)``
    (the discretisation of :func:`nesterov_flow`, time ``t = k sqrt(lr)``)
    unless a constant ``momentum`` is given.

    Examples
    --------
    >>> traj = nesterov(lambda th: th, [1.0], lr=0.1, steps=50)
    >>> abs(float(traj.final[0])) < 0.05
    True
    """
    if momentum is None:
        sched: Callable[[int], float] = lambda k: k / (k + 3.0)
    else:
        beta = float(momentum)
        if not 0.0 <= beta < 1.0:
            raise InvalidArgument(f"momentum={momentum!r}: expected None or a float in [0, 1)")
        sched = lambda k: beta
    return _discrete("nesterov", grad, theta0, lr, steps, sched, True, record,
                     callback, float(np.sqrt(lr)))
