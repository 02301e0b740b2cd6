"""Builders of models: layered networks, matrix factorizations, explicit polynomials."""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any, Sequence

from ..errors import BudgetExceeded, DomainError, InvalidArgument, UnsupportedArchitecture
from .._parse import MAX_DEGREE, MAX_DEPTH, MAX_LENGTH, MAX_TERMS, check_variable_names, parse_polynomial
from ._model import Model, integer_coordinates

__all__ = ["mlp", "factorization", "symmetric_factorization", "from_polynomials", "nmf"]

ACTIVATIONS = ("linear", "relu", "leaky_relu")
_ALIASES = {"leaky": "leaky_relu", "leakyrelu": "leaky_relu", "identity": "linear"}
MAX_WIDTH = 100_000
#: Total number of parameters a builder allocates names for (checked before allocating).
MAX_PARAMETERS = 1_000_000


def _check_total(what: str, count: int, max_parameters: Any, builder: str, unit: str = "parameters") -> None:
    """Refuse ``count`` parameters above ``max_parameters`` before allocating anything."""
    if isinstance(max_parameters, bool) or not isinstance(max_parameters, numbers.Integral) or max_parameters < 1:
        raise InvalidArgument(f"max_parameters={max_parameters!r}: expected an int >= 1")
    if count > max_parameters:
        raise BudgetExceeded(
            f"{what} has {count} {unit}, more than max_parameters={max_parameters}; "
            f"raise it with {builder}(..., max_parameters=...) if you have the memory"
        )


def _check_size(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float):
            raise DomainError(f"{name}={value!r} (type=float): sizes must be integers, e.g. {name}=3")
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected an integer")
    value = int(value)
    if value < minimum:
        raise InvalidArgument(f"{name}={value}: must be at least {minimum}")
    if value > MAX_WIDTH:
        raise InvalidArgument(f"{name}={value}: larger than {MAX_WIDTH}; this is not a size flowlaws can analyse")
    return value


def _activation(act: Any) -> str:
    if not isinstance(act, str):
        raise InvalidArgument(f"activation={act!r} (type={type(act).__name__}): expected one of {ACTIVATIONS}")
    key = _ALIASES.get(act.lower(), act.lower())
    if key not in ACTIVATIONS:
        raise UnsupportedArchitecture(
            f"activation={act!r} is not positively homogeneous or linear, so the network has no "
            f"polynomial path-lifting; use one of {ACTIVATIONS}"
        )
    return key


def mlp(
    widths: Sequence[int],
    activation: str | Sequence[str] = "relu",
    bias: bool = False,
    *,
    max_parameters: int = MAX_PARAMETERS,
) -> Model:
    """A fully connected network with the given layer widths.

    Parameters
    ----------
    widths : sequence of int
        ``[n0, n1, ..., nL]``: input width, hidden widths, output width (``L ≥ 1``).
    activation : str or sequence of str
        ``"linear"``, ``"relu"`` or ``"leaky_relu"`` for every hidden layer, or one per hidden layer.
    bias : bool
        Whether every layer has a bias (as ``torch.nn.Linear``).
    max_parameters : int
        Refuse networks with more parameters (:data:`MAX_PARAMETERS`), before
        allocating their names.

    Returns
    -------
    Model
        Parameters ``W1, b1, W2, b2, …`` named ``W{l}[i,j]``, ``b{l}[i]``.

    Raises
    ------
    InvalidArgument
        Fewer than two widths, a width that is not a positive integer.
    UnsupportedArchitecture
        An activation other than linear, ReLU or leaky ReLU.
    BudgetExceeded
        More than ``max_parameters`` parameters.

    Examples
    --------
    >>> m = mlp([3, 4, 3], activation="relu")
    >>> m.dim
    24
    >>> mlp([2, 0, 2])
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: widths[1]=0: must be at least 1
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise InvalidArgument(f"widths={widths!r}: expected a list of layer widths such as [3, 4, 3]")
    if len(widths) < 2:
        raise InvalidArgument(
            f"widths={list(widths)!r}: need at least an input and an output width, e.g. [3, 4, 3]"
        )
    layers = tuple(_check_size(f"widths[{i}]", w) for i, w in enumerate(widths))
    hidden = len(layers) - 2
    if isinstance(activation, str):
        acts = (_activation(activation),) * hidden
    else:
        acts = tuple(_activation(a) for a in activation)
        if len(acts) != hidden:
            raise InvalidArgument(
                f"activation has {len(acts)} entries for {hidden} hidden layers; give one per hidden layer or a single name"
            )
    if not isinstance(bias, bool):
        raise InvalidArgument(f"bias={bias!r}: expected True or False")
    total = sum(a * b + (b if bias else 0) for a, b in zip(layers, layers[1:]))
    _check_total(f"the network {'x'.join(map(str, layers))}", total, max_parameters, "mlp")
    names = []
    for l in range(1, len(layers)):
        names += [f"W{l}[{i},{j}]" for i in range(layers[l]) for j in range(layers[l - 1])]
        if bias:
            names += [f"b{l}[{i}]" for i in range(layers[l])]
    kind = acts[0] if len(set(acts)) == 1 else "mixed"
    if not acts:
        kind = "linear"
    name = f"{kind}{'+bias' if bias else ''}:{'x'.join(map(str, layers))}"
    return Model(variables=tuple(names), kind="network", name=name, layers=layers, activations=acts, bias=bias)


def factorization(n: int, r: int, m: int, *, max_parameters: int = MAX_PARAMETERS) -> Model:
    """The matrix factorization ``φ(U, V) = U Vᵀ`` with ``U ∈ R^{n×r}``, ``V ∈ R^{m×r}``.

    A two-layer linear network ``m → r → n``; parameters ``V[j,k]`` then ``U[i,k]``.

    Examples
    --------
    >>> f = factorization(2, 1, 3)
    >>> f.variables
    ('V[0,0]', 'V[1,0]', 'V[2,0]', 'U[0,0]', 'U[1,0]')
    """
    n, r, m = (_check_size(k, v) for k, v in (("n", n), ("r", r), ("m", m)))
    _check_total(f"the factorization {n}x{r}x{m}", (n + m) * r, max_parameters, "factorization")
    base = mlp([m, r, n], activation="linear", max_parameters=max_parameters)
    # the network's parameter order (certificate layout): W1 = Vᵀ (r × m) row-major, then W2 = U
    names = [f"V[{idx % m},{idx // m}]" for idx in range(r * m)]
    names += [f"U[{i},{k}]" for i in range(n) for k in range(r)]
    return Model(
        variables=tuple(names), kind="network", name=f"factorization:{n}x{r}x{m}",
        layers=base.layers, activations=base.activations, bias=False,
    )


def _coefficient(value: Any, where: str) -> Fraction:
    if isinstance(value, bool):
        raise InvalidArgument(f"{where}: {value!r} is a bool, expected a number")
    if isinstance(value, float):
        if math.isfinite(value):
            raise DomainError(
                f"{where}: coefficient {value!r} is a float; pass an exact value such as Fraction({value!r}).limit_denominator() or a string '1/3'"
            )
        raise DomainError(f"{where}: coefficient {value!r} is not finite")
    try:
        return Fraction(value)
    except (TypeError, ValueError) as err:
        raise DomainError(f"{where}: coefficient {value!r} (type={type(value).__name__}) is not an exact rational") from err


def _is_sympy(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "sympy" and hasattr(obj, "free_symbols")


def _from_sympy(expr: Any, names: list[str], where: str) -> dict:
    import sympy

    expr = sympy.sympify(expr)
    if any(isinstance(a, sympy.Float) for a in sympy.preorder_traversal(expr)):
        raise DomainError(f"{where}: {expr} has a float coefficient; use sympy.Rational or integers")
    syms = [sympy.Symbol(n) for n in names]
    unknown = expr.free_symbols - set(syms)
    if unknown:
        raise InvalidArgument(f"{where}: unknown symbols {sorted(map(str, unknown))}; variables are {names[:6]}")
    try:
        poly = sympy.Poly(expr, *syms) if syms else None
    except sympy.PolynomialError as err:
        raise DomainError(f"{where}: {expr} is not a polynomial in the variables") from err
    if poly is None or not poly.domain.is_Exact or not (poly.domain.is_ZZ or poly.domain.is_QQ):
        raise DomainError(f"{where}: {expr} must be a polynomial with rational coefficients")
    return {m: _coefficient(sympy.Rational(c), where) for m, c in poly.terms()}


def from_polynomials(
    polynomials: Sequence[Any],
    variables: Sequence[str] | None = None,
    *,
    name: str | None = None,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_degree: int = MAX_DEGREE,
    max_terms: int = MAX_TERMS,
) -> Model:
    """A model given by the coordinates of φ.

    Parameters
    ----------
    polynomials : sequence of str, SymPy expressions or dicts
        Each coordinate: a string such as ``"x0*x1 - 2*x2^2"`` (parsed without
        ``eval``), a SymPy polynomial expression, or ``{exponent tuple: coefficient}``.
    variables : sequence of str, optional
        Parameter names; required for strings and dicts, inferred (sorted) from SymPy input.
        A name is an identifier, dotted segments allowed (``x0``, ``layer1.0.weight``),
        with an optional index ``[i,j,...]`` (``W1[0,2]``, ``w[x0,h]``).
    max_length, max_depth, max_degree, max_terms : int
        Limits of polynomial strings (:mod:`flowlaws._parse`: characters,
        nesting, degree and exponents, terms of any intermediate result),
        checked before the work.

    Raises
    ------
    InvalidArgument
        No coordinates, a coordinate of another type, unknown, malformed or duplicate names.
    DomainError
        Float or non-finite coefficients, non-polynomial expressions.
    BudgetExceeded
        A polynomial string beyond a limit (the message names the keyword).

    Examples
    --------
    >>> m = from_polynomials(["x0*x1*x2"], variables=["x0", "x1", "x2"])
    >>> m.dim, m.phi
    (3, [x0*x1*x2])
    >>> from_polynomials(["0.5*x"], variables=["x"])
    Traceback (most recent call last):
    ...
    flowlaws.errors.DomainError: '0.5' in '0.5*x' is a float; exact values are needed: write a rational such as 1/10 instead of 0.1
    """
    if isinstance(polynomials, (str, bytes)) or not isinstance(polynomials, Sequence):
        raise InvalidArgument(f"polynomials={polynomials!r}: expected a list of coordinates, e.g. ['x0*x1']")
    if len(polynomials) == 0:
        raise InvalidArgument("polynomials=[]: φ needs at least one coordinate")
    for i, p in enumerate(polynomials):
        if not (isinstance(p, (str, dict)) or _is_sympy(p) or (isinstance(p, numbers.Rational) and not isinstance(p, bool))):
            raise InvalidArgument(
                f"polynomials[{i}]={p!r:.60} (type={type(p).__name__}): expected a string such as 'x0*x1', "
                "a SymPy expression, an int or Fraction, or a dict {exponent tuple: coefficient}"
            )
    if variables is None:
        if all(not isinstance(p, (str, dict)) for p in polynomials):
            import sympy

            syms = set()
            for p in polynomials:
                syms |= sympy.sympify(p).free_symbols
            variables = sorted(map(str, syms))
        else:
            raise InvalidArgument("variables=None: name the variables, e.g. variables=['x0', 'x1']")
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        raise InvalidArgument(
            f"variables={variables!r:.60} (type={type(variables).__name__}): expected a list of names such as ['x0', 'x1']"
        )
    names = list(variables)
    if not names:
        raise InvalidArgument("variables=[]: φ needs at least one parameter")
    check_variable_names(names, "variables")
    if len(set(names)) != len(names):
        raise InvalidArgument(f"variables={names[:8]}: names must be distinct")
    coords = []
    for i, p in enumerate(polynomials):
        where = f"polynomials[{i}]"
        if isinstance(p, str):
            coords.append(parse_polynomial(p, names, max_length=max_length, max_depth=max_depth,
                                           max_degree=max_degree, max_terms=max_terms))
        elif isinstance(p, numbers.Rational):
            coords.append({(0,) * len(names): Fraction(p)} if p else {})
        elif isinstance(p, dict):
            coord = {}
            for mono, c in p.items():
                if not isinstance(mono, tuple) or len(mono) != len(names) or any(
                    isinstance(e, bool) or not isinstance(e, int) or e < 0 for e in mono
                ):
                    raise InvalidArgument(f"{where}: monomial {mono!r} must be a tuple of {len(names)} non-negative ints")
                coord[mono] = _coefficient(c, where)
            coords.append(coord)
        else:
            coords.append(_from_sympy(p, names, where))
    phi = integer_coordinates(coords)  # constants dropped: a constant φ leaves none, and every parameter is conserved
    return Model(variables=tuple(names), kind="polynomials", name=name or f"polynomials({len(phi)})", phi=phi)


def symmetric_factorization(n: int, r: int, *, max_parameters: int = MAX_PARAMETERS) -> Model:
    """``φ(U) = U Uᵀ`` (its upper triangle) with ``U ∈ R^{n×r}``.

    Examples
    --------
    >>> symmetric_factorization(2, 1).phi
    [U[0,0]**2, U[0,0]*U[1,0], U[1,0]**2]
    """
    n, r = _check_size("n", n), _check_size("r", r)
    _check_total(f"sym:{n}x{r}", n * r, max_parameters, "symmetric_factorization")
    dense = n * (n + 1) // 2 * r * n * r  # φ is stored densely: coordinates x terms x exponent-tuple length
    if dense > 100 * max_parameters:
        raise BudgetExceeded(
            f"sym:{n}x{r} stores {dense} exponents (n(n+1)/2 coordinates x r terms x {n * r} parameters), "
            f"more than 100 x max_parameters={max_parameters}; raise it with "
            "symmetric_factorization(..., max_parameters=...) if you have the memory"
        )
    names = [f"U[{i},{k}]" for i in range(n) for k in range(r)]
    D = len(names)
    coords = []
    for i in range(n):
        for j in range(i, n):
            coord: dict = {}
            for k in range(r):
                e = [0] * D
                e[i * r + k] += 1
                e[j * r + k] += 1
                coord[tuple(e)] = coord.get(tuple(e), 0) + 1
            coords.append(coord)
    return Model(variables=tuple(names), kind="polynomials", name=f"sym:{n}x{r}", phi=coords)


def nmf(n: int, r: int, m: int, *, max_parameters: int = MAX_PARAMETERS) -> Model:
    """Non-negative matrix factorization ``U Vᵀ`` carrying the metric ``diag(θ)``.

    Gradient flow with this metric is the continuous limit of multiplicative
    updates; ``analyze`` uses the model's metric unless told otherwise.

    Examples
    --------
    >>> import flowlaws as fl
    >>> fl.analyze(nmf(2, 2, 2)).count         # Σ_i U_ik − Σ_j V_jk for each k
    2
    """
    model = factorization(n, r, m, max_parameters=max_parameters)
    model.metric = "nmf"
    model.name = f"nmf:{n}x{r}x{m}"
    return model
