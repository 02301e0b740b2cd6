"""Flows in their phase space: the drift ``χ_0`` and the lifted generators, for the checker.

Implements the section "Other flows (momentum, Nesterov, metrics)" of
``docs/certificate-format.md`` with the checker's own polynomials
(:mod:`flowlaws.verify.checker._polys`):

* gradient flow: phase space ``θ`` (``dim = D``), generator ``k`` is ``G_k``
  (euclidean) or ``θ ⊙ G_k`` (metric ``"nmf"``);
* momentum (``τ = a/b ≥ 0``) and Nesterov: phase space ``(s or t, θ, v)``
  (``dim = 2D + 1``, index 0 the time coordinate, ``1..D`` the parameters,
  ``D+1..2D`` the velocities); word leaf ``0`` is the drift ``χ_0`` and leaf
  ``k ≥ 1`` is ``(0, 0, H_{k-1})`` with ``H_j = G_j`` (euclidean) or
  ``(a θ + b v) ⊙ G_j`` (``"nmf"``);
* a user metric ``M(θ) = P(θ)/q(θ)`` (:class:`MetricMatrix`, the certificate's
  ``{"kind": "matrix", ...}``): generator ``P G_k`` (gradient flow) or
  ``(0, 0, P(θ) G_j)`` (momentum), ``q·M`` times the field of ``M``.

``G_k`` is a field on the parameters only (indices ``0..D-1``); the lift
shifts its variables into the phase space. :class:`LiftedGenerators` gives the
values and Jacobian-vector products of the lifted leaves at a point straight
from those of ``G_k`` (no lifted polynomial is built unless a bracket needs it).

What this module does not check: the certificate's shape (the schema step
does), nor that ``G_k`` has integer coefficients or lives mod the same prime.

Examples
--------
>>> spec = FlowSpec("momentum", tau=Fraction(1, 2))
>>> spec.phase_names(["u", "v"])
['s', 'u', 'v', "u'", "v'"]
>>> {i: c.to_str(spec.phase_names(["u", "v"])) for i, c in drift_field(spec, 2).items()}
{0: 's', 1: "2*u'", 2: "2*v'", 3: "-u'", 4: "-v'"}
>>> parse_tau("3/6")
Traceback (most recent call last):
...
ValueError: tau='3/6' is not in lowest terms; write '1/2'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any

from ._polys import Field, Poly, field_at, field_directional_at

__all__ = [
    "FLOW_NAMES",
    "METRICS",
    "FlowSpec",
    "MetricMatrix",
    "MAX_TAU_CHARS",
    "parse_tau",
    "tau_size_error",
    "drift_field",
    "drift_label",
    "lift_field",
    "lift_label",
    "law_fields",
    "LiftedGenerators",
]

FLOW_NAMES = ("gradient", "momentum", "nesterov")
METRICS = ("euclidean", "nmf")
_TAU_RE = re.compile(r"(0|[1-9][0-9]*)(?:/([1-9][0-9]*))?")
MAX_TAU_CHARS = 1_000  # the longest "a/b" a certificate may carry (and analyze accept)



def tau_size_error(tau: Any) -> str | None:
    """Why ``tau`` is too long to write in a certificate, or ``None``; looks before converting anything.

    >>> tau_size_error("1/2") is None, tau_size_error(10**2000) is not None
    (True, True)
    """
    if isinstance(tau, str):
        size = len(tau)
    elif isinstance(tau, (int, Fraction)) and not isinstance(tau, bool):
        q = Fraction(tau)
        # digits of a and b, estimated from the bit lengths without converting to decimal
        size = (q.numerator.bit_length() + q.denominator.bit_length()) * 30103 // 100000
    else:
        return None
    if size > MAX_TAU_CHARS:
        return f"tau has about {size} digits, more than MAX_TAU_CHARS={MAX_TAU_CHARS} (the longest damping a certificate records)"
    return None

def parse_tau(text: Any) -> Fraction:
    """``τ`` from its certificate form, a string ``"a"`` or ``"a/b"`` in lowest terms, ``a ≥ 0``, ``b ≥ 1``.

    Raises ``ValueError`` with a message naming the value and the fix.

    >>> parse_tau("1"), parse_tau("0"), parse_tau("3/2")
    (Fraction(1, 1), Fraction(0, 1), Fraction(3, 2))
    """
    if not isinstance(text, str):
        if isinstance(text, float):
            hint = "; floats are not exact, write e.g. \"1/2\""
        elif isinstance(text, int) and not isinstance(text, bool):
            hint = f"; write {str(text)!r}"
        else:
            hint = ", e.g. \"1\" or \"1/2\""
        raise ValueError(f"tau={text!r} (type={type(text).__name__}): tau is a rational written as a string \"a/b\"{hint}")
    if len(text) > MAX_TAU_CHARS:
        raise ValueError(f"tau: a string of {len(text)} characters, more than MAX_TAU_CHARS={MAX_TAU_CHARS}")
    m = _TAU_RE.fullmatch(text)
    if not m:
        if text.strip().startswith("-"):
            raise ValueError(f"tau={text!r} is negative; the damping tau must be >= 0")
        raise ValueError(
            f"tau={text!r} is not a rational \"a\" or \"a/b\" (digits only, no sign, spaces, decimal point "
            "or leading zeros), e.g. \"1\", \"1/2\" or \"0\""
        )
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else 1
    if gcd(a, b) != 1:
        good = Fraction(a, b)
        raise ValueError(f"tau={text!r} is not in lowest terms; write {str(good)!r}")
    return Fraction(a, b)


class MetricMatrix:
    """A user metric ``M(θ) = P(θ) / q(θ)`` on ``size`` parameters, over Z.

    Parameters
    ----------
    size : int
        ``D``, the number of parameters.
    entries : mapping of (i, j) to Poly
        The non-zero entries of ``P`` (polynomials over Z in the parameters ``0..D-1``).
    denominator : Poly
        ``q``, a non-zero polynomial over Z in the parameters.

    The flow's generators are ``P G_k = q·M G_k``; where ``q ≠ 0`` they span the same
    distribution as ``M G_k``. Instances compare and hash by value.

    >>> x = Poly.variable(0)
    >>> M = MetricMatrix(2, {(0, 0): Poly.constant(1), (1, 1): x * x + 1}, x * x + 1)
    >>> str(M), M.to_json()["denominator"]
    ('custom', [['1', [[0, 2]]], ['1', []]])
    """

    __slots__ = ("size", "entries", "denominator", "_key")

    def __init__(self, size: int, entries: Mapping[tuple[int, int], Poly], denominator: Poly) -> None:
        self.size = size
        self.entries = {k: entries[k] for k in sorted(entries) if entries[k]}
        self.denominator = denominator
        self._key = (
            size,
            tuple((k, tuple(sorted(v.terms.items()))) for k, v in self.entries.items()),
            tuple(sorted(denominator.terms.items())),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetricMatrix) and other._key == self._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __str__(self) -> str:
        return "custom"

    def __repr__(self) -> str:
        return f"MetricMatrix(size={self.size}, {len(self.entries)} entries)"

    def to_json(self) -> dict[str, Any]:
        """The certificate's ``flow.metric`` object."""

        def dense(m: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
            e = [0] * self.size
            for v, x in m:
                e[v] = x
            return tuple(e)

        def poly(f: Poly) -> list:  # terms by decreasing exponent vector, as the engine writes them
            terms = sorted(f.terms.items(), key=lambda t: dense(t[0]), reverse=True)
            return [[str(c), [[v, e] for v, e in m]] for m, c in terms]

        return {
            "kind": "matrix",
            "size": self.size,
            "denominator": poly(self.denominator),
            "entries": [[i, j, poly(f)] for (i, j), f in self.entries.items()],
        }

    def apply(self, G: Mapping[int, Poly], shift: int, target: int, p: int | None) -> Field:
        """``P·G`` with ``P``'s variables shifted by ``shift`` (mod ``p`` if given): component
        ``target + i`` is ``Σ_j P_ij G[j]``."""
        out: dict[int, Poly] = {}
        for (i, j), pij in self.entries.items():
            g = G.get(j)
            if g is None:
                continue
            f = pij.shift(shift) if shift else pij
            if p is not None:
                f = f.reduce(p)
            term = f * g
            out[target + i] = out[target + i] + term if target + i in out else term
        return {k: v for k, v in sorted(out.items()) if v}


@dataclass(frozen=True)
class FlowSpec:
    """A flow of the certificate format: ``name``, ``metric`` and (momentum only) ``tau``.

    Parameters
    ----------
    name : {"gradient", "momentum", "nesterov"}
    metric : {"euclidean", "nmf"} or MetricMatrix
    tau : Fraction or None
        The damping ``τ ≥ 0`` of momentum; ``None`` for the other flows.
    """

    name: str
    metric: str | MetricMatrix = "euclidean"
    tau: Fraction | None = None
    weight_decay: Fraction | None = None

    @property
    def has_drift(self) -> bool:
        """Whether the phase space is ``(time, θ, v)`` with a drift ``χ_0`` (momentum, Nesterov)."""
        return self.name != "gradient"

    @property
    def time_name(self) -> str | None:
        """``"s"`` (``s = e^{τt}``, momentum with ``τ > 0``), ``"t"``, or ``None`` (gradient flow)."""
        if not self.has_drift:
            return None
        return "s" if self.name == "momentum" and self.tau else "t"

    @property
    def ab(self) -> tuple[int, int]:
        """``(a, b)`` with ``τ = a/b`` (``(0, 1)`` without a tau)."""
        tau = self.tau or Fraction(0)
        return tau.numerator, tau.denominator

    def drift_coefficients(self) -> tuple[int, int, int]:
        """``(a, b, k)``: momentum's ``χ_0`` times ``b`` is ``(a s, b v, −a v − k θ)`` (``τ = a/b``, weight decay
        ``λ = k/b``), or ``(b, b v, −k θ)`` for ``τ = 0``.

        >>> FlowSpec("momentum", tau=Fraction(1, 2), weight_decay=Fraction(1, 3)).drift_coefficients()
        (3, 6, 2)
        """
        tau, lam = self.tau or Fraction(0), self.weight_decay or Fraction(0)
        b = tau.denominator * lam.denominator // gcd(tau.denominator, lam.denominator)
        return int(tau * b), b, int(lam * b)

    def dim(self, params: int) -> int:
        """Phase-space dimension for ``params`` parameters: ``D`` or ``2D + 1``."""
        return 2 * params + 1 if self.has_drift else params

    def phase_names(self, params: Sequence[str]) -> list[str]:
        """Coordinate names: the parameters, or ``[time, *params, *(name + "'")]``."""
        if not self.has_drift:
            return list(params)
        return [self.time_name or "t", *params, *(f"{n}'" for n in params)]

    def to_json(self) -> dict[str, Any]:
        """The certificate's ``flow`` object."""
        out: dict[str, Any] = {"name": self.name}
        if self.name == "momentum":
            out["tau"] = str(self.tau)
        if self.metric != "euclidean":
            out["metric"] = self.metric.to_json() if isinstance(self.metric, MetricMatrix) else self.metric
        if self.weight_decay:
            out["weight_decay"] = str(self.weight_decay)
        return out

    def describe(self) -> str:
        """``'momentum flow (tau=1/2, metric nmf)'``."""
        extras = []
        if self.name == "momentum":
            extras.append(f"tau={self.tau}")
        if self.weight_decay:
            extras.append(f"weight decay {self.weight_decay}")
        if isinstance(self.metric, MetricMatrix):
            extras.append("custom metric")
        elif self.metric != "euclidean":
            extras.append(f"metric {self.metric}")
        return f"{self.name} flow" + (f" ({', '.join(extras)})" if extras else "")


# -- fields ------------------------------------------------------------------------------------------
def drift_field(spec: FlowSpec, D: int, p: int | None = None) -> Field:
    """The drift ``χ_0`` on the ``2D + 1`` phase coordinates (integer coefficients, mod ``p`` if given)."""
    if not spec.has_drift:
        raise ValueError(f"{spec.describe()} has no drift")

    def x(i: int, c: int = 1) -> Poly:
        return Poly({((i, 1),): c}, p)

    out: dict[int, Poly] = {}
    a, b, k = spec.drift_coefficients()
    if spec.name == "momentum" and spec.tau:
        out[0] = x(0, a)
        for j in range(D):
            out[1 + j] = x(D + 1 + j, b)
            out[D + 1 + j] = x(D + 1 + j, -a) + x(1 + j, -k) if k else x(D + 1 + j, -a)
    elif spec.name == "momentum":
        out[0] = Poly.constant(b, p)
        for j in range(D):
            out[1 + j] = x(D + 1 + j, b)
            if k:
                out[D + 1 + j] = x(1 + j, -k)
    else:  # nesterov: t * (1, v, -3 v / t)
        out[0] = x(0)
        for j in range(D):
            out[1 + j] = Poly({((0, 1), (D + 1 + j, 1)): 1}, p)
            out[D + 1 + j] = x(D + 1 + j, -3)
    return {i: out[i] for i in sorted(out) if out[i]}


def _coef(c: int, body: str) -> str:
    return body if c == 1 else f"{c}*{body}"


def drift_label(spec: FlowSpec) -> str:
    """``'chi_0 = s d/ds + v.d/dtheta - v.d/dv'`` (the field as the checker uses it)."""
    a, b, k = spec.drift_coefficients()
    decay = f" - {_coef(k, 'theta')}.d/dv" if k else ""
    if spec.name == "momentum" and spec.tau:
        return f"chi_0 = {_coef(a, 's')} d/ds + {_coef(b, 'v')}.d/dtheta - {_coef(a, 'v')}.d/dv{decay}"
    if spec.name == "momentum":
        return f"chi_0 = {_coef(b, '')}d/dt + {_coef(b, 'v')}.d/dtheta{decay}".replace("= 1*d/dt", "= d/dt").replace("*d/dt", " d/dt")
    return "chi_0 = t d/dt + t*v.d/dtheta - 3*v.d/dv"


def _weight(spec: FlowSpec, D: int, j: int, p: int | None) -> Poly | None:
    """The metric factor of component ``j`` (``None`` for euclidean)."""
    if spec.metric != "nmf":
        return None
    if not spec.has_drift:
        return Poly.variable(j, p)
    a, b = spec.ab
    return Poly({((1 + j, 1),): a, ((D + 1 + j, 1),): b}, p)


def lift_field(spec: FlowSpec, D: int, G: Mapping[int, Poly]) -> Field:
    """A gradient-flow field ``G`` (on ``θ``) as the flow's generator in its phase space."""
    shift = 1 if spec.has_drift else 0
    target = D + 1 if spec.has_drift else 0
    if isinstance(spec.metric, MetricMatrix):
        shifted = {j: g.shift(shift) for j, g in G.items()}
        modulus = next((g.modulus for g in G.values()), None)
        return spec.metric.apply(shifted, shift, target, modulus)
    out: dict[int, Poly] = {}
    for j in sorted(G):
        comp = G[j].shift(shift)
        w = _weight(spec, D, j, comp.modulus)
        if w is not None:
            comp = w * comp
        if comp:
            out[target + j] = comp
    return out


def lift_label(spec: FlowSpec, desc: str) -> str:
    """How a lifted coordinate field is printed, e.g. ``'(0, 0, grad phi[2])'``."""
    grad = f"grad {desc}"
    if isinstance(spec.metric, MetricMatrix):
        grad = f"M * {grad}" if spec.metric.denominator == Poly.constant(1) else f"q*M * {grad}"
    elif spec.metric == "nmf":
        if spec.has_drift:
            a, b = spec.ab
            if a:
                grad = f"({_coef(a, 'theta')} + {_coef(b, 'v')}) * {grad}"
            else:
                grad = f"v * {grad}"
        else:
            return f"theta * {grad}"
    return f"(0, 0, {grad})" if spec.has_drift else grad


def law_fields(spec: FlowSpec, D: int, coordinates: Sequence[tuple[str, Field]]) -> list[tuple[int, str, Field]]:
    """``(index, label, field over Z)`` a law must annihilate: ``χ_0`` (index 0) then every lifted
    coordinate field (index ``k + 1``; index ``k`` for gradient flows)."""
    out: list[tuple[int, str, Field]] = []
    offset = 0
    if spec.has_drift:
        out.append((0, drift_label(spec), drift_field(spec, D)))
        offset = 1
    for k, (desc, grad) in enumerate(coordinates):
        out.append((k + offset, lift_label(spec, desc), lift_field(spec, D, grad)))
    return out


class LiftedGenerators:
    """The flow's word leaves mod ``p`` from the gradient-flow generators ``G_a``.

    Parameters
    ----------
    spec : FlowSpec
    D : int
        Number of parameters.
    p : int
        The prime.
    base_field : callable
        ``a -> G_a`` as a polynomial field mod ``p`` on the parameters.
    base_value : callable, optional
        ``theta_point -> (a -> G_a(theta_point))``, a shortcut for values.
    base_jvp : callable, optional
        ``theta_point -> ((a, u) -> DG_a(theta_point) u)``, a shortcut for Jacobians.
    """

    def __init__(
        self,
        spec: FlowSpec,
        D: int,
        p: int,
        base_field: Callable[[int], Field],
        base_value: Callable[[list[int]], Callable[[int], dict[int, int]]] | None = None,
        base_jvp: Callable[[list[int]], Callable[[int, dict[int, int]], dict[int, int]]] | None = None,
    ) -> None:
        self.spec = spec
        self.D = D
        self.p = p
        self._base_field = base_field
        self._base_value = base_value
        self._base_jvp = base_jvp
        self._fields: dict[int, Field] = {}
        self._drift: Field | None = drift_field(spec, D, p) if spec.has_drift else None
        self.offset = 1 if spec.has_drift else 0

    def base_index(self, leaf: int) -> int | None:
        """The gradient generator behind a leaf (``None`` for the drift)."""
        if self.spec.has_drift:
            return None if leaf == 0 else leaf - 1
        return leaf

    def field(self, leaf: int) -> Field:
        """The polynomial field of a leaf mod ``p`` (memoized)."""
        got = self._fields.get(leaf)
        if got is None:
            a = self.base_index(leaf)
            if a is None:
                assert self._drift is not None
                got = self._drift
            else:
                got = lift_field(self.spec, self.D, self._base_field(a))
            self._fields[leaf] = got
        return got

    def _theta(self, point: Sequence[int]) -> tuple[list[int], list[int]]:
        D = self.D
        if self.spec.has_drift:
            return list(point[1 : D + 1]), list(point[D + 1 : 2 * D + 1])
        return list(point), []

    def _split(self, u: Mapping[int, int]) -> tuple[dict[int, int], dict[int, int]]:
        """A phase vector's parameter and velocity parts, indexed ``0..D-1``."""
        D = self.D
        if not self.spec.has_drift:
            return dict(u), {}
        ut = {i - 1: x for i, x in u.items() if 1 <= i <= D}
        uv = {i - D - 1: x for i, x in u.items() if i > D}
        return ut, uv

    def at(
        self, point: Sequence[int]
    ) -> tuple[Callable[[int], dict[int, int]] | None, Callable[[int, dict[int, int]], dict[int, int]] | None]:
        """``(leaf -> value, (leaf, u) -> D(leaf)(point)·u)`` at a point (reduced mod ``p``), straight
        from the gradient generators' values and Jacobians; ``(None, None)`` without those shortcuts."""
        if self._base_value is None or self._base_jvp is None:
            return None, None
        point = list(point)
        theta, vel = self._theta(point)
        base_value = self._base_value(theta)
        base_jvp = self._base_jvp(theta)
        p, D, spec, drift = self.p, self.D, self.spec, self._drift
        target = D + 1 if spec.has_drift else 0
        if isinstance(spec.metric, MetricMatrix):
            return self._matrix_at(point, theta, base_value, base_jvp)
        nmf = spec.metric == "nmf"
        a, b = spec.ab
        cache: dict[int, dict[int, int]] = {}

        def g(k: int) -> dict[int, int]:
            got = cache.get(k)
            if got is None:
                got = base_value(k)
                cache[k] = got
            return got

        def weight(j: int) -> int:
            return (a * theta[j] + b * vel[j]) if spec.has_drift else theta[j]

        def value(leaf: int) -> dict[int, int]:
            k = self.base_index(leaf)
            if k is None:
                assert drift is not None
                return field_at(drift, point)
            out: dict[int, int] = {}
            for j, x in g(k).items():
                if nmf:
                    x = x * weight(j) % p
                if x:
                    out[target + j] = x
            return out

        def jvp(leaf: int, u: dict[int, int]) -> dict[int, int]:
            k = self.base_index(leaf)
            if k is None:
                assert drift is not None
                return field_directional_at(drift, point, u)
            ut, uv = self._split(u)
            dg = base_jvp(k, ut) if ut else {}
            if not nmf:
                return {target + j: x % p for j, x in dg.items() if x % p}
            gk = g(k)
            out: dict[int, int] = {}
            for j in set(dg) | set(gk):
                dw = (a * ut.get(j, 0) + b * uv.get(j, 0)) if spec.has_drift else ut.get(j, 0)
                x = (dw * gk.get(j, 0) + weight(j) * dg.get(j, 0)) % p
                if x:
                    out[target + j] = x
            return out

        return value, jvp

    def _matrix_at(
        self,
        point: list[int],
        theta: list[int],
        base_value: Callable[[int], dict[int, int]],
        base_jvp: Callable[[int, dict[int, int]], dict[int, int]],
    ) -> tuple[Callable[[int], dict[int, int]], Callable[[int, dict[int, int]], dict[int, int]]]:
        """:meth:`at` under a user metric: ``P(θ)G_k(θ)`` and ``(DP·u)G_k + P(DG_k·u)``."""
        p, drift = self.p, self._drift
        metric = self.spec.metric
        assert isinstance(metric, MetricMatrix)
        target = self.D + 1 if self.spec.has_drift else 0
        P = {k: f.reduce(p) for k, f in metric.entries.items()}
        Pval = {k: f.evaluate(theta) for k, f in P.items()}

        def value(leaf: int) -> dict[int, int]:
            k = self.base_index(leaf)
            if k is None:
                assert drift is not None
                return field_at(drift, point)
            gk = base_value(k)
            out: dict[int, int] = {}
            for (i, j), pij in Pval.items():
                if j in gk:
                    out[target + i] = (out.get(target + i, 0) + pij * gk[j]) % p
            return {i: x for i, x in sorted(out.items()) if x}

        def jvp(leaf: int, u: dict[int, int]) -> dict[int, int]:
            k = self.base_index(leaf)
            if k is None:
                assert drift is not None
                return field_directional_at(drift, point, u)
            ut, _uv = self._split(u)
            if not ut:
                return {}
            gk = base_value(k)
            dg = base_jvp(k, ut)
            out: dict[int, int] = {}
            for (i, j), f in P.items():
                x = Pval[(i, j)] * dg.get(j, 0)
                if j in gk:
                    x += f.directional_at(theta, ut) * gk[j]
                if x:
                    out[target + i] = (out.get(target + i, 0) + x) % p
            return {i: x for i, x in sorted(out.items()) if x}

        return value, jvp
