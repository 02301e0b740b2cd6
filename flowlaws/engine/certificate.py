"""Stage 4 of ``analyze``: the JSON certificate of what was proved.

Its format is ``docs/certificate-format.md``; :func:`flowlaws.verify.check_certificate`
re-verifies it with its own code. ``meta`` is information only: the checker
ignores it for the proof.

Examples
--------
>>> word_json((3,)), word_json((0, 1, 2))
(3, [0, [1, 2]])
"""

from __future__ import annotations

import gc
import json
from datetime import datetime, timezone
from typing import IO, Any

from .bounds import Bounds
from .family import generators_json, model_json
from .problem import Problem

__all__ = ["SCHEMA", "certificate", "word_json", "write_certificate"]

SCHEMA = "flowlaws-certificate/1"


def word_json(word: tuple[int, ...]) -> Any:
    """A right-nested word ``(a, b, c)`` as the certificate's ``[a, [b, c]]``."""
    return word[0] if len(word) == 1 else [word[0], word_json(word[1:])]


def poly_json(h: dict) -> list:
    """A sparse polynomial ``{monomial: coefficient}`` as the certificate's POLY."""
    return [[str(c), [[v, e] for v, e in mono]] for mono, c in sorted(h.items())]


def log_law_json(law: dict) -> dict[str, Any]:
    """A law ``P0 + Σ c log p`` as the certificate's ``{"polynomial": POLY, "logs": [["c", POLY], ...]}``."""
    return {"polynomial": poly_json(law["polynomial"]), "logs": [[str(c), poly_json(p)] for c, p in law["logs"]]}


def certificate(problem: Problem, bounds: Bounds, *, interrupted: bool = False) -> dict[str, Any]:
    """The certificate of ``bounds`` (laws, rank words) for ``problem``."""
    enabled = gc.isenabled()
    gc.disable()  # millions of small lists for a large network: the cyclic GC would rescan them all, 5-8x slower
    try:
        return _certificate(problem, bounds, interrupted)
    finally:
        if enabled:
            gc.enable()


def write_certificate(cert: Any, fh: IO[str], *, chunk: int = 4096) -> None:
    """Write ``cert`` as JSON to ``fh`` piece by piece: objects field by field and long lists in
    chunks of ``chunk`` entries, so the whole text is never held in memory (a 2M-parameter
    network's certificate is a few hundred MB of JSON).

    >>> import io
    >>> out = io.StringIO(); write_certificate({"a": [1, 2, 3], "b": {"c": "x"}}, out, chunk=2)
    >>> json.loads(out.getvalue())
    {'a': [1, 2, 3], 'b': {'c': 'x'}}
    """
    if isinstance(cert, dict):
        fh.write("{")
        for i, (key, value) in enumerate(cert.items()):
            fh.write(("," if i else "") + "\n" + json.dumps(key) + ": ")
            write_certificate(value, fh, chunk=chunk)
        fh.write("\n}")
    elif isinstance(cert, list) and len(cert) > chunk:
        fh.write("[")
        for start in range(0, len(cert), chunk):
            fh.write(("," if start else "") + json.dumps(cert[start : start + chunk])[1:-1])
        fh.write("]")
    else:
        fh.write(json.dumps(cert))


def _certificate(problem: Problem, bounds: Bounds, interrupted: bool) -> dict[str, Any]:
    from .. import __version__

    rank = bounds.rank
    hi = problem.dim - bounds.rank_value
    lo = hi if bounds.frobenius is not None else len(bounds.laws) + len(bounds.log_laws)
    cert = {
        "schema": SCHEMA,
        "library": {"name": "flowlaws", "version": __version__},
        "dim": problem.dim,
        "variables": list(problem.variables),
        "model": model_json(problem.model, problem.flow, explicit=bounds.explicit),
        "flow": problem.flow.to_json(),
        "generators": generators_json(problem.model, problem.flow, problem.seed, explicit=bounds.explicit),
        "rank": {
            "prime": problem.prime,
            "point": [int(v) for v in problem.point],
            "words": [word_json(w) for w in (rank.words if rank is not None else [])],
            "value": bounds.rank_value,
        },
        "laws": bounds.laws.to_json() if hasattr(bounds.laws, "to_json") else [poly_json(h) for h in bounds.laws],
        "independence": {"prime": problem.prime, "point": [int(v) for v in problem.law_point], "value": len(bounds.laws) + len(bounds.log_laws)},
        "bounds": {"lower": lo, "upper": hi},
        "count": hi,
        "complete": lo == hi,
        "timings": {k: round(v, 6) for k, v in bounds.seconds.items()},
        "meta": {
            "model_name": problem.model.name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "interrupted": interrupted,
        },
    }
    if bounds.rank_proof is not None:  # the structured route (engine/triangular.py)
        cert["rank_proof"] = "triangular"
        cert["generators"] = {"kind": "paths"}
        cert["triangular"] = bounds.rank_proof.to_json()
        cert["independence"]["pivots"] = [int(v) for v in (() if bounds.law_pivots is None else bounds.law_pivots)]
    if bounds.log_laws:
        cert["log_laws"] = [log_law_json(h) for h in bounds.log_laws]
    if bounds.frobenius is not None:
        cert["frobenius"] = bounds.frobenius
    return cert
