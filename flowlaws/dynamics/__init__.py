"""Simulated training and conserved-quantity monitors (float64, the simulation side).

Laws explain what training keeps; this subpackage shows what training does.

* Networks: :class:`MLP` (NumPy forward pass, losses and gradients in the
  certificate's parameter order), :func:`network_from_model` for a layered
  ``Model``, :func:`balancedness_laws` (the known per-neuron laws).
* Integrators over any ``grad(theta)``: :func:`gradient_flow`,
  :func:`gradient_descent`, :func:`heavy_ball_flow`, :func:`heavy_ball`,
  :func:`nesterov_flow`, :func:`nesterov`; each returns a :class:`Trajectory`.
* Data: :func:`nearly_orthogonal_mixture`, :func:`near_orthogonality`,
  :func:`is_nearly_orthogonal`.
* Monitors: :class:`LawMonitor` (also on a PyTorch module,
  :meth:`LawMonitor.from_torch`), :func:`phase_space` for momentum laws.
* :mod:`flowlaws.dynamics.implicit_bias`: the leaky-ReLU implicit-bias lab
  (:func:`~flowlaws.dynamics.implicit_bias.run_lab`).

Floats never enter the exact engine: nothing here proves a law, it only
measures. PyTorch is optional (only :class:`TorchLawMonitor` touches a module).

Examples
--------
>>> import numpy as np
>>> from flowlaws import dynamics as dyn
>>> net = dyn.MLP([3, 4, 1], "relu")
>>> X, y = np.eye(3), np.array([1.0, -1.0, 1.0])
>>> traj = dyn.gradient_flow(net.gradient_fn(X, y), net.init(seed=0), t_end=2.0)
>>> mon = dyn.LawMonitor(dyn.balancedness_laws(net))
>>> _ = mon.track(traj)
>>> mon.drift().max_drift < 1e-8
True
"""

from ._data import is_nearly_orthogonal, near_orthogonality, nearly_orthogonal_mixture
from ._integrators import (
    Trajectory,
    gradient_descent,
    gradient_flow,
    heavy_ball,
    heavy_ball_flow,
    nesterov,
    nesterov_flow,
)
from ._monitor import DriftReport, LawMonitor, TorchLawMonitor, flatten_torch_parameters, phase_space
from ._networks import ACTIVATIONS, LOSSES, MLP, balancedness_laws, network_from_model

__all__ = [
    "MLP",
    "ACTIVATIONS",
    "LOSSES",
    "network_from_model",
    "balancedness_laws",
    "Trajectory",
    "gradient_flow",
    "gradient_descent",
    "heavy_ball",
    "heavy_ball_flow",
    "nesterov",
    "nesterov_flow",
    "nearly_orthogonal_mixture",
    "near_orthogonality",
    "is_nearly_orthogonal",
    "LawMonitor",
    "TorchLawMonitor",
    "DriftReport",
    "phase_space",
    "flatten_torch_parameters",
    "implicit_bias",
]


def __getattr__(name: str):  # lazy: the lab imports nothing heavy until used
    if name == "implicit_bias":
        import importlib

        return importlib.import_module(f"{__name__}.implicit_bias")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
