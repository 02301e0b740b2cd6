"""Exact check of one law against a model's flow: ``is_conserved``, ``assert_conserved``.

The model is rebuilt from ``model.to_json()`` (the certificate's ``model``
object) by the checker's own code, the law is turned into an integer
polynomial, and ``⟨∇h, χ⟩`` is expanded exactly over Z for every generator
field ``χ`` of the flow's phase space. A non-zero result comes with a small
integer point where it does not vanish.

Flows (``docs/certificate-format.md``, "Other flows"; :mod:`flowlaws.verify.checker._flows`):

* ``"gradient"``: phase space the parameters, fields ``∇φ_k`` (metric
  ``"nmf"``: ``θ ⊙ ∇φ_k``);
* ``"momentum"`` (``tau=τ ≥ 0``, default 1) and ``"nesterov"``: phase space
  ``(s, θ, v)`` with ``s = e^{τt}`` when ``τ > 0``, else ``(t, θ, v)``; the
  fields are the drift ``χ_0`` and the lifts ``(0, 0, ∇φ_k)`` (metric
  ``"nmf"``: ``(0, 0, (τθ + v) ⊙ ∇φ_k)``, up to the integer scaling of the
  format);
* a user metric ``M(θ)`` (a ``D×D`` matrix of rational functions, parsed here
  with SymPy, never by the engine): ``q·M∇φ_k`` and ``(0, 0, q(θ)M(θ)∇φ_k)``
  with ``q`` the entries' common denominator (equivalent where ``q ≠ 0``).

Velocities are named after the parameters with a trailing ``'``
(``"W1[0,0]'"``). A SymPy law may use ``t`` and ``exp``: for momentum with
``τ > 0`` every ``exp(k τ t)`` (``k`` an integer, possibly negative) becomes
``s**k`` and ``t`` may appear nowhere else; for ``τ = 0`` and Nesterov ``t``
is an ordinary coordinate. ``Derivative(f(t), t)`` and ``f(t)`` (``f`` an
undefined function named after a parameter) stand for the velocity and the
parameter. A law ``s**(-m) P`` (``m > 0``) is checked as such (``s > 0``).

What this module does not check: that the model's ``variables`` follow the
certificate's naming convention (they name the coordinates, in order).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from math import lcm
from typing import Any

from ..errors import BudgetExceeded, DomainError, FlowlawsError, InvalidArgument
from ..laws import Law
from ._conserved_laws import _is_sympy, _law_in_space, _parse_string, _some_names
from ._conserved_space import _FlowField, _model_key, _PhaseSpace, _space
from .checker._flows import FLOW_NAMES, METRICS, FlowSpec, MetricMatrix, tau_size_error
from .checker._polys import Poly, inner, int_str

__all__ = ["NotConserved", "is_conserved", "assert_conserved"]

_FLOWS = FLOW_NAMES
_DEFAULT_TAU = Fraction(1)


class NotConserved(FlowlawsError, AssertionError):
    """A law is not conserved by a flow; carries a counterexample.

    Attributes
    ----------
    law : str
        The law as printed.
    field_index : int
        Index of the generator field ``χ`` for which ``⟨∇h, χ⟩ ≢ 0``: for
        gradient flows the coordinate ``k`` of φ; for momentum and Nesterov
        ``0`` for the drift ``χ_0`` and ``k + 1`` for the lift of coordinate ``k``
        (the certificate's word leaves).
    field : str
        Description of that field (e.g. ``grad phi[3] (...)`` or ``chi_0 = ...``).
    point : dict of str to int
        Values of the phase coordinates on which ``⟨∇h, χ⟩`` depends (and,
        for momentum and Nesterov, the time coordinate ``s`` or ``t``, taken
        positive), where it is non-zero.
    value : int or Fraction
        ``⟨∇h, χ⟩`` at ``point`` (a Fraction only for a law with a negative
        power of ``s``).
    """

    def __init__(
        self, message: str, *, law: str, field_index: int, field: str, point: dict[str, int], value: int | Fraction
    ) -> None:
        super().__init__(message)
        self.law = law
        self.field_index = field_index
        self.field = field
        self.point = point
        self.value = value


NotConserved.__module__ = "flowlaws.verify"


# -- the flow, its damping and its metric, as the user gives them -------------------------------
def _tau_value(tau: Any) -> Fraction:
    if isinstance(tau, bool):
        raise InvalidArgument(f"tau={tau!r} is a bool; pass a number such as 1 or \"1/2\"")
    if isinstance(tau, float):
        raise DomainError(
            f"tau={tau!r} is a float; pass an exact value: an int, Fraction(1, 2), sympy.Rational(1, 2) or \"1/2\""
        )
    too_long = tau_size_error(tau)
    if too_long:
        raise BudgetExceeded(too_long)
    value: Fraction | None = None
    if isinstance(tau, (int, Fraction)):
        value = Fraction(tau)
    elif isinstance(tau, str):
        try:  # Fraction reads "2", "1/2" and exact decimals such as "0.5", like analyze
            value = Fraction(tau.strip())
        except (ValueError, ZeroDivisionError) as err:
            raise DomainError(
                f"tau={tau!r} is not an exact rational; write an integer or a fraction such as \"1/2\""
            ) from err
    elif _is_sympy(tau):
        import sympy

        if isinstance(tau, sympy.Float):
            raise DomainError(f"tau={tau!r} is a float; pass sympy.Rational(1, 2) or \"1/2\"")
        if isinstance(tau, sympy.Rational):
            value = Fraction(int(tau.p), int(tau.q))
    if value is None:
        raise InvalidArgument(
            f"tau={tau!r} (type={type(tau).__name__}): expected an exact rational (int, Fraction, "
            "sympy.Rational or a string such as \"1/2\")"
        )
    if value < 0:
        raise InvalidArgument(f"tau={tau!r}: the damping of momentum must be >= 0")
    return value


def _flow_spec(model: Any, flow: Any, tau: Any, metric: Any) -> FlowSpec:
    if not isinstance(flow, str) or flow not in _FLOWS:
        raise InvalidArgument(f"flow={flow!r} (type={type(flow).__name__}): expected one of {list(_FLOWS)}")
    if metric is None:
        metric = getattr(model, "metric", None)
        if metric is None:
            metric = "euclidean"
        where = "model.metric"
    else:
        where = "metric"
    if isinstance(metric, str):
        if metric not in METRICS:
            raise InvalidArgument(
                f"{where}={metric!r}: expected one of {list(METRICS)} or a D×D matrix (list of lists, "
                "SymPy Matrix or dict {(i, j): entry})"
            )
    else:
        metric = _user_metric(metric, tuple(getattr(model, "variables", ()) or ()), where)
    if flow == "nesterov" and metric != "euclidean":
        raise InvalidArgument(
            f"{where}={str(metric)!r}: Nesterov's flow is defined with the euclidean metric only; "
            "pass metric=\"euclidean\" or use flow=\"momentum\""
        )
    if flow != "momentum":
        if tau is not None:
            what = "its damping is 3/t" if flow == "nesterov" else "tau is the damping of momentum flows"
            raise InvalidArgument(f"tau={tau!r}: {flow} flow has no tau ({what}); leave tau=None")
        return FlowSpec(flow, metric, None)
    return FlowSpec(flow, metric, _DEFAULT_TAU if tau is None else _tau_value(tau))


def _sympy_rational_poly(expr: Any, variables: Sequence[str], where: str) -> dict:
    """A SymPy polynomial in ``variables`` as ``{monomial: Fraction}`` (monomials as in :class:`Poly`)."""
    import sympy

    syms = [sympy.Symbol(v) for v in variables]
    try:
        poly = sympy.Poly(sympy.expand(expr), *syms, domain="QQ")
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, sympy.CoercionFailed) as err:
        raise InvalidArgument(f"{where}: {expr} is not a quotient of polynomials in the parameters") from err
    out: dict = {}
    for exps, c in poly.terms():
        out[tuple((v, int(e)) for v, e in enumerate(exps) if e)] = Fraction(int(c.numerator), int(c.denominator))
    return out


def _user_metric(metric: Any, variables: tuple[str, ...], where: str) -> MetricMatrix:
    """A user metric (list of rows, SymPy Matrix or dict ``{(i, j): entry}``) as ``M = P/q`` over Z,
    with the checker's own parsing (SymPy, names tokenized as for laws; no engine code)."""
    import numbers

    import sympy

    if isinstance(metric, MetricMatrix):
        if metric.size != len(variables):
            raise InvalidArgument(f"{where}: a {metric.size}×{metric.size} metric for {len(variables)} parameters")
        return metric
    D = len(variables)
    cells: dict[tuple[int, int], Any] = {}
    if isinstance(metric, dict):
        for key, entry in metric.items():
            if not (isinstance(key, tuple) and len(key) == 2 and all(
                    isinstance(k, int) and not isinstance(k, bool) and 0 <= k < D for k in key)):
                raise InvalidArgument(
                    f"{where}: key {key!r}: a sparse metric is a dict {{(i, j): entry}} with integers 0 <= i, j < {D}"
                )
            cells[key] = entry
    else:
        rows = metric.tolist() if hasattr(metric, "tolist") and hasattr(metric, "shape") else metric
        if isinstance(rows, (str, bytes)) or not isinstance(rows, (list, tuple)):
            raise InvalidArgument(
                f"{where}={metric!r} (type={type(metric).__name__}): expected one of {list(METRICS)}, a D×D "
                "matrix (list of lists or SymPy Matrix) or a dict {(i, j): entry}"
            )
        if len(rows) != D or any(not isinstance(r, (list, tuple)) or len(r) != D for r in rows):
            raise InvalidArgument(
                f"{where}: expected a {D}×{D} matrix (one row and column per parameter), got {len(rows)} rows "
                f"of lengths {[len(r) if isinstance(r, (list, tuple)) else None for r in rows][:6]}"
            )
        cells = {(i, j): e for i, row in enumerate(rows) for j, e in enumerate(row)}
    fracs: dict[tuple[int, int], tuple[Any, Any]] = {}
    for (i, j), entry in sorted(cells.items()):
        at = f"{where}[{i}][{j}]"
        if isinstance(entry, bool) or isinstance(entry, float) or (
                _is_sympy(entry) and getattr(entry, "atoms", None) and entry.atoms(sympy.Float)):
            kind = DomainError if not isinstance(entry, bool) else InvalidArgument
            raise kind(f"{at}={entry!r} is not exact; write an int, a Fraction or a string such as \"1/(1 + x^2)\"")
        if isinstance(entry, (numbers.Integral, Fraction)):
            expr = sympy.Rational(int(entry.numerator), int(entry.denominator))
        elif isinstance(entry, str):
            try:
                expr = _parse_string(entry, variables, "metric entries are read within it; simplify the entry")
            except (InvalidArgument, DomainError) as err:
                raise type(err)(f"{at}: {err}".replace("law ", "entry ", 1)) from err
        elif _is_sympy(entry):
            expr = entry
            unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in variables)
            if unknown:
                raise InvalidArgument(f"{at}={entry}: unknown name(s) {unknown[:5]}; {_some_names(variables, unknown[:3])}")
            expr = expr.xreplace({s: sympy.Symbol(str(s)) for s in expr.free_symbols})
        else:
            raise InvalidArgument(f"{at}={entry!r} (type={type(entry).__name__}): expected an int, Fraction, str or SymPy expression")
        num, den = sympy.fraction(sympy.cancel(sympy.together(expr)))
        if num != 0:
            fracs[(i, j)] = (num, den)
    for i in range(D):
        if not any(k[0] == i for k in fracs):
            raise InvalidArgument(f"{where}: row {i} ({variables[i]}) is identically zero; every row needs a non-zero entry")
    q = sympy.Integer(1)
    for _num, den in fracs.values():
        q = sympy.lcm(q, den)
    polys = {k: _sympy_rational_poly(sympy.cancel(num * q / den), variables, f"{where}{list(k)}")
             for k, (num, den) in fracs.items()}
    qpoly = _sympy_rational_poly(q, variables, f"{where} (denominator)")
    scale = lcm(*(c.denominator for f in [qpoly, *polys.values()] for c in f.values()))
    entries = {k: Poly({m: int(c * scale) for m, c in f.items()}) for k, f in polys.items()}
    return MetricMatrix(D, entries, Poly({m: int(c * scale) for m, c in qpoly.items()}))


def _phase_space(model: Any, flow: Any, tau: Any, metric: Any = None) -> _PhaseSpace:
    spec = _flow_spec(model, flow, tau, metric)
    return _space(_model_key(model), spec)


# -- checking --------------------------------------------------------------------------
def _find_failure(space: _PhaseSpace, h: Poly, m: int) -> tuple[_FlowField, Poly] | None:
    """The first field ``χ`` with ``⟨∇(s^-m h), χ⟩ ≢ 0``, and ``s^m ⟨∇(s^-m h), χ⟩`` (a polynomial)."""
    gh = h.gradient()
    if not gh and not m:
        return None
    a = space.spec.drift_coefficients()[0]
    for f in space.fields:
        r = inner(gh, f.components)
        if m and space.spec.has_drift and f.index == 0:
            # χ_0 = a s ∂_s + ...: ⟨∇(s^-m h), χ_0⟩ = s^-m (⟨∇h, χ_0⟩ - m a h)
            r = r - h * (m * a)
        if r:
            return f, r
    return None


def _counterexample(r: Poly, positive: frozenset[int] = frozenset()) -> dict[int, int]:
    """A small integer point (on ``r``'s variables) where the non-zero ``r`` does not vanish,
    with positive values on the indices in ``positive``."""
    vars_ = sorted(r.variables())
    full = [0] * (max(vars_) + 1 if vars_ else 1)

    def value_at(vals: Sequence[int]) -> int:
        for v, x in zip(vars_, vals):
            full[v] = x
        return r.evaluate(full)

    n = len(vars_)
    for c in (1, 2, -1):
        vals = [1 if (c < 0 and v in positive) else c for v in vars_]
        if value_at(vals):
            return dict(zip(vars_, vals))
    for vals in (list(range(1, n + 1)), list(range(n, 0, -1))):
        if value_at(vals):
            return dict(zip(vars_, vals))
    rng = random.Random(0)
    bound = max(2, r.degree)
    for attempt in range(400):
        if attempt and attempt % 50 == 0:
            bound *= 2
        vals = [rng.randint(1 if v in positive else -bound, bound) for v in vars_]
        if value_at(vals):
            return dict(zip(vars_, vals))
    # Kronecker substitution: x_k = t^((d+1)^k) turns r into a non-zero univariate
    # polynomial; t larger than 1 + max |coefficient| is not a root of it.
    d = max(e for m in r.terms for _, e in m)
    t = 2 + max(abs(c) for c in r.terms.values())
    vals = [t ** ((d + 1) ** k) for k in range(n)]
    return dict(zip(vars_, vals))


def _decay_value(weight_decay: Any, flow: Any, space: _PhaseSpace) -> Fraction:
    """``λ`` as an exact rational ``≥ 0`` (the rules of ``tau``), for gradient or momentum flow, euclidean."""
    try:
        lam = _tau_value(weight_decay)
    except (InvalidArgument, DomainError) as err:
        text = str(err).replace("tau", "weight_decay").replace("damping of momentum", "weight decay")
        raise type(err)(text) from err
    if lam and (flow not in ("gradient", "momentum") or space.spec.metric != "euclidean"):
        raise InvalidArgument(f"weight_decay={weight_decay!r}: weight decay is checked for gradient and momentum flows "
                              f"with the euclidean metric, not the {space.spec.describe()}")
    return lam


def _check(
    model: Any, law: Any, flow: Any, tau: Any, metric: Any, weight_decay: Any = None
) -> tuple[_PhaseSpace, Poly, int, str, tuple[_FlowField, Poly] | None]:
    space = _phase_space(model, flow, tau, metric)
    lam = Fraction(0) if weight_decay is None else _decay_value(weight_decay, flow, space)
    if lam and flow == "momentum":  # the drift gains −λθ on the velocities
        space = _space(_model_key(model), replace(space.spec, weight_decay=lam))
    elif lam:  # gradient flow: a law exp(k t)·H(θ) needs H conserved and k H = λ θ·∇H (Euler)
        rate = Fraction(0)
        if isinstance(law, Law) and law.time_rate:
            rate = _exact_rate(law.time_rate, str(law))
            law = replace(law, time_rate=0)
        h, m, shown = _law_in_space(law, space)
        failure = _find_failure(space, h, m)
        if failure is None:
            euler = Poly({}) if not h else sum((Poly.variable(j) * d for j, d in h.gradient().items()), Poly({}))
            r = h * (rate.numerator * lam.denominator) - euler * (lam.numerator * rate.denominator)
            if r:
                label = f"chi_0 = {lam}*(s d/ds - theta.d/dtheta) (times a positive integer), s = exp({lam}*t)"
                failure = (_FlowField(-1, label, {}), r)
        if rate:
            shown = f"exp({rate}*t)*({shown})"
        return replace(space, spec=replace(space.spec, weight_decay=lam)), h, m, shown, failure
    h, m, shown = _law_in_space(law, space)
    return space, h, m, shown, _find_failure(space, h, m)


def _exact_rate(rate: Any, shown: str) -> Fraction:
    if isinstance(rate, float):
        raise DomainError(f"law {shown}: time_rate={rate!r} is a float; laws carry exact rates")
    return Fraction(rate)


def is_conserved(model: Any, law: Any, *, flow: str = "gradient", tau: Any = None, metric: str | None = None,
                 weight_decay: Any = None) -> bool:
    """Whether ``law`` is conserved by ``flow`` on ``model``, exactly.

    Checks ``⟨∇h, χ⟩ ≡ 0`` as a polynomial identity over Z for every field
    ``χ`` of the flow's phase space, with the checker's own arithmetic: for
    gradient flow ``χ = ∇φ_k`` (``θ ⊙ ∇φ_k`` under the NMF metric) for every
    coordinate of φ; for momentum and Nesterov the drift ``χ_0`` and the lifts
    ``(0, 0, ∇φ_k)`` (``docs/certificate-format.md``, "Other flows").

    Parameters
    ----------
    model : model
        Any object with ``variables`` (tuple of parameter names) and
        ``to_json()`` returning the certificate's ``model`` object; an optional
        attribute ``metric`` (``"euclidean"`` or ``"nmf"``) sets the metric.
    law : Law, SymPy expression, str or int
        The candidate law, a polynomial in the phase coordinates: the
        parameters for gradient flow; ``s`` (or ``t``), the parameters and the
        velocities ``name'`` for momentum and Nesterov. Strings use ``^`` or
        ``**`` for powers and ``/`` for rational coefficients. For momentum with
        ``τ > 0`` SymPy expressions (and strings) may use ``exp(k*τ*t)``,
        read as ``s**k`` (``k`` an integer); ``Derivative(f(t), t)`` / ``f(t)``
        with ``f = Function(name)`` stand for the velocity / the parameter. A
        :class:`~flowlaws.laws.Law` names its variables; a ``time_rate`` is the
        factor ``exp(time_rate*t)``.
    flow : {"gradient", "momentum", "nesterov"}
    tau : int, Fraction, str or sympy.Rational, optional
        The damping ``τ ≥ 0`` of momentum (default ``1``); only for momentum.
    metric : {"euclidean", "nmf"}, optional
        Overrides ``model.metric`` (default euclidean). A user metric ``M(θ)``
        is a ``D×D`` list of rows, a SymPy ``Matrix`` or a sparse dict
        ``{(i, j): entry}`` of ints, Fractions, strings such as
        ``"1/(1 + x^2)"`` or SymPy expressions in the parameters; the law is
        checked against ``q·M∇φ_k`` (``q`` the common denominator), the same
        condition as for ``M`` wherever ``q ≠ 0``. Nesterov's flow has the
        euclidean metric only.
    weight_decay : int, Fraction, str or sympy.Rational, optional
        Exact ``λ ≥ 0`` (euclidean metric): momentum's drift gains ``−λθ``; under
        gradient flow a law ``exp(k t)·H(θ)`` (a :class:`~flowlaws.laws.Law` with
        ``time_rate=k``, as ``analyze(..., weight_decay=λ)`` returns it, or a
        polynomial ``H`` with ``k = 0``) must have ``H`` conserved and
        ``k H = λ θ·∇H``.

    Returns
    -------
    bool

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Unknown variable names, a non-polynomial law (e.g. ``t`` outside
        ``exp(k τ t)`` under momentum with ``τ > 0``), an unknown flow or
        metric, a metric matrix of the wrong shape or with a zero row, a tau
        where none belongs or a negative tau.
    flowlaws.errors.DomainError
        Float coefficients, a float tau or a float metric entry.
    flowlaws.errors.BudgetExceeded
        A network with more paths than the checker expands (``LIMITS["paths"]``).

    See Also
    --------
    assert_conserved : the same check, raising with a counterexample.

    Examples
    --------
    >>> class UV:  # phi = u*v, a stand-in for a flowlaws model
    ...     variables = ("u", "v")
    ...     def to_json(self):
    ...         return {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]}
    >>> is_conserved(UV(), "u^2 - v^2"), is_conserved(UV(), "u*v")
    (True, False)

    Under momentum the phase space is ``(s, u, v, u', v')`` with ``s = e^{τt}``:

    >>> is_conserved(UV(), "u^2 - v^2", flow="momentum", tau=1)
    False
    >>> import sympy
    >>> t, u, v, du, dv = sympy.symbols("t u v u' v'")
    >>> is_conserved(UV(), sympy.exp(t) * (u * dv - v * du), flow="momentum", tau=1)
    False

    A metric ``M = diag(1, 2)`` turns ``u^2 - v^2`` into ``2u^2 - v^2``:

    >>> is_conserved(UV(), "2*u^2 - v^2", metric=[[1, 0], [0, 2]]), is_conserved(UV(), "u^2 - v^2", metric=[[1, 0], [0, 2]])
    (True, False)
    """
    return _check(model, law, flow, tau, metric, weight_decay)[4] is None


def assert_conserved(
    model: Any, law: Any, *, flow: str = "gradient", tau: Any = None, metric: str | None = None,
    weight_decay: Any = None,
) -> None:
    """Raise :class:`NotConserved` with a counterexample unless ``law`` is conserved.

    Parameters and exact semantics as :func:`is_conserved`.

    Raises
    ------
    NotConserved
        (also an ``AssertionError``) naming the law, the field (``χ_0`` or a
        generator), a small integer point of the phase space where
        ``⟨∇h, χ⟩ ≠ 0`` (time coordinate and, under the NMF metric, the
        parameters positive) and its value there.
    flowlaws.errors.InvalidArgument, flowlaws.errors.DomainError, flowlaws.errors.BudgetExceeded
        As :func:`is_conserved`.

    Examples
    --------
    >>> class UV:
    ...     variables = ("u", "v")
    ...     def to_json(self):
    ...         return {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]}
    >>> assert_conserved(UV(), "u^2 - v^2")
    >>> assert_conserved(UV(), "u^2")
    Traceback (most recent call last):
    ...
    flowlaws.verify.NotConserved: law u^2 is not conserved by gradient flow: <grad h, grad phi[0]> = 2*u*v is not identically 0; at {u: 1, v: 1} (other parameters do not matter) it equals 2
    >>> assert_conserved(UV(), "s*(u*v' - v*u')", flow="momentum")
    Traceback (most recent call last):
    ...
    flowlaws.verify.NotConserved: law s*(u*v' - v*u') is not conserved by momentum flow (tau=1): <grad h, (0, 0, grad phi[0])> = s*u^2 - s*v^2 is not identically 0; at {s: 1, u: 2, v: 3} (other coordinates do not matter) it equals -5
    """
    __tracebackhide__ = True  # pytest: the failure shows the caller's line and the counterexample, not this code
    space, h, m, shown, failure = _check(model, law, flow, tau, metric, weight_decay)
    if failure is None:
        return
    f, r = failure
    names = space.variables
    search = r
    if isinstance(space.spec.metric, MetricMatrix) and space.spec.metric.denominator.degree > 0:
        # a point where the metric's denominator q does not vanish either (M is defined there)
        search = r * space.spec.metric.denominator.shift(1 if space.spec.has_drift else 0)
    index_point = _counterexample(search, space.positive)
    if space.time_index is not None:
        index_point.setdefault(space.time_index, 1)
    point = {names[v]: x for v, x in sorted(index_point.items())}
    full = [0] * len(names)
    for v, x in index_point.items():
        full[v] = x
    value: int | Fraction = r.evaluate(full)
    residual = r.to_str(names, max_terms=4)
    if m:
        value = Fraction(value, full[0] ** m)
        if value.denominator == 1:
            value = int(value)
        residual = f"s^-{m}*({residual})"
    shown_point = "{" + ", ".join(f"{k}: {v}" for k, v in point.items()) + "}"
    others = "coordinates" if space.spec.has_drift else "parameters"
    shown_value = int_str(value) if isinstance(value, int) else str(value)
    raise NotConserved(
        f"law {shown} is not conserved by {space.spec.describe()}: <grad h, {f.label}> = "
        f"{residual} is not identically 0; at {shown_point} "
        f"(other {others} do not matter) it equals {shown_value}",
        law=shown,
        field_index=f.index,
        field=f.label,
        point=point,
        value=value,
    )
