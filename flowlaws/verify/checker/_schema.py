"""Reading a certificate's JSON: the schema, its size limits, POLYs and bracket words.

The shape is strict (``docs/certificate-format.md``): a missing, unknown or
mistyped field is refused, integers must be JSON integers (never floats or
booleans) and every size is bounded (:data:`LIMITS`). Every failure raises
:class:`~flowlaws.errors.CertificateError` with step ``schema``.

>>> parse_poly([["3", [[0, 2]]], ["-1", [[1, 1]]]], "law", 2).to_str(["x", "y"])
'3*x^2 - y'
>>> parse_poly([["3.5", [[0, 2]]]], "law", 2)
Traceback (most recent call last):
...
flowlaws.errors.CertificateError: [schema] law[0][0]: a coefficient is a decimal integer string such as "-3", got str '3.5'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import CertificateError
from ._polys import Poly, int_str

__all__ = ["SCHEMA", "LIMITS", "parse_poly"]

SCHEMA = "flowlaws-certificate/1"

#: Size bounds enforced by the schema step (a certificate beyond them is refused).
LIMITS = {
    "dim": 100_000,
    "words": 200_000,
    "word_depth": 8,
    "word_nodes": 2_000_000,
    # term products of the polynomial brackets of explicit-route words, all words together
    "bracket_work": 20_000_000,
    # term products of the Frobenius identities q*Z = sum p_l*Y_l (see _frobenius)
    "frobenius_work": 50_000_000,
    # term products of the cleared identities of rational / logarithmic laws (see _log_laws)
    "log_law_work": 50_000_000,
    "laws": 100_000,
    "phi": 1_000_000,
    "terms_per_poly": 1_000_000,
    "terms_total": 10_000_000,
    "exponent": 1_000_000,
    "coefficient_digits": 4_000,
    "layers": 1_000,
    # "graph" models: checked before any work on the nodes and edges
    "graph_nodes": 1_000_000,
    "graph_edges": 2_000_000,
    "paths": 1_000_000,
    # the fast route for networks (no path expansion; see _network_eval, _local_laws, _rank_np)
    "fast_dim": 20_000,
    "fast_entries": 160_000_000,
    # units of jet work of the network words (see _network_eval.jet_work; about 20 ns each)
    "jet_work": 1_000_000_000,
    # explicit-route words and the laws' Jacobian: a dense int64 matrix up to this many entries (400 MB)
    "dense_entries": 50_000_000,
    "explicit_law_paths": 20_000,
}

_TOP_REQUIRED = (
    "schema", "dim", "variables", "model", "flow", "generators",
    "rank", "laws", "independence", "bounds", "count", "complete",
)
_TOP_OPTIONAL = ("library", "timings", "meta", "frobenius", "log_laws")
_COEF_RE = re.compile(r"-?[0-9]+")
_U64 = 2**64


def _fail(message: str, step: str = "schema") -> CertificateError:
    return CertificateError(message, step=step)


def _describe(x: Any) -> str:
    try:
        text = repr(x)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        text = int_str(x) if isinstance(x, int) else "<unprintable>"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(x).__name__} {text}"


# -- shape helpers ------------------------------------------------------------------
def _int(x: Any, where: str, *, lo: int | None = None, hi: int | None = None) -> int:
    if type(x) is not int:  # refuses bool, float (even 3.0), NaN, strings
        hint = " (write integers without a decimal point)" if isinstance(x, float) else ""
        raise _fail(f"{where}: expected an integer, got {_describe(x)}{hint}")
    if lo is not None and x < lo:
        raise _fail(f"{where}={int_str(x)}: must be >= {lo}")
    if hi is not None and x > hi:
        raise _fail(f"{where}={int_str(x)}: must be <= {hi}")
    return x


def _bool(x: Any, where: str) -> bool:
    if type(x) is not bool:
        raise _fail(f"{where}: expected true or false, got {_describe(x)}")
    return x


def _str(x: Any, where: str) -> str:
    if not isinstance(x, str):
        raise _fail(f"{where}: expected a string, got {_describe(x)}")
    return x


def _list(x: Any, where: str, *, max_len: int | None = None, length: int | None = None) -> list:
    if not isinstance(x, list):
        raise _fail(f"{where}: expected a list, got {_describe(x)}")
    if length is not None and len(x) != length:
        raise _fail(f"{where}: expected {length} entries, got {len(x)}")
    if max_len is not None and len(x) > max_len:
        raise _fail(f"{where}: {len(x)} entries, more than the checker's limit {max_len}")
    return x


def _object(x: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping:
    if not isinstance(x, Mapping):
        raise _fail(f"{where}: expected an object, got {_describe(x)}")
    for k in x:
        if not isinstance(k, str):
            raise _fail(f"{where}: keys must be strings, got {_describe(k)}")
    missing = [k for k in required if k not in x]
    if missing:
        raise _fail(f"{where}: missing field(s) {missing}; required fields are {list(required)}")
    unknown = [k for k in x if k not in required and k not in optional]
    if unknown:
        raise _fail(
            f"{where}: unknown field(s) {sorted(unknown)}; {SCHEMA} allows {list(required) + list(optional)}"
        )
    return x


def _point(x: Any, where: str, dim: int) -> list[int]:
    _list(x, where, length=dim)
    return [_int(v, f"{where}[{i}]") for i, v in enumerate(x)]


class _Budget:
    """Counts polynomial terms across the whole certificate."""

    def __init__(self) -> None:
        self.terms = 0

    def take(self, n: int, where: str) -> None:
        self.terms += n
        if self.terms > LIMITS["terms_total"]:
            raise _fail(f"{where}: the certificate has more than {LIMITS['terms_total']} polynomial terms in total")


def parse_poly(x: Any, where: str, dim: int, budget: _Budget | None = None) -> Poly:
    """A POLY (``[["coef", [[var, exp], ...]], ...]``) as a :class:`Poly` over Z."""
    _list(x, where, max_len=LIMITS["terms_per_poly"])
    if budget is not None:
        budget.take(len(x), where)
    acc: dict = {}
    for t, term in enumerate(x):
        tw = f"{where}[{t}]"
        _list(term, tw, length=2)
        coef, mono = term
        if not isinstance(coef, str) or not _COEF_RE.fullmatch(coef):
            raise _fail(f"{tw}[0]: a coefficient is a decimal integer string such as \"-3\", got {_describe(coef)}")
        if len(coef) > LIMITS["coefficient_digits"]:
            raise _fail(f"{tw}[0]: coefficient with {len(coef)} digits, more than {LIMITS['coefficient_digits']}")
        _list(mono, f"{tw}[1]", max_len=dim)
        pairs = []
        for k, pair in enumerate(mono):
            pw = f"{tw}[1][{k}]"
            _list(pair, pw, length=2)
            var = _int(pair[0], f"{pw}[0] (variable index)", lo=0, hi=dim - 1)
            exp = _int(pair[1], f"{pw}[1] (exponent)", lo=1, hi=LIMITS["exponent"])
            pairs.append((var, exp))
        pairs.sort()
        for k in range(1, len(pairs)):
            if pairs[k][0] == pairs[k - 1][0]:
                raise _fail(f"{tw}[1]: variable {pairs[k][0]} appears twice in one monomial; merge the exponents")
        m = tuple(pairs)
        acc[m] = acc.get(m, 0) + int(coef)
    return Poly(acc)


def _word(x: Any, where: str, depth: int, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > LIMITS["word_nodes"]:
        raise _fail(f"{where}: the words have more than {LIMITS['word_nodes']} nodes in total")
    if isinstance(x, list):
        if len(x) != 2:
            raise _fail(f"{where}: a bracket word is a pair [U, V], got a list of {len(x)} entries")
        if depth >= LIMITS["word_depth"]:
            raise _fail(f"{where}: word nested deeper than {LIMITS['word_depth']} brackets")
        return (
            _word(x[0], f"{where}[0]", depth + 1, counter),
            _word(x[1], f"{where}[1]", depth + 1, counter),
        )
    if type(x) is not int:
        raise _fail(f"{where}: a word is a generator index (int) or a pair [U, V], got {_describe(x)}")
    if not 0 <= x < _U64:
        raise _fail(f"{where}={int_str(x)}: generator indices are in [0, 2**64)")
    return x


def _leaves(word: Any, out: set[int]) -> None:
    if isinstance(word, int):
        out.add(word)
    else:
        _leaves(word[0], out)
        _leaves(word[1], out)
