"""The numerical companion: how much a law moves along a discrete trajectory.

Gradient *flow* keeps a conservation law exactly constant; gradient
*descent* with step ``η`` does not. For a quadratic law ``h`` (ReLU
balancedness, ``UᵀU − VᵀV``) one step changes it by exactly
``η² gᵀ∇²h g / 2`` (``g`` the gradient of the loss), since the first-order
term ``−η⟨∇h, g⟩`` vanishes: the drift per step is ``O(η²)``. Over a fixed
number of steps (with ``steps · η`` small, so the trajectory stays near its
start) halving the step quarters the drift; over a fixed training time
``T = steps · η`` the ``T / η`` steps add up to ``O(η)``, and halving the
step halves it. Either way it vanishes with the step: the flow itself
conserves the law exactly.

* :func:`drift` evaluates a law (``Law``, SymPy expression, string) in
  float64 along a trajectory and reports the values, ``max_abs`` and
  ``relative`` drift.
* :func:`simulate_gd` runs a tiny, self-contained gradient descent (or SGD)
  on a random loss of φ, so the drift can be seen without any data or
  framework.

Everything here is pure Python floats (IEEE float64) on top of the
checker's own polynomials (φ is expanded by the checker's code, never the
engine's; string laws go through flowlaws' small eval-free parser
``flowlaws._parse``); no NumPy. Nothing here proves anything:
:func:`~flowlaws.verify.is_conserved` does.

What this module does not check: that a trajectory was produced by
gradient descent on this model (any sequence of parameter vectors is
measured), nor that the law is conserved at all (a non-law just drifts
faster, ``O(η)`` per step).

Examples
--------
>>> import flowlaws as fl
>>> from flowlaws.verify import drift, simulate_gd
>>> m = fl.models.mlp([2, 3, 1], activation="relu")
>>> law = "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2"
>>> d1 = drift(m, law, simulate_gd(m, 20, 0.002, seed=0))
>>> d2 = drift(m, law, simulate_gd(m, 20, 0.001, seed=0))
>>> round(d1.max_abs / d2.max_abs, 1)       # O(η²) per step: halving the step quarters the drift
3.8
>>> T1 = drift(m, law, simulate_gd(m, 50, 0.02, seed=0))      # time T = 1
>>> T2 = drift(m, law, simulate_gd(m, 100, 0.01, seed=0))     # same time, half the step
>>> round(T1.max_abs / T2.max_abs, 1)       # O(η) over a fixed time
2.0
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..errors import BudgetExceeded, CertificateError, DomainError, InvalidArgument
from ..laws import Law
from .checker import parse_model, parse_poly, path_budget_problem
from .checker._polys import Monomial, Poly

__all__ = ["DriftReport", "drift", "simulate_gd", "LOSSES", "MAX_SIMULATION_TERMS"]

#: Losses of :func:`simulate_gd`.
LOSSES = ("random-quadratic", "random-linear")
#: Largest number of monomials of φ that :func:`simulate_gd` expands.
MAX_SIMULATION_TERMS = 20_000


@dataclass(frozen=True)
class DriftReport:
    """A law evaluated along a trajectory.

    Attributes
    ----------
    law : str
        The law as printed.
    values : tuple of float
        ``h(θ_k)`` for every row ``k`` of the trajectory.
    scale : float
        ``Σ |c_m · m(θ_0)|`` over the law's terms at the first row: the size
        of the quantities that cancel in ``h`` (never 0 unless every term is 0).
    """

    law: str
    values: tuple[float, ...]
    scale: float

    @property
    def steps(self) -> int:
        """Number of steps (rows minus one)."""
        return len(self.values) - 1

    @property
    def deltas(self) -> tuple[float, ...]:
        """``h(θ_k) − h(θ_0)`` per row."""
        h0 = self.values[0]
        return tuple(v - h0 for v in self.values)

    @property
    def max_abs(self) -> float:
        """``max_k |h(θ_k) − h(θ_0)|``."""
        return max(abs(d) for d in self.deltas)

    @property
    def relative(self) -> float:
        """``max_abs / scale`` (``0.0`` when nothing moves, ``inf`` if only ``scale`` is 0)."""
        if self.max_abs == 0:
            return 0.0
        return self.max_abs / self.scale if self.scale else math.inf

    def __str__(self) -> str:
        return (
            f"drift of {self.law} over {self.steps} steps: max |h - h0| = {self.max_abs:.3g} "
            f"(relative {self.relative:.3g})"
        )


# -- the law as exact rational terms ----------------------------------------------------------
def _model(model: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The model's parameter names and its certificate ``model`` object."""
    variables = getattr(model, "variables", None)
    to_json = getattr(model, "to_json", None)
    if variables is None or isinstance(variables, str) or not callable(to_json):
        raise InvalidArgument(
            f"model={model!r} (type={type(model).__name__}): expected a flowlaws model with .variables "
            "and .to_json(), e.g. flowlaws.models.mlp([2, 2, 1])"
        )
    variables = tuple(variables)
    if not variables or not all(isinstance(v, str) for v in variables) or len(set(variables)) != len(variables):
        raise InvalidArgument(f"model.variables={variables[:5]!r}: expected distinct parameter names (str)")
    return variables, to_json()


def _from_sympy(expr: Any, variables: Sequence[str], shown: str) -> dict[Monomial, Fraction]:
    # method calls only: this module never imports SymPy itself
    index = {v: i for i, v in enumerate(variables)}
    unknown = sorted(str(s) for s in expr.free_symbols if getattr(s, "name", None) not in index)
    if unknown:
        raise InvalidArgument(f"law {shown}: unknown name(s) {unknown[:5]}; the model's parameters are {list(variables[:5])}...")
    out: dict[Monomial, Fraction] = {}
    for term, coef in expr.expand().as_coefficients_dict().items():
        if getattr(coef, "is_Float", False):
            raise DomainError(f"law {shown} has the float coefficient {coef}; use integers or sympy.Rational(1, 3)")
        if not getattr(coef, "is_Rational", False):
            raise InvalidArgument(f"law {shown}: coefficient {coef} is not rational")
        mono: dict[int, int] = {}
        for base, e in term.as_powers_dict().items():
            if base == 1:
                continue
            if not (getattr(base, "is_Symbol", False) and getattr(e, "is_Integer", False) and e > 0):
                raise InvalidArgument(f"law {shown} is not a polynomial in the model's parameters: it contains {base}**{e}")
            mono[index[base.name]] = mono.get(index[base.name], 0) + int(e)
        key = tuple(sorted(mono.items()))
        out[key] = out.get(key, Fraction(0)) + Fraction(int(coef.p), int(coef.q))
    return out


def _law_terms(law: Any, variables: Sequence[str]) -> tuple[dict[Monomial, Fraction], str]:
    """``{monomial: coefficient}`` of a gradient-flow law as given (coefficients stay exact
    rationals, never scaled), and its printed form.

    Accepts what :func:`~flowlaws.verify.is_conserved` accepts for gradient flow:
    a :class:`~flowlaws.laws.Law`, a SymPy expression, a string (parsed
    without ``eval`` by ``flowlaws._parse``), an int, or a certificate POLY list.
    """
    index = {v: i for i, v in enumerate(variables)}
    if isinstance(law, bool) or isinstance(law, float):
        err = DomainError if isinstance(law, float) else InvalidArgument
        raise err(f"law={law!r} (type={type(law).__name__}): pass a polynomial (Law, SymPy expression or string)")
    if isinstance(law, Law):
        if law.time_rate:
            raise InvalidArgument(f"law {law} is time dependent (time_rate={law.time_rate}); drift measures gradient-flow laws")
        unknown = [v for v in law.variables if v not in index]
        if unknown:
            raise InvalidArgument(f"law {law}: unknown name(s) {unknown[:5]}; the model's parameters are {list(variables[:5])}...")
        out: dict[Monomial, Fraction] = {}
        for coef, mono in law.terms:
            if isinstance(coef, float):
                raise DomainError(f"law {law}: coefficient {coef!r} is a float; use an int or a Fraction")
            exps: dict[int, int] = {}
            for var, e in mono:
                exps[index[law.variables[var]]] = exps.get(index[law.variables[var]], 0) + e
            key = tuple(sorted(exps.items()))
            out[key] = out.get(key, Fraction(0)) + Fraction(coef)
        return out, str(law)
    if isinstance(law, int):
        return {(): Fraction(law)}, str(law)
    if isinstance(law, list):
        try:
            poly = parse_poly(law, "law", len(variables))
        except CertificateError as err:
            raise InvalidArgument(f"law given as a list must be a certificate POLY: {err}") from err
        return {m: Fraction(c) for m, c in poly.terms.items()}, poly.to_str(variables, max_terms=8)
    if isinstance(law, str):
        from .._parse import parse_polynomial

        dense = parse_polynomial(law, list(variables))
        return {tuple((i, e) for i, e in enumerate(m) if e): c for m, c in dense.items()}, law
    if type(law).__module__.split(".")[0] == "sympy" and hasattr(law, "free_symbols"):
        return _from_sympy(law, variables, str(law)), str(law)
    raise InvalidArgument(
        f"law={law!r} (type={type(law).__name__}): expected a flowlaws Law, a SymPy expression, "
        "a string such as \"u^2 - v^2\" or a certificate POLY list"
    )


def _rows(trajectory: Any, dim: int) -> list[tuple[float, ...]]:
    data = getattr(trajectory, "params", trajectory)  # flowlaws.dynamics.Trajectory
    if hasattr(data, "tolist"):
        data = data.tolist()
    try:
        rows = list(data)
    except TypeError:
        raise InvalidArgument(
            f"trajectory={trajectory!r} (type={type(trajectory).__name__}): expected a sequence of parameter "
            f"vectors (rows of length {dim}), e.g. a NumPy array of shape (steps + 1, {dim})"
        ) from None
    if not rows:
        raise InvalidArgument("trajectory is empty: give at least one parameter vector")
    out = []
    for k, row in enumerate(rows):
        try:
            vec = tuple(float(x) for x in row)
        except (TypeError, ValueError) as err:
            raise InvalidArgument(
                f"trajectory row {k} ({row!r:.60}) is not a vector of numbers: {err}"
            ) from err
        if len(vec) != dim:
            raise InvalidArgument(
                f"trajectory row {k} has {len(vec)} entries, the model has {dim} parameters; "
                "rows must follow the model's parameter order (model.variables)"
            )
        bad = [x for x in vec if not math.isfinite(x)]
        if bad:
            raise DomainError(
                f"trajectory row {k} has a non-finite value ({bad[0]}): the simulation diverged; "
                "use a smaller step"
            )
        out.append(vec)
    return out


def drift(model: Any, law: Any, trajectory: Any) -> DriftReport:
    """Evaluate ``law`` in float64 along ``trajectory`` and measure how much it moves.

    Parameters
    ----------
    model : flowlaws model
        Anything with ``.variables`` and ``.to_json()`` (``flowlaws.models.mlp(...)``).
    law : Law, SymPy expression, str or int
        As accepted by :func:`~flowlaws.verify.is_conserved`; evaluated as
        given (coefficients ``1/2`` stay ``1/2``).
    trajectory : array-like of shape (T, D)
        Parameter vectors in the model's parameter order: a NumPy array, a
        list of lists, the output of :func:`simulate_gd`, or a
        ``flowlaws.dynamics.Trajectory`` (its ``params``).

    Returns
    -------
    DriftReport
        ``values``, ``deltas``, ``max_abs``, ``relative``.

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Unknown names in the law, rows of the wrong length, an empty trajectory.
    flowlaws.errors.DomainError
        Float coefficients in the law, non-finite values in the trajectory.

    See Also
    --------
    simulate_gd : a trajectory to measure.
    is_conserved : the exact check.

    Examples
    --------
    >>> class UV:  # phi = u*v
    ...     variables = ("u", "v")
    ...     def to_json(self):
    ...         return {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]}
    >>> d = drift(UV(), "u^2/2 - v^2/2", [[1.0, 2.0], [1.5, 2.0], [2.0, 2.0]])
    >>> d.values, d.max_abs, d.scale
    ((-1.5, -0.875, 0.0), 1.5, 2.5)
    >>> drift(UV(), "u^2 - v^2", [[1.0, 2.0, 3.0]])
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: trajectory row 0 has 3 entries, the model has 2 parameters; rows must follow the model's parameter order (model.variables)
    """
    variables, _ = _model(model)
    terms, shown = _law_terms(law, variables)
    rows = _rows(trajectory, len(variables))
    compiled = [(float(c), m) for m, c in terms.items()]
    values = []
    for theta in rows:
        total = 0.0
        for c, mono in compiled:
            t = c
            for var, e in mono:
                t *= theta[var] ** e
            total += t
        values.append(total)
    scale = 0.0
    for c, mono in compiled:
        t = abs(c)
        for var, e in mono:
            t *= abs(rows[0][var]) ** e
        scale += t
    return DriftReport(law=shown, values=tuple(values), scale=scale)


# -- a tiny gradient descent ------------------------------------------------------------------
def _phi(model: Any) -> list[Poly]:
    variables, data = _model(model)
    try:
        reparam = parse_model(data, len(variables))
    except CertificateError as err:
        raise InvalidArgument(f"model.to_json() is not a valid certificate model: {err}") from err
    problem = path_budget_problem(reparam)
    if problem:
        raise BudgetExceeded(problem)
    net = getattr(reparam, "net", None)
    if net is not None and net.path_count() > MAX_SIMULATION_TERMS:
        raise BudgetExceeded(
            f"simulate_gd expands φ: the network layers={list(net.layers)} has {net.path_count()} paths, more than "
            f"MAX_SIMULATION_TERMS={MAX_SIMULATION_TERMS}; for larger networks use flowlaws.dynamics (MLP and gradient_descent)"
        )
    phi = [f for _, f in reparam.coordinates()]
    total = sum(len(f) for f in phi)
    if total > MAX_SIMULATION_TERMS:
        raise BudgetExceeded(
            f"simulate_gd expands φ: {total} monomials, more than MAX_SIMULATION_TERMS={MAX_SIMULATION_TERMS}; "
            "for larger networks use flowlaws.dynamics (MLP and gradient_descent)"
        )
    return phi


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected a finite number > 0, e.g. {name}=0.01")
    return float(value)


def _int_arg(name: str, value: Any, lo: int, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected an int >= {lo}, e.g. {name}={example}")
    return value


def simulate_gd(
    model: Any,
    steps: int,
    lr: float,
    *,
    seed: int,
    loss: str = "random-quadratic",
    batch: int | None = None,
    theta0: Sequence[float] | None = None,
    init_scale: float = 1.0,
) -> list[tuple[float, ...]]:
    """Gradient descent (or SGD) in float64 on a random loss of φ.

    The loss is a function of φ only, so it is a valid loss for every data
    set on each activation region, and the laws of gradient flow are its
    laws. With ``rng = random.Random(seed)``:

    * ``"random-quadratic"``: ``L(θ) = ½ Σ_k a_k (φ_k(θ) − t_k)²`` with
      ``a_k ~ U(0.5, 1.5)`` and targets ``t_k ~ N(0, 1)``;
    * ``"random-linear"``: ``L(θ) = Σ_k c_k φ_k(θ)`` with ``c_k ~ N(0, 1)``
      (a random loss direction).

    The update is ``θ ← θ − lr · ∇L(θ)`` with ``∇L = Σ_k ∂ℓ/∂φ_k · ∇φ_k``, φ
    and its gradient evaluated from φ's polynomials (the checker's own
    expansion, so only small models: at most :data:`MAX_SIMULATION_TERMS`
    monomials). With ``batch=b``, each step uses ``b`` coordinates of φ drawn
    at random, scaled by ``N / b`` (an unbiased stochastic gradient).

    Parameters
    ----------
    model : flowlaws model
        A layered network or a polynomial model.
    steps : int
        Number of updates (the trajectory has ``steps + 1`` rows).
    lr : float
        Step size ``η > 0``.
    seed : int
        Seeds the loss, the initial point and the batches.
    loss : {"random-quadratic", "random-linear"}
    batch : int, optional
        SGD batch size in ``[1, N]`` (``N`` coordinates of φ); ``None`` is full GD.
    theta0 : sequence of float, optional
        Initial point (default: ``N(0, init_scale²)`` entries).
    init_scale : float
        Standard deviation of the default initial point.

    Returns
    -------
    list of tuple of float
        ``steps + 1`` parameter vectors in the model's parameter order
        (``numpy.asarray`` turns it into an array of shape ``(steps + 1, D)``).

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Bad sizes or options; ``lr`` so large that the iteration diverges.
    flowlaws.errors.BudgetExceeded
        φ has more than :data:`MAX_SIMULATION_TERMS` monomials.

    Examples
    --------
    >>> import flowlaws as fl
    >>> m = fl.models.factorization(2, 1, 2)
    >>> traj = simulate_gd(m, 3, 0.1, seed=0)
    >>> len(traj), len(traj[0]) == m.dim
    (4, True)
    >>> simulate_gd(m, 10, 100.0, seed=0)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: lr=100.0: gradient descent diverged at step ...; use a smaller step, e.g. lr=10.0
    """
    phi = _phi(model)
    D, N = len(tuple(model.variables)), len(phi)
    steps = _int_arg("steps", steps, 0, 100)
    lr = _positive_float("lr", lr)
    seed = _int_arg("seed", seed, 0, 0)
    init_scale = _positive_float("init_scale", init_scale)
    if loss not in LOSSES:
        raise InvalidArgument(f"loss={loss!r} (type={type(loss).__name__}): expected one of {list(LOSSES)}")
    if batch is not None:
        batch = _int_arg("batch", batch, 1, max(1, N // 2))
        if batch > N:
            raise InvalidArgument(f"batch={batch}: φ has only {N} coordinates; use batch <= {N} or batch=None")
    rng = random.Random(seed)
    if loss == "random-quadratic":
        weights = [rng.uniform(0.5, 1.5) for _ in range(N)]
        targets = [rng.gauss(0.0, 1.0) for _ in range(N)]
    else:
        weights = [rng.gauss(0.0, 1.0) for _ in range(N)]
        targets = []
    if theta0 is None:
        theta = [rng.gauss(0.0, init_scale) for _ in range(D)]
    else:
        theta = list(_rows([theta0], D)[0])
    out = [tuple(theta)]
    for step in range(1, steps + 1):
        if batch is None:
            chosen: Sequence[int] = range(N)
            factor = 1.0
        else:
            chosen = rng.sample(range(N), batch)
            factor = N / batch
        grad = [0.0] * D
        for k in chosen:
            f = phi[k]
            if targets:
                dl = weights[k] * (f.evaluate(theta) - targets[k])
            else:
                dl = weights[k]
            if not dl:
                continue
            for var, g in f.gradient_at(theta).items():
                grad[var] += factor * dl * g
        theta = [x - lr * g for x, g in zip(theta, grad)]
        if not all(math.isfinite(x) and abs(x) < 1e150 for x in theta):
            raise InvalidArgument(
                f"lr={lr!r}: gradient descent diverged at step {step}; use a smaller step, e.g. lr={lr / 10!r}"
            )
        out.append(tuple(theta))
    return out
