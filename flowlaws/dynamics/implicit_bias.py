"""The leaky-ReLU implicit-bias lab (Frei, Vardi, Bartlett, Srebro, Hu; ICLR 2023).

Two-layer network ``f(x) = sum_j a_j phi(<w_j, x>)``, ``phi(z) = max(gamma z, z)``,
no biases, trained by gradient descent on the mean logistic loss over
nearly-orthogonal data (:func:`~flowlaws.dynamics.nearly_orthogonal_mixture`).

* **Second layer fixed** at ``a_j = +-1/sqrt(m)`` (half each), first layer
  ``W`` (``m x d``) trained. The paper shows: from a small initialisation,
  *one* step makes the stable rank ``||W||_F^2 / ||W||_2^2`` drop from its
  Gaussian value ``~ m d / (sqrt m + sqrt d)^2`` to a small constant, and it
  stays small; gradient flow converges in direction to a KKT point of the
  ``l2`` max-margin problem in parameter space, of rank at most 2, whose
  decision boundary is linear. This model has *no* conservation law
  (DESIGN section 4).
* **Both layers trained**: the per-neuron laws ``a_j^2 - ||w_j||^2`` are
  conserved by gradient flow; gradient descent changes each of them by
  exactly ``lr^2 (g_{a_j}^2 - ||g_{w_j}||^2)`` per step (the first-order terms
  cancel by homogeneity), so the drift over a fixed number of steps shrinks
  about 4x when ``lr`` halves, and about 2x over a fixed training *time*.

Measurements (see :func:`summarize`):

* ``stable_rank``; ``numerical_rank`` = number of singular values above
  ``rtol = 1e-2`` times the largest;
* ``min_margin`` ``min_i y_i f(x_i)`` and ``normalized_margin`` = it divided
  by ``||theta_T||^L`` (``theta_T`` the trained parameters, ``L`` the number of
  trained layers: ``f`` is ``L``-homogeneous in them);
* ``angle_deg``: the angle between the network's *linear part*
  ``((1 + gamma)/2) W^T a`` (``phi(z) = ((1+gamma)/2) z + ((1-gamma)/2)|z|``;
  at the paper's KKT points the decision boundary is exactly the hyperplane
  normal to this vector) and the **hard-margin linear SVM direction** through
  the origin on the training data (:func:`max_margin_linear`); plus the
  fraction of probe points where ``sign f(x) = sign <w_svm, x>``;
* the KKT residual of ``min ||theta_T||^2 / 2`` s.t. ``y_i f(x_i) >= 1``
  (:func:`kkt_residual`).

This module does not check the near-orthogonality of the data it is given;
use :func:`~flowlaws.dynamics.near_orthogonality` for that.

Layout: the network and its set-up live in ``_bias_model``, the measurements in
``_bias_measures``, the training runs in ``_bias_train`` and the figures in
``_bias_plots``; this module re-exports them all and runs the lab
(:func:`run_lab`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from flowlaws.errors import BudgetExceeded, InvalidArgument

from ._bias_measures import (
    angle_deg,
    gaussian_stable_rank,
    kkt_residual,
    leaky_relu_stable_rank,
    linear_part,
    margins,
    max_margin_linear,
    numerical_rank,
    sign_agreement,
    stable_rank,
)
from ._bias_model import default_lr, initial_parameters, record_schedule, two_layer_network
from ._bias_plots import _plot_drift, _plot_margin, _plot_stable_rank
from ._bias_train import BiasRun, gradient_flow_law_drift, law_drift_vs_step_size, summarize, train
from ._data import near_orthogonality, nearly_orthogonal_mixture

__all__ = [
    "stable_rank",
    "numerical_rank",
    "gaussian_stable_rank",
    "leaky_relu_stable_rank",
    "two_layer_network",
    "initial_parameters",
    "default_lr",
    "record_schedule",
    "BiasRun",
    "train",
    "margins",
    "max_margin_linear",
    "linear_part",
    "angle_deg",
    "sign_agreement",
    "kkt_residual",
    "summarize",
    "law_drift_vs_step_size",
    "gradient_flow_law_drift",
    "run_lab",
]

DEFAULT_INIT_SCALES = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1)
DRIFT_INIT_SCALE = 1e-3  # both-layer runs: small init, below the edge of stability at lr0
DRIFT_STEPS = 10
DRIFT_HALVINGS = 7
GF_POINTS, GF_WIDTH = 8, 10  # the gradient-flow check runs on the first 8 points


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


#: Bounds of :func:`run_lab`'s arguments, checked before any work: the lab is a laptop-sized
#: experiment; beyond them it would overflow (scales), allocate terabytes (sizes) or run for days.
LAB_LIMITS = {"init_scale": 1e3, "steps": 1_000_000, "n": 100_000, "d": 100_000, "width": 100_000,
              "array_entries": 50_000_000, "seed": 2**63 - 1}


def _check_lab_arguments(init_scales: Any, steps: Any, seed: Any, n: Any, d: Any, width: Any) -> None:
    """Refuse arguments outside their type or :data:`LAB_LIMITS` with a one-line :class:`InvalidArgument`."""
    try:
        scales = [float(s) for s in init_scales]
    except (TypeError, ValueError):
        raise InvalidArgument(f"init_scales={init_scales!r}: expected a sequence of floats") from None
    top = LAB_LIMITS["init_scale"]
    if not scales or any(not (math.isfinite(s) and 0 <= s <= top) for s in scales):
        raise InvalidArgument(f"init_scales={list(init_scales)!r}: expected finite floats with 0 <= scale <= {top:g}")
    for name, v, lo in (("steps", steps, 1), ("seed", seed, 0), ("n", n, 2), ("d", d, 1), ("width", width, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise InvalidArgument(f"{name}={v!r} (type={type(v).__name__}): expected an int >= {lo}")
        if v > LAB_LIMITS[name]:
            raise InvalidArgument(f"{name}={v}: more than LAB_LIMITS[{name!r}]={LAB_LIMITS[name]:,}, the lab's bound")
    for what, entries in (("(n + 1000) x d data", (n + 1000) * d), ("width x d weights", width * d)):
        if entries > LAB_LIMITS["array_entries"]:
            raise InvalidArgument(f"the {what} array has {entries:,} entries, more than "
                                  f"LAB_LIMITS['array_entries']={LAB_LIMITS['array_entries']:,}; lower n, d or width")


def run_lab(
    out_dir: str | os.PathLike[str],
    *,
    init_scales: Sequence[float] = DEFAULT_INIT_SCALES,
    steps: int = 1000,
    seed: int = 0,
    progress: bool = True,
    n: int = 50,
    d: int = 2000,
    width: int = 100,
    negative_slope: float = 0.1,
) -> dict[str, Any]:
    """Run the implicit-bias lab; write PNG plots and ``figures.json`` into ``out_dir``.

    1. Data: ``n`` points of :func:`nearly_orthogonal_mixture` in dimension
       ``d`` (plus 1000 held-out points as probes).
    2. For every init scale: GD with the second layer fixed for ``steps``
       steps at :func:`default_lr`; stable rank, numerical rank, loss and
       normalized margin over steps; final margin, angle to the linear SVM,
       sign agreement, KKT residual.
    3. Both layers trained, init scale ``1e-3``: drift of ``a_j^2 - ||w_j||^2``
       for step sizes ``lr0 / 2^k`` (``k = 0..6``) over 10 steps (fixed steps)
       and over the time ``10 lr0`` (fixed time); gradient flow (DOP853,
       ``rtol = 1e-10``) over the same time on the first 8 points (width 10),
       where the flow is well posed, and an attempt on all ``n`` points with a
       budget of 1000 gradient evaluations: from a small init on these less
       orthogonal data the flow slides along activation kinks and the solver
       stalls (recorded as ``stalled``, not raised).

    Files: ``stable_rank.png`` (stable and numerical rank vs step, one line per
    init scale), ``margin.png`` (normalized margin, loss and KKT residual vs step),
    ``drift_vs_step_size.png`` and ``figures.json``.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    init_scales : sequence of float
        Standard deviations of the first layer at initialisation.
    steps : int
        GD steps per init scale.
    seed : int
        Seed of data and initialisations.
    progress : bool
        Show a tqdm progress bar on stderr.
    n, d, width, negative_slope
        Sizes and ``gamma``.

    Returns
    -------
    dict
        The content of ``figures.json``. On Ctrl-C the figures measured so far
        are written and returned with ``"interrupted": true``.

    Raises
    ------
    InvalidArgument
        Bad sizes, scales or steps.
    """
    _check_lab_arguments(init_scales, steps, seed, n, d, width)
    scales = [float(s) for s in init_scales]
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)

    drift_steps, n_lrs = DRIFT_STEPS, DRIFT_HALVINGS
    total = len(scales) * steps + drift_steps * n_lrs + drift_steps * (2**n_lrs - 1)
    kkt_at = record_schedule(int(steps), points=8)
    from tqdm.auto import tqdm

    from .._progress import heartbeat

    bar = tqdm(total=total, disable=not progress, desc="bias-lab", unit="step")
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    Xall, yall = nearly_orthogonal_mixture(n + 1000, d, seed=seed)
    X, y, Xtest = Xall[:n], yall[:n], Xall[n:]
    probes = {
        "test": Xtest,
        "gaussian": np.random.default_rng(seed + 1).standard_normal((1000, d)),
    }
    lr0 = default_lr(X)
    fig: dict[str, Any] = {
        "description": (
            "Leaky-ReLU implicit-bias lab (Frei et al., ICLR 2023): f(x) = sum_j a_j "
            "leaky_relu(<w_j, x>), logistic loss, GD. Keys: stable_rank / numerical_rank / "
            "normalized_margin / train_loss: {init_scale: {steps, values}} with the second "
            "layer fixed at +-1/sqrt(m); stable_rank_at_init and stable_rank_after_one_step: "
            "{init_scale: value}; final: figures after the last step per init scale "
            "(angle_deg: network linear part vs hard-margin linear SVM); drift_vs_step_size: "
            "both layers trained, per-neuron laws a_j^2 - ||w_j||^2."
        ),
        "interrupted": False,
        "config": {"n": n, "d": d, "width": width, "negative_slope": negative_slope,
                   "steps": int(steps), "seed": seed, "lr": lr0, "init_scales": scales,
                   "numerical_rank_rtol": 1e-2},
        "near_orthogonality": {"ratio": near_orthogonality(X),
                               "definition": "min_i ||x_i||^2 / (n max_{i!=k} |<x_i,x_k>|)"},
        "gaussian_stable_rank_estimate": gaussian_stable_rank(width, d),
        "leaky_relu_stable_rank_reference": leaky_relu_stable_rank(negative_slope),
        "stable_rank": {},
        "numerical_rank": {},
        "normalized_margin": {},
        "train_loss": {},
        "kkt_stationarity": {},
        "stable_rank_at_init": {},
        "stable_rank_after_one_step": {},
        "final": {},
        "drift_vs_step_size": {},
        "timings_seconds": timings,
        "files": [],
    }
    tick = (lambda k: bar.update(1)) if progress else None
    try:
        for s in scales:
            key = f"{s:g}"
            bar.set_description(f"bias-lab init {key}")
            run = train(X, y, width=width, init_scale=s, steps=int(steps), lr=lr0,
                        negative_slope=negative_slope, seed=seed, callback=tick, kkt_steps=kkt_at)
            fig["kkt_stationarity"][key] = {"steps": list(run.kkt_steps), "values": list(run.kkt_stationarity)}
            for name, series in (("stable_rank", run.stable_rank), ("numerical_rank", run.numerical_rank),
                                 ("normalized_margin", run.normalized_margin), ("train_loss", run.loss)):
                fig[name][key] = {"steps": list(run.steps), "values": list(series)}
            if run.stable_rank:
                fig["stable_rank_at_init"][key] = run.stable_rank[0]
            if len(run.stable_rank) > 1 and run.steps[1] == 1:
                fig["stable_rank_after_one_step"][key] = run.stable_rank[1]
            timings[f"train_init_{key}"] = run.seconds
            if run.interrupted:
                raise KeyboardInterrupt
            bar.set_description(f"bias-lab init {key}: final margins, SVM angle, KKT")
            fig["final"][key] = summarize(run, X, y, probes=probes)

        lrs = [lr0 / 2**k for k in range(n_lrs)]
        for key, label, drift_at, description in (
            ("fixed_steps", "fixed steps", drift_steps, f"{drift_steps} steps each"),
            ("fixed_time", "fixed time", [drift_steps * 2**k for k in range(n_lrs)], f"time {drift_steps} x lr0"),
        ):
            bar.set_description(f"bias-lab drift ({label})")
            t0 = time.perf_counter()
            drift = law_drift_vs_step_size(X, y, lrs=lrs, steps=drift_at, width=width,
                                           init_scale=DRIFT_INIT_SCALE,
                                           negative_slope=negative_slope, seed=seed, callback=tick)
            drift["description"] = description
            drift["init_scale"] = DRIFT_INIT_SCALE
            fig["drift_vs_step_size"][key] = drift
            timings[f"drift_{key}"] = time.perf_counter() - t0
            if drift["interrupted"]:
                raise KeyboardInterrupt
        for phase, (key, (Xg, yg, wg, budget)) in enumerate({
            "gradient_flow": (X[:GF_POINTS], y[:GF_POINTS], GF_WIDTH, 200_000),
            "gradient_flow_all_points": (X, y, width, 1000),
        }.items(), 1):
            bar.set_description(f"bias-lab gradient-flow ODE {phase}/2 ({len(yg)} points; no step count)")
            t0 = time.perf_counter()
            info = {"n": len(yg), "width": wg, "init_scale": DRIFT_INIT_SCALE,
                    "near_orthogonality": near_orthogonality(Xg)}
            try:
                with heartbeat(bar):  # the elapsed time moves while the solver runs
                    gf = gradient_flow_law_drift(Xg, yg, t_end=drift_steps * lr0, width=wg,
                                                 init_scale=DRIFT_INIT_SCALE, negative_slope=negative_slope,
                                                 seed=seed, max_nfev=budget)
            except BudgetExceeded as err:
                gf = {"stalled": True, "message": str(err), "t_end": drift_steps * lr0}
            fig["drift_vs_step_size"][key] = {**info, **gf}
            timings[key] = time.perf_counter() - t0
    except KeyboardInterrupt:
        fig["interrupted"] = True
    finally:
        bar.close()
    timings["total"] = time.perf_counter() - t_all
    try:
        if fig["stable_rank"]:
            _plot_stable_rank(os.path.join(out, "stable_rank.png"), fig,
                              {"gaussian": fig["gaussian_stable_rank_estimate"],
                               "leaky": fig["leaky_relu_stable_rank_reference"]})
            fig["files"].append("stable_rank.png")
            _plot_margin(os.path.join(out, "margin.png"), fig)
            fig["files"].append("margin.png")
        if fig["drift_vs_step_size"]:
            _plot_drift(os.path.join(out, "drift_vs_step_size.png"), fig["drift_vs_step_size"])
            fig["files"].append("drift_vs_step_size.png")
    except KeyboardInterrupt:
        fig["interrupted"] = True
    fig = _jsonable(fig)
    with open(os.path.join(out, "figures.json"), "w", encoding="utf-8") as fh:
        json.dump(fig, fh, indent=1)
    return fig
