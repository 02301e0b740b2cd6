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

import difflib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import Any

from ..errors import BudgetExceeded, CertificateError, DomainError, FlowlawsError, InvalidArgument
from ..laws import Law
from .checker import parse_model, parse_poly, path_budget_problem
from .checker._flows import FLOW_NAMES, METRICS, FlowSpec, MetricMatrix, law_fields
from .checker._polys import Field, Poly, inner, int_str

__all__ = ["NotConserved", "is_conserved", "assert_conserved"]

_FLOWS = FLOW_NAMES
_LAW_MAX_EXPONENT = 1_000_000
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


# -- the flow's phase space -----------------------------------------------------------------
@dataclass(frozen=True)
class _FlowField:
    index: int
    label: str
    components: Field  # over Z


@dataclass(frozen=True)
class _PhaseSpace:
    spec: FlowSpec
    params: tuple[str, ...]
    variables: tuple[str, ...]
    fields: tuple[_FlowField, ...]

    @property
    def flow(self) -> str:
        return self.spec.name

    @property
    def time_index(self) -> int | None:
        """Index of ``s``/``t`` (``None`` for gradient flows)."""
        return 0 if self.spec.has_drift else None

    @property
    def positive(self) -> frozenset[int]:
        """Coordinates whose counterexample values are taken positive: the time (``s = e^{τt} > 0``,
        ``t > 0``) and, under the NMF metric, the parameters (``θ > 0``)."""
        out = set()
        if self.spec.has_drift:
            out.add(0)
        if self.spec.metric == "nmf":
            start = 1 if self.spec.has_drift else 0
            out.update(range(start, start + len(self.params)))
        return frozenset(out)


def _model_key(model: Any) -> str:
    variables = getattr(model, "variables", None)
    to_json = getattr(model, "to_json", None)
    if variables is None or not callable(to_json):
        raise InvalidArgument(
            f"model={type(model).__name__}: expected a flowlaws model with .variables and .to_json() "
            "(for example fl.models.mlp([2, 2, 1]))"
        )
    variables = tuple(variables)
    if not variables or not all(isinstance(v, str) for v in variables):
        raise InvalidArgument(f"model.variables must be a non-empty sequence of str, got {variables[:5]!r}")
    if len(set(variables)) != len(variables):
        raise InvalidArgument("model.variables has repeated names; each coordinate needs its own name")
    data = to_json()
    try:
        return json.dumps({"variables": list(variables), "model": data}, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise InvalidArgument(f"model.to_json() is not JSON-serialisable: {err}") from err


def _gradient_coordinates(key: str) -> tuple[tuple[str, ...], tuple[tuple[str, Field], ...]]:
    """The parameter names and ``(description, ∇φ_k)`` over Z of a model."""
    data = json.loads(key)
    variables = tuple(data["variables"])
    try:
        reparam = parse_model(data["model"], len(variables))
    except CertificateError as err:
        raise InvalidArgument(f"model.to_json() is not a valid certificate model: {err}") from err
    problem = path_budget_problem(reparam)
    if problem:
        raise BudgetExceeded(problem)
    return variables, tuple((desc, grad) for desc, _phi, grad in reparam.coordinate_gradients())


@lru_cache(maxsize=32)
def _space(key: str, spec: FlowSpec) -> _PhaseSpace:
    params, coords = _gradient_coordinates(key)
    if spec.has_drift:
        reserved = sorted({"s", "t"} & set(params))
        if reserved:
            raise InvalidArgument(
                f"parameters named {reserved}: under the {spec.describe()} 's' and 't' denote time "
                "(s = exp(tau*t)); rename those parameters"
            )
    variables = tuple(spec.phase_names(params))
    if len(set(variables)) != len(variables):
        seen: set[str] = set()
        clash = [v for v in variables if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
        raise InvalidArgument(
            f"the {spec.describe()} has the phase coordinates {spec.time_name!r}, the parameters and their "
            f"velocities (name + \"'\"), but the names {clash[:3]} clash; rename those parameters"
        )
    fields = tuple(_FlowField(i, label, chi) for i, label, chi in law_fields(spec, len(params), coords))
    return _PhaseSpace(spec, params, variables, fields)


#: The cache of :func:`_space` under its historical name (``_gradient_space.cache_clear()``).
_gradient_space = _space


def _tau_value(tau: Any) -> Fraction:
    if isinstance(tau, bool):
        raise InvalidArgument(f"tau={tau!r} is a bool; pass a number such as 1 or \"1/2\"")
    if isinstance(tau, float):
        raise DomainError(
            f"tau={tau!r} is a float; pass an exact value: an int, Fraction(1, 2), sympy.Rational(1, 2) or \"1/2\""
        )
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
                expr = _parse_string(entry, variables)
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


# -- laws as integer polynomials ---------------------------------------------------------------
def _some_names(variables: Sequence[str], wanted: Sequence[str] = ()) -> str:
    close: list[str] = []
    for w in wanted:
        close += [c for c in difflib.get_close_matches(w, variables, n=3) if c not in close]
    shown = close or list(variables[:5])
    text = ", ".join(shown)
    more = "" if len(shown) == len(variables) else f", ... ({len(variables)} in all)"
    label = "close names" if close else "valid names"
    return f"{label}: {text}{more}"


def _exact(c: Any, where: str) -> Fraction:
    if isinstance(c, bool):
        raise InvalidArgument(f"{where}: coefficient {c!r} is a bool; use an int")
    if isinstance(c, int):
        return Fraction(c)
    if isinstance(c, Fraction):
        return c
    if isinstance(c, float):
        raise DomainError(f"{where}: coefficient {c!r} is a float; use an int, a Fraction or sympy.Rational")
    try:
        import sympy

        if isinstance(c, sympy.Rational):
            return Fraction(int(c.p), int(c.q))
    except ImportError:  # pragma: no cover
        pass
    raise InvalidArgument(f"{where}: coefficient {c!r} (type={type(c).__name__}) is not an exact rational")


def _from_rational_terms(terms: dict) -> Poly:
    den = lcm(*(c.denominator for c in terms.values())) if terms else 1
    return Poly({m: int(c * den) for m, c in terms.items()})


def _to_poly(terms: dict, space: _PhaseSpace) -> tuple[Poly, int]:
    """``(P, m)`` with the law ``= s**(-m) * P / (positive integer)``: denominators cleared and,
    when the time coordinate is ``s = e^{τt}``, negative powers of ``s`` multiplied away."""
    terms = {m: c for m, c in terms.items() if c}
    m_s = 0
    if space.spec.time_name == "s":
        for mono in terms:
            if mono and mono[0][0] == 0 and mono[0][1] < 0:
                m_s = max(m_s, -mono[0][1])
    if m_s:
        shifted: dict = {}
        for mono, c in terms.items():
            e0 = (mono[0][1] if mono and mono[0][0] == 0 else 0) + m_s
            rest = mono[1:] if mono and mono[0][0] == 0 else mono
            key = (((0, e0),) + rest) if e0 else rest
            shifted[key] = shifted.get(key, 0) + c
        terms = {m: c for m, c in shifted.items() if c}
    return _from_rational_terms(terms), m_s


def _time_factor(rate: Any, space: _PhaseSpace, shown: str) -> int:
    """The power ``k`` of ``s`` equal to ``exp(rate * t)`` under momentum with ``τ > 0``."""
    spec = space.spec
    if spec.time_name != "s":
        if not spec.has_drift:
            raise InvalidArgument(
                f"law {shown} is time dependent (time_rate={rate}); gradient-flow laws are not, "
                "check it with the flow it was found for"
            )
        raise InvalidArgument(
            f"law {shown} has a factor exp({rate}*t), but under the {spec.describe()} the time t is itself a "
            "phase coordinate and exp(...) is not a polynomial; only momentum with tau > 0 turns exp(k*tau*t) "
            "into s**k"
        )
    assert spec.tau
    k = rate / spec.tau
    if k.denominator != 1:
        raise InvalidArgument(
            f"law {shown}: exp({rate}*t) is not an integer power of s = exp({spec.tau}*t) (tau={spec.tau}); "
            f"{rate}/{spec.tau} = {k} is not an integer. Is tau right?"
        )
    return int(k)


def _from_law(law: Law, space: _PhaseSpace) -> tuple[Poly, int]:
    variables = space.variables
    s_power = 0
    if law.time_rate:
        s_power = _time_factor(_exact(law.time_rate, f"law {law}: time_rate"), space, str(law))
    index = {v: i for i, v in enumerate(variables)}
    unknown = [v for v in law.variables if v not in index]
    acc: dict = {}
    for t, (coef, mono) in enumerate(law.terms):
        exps: dict[int, int] = {0: s_power} if s_power else {}
        for var, exp in mono:
            name = law.variables[var]
            if name not in index:
                raise InvalidArgument(
                    f"law {law}: unknown name(s) {unknown[:5]} for this model; {_some_names(variables, unknown[:3])}"
                )
            if type(exp) is not int or exp < 1:
                raise InvalidArgument(f"law {law}: exponent {exp!r} must be a positive int")
            exps[index[name]] = exps.get(index[name], 0) + exp
        m = tuple(sorted((v, e) for v, e in exps.items() if e))
        acc[m] = acc.get(m, 0) + _exact(coef, f"law term {t}")
    return _to_poly(acc, space)


_FLOAT_RE = re.compile(r"(?<![0-9A-Za-z_])(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+[eE][+-]?[0-9]+)")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?")
_ALLOWED = set("0123456789+-*/^() \t\n")


def _names_pattern(variables: Sequence[str]) -> re.Pattern:
    parts = []
    for name in sorted(variables, key=len, reverse=True):
        pat = re.escape(name)
        if re.match(r"\w", name[0]):
            pat = r"(?<!\w)" + pat
        if re.match(r"\w", name[-1]):
            pat = pat + r"(?![\w\[])"
        parts.append(pat)
    return re.compile("|".join(parts))


def _string_extras(space: _PhaseSpace) -> tuple[str, ...]:
    """Names a law string may use besides the coordinates: ``exp`` (and ``t`` when ``s = e^{τt}``)."""
    if not space.spec.has_drift:
        return ()
    extras = ("exp", "t") if space.spec.time_name == "s" else ("exp",)
    return tuple(e for e in extras if e not in space.variables)


def _parse_law_string(text: str, space: _PhaseSpace) -> Any:
    variables = space.variables
    if not text.strip():
        raise InvalidArgument("law='': the law is empty; write a polynomial such as \"u^2 - v^2\"")
    if len(text) > 200_000:
        raise InvalidArgument(f"law string of {len(text)} characters is too long (limit 200000)")
    extras = _string_extras(space)
    tokens = {v: f" _v{i}_ " for i, v in enumerate(variables)}
    tokens.update({e: f" _x{j}_ " for j, e in enumerate(extras)})
    pieces: list[str] = []
    others: list[str] = []
    pos = 0
    for m in _names_pattern(list(tokens)).finditer(text):
        others.append(text[pos : m.start()])
        pieces.append(text[pos : m.start()])
        pieces.append(tokens[m.group()])
        pos = m.end()
    others.append(text[pos:])
    pieces.append(text[pos:])
    rest = " ".join(others)
    fl = _FLOAT_RE.search(rest)
    if fl:
        raise DomainError(
            f"law {text!r}: {fl.group()!r} is a float; use integers or a fraction such as \"1/3\" "
            "(or a SymPy expression with sympy.Rational)"
        )
    unknown = _IDENT_RE.findall(rest)
    if unknown:
        found = list(dict.fromkeys(unknown))
        raise InvalidArgument(
            f"law {text!r}: unknown name(s) {found[:5]} for this model; {_some_names(variables, found[:3])}"
        )
    bad = sorted({ch for ch in rest if ch not in _ALLOWED})
    if bad:
        raise InvalidArgument(
            f"law {text!r}: unexpected character(s) {bad}; use variable names, integers, + - * / ^ ** and parentheses"
        )
    import sympy
    from sympy.parsing.sympy_parser import parse_expr, standard_transformations

    code = "".join(pieces).replace("^", "**")
    local: dict[str, Any] = {f"_v{i}_": sympy.Symbol(v) for i, v in enumerate(variables)}
    for j, e in enumerate(extras):
        local[f"_x{j}_"] = sympy.exp if e == "exp" else sympy.Symbol(e)
    try:
        return parse_expr(code, local_dict=local, global_dict={"Integer": sympy.Integer, "Symbol": sympy.Symbol},
                          transformations=standard_transformations)
    except Exception as err:  # SyntaxError, TokenError, TypeError...: they vary by SymPy version
        raise InvalidArgument(f"law {text!r} does not parse as a polynomial: {err}") from err


def _time_forms(expr: Any, space: _PhaseSpace, shown: str) -> Any:
    """Velocities written ``Derivative(f(t), t)``, parameters ``f(t)``, and ``exp(k τ t) -> s**k``."""
    import sympy
    from sympy.core.function import AppliedUndef

    T = sympy.Symbol("t")
    params = set(space.params)
    reps: dict = {}
    for d in expr.atoms(sympy.Derivative):
        f = d.expr
        name = getattr(getattr(f, "func", None), "__name__", None)
        if not (isinstance(f, AppliedUndef) and f.args == (T,) and name in params):
            raise InvalidArgument(
                f"law {shown}: {d} is not understood; a velocity is Derivative(f(t), t) with f named after a "
                f"parameter, or the symbol \"name'\" ({_some_names(space.params, [str(name)])})"
            )
        if tuple(d.variables) != (T,):
            raise InvalidArgument(
                f"law {shown}: {d} is not a phase coordinate; only first derivatives (velocities {name}') are"
            )
        reps[d] = sympy.Symbol(f"{name}'")
    expr = expr.xreplace(reps) if reps else expr
    reps = {}
    for f in expr.atoms(AppliedUndef):
        name = f.func.__name__
        if f.args != (T,) or name not in params:
            raise InvalidArgument(
                f"law {shown}: unknown function {f}; write a parameter as a symbol or as f(t) with f named after "
                f"it ({_some_names(space.params, [name])})"
            )
        reps[f] = sympy.Symbol(name)
    expr = expr.xreplace(reps) if reps else expr
    if space.spec.time_name != "s":
        return expr  # t is a coordinate; exp(...) is refused as non-polynomial later
    reps = {}
    for e in expr.atoms(sympy.exp):
        coef, rest = e.args[0].as_coeff_Mul()
        if rest != T or not coef.is_Rational:
            raise InvalidArgument(
                f"law {shown}: {e} is not exp(k*tau*t); under the {space.spec.describe()} time enters only as "
                f"s = exp({space.spec.tau}*t)"
            )
        k = _time_factor(Fraction(int(coef.p), int(coef.q)), space, shown)
        reps[e] = sympy.Symbol("s") ** k
    expr = expr.xreplace(reps) if reps else expr
    if T in expr.free_symbols:
        raise InvalidArgument(
            f"law {shown}: t appears outside a factor exp(k*tau*t); under the {space.spec.describe()} the phase "
            f"space has s = exp({space.spec.tau}*t), not t (write the law with exp(k*{space.spec.tau}*t) or s**k)"
        )
    return expr


def _from_sympy(expr: Any, space: _PhaseSpace, shown: str) -> tuple[Poly, int]:
    import sympy

    variables = space.variables
    if not isinstance(expr, sympy.Expr):
        raise InvalidArgument(f"law {shown}: expected a SymPy expression, got {type(expr).__name__}")
    if expr.atoms(sympy.Float):
        raise DomainError(
            f"law {shown} has float coefficients {sorted(map(str, expr.atoms(sympy.Float)))[:3]}; "
            "use integers or sympy.Rational(1, 3)"
        )
    canon = {s: sympy.Symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
    expr = expr.xreplace(canon)
    if space.spec.has_drift:
        expr = _time_forms(expr, space, shown)
    index = {v: i for i, v in enumerate(variables)}
    syms = expr.free_symbols
    unknown = sorted(str(getattr(s, "name", s)) for s in syms if getattr(s, "name", None) not in index)
    if unknown:
        raise InvalidArgument(
            f"law {shown}: unknown name(s) {unknown[:5]} for this model; {_some_names(variables, unknown[:3])}"
        )
    expr = sympy.expand(expr)
    laurent = space.spec.time_name == "s"
    # walk the expanded sum ourselves: sympy.Poly would store x^(10^8) densely
    max_exp = _LAW_MAX_EXPONENT
    acc: dict = {}
    for term in sympy.Add.make_args(expr):
        coef, rest = term.as_coeff_Mul()
        if not coef.is_Rational:
            raise InvalidArgument(f"law {shown}: coefficient {coef} is not rational; use integers or fractions")
        mono: dict[int, int] = {}
        for factor in sympy.Mul.make_args(rest):
            if factor == 1:
                continue
            base, e = factor.as_base_exp()
            if not factor.free_symbols:
                raise InvalidArgument(
                    f"law {shown}: coefficient {factor} is not rational; conservation laws here have "
                    "integer or rational coefficients"
                )
            negative_s = laurent and isinstance(base, sympy.Symbol) and base.name == "s" and e.is_Integer
            if not (isinstance(base, sympy.Symbol) and e.is_Integer and (e > 0 or negative_s)):
                raise InvalidArgument(
                    f"law {shown} is not a polynomial in the model's variables: it contains {factor}"
                )
            if abs(e) > max_exp:
                raise InvalidArgument(f"law {shown}: exponent {e} is larger than the limit {max_exp}")
            v = index[base.name]
            mono[v] = mono.get(v, 0) + int(e)
        m = tuple(sorted((v, e) for v, e in mono.items() if e))
        acc[m] = acc.get(m, 0) + Fraction(int(coef.p), int(coef.q))
    return _to_poly(acc, space)


def _is_sympy(x: Any) -> bool:
    """Whether ``x`` is a SymPy object (without importing SymPy); ``f(t)`` classes have no module."""
    return any((getattr(c, "__module__", None) or "").split(".")[0] == "sympy" for c in type(x).__mro__)


def _law_in_space(law: Any, space: _PhaseSpace) -> tuple[Poly, int, str]:
    """The law as ``s**(-m) * P`` with ``P`` an integer polynomial (denominators cleared), and its printed form."""
    variables = space.variables
    if isinstance(law, Law):
        return (*_from_law(law, space), str(law))
    if isinstance(law, bool):
        raise InvalidArgument(f"law={law!r} is a bool; pass a polynomial (Law, SymPy expression or string)")
    if isinstance(law, float):
        raise DomainError(f"law={law!r} is a float; use an int, a string such as \"1/3\" or sympy.Rational")
    if isinstance(law, int):
        return Poly.constant(law), 0, str(law)
    if isinstance(law, str):
        expr = _parse_law_string(law, space)
        return (*_from_sympy(expr, space, repr(law)), law)
    if isinstance(law, list):
        try:
            poly = parse_poly(law, "law", len(variables))
        except CertificateError as err:
            raise InvalidArgument(f"law given as a list must be a certificate POLY: {err}") from err
        return poly, 0, poly.to_str(variables, max_terms=8)
    if _is_sympy(law):
        shown = str(law)
        return (*_from_sympy(law, space, shown), shown)
    raise InvalidArgument(
        f"law={law!r} (type={type(law).__name__}): expected a flowlaws Law, a SymPy expression, "
        "a string such as \"u^2 - v^2\" or a certificate POLY list"
    )


def _parameter_space(variables: Sequence[str]) -> _PhaseSpace:
    """A gradient-flow phase space on ``variables`` without fields (for parsing only)."""
    names = tuple(variables)
    return _PhaseSpace(FlowSpec("gradient"), names, names, ())


def _parse_string(text: str, variables: Sequence[str]) -> Any:
    """A law string in the parameters ``variables`` as a SymPy expression (gradient-flow names)."""
    return _parse_law_string(text, _parameter_space(variables))


def _law_poly(law: Any, variables: Sequence[str]) -> tuple[Poly, str]:
    """A law in the parameters ``variables`` as an integer polynomial (denominators cleared) and its
    printed form (gradient-flow names; see :func:`_law_in_space` for phase spaces)."""
    h, _m, shown = _law_in_space(law, _parameter_space(variables))
    return h, shown


# -- checking --------------------------------------------------------------------------
def _find_failure(space: _PhaseSpace, h: Poly, m: int) -> tuple[_FlowField, Poly] | None:
    """The first field ``χ`` with ``⟨∇(s^-m h), χ⟩ ≢ 0``, and ``s^m ⟨∇(s^-m h), χ⟩`` (a polynomial)."""
    gh = h.gradient()
    if not gh and not m:
        return None
    a = space.spec.ab[0]
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


def _check(
    model: Any, law: Any, flow: Any, tau: Any, metric: Any
) -> tuple[_PhaseSpace, Poly, int, str, tuple[_FlowField, Poly] | None]:
    space = _phase_space(model, flow, tau, metric)
    h, m, shown = _law_in_space(law, space)
    return space, h, m, shown, _find_failure(space, h, m)


def is_conserved(model: Any, law: Any, *, flow: str = "gradient", tau: Any = None, metric: str | None = None) -> bool:
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
    return _check(model, law, flow, tau, metric)[4] is None


def assert_conserved(
    model: Any, law: Any, *, flow: str = "gradient", tau: Any = None, metric: str | None = None
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
    space, h, m, shown, failure = _check(model, law, flow, tau, metric)
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
