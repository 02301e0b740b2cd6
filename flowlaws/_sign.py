"""``analyze(model, flow="sign" | "adam")``: the :class:`Result` of :mod:`flowlaws.engine.sign_flow`.

The count is local: laws near the certificate's point (a seeded integer point),
the listed laws exact on the open cell the result names (``notes``); the
certificate (``docs/certificate-format.md``, "Sign-GD and Adam-type flows") is
re-checked by :func:`flowlaws.verify.check_certificate`.

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.factorization(1, 1, 1), flow="sign")
>>> res.count, res.complete, [str(law) for law in res.laws]
(1, True, ['V[0,0] + U[0,0]'])
>>> fl.analyze(fl.models.factorization(2, 1, 1), flow="sign").count
0
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ._result import Result
from .engine.certificate import SCHEMA
from .engine.flow import Flow
from .engine.sign_flow import MAX_DIM, sign_analysis
from .laws import Law
from .models._model import Model

__all__ = ["analyze_sign", "result_from_certificate"]


def analyze_sign(model: Model, flow: str, *, seed: int = 0, max_dim: int | None = None) -> Result:
    """Bounds on the laws of sign-GD (``flow="sign"``) or the Adam-type flow (``"adam"``) near a point."""
    from . import __version__

    out = sign_analysis(model, flow, seed=seed, max_dim=MAX_DIM if max_dim is None else min(max_dim, MAX_DIM))
    D = out.dim
    laws = [Law(tuple(sorted(((c, m) for m, c in h.items()), key=lambda t: t[1])), model.variables) for h in out.laws]
    lower, upper = len(laws), D - out.rank
    cert: dict[str, Any] = {
        "schema": SCHEMA,
        "library": {"name": "flowlaws", "version": __version__},
        "dim": D,
        "variables": list(model.variables),
        "model": model.to_json(),
        "flow": {"name": flow},
        "point": list(out.point),
        "directions": out.directions if flow == "sign" else out.moving,
        "rank": out.rank,
        "laws": out.law_json,
        "region": out.region,
        "bounds": {"lower": lower, "upper": upper},
        "count": upper,
        "complete": lower == upper,
        "meta": {"model_name": model.name, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    }
    notes = [f"local count: laws near the point {_short(out.point)}; the listed laws hold on {out.region}"]
    for law in out.law_json:  # σθ_a − εσθ_b is |θ_a| − |θ_b| when ε = sign(θ0_a θ0_b)
        a, b = law.get("a"), law.get("b")
        if law["kind"] == "parallel" and point_sign(out.point, a) * point_sign(out.point, b) == law["sign"]:
            names = model.variables
            notes.append(f"on the orthant of the point, {_linear(law['linear'], names)} = |{names[a]}| - |{names[b]}|")
    if lower < upper:
        notes.append(f"the count is between {lower} and {upper}: the sampled sign directions and the linear laws do not meet")
    return Result(model=model, flow=Flow(flow), dim=D, rank=out.rank, laws=laws, certificate=cert, notes=notes)


def result_from_certificate(cert: dict[str, Any], model: Model, notes: list[str]) -> Result:
    """The :class:`Result` of a sign-GD / Adam-type certificate (``flowlaws.load``)."""
    laws = [Law(tuple(sorted(((int(c), ((int(v), 1),)) for v, c in (law.get("linear") or [[law["a"], 1]])),
                             key=lambda t: t[1])), model.variables) for law in cert["laws"]]
    notes = [*notes, f"local count: laws near the point {_short(cert['point'])}; the listed laws hold on {cert['region']}"]
    return Result(model=model, flow=Flow(cert["flow"]["name"]), dim=int(cert["dim"]), rank=int(cert["rank"]), laws=laws,
                  certificate=cert, notes=notes)


def point_sign(point: list[int], j: int) -> int:
    return (point[j] > 0) - (point[j] < 0)


def _linear(terms: list[list[int]], names: tuple[str, ...]) -> str:
    text = " ".join(("- " if c < 0 else "+ ") + names[v] for v, c in terms)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _short(point: list[int]) -> str:
    text = ", ".join(str(v) for v in point[:8])
    return f"({text}{', …' if len(point) > 8 else ''})"
