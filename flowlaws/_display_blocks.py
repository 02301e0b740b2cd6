"""Readable laws of models outside the layered layout: residual blocks, convolutions, attention.

Plain functions that read a law's structure from the *names* of its variables
(``W1[2,0]``, ``k0[1]``, ``V[0,1,3]``, ``layer1.0.weight[3,1]``, each a named
parameter with integer indices) and its exact terms, whatever model built it
(``resnet_block``, ``conv1d``, ``attention``, ``from_graph``, ``from_torch``):

- sums of squared norms of parameter slices, ``‖k0‖² − ‖V[0,0,:]‖²``
  (``"slice-norms"``), and their mirror-metric version ``ΣA[i,:] − ΣB[:,i]``
  (``"slice-sums"``);
- Gram-matrix entries, ``(Qᵀ Q − Kᵀ K)[0,1]`` (``"gram"``), and the
  antisymmetric momentum version ``(Qᵀ Q' − Q'ᵀ Q + …)[0,1]``
  (``"gram-antisymmetric"``).

A form is claimed only when the polynomial rebuilt from it (:func:`expand_block_form`)
equals the law exactly, coefficient by coefficient; laws whose terms are single
entries only (``x0² − x2²``) gain nothing and stay unrecognised. Laws that
differ only by their indices are grouped (``‖k_i‖² − ‖V[0,i,:]‖²,  i = 0..1``),
again only when every member is that line with its own index. This module does
not check that a law is conserved (``flowlaws.verify`` does). It also holds the
printing primitives (``_Printer``) that ``flowlaws._display`` shares.

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.parse("conv1d:5x2x2"))
>>> print(block_text(res.laws[1]))
‖k1‖² − ‖V[0,1,:]‖²
>>> [(g["kind"], g["compact"]) for g in group_block_laws(res.laws)]
[('slice-norms', '‖k_i‖² − ‖V[0,i,:]‖²,  i = 0..1')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Sequence

__all__ = ["block_form", "expand_block_form", "block_text", "group_block_laws", "BLOCK_TITLES"]

MINUS = "−"
BLOCK_TITLES = {
    "slice-norms": "norm-balance laws",
    "slice-sums": "sum-balance laws (mirror metric)",
    "gram": "Gram-matrix laws",
    "gram-antisymmetric": "antisymmetric Gram laws (momentum)",
}
_OPS = {"slice-norms": "norm", "slice-sums": "sum", "gram": "gram", "gram-antisymmetric": "anti"}
_NAME = re.compile(r"^(?P<base>[^\[\]]+?)(?:\[(?P<idx>\d+(?:,\d+)*)\])?$")
_STEM = re.compile(r"^(?P<stem>[A-Za-z_]+)(?P<num>0|[1-9]\d{0,5})$")
_MAX_TERMS = 200_000

Mono = tuple[tuple[int, int], ...]
Poly = dict[Mono, Fraction]


# -- printing primitives (shared with flowlaws._display) -------------------------------
def _tex_name(base: str) -> str:
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", base)
    if m:
        return f"{m[1]}_{{{m[2]}}}"
    if re.fullmatch(r"[A-Za-z]", base):
        return base
    return r"\mathtt{" + base.replace("\\", "").replace("_", r"\_").replace("{", "").replace("}", "") + "}"


class _Printer:
    """Plain-text (Unicode) or LaTeX spelling of the pieces of a form."""

    def __init__(self, latex: bool) -> None:
        self.latex = latex
        self.minus = " - " if latex else f" {MINUS} "

    def name(self, base: str, prime: bool = False) -> str:
        out = _tex_name(base) if self.latex else base
        return out + "'" if prime else out

    def T(self, x: str) -> str:
        return x + (r"^{\top}" if self.latex else "ᵀ")

    def sq_norm(self, x: str) -> str:
        return rf"\lVert {x}\rVert^2" if self.latex else f"‖{x}‖²"

    def sq(self, x: str) -> str:
        return f"{x}^2" if self.latex else f"{x}²"

    def total(self, x: str) -> str:
        return rf"\textstyle\sum {x}" if self.latex else f"Σ{x}"

    def dot(self) -> str:
        return r" \cdot " if self.latex else "·"

    def inner(self, a: str, b: str) -> str:
        return rf"\langle {a}, {b}\rangle" if self.latex else f"⟨{a}, {b}⟩"


def _factor_text(form: dict[str, Any], p: _Printer) -> tuple[str, bool]:
    """The scalar factor in front of a structure, and whether the structure is negated."""
    c = Fraction(form["coefficient"])
    negate = c < 0
    mag = abs(c)
    parts = []
    if mag != 1:
        parts.append(rf"\frac{{{mag.numerator}}}{{{mag.denominator}}}" if (p.latex and mag.denominator != 1) else str(mag))
    k = form.get("time_power", 0)
    if k:
        parts.append(("t" if k == 1 else f"t^{{{k}}}") if p.latex else ("t" if k == 1 else f"t^{k}"))
    rate = form.get("time_rate") or 0
    if rate:
        q = Fraction(rate)
        if p.latex:
            r = "" if q == 1 else (str(q) if q.denominator == 1 else rf"\frac{{{q.numerator}}}{{{q.denominator}}}") + " "
            parts.append(rf"e^{{{r.lstrip()}t}}")
        else:
            parts.append(f"exp({'' if q == 1 else f'{q}·'}t)")
    return p.dot().join(parts), negate


# -- the variables: named tensors ------------------------------------------------------
class _Names:
    """The law's variables as named tensors: ``(stem, num) -> {index tuple: position}``."""

    def __init__(self, variables: tuple[str, ...]) -> None:
        n = len(variables)
        self.time: int | None = None
        params = variables
        velocity = 0
        if n % 2 == 1 and n >= 3 and variables[0] in ("t", "s"):
            D = (n - 1) // 2
            if all(variables[D + 1 + k] == variables[1 + k] + "'" for k in range(D)):
                self.time, params, velocity = 0, variables[1 : D + 1], D
        offset = 0 if self.time is None else 1
        self.tensor: dict[tuple[str, int | None], dict[tuple[int, ...], int]] = {}
        self.atom: dict[int, tuple[tuple[str, int | None], tuple[int, ...], bool]] = {}
        self.velocity: dict[int, int] = {}
        self.ok = True
        for k, name in enumerate(params):
            m = _NAME.match(name)
            if not m or "'" in name:
                self.ok = False
                return
            base = m["base"]
            s = _STEM.match(base)
            key = (s["stem"], int(s["num"])) if s else (base, None)
            idx = tuple(int(x) for x in m["idx"].split(",")) if m["idx"] else ()
            entries = self.tensor.setdefault(key, {})
            if idx in entries or (entries and len(next(iter(entries))) != len(idx)):
                self.ok = False
                return
            entries[idx] = offset + k
            self.atom[offset + k] = (key, idx, False)
            if velocity:
                self.atom[offset + k + velocity] = (key, idx, True)
                self.velocity[offset + k] = offset + k + velocity
        self.shape = {key: tuple(1 + max(i[a] for i in e) for a in range(len(next(iter(e))))) for key, e in self.tensor.items()}

    def var(self, key: tuple[str, int | None], idx: tuple[int, ...], prime: bool = False) -> int:
        pos = self.tensor[key][idx]  # KeyError: no such entry
        return self.velocity[pos] if prime else pos


# -- forms -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One signed term of a form: ``op`` on the slice ``pattern`` of the tensor ``stem``/``num``.

    ``pattern`` holds an index or None (``:``) per axis; for ``gram`` / ``anti`` it
    omits ``axis``, where the two sides take ``pair = (i, j)``. In a group's line,
    indices may be symbols (``"i"``).
    """

    op: str
    sign: int
    stem: str
    num: Any
    pattern: tuple
    axis: int | None = None
    pair: tuple | None = None

    def slots(self) -> list[Any]:
        out = [] if self.num is None else [self.num]
        out += [v for v in self.pattern if v is not None]
        return out + list(self.pair or ())

    def fill(self, values: list[Any]) -> Piece:
        it = iter(values)
        num = None if self.num is None else next(it)
        pattern = tuple(None if v is None else next(it) for v in self.pattern)
        pair = None if self.pair is None else (next(it), next(it))
        return replace(self, num=num, pattern=pattern, pair=pair)


def _slices(S: set[tuple[int, ...]], shape: tuple[int, ...]) -> list[tuple]:
    """``S`` as a union of slices (an index or None = every index, per axis)."""
    if not shape:
        return [()]
    pattern: list[int | None] = []
    size = 1
    for a, n in enumerate(shape):
        vals = {s[a] for s in S}
        if len(vals) == 1:
            pattern.append(next(iter(vals)))
        elif vals == set(range(n)):
            pattern.append(None)
            size *= n
        else:
            size = -1
            break
    if size == len(S):
        return [tuple(pattern)]
    out = []
    for v in sorted({s[0] for s in S}):
        out += [(v,) + rest for rest in _slices({s[1:] for s in S if s[0] == v}, shape[1:])]
    return out


def _entries(pattern: tuple, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = [()]
    for v, n in zip(pattern, shape):
        out = [e + (k,) for e in out for k in ([v] if v is not None else range(n))]
    return out


def _with_axis(rest: tuple, axis: int, value: Any) -> tuple:
    return rest[:axis] + (value,) + rest[axis:]


def _law_poly(law: Any) -> Poly:
    return {tuple(mono): Fraction(c) for c, mono in law.terms if c}


def block_form(law: Any) -> dict[str, Any] | None:
    """The slice / Gram structure of a law, or None when it has none (or gains nothing).

    Returns
    -------
    dict or None
        ``{"kind", "coefficient", "time_power", "time_rate", "pieces"}``: the law equals
        ``coefficient · t^time_power · exp(time_rate·t) · Σ ±piece`` exactly
        (:func:`expand_block_form` rebuilds it).

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.parse("attention:2x2"))
    >>> f = block_form(res.laws[4])
    >>> f["kind"], [(p.sign, p.stem, p.axis, p.pair) for p in f["pieces"]]
    ('gram', [(1, 'Q', 1, (0, 1)), (-1, 'K', 1, (0, 1))])
    """
    if len(law.terms) > _MAX_TERMS:
        return None
    names = _Names(tuple(law.variables))
    if not names.ok:
        return None
    return _block_form(law, names)


def _block_form(law: Any, names: _Names) -> dict[str, Any] | None:
    poly = _law_poly(law)
    if not poly:
        return None
    time_power = 0
    if names.time is not None:
        time_power = min(dict(m).get(names.time, 0) for m in poly)
        if time_power:  # a common power of the time coordinate (Nesterov's t³) is a factor
            stripped: Poly = {}
            for m, coef in poly.items():
                mono = ((v, e - time_power if v == names.time else e) for v, e in m)
                stripped[tuple((v, e) for v, e in mono if e)] = coef
            poly = stripped
    mag = {abs(c) for c in poly.values()}
    if len(mag) != 1:
        return None
    c = mag.pop()
    atoms = []  # (sign, [(key, idx, prime), ...]) per term
    for mono, coef in poly.items():
        factors = []
        for v, e in mono:
            if v not in names.atom:
                return None
            factors += [names.atom[v]] * e
        atoms.append((1 if coef > 0 else -1, factors))
    degrees = {len(f) for _, f in atoms}
    if degrees == {1}:
        kind = "slice-sums"
    elif degrees != {2}:
        return None
    elif any(f[0][2] != f[1][2] for _, f in atoms):
        kind = "gram-antisymmetric"
    elif all(f[0] == f[1] for _, f in atoms):
        kind = "slice-norms"
    else:
        kind = "gram"
    pieces = _pieces(kind, atoms, names)
    if pieces is None:
        return None
    form = {"kind": kind, "coefficient": c, "time_power": time_power, "time_rate": law.time_rate, "pieces": pieces}
    if not any(_size(p, names) > 1 for p in pieces):
        return None  # single entries only: the expanded text is as readable
    try:
        rebuilt = expand_block_form(form, names)
    except (KeyError, ValueError):
        return None
    return form if rebuilt == _law_poly(law) else None


def _size(piece: Piece, names: _Names) -> int:
    shape = names.shape[(piece.stem, piece.num)]
    n = 1
    for v, k in zip(piece.pattern, shape[:piece.axis] + shape[piece.axis + 1:] if piece.axis is not None else shape):
        n *= k if v is None else 1
    return n


def _pieces(kind: str, atoms: list, names: _Names) -> list[Piece] | None:
    op = _OPS[kind]
    buckets: dict[tuple, set] = {}
    first: dict[tuple, int] = {}
    for sign, factors in atoms:
        if op in ("norm", "sum"):
            if op == "norm" and (factors[0][2] or factors[1][2]):
                return None
            if op == "sum" and factors[0][2]:
                return None
            (key, idx, _) = factors[0]
            bucket = (sign, key, None, None)
            rest = idx
        else:
            (ka, ia, pa), (kb, ib, pb) = factors
            if ka != kb or len(ia) != len(ib):
                return None
            diff = [a for a in range(len(ia)) if ia[a] != ib[a]]
            if len(diff) != 1:
                return None
            axis = diff[0]
            if op == "anti":  # the unit A[..i..] A'[..j..] − A'[..i..] A[..j..] with i < j
                if pa:
                    ia, ib, sign = ib, ia, -sign
                if ia[axis] > ib[axis]:
                    ia, ib, sign = ib, ia, -sign
            elif ia[axis] > ib[axis]:
                ia, ib = ib, ia
            bucket = (sign, ka, axis, (ia[axis], ib[axis]))
            rest = ia[:axis] + ia[axis + 1:]
        buckets.setdefault(bucket, set()).add(rest)
        pos = names.var(bucket[1], idx if op in ("norm", "sum") else ia)
        first[bucket] = min(first.get(bucket, pos), pos)
    pieces = []
    for bucket in sorted(buckets, key=lambda b: (-b[0], first[b])):
        sign, key, axis, pair = bucket
        shape = names.shape[key]
        if axis is not None:
            shape = shape[:axis] + shape[axis + 1:]
        for pattern in _slices(buckets[bucket], shape):
            pieces.append(Piece(op, sign, key[0], key[1], pattern, axis, pair))
    return pieces


def expand_block_form(form: dict[str, Any], names: Any) -> Poly:
    """The polynomial of a form, ``{monomial: Fraction}`` over the law's variables.

    ``names`` is the law's variable names (or their parsed form). A form is
    claimed only when this equals the law.

    Examples
    --------
    >>> import flowlaws as fl
    >>> law = fl.analyze(fl.models.parse("conv1d:3x2")).laws[0]
    >>> expand_block_form(block_form(law), law.variables) == {m: c for c, m in law.terms}
    True
    """
    if not isinstance(names, _Names):
        names = _Names(tuple(names))
        if not names.ok:
            raise ValueError("the variables are not named tensor entries")
    c = Fraction(form["coefficient"])
    k = form.get("time_power", 0)
    out: Poly = {}

    def add(vars_: list[int], coef: Fraction) -> None:
        counts: dict[int, int] = {}
        for v in vars_:
            counts[v] = counts.get(v, 0) + 1
        if k:
            counts[names.time] = counts.get(names.time, 0) + k  # type: ignore[index]
        mono = tuple(sorted(counts.items()))
        value = out.get(mono, Fraction(0)) + coef
        if value:
            out[mono] = value
        else:
            out.pop(mono, None)

    for p in form["pieces"]:
        key = (p.stem, p.num)
        shape = names.shape[key]
        if p.axis is None:
            for idx in _entries(p.pattern, shape):
                v = names.var(key, idx)
                add([v, v] if p.op == "norm" else [v], c * p.sign)
            continue
        i, j = p.pair
        if not (0 <= i < shape[p.axis] and 0 <= j < shape[p.axis]):
            raise ValueError("index out of range")
        rest_shape = shape[:p.axis] + shape[p.axis + 1:]
        for rest in _entries(p.pattern, rest_shape):
            a, b = _with_axis(rest, p.axis, i), _with_axis(rest, p.axis, j)
            if p.op == "gram":
                add([names.var(key, a), names.var(key, b)], c * p.sign)
            else:
                add([names.var(key, a), names.var(key, b, True)], c * p.sign)
                add([names.var(key, a, True), names.var(key, b)], -c * p.sign)
    return out


# -- text --------------------------------------------------------------------------------
def _tensor_name(piece: Piece, p: _Printer, prime: bool = False) -> str:
    if piece.num is None:
        base = p.name(piece.stem, prime)
    elif isinstance(piece.num, str):
        base = (f"{_tex_name(piece.stem)}_{{{piece.num}}}" if p.latex else f"{piece.stem}_{piece.num}") + ("'" if prime else "")
    else:
        base = p.name(f"{piece.stem}{piece.num}", prime)
    return base


def _index(pattern: tuple) -> str:
    if not pattern or all(v is None for v in pattern):
        return ""
    return "[" + ",".join(":" if v is None else str(v) for v in pattern) + "]"


def _matrix_style(pieces: list[Piece]) -> bool:
    return all(q.axis is not None and len(q.pattern) == 1 and q.pattern[0] is None for q in pieces) and len(
        {q.pair for q in pieces}) == 1


def _piece_text(q: Piece, p: _Printer) -> str:
    if q.axis is None:
        x = _tensor_name(q, p) + _index(q.pattern)
        full = any(v is None for v in q.pattern)
        if q.op == "norm":
            return p.sq_norm(x) if full else p.sq(x)
        return p.total(x) if full else x
    i, j = q.pair  # type: ignore[misc]
    pi, pj = _with_axis(q.pattern, q.axis, i), _with_axis(q.pattern, q.axis, j)
    if q.op == "gram":
        return p.inner(_tensor_name(q, p) + _index(pi), _tensor_name(q, p) + _index(pj))
    a = p.inner(_tensor_name(q, p) + _index(pi), _tensor_name(q, p, True) + _index(pj))
    b = p.inner(_tensor_name(q, p, True) + _index(pi), _tensor_name(q, p) + _index(pj))
    return f"({a}{p.minus}{b})"


def _matrix_terms(q: Piece, p: _Printer) -> list[tuple[int, str]]:
    a, ap = _tensor_name(q, p), _tensor_name(q, p, True)
    if q.op == "gram":
        return [(q.sign, f"{p.T(a)} {a}" if q.axis == 1 else f"{a} {p.T(a)}")]
    if q.axis == 1:
        return [(q.sign, f"{p.T(a)} {ap}"), (-q.sign, f"{p.T(ap)} {a}")]
    return [(q.sign, f"{a} {p.T(ap)}"), (-q.sign, f"{ap} {p.T(a)}")]


def _join(terms: list[tuple[int, str]], p: _Printer) -> str:
    out = ""
    for k, (sign, text) in enumerate(terms):
        if k == 0:
            out = ("-" if p.latex else MINUS) + text if sign < 0 else text
        else:
            out += (p.minus if sign < 0 else " + ") + text
    return out


def render_form(form: dict[str, Any], p: _Printer) -> str:
    """A form as text (``p`` plain or LaTeX); its indices may be symbols."""
    factor, _ = _factor_text(dict(form, coefficient=abs(Fraction(form["coefficient"]))), p)
    pieces = form["pieces"]
    if form["kind"] in ("gram", "gram-antisymmetric") and _matrix_style(pieces):
        i, j = pieces[0].pair
        body = "(" + _join([t for q in pieces for t in _matrix_terms(q, p)], p) + f")[{i},{j}]"
        return factor + p.dot() + body if factor else body
    body = _join([(q.sign, _piece_text(q, p)) for q in pieces], p)
    return factor + p.dot() + f"({body})" if factor else body


def block_text(law: Any, *, latex: bool = False) -> str | None:
    """A law in slice / Gram form, or None when :func:`block_form` finds none.

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.parse("attention:2x2"))
    >>> print(block_text(res.laws[4]))
    (Qᵀ Q − Kᵀ K)[0,1]
    """
    form = block_form(law)
    return None if form is None else render_form(form, _Printer(latex))


# -- grouping ----------------------------------------------------------------------------
def _as_gram(form: dict[str, Any]) -> dict[str, Any] | None:
    """A norm law over whole columns / rows of matrices sharing one index, as the Gram entry ``(i, i)``."""
    if form["kind"] != "slice-norms":
        return None
    pieces = []
    for q in form["pieces"]:
        if len(q.pattern) != 2 or [v is None for v in q.pattern].count(True) != 1:
            return None
        axis = 0 if q.pattern[0] is not None else 1
        pieces.append(replace(q, op="gram", pattern=(None,), axis=axis, pair=(q.pattern[axis],) * 2))
    if len({q.pair for q in pieces}) != 1:
        return None
    return dict(form, kind="gram", pieces=pieces)


def _shape_key(form: dict[str, Any]) -> tuple:
    pieces = tuple(replace(q, num=None if q.num is None else "#",
                           pattern=tuple(None if v is None else "#" for v in q.pattern),
                           pair=None if q.pair is None else ("#", "#")) for q in form["pieces"])
    return (form["kind"], Fraction(form["coefficient"]), form.get("time_power", 0), Fraction(form.get("time_rate") or 0), pieces)


def _slot_values(form: dict[str, Any]) -> list[Any]:
    return [v for q in form["pieces"] for v in q.slots()]


def _compact(forms: list[dict[str, Any]], latex: bool) -> tuple[str | None, list, list[Piece]]:
    """One line for a family of forms differing by indices, when they are exactly one
    line's instances over a full index range (``i = lo..hi`` or ``lo ≤ i ≤ j ≤ hi``)."""
    if len(forms) < 2:
        return None, [], []
    rows = [_slot_values(f) for f in forms]
    varying = [k for k in range(len(rows[0])) if len({r[k] for r in rows}) > 1]
    classes: list[list[int]] = []
    for k in varying:
        for cl in classes:
            if all(r[k] == r[cl[0]] for r in rows):
                cl.append(k)
                break
        else:
            classes.append([k])
    values = [tuple(r[cl[0]] for cl in classes) for r in rows]
    suffix = None
    if len(classes) == 1:
        vals = sorted(v[0] for v in values)
        if vals == list(range(vals[0], vals[0] + len(vals))):
            suffix = f"i = {vals[0]}..{vals[-1]}" if not latex else rf"i = {vals[0]},\dots,{vals[-1]}"
    elif len(classes) == 2 and forms[0]["kind"] in ("gram", "gram-antisymmetric"):
        lo, hi = min(min(v) for v in values), max(max(v) for v in values)
        got = sorted(values)
        for strict in (False, True):
            want = [(i, j) for i in range(lo, hi + 1) for j in range(i + strict, hi + 1)]
            if got == want:
                rel = "<" if strict else (r"\le" if latex else "≤")
                le = r"\le" if latex else "≤"
                suffix = f"{lo} {le} i {rel} j {le} {hi}"
    if suffix is None:
        return None, values, []
    symbols = list(rows[0])
    for cl, sym in zip(classes, "ij"):
        for k in cl:
            symbols[k] = sym
    p = _Printer(latex)
    template = dict(forms[0], pieces=_fill(forms[0]["pieces"], symbols))
    # every member is exactly the line with its own indices
    for f, v in zip(forms, values):
        inst = list(symbols)
        for cl, x in zip(classes, v):
            for k in cl:
                inst[k] = x
        if _fill(template["pieces"], inst) != list(f["pieces"]):
            return None, values, []
    sep = r", \quad " if latex else ",  "
    return render_form(template, p) + sep + suffix, values, template["pieces"]


def _fill(pieces: Sequence[Piece], values: list[Any]) -> list[Piece]:
    out, pos = [], 0
    for q in pieces:
        n = len(q.slots())
        out.append(q.fill(values[pos:pos + n]))
        pos += n
    return out


def group_block_laws(laws: Sequence[Any], positions: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Group laws by slice / Gram structure; unrecognised laws form ``"other"`` groups.

    Parameters
    ----------
    laws : sequence of Law
    positions : sequence of int, optional
        The laws' positions in the result (default ``0, 1, …``).

    Returns
    -------
    list of dict
        In order of first appearance, each with ``kind`` (a key of
        ``BLOCK_TITLES`` or ``"other"``), ``layer`` (None), ``params`` (the tensors
        involved), ``laws``, ``indices``, ``forms``, ``text`` and ``latex`` (one per
        law), ``compact`` and ``compact_latex`` (the group as one line, or None).

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.parse("attention:2x2"))
    >>> [(g["kind"], g["compact"]) for g in group_block_laws(res.laws)]
    [('gram', '(Qᵀ Q − Kᵀ K)[i,j],  0 ≤ i ≤ j ≤ 1'), ('gram', '(Vᵀ V − Oᵀ O)[i,j],  0 ≤ i ≤ j ≤ 1')]
    """
    laws = list(laws)
    positions = list(range(len(laws))) if positions is None else list(positions)
    forms = [block_form(law) for law in laws]
    chosen: list[dict[str, Any] | None] = list(forms)
    # Gram families absorb the diagonal norm laws of the same matrices
    gram_keys: dict[int, tuple] = {}
    off_diagonal: set[tuple] = set()
    for k, f in enumerate(forms):
        g = f if f is not None and f["kind"] == "gram" else (_as_gram(f) if f is not None else None)
        if g is not None:
            gram_keys[k] = _shape_key(g)
            if f["kind"] == "gram":  # type: ignore[index]
                off_diagonal.add(gram_keys[k])
            else:
                chosen[k] = g
    for k, key in gram_keys.items():
        if key not in off_diagonal:
            chosen[k] = forms[k]
    groups: dict[tuple, dict[str, Any]] = {}
    for k, (law, form) in enumerate(zip(laws, chosen)):
        key = ("other",) if form is None else _shape_key(form)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"kind": "other" if form is None else form["kind"], "layer": None, "params": [],
                               "laws": [], "indices": [], "forms": [], "text": [], "latex": []}
        g["laws"].append(law)
        g["indices"].append(positions[k])
        g["forms"].append(form)
        if form is not None:
            g["params"] = list(dict.fromkeys(g["params"] + [q.stem if q.num is None else f"{q.stem}{q.num}"
                                                            for q in form["pieces"]]))
        g["text"].append(str(law) if form is None else render_form(form, _Printer(False)))
        g["latex"].append(None if form is None else render_form(form, _Printer(True)))
    out = list(groups.values())
    for g in out:
        g["compact"] = g["compact_latex"] = None
        if g["kind"] != "other":
            g["compact"], g["values"], template = _compact(g["forms"], False)
            g["compact_latex"] = _compact(g["forms"], True)[0]
            if template:  # the tensors as the line names them (k_i for k0, k1, ...)
                g["params"] = list(dict.fromkeys(_tensor_name(q, _Printer(False)) for q in template))
    return out
