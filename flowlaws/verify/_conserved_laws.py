"""A law as an integer polynomial on a phase space, for :func:`~flowlaws.verify.is_conserved`.

A law is a :class:`~flowlaws.laws.Law`, a SymPy expression, a string (parsed
with SymPy after the model's names are tokenized, never by the engine), an
int or a certificate POLY list. :func:`_law_in_space` returns ``(P, m, shown)``
with the law equal to ``s**(-m) * P`` up to a positive integer factor.

>>> from flowlaws.verify._conserved_space import _parameter_space
>>> h, m, shown = _law_in_space("u^2/2 - v^2/2", _parameter_space(["u", "v"]))
>>> h.to_str(["u", "v"]), m
('u^2 - v^2', 0)
>>> _law_in_space("u^2 - 0.5*v", _parameter_space(["u", "v"]))
Traceback (most recent call last):
...
flowlaws.errors.DomainError: law 'u^2 - 0.5*v': '0.5' is a float; use integers or a fraction such as "1/3" (or a SymPy expression with sympy.Rational)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from fractions import Fraction
from math import lcm
from typing import Any

from ..errors import CertificateError, DomainError, InvalidArgument
from ..laws import Law
from ._conserved_space import _PhaseSpace, _parameter_space
from .checker import parse_poly
from .checker._polys import Poly

_LAW_MAX_EXPONENT = 1_000_000


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


def _poly_uses(poly: dict, index: int) -> bool:
    """Whether the variable ``index`` occurs in a parsed polynomial ``{exponents: coefficient}``."""
    return any(mono[index] for mono in poly)


_STRING_LIMITS_HINT = (
    "laws written as strings are checked within it; pass a flowlaws.laws.Law for a larger law"
)


def _parse_law_string(text: str, space: _PhaseSpace, limits_hint: str = _STRING_LIMITS_HINT) -> Any:
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
    plain: list[str] = []  # the text with exp(...) read as a product exp*(...), for the budgeted parser
    pos = 0
    for m in _names_pattern(list(tokens)).finditer(text):
        others.append(text[pos : m.start()])
        pieces.append(text[pos : m.start()])
        pieces.append(tokens[m.group()])
        plain += [text[pos : m.start()], "exp*" if m.group() == "exp" else m.group()]
        pos = m.end()
    others.append(text[pos:])
    pieces.append(text[pos:])
    plain.append(text[pos:])
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

    from .._parse import parse_polynomial  # here: flowlaws.verify imports without the model parsers

    # The eval-free parser checks its limits (degree, terms, depth) before the work and reads every
    # polynomial. A quotient (metric entries) goes to SymPy only after the same parser has read the
    # text with a/b as a*b, which bounds the expansion of the quotient's numerator and denominator.
    names = list(variables) + list(extras)
    probe = "".join(plain)
    try:
        poly = parse_polynomial(probe, names, max_length=400_000, limits_hint=limits_hint)
    except InvalidArgument as err:
        if "/" not in text:
            raise InvalidArgument(f"law {text!r} does not parse as a polynomial: {err}") from None
        parse_polynomial(probe.replace("/", "*"), names, max_length=400_000, limits_hint=limits_hint)
        poly = None
    if poly is not None and ("exp" not in extras or not _poly_uses(poly, names.index("exp"))):
        symbols = [sympy.Symbol(v) for v in names]
        return sympy.Add(*(sympy.Rational(c.numerator, c.denominator)
                           * sympy.Mul(*(x**e for x, e in zip(symbols, mono) if e)) for mono, c in poly.items()))
    code = "".join(pieces)
    from sympy.parsing.sympy_parser import parse_expr, standard_transformations

    code = code.replace("^", "**")
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


def _parse_string(text: str, variables: Sequence[str], limits_hint: str = _STRING_LIMITS_HINT) -> Any:
    """A law string in the parameters ``variables`` as a SymPy expression (gradient-flow names)."""
    return _parse_law_string(text, _parameter_space(variables), limits_hint)


def _law_poly(law: Any, variables: Sequence[str]) -> tuple[Poly, str]:
    """A law in the parameters ``variables`` as an integer polynomial (denominators cleared) and its
    printed form (gradient-flow names; see :func:`_law_in_space` for phase spaces)."""
    h, _m, shown = _law_in_space(law, _parameter_space(variables))
    return h, shown
