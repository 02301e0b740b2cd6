"""Mutations of valid certificates, for the fuzzing suite (issue 15).

A mutation takes a certificate (a JSON-compatible dict, changed in place) and
a *chooser* that makes every random decision: :class:`DrawChooser` draws them
from Hypothesis (``st.sampled_from``, ``st.integers``), so failing cases shrink,
and :class:`RandomChooser` from a seeded :class:`random.Random`, for the long
run in ``benchmarks/fuzz_long.py`` (Hypothesis is too slow to drive 100,000
cases one by one). Both run the same mutators.

Mutators reach every field: :func:`paths` lists the path of every node of the
certificate (objects, lists and leaves), and the generic mutators first pick a
top-level field, then a path under it. The others change one kind of claim on
purpose (``count``/``bounds``/``complete``, the model, the flow with its ``tau``
and metric, the variable names, the primes and points, the words, the laws'
coefficients and exponents) or splice a field from another base certificate.
:func:`mutate_text` works on the serialized JSON (repeated keys, deep nesting,
huge numbers, Unicode, invalid UTF-8, truncation).

What it does not do: decide whether the result is true; see ``fuzz_oracle.py``.

Examples
--------
>>> import random
>>> cert = {"count": 1, "bounds": {"lower": 1, "upper": 1}, "laws": [[["1", [[0, 2]]]]]}
>>> chooser = RandomChooser(random.Random(0))
>>> done = mutate(cert, chooser, n=2)
>>> 1 <= len(done) <= 2  # mutators that do not apply to this certificate are skipped
True
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

Path = tuple[Any, ...]

__all__ = [
    "RandomChooser", "DrawChooser", "paths", "MUTATORS", "mutate", "mutate_text",
    "mutated_certificates", "mutated_texts",
]


# -- choosers ----------------------------------------------------------------------------------
class RandomChooser:
    """Random decisions from a :class:`random.Random` (the long run)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser:
    """Random decisions drawn from Hypothesis (``draw`` of an ``st.composite``), so failures shrink."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def choice(self, seq: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(list(seq)))

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


# -- paths -------------------------------------------------------------------------------------
def paths(obj: Any, prefix: Path = ()) -> list[Path]:
    """The path of every node under ``obj`` (not ``obj`` itself), depth first.

    >>> paths({"a": [1, {"b": 2}]})
    [('a',), ('a', 0), ('a', 1), ('a', 1, 'b')]
    """
    out: list[Path] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        out.append(prefix + (key,))
        out.extend(paths(value, prefix + (key,)))
    return out


def _get(obj: Any, path: Path) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _set(obj: Any, path: Path, value: Any) -> None:
    _get(obj, path[:-1])[path[-1]] = value


def _pick_path(cert: dict, ch: Any, want: Callable[[Any], bool] = lambda v: True) -> Path | None:
    """A top-level field, then a path under it (so every field is reached, however small)."""
    fields = [k for k in cert if any(want(_get(cert, p)) for p in [(k,)] + paths(cert[k], (k,)))]
    if not fields:
        return None
    top = ch.choice(sorted(fields, key=str))
    found = [p for p in [(top,)] + paths(cert[top], (top,)) if want(_get(cert, p))]
    return ch.choice(found)


def _short(v: Any) -> str:
    """``repr(v)`` for a description, short even for an int past Python's int-to-str limit."""
    if _is_int(v) and v.bit_length() > 200:
        return f"<int of {v.bit_length()} bits>"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# -- values ------------------------------------------------------------------------------------
CONTROL_STRINGS = ["", " ", "\x1b[2K\rcertificate verified", "\x00", "a\r", "\u202ex", "\u2028", "W1[0,0]\x1b[8m",
                   "\ud800", "é", "١٢", "NaN", "Infinity", "-0", "1e400", "0x10", "1_000", " 1", "1.0", "2/4",
                   "x" * 5000]
HUGE = [2**31, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 10**40, -(2**64), 10**4400]
PRIMES = [2, 3, 4, 9, 15, 101, 65537, 16777213, 16777215, 2**31 - 1, 561, 3215031751, 2**61 - 1,
          18446744073709551557, 2**64 - 1, 2**64 + 13, 0, -7, 1]


def junk(ch: Any, current: Any) -> Any:
    """A value of another type (or an extreme one of the same type) to put in place of ``current``."""
    options: list[Callable[[], Any]] = [
        lambda: None, lambda: True, lambda: False, lambda: 0, lambda: -1, lambda: 1, lambda: 7,
        lambda: ch.choice(HUGE), lambda: 1.5, lambda: 1.0, lambda: ch.choice(CONTROL_STRINGS),
        lambda: [], lambda: {}, lambda: [current], lambda: {"value": current}, lambda: str(current)[:100],
        lambda: [0, 1], lambda: [["1", [[0, 1]]]], lambda: "1/2",
    ]
    if _is_int(current):
        options += [lambda: current + ch.choice([-2, -1, 1, 2]), lambda: -current, lambda: str(current),
                    lambda: float(current) if abs(current) < 2**53 else 1e308, lambda: current * 2]
    return ch.choice(options)()


# -- generic mutators (any field) ---------------------------------------------------------------
def replace_value(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    path = _pick_path(cert, ch)
    if path is None:
        return None
    _set(cert, path, junk(ch, _get(cert, path)))
    return f"replace {path}"


def perturb_int(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    path = _pick_path(cert, ch, _is_int)
    if path is None:
        return None
    v = _get(cert, path)
    new = ch.choice([v + 1, v - 1, v + 2, -v, 0, 2 * v, v + 16777213, v - 16777213, v * 16777213])
    _set(cert, path, new)
    return f"int {path}: {_short(v)} -> {_short(new)}"


def _fraction(text: Any) -> Fraction | None:
    try:
        return Fraction(text) if isinstance(text, str) and len(text) < 50 else None
    except (ValueError, ZeroDivisionError):
        return None


def perturb_number_string(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    """A rational written as a string (law coefficients, ``tau``, frozen weights, metric entries)."""
    path = _pick_path(cert, ch, lambda v: _fraction(v) is not None)
    if path is None:
        return None
    q = _fraction(_get(cert, path))
    assert q is not None
    new = ch.choice([str(q + 1), str(-q), "0", str(q * 2), str(q / 3), f"{q.numerator * 2}/{q.denominator * 2}",
                     f"+{q}", f" {q}", f"{q}.0", "1e3", "NaN", "inf", "-0", "١", "1/0", f"{q}/1", str(q + 16777213)])
    _set(cert, path, new)
    return f"number {path}: {q} -> {new!r}"


def delete_node(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    path = _pick_path(cert, ch)
    if path is None:
        return None
    parent = _get(cert, path[:-1])
    del parent[path[-1]]
    return f"delete {path}"


def add_key(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    dicts = [()] + [p for p in paths(cert) if isinstance(_get(cert, p), dict)]
    where = ch.choice(dicts)
    key = ch.choice(["extra", "tau", "metric", "seed", "value", "count", "complete", "kind", "bias", "name",
                     "\x1b[2K", ""])
    target = _get(cert, where)
    if key in target:
        return None
    target[key] = junk(ch, 1)
    return f"add {where} {key!r}"


def list_op(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    path = _pick_path(cert, ch, lambda v: isinstance(v, list) and len(v) > 0)
    if path is None:
        return None
    seq = _get(cert, path)
    n = len(seq)
    op = ch.choice(["truncate", "extend", "duplicate", "shuffle", "reverse", "swap", "clear", "junk"])
    if op == "truncate":
        del seq[ch.integer(0, n - 1):]
    elif op == "extend":
        seq.extend(copy.deepcopy(seq[: ch.integer(1, n)]))
    elif op == "duplicate":
        i = ch.integer(0, n - 1)
        seq.insert(ch.integer(0, n), copy.deepcopy(seq[i]))
    elif op == "shuffle":
        order = list(range(n))
        for i in range(n - 1, 0, -1):  # Fisher-Yates with the chooser's integers
            j = ch.integer(0, i)
            order[i], order[j] = order[j], order[i]
        seq[:] = [seq[k] for k in order]
    elif op == "reverse":
        seq.reverse()
    elif op == "swap":
        i, j = ch.integer(0, n - 1), ch.integer(0, n - 1)
        seq[i], seq[j] = seq[j], seq[i]
    elif op == "clear":
        seq.clear()
    else:
        seq.insert(ch.integer(0, n), junk(ch, seq[0]))
    return f"list {op} {path}"


# -- mutators of one kind of claim ----------------------------------------------------------------
def change_claim(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    """``count``, ``bounds``, ``complete``, ``rank.value``, ``independence.value``: alone or kept consistent."""
    d = ch.choice([-1, 1, 2])
    op = ch.choice(["count", "lower", "upper", "complete", "rank", "independence", "consistent-up", "consistent-down"])
    b = cert.get("bounds") if isinstance(cert.get("bounds"), dict) else {}
    r = cert.get("rank") if isinstance(cert.get("rank"), dict) else {}
    try:
        if op == "count":
            cert["count"] += d
        elif op == "lower":
            b["lower"] += d
        elif op == "upper":
            b["upper"] += d
        elif op == "complete":
            cert["complete"] = not cert["complete"]
        elif op == "rank":
            r["value"] += d
        elif op == "independence":
            cert["independence"]["value"] += d
        else:  # a forged claim whose conclusion adds up: only the rank or the laws can refute it
            s = d if op == "consistent-up" else -d
            r["value"] -= s
            b["upper"] += s
            cert["count"] += s
            cert["complete"] = b["upper"] == b["lower"]
    except (KeyError, TypeError):
        return None
    return f"claim {op} {d:+d}"


ACTIVATIONS = ["relu", "linear", "leaky_relu", "sigmoid", "", "RELU"]


def change_model(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    m = cert.get("model")
    if not isinstance(m, dict):
        return None
    kind = m.get("kind")
    if kind == "network":
        op = ch.choice(["width", "activation", "bias", "layers", "kind"])
        if op == "width" and isinstance(m.get("layers"), list) and m["layers"]:
            i = ch.integer(0, len(m["layers"]) - 1)
            m["layers"][i] = ch.choice([0, 1, -1, 2, 3, 99999, m["layers"][i] + 1, m["layers"][i] - 1])
        elif op == "activation":
            m["activations"] = ch.choice([[a] for a in ACTIVATIONS] + [[], ["relu", "linear"], ["relu"] * 5])
        elif op == "bias":
            m["bias"] = ch.choice([not m.get("bias"), 1, 0, "true", None])
        elif op == "layers" and isinstance(m.get("layers"), list):
            m["layers"] = ch.choice([m["layers"][::-1], m["layers"] + [1], m["layers"][:-1], [len(m["layers"])] * 3])
        else:
            m["kind"] = ch.choice(["polynomials", "graph", "Network", "mlp"])
        return f"model network {op}"
    if kind == "graph":
        op = ch.choice(["node-kind", "activation", "edge-end", "edge-weight", "frozen-value", "drop-edge"])
        nodes, edges = m.get("nodes"), m.get("edges")
        if not isinstance(nodes, list) or not isinstance(edges, list) or not nodes or not edges:
            return None
        if op in ("node-kind", "activation"):
            i = ch.integer(0, len(nodes) - 1)
            nodes[i] = ch.choice([["input"], ["bias"], ["output"]] + [["hidden", a] for a in ACTIVATIONS])
        else:
            i = ch.integer(0, len(edges) - 1)
            e = edges[i]
            if not isinstance(e, list) or len(e) != 3:
                return None
            if op == "edge-end":
                e[ch.integer(0, 1)] = ch.integer(-1, len(nodes))
            elif op == "edge-weight":
                e[2] = ch.choice([0, 1, -1, "1", "0", "-1", "1/2", e[2] + 1 if _is_int(e[2]) else 0])
            elif op == "frozen-value":
                e[2] = ch.choice(["2", "-1", "0", "1/16777213", "1/3"])
            else:
                del edges[i]
        return f"model graph {op}"
    if kind == "polynomials" and isinstance(m.get("phi"), list) and m["phi"]:
        op = ch.choice(["drop", "duplicate", "coefficient", "exponent", "variable", "add-term"])
        phi = m["phi"]
        k = ch.integer(0, len(phi) - 1)
        if op == "drop":
            del phi[k]
        elif op == "duplicate":
            phi.append(copy.deepcopy(phi[k]))
        else:
            return _perturb_poly(phi[k], ch, op, cert.get("dim"))
        return f"model polynomials {op}"
    return None


def _perturb_poly(poly: Any, ch: Any, op: str, dim: Any) -> str | None:
    """Change one term of a POLY ``[[coef, [[var, exp], ...]], ...]``."""
    if not isinstance(poly, list) or not poly:
        return None
    t = ch.integer(0, len(poly) - 1)
    term = poly[t]
    if not (isinstance(term, list) and len(term) == 2 and isinstance(term[1], list)):
        return None
    coef, mono = term
    if op == "coefficient":
        term[0] = ch.choice(["0", "2", "-1", f"-{coef}" if isinstance(coef, str) else "1", "1/2", "16777214"])
    elif op == "add-term":
        n = dim if _is_int(dim) and dim > 0 else 2
        poly.append([ch.choice(["1", "-1", "2"]), [[ch.integer(0, n - 1), ch.integer(1, 3)]]])
    elif mono and isinstance(mono[0], list) and len(mono[0]) == 2:
        pair = mono[ch.integer(0, len(mono) - 1)]
        if op == "exponent":
            pair[1] = ch.choice([0, 1, 2, 3, 10**9, -1, pair[1] + 1 if _is_int(pair[1]) else 1])
        else:
            n = dim if _is_int(dim) and dim > 0 else 2
            pair[0] = ch.choice([0, n - 1, n, -1, ch.integer(0, n - 1)])
    else:
        return None
    return f"poly {op}"


FLOWS = [
    {"name": "gradient"}, {"name": "gradient", "metric": "nmf"}, {"name": "gradient", "metric": "euclidean"},
    {"name": "momentum", "tau": "1"}, {"name": "momentum", "tau": "0"}, {"name": "momentum", "tau": "1/2"},
    {"name": "momentum", "tau": "2"}, {"name": "momentum", "tau": "-1"}, {"name": "momentum", "tau": "1/16777213"},
    {"name": "momentum", "tau": 1}, {"name": "momentum", "tau": "1.0"}, {"name": "momentum"},
    {"name": "momentum", "tau": "1", "metric": "nmf"}, {"name": "nesterov"}, {"name": "nesterov", "tau": "1"},
    {"name": "Gradient"}, {"name": "sgd"}, {"name": "gradient", "metric": "fisher"},
    {"name": "momentum", "tau": "11111111111111111111"},
]


def change_flow(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    flow = copy.deepcopy(ch.choice(FLOWS))
    old = cert.get("flow")
    if isinstance(old, dict) and isinstance(old.get("metric"), dict) and ch.choice([True, False]):
        flow["metric"] = old["metric"]  # a user matrix metric under another flow
    cert["flow"] = flow
    return f"flow -> {flow}"


def change_variables(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    names = cert.get("variables")
    if not isinstance(names, list) or len(names) < 2:
        return None
    i, j = ch.integer(0, len(names) - 1), ch.integer(0, len(names) - 1)
    op = ch.choice(["swap", "rename", "prime", "transpose", "duplicate", "relayer", "control"])
    if op == "swap":
        names[i], names[j] = names[j], names[i]
    elif op == "rename":
        names[i] = ch.choice(["x", "W9[0,0]", "b1[0]", "W1[0,0]", "1", "x*y", "y[0", "s", "t", str(names[j])])
    elif op == "prime":
        names[i] = f"{names[i]}'"
    elif op == "transpose":  # W1[i,j] -> W1[j,i] everywhere
        import re

        cert["variables"] = [re.sub(r"\[(\d+),(\d+)\]", r"[\2,\1]", str(n)) for n in names]
    elif op == "duplicate":
        names[i] = names[j]
    elif op == "relayer":
        cert["variables"] = [str(n).replace("W1", "T").replace("W2", "W1").replace("T", "W2") for n in names]
    else:
        names[i] = f"{names[i]}{ch.choice(CONTROL_STRINGS[2:9])}"
    return f"variables {op}"


def change_prime_or_point(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    part = cert.get(ch.choice(["rank", "independence"]))
    if not isinstance(part, dict):
        return None
    op = ch.choice(["prime", "prime", "point-entry", "point-zero", "point-multiple"])
    if op == "prime":
        part["prime"] = ch.choice(PRIMES)
        return f"prime -> {part['prime']}"
    point = part.get("point")
    if not isinstance(point, list) or not point:
        return None
    i = ch.integer(0, len(point) - 1)
    p = part.get("prime") if _is_int(part.get("prime")) else 16777213
    if op == "point-entry":
        point[i] = ch.choice([0, 1, -1, p, p - 1, 2 * p + 3, 10**40])
    elif op == "point-zero":
        part["point"] = [0] * len(point)
    else:
        part["point"] = [p * ch.integer(-2, 2) for _ in point]
    return f"{op}"


def change_words(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    r = cert.get("rank")
    if not isinstance(r, dict) or not isinstance(r.get("words"), list) or not r["words"]:
        return None
    words = r["words"]
    i = ch.integer(0, len(words) - 1)
    w = words[i]
    op = ch.choice(["repeat", "leaf", "wrap", "deepen", "drop", "swap-children", "out-of-range", "add-and-raise"])
    if op == "repeat":
        words.insert(ch.integer(0, len(words)), copy.deepcopy(w))
    elif op == "leaf":
        words[i] = ch.integer(0, max(0, len(words) + 1))
    elif op == "wrap":
        words[i] = [copy.deepcopy(w), ch.integer(0, 3)]
    elif op == "deepen":
        words[i] = [w, [copy.deepcopy(w), copy.deepcopy(words[0])]]
    elif op == "drop":
        del words[i]
    elif op == "swap-children" and isinstance(w, list) and len(w) == 2:
        words[i] = [w[1], w[0]]
    elif op == "out-of-range":
        words[i] = ch.choice([-1, 10**6, 2**64, [0, -1], [0], [0, 1, 2], "0", 1.0, True])
    else:  # one more word and a rank one higher: refuted only by the evaluation
        words.append([ch.integer(0, 3), [ch.integer(0, 3), ch.integer(0, 3)]])
        if _is_int(r.get("value")):
            r["value"] += 1
    return f"words {op}"


def change_laws(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    laws = cert.get("laws")
    if not isinstance(laws, list):
        return None
    op = ch.choice(["coefficient", "exponent", "variable", "add-term", "drop-term", "duplicate", "drop",
                    "negate", "scale", "sum", "add-law"])
    if op == "add-law" or not laws:
        n = cert["dim"] if _is_int(cert.get("dim")) and cert["dim"] > 0 else 2
        laws.append([["1", [[ch.integer(0, n - 1), 2]]], ["-1", [[ch.integer(0, n - 1), 2]]]])
        for key, part in (("lower", cert.get("bounds")), ("value", cert.get("independence"))):
            if isinstance(part, dict) and _is_int(part.get(key)):
                part[key] += 1  # keep the conclusion consistent: only the laws step can refute it
        return "laws add-law"
    k = ch.integer(0, len(laws) - 1)
    law = laws[k]
    if op in ("coefficient", "exponent", "variable", "add-term"):
        return _perturb_poly(law, ch, op, cert.get("dim"))
    if not isinstance(law, list) or not law:
        return None
    if op == "drop-term":
        del law[ch.integer(0, len(law) - 1)]
    elif op == "duplicate":
        laws.append(copy.deepcopy(law))
    elif op == "drop":
        del laws[k]
    elif op in ("negate", "scale"):
        for term in law:
            if isinstance(term, list) and term and isinstance(term[0], str) and _fraction(term[0]) is not None:
                q = _fraction(term[0])
                assert q is not None
                term[0] = str(-q if op == "negate" else 2 * q)
    else:
        other = copy.deepcopy(laws[ch.integer(0, len(laws) - 1)])
        law.extend(other if isinstance(other, list) else [])
    return f"laws {op}"


def splice(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    """A field (or the model with its dim and names) taken from another base certificate."""
    if not donors:
        return None
    donor = ch.choice(list(donors))
    keys = sorted(set(donor) & {"model", "flow", "generators", "rank", "laws", "independence", "variables", "dim"})
    key = ch.choice(keys + ["model+dim+variables"])
    for k in (["model", "dim", "variables"] if key == "model+dim+variables" else [key]):
        if k in donor:
            cert[k] = copy.deepcopy(donor[k])
    return f"splice {key}"


#: Whether :func:`stress` may draw words of depth 7 and 8 (seconds each on a network); the long run sets it.
HEAVY_WORDS = False


def _balanced(depth: int, leaves: int, k: int = 0) -> Any:
    return k % leaves if depth == 0 else [_balanced(depth - 1, leaves, k), _balanced(depth - 1, leaves, k + 1)]


def stress(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    """Push a size toward a checker limit: deep or many words, huge exponents, long laws, wider networks.

    Sizes are drawn mostly small, rarely at the limit (each check stays bounded by the checker's
    ``LIMITS``; the long run reports the slowest one and the limit that stopped it).
    """
    r = cert.get("rank")
    dim = cert.get("dim") if _is_int(cert.get("dim")) and cert.get("dim", 0) > 0 else 2
    op = ch.choice(["deep-word", "many-words", "exponent", "long-law", "wide-network"])
    if op == "deep-word" and isinstance(r, dict) and isinstance(r.get("words"), list):
        depths = [2, 3, 3, 4, 4, 5, 5, 6, 9]
        if HEAVY_WORDS:  # depth 7 and 8 words on networks take seconds each: rare, and only in the long run
            depths += [7] * (ch.integer(0, 39) == 17) + [8] * (ch.integer(0, 199) == 17)
        depth = ch.choice(depths)
        r["words"].insert(0, _balanced(depth, ch.integer(1, 6)))
        return f"stress deep-word depth {depth}"
    if op == "many-words" and isinstance(r, dict) and isinstance(r.get("words"), list):
        n = ch.choice([10, 100, 1000, 1000, 5000])
        r["words"] += [[ch.integer(0, 5), [ch.integer(0, 5), ch.integer(0, 5)]] for _ in range(n)]
        return f"stress many-words {n}"
    laws = cert.get("laws")
    if op == "exponent" and isinstance(laws, list):
        e = ch.choice([1000, 10**5, 10**6, 10**6 + 1])
        laws.append([["1", [[ch.integer(0, dim - 1), e]]]])
        return f"stress exponent {e}"
    if op == "long-law" and isinstance(laws, list):
        n = ch.choice([100, 1000, 10_000])
        laws.append([[str(ch.integer(-5, 5) or 1), [[ch.integer(0, dim - 1), ch.integer(1, 3)],
                                                    [ch.integer(0, dim - 1), ch.integer(1, 3)]]] for _ in range(n)])
        return f"stress long-law {n} terms"
    m = cert.get("model")
    if op == "wide-network" and isinstance(m, dict) and m.get("kind") == "network" and isinstance(m.get("layers"), list):
        width = ch.choice([10, 50, 200, 1000])
        layers = [width if 0 < i < len(m["layers"]) - 1 else w for i, w in enumerate(m["layers"])]
        if not all(_is_int(w) and w > 0 for w in layers):
            return None
        if sum(a * b for a, b in zip(layers, layers[1:])) > 100_000:  # an earlier mutation widened an end layer
            return None
        bias = m.get("bias") is True
        names = []
        for l in range(1, len(layers)):
            names += [f"W{l}[{i},{j}]" for i in range(layers[l]) for j in range(layers[l - 1])]
            names += [f"b{l}[{i}]" for i in range(layers[l])] if bias else []
        phase = isinstance(cert.get("flow"), dict) and cert["flow"].get("name") != "gradient"
        if phase:
            old = cert.get("variables")
            time_name = old[0] if isinstance(old, list) and old and isinstance(old[0], str) else "s"
            names = [time_name] + names + [n + "'" for n in names]
        m["layers"] = layers
        cert["dim"] = len(names)
        cert["variables"] = names
        for part in (r, cert.get("independence")):
            if isinstance(part, dict) and isinstance(part.get("point"), list):
                part["point"] = [(7 * k + 3) % 1000 + 1 for k in range(len(names))]
        return f"stress wide-network {layers}"
    return None


def change_triangular(cert: dict, ch: Any, donors: Sequence[dict]) -> str | None:
    """The triangular rank proof: its kind, pivots, paths and row order (on any base: a dense
    certificate gains a ``rank_proof``)."""
    op = ch.choice(["kind", "drop-kind", "swap-pivots", "pivot", "node", "reverse", "drop-witness"])
    tri = cert.get("triangular")
    if op == "kind":
        cert["rank_proof"] = ch.choice(["dense", "triangular", "magic", 1, None, ["triangular"]])
        return f"rank_proof = {cert['rank_proof']!r}"
    if op == "drop-kind":
        return "rank_proof deleted" if cert.pop("rank_proof", None) is not None else None
    if op == "drop-witness":
        return "triangular deleted" if cert.pop("triangular", None) is not None else None
    if not isinstance(tri, dict) or not tri.get("pivots"):
        return None
    piv, paths = tri["pivots"], tri["paths"]
    if op == "swap-pivots":
        i, j = ch.integer(0, len(piv) - 1), ch.integer(0, len(piv) - 1)
        piv[i], piv[j] = piv[j], piv[i]
        return f"pivots {i} <-> {j}"
    if op == "pivot":
        i = ch.integer(0, len(piv) - 1)
        piv[i] = ch.choice([0, piv[i] + 1, -1, cert.get("dim", 0), 2**64])
        return f"pivots[{i}] = {piv[i]}"
    if op == "node":
        i = ch.integer(0, len(paths) - 1)
        paths[i] = ch.choice([0, 1, -1, paths[i] + 1, 10**6])
        return f"paths[{i}] = {paths[i]}"
    width = len(paths) // len(piv)
    rows = [paths[k * width:(k + 1) * width] for k in range(len(piv))][::-1]
    tri["paths"], tri["pivots"] = [v for row in rows for v in row], piv[::-1]
    return "rows reversed"


MUTATORS: dict[str, Callable[[dict, Any, Sequence[dict]], str | None]] = {
    "triangular": change_triangular,
    "replace": replace_value,
    "int": perturb_int,
    "number": perturb_number_string,
    "delete": delete_node,
    "add-key": add_key,
    "list": list_op,
    "claim": change_claim,
    "model": change_model,
    "flow": change_flow,
    "variables": change_variables,
    "prime-point": change_prime_or_point,
    "words": change_words,
    "laws": change_laws,
    "splice": splice,
    "stress": stress,
}


def mutate(cert: dict, ch: Any, *, n: int = 1, donors: Sequence[dict] = ()) -> list[str]:
    """Apply ``n`` mutations to ``cert`` in place; returns what each did (mutators that did not apply skipped)."""
    done = []
    for _ in range(n):
        name = ch.choice(sorted(MUTATORS))
        try:
            what = MUTATORS[name](cert, ch, donors)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            what = None  # an earlier mutation left a shape this mutator does not handle: skip it
        if what is not None:
            done.append(f"{name}: {what}")
    return done


# -- text-level mutations -----------------------------------------------------------------------
def mutate_text(text: str, ch: Any) -> bytes:
    """A mutation of the serialized certificate ``text``, as the bytes of a file."""
    op = ch.choice(["dup-key", "deep", "huge-number", "unicode", "truncate", "delete-char", "insert-char",
                    "bad-utf8", "nan", "trailing", "bom", "escape", "float"])
    pos = ch.integer(0, len(text))
    if op == "dup-key":
        key = ch.choice(["count", "complete", "model", "bounds", "flow", "variables", "laws", "dim"])
        value = ch.choice(["9", "true", "false", "0", '{"name": "gradient"}', "[]", '{"lower": 0, "upper": 9}'])
        where = ch.choice([1, len(text) - 1])
        text = text[:where] + (f'"{key}": {value}, ' if where == 1 else f', "{key}": {value}') + text[where:]
    elif op == "deep":
        depth = ch.choice([63, 64, 65, 1000, 100_000])
        key = ch.choice(['"count"', '"laws"', '"meta"'])
        i = text.find(key + ": ")
        if i >= 0:
            j = i + len(key) + 2
            text = text[:j] + "[" * depth + "1" + "]" * depth + ", \"x\": " + text[j:]
    elif op == "huge-number":
        number = ch.choice(["1" * 5000, "9" * 4301, "1e999999", "-0", "18446744073709551616", "1" * 100])
        key = ch.choice(['"count": ', '"dim": ', '"prime": ', '"value": '])
        i = text.find(key)
        if i >= 0:
            j = i + len(key)
            k = j
            while k < len(text) and (text[k].isdigit() or text[k] == "-"):
                k += 1
            text = text[:j] + number + text[k:]
    elif op == "unicode":
        text = text[:pos] + ch.choice(["é", "\u202e", "١", "\x1b", "\ufeff", "𝟙", "\u0000"]) + text[pos:]
    elif op == "truncate":
        text = text[:pos]
    elif op == "delete-char":
        text = text[:pos] + text[pos + 1:]
    elif op == "insert-char":
        text = text[:pos] + ch.choice(list('{}[],:"\\0123456789-tfn ')) + text[pos:]
    elif op == "bad-utf8":
        data = text.encode()
        return data[:pos] + ch.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + data[pos:]
    elif op == "nan":
        i = text.find('"count": ')
        if i >= 0:
            j = i + len('"count": ')
            k = text.find(",", j)
            text = text[:j] + ch.choice(["NaN", "Infinity", "-Infinity", "1.0", "1e0", "true", "null"]) + text[k:]
    elif op == "trailing":
        text = text + ch.choice(["x", "{}", " ", "\n\n", "]", "\x00"])
    elif op == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    elif op == "escape":
        i = text.find('"variables": ["')
        if i >= 0:
            j = i + len('"variables": ["')
            text = text[:j] + ch.choice(["\\u001b[2K", "\\ud800", "\\u0000", "\\r", "\\u202e"]) + text[j:]
    else:  # a number written as a float
        i = text.find('"dim": ')
        if i >= 0:
            j = i + len('"dim": ')
            k = text.find(",", j)
            text = text[:j] + text[j:k] + ".0" + text[k:]
    return text.encode("utf-8", "surrogatepass")


# -- Hypothesis strategies -------------------------------------------------------------------
def mutated_certificates(
    bases: dict[str, dict], *, max_mutations: int = 3
) -> st.SearchStrategy[tuple[str, dict, list[str]]]:
    """``(base name, mutated copy, what was done)``: 1 to ``max_mutations`` mutations of one base.

    Other bases are the donors of :func:`splice`.
    """
    if not bases or max_mutations < 1:
        raise ValueError(f"bases={len(bases)} certificates, max_mutations={max_mutations}: need at least one of each")
    names = sorted(bases)

    @st.composite
    def strategy(draw: Any) -> tuple[str, dict, list[str]]:
        ch = DrawChooser(draw)
        name = ch.choice(names)
        cert = copy.deepcopy(bases[name])
        donors = [bases[k] for k in names if k != name]
        done = mutate(cert, ch, n=ch.integer(1, max_mutations), donors=donors)
        return name, cert, done

    return strategy()


def mutated_texts(bases: dict[str, str]) -> st.SearchStrategy[tuple[str, bytes]]:
    """``(base name, file bytes)``: one text-level mutation of a serialized base certificate."""
    names = sorted(bases)

    @st.composite
    def strategy(draw: Any) -> tuple[str, bytes]:
        ch = DrawChooser(draw)
        name = ch.choice(names)
        return name, mutate_text(bases[name], ch)

    return strategy()
