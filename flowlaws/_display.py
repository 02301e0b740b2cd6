"""Conservation laws the way a researcher writes them.

Plain functions that recognise the structure of a law from its exact terms and
the model's layout, and print it: per-neuron laws of ReLU and linear networks
(``‖W1[3,:]‖² + b1[3]² − ‖W2[:,3]‖²``), entries of the layer matrices of linear
networks and factorizations (``(W1 W1ᵀ − W2ᵀ W2)[0,2]``, ``(VᵀV − UᵀU)[0,1]``),
their mirror-flow (``Σ``) and momentum (antisymmetric) versions, and whole
results as grouped text, LaTeX (``to_latex``) and HTML (``to_html``).

A structure is claimed only when the law *equals* the rebuilt polynomial of
that structure up to a rational factor, compared exactly term by term
(:func:`expand_form` rebuilds it); everything else is reported as ``"other"``
and printed fully expanded. This module does not check that a law is
conserved (``flowlaws.verify`` does) and recognises only models in the layered
network layout (``flowlaws.models.mlp``, ``factorization``, ``nmf``,
``from_torch`` of an ``nn.Sequential``); laws of other models (residual blocks,
convolutions, attention, graphs) are read from their variable names by
:mod:`flowlaws._display_blocks` (slices of named parameters, Gram entries), under
the same rule, and are ``"other"`` when that finds no structure either.

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.mlp([2, 3, 1], activation="relu", bias=True))
>>> print(law_text(res.laws[0], res.model))
‖W1[0,:]‖² + b1[0]² − ‖W2[:,0]‖²
>>> [(g["kind"], g["layer"], len(g["laws"])) for g in group_laws(res)]
[('neuron', 1, 3)]
"""

from __future__ import annotations

import html
import re
from fractions import Fraction
from typing import Any, Sequence

from ._display_blocks import BLOCK_TITLES, _factor_text, _Printer, group_block_laws
from ._safe_text import printable

__all__ = ["law_form", "expand_form", "law_text", "group_laws", "format_groups", "to_latex", "to_html"]

Mono = tuple[tuple[int, int], ...]
Poly = dict[Mono, Fraction]

_KIND_TITLES = {
    "neuron": "per-neuron laws",
    "neuron-sum": "per-neuron laws (mirror metric)",
    "layer-matrix": "layer-matrix laws",
    "layer-antisymmetric": "antisymmetric layer-matrix laws (momentum)",
    "other": "other laws",
}
_MAX_LINES = 10

_MATRIX_NAME = re.compile(r"^(?P<base>.+)\[(?P<a>\d+),(?P<b>\d+)\]$")
_VECTOR_NAME = re.compile(r"^(?P<base>.+)\[(?P<a>\d+)\]$")


# -- the model's layout ---------------------------------------------------------------
class _Layout:
    """Where each weight of a layered network sits among a law's variables, and its printed name."""

    def __init__(self, model: Any, variables: tuple[str, ...]) -> None:
        self.layers = tuple(model.layers)
        self.L = len(self.layers) - 1
        self.bias = bool(model.bias)
        self.activations = tuple(model.activations or ())
        D = model.dim
        params = tuple(model.variables)
        if variables == params:
            self.time, theta, velocity = None, 0, None
        elif len(variables) == 2 * D + 1 and variables[1 : D + 1] == params and all(
            variables[D + 1 + k] == p + "'" for k, p in enumerate(params)
        ):
            self.time, theta, velocity = 0, 1, D + 1
        else:
            raise ValueError("the law's variables are not the model's parameters")
        self.index: dict[tuple, int] = {}
        self.atom: dict[int, tuple] = {}
        self.names: dict[tuple[str, int], tuple[str, bool]] = {}  # (kind, layer) -> (base, transposed)
        pos = 0
        for l in range(1, self.L + 1):
            rows, cols = self.layers[l], self.layers[l - 1]
            base, transposed = _block_names(params[pos : pos + rows * cols], rows, cols)
            self.names[("W", l)] = (base, transposed)
            for i in range(rows):
                for j in range(cols):
                    self._add(("W", l, i, j), pos, theta, velocity)
                    pos += 1
            if self.bias:
                self.names[("b", l)] = (_bias_names(params[pos : pos + rows], rows), False)
                for i in range(rows):
                    self._add(("b", l, i, None), pos, theta, velocity)
                    pos += 1
        if pos != D:
            raise ValueError("the model's parameters are not in the layered network layout")

    def _add(self, key: tuple, pos: int, theta: int, velocity: int | None) -> None:
        self.index[key + (False,)] = theta + pos
        self.atom[theta + pos] = key + (False,)
        if velocity is not None:
            self.index[key + (True,)] = velocity + pos
            self.atom[velocity + pos] = key + (True,)

    def width(self, layer: int) -> int:
        return self.layers[layer]

    def linear(self, layer: int) -> bool:
        return self.activations[layer - 1] == "linear" if layer - 1 < len(self.activations) else False

    def neurons_of(self, atom: tuple) -> list[tuple[int, int]]:
        """The hidden neurons ``(layer, i)`` a weight or bias touches."""
        kind, l, i, j, _ = atom
        out = []
        if l <= self.L - 1:
            out.append((l, i))
        if kind == "W" and l >= 2:
            out.append((l - 1, j))
        return out


def _block_names(names: Sequence[str], rows: int, cols: int) -> tuple[str, bool]:
    parsed = [_MATRIX_NAME.match(n) for n in names]
    if not parsed or not all(parsed) or len({m["base"] for m in parsed}) != 1:  # type: ignore[index]
        raise ValueError("weight names are not NAME[i,j]")
    pairs = [(int(m["a"]), int(m["b"])) for m in parsed]  # type: ignore[index]
    order = [(i, j) for i in range(rows) for j in range(cols)]
    if pairs == order:
        return parsed[0]["base"], False  # type: ignore[index]
    if pairs == [(j, i) for i, j in order]:
        return parsed[0]["base"], True  # type: ignore[index]
    raise ValueError("weight names do not follow the layer's row-major order")


def _bias_names(names: Sequence[str], rows: int) -> str:
    parsed = [_VECTOR_NAME.match(n) for n in names]
    if not all(parsed) or len({m["base"] for m in parsed}) != 1:  # type: ignore[index]
        raise ValueError("bias names are not NAME[i]")
    if [int(m["a"]) for m in parsed] != list(range(rows)):  # type: ignore[index]
        raise ValueError("bias names are not in order")
    return parsed[0]["base"]  # type: ignore[index]


def _layout(model: Any, variables: tuple[str, ...]) -> _Layout | None:
    if getattr(model, "kind", None) != "network" or not getattr(model, "layers", None):
        return None
    last = _LAST_LAYOUT.get("key")
    if last is not None and last[0] is model and last[1] is variables:  # a large model's names: read them once
        return _LAST_LAYOUT["layout"]
    try:
        lay = _Layout(model, variables)
    except ValueError:
        lay = None
    _LAST_LAYOUT.update(key=(model, variables), layout=lay)
    return lay


_LAST_LAYOUT: dict[str, Any] = {}


# -- templates: the polynomials of the recognised structures ------------------------
def _mono(*vars_: int) -> Mono:
    counts: dict[int, int] = {}
    for v in vars_:
        counts[v] = counts.get(v, 0) + 1
    return tuple(sorted(counts.items()))


def _add_term(poly: Poly, mono: Mono, coef: int) -> None:
    value = poly.get(mono, Fraction(0)) + coef
    if value:
        poly[mono] = value
    else:
        poly.pop(mono, None)


def _template(kind: str, layer: int, idx: tuple[int, ...], lay: _Layout) -> Poly:
    """The polynomial of a structure, with coefficient 1 and no time factor."""
    l = layer
    ix = lay.index
    poly: Poly = {}
    n_in, n_out = lay.layers[l - 1], lay.layers[l + 1]
    if kind in ("neuron", "neuron-sum", "layer-matrix"):
        i, j = (idx[0], idx[0]) if kind != "layer-matrix" else idx
        if kind == "neuron-sum":
            for m in range(n_in):
                _add_term(poly, _mono(ix[("W", l, i, m, False)]), 1)
            if lay.bias:
                _add_term(poly, _mono(ix[("b", l, i, None, False)]), 1)
            for k in range(n_out):
                _add_term(poly, _mono(ix[("W", l + 1, k, i, False)]), -1)
            return poly
        for m in range(n_in):
            _add_term(poly, _mono(ix[("W", l, i, m, False)], ix[("W", l, j, m, False)]), 1)
        if lay.bias:
            _add_term(poly, _mono(ix[("b", l, i, None, False)], ix[("b", l, j, None, False)]), 1)
        for k in range(n_out):
            _add_term(poly, _mono(ix[("W", l + 1, k, i, False)], ix[("W", l + 1, k, j, False)]), -1)
        return poly
    if kind == "layer-antisymmetric":  # (W W'ᵀ − W' Wᵀ + b b'ᵀ − b' bᵀ + Vᵀ V' − V'ᵀ V)[i, j]
        i, j = idx
        for m in range(n_in):
            _add_term(poly, _mono(ix[("W", l, i, m, False)], ix[("W", l, j, m, True)]), 1)
            _add_term(poly, _mono(ix[("W", l, i, m, True)], ix[("W", l, j, m, False)]), -1)
        if lay.bias:
            _add_term(poly, _mono(ix[("b", l, i, None, False)], ix[("b", l, j, None, True)]), 1)
            _add_term(poly, _mono(ix[("b", l, i, None, True)], ix[("b", l, j, None, False)]), -1)
        for k in range(n_out):
            _add_term(poly, _mono(ix[("W", l + 1, k, i, False)], ix[("W", l + 1, k, j, True)]), 1)
            _add_term(poly, _mono(ix[("W", l + 1, k, i, True)], ix[("W", l + 1, k, j, False)]), -1)
        return poly
    raise ValueError(f"kind={kind!r}: unknown structure")


def _candidates(mono: Mono, lay: _Layout) -> list[tuple[str, int, tuple[int, ...]]]:
    atoms = []
    for v, e in mono:
        if v not in lay.atom:
            return []
        atoms += [lay.atom[v]] * e
    if len(atoms) == 1:
        if atoms[0][4]:
            return []
        return [("neuron-sum", l, (i,)) for l, i in lay.neurons_of(atoms[0])]
    if len(atoms) != 2:
        return []
    a, b = atoms
    primes = a[4] + b[4]
    out: list[tuple[str, int, tuple[int, ...]]] = []
    for la, ia in lay.neurons_of(a):
        for lb, ib in lay.neurons_of(b):
            if la != lb:
                continue
            if primes == 0 and ia == ib:
                out.append(("neuron", la, (ia,)))
            elif primes == 0:
                out.append(("layer-matrix", la, (min(ia, ib), max(ia, ib))))
            elif primes == 1 and ia != ib:
                out.append(("layer-antisymmetric", la, (min(ia, ib), max(ia, ib))))
    return out


def _law_poly(law: Any) -> Poly:
    return {tuple(mono): Fraction(c) for c, mono in law.terms if c}


def law_form(law: Any, model: Any) -> dict[str, Any] | None:
    """The structure a law has, or None when it matches none exactly.

    Parameters
    ----------
    law : Law
        From ``Result.laws`` (gradient, mirror or momentum flow of ``model``).
    model : Model
        The model the law belongs to.

    Returns
    -------
    dict or None
        ``{"kind", "layer", "index", "coefficient", "time_rate", "time_power"}``:
        ``kind`` is ``"neuron"`` (``index = (i,)``), ``"neuron-sum"`` (mirror metric
        ``diag(θ)``), ``"layer-matrix"`` (``index = (i, j)``, ``i < j``) or
        ``"layer-antisymmetric"`` (momentum); the law equals
        ``coefficient · t^time_power · exp(time_rate·t) ·`` the structure's polynomial,
        exactly (:func:`expand_form` rebuilds it).

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.factorization(2, 2, 2))
    >>> f = next(f for f in (law_form(law, res.model) for law in res.laws) if f["kind"] == "layer-matrix")
    >>> f["kind"], f["layer"], f["index"], f["coefficient"]
    ('layer-matrix', 1, (0, 1), Fraction(1, 1))
    """
    return _law_form(law, _layout(model, tuple(law.variables)))


def _law_form(law: Any, lay: _Layout | None) -> dict[str, Any] | None:
    if lay is None or lay.L < 2:
        return None
    poly = _law_poly(law)
    if not poly:
        return None
    time_power = 0
    if lay.time is not None:  # a common power of the time coordinate (Nesterov's t³) is a factor
        powers = [dict(m).get(lay.time, 0) for m in poly]
        time_power = min(powers)
        if time_power:
            stripped: Poly = {}
            for m, c in poly.items():
                mono = tuple((v, e - time_power if v == lay.time else e) for v, e in m)
                stripped[tuple((v, e) for v, e in mono if e)] = c
            poly = stripped
    first = min(poly)
    for kind, layer, idx in _candidates(first, lay):
        tmpl = _template(kind, layer, idx, lay)
        if tmpl.keys() != poly.keys() or first not in tmpl:
            continue
        c = poly[first] / tmpl[first]
        if all(poly[m] == c * t for m, t in tmpl.items()):
            return {"kind": kind, "layer": layer, "index": idx, "coefficient": c,
                    "time_rate": law.time_rate, "time_power": time_power}
    return None


def expand_form(form: dict[str, Any], model: Any, variables: tuple[str, ...]) -> Poly:
    """The polynomial part of a recognised form, ``{monomial: Fraction}`` over ``variables``.

    ``law_form`` claims a structure only when this rebuilds the law's terms exactly
    (the factor ``exp(time_rate·t)`` is not part of the polynomial).

    Examples
    --------
    >>> import flowlaws as fl
    >>> m = fl.models.mlp([1, 1, 1], activation="relu")
    >>> expand_form({"kind": "neuron", "layer": 1, "index": (0,), "coefficient": 1, "time_power": 0}, m, m.variables)
    {((0, 2),): Fraction(1, 1), ((1, 2),): Fraction(-1, 1)}
    """
    lay = _layout(model, tuple(variables))
    if lay is None:
        raise ValueError("the model is not a layered network over these variables")
    tmpl = _template(form["kind"], form["layer"], tuple(form["index"]), lay)
    c = Fraction(form["coefficient"])
    k = form.get("time_power", 0)
    out: Poly = {}
    for m, t in tmpl.items():
        if k:
            m = tuple(sorted(m + ((lay.time, k),)))  # type: ignore[operator]
        out[m] = c * t
    return out


# -- printing ----------------------------------------------------------------------
def _row(lay: _Layout, p: _Printer, l: int, i: Any, prime: bool = False) -> str:
    """Row ``i`` of ``W_l`` (the incoming weights of neuron ``i``), in the model's names."""
    base, tr = lay.names[("W", l)]
    return f"{p.name(base, prime)}[:,{i}]" if tr else f"{p.name(base, prime)}[{i},:]"


def _col(lay: _Layout, p: _Printer, l: int, i: Any, prime: bool = False) -> str:
    """Column ``i`` of ``W_l`` (the outgoing weights of neuron ``i`` of layer ``l − 1``)."""
    base, tr = lay.names[("W", l)]
    return f"{p.name(base, prime)}[{i},:]" if tr else f"{p.name(base, prime)}[:,{i}]"


def _gram_in(lay: _Layout, p: _Printer, l: int, pa: bool = False, pb: bool = False) -> str:
    """``W_l W_lᵀ`` (with primes on either factor) in the model's names."""
    base, tr = lay.names[("W", l)]
    a, b = p.name(base, pa), p.name(base, pb)
    return f"{p.T(a)} {b}" if tr else f"{a} {p.T(b)}"


def _gram_out(lay: _Layout, p: _Printer, l: int, pa: bool = False, pb: bool = False) -> str:
    """``W_lᵀ W_l`` (with primes on either factor) in the model's names."""
    base, tr = lay.names[("W", l)]
    a, b = p.name(base, pa), p.name(base, pb)
    return f"{a} {p.T(b)}" if tr else f"{p.T(a)} {b}"


def _body(kind: str, l: int, idx: tuple, lay: _Layout, p: _Printer, negate: bool) -> str:
    """The structure's expression (sides swapped when ``negate``)."""
    sep = p.minus
    if kind in ("neuron", "neuron-sum"):
        (i,) = idx
        f = p.sq_norm if kind == "neuron" else p.total
        g = p.sq if kind == "neuron" else (lambda x: x)
        pos = [f(_row(lay, p, l, i))]
        if lay.bias:
            pos.append(g(f"{p.name(lay.names[('b', l)][0])}[{i}]"))
        neg = [f(_col(lay, p, l + 1, i))]
        if negate:
            pos, neg = neg, pos
        return " + ".join(pos) + sep + sep.join(neg)
    i, j = idx
    if kind == "layer-matrix":
        pos = [_gram_in(lay, p, l)]
        if lay.bias:
            b = p.name(lay.names[("b", l)][0])
            pos.append(f"{b} {p.T(b)}")
        neg = [_gram_out(lay, p, l + 1)]
        if negate:
            pos, neg = neg, pos
        return "(" + " + ".join(pos) + sep + sep.join(neg) + f")[{i},{j}]"
    # layer-antisymmetric: negating swaps the entry
    if negate:
        i, j = j, i
    parts = [_gram_in(lay, p, l, False, True), sep.strip(), _gram_in(lay, p, l, True, False)]
    if lay.bias:
        b, bp = p.name(lay.names[("b", l)][0]), p.name(lay.names[("b", l)][0], True)
        parts += ["+", f"{b} {p.T(bp)}", sep.strip(), f"{bp} {p.T(b)}"]
    parts += ["+", _gram_out(lay, p, l + 1, False, True), sep.strip(), _gram_out(lay, p, l + 1, True, False)]
    return "(" + " ".join(parts) + f")[{i},{j}]"


def _render(form: dict[str, Any], lay: _Layout, p: _Printer, index_names: tuple | None = None) -> str:
    idx = index_names or form["index"]
    factor, negate = _factor_text(form, p)
    body = _body(form["kind"], form["layer"], idx, lay, p, negate)
    if not factor:
        return body
    if form["kind"] in ("neuron", "neuron-sum"):
        body = f"({body})"
    return factor + p.dot() + body


def law_text(law: Any, model: Any, *, latex: bool = False) -> str:
    """A law in readable form: its structure when recognised, else fully expanded.

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.mlp([2, 2, 2], activation="linear"))
    >>> law = next(h for h in res.laws if law_form(h, res.model)["kind"] == "layer-matrix")
    >>> print(law_text(law, res.model))
    (W1 W1ᵀ − W2ᵀ W2)[0,1]
    >>> print(law_text(law, res.model, latex=True))
    (W_{1} W_{1}^{\\top} - W_{2}^{\\top} W_{2})[0,1]
    """
    form = law_form(law, model)
    if form is None:
        return _expanded_latex(law) if latex else str(law)
    lay = _layout(model, tuple(law.variables))
    assert lay is not None
    form = _display_form(form, lay)
    return _render(form, lay, _Printer(latex))


def _display_form(form: dict[str, Any], lay: _Layout) -> dict[str, Any]:
    # a diagonal law of a linear hidden layer is the matrix entry (i, i)
    if form["kind"] == "neuron" and lay.linear(form["layer"]):
        return dict(form, kind="layer-matrix", index=(form["index"][0],) * 2)
    return form


def _expanded_latex(law: Any) -> str:
    import sympy

    return sympy.latex(law.to_sympy())


# -- grouping ------------------------------------------------------------------------
def group_laws(result: Any, model: Any = None) -> list[dict[str, Any]]:
    """Group a result's laws by structure, in the order they first appear.

    Parameters
    ----------
    result : Result or sequence of Law
        With a sequence of laws, pass ``model`` too.
    model : Model, optional

    Returns
    -------
    list of dict
        Each group has ``kind`` (``"neuron"``, ``"neuron-sum"``, ``"layer-matrix"``,
        ``"layer-antisymmetric"`` or ``"other"``), ``layer`` (hidden layer ``l``: the
        structure joins ``W_l`` and ``W_{l+1}``; None for ``"other"``), ``laws``
        (the Law objects), ``indices`` (their positions), ``forms`` (as from
        :func:`law_form`, None for ``"other"``), ``text`` (readable strings), and
        ``neurons`` (neuron groups) or ``entries`` (matrix groups: ``(i, j)`` pairs).
        Laws outside the layered layout are grouped by slice and Gram structure
        (kinds ``"slice-norms"``, ``"gram"``, …, with ``compact`` lines: see
        :func:`flowlaws._display_blocks.group_block_laws`).

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.parse("linear:2x3x2"))
    >>> [(g["kind"], g["layer"], sorted(g["entries"])) for g in group_laws(res)]
    [('layer-matrix', 1, [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)])]
    """
    if model is None and (fast := _layer_blocks_groups(result)) is not None:
        return fast
    if model is None:
        laws, model = list(result.laws), result.model
    else:
        laws = list(result)
    groups: dict[tuple, dict[str, Any]] = {}
    lay = _layout(model, tuple(laws[0].variables)) if laws else None
    p = _Printer(False)
    for pos, law in enumerate(laws):
        form = _law_form(law, lay) if lay is not None and law.variables == laws[0].variables else None
        if form is None:
            key: tuple = ("other", None)
            text = str(law)
        else:
            form = _display_form(form, lay)  # type: ignore[arg-type]
            key = (form["kind"], form["layer"])
            text = _render(form, lay, p)  # type: ignore[arg-type]
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"kind": key[0], "layer": key[1], "laws": [], "indices": [], "forms": [], "text": []}
            if key[0] in ("neuron", "neuron-sum"):
                g["neurons"] = []
            elif key[0] != "other":
                g["entries"] = []
        g["laws"].append(law)
        g["indices"].append(pos)
        g["forms"].append(form)
        g["text"].append(text)
        if form is not None:
            (g["neurons"] if "neurons" in g else g["entries"]).append(
                form["index"][0] if "neurons" in g else tuple(form["index"])
            )
    out = list(groups.values())
    other = groups.get(("other", None))
    if other is not None:  # residual, conv, attention, graph and torch laws: slices and Gram entries
        out.remove(other)
        out += group_block_laws(other["laws"], other["indices"])
        out.sort(key=lambda g: g["indices"][0])
    return out


def _layer_blocks_groups(result: Any) -> list[dict[str, Any]] | None:
    """The groups of laws that come as whole hidden layers of rescaling laws (the triangular route's
    lazy laws: neuron ``v`` of a layer at ``first + v``, built by one rule): the first and last law
    of each layer are recognised as above, the others follow the rule; no other law is built."""
    blocks = getattr(result.laws, "layer_blocks", lambda: None)()
    if not blocks:
        return None
    laws = result.laws
    lay = _layout(result.model, tuple(laws[0].variables))
    if lay is None:
        return None
    p = _Printer(False)
    out = []
    for layer, first, count in blocks:
        ends = [_law_form(laws[first + v], lay) for v in (0, count - 1)]
        if any(f is None or f["kind"] != "neuron" or f["layer"] != layer for f in ends) or \
                [f["index"] for f in ends] != [(0,), (count - 1,)]:  # type: ignore[index]
            return None
        form = _display_form(ends[0], lay)  # type: ignore[arg-type]
        forms = [dict(form, index=(v,)) for v in range(count)]
        out.append({"kind": form["kind"], "layer": layer, "laws": laws[first:first + count],
                    "indices": list(range(first, first + count)), "forms": forms,
                    "text": [_render(f, lay, p) for f in forms], "neurons": list(range(count))})
    return out


def _compact(group: dict[str, Any], lay: _Layout | None, p: _Printer) -> str | None:
    """One line for a group that covers every neuron / entry of its layer with the same factor."""
    if "compact" in group:  # slice / Gram groups carry their own (checked) line
        return group["compact_latex" if p.latex else "compact"]
    forms = group["forms"]
    if group["kind"] == "other" or len(forms) < 2 or lay is None:
        return None
    factor = {(f["coefficient"], f.get("time_power", 0), f.get("time_rate") or 0) for f in forms}
    if len(factor) != 1 or next(iter(factor))[0] != 1:
        return None
    n = lay.width(group["layer"])
    last = n - 1
    if "neurons" in group:
        if sorted(group["neurons"]) != list(range(n)):
            return None
        line = _render(dict(forms[0], index=("i",)), lay, p, ("i",))
        return line + (rf", \quad i = 0,\dots,{last}" if p.latex else f",  i = 0..{last}")
    strict = group["kind"] == "layer-antisymmetric"
    want = [(i, j) for i in range(n) for j in range(i + (1 if strict else 0), n)]
    if sorted(group["entries"]) != want:
        return None
    line = _render(dict(forms[0], index=("i", "j")), lay, p, ("i", "j"))
    rel = "<" if strict else (r"\le" if p.latex else "≤")
    return line + (rf", \quad 0 \le i {rel} j \le {last}" if p.latex else f",  0 ≤ i {rel} j ≤ {last}")


def _title(group: dict[str, Any]) -> str:
    title = _KIND_TITLES.get(group["kind"]) or BLOCK_TITLES[group["kind"]]
    if group["layer"] is not None:
        title += f", hidden layer {group['layer']}"
    if group.get("params"):
        title += " of " + ", ".join(group["params"])
    return title + f" ({len(group['laws'])})"


def format_groups(result: Any, *, indent: str = "  ", max_lines: int = _MAX_LINES) -> list[str]:
    """Text lines of the grouped laws (``Result.__str__``): one compact line per complete
    layer, else one line per law (at most ``max_lines`` per group)."""
    groups = group_laws(result)
    if all(g["kind"] == "other" for g in groups):
        return [f"{indent}{law}" for law in result.laws]
    lay = _layout(result.model, tuple(result.laws[0].variables))
    p = _Printer(False)
    lines = []
    for g in groups:
        compact = _compact(g, lay, p)
        if compact is not None:
            lines.append(f"{indent}{_title(g)}: {compact}")
            continue
        lines.append(f"{indent}{_title(g)}:")
        shown = g["text"] if g["kind"] == "other" else g["text"][:max_lines]
        lines += [f"{indent}  {t}" for t in shown]
        if len(shown) < len(g["text"]):
            lines.append(f"{indent}  … and {len(g['text']) - len(shown)} more")
    lines.append(f"{indent}(full expansions: res.laws, or flowlaws analyze --expand)")
    return lines


def _summary(result: Any) -> str:
    lo, hi = result.bounds
    if result.complete:
        return f"{result.count} independent law(s), certified exact"
    return f"between {lo} and {hi} independent laws (not certified exact)"


def to_latex(result: Any, *, environment: str = "align*", max_laws: int | None = None) -> str:
    """The laws of a result as a LaTeX block for a paper (``amsmath``).

    Parameters
    ----------
    result : Result
    environment : str
        The ``amsmath`` environment: ``"align*"`` (default) or ``"align"``.
    max_laws : int, optional
        Show at most this many lines per group (default: all).

    Returns
    -------
    str
        A comment line naming the model, flow and certified count, then one
        ``h = …`` line per law (one line per complete layer, with its index range).

    Examples
    --------
    >>> import flowlaws as fl
    >>> print(to_latex(fl.analyze(fl.models.mlp([2, 2, 1], activation="relu"))))
    % relu:2x2x1 under gradient flow: 2 independent law(s), certified exact (dim 6, rank 4)
    \\begin{align*}
      &\\lVert W_{1}[i,:]\\rVert^2 - \\lVert W_{2}[:,i]\\rVert^2, \\quad i = 0,\\dots,1 && \\text{per-neuron laws, hidden layer 1 (2)}
    \\end{align*}
    """
    if environment not in ("align*", "align"):
        raise ValueError(f"environment={environment!r}: use 'align*' or 'align'")
    head = f"% {result.model.name} under {result.flow} flow: {_summary(result)} (dim {result.dim}, rank {result.rank})"
    body = _latex_lines(result, max_laws)
    if not body:
        body = [r"&\text{no conservation law}"]
    text = "\n".join([head, rf"\begin{{{environment}}}", " \\\\\n".join("  " + b for b in body), rf"\end{{{environment}}}"])
    return printable(text, newlines=True)  # names from files: no escape codes


def _latex_lines(result: Any, max_laws: int | None) -> list[str]:
    groups = group_laws(result)
    lay = _layout(result.model, tuple(result.laws[0].variables)) if result.laws else None
    p = _Printer(True)
    out = []
    for g in groups:
        label = r"\text{" + _title(g) + "}"
        if g["kind"] == "other":
            texts = [_expanded_latex(law) for law in g["laws"]]
        else:
            compact = _compact(g, lay, p)
            if compact is not None:
                out.append(f"&{compact} && {label}")
                continue
            texts = g["latex"] if "latex" in g else [_render(f, lay, p) for f in g["forms"]]  # type: ignore[arg-type]
        shown = texts if max_laws is None else texts[:max_laws]
        out += [f"&{t}" + (f" && {label}" if k == 0 else "") for k, t in enumerate(shown)]
        if len(shown) < len(texts):
            out.append(rf"&\dots\ \text{{and {len(texts) - len(shown)} more}}")
    return out


def to_html(result: Any, *, max_lines: int = _MAX_LINES) -> str:
    """A small HTML table for Jupyter: count, dim, rank, certified, then the grouped laws.

    Examples
    --------
    >>> import flowlaws as fl
    >>> "<td>certified</td><td>yes</td>" in to_html(fl.analyze(fl.models.parse("relu:2x2x1")))
    True
    """
    e = html.escape
    lo, hi = result.bounds
    rows = [
        ("model", e(str(result.model.name))),
        ("flow", e(str(result.flow))),
        ("count", str(result.count) if result.complete else f"{lo}..{hi}"),
        ("dim", str(result.dim)),
        ("rank", str(result.rank)),
        ("certified", "yes" if result.complete else "no (bounds only)"),
    ]
    if getattr(result, "interrupted", False):
        rows.append(("interrupted", "yes: partial result"))
    parts = ["<table>"] + [f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows] + ["</table>"]
    if result.laws:
        lay = _layout(result.model, tuple(result.laws[0].variables))
        p = _Printer(False)
        parts.append("<ul>")
        for g in group_laws(result):
            compact = _compact(g, lay, p)
            if compact is not None:
                parts.append(f"<li>{e(_title(g))}: <code>{e(compact)}</code></li>")
                continue
            shown = g["text"][:max_lines]
            items = "".join(f"<li><code>{e(t)}</code></li>" for t in shown)
            more = f"<li>… and {len(g['text']) - len(shown)} more</li>" if len(shown) < len(g["text"]) else ""
            parts.append(f"<li>{e(_title(g))}<ul>{items}{more}</ul></li>")
        parts.append("</ul>")
    for note in result.notes:
        parts.append(f"<p>note: {e(note)}</p>")
    return printable("".join(parts))
