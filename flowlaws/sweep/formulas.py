"""Expected counts: ``--expect`` formulas, read safely, and the names a row gives them.

* :func:`compile_formula` reads a formula (``r*(r+1)//2``, ``sum(hidden)``) with
  a whitelist of arithmetic on the ``ast`` — never ``eval``;
* :func:`formula_names` gives the names a formula sees for one row;
* :func:`expectations` reads :func:`flowlaws.sweep`'s ``expect=`` argument.

What it does not check: that a formula is the right one; a sweep only reports
the rows where it differs from the certified count.

Examples
--------
>>> compile_formula("r*(r+1)//2")({"r": 3})
6
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from ..errors import InvalidArgument
from ..models._model import Model

__all__ = [
    "KNOWN_FORMULAS",
    "FORMULA_NAMES",
    "MAX_STEPS",
    "Formula",
    "compile_formula",
    "formula_names",
    "expectations",
]

#: Known counts from the papers, usable as ``expect="relu"`` or ``--expect linear``
#: (gradient flow: one law per hidden ReLU neuron; deep linear nets sum the
#: two-layer count ``r(r+1)/2`` if ``r <= N`` else ``N r - N(N-1)/2`` over the
#: hidden layers, with ``N = n_{i-1} + n_{i+1}``).
KNOWN_FORMULAS = {
    "relu": "sum(hidden)",
    "linear": (
        "sum(r*(r+1)//2 if r <= a+b else (a+b)*r - (a+b)*(a+b-1)//2 "
        "for a, r, b in zip(widths, widths[1:], widths[2:]))"
    ),
}

_SPEC_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_+]*)\s*:\s*(\d+(?:x\d+)*)\s*$")
_MAX_BITS = 4096
_MAX_ITEMS = 100_000
_MAX_FORMULA = 2_000
#: Evaluation steps of one formula on one row (every node evaluated counts, so an item a
#: comprehension's ``if`` drops counts too): at most about a second of work.
MAX_STEPS = 1_000_000
_NAME_RE = re.compile(r"n\d+")
#: Names a formula may use (besides n0, n1, ... and comprehension variables).
FORMULA_NAMES = ("D", "dim", "depth", "widths", "hidden", "n", "r", "m")


def _range(*args: Any) -> tuple[int, ...]:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise InvalidArgument("range() takes integers")
    r = range(*args)
    if len(r) > _MAX_ITEMS:
        raise InvalidArgument(f"range() of {len(r)} values is over the formula limit {_MAX_ITEMS}")
    return tuple(r)


def _zip(*args: Any) -> tuple[tuple[Any, ...], ...]:
    if not all(isinstance(a, tuple) for a in args):
        raise InvalidArgument("zip() takes sequences such as widths or hidden")
    return tuple(zip(*args))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "sum": sum, "len": len, "abs": abs, "range": _range, "zip": _zip,
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Div: lambda a, b: Fraction(a) / Fraction(b),
    ast.Pow: lambda a, b: a**b,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
    ast.Load, ast.Store, ast.Constant, ast.Tuple, ast.List, ast.Subscript, ast.Slice, ast.GeneratorExp,
    ast.ListComp, ast.comprehension, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    *_BINOPS, *_CMPOPS,
)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def _bounded(x: Any) -> Any:
    if isinstance(x, int) and x.bit_length() > _MAX_BITS:
        raise InvalidArgument(f"an intermediate value has more than {_MAX_BITS} bits")
    if isinstance(x, Fraction):
        if x.numerator.bit_length() > _MAX_BITS or x.denominator.bit_length() > _MAX_BITS:
            raise InvalidArgument(f"an intermediate value has more than {_MAX_BITS} bits")
        if x.denominator == 1:
            return int(x)
    return x


class Formula:
    """A compiled ``--expect`` formula; call it with a mapping of names.

    Built by :func:`compile_formula`. Attributes: ``text`` and ``names`` (the
    free names it reads).
    """

    def __init__(self, text: str, tree: ast.Expression, names: frozenset[str]) -> None:
        self.text = text
        self._tree = tree
        self.names = names
        self._steps = 0

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __call__(self, names: Mapping[str, Any]) -> int | Fraction:
        """The value for one row's names (``int``, or ``Fraction`` for ``/``).

        Raises
        ------
        InvalidArgument
            A name the row does not define, a non-numeric result, or an
            arithmetic error (division by zero, a value too large).
        """
        self._steps = 0
        try:
            value = self._eval(self._tree.body, dict(names))
        except InvalidArgument:
            raise
        except (ArithmeticError, TypeError, ValueError, IndexError, RecursionError) as err:
            raise InvalidArgument(f"formula {self.text!r}: {type(err).__name__}: {err}") from err
        if not _is_number(value):
            raise InvalidArgument(f"formula {self.text!r} gives {value!r}, not a number")
        return _bounded(value)

    def _spend(self, steps: int) -> None:
        self._steps += steps
        if self._steps > MAX_STEPS:
            raise InvalidArgument(f"formula {self.text!r}: more than MAX_STEPS={MAX_STEPS:,} evaluation steps "
                                  "(items a comprehension filters out count too); write a closed form")

    def _eval(self, node: ast.AST, env: dict[str, Any]) -> Any:
        self._spend(1)
        ev = self._eval
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in _FUNCTIONS:
                raise InvalidArgument(f"formula {self.text!r}: {node.id} is a function; call it, e.g. {node.id}(hidden)")
            raise InvalidArgument(f"formula {self.text!r}: name {node.id!r} is not defined for this row")
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left, env), ev(node.right, env)
            if not (_is_number(a) and _is_number(b)):
                raise InvalidArgument(f"formula {self.text!r}: arithmetic needs numbers, got {type(a).__name__} and {type(b).__name__}")
            if isinstance(node.op, ast.Pow):
                if not isinstance(b, int) or b < 0:
                    raise InvalidArgument(f"formula {self.text!r}: exponents must be non-negative integers")
                size = max(Fraction(a).numerator.bit_length(), Fraction(a).denominator.bit_length())
                if b > _MAX_BITS or (abs(a) != 1 and a != 0 and size * b > _MAX_BITS):
                    raise InvalidArgument(f"formula {self.text!r}: {a}**{b} is too large")
            return _bounded(_BINOPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env)
            if isinstance(node.op, ast.Not):
                return not v
            if not _is_number(v):
                raise InvalidArgument(f"formula {self.text!r}: unary minus needs a number")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BoolOp):
            want = isinstance(node.op, ast.Or)  # the value that stops the scan
            acc: Any = not want
            for sub in node.values:
                acc = ev(sub, env)
                if bool(acc) is want:
                    return acc
            return acc
        if isinstance(node, ast.Compare):
            left = ev(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp, env)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body, env) if ev(node.test, env) else ev(node.orelse, env)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [ev(a, env) for a in node.args]
            self._spend(sum(len(a) for a in args if isinstance(a, tuple)))  # sum/zip/min walk their sequences
            value = _FUNCTIONS[node.func.id](*args)  # range() refuses more than _MAX_ITEMS values itself
            if node.func.id == "range":
                self._spend(len(value))
            return _bounded(value)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(ev(e, env) for e in node.elts)
        if isinstance(node, ast.Subscript):
            seq = ev(node.value, env)
            if not isinstance(seq, tuple):
                raise InvalidArgument(f"formula {self.text!r}: only sequences such as widths can be indexed")
            if isinstance(node.slice, ast.Slice):
                parts = [None if p is None else ev(p, env) for p in (node.slice.lower, node.slice.upper, node.slice.step)]
                if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
                    raise InvalidArgument(f"formula {self.text!r}: slice bounds must be integers")
                part = seq[slice(*parts)]
                self._spend(len(part))
                return part
            idx = ev(node.slice, env)
            if isinstance(idx, bool) or not isinstance(idx, int):
                raise InvalidArgument(f"formula {self.text!r}: indices must be integers")
            return seq[idx]
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return tuple(self._comprehension(node.elt, list(node.generators), env))
        raise InvalidArgument(f"formula {self.text!r}: {type(node).__name__} is not allowed")  # pragma: no cover

    def _comprehension(self, elt: ast.AST, gens: list[ast.comprehension], env: dict[str, Any]) -> list[Any]:
        gen, rest = gens[0], gens[1:]
        seq = self._eval(gen.iter, env)
        if not isinstance(seq, tuple):
            raise InvalidArgument(f"formula {self.text!r}: a comprehension runs over a sequence such as hidden or zip(...)")
        out: list[Any] = []
        for value in seq:
            inner = dict(env)
            _bind(gen.target, value, inner, self.text)
            if all(self._eval(cond, inner) for cond in gen.ifs):
                out += self._comprehension(elt, rest, inner) if rest else [self._eval(elt, inner)]
            if len(out) > _MAX_ITEMS:
                raise InvalidArgument(f"formula {self.text!r}: more than {_MAX_ITEMS} items")
        return out


def _bind(target: ast.AST, value: Any, env: dict[str, Any], text: str) -> None:
    if isinstance(target, ast.Name):
        env[target.id] = value
        return
    assert isinstance(target, ast.Tuple)
    if not isinstance(value, tuple) or len(value) != len(target.elts):
        raise InvalidArgument(f"formula {text!r}: cannot unpack {value!r} into {len(target.elts)} names")
    for t, v in zip(target.elts, value):
        _bind(t, v, env, text)


def _bound_names(target: ast.AST, text: str) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple):
        return set().union(*(_bound_names(t, text) for t in target.elts))
    raise InvalidArgument(f"formula {text!r}: a comprehension variable must be a name or a tuple of names")


def compile_formula(text: str) -> Formula:
    """Read a formula for the expected count, safely (``ast`` whitelist, no ``eval``).

    Allowed: integers, ``+ - * // % ** /`` (``/`` is exact, a ``Fraction``),
    comparisons, ``and``/``or``/``not``, ``x if c else y``, indexing and slicing
    of sequences, comprehensions (``sum(a*b for a, b in zip(widths, widths[1:]))``)
    and the functions ``min max sum len abs range zip``. Names: ``n0, n1, ...``
    (the widths of the spec, input first), ``widths``, ``hidden``
    (``widths[1:-1]``), ``depth`` (``len(widths)``), ``D`` (number of
    parameters), ``dim`` (dimension of the phase space) and ``n, r, m`` (the
    sizes of ``factorization:NxRxM`` / ``sym:NxR``, and of a network with three
    widths). A name of :data:`KNOWN_FORMULAS` (``"relu"``, ``"linear"``) stands
    for the papers' formula.

    Raises
    ------
    InvalidArgument
        Syntax errors, floats, unknown names, attribute access, calls of
        anything but the functions above, keyword arguments, lambdas, ...

    Examples
    --------
    >>> f = compile_formula("sum(hidden)")
    >>> f({"hidden": (3, 4)})
    7
    >>> compile_formula("linear")({"widths": (2, 5, 2)})   # r=5 > N=4: 4*5 - 4*3/2
    14
    >>> compile_formula("__import__('os').system('ls')")
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: formula "__import__('os').system('ls')": attribute access (.system) is not allowed; use only arithmetic on the row's names
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"formula={text!r} (type={type(text).__name__}): expected a string such as 'r*(r+1)//2'")
    text = KNOWN_FORMULAS.get(text.strip(), text).strip()
    if not text:
        raise InvalidArgument("formula='': expected an expression such as 'r*(r+1)//2' or 'sum(hidden)'")
    if len(text) > _MAX_FORMULA:
        raise InvalidArgument(f"formula of {len(text)} characters is over the limit {_MAX_FORMULA}")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise InvalidArgument(f"formula {text!r} is not a valid expression: {err}") from err
    free: set[str] = set()

    def visit(node: ast.AST, bound: frozenset[str]) -> None:
        if isinstance(node, ast.Attribute):
            raise InvalidArgument(f"formula {text!r}: attribute access (.{node.attr}) is not allowed; use only arithmetic on the row's names")
        if not isinstance(node, _ALLOWED):
            raise InvalidArgument(f"formula {text!r}: {type(node).__name__} is not allowed; use arithmetic, comparisons, x if c else y and min/max/sum/len/abs/range/zip")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, int)):
            raise InvalidArgument(f"formula {text!r}: constant {node.value!r} is not an integer; counts are exact (use // or /)")
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                visit(node.func, bound)
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.func.id in bound:
                what = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
                raise InvalidArgument(f"formula {text!r}: calling {what!r} is not allowed; functions: {', '.join(_FUNCTIONS)}")
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise InvalidArgument(f"formula {text!r}: keyword and * arguments are not allowed")
            for a in node.args:
                visit(a, bound)
            return
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            inner = set(bound)
            for gen in node.generators:
                if gen.is_async:
                    raise InvalidArgument(f"formula {text!r}: async comprehensions are not allowed")
                visit(gen.iter, frozenset(inner))
                names = _bound_names(gen.target, text)
                bad = [n for n in names if n.startswith("_")]
                if bad:
                    raise InvalidArgument(f"formula {text!r}: names starting with '_' are not allowed ({bad[0]})")
                inner |= names
                for cond in gen.ifs:
                    visit(cond, frozenset(inner))
            visit(node.elt, frozenset(inner))
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            if node.id.startswith("_") or not (node.id in FORMULA_NAMES or _NAME_RE.fullmatch(node.id) or node.id in _FUNCTIONS):
                raise InvalidArgument(
                    f"formula {text!r}: unknown name {node.id!r}; names: n0, n1, ..., {', '.join(FORMULA_NAMES)}"
                )
            if node.id not in _FUNCTIONS:
                free.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, bound)

    try:
        visit(tree, frozenset())
    except RecursionError as err:
        raise InvalidArgument(f"formula {text!r} is nested too deeply") from err
    return Formula(text, tree, frozenset(free))


def _sizes_of(spec: str, model: Model | None = None) -> tuple[str | None, tuple[int, ...] | None]:
    m = _SPEC_RE.match(spec)
    if m:
        return m.group(1).lower(), tuple(int(t) for t in m.group(2).split("x"))
    if model is not None and model.kind == "network" and model.layers:
        return None, tuple(int(v) for v in model.layers)
    return None, None


def formula_names(spec: str, *, params: int | None, dim: int | None, model: Model | None = None) -> dict[str, Any]:
    """The names a formula sees for one row (see :func:`compile_formula`).

    Examples
    --------
    >>> sorted(formula_names("relu:2x3x4", params=18, dim=18).items())
    [('D', 18), ('depth', 3), ('dim', 18), ('hidden', (3,)), ('m', 4), ('n', 2), ('n0', 2), ('n1', 3), ('n2', 4), ('r', 3), ('widths', (2, 3, 4))]
    """
    names: dict[str, Any] = {}
    if params is not None:
        names["D"] = params
    if dim is not None:
        names["dim"] = dim
    kind, sizes = _sizes_of(spec, model)
    if sizes is None:
        return names
    names.update(widths=sizes, depth=len(sizes), hidden=sizes[1:-1])
    names.update({f"n{i}": v for i, v in enumerate(sizes)})
    base = (kind or "").replace("+bias", "")
    if base in ("factorization",) or (base not in ("sym", "product") and len(sizes) == 3):
        names.update(n=sizes[0], r=sizes[1], m=sizes[2])
    elif base == "sym" and len(sizes) == 2:
        names.update(n=sizes[0], r=sizes[1])
    return names


_FLOW_PREFIX = re.compile(r"^\s*([A-Za-z_]+)\s*=(?!=)\s*(.*)$", re.S)


def expectations(expect: Any, flows: Sequence[str]) -> dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]]:
    """``{flow or "*": (description, formula)}`` from a formula, a callable, a mapping or ``FLOW=FORMULA`` strings.

    Raises
    ------
    InvalidArgument
        An unknown flow, two formulas for one flow, or a formula
        :func:`compile_formula` refuses.

    Examples
    --------
    >>> sorted(expectations(["gradient=sum(hidden)", "momentum=0"], ["gradient", "momentum"]))
    ['gradient', 'momentum']
    >>> expectations("relu", ["gradient"])["*"][0]
    'sum(hidden)'
    """
    from ..engine.flow import ANALYZE_FLOWS as FLOWS

    if expect is None:
        return {}
    if isinstance(expect, Mapping):
        pairs = list(expect.items())
    elif isinstance(expect, str) or callable(expect):
        pairs = [("*", expect)]
    elif isinstance(expect, (list, tuple)):
        pairs = []
        for text in expect:
            if not isinstance(text, str):
                raise InvalidArgument(f"expect item {text!r} (type={type(text).__name__}): expected 'FORMULA' or 'FLOW=FORMULA'")
            m = _FLOW_PREFIX.match(text)
            pairs.append((m.group(1).lower(), m.group(2)) if m and m.group(1).lower() in FLOWS else ("*", text))
    else:
        raise InvalidArgument(
            f"expect={expect!r} (type={type(expect).__name__}): expected a formula string, a callable or a dict {{flow: formula}}"
        )
    out: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {}
    for flow, f in pairs:
        if flow != "*" and flow not in FLOWS:
            raise InvalidArgument(f"expect: unknown flow {flow!r}; known flows: {', '.join(FLOWS)}")
        if flow in out:
            raise InvalidArgument(f"expect: two formulas for {'every flow' if flow == '*' else 'flow ' + repr(flow)}")
        if callable(f):
            out[flow] = (getattr(f, "__name__", "callable"), f)
        else:
            compiled = compile_formula(f)
            out[flow] = (compiled.text, compiled)
    return out
