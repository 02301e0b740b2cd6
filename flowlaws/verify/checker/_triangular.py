"""The ``"triangular"`` rank proof of layered ReLU networks, checked in time linear in their size.

Implements section "Triangular rank proof" of ``docs/certificate-format.md``:
a certificate with ``"rank_proof": "triangular"`` lists, instead of bracket
words, one path per row (source → output, one node per layer) and a pivot
parameter per row. The checker recomputes every row — the gradient of the
path's coordinate ``φ_P = Π_{e∈P} θ_e`` of the path-lifting at ``rank.point``
mod ``p`` — from the model alone, and checks that the pivots are distinct, each
pivot entry is nonzero and no other nonzero entry of a row is the pivot of a
later row: the pivot columns then form a lower-triangular submatrix with a
nonzero diagonal, so ``rank ≥ r`` at the point mod ``p``, hence generically
over Q, and ``#laws ≤ dim − r``.

The laws must be ``Σ c_e θ_e²`` (one variable squared per term): such a law
is conserved when its coefficients sum to 0 along every source → output path
(``⟨∇h, ∇φ_P⟩ = 2 φ_P Σ_{e∈P} c_e``), checked by node potentials layer by
layer. Their independence is triangular too (``independence.pivots``).

Every step's work is a few NumPy passes over the paths, the laws' terms and
``dim``; nothing is quadratic. Failures raise
:class:`~flowlaws.errors.CertificateError` with the step named.

Examples
--------
>>> cert = {"schema": "flowlaws-certificate/1", "rank_proof": "triangular", "dim": 2,
...         "variables": ["W1[0,0]", "W2[0,0]"],
...         "model": {"kind": "network", "layers": [1, 1, 1], "activations": ["relu"], "bias": False},
...         "flow": {"name": "gradient"}, "generators": {"kind": "paths"},
...         "rank": {"prime": 101, "point": [3, 5], "words": [], "value": 1},
...         "triangular": {"paths": [0, 0, 0], "pivots": [0]},
...         "laws": [[["1", [[0, 2]]], ["-1", [[1, 2]]]]],
...         "independence": {"prime": 101, "point": [3, 5], "value": 1, "pivots": [0]},
...         "bounds": {"lower": 1, "upper": 1}, "count": 1, "complete": True}
>>> check_triangular(cert)["proved"]
{'upper_bound': 1, 'lower_bound': 1, 'exact': True}
>>> cert["triangular"]["pivots"] = [1]; cert["rank"]["point"] = [0, 5]
>>> check_triangular(cert)
Traceback (most recent call last):
...
flowlaws.errors.CertificateError: [rank] row 0 (pivot 1): its pivot entry is 0 mod 101 at rank.point
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from ._modp import is_prime
from ._parsed import _finite
from ._polys import int_str
from ._rank_np import numpy_problem
from ._varnames import check_network_names, check_printable_names
from ._schema import LIMITS, SCHEMA, _bool, _describe, _fail, _int, _list, _object

__all__ = ["check_triangular", "TRIANGULAR_LIMITS"]

#: Sizes of the triangular route (beyond the general LIMITS, which bound the dense route).
TRIANGULAR_LIMITS = {"dim": 20_000_000, "terms_total": 20_000_000, "law_work": 400_000_000, "prime": 2**31,
                     "coefficient": 2**40}

_REQUIRED = ("schema", "rank_proof", "dim", "variables", "model", "flow", "generators", "rank", "triangular",
             "laws", "independence", "bounds", "count", "complete")
_OPTIONAL = ("library", "timings", "meta")
_COEF_RE = re.compile(r"-?[0-9]+")
_HOMOGENEOUS = ("relu", "leaky_relu")


def _np():
    import numpy as np

    return np


def _offsets(layers: list[int], bias: bool) -> tuple[list[int], list[int], int]:
    """Start of ``W_l`` and ``b_l`` (``-1`` without bias), ``l = 1..L`` at index ``l - 1``, and ``D``."""
    w_off, b_off, pos = [], [], 0
    for l in range(1, len(layers)):
        w_off.append(pos)
        pos += layers[l] * layers[l - 1]
        b_off.append(pos if bias else -1)
        pos += layers[l] if bias else 0
    return w_off, b_off, pos


def _information_fields(cert: Mapping) -> None:
    """``library``, ``timings`` and ``meta``: information only, but typed as in the dense route."""
    lib = cert.get("library", {})
    if not isinstance(lib, Mapping) or not all(isinstance(k, str) for k in lib):
        raise _fail(f"library: expected an object such as {{'name': 'flowlaws', 'version': '...'}}, got {_describe(lib)}")
    for k, v in cert.get("timings", {}).items() if isinstance(cert.get("timings", {}), Mapping) else [(None, None)]:
        if k is None:
            raise _fail(f"timings: expected an object of seconds per phase, got {_describe(cert['timings'])}")
        if type(v) not in (int, float) or not _finite(v):
            raise _fail(f"timings.{k}: expected a finite number of seconds, got {_describe(v)}")
    meta = cert.get("meta", {})
    if not isinstance(meta, Mapping) or len(meta) > 64 or not all(isinstance(k, str) for k in meta):
        raise _fail(f"meta: expected an object of at most 64 named fields (information only), got {_describe(meta)}")


def _network(x: Any, dim: int) -> tuple[list[int], bool]:
    _object(x, "model", ("kind", "layers", "activations", "bias"))
    if x["kind"] != "network":
        raise _fail(f"model.kind: the triangular proof is for layered networks ('network'), got {_describe(x['kind'])}")
    layers = _list(x["layers"], "model.layers", max_len=LIMITS["layers"])
    if len(layers) < 2:
        raise _fail(f"model.layers={layers}: a network needs at least an input and an output layer")
    widths = [_int(n, f"model.layers[{i}]", lo=1, hi=TRIANGULAR_LIMITS["dim"]) for i, n in enumerate(layers)]
    acts = _list(x["activations"], "model.activations", length=len(widths) - 2)
    for i, a in enumerate(acts):
        if a not in _HOMOGENEOUS:
            raise _fail(f"model.activations[{i}]: {_describe(a)}; the triangular proof needs every hidden layer "
                        f"in {list(_HOMOGENEOUS)} (a path is then one coordinate of phi)")
    bias = _bool(x["bias"], "model.bias")
    D = _offsets(widths, bias)[2]
    if D != dim:
        raise _fail(f"dim={dim} but the network layers={widths} {'with' if bias else 'without'} bias has {D} parameters")
    return widths, bias


def _integers(x: Any, where: str, length: int | None) -> None:
    """Refuse ``x`` unless it is a JSON list (of ``length`` entries) of integers."""
    _list(x, where, length=length)
    if not all(type(v) is int for v in x):
        bad = next(i for i, v in enumerate(x) if type(v) is not int)
        raise _fail(f"{where}[{bad}]: expected an integer, got {_describe(x[bad])}")


def _int_array(x: Any, where: str, length: int | None = None):
    """A JSON list of integers as an int64 array (every entry a JSON integer within int64)."""
    np = _np()
    _integers(x, where, length)
    try:
        return np.array(x, dtype=np.int64).reshape(len(x))
    except OverflowError:
        raise _fail(f"{where}: an entry is outside the 64-bit integers") from None


def _point(x: Any, where: str, dim: int, p: int):
    np = _np()
    _integers(x, where, dim)
    try:
        return np.array(x, dtype=np.int64) % p
    except OverflowError:
        return np.array([v % p for v in x], dtype=np.int64)


def _prime(x: Any, where: str) -> int:
    p = _int(x, where)
    if not 3 <= p < TRIANGULAR_LIMITS["prime"]:
        raise _fail(f"{where}={int_str(p)}: the triangular route needs a prime in [3, 2**31)", "prime")
    if not is_prime(p):
        raise _fail(f"{where}={p} is not prime", "prime")
    return p


def _laws(x: Any, dim: int) -> list[tuple[Any, Any]]:
    """The laws as ``(variables, coefficients)`` arrays, each law ``Σ c θ_v²`` (duplicates merged)."""
    np = _np()
    _list(x, "laws", max_len=min(dim, LIMITS["laws"]))
    out, total = [], 0
    limit = TRIANGULAR_LIMITS["coefficient"]
    for i, law in enumerate(x):
        _list(law, f"laws[{i}]", max_len=LIMITS["terms_per_poly"])
        total += len(law)
        if total > TRIANGULAR_LIMITS["terms_total"]:
            raise _fail(f"laws: more than {TRIANGULAR_LIMITS['terms_total']} terms in total")
        vs, cs = [], []
        for t, term in enumerate(law):
            try:
                coef, ((v, e),) = term
            except (TypeError, ValueError):
                raise _fail(f"laws[{i}][{t}]: the triangular route checks laws sum c*theta^2: a term is "
                            f"[\"c\", [[v, 2]]], got {_describe(term)}") from None
            if type(v) is not int or not 0 <= v < dim or type(e) is not int or e != 2:
                raise _fail(f"laws[{i}][{t}]: a term is [\"c\", [[v, 2]]] with 0 <= v < dim={dim}, "
                            f"got {_describe(term)}")
            if coef == "1" or coef == "-1":
                c = 1 if coef == "1" else -1
            elif isinstance(coef, str) and _COEF_RE.fullmatch(coef) and len(coef) <= 14:
                c = int(coef)
            else:
                raise _fail(f"laws[{i}][{t}][0]: a coefficient is a decimal integer string of at most 13 digits "
                            f"here, got {_describe(coef)}")
            if abs(c) >= limit:
                raise _fail(f"laws[{i}][{t}][0]: |coefficient| >= 2**40, beyond the triangular route")
            vs.append(v)
            cs.append(c)
        V, C = np.array(vs, dtype=np.int64), np.array(cs, dtype=np.int64)
        V, inverse = np.unique(V, return_inverse=True)
        merged = np.zeros(V.size, dtype=np.int64)
        np.add.at(merged, inverse, C)
        keep = merged != 0
        out.append((V[keep], merged[keep]))
    return out


def _conserved(layers: list[int], bias: bool, V, C, budget: list[int]) -> str | None:
    """Why ``Σ C θ_V²`` is not conserved (no node potentials exist), or None."""
    np = _np()
    w_off, b_off, _ = _offsets(layers, bias)
    pi_idx = np.zeros(0, dtype=np.int64)
    pi_val = np.zeros(0, dtype=np.int64)
    for l in range(1, len(layers)):
        n_in, n_out = layers[l - 1], layers[l]
        width = n_in + 1  # source slot n_in: the bias node
        lo, hi = w_off[l - 1], w_off[l - 1] + n_in * n_out
        w = (V >= lo) & (V < hi)
        keys = [(V[w] - lo) // n_in * width + (V[w] - lo) % n_in]
        vals = [C[w]]
        if bias:
            b = (V >= b_off[l - 1]) & (V < b_off[l - 1] + n_out)
            keys.append((V[b] - b_off[l - 1]) * width + n_in)
            vals.append(C[b])
        budget[0] -= pi_idx.size * n_out + int(w.sum())
        if budget[0] < 0:
            raise _fail(f"the laws' potentials need more than {TRIANGULAR_LIMITS['law_work']} edge visits", "laws")
        keys.append((np.arange(n_out, dtype=np.int64)[:, None] * width + pi_idx[None, :]).ravel())
        vals.append(np.zeros(pi_idx.size * n_out, dtype=np.int64))
        K, Cv = np.concatenate(keys), np.concatenate(vals)
        K, inverse = np.unique(K, return_inverse=True)
        coef = np.zeros(K.size, dtype=np.int64)
        np.add.at(coef, inverse, Cv)
        pi_full = np.zeros(width, dtype=np.int64)
        pi_full[pi_idx] = pi_val
        value = pi_full[K % width] + coef
        dst = K // width
        if K.size == 0:
            pi_idx, pi_val = pi_idx[:0], pi_val[:0]
            continue
        starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
        nodes = dst[starts]
        count = np.diff(np.r_[starts, K.size])
        vmin, vmax = np.minimum.reduceat(value, starts), np.maximum.reduceat(value, starts)
        full = count == n_in + (1 if bias else 0)
        bad = (vmin != vmax) | (~full & (vmin != 0))
        if bad.any():
            node = int(nodes[np.argmax(bad)])
            return f"the coefficients do not sum to 0 along every path (no potential at neuron {node} of layer {l})"
        nz = vmin != 0
        pi_idx, pi_val = nodes[nz], vmin[nz]
    if pi_idx.size:
        return f"the coefficients sum to {int(pi_val[0])}, not 0, along the paths to output {int(pi_idx[0])}"
    return None


def _triangular(row, col, val, pivots, dim: int, p: int, step: str, what: str, where: str) -> None:
    """Rows given by their nonzero candidates ``(row, col, val mod p)``: the pivots are distinct, in
    range, each row's pivot entry nonzero, and no other nonzero entry is the pivot of a later row."""
    np = _np()
    r = pivots.size
    if r and (pivots.min() < 0 or pivots.max() >= dim):
        k = int(np.argmax((pivots < 0) | (pivots >= dim)))
        raise _fail(f"{what}[{k}]={int(pivots[k])} is not a parameter index (dim={dim})", step)
    pos = np.full(dim, -1, dtype=np.int64)
    pos[pivots] = np.arange(r)
    if r and np.unique(pivots).size != r:
        k = int(np.flatnonzero(pos[pivots] != np.arange(r))[0])
        raise _fail(f"{what}[{k}]={int(pivots[k])} is the pivot of two rows", step)
    at_pivot = col == pivots[row]
    on_row = np.zeros(r, dtype=bool)
    on_row[row[at_pivot]] = True
    if not on_row.all():
        k = int(np.argmin(on_row))
        raise _fail(f"row {k}: its pivot {int(pivots[k])} is not one of the row's coordinates", step)
    diag = np.zeros(r, dtype=np.int64)
    diag[row[at_pivot]] = val[at_pivot]
    if r and not diag.all():
        k = int(np.argmin(diag != 0))
        raise _fail(f"row {k} (pivot {int(pivots[k])}): its pivot entry is 0 mod {p} at {where}", step)
    late = (~at_pivot) & (val != 0) & (pos[col] > row)
    if late.any():
        i = int(np.argmax(late))
        raise _fail(f"row {int(row[i])} is nonzero at parameter {int(col[i])}, the pivot of the later row "
                    f"{int(pos[col[i]])}: the pivot submatrix is not triangular", step)


def _paths(x: Any, layers: list[int], bias: bool, rows: int):
    """Validate the flat path list: ``(rows, L+1)`` node indices, ``-1`` before a path starts, a
    bias node (the layer's width) or an input first, hidden and output neurons after."""
    np = _np()
    L = len(layers) - 1
    P = _int_array(x, "triangular.paths", length=rows * (L + 1)).reshape(rows, L + 1)
    started = np.zeros(rows, dtype=bool)
    for m in range(L + 1):
        col, n = P[:, m], layers[m]
        neuron = (col >= 0) & (col < n)
        start = ~started & ((neuron & (m == 0)) | ((col == n) & bias & (m < L)))
        ok = np.where(started, neuron, start | ((col == -1) & (m < L)))
        if not ok.all():
            k = int(np.argmin(ok))
            raise _fail(f"triangular.paths: row {k} has node {int(col[k])} in layer {m}, not a path from an input "
                        "or bias node to an output (-1 before its start)", "rank")
        started |= start
    return P


def _edges(P, layers: list[int], bias: bool):
    np = _np()
    w_off, b_off, _ = _offsets(layers, bias)
    E = np.full((P.shape[0], len(layers) - 1), -1, dtype=np.int64)
    for l in range(1, len(layers)):
        src, dst = P[:, l - 1], P[:, l]
        w = (src >= 0) & (src < layers[l - 1])
        E[w, l - 1] = w_off[l - 1] + dst[w] * layers[l - 1] + src[w]
        b = src == layers[l - 1]
        E[b, l - 1] = b_off[l - 1] + dst[b]
    return E


def _path_gradients(E, point, p: int):
    """Entries ``∂φ_P/∂θ_e = Π_{f∈P, f≠e} θ_f`` mod p of every row, by prefix and suffix products."""
    np = _np()
    V = np.where(E >= 0, point[np.maximum(E, 0)], 1)
    rows, L = V.shape
    prefix = np.ones((rows, L + 1), dtype=np.int64)
    suffix = np.ones((rows, L + 1), dtype=np.int64)
    for m in range(L):
        prefix[:, m + 1] = prefix[:, m] * V[:, m] % p
        suffix[:, L - m - 1] = suffix[:, L - m] * V[:, L - m - 1] % p
    return prefix[:, :L] * suffix[:, 1:] % p


def check_triangular(cert: Mapping, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Check a ``"rank_proof": "triangular"`` certificate (module docstring); the report of
    :func:`~flowlaws.verify.checker.check_certificate`."""
    if (missing := numpy_problem()) is not None:
        raise _fail(f"the triangular rank proof is checked with NumPy: {missing}", "rank")
    np = _np()
    steps: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    clock = [time.perf_counter()]

    def done(step: str, detail: str) -> None:
        now = time.perf_counter()
        seconds[step] = now - clock[0]
        clock[0] = now
        steps.append({"step": step, "detail": detail})

    _object(cert, "certificate", _REQUIRED, _OPTIONAL)
    if cert["schema"] != SCHEMA:
        raise _fail(f"schema: {_describe(cert['schema'])} is not {SCHEMA!r}")
    _information_fields(cert)
    dim = _int(cert["dim"], "dim", lo=1, hi=TRIANGULAR_LIMITS["dim"])
    names = _list(cert["variables"], "variables", length=dim)
    if not all(isinstance(v, str) for v in names):
        bad = next(i for i, v in enumerate(names) if not isinstance(v, str))
        raise _fail(f"variables[{bad}]: expected a string, got {_describe(names[bad])}")
    layers, bias = _network(cert["model"], dim)
    check_printable_names(names)
    check_network_names(names, layers, bias)
    flow = cert["flow"]
    if not isinstance(flow, Mapping) or dict(flow) != {"name": "gradient"}:
        raise _fail(f"flow: the triangular proof is for plain gradient flow {{'name': 'gradient'}}, got {_describe(flow)}")
    gens = _object(cert["generators"], "generators", ("kind",))
    if gens["kind"] != "paths":
        raise _fail(f"generators.kind: the triangular proof's generators are 'paths', got {_describe(gens['kind'])}")
    rank = _object(cert["rank"], "rank", ("prime", "point", "words", "value"))
    if _list(rank["words"], "rank.words") != []:
        raise _fail("rank.words: a triangular proof has no bracket words (its rows are in 'triangular')")
    tri = _object(cert["triangular"], "triangular", ("paths", "pivots"))
    r = _int(rank["value"], "rank.value", lo=0, hi=dim)
    ind = _object(cert["independence"], "independence", ("prime", "point", "value", "pivots"))
    laws = _laws(cert["laws"], dim)
    bounds = _object(cert["bounds"], "bounds", ("lower", "upper"))
    lower, upper = _int(bounds["lower"], "bounds.lower"), _int(bounds["upper"], "bounds.upper")
    count, complete = _int(cert["count"], "count"), _bool(cert["complete"], "complete")
    L = len(layers) - 1
    done("schema", f"{SCHEMA} (triangular rank proof): gradient flow, network {'x'.join(map(str, layers))}"
                   f"{' with bias' if bias else ''}, dim={dim}, {r} rows, {len(laws)} laws")

    p = _prime(rank["prime"], "rank.prime")
    q = _prime(ind["prime"], "independence.prime")
    done("prime", f"rank.prime={p} and independence.prime={q} are prime")

    pivots = _int_array(tri["pivots"], "triangular.pivots")
    if pivots.size != r:
        raise _fail(f"rank.value={r} but triangular.pivots lists {pivots.size} rows", "rank")
    P = _paths(tri["paths"], layers, bias, r)
    done("generators", f"{r} paths of phi, each a source -> output path of the network (one coordinate of phi "
                       "per path: every hidden layer is positively homogeneous)")

    point = _point(rank["point"], "rank.point", dim, p)
    E = _edges(P, layers, bias)
    G = _path_gradients(E, point, p)
    if progress is not None:
        progress("rank", r, r)
    live = E >= 0
    row = np.broadcast_to(np.arange(r, dtype=np.int64)[:, None], E.shape)[live]
    _triangular(row, E[live], G[live], pivots, dim, p, "rank", "triangular.pivots", "rank.point")
    del G, E, row
    done("rank", f"the gradients of the {r} path coordinates at rank.point mod {p} are triangular on their "
                 f"distinct pivots with nonzero diagonal: rank >= {r} ({r * L} entries recomputed)")

    budget = [TRIANGULAR_LIMITS["law_work"]]
    for i, (V, C) in enumerate(laws):
        why = _conserved(layers, bias, V, C, budget)
        if why:
            raise _fail(f"laws[{i}] is not conserved: {why}", "laws")
        if progress is not None and i % 256 == 0:
            progress("laws", i + 1, len(laws))
    done("laws", f"{len(laws)} laws sum c*theta^2 are conserved exactly (their coefficients sum to 0 along "
                 "every source -> output path, so <grad h, grad phi_P> = 2 phi_P * 0 for every path P)")

    k = len(laws)
    if _int(ind["value"], "independence.value", lo=0) != k:
        raise _fail(f"independence.value={int_str(ind['value'])} but there are {k} laws", "independence")
    ipiv = _int_array(ind["pivots"], "independence.pivots")
    if ipiv.size != k:
        raise _fail(f"independence.pivots lists {ipiv.size} pivots for {k} laws", "independence")
    ipoint = _point(ind["point"], "independence.point", dim, q)
    lens = [V.size for V, _ in laws]
    irow = np.repeat(np.arange(k, dtype=np.int64), lens)
    icol = np.concatenate([V for V, _ in laws]) if k else np.zeros(0, dtype=np.int64)
    icoef = np.concatenate([C for _, C in laws]) if k else np.zeros(0, dtype=np.int64)
    ival = 2 * (icoef % q) % q * ipoint[icol] % q
    _triangular(irow, icol, ival, ipiv, dim, q, "independence", "independence.pivots", "independence.point")
    done("independence", f"the Jacobian of the {k} laws at independence.point mod {q} is triangular on distinct "
                         "pivots with nonzero diagonal: rank " + str(k))

    hi = dim - r
    if lower != k:
        raise _fail(f"bounds.lower={int_str(lower)} but the certificate proves {k} laws", "conclusion")
    if upper != hi:
        raise _fail(f"bounds.upper={int_str(upper)} but dim - rank.value = {dim} - {r} = {hi}", "conclusion")
    if count != hi:
        raise _fail(f"count={int_str(count)} but must equal bounds.upper={hi}", "conclusion")
    if k > hi:
        raise _fail(f"{k} independent laws exceed the upper bound {hi}: the certificate is inconsistent", "conclusion")
    if complete != (k == hi):
        raise _fail(f"complete={str(complete).lower()} but lower={k} and upper={hi}", "conclusion")
    done("conclusion", f"{k} <= count <= {hi}" + (" (exact)" if k == hi else ""))
    return {
        "proved": {"upper_bound": hi, "lower_bound": k, "exact": k == hi},
        "frobenius": False,
        "flow": {"name": "gradient"},
        "count": count,
        "dim": dim,
        "rank": r,
        "laws": k,
        "complete": complete,
        "steps": steps,
        "seconds": seconds,
        "routes": {"words": "triangular", "laws": "potentials"},
    }
