"""``load``: a certificate on disk back into a :class:`~flowlaws.Result`.

The file is read as JSON (never pickle or eval), re-checked by the
independent checker (``flowlaws.verify.check_certificate``) unless
``check=False``, and rebuilt into the model, flow and laws it proves.

What this module does not check when ``check=False``: anything. A result
loaded that way repeats the file's claims; keep the default for files you did
not write yourself.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from fractions import Fraction
from typing import Any, Sequence

from ._result import Result, law_from_poly, log_law_from_dict
from .engine.flow import Flow, check_flow
from .engine.metric import MatrixMetric
from .errors import CertificateError, FlowlawsError, InvalidArgument
from .models._model import Model
from .verify.checker._jsonlimits import MAX_JSON_DEPTH, json_too_deep
from .verify.checker._varnames import loads_strict

__all__ = ["load"]


def _terms(poly: list) -> tuple:
    """A certificate POLY as ``((exponents-by-index pairs), coefficient)`` pairs."""
    return tuple((tuple(sorted((int(v), int(e)) for v, e in mono)), int(c)) for c, mono in poly)


def _dense(poly: list, n: int) -> dict[tuple[int, ...], int]:
    out: dict[tuple[int, ...], int] = {}
    for pairs, c in _terms(poly):
        exps = [0] * n
        for v, e in pairs:
            exps[v] += e
        out[tuple(exps)] = out.get(tuple(exps), 0) + c
    return out


def _model(cert: dict, params: list[str], name: str) -> Model:
    spec = cert["model"]
    if spec["kind"] == "network":
        from .models import mlp

        model = mlp(spec["layers"], list(spec["activations"]) or "linear", bool(spec["bias"]))
        if len(params) != model.dim:
            raise ValueError(f"{len(params)} parameter names for a network with D={model.dim}")
        model.variables = tuple(params)  # the certificate's names (U, V for factorizations, torch names, …)
        model.name = name
        return model
    if spec["kind"] == "graph":  # a DAG of neurons (docs/certificate-format.md), parameters in the certificate's order
        from .algebra._graph_network import GraphNetwork

        kinds = tuple(str(node[0]) for node in spec["nodes"])
        acts = tuple(str(node[1]) if node[0] == "hidden" else None for node in spec["nodes"])
        edges = tuple((int(s), int(d), w, None) if isinstance(w, int) else (int(s), int(d), None, Fraction(w))
                      for s, d, w in spec["edges"])
        net = GraphNetwork(kinds, acts, edges, len(params))
        return Model(variables=tuple(params), kind="network", name=name, network=net)
    phi = [_dense(coord, len(params)) for coord in spec["phi"]]
    return Model(variables=tuple(params), kind="polynomials", name=name, phi=phi)


def describe_model(spec: Any, params: Sequence[str] = ()) -> str:
    """What a certificate's ``model`` object proves about, in words (never its ``meta``).

    A network is named like :func:`flowlaws.models.mlp` names it, or
    ``factorization:NxRxM`` when its parameters carry the factorization's names
    (which the checker binds to their positions).

    Examples
    --------
    >>> describe_model({"kind": "network", "layers": [3, 4, 3], "activations": ["relu"], "bias": False})
    'relu:3x4x3'
    >>> describe_model({"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]})
    'polynomials (1 coordinate)'
    """
    if not isinstance(spec, dict):
        return "unknown model"
    kind = spec.get("kind")
    if kind == "network":
        widths = [int(w) for w in spec["layers"]]
        acts = {str(a) for a in spec["activations"]}
        act = next(iter(acts)) if len(acts) == 1 else ("mixed" if acts else "linear")
        if len(widths) == 3 and act == "linear" and not spec.get("bias"):
            from .models import factorization

            m, r, n = widths
            if tuple(params) == factorization(n, r, m).variables:
                return f"factorization:{n}x{r}x{m}"
        return f"{act}{'+bias' if spec.get('bias') else ''}:{'x'.join(map(str, widths))}"
    if kind == "graph":
        nodes = spec.get("nodes")
        return f"graph ({len(nodes)} nodes)" if isinstance(nodes, list) else "graph"
    if kind == "polynomials":
        k = len(spec["phi"])
        return f"polynomials ({k} coordinate{'s' if k != 1 else ''})"
    return f"{str(kind)[:40]} model"


def _flow(spec: dict, model: Model) -> Flow:
    metric: Any = spec.get("metric", "euclidean")
    if isinstance(metric, dict):  # a user matrix M = P/q, as MatrixMetric stores it
        D = int(metric["size"])

        def terms(poly: list) -> tuple:
            return tuple(sorted(_dense(poly, D).items(), reverse=True))

        entries = tuple((int(i), int(j), terms(poly)) for i, j, poly in metric["entries"])
        metric = MatrixMetric(D, entries, terms(metric["denominator"]))
    tau = spec.get("tau")
    flow = check_flow(spec["name"], None if tau is None else Fraction(tau), metric, model=model)
    return replace(flow, weight_decay=Fraction(spec["weight_decay"])) if "weight_decay" in spec else flow


def load(path: str, *, check: bool = True) -> Result:
    """Read a certificate written by ``Result.save`` (or ``flowlaws analyze --certificate``).

    Parameters
    ----------
    path : str
        A JSON certificate (``docs/certificate-format.md``).
    check : bool
        Re-verify it with the independent checker first (default). With
        ``check=False`` the file's claims are taken as they are.

    Returns
    -------
    Result
        The model, flow, count, rank and laws the certificate proves; its
        ``certificate`` is the file's content and ``notes`` say where it came from.

    Raises
    ------
    InvalidArgument
        ``path`` is not a str or path-like.
    CertificateError
        The file is not JSON, nested deeper than ``MAX_JSON_DEPTH`` (64)
        brackets, not a certificate object, or (with ``check``) does not prove
        its claim; ``step`` says which part failed.

    Examples
    --------
    >>> import os, tempfile
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.mlp([3, 4, 3], activation="relu"))
    >>> path = os.path.join(tempfile.mkdtemp(), "relu.json")
    >>> res.save(path)
    >>> back = fl.load(path)
    >>> back.count, back.complete, str(back.laws[0]) == str(res.laws[0])
    (4, True, True)
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise InvalidArgument(
            f"path={path!r} (type={type(path).__name__}): expected a str or os.PathLike naming a certificate file"
        )
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        deep = json_too_deep(text, MAX_JSON_DEPTH)
        if deep is not None:
            raise CertificateError(
                f"{os.fspath(path)!r} nests more than {MAX_JSON_DEPTH} brackets (at offset {deep}); "
                "a certificate is never that deep: this is not a flowlaws certificate",
                step="schema",
            )
        cert = loads_strict(text)  # a repeated key ("count" twice) is refused, never last-one-wins
    except (OSError, ValueError) as err:
        raise CertificateError(f"cannot read a JSON certificate from {path!r}: {err}", step="schema") from err
    if not isinstance(cert, dict):
        raise CertificateError(f"{path!r} holds a JSON {type(cert).__name__}, not a certificate object", step="schema")
    notes = [f"loaded from {path}"]
    if check:
        from .verify import check_certificate

        check_certificate(cert)
        notes.append("certificate verified by the independent checker")
    try:
        names = [str(v) for v in cert["variables"]]
        dim = int(cert["dim"])
        flow_spec = cert["flow"]
        phase = flow_spec["name"] not in ("gradient", "sign", "adam")
        params = names[1 : (dim - 1) // 2 + 1] if phase else names
        meta = cert.get("meta") if isinstance(cert.get("meta"), dict) else {}
        name = describe_model(cert["model"], params)  # from the proved content: meta is information only
        claimed = meta.get("model_name")
        if claimed is not None and str(claimed) != name:
            notes.append(f"unverified metadata (not part of the proof): meta.model_name = {str(claimed)[:80]!r}")
        model = _model(cert, params, name)
        if flow_spec["name"] in ("sign", "adam"):  # laws near a point (flowlaws._sign)
            from ._sign import result_from_certificate

            return result_from_certificate(cert, model, notes)
        flow = _flow(flow_spec, model)
        model.metric = flow.metric  # the model carries the metric it was analysed with, as models.nmf does
        rate = flow.tau if (flow.name == "momentum" and flow.tau) else 0
        laws = [law_from_poly(dict(_terms(h)), tuple(names), rate) for h in cert["laws"]]
        nonpolynomial = [log_law_from_dict({"polynomial": dict(_terms(item["polynomial"])),
                                            "logs": [(c, dict(_terms(p))) for c, p in item["logs"]]}, tuple(names))
                         for item in cert.get("log_laws", [])]
        rank = int(cert["rank"]["value"])
        timings = {str(k): float(v) for k, v in cert.get("timings", {}).items()}
    except (KeyError, IndexError, TypeError, ValueError, FlowlawsError) as err:
        raise CertificateError(
            f"{path!r}: cannot rebuild a result from the certificate ({type(err).__name__}: {err}); "
            "check it with flowlaws check for the exact problem",
            step="schema",
        ) from err
    res = Result(model=model, flow=flow, dim=dim, rank=rank, laws=laws, certificate=cert, timings=timings,
                 notes=notes, interrupted=bool(meta.get("interrupted", False)), frobenius="frobenius" in cert,
                 nonpolynomial_laws=nonpolynomial)
    if isinstance(cert.get("weight_decay"), dict):  # gradient flow with weight decay: laws H(sθ) (flowlaws._weight_decay)
        from ._weight_decay import decayed_result

        res = replace(decayed_result(res, Fraction(cert["weight_decay"]["lambda"])), certificate=cert)
    return res
