"""Exact check of one law against a model's flow: ``is_conserved``, ``assert_conserved``.

The model is rebuilt from ``model.to_json()`` (the certificate's ``model``
object) by the checker's own code, the law is turned into an integer
polynomial, and ``⟨∇h, χ⟩`` is expanded exactly over Z for every generator
field ``χ`` of the flow's phase space. A non-zero result comes with a small
integer point where it does not vanish.

Only gradient flow is supported for now: its phase space is the parameter
space and its fields are ``∇φ_k``. Other flows (momentum, Nesterov) plug into
:func:`_phase_space` with their own variables and fields.

What this module does not check: that the model's ``variables`` follow the
certificate's naming convention (they name the coordinates, in order).
"""

from __future__ import annotations

import difflib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import Any

from ..errors import BudgetExceeded, CertificateError, DomainError, FlowlawsError, InvalidArgument
from ..laws import Law
from ._certificate import parse_model, parse_poly, path_budget_problem
from ._polys import Field, Poly, inner, int_str

__all__ = ["NotConserved", "is_conserved", "assert_conserved"]

_FLOWS = ("gradient", "momentum", "nesterov")
_LAW_MAX_EXPONENT = 1_000_000
_SUPPORTED = ("gradient",)


class NotConserved(FlowlawsError, AssertionError):
    """A law is not conserved by a flow; carries a counterexample.

    Attributes
    ----------
    law : str
        The law as printed.
    field_index : int
        Index of the generator field ``χ`` for which ``⟨∇h, χ⟩ ≢ 0``.
    field : str
        Description of that field (e.g. ``grad phi[3] (...)``).
    point : dict of str to int
        Values of the parameters on which ``⟨∇h, χ⟩`` depends, where it is non-zero.
    value : int
        ``⟨∇h, χ⟩`` at ``point``.
    """

    def __init__(
        self, message: str, *, law: str, field_index: int, field: str, point: dict[str, int], value: int
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
    flow: str
    variables: tuple[str, ...]
    fields: tuple[_FlowField, ...]


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


@lru_cache(maxsize=32)
def _gradient_space(key: str) -> _PhaseSpace:
    data = json.loads(key)
    variables = tuple(data["variables"])
    try:
        reparam = parse_model(data["model"], len(variables))
    except CertificateError as err:
        raise InvalidArgument(f"model.to_json() is not a valid certificate model: {err}") from err
    problem = path_budget_problem(reparam)
    if problem:
        raise BudgetExceeded(problem)
    fields = tuple(
        _FlowField(k, f"grad {desc}", grad)
        for k, (desc, _phi, grad) in enumerate(reparam.coordinate_gradients())
    )
    return _PhaseSpace("gradient", variables, fields)


def _phase_space(model: Any, flow: Any, tau: Any) -> _PhaseSpace:
    if not isinstance(flow, str) or flow not in _FLOWS:
        raise InvalidArgument(f"flow={flow!r} (type={type(flow).__name__}): expected one of {list(_FLOWS)}")
    if flow not in _SUPPORTED:
        raise InvalidArgument(
            f"flow={flow!r} is not supported yet by this checker (only {list(_SUPPORTED)}); "
            "momentum phase spaces are a later issue"
        )
    if tau is not None:
        raise InvalidArgument(f"tau={tau!r}: gradient flow has no tau; leave tau=None")
    return _gradient_space(_model_key(model))


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


def _from_law(law: Law, variables: Sequence[str]) -> Poly:
    if law.time_rate:
        raise InvalidArgument(
            f"law {law} is time dependent (time_rate={law.time_rate}); gradient-flow laws are not, "
            "check it with the flow it was found for"
        )
    index = {v: i for i, v in enumerate(variables)}
    unknown = [v for v in law.variables if v not in index]
    acc: dict = {}
    for t, (coef, mono) in enumerate(law.terms):
        pairs = []
        for var, exp in mono:
            name = law.variables[var]
            if name not in index:
                raise InvalidArgument(
                    f"law {law}: unknown name(s) {unknown[:5]} for this model; {_some_names(variables, unknown[:3])}"
                )
            if type(exp) is not int or exp < 1:
                raise InvalidArgument(f"law {law}: exponent {exp!r} must be a positive int")
            pairs.append((index[name], exp))
        pairs.sort()
        m = tuple(pairs)
        acc[m] = acc.get(m, 0) + _exact(coef, f"law term {t}")
    return _from_rational_terms(acc)


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


def _parse_string(text: str, variables: Sequence[str]) -> Any:
    if not text.strip():
        raise InvalidArgument("law='': the law is empty; write a polynomial such as \"u^2 - v^2\"")
    if len(text) > 200_000:
        raise InvalidArgument(f"law string of {len(text)} characters is too long (limit 200000)")
    index = {v: i for i, v in enumerate(variables)}
    pieces: list[str] = []
    others: list[str] = []
    pos = 0
    for m in _names_pattern(variables).finditer(text):
        others.append(text[pos : m.start()])
        pieces.append(text[pos : m.start()])
        pieces.append(f" _v{index[m.group()]}_ ")
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
    local = {f"_v{i}_": sympy.Symbol(v) for i, v in enumerate(variables)}
    try:
        return parse_expr(code, local_dict=local, global_dict={"Integer": sympy.Integer, "Symbol": sympy.Symbol},
                          transformations=standard_transformations)
    except Exception as err:  # SyntaxError, TokenError, TypeError...: they vary by SymPy version
        raise InvalidArgument(f"law {text!r} does not parse as a polynomial: {err}") from err


def _from_sympy(expr: Any, variables: Sequence[str], shown: str) -> Poly:
    import sympy

    if not isinstance(expr, sympy.Expr):
        raise InvalidArgument(f"law {shown}: expected a SymPy expression, got {type(expr).__name__}")
    if expr.atoms(sympy.Float):
        raise DomainError(
            f"law {shown} has float coefficients {sorted(map(str, expr.atoms(sympy.Float)))[:3]}; "
            "use integers or sympy.Rational(1, 3)"
        )
    index = {v: i for i, v in enumerate(variables)}
    syms = expr.free_symbols
    unknown = sorted(s.name for s in syms if getattr(s, "name", None) not in index)
    if unknown:
        raise InvalidArgument(
            f"law {shown}: unknown name(s) {unknown[:5]} for this model; {_some_names(variables, unknown[:3])}"
        )
    canon = {s: sympy.Symbol(s.name) for s in syms}
    expr = sympy.expand(expr.xreplace(canon))
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
            if not (isinstance(base, sympy.Symbol) and e.is_Integer and e > 0):
                raise InvalidArgument(
                    f"law {shown} is not a polynomial in the model's variables: it contains {factor}"
                )
            if e > max_exp:
                raise InvalidArgument(f"law {shown}: exponent {e} is larger than the limit {max_exp}")
            v = index[base.name]
            mono[v] = mono.get(v, 0) + int(e)
        m = tuple(sorted(mono.items()))
        acc[m] = acc.get(m, 0) + Fraction(int(coef.p), int(coef.q))
    acc = {m: c for m, c in acc.items() if c}
    return _from_rational_terms(acc)


def _law_poly(law: Any, variables: Sequence[str]) -> tuple[Poly, str]:
    """The law as an integer polynomial (denominators cleared) and its printed form."""
    if isinstance(law, Law):
        return _from_law(law, variables), str(law)
    if isinstance(law, bool):
        raise InvalidArgument(f"law={law!r} is a bool; pass a polynomial (Law, SymPy expression or string)")
    if isinstance(law, float):
        raise DomainError(f"law={law!r} is a float; use an int, a string such as \"1/3\" or sympy.Rational")
    if isinstance(law, int):
        return Poly.constant(law), str(law)
    if isinstance(law, str):
        expr = _parse_string(law, variables)
        return _from_sympy(expr, variables, repr(law)), law
    if isinstance(law, list):
        try:
            poly = parse_poly(law, "law", len(variables))
        except CertificateError as err:
            raise InvalidArgument(f"law given as a list must be a certificate POLY: {err}") from err
        return poly, poly.to_str(variables, max_terms=8)
    if type(law).__module__.split(".")[0] == "sympy":
        shown = str(law)
        return _from_sympy(law, variables, shown), shown
    raise InvalidArgument(
        f"law={law!r} (type={type(law).__name__}): expected a flowlaws Law, a SymPy expression, "
        "a string such as \"u^2 - v^2\" or a certificate POLY list"
    )


# -- checking --------------------------------------------------------------------------
def _find_failure(space: _PhaseSpace, h: Poly) -> tuple[_FlowField, Poly] | None:
    gh = h.gradient()
    if not gh:
        return None
    for f in space.fields:
        r = inner(gh, f.components)
        if r:
            return f, r
    return None


def _counterexample(r: Poly) -> dict[int, int]:
    """A small integer point (on ``r``'s variables) where the non-zero ``r`` does not vanish."""
    vars_ = sorted(r.variables())
    full = [0] * (max(vars_) + 1 if vars_ else 1)

    def value_at(vals: Sequence[int]) -> int:
        for v, x in zip(vars_, vals):
            full[v] = x
        return r.evaluate(full)

    n = len(vars_)
    for c in (1, 2, -1):
        if value_at([c] * n):
            return dict(zip(vars_, [c] * n))
    rng = random.Random(0)
    bound = max(2, r.degree)
    for attempt in range(400):
        if attempt and attempt % 50 == 0:
            bound *= 2
        vals = [rng.randint(-bound, bound) for _ in range(n)]
        if value_at(vals):
            return dict(zip(vars_, vals))
    # Kronecker substitution: x_k = t^((d+1)^k) turns r into a non-zero univariate
    # polynomial; t larger than 1 + max |coefficient| is not a root of it.
    d = max(e for m in r.terms for _, e in m)
    t = 2 + max(abs(c) for c in r.terms.values())
    vals = [t ** ((d + 1) ** k) for k in range(n)]
    return dict(zip(vars_, vals))


def _check(model: Any, law: Any, flow: Any, tau: Any) -> tuple[_PhaseSpace, Poly, str, Any]:
    space = _phase_space(model, flow, tau)
    h, shown = _law_poly(law, space.variables)
    return space, h, shown, _find_failure(space, h)


def is_conserved(model: Any, law: Any, *, flow: str = "gradient", tau: Any = None) -> bool:
    """Whether ``law`` is conserved by ``flow`` on ``model``, exactly.

    Checks ``⟨∇h, χ⟩ ≡ 0`` as a polynomial identity over Z for every generator
    field ``χ`` of the flow (for gradient flow, ``χ = ∇φ_k`` for every
    coordinate of φ), with the checker's own arithmetic.

    Parameters
    ----------
    model : model
        Any object with ``variables`` (tuple of names) and ``to_json()``
        returning the certificate's ``model`` object.
    law : Law, SymPy expression, str or int
        The candidate law. Strings use the model's variable names, ``^`` or
        ``**`` for powers and ``/`` for rational coefficients.
    flow : {"gradient"}
        The flow; others are not supported by this checker yet.
    tau : None
        Reserved for momentum flows.

    Returns
    -------
    bool

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Unknown variable names, a non-polynomial law, an unsupported flow.
    flowlaws.errors.DomainError
        Float coefficients.
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
    """
    return _check(model, law, flow, tau)[3] is None


def assert_conserved(model: Any, law: Any, *, flow: str = "gradient", tau: Any = None) -> None:
    """Raise :class:`NotConserved` with a counterexample unless ``law`` is conserved.

    Parameters and exact semantics as :func:`is_conserved`.

    Raises
    ------
    NotConserved
        (also an ``AssertionError``) naming the law, the generator field, a
        small integer point where ``⟨∇h, χ⟩ ≠ 0`` and its value there.
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
    """
    space, h, shown, failure = _check(model, law, flow, tau)
    if failure is None:
        return
    f, r = failure
    names = space.variables
    point = {names[v]: x for v, x in _counterexample(r).items()}
    full = [0] * len(names)
    index = {v: i for i, v in enumerate(names)}
    for name, x in point.items():
        full[index[name]] = x
    value = r.evaluate(full)
    shown_point = "{" + ", ".join(f"{k}: {v}" for k, v in point.items()) + "}"
    raise NotConserved(
        f"law {shown} is not conserved by {space.flow} flow: <grad h, {f.label}> = "
        f"{r.to_str(names, max_terms=4)} is not identically 0; at {shown_point} "
        f"(other parameters do not matter) it equals {int_str(value)}",
        law=shown,
        field_index=f.index,
        field=f.label,
        point=point,
        value=value,
    )
