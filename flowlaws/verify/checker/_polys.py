"""Small sparse polynomials over Z or Z/pZ, the checker's own arithmetic.

A polynomial is a dict ``{monomial: coefficient}`` where a monomial is a tuple
of ``(variable index, exponent)`` pairs with increasing indices and exponents
``>= 1`` (the empty tuple is the constant monomial). Coefficients are Python
ints, reduced to ``[0, p)`` when the polynomial lives mod ``p``.

A polynomial vector field is a plain ``dict[int, Poly]`` (component index to
non-zero component). Everything here is pure Python; nothing is imported from
the engine or python-flint.

What this module does not check: that ``p`` is prime (the caller does), that
variable indices fit a given dimension, or sizes (the schema step bounds them).

Examples
--------
>>> x, y = Poly.variable(0), Poly.variable(1)
>>> f = x * x * y - 3 * y
>>> f.to_str(["x", "y"])
'x^2*y - 3*y'
>>> f.diff(0).to_str(["x", "y"]), f.evaluate([2, 5])
('2*x*y', 5)
>>> f.reduce(7).evaluate([2, 5])
5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "Monomial",
    "Poly",
    "Field",
    "mono_mul",
    "field_at",
    "field_directional_at",
    "bracket_field",
    "bracket_work",
    "WorkLimitExceeded",
    "inner",
    "hessian_vector_at",
]

Monomial = tuple[tuple[int, int], ...]


def mono_mul(a: Monomial, b: Monomial) -> Monomial:
    """Product of two monomials (merge of the sorted pairs)."""
    if not a:
        return b
    if not b:
        return a
    out = []
    i = j = 0
    la, lb = len(a), len(b)
    while i < la and j < lb:
        va, ea = a[i]
        vb, eb = b[j]
        if va == vb:
            out.append((va, ea + eb))
            i += 1
            j += 1
        elif va < vb:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return tuple(out)


def _mono_drop(mono: Monomial, k: int) -> Monomial:
    """Monomial divided by its ``k``-th variable (exponent lowered by one)."""
    var, e = mono[k]
    if e == 1:
        return mono[:k] + mono[k + 1 :]
    return mono[:k] + ((var, e - 1),) + mono[k + 1 :]


def int_str(c: int, max_digits: int = 40) -> str:
    """``str(c)``, shortened for messages when ``c`` has more than ``max_digits`` digits.

    >>> int_str(-12), int_str(7**100)
    ('-12', '3234476509...(85 digits)')
    """
    if abs(c).bit_length() <= 3 * max_digits:
        return str(c)
    try:
        text = str(c)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return f"<{'-' if c < 0 else ''}integer of about {int(abs(c).bit_length() * 0.30103)} digits>"
    sign = "-" if c < 0 else ""
    digits = text.lstrip("-")
    if len(digits) <= max_digits:
        return text
    return f"{sign}{digits[:10]}...({len(digits)} digits)"


def _power(x: int, e: int, p: int | None) -> int:
    if e == 1:
        return x
    return pow(x, e, p) if p else x**e


class Poly:
    """A sparse polynomial with integer coefficients, over Z or mod ``p``.

    Parameters
    ----------
    terms : mapping of Monomial to int, optional
        Coefficients; zero coefficients are dropped, and reduced mod ``p``.
    modulus : int or None
        ``None`` for Z, else the (prime) modulus ``p``.

    Notes
    -----
    Treat instances as immutable: results are fresh objects, never views.
    Mixing two moduli raises ``ValueError``: there is no silent conversion.
    """

    __slots__ = ("terms", "modulus")

    def __init__(self, terms: Mapping[Monomial, int] | None = None, modulus: int | None = None):
        self.modulus = modulus
        if not terms:
            self.terms: dict[Monomial, int] = {}
        elif modulus:
            self.terms = {m: c % modulus for m, c in terms.items() if c % modulus}
        else:
            self.terms = {m: c for m, c in terms.items() if c}

    @classmethod
    def _raw(cls, terms: dict[Monomial, int], modulus: int | None) -> Poly:
        """Wrap an already normalized dict (no copy, no reduction)."""
        out = cls.__new__(cls)
        out.terms = terms
        out.modulus = modulus
        return out

    @classmethod
    def constant(cls, c: int, modulus: int | None = None) -> Poly:
        """The constant polynomial ``c``."""
        return cls({(): c}, modulus)

    @classmethod
    def variable(cls, var: int, modulus: int | None = None) -> Poly:
        """The coordinate polynomial ``x_var``."""
        return cls({((var, 1),): 1}, modulus)

    # -- structure ---------------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int) and not isinstance(other, bool):
            other = Poly.constant(other, self.modulus)
        if not isinstance(other, Poly):
            return NotImplemented
        return self.modulus == other.modulus and self.terms == other.terms

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        ring = f"mod {self.modulus}" if self.modulus else "over Z"
        return f"Poly({self.to_str()!r}, {ring})"

    @property
    def degree(self) -> int:
        """Total degree (``-1`` for the zero polynomial)."""
        return max((sum(e for _, e in m) for m in self.terms), default=-1)

    def variables(self) -> set[int]:
        """Indices of the variables that occur."""
        return {v for m in self.terms for v, _ in m}

    def _same_ring(self, other: Poly) -> None:
        if self.modulus != other.modulus:
            raise ValueError(
                f"cannot mix a polynomial mod {self.modulus} with one mod {other.modulus}; "
                "reduce both to the same ring first with .reduce(p)"
            )

    # -- arithmetic ----------------------------------------------------------------
    def __neg__(self) -> Poly:
        p = self.modulus
        if p:
            return Poly._raw({m: p - c for m, c in self.terms.items()}, p)
        return Poly._raw({m: -c for m, c in self.terms.items()}, None)

    def __add__(self, other: Poly | int) -> Poly:
        if isinstance(other, int):
            other = Poly.constant(other, self.modulus)
        self._same_ring(other)
        out = dict(self.terms)
        add_into(out, other.terms, 1, self.modulus)
        return Poly._raw(out, self.modulus)

    __radd__ = __add__

    def __sub__(self, other: Poly | int) -> Poly:
        if isinstance(other, int):
            other = Poly.constant(other, self.modulus)
        self._same_ring(other)
        out = dict(self.terms)
        add_into(out, other.terms, -1, self.modulus)
        return Poly._raw(out, self.modulus)

    def __rsub__(self, other: int) -> Poly:
        return Poly.constant(other, self.modulus) - self

    def __mul__(self, other: Poly | int) -> Poly:
        p = self.modulus
        if isinstance(other, int):
            return Poly({m: c * other for m, c in self.terms.items()}, p)
        self._same_ring(other)
        out: dict[Monomial, int] = {}
        for m2, c2 in other.terms.items():
            mul_add_into(out, self.terms, m2, c2, p)
        return Poly._raw(out, p)

    __rmul__ = __mul__

    def shift(self, offset: int) -> Poly:
        """The same polynomial with every variable index increased by ``offset`` (``x_i -> x_{i+offset}``).

        >>> (Poly.variable(0) * Poly.variable(2)).shift(1).to_str()
        'x1*x3'
        """
        if not offset:
            return self
        return Poly._raw(
            {tuple((v + offset, e) for v, e in m): c for m, c in self.terms.items()}, self.modulus
        )

    def reduce(self, p: int) -> Poly:
        """The image of this integer polynomial mod ``p``."""
        if self.modulus is not None and self.modulus != p:
            raise ValueError(f"cannot reduce a polynomial mod {self.modulus} to mod {p}")
        return Poly(self.terms, p)

    # -- calculus -------------------------------------------------------------------
    def diff(self, var: int) -> Poly:
        """Partial derivative with respect to ``x_var``."""
        p = self.modulus
        out: dict[Monomial, int] = {}
        for m, c in self.terms.items():
            for k, (v, e) in enumerate(m):
                if v == var:
                    key = _mono_drop(m, k)
                    out[key] = out.get(key, 0) + c * e
                    break
        return Poly(out, p)

    def gradient(self) -> dict[int, Poly]:
        """All non-zero partial derivatives, as a field ``{var: Poly}``."""
        p = self.modulus
        acc: dict[int, dict[Monomial, int]] = {}
        for m, c in self.terms.items():
            for k, (v, e) in enumerate(m):
                d = acc.setdefault(v, {})
                key = _mono_drop(m, k)
                d[key] = d.get(key, 0) + c * e
        out = {}
        for v in sorted(acc):
            g = Poly(acc[v], p)
            if g:
                out[v] = g
        return out

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, point: Sequence[int]) -> int:
        """Value at an integer point (mod ``p`` when the polynomial is mod ``p``)."""
        p = self.modulus
        total = 0
        for m, c in self.terms.items():
            v = c
            for var, e in m:
                v *= _power(point[var], e, p)
                if p:
                    v %= p
            total += v
        return total % p if p else total

    def gradient_at(self, point: Sequence[int]) -> dict[int, int]:
        """Non-zero partial derivatives at ``point``, as ``{var: value}``."""
        return _derivatives_at(self.terms, point, None, self.modulus)

    def directional_at(self, point: Sequence[int], vector: Mapping[int, int]) -> int:
        """``Σ_j ∂_j f(point) · vector[j]`` (a missing ``j`` means 0)."""
        p = self.modulus
        total = 0
        for var, d in _derivatives_at(self.terms, point, vector, p).items():
            total += d * vector[var]
        return total % p if p else total

    # -- printing -------------------------------------------------------------------
    def to_str(self, names: Sequence[str] | None = None, *, max_terms: int | None = None) -> str:
        """Readable form, e.g. ``'x0^2 - 3*x1'`` (variables named ``x{i}`` by default)."""
        if not self.terms:
            return "0"
        items = sorted(self.terms.items(), key=lambda mc: (-sum(e for _, e in mc[0]), mc[0]))
        shown = items if max_terms is None else items[:max_terms]
        out = ""
        for i, (m, c) in enumerate(shown):
            body = "*".join(
                (names[v] if names is not None else f"x{v}") + (f"^{e}" if e > 1 else "") for v, e in m
            )
            mag = abs(c)
            text = body if (mag == 1 and body) else (f"{int_str(mag)}*{body}" if body else int_str(mag))
            if i == 0:
                out = ("-" if c < 0 else "") + text
            else:
                out += (" - " if c < 0 else " + ") + text
        if len(shown) < len(items):
            out += f" + ... ({len(items) - len(shown)} more terms)"
        return out


def add_into(out: dict[Monomial, int], terms: Mapping[Monomial, int], scale: int, p: int | None) -> None:
    """``out += scale * terms`` in place, dropping zeros."""
    for m, c in terms.items():
        v = out.get(m, 0) + scale * c
        if p:
            v %= p
        if v:
            out[m] = v
        else:
            out.pop(m, None)


def mul_add_into(
    out: dict[Monomial, int], terms: Mapping[Monomial, int], mono: Monomial, coef: int, p: int | None
) -> None:
    """``out += coef * mono * terms`` in place, dropping zeros."""
    if not coef:
        return
    for m, c in terms.items():
        key = mono_mul(m, mono)
        v = out.get(key, 0) + coef * c
        if p:
            v %= p
        if v:
            out[key] = v
        else:
            out.pop(key, None)


def _derivatives_at(
    terms: Mapping[Monomial, int],
    point: Sequence[int],
    only: Mapping[int, int] | None,
    p: int | None,
) -> dict[int, int]:
    """``{var: ∂_var f(point)}``, restricted to the keys of ``only`` when given."""
    out: dict[int, int] = {}
    for m, c in terms.items():
        n = len(m)
        if n == 0:
            continue
        if n == 1:
            var, e = m[0]
            if only is not None and var not in only:
                continue
            v = c * e * (_power(point[var], e - 1, p) if e > 1 else 1)
            out[var] = out.get(var, 0) + v
            continue
        # prefix/suffix products of the factor values: product of "all but k"
        vals = [_power(point[var], e, p) for var, e in m]
        prefix = [1] * (n + 1)
        for k in range(n):
            prefix[k + 1] = prefix[k] * vals[k] % p if p else prefix[k] * vals[k]
        suffix = 1
        for k in range(n - 1, -1, -1):
            var, e = m[k]
            if only is None or var in only:
                rest = prefix[k] * suffix
                d = c * e * rest * (_power(point[var], e - 1, p) if e > 1 else 1)
                out[var] = out.get(var, 0) + (d % p if p else d)
            suffix = suffix * vals[k] % p if p else suffix * vals[k]
    if p:
        return {v: d % p for v, d in out.items() if d % p}
    return {v: d for v, d in out.items() if d}


def hessian_vector_at(
    terms: Mapping[Monomial, int], point: Sequence[int], vector: Mapping[int, int], p: int | None
) -> dict[int, int]:
    """``D(∇f)(point) · vector`` (the Hessian of ``f`` times a vector), from ``f``'s terms.

    The same as ``field_directional_at(f.gradient(), point, vector)`` without
    building the gradient field.
    """
    out: dict[int, int] = {}
    if not vector:
        return out
    for m, c in terms.items():
        n = len(m)
        if n == 0 or (n == 1 and m[0][1] == 1):
            continue
        if not any(var in vector for var, _ in m):
            continue
        xs = [point[var] for var, _ in m]
        f = [_power(x, e, p) for x, (_, e) in zip(xs, m)]  # factor values
        d = [e * (_power(x, e - 1, p) if e > 1 else 1) for x, (_, e) in zip(xs, m)]  # first derivatives
        for i in range(n):
            vi = m[i][0]
            acc = 0
            for j in range(n):
                uj = vector.get(m[j][0])
                if not uj:
                    continue
                if i == j:
                    e = m[i][1]
                    if e < 2:
                        continue
                    term = e * (e - 1) * (_power(xs[i], e - 2, p) if e > 2 else 1)
                else:
                    term = d[i] * d[j]
                for k in range(n):
                    if k != i and k != j:
                        term *= f[k]
                acc += term * uj
            if acc:
                v = out.get(vi, 0) + c * acc
                out[vi] = v % p if p else v
    if p:
        return {v: x for v, x in out.items() if x % p}
    return {v: x for v, x in out.items() if x}


# -- vector fields -------------------------------------------------------------------
Field = dict[int, Poly]


def field_at(field: Mapping[int, Poly], point: Sequence[int]) -> dict[int, int]:
    """Value of a field at a point, as a sparse vector ``{index: value}``."""
    out = {}
    for i, comp in field.items():
        v = comp.evaluate(point)
        if v:
            out[i] = v
    return out


def field_directional_at(
    field: Mapping[int, Poly], point: Sequence[int], vector: Mapping[int, int]
) -> dict[int, int]:
    """``DX(point) · vector`` as a sparse vector (``X`` = ``field``)."""
    out: dict[int, int] = {}
    if not vector:
        return out
    for i, comp in field.items():
        v = comp.directional_at(point, vector)
        if v:
            out[i] = v
    return out


class WorkLimitExceeded(ValueError):
    """A computation would exceed the work limit its caller set (the caller rejects, never hangs)."""


def bracket_work(u: Mapping[int, Poly], v: Mapping[int, Poly]) -> int:
    """The number of term products :func:`bracket_field` performs on ``u`` and ``v`` (counted, not done).

    >>> x = Poly({((0, 1),): 1})
    >>> bracket_work({0: x}, {0: x * x})
    2
    """
    work = 0
    for outer, inner_ in ((v, u), (u, v)):
        sizes = {var: len(w) for var, w in inner_.items()}
        for comp in outer.values():
            for m in comp.terms:
                for var, _ in m:
                    work += sizes.get(var, 0)
    return work


def bracket_field(u: Mapping[int, Poly], v: Mapping[int, Poly], p: int | None) -> Field:
    """The Lie bracket ``[U, V] = DV·U − DU·V`` as a polynomial field."""
    acc: dict[int, dict[Monomial, int]] = {}
    for sign, outer, inner_ in ((1, v, u), (-1, u, v)):
        # sign * D(outer) · inner_
        for i, comp in outer.items():
            target = acc.setdefault(i, {})
            for m, c in comp.terms.items():
                for k, (var, e) in enumerate(m):
                    w = inner_.get(var)
                    if w is None:
                        continue
                    mul_add_into(target, w.terms, _mono_drop(m, k), sign * c * e, p)
    out = {}
    for i in sorted(acc):
        if acc[i]:
            out[i] = Poly._raw(acc[i], p)
    return out


def inner(a: Mapping[int, Poly], b: Mapping[int, Poly]) -> Poly:
    """``⟨a, b⟩ = Σ_j a_j b_j`` for two fields in the same ring."""
    common = sorted(set(a) & set(b))
    p = None
    out: dict[Monomial, int] = {}
    for j in common:
        x, y = a[j], b[j]
        x._same_ring(y)
        p = x.modulus
        small, big = (x, y) if len(x) <= len(y) else (y, x)
        for m, c in small.terms.items():
            mul_add_into(out, big.terms, m, c, p)
    return Poly._raw(out, p)
