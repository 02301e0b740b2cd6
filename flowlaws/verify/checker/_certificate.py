"""The certificate checker: ``check_certificate`` and the JSON shape it accepts.

Implements ``docs/certificate-format.md`` (schema ``flowlaws-certificate/1``)
step by step, each failure raising :class:`~flowlaws.errors.CertificateError`
with ``step`` in ``schema``, ``prime``, ``generators``, ``rank``, ``laws``,
``independence``, ``conclusion``. Pure Python: no pickle, no eval, no engine;
NumPy, when installed, for the fast route of networks (words on jets, exact
rank mod p: :mod:`._network_eval`, :mod:`._rank_np`), whose laws are then
checked band by band (:mod:`._local_laws`) when the network has too many paths
to expand. ``"graph"`` models (a DAG of neurons) take the same routes with
:mod:`._graph_eval` and :mod:`._graph_laws`.

The shape is strict: a missing, unknown or mistyped field is refused (a
claim the checker would ignore must not ride along), integers must be JSON
integers (never floats or booleans) and every size is bounded (:data:`LIMITS`).

Flows (section "Other flows" of the format, :mod:`flowlaws.verify.checker._flows`):
gradient flow with the euclidean or the ``"nmf"`` metric or a user metric
matrix ``M = P/q`` (``{"kind": "matrix", ...}``, generators ``P∇φ_k``, the
rank point must not make ``q`` vanish mod the prime), momentum with a
rational ``tau`` (any of these metrics) and Nesterov. For momentum and Nesterov the
phase space is ``(s or t, θ, v)``, ``dim = 2D + 1``, word leaf ``0`` is the
drift ``χ_0`` and leaf ``k ≥ 1`` the lift of generator ``k − 1``.

What it does not check: the parameter names in ``variables`` (information
only; for momentum and Nesterov the time coordinate's name and the velocity
names ``name + "'"`` *are* checked) and the ``library`` and ``timings``
fields beyond their types.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._flows import FlowSpec, LiftedGenerators, MetricMatrix, drift_label, law_fields
from ._graph import Graph
from ._graph_eval import GraphWords, graph_route_problem
from ._graph_laws import graph_local_residual
from ._local_laws import LocalBudgetExceeded, drift_residual, local_residual, new_cache
from ._model import _Generators, network_of
from ._modp import Echelon, WordEvaluator, is_prime
from ._network_eval import NetworkWords, fast_route_problem, jet_work
from ._parsed import _parse, _Parsed
from ._polys import Poly, WorkLimitExceeded, inner, int_str
from ._rank_np import MAX_PRIME, numpy_problem, rank_mod_p_np, rank_of_sparse_rows
from ._schema import _U64, LIMITS, SCHEMA, _describe, _fail, _leaves
from ._triangular import check_triangular
from ._frobenius import check_frobenius, parse_frobenius
from ._log_laws import gradient_row, law_residue, parse_log_laws
from ._jsonlimits import MAX_JSON_DEPTH, object_too_deep
from ._varnames import loads_strict

__all__ = ["check_certificate", "read_certificate"]


_GRADIENT = FlowSpec("gradient")


def _check_prime(p: int, where: str) -> None:
    if p < 3:
        raise _fail(f"{where}={int_str(p)}: the prime must be at least 3", "prime")
    if p >= _U64:
        raise _fail(f"{where}={int_str(p)}: the checker accepts primes below 2**64 only; use a smaller prime", "prime")
    if not is_prime(p):
        raise _fail(f"{where}={p} is not prime; use a prime such as 2**61 - 1 = {2**61 - 1}", "prime")


def _law_str(h: Poly, names: list[str]) -> str:
    return h.to_str(names, max_terms=6)


def _fast_words_problem(c: _Parsed, p: int) -> str | None:
    """Why the words of ``c`` are not evaluated by the jet route of :mod:`._network_eval`, or ``None``."""
    net = network_of(c.model)
    if net is None:
        return "the model is not a network"
    if not isinstance(c.flow.metric, str):
        return "the flow has a custom metric"
    if c.params > LIMITS["fast_dim"]:
        return f"the network has {c.params} parameters, more than {LIMITS['fast_dim']}"
    if len(c.words) * c.dim > LIMITS["fast_entries"]:
        return f"{len(c.words)} words x dim {c.dim} exceed {LIMITS['fast_entries']} entries"
    if isinstance(net, Graph):
        return graph_route_problem(p) or numpy_problem()
    return fast_route_problem(net, p) or numpy_problem()


def _uses_local_laws(c: _Parsed) -> bool:
    """Whether the laws of ``c`` are checked band by band (:mod:`._local_laws`) instead of per coordinate."""
    net = network_of(c.model)
    return net is not None and isinstance(c.flow.metric, str) and net.path_count() > LIMITS["explicit_law_paths"]


def _rank_of_rows(rows: list[dict[int, int]], p: int, dim: int) -> int:
    """Rank mod ``p`` of sparse rows: NumPy elimination when available and large enough, else :class:`Echelon`."""
    # dense NumPy elimination only within LIMITS["dense_entries"]: beyond, the sparse Echelon (memory ~ nonzeros)
    if 40_000 < len(rows) * dim <= LIMITS["dense_entries"] and p < MAX_PRIME and numpy_problem() is None:
        return rank_of_sparse_rows(rows, p, dim)
    ech = Echelon(p, dim)
    for row in rows:
        ech.add(row)
    return ech.rank


def _check_laws_locally(
    c: _Parsed, names: list[str], by: str, progress: Callable[[str, int, int], None] | None
) -> None:
    """Step ``laws`` for a large network: ``⟨∇h, χ_0⟩ ≡ 0`` and the band condition of :mod:`._local_laws`
    (for a ``"graph"`` model the segment condition of :mod:`._graph_laws`)."""
    net = network_of(c.model)
    assert net is not None
    flow = c.flow
    cache = new_cache()
    for i, h in enumerate(c.laws):
        if flow.has_drift:
            r = drift_residual(flow, c.params, h)
            if r:
                raise _fail(
                    f"laws[{i}] = {_law_str(h, names)} is not conserved{by}: "
                    f"<grad h, {drift_label(flow)}> = {r.to_str(names, max_terms=4)} is not 0",
                    "laws",
                )
        graph = isinstance(net, Graph)
        try:
            if isinstance(net, Graph):
                why = graph_local_residual(net, flow, h, names)
            else:
                why = local_residual(net, flow, h, cache, names)
        except LocalBudgetExceeded as err:
            fix = "laws on fewer nodes" if graph else "laws on fewer consecutive layers"
            raise _fail(
                f"laws[{i}] = {_law_str(h, names)}: not proved: the network is too large to expand its paths and "
                f"{err}, too many for the local check; split the law into {fix}",
                "laws",
            ) from err
        if why:
            how = "segment by segment between the edges the law moves" if graph else "band by band"
            raise _fail(
                f"laws[{i}] = {_law_str(h, names)} is not proved conserved{by}: the network is checked {how} "
                f"(a sufficient condition, docs/certificate-format.md) and {why}",
                "laws",
            )
        if progress is not None:
            progress("laws", i + 1, len(c.laws))


def read_certificate(path: str) -> dict[str, Any]:
    """Read a certificate file as JSON (never pickle or eval), without checking it.

    Raises
    ------
    CertificateError
        Step ``schema``: the file cannot be read, is not JSON, or holds no JSON object.

    Examples
    --------
    >>> read_certificate("no/such/file.json")
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [schema] cannot read a JSON certificate from 'no/such/file.json': [Errno 2] No such file or directory: 'no/such/file.json'
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = loads_strict(fh.read())  # a repeated key is refused, never last-one-wins
    except (OSError, ValueError) as err:
        raise _fail(f"cannot read a JSON certificate from {path!r}: {err}") from err
    if not isinstance(data, dict):
        raise _fail(f"{path!r} holds a JSON {type(data).__name__}, not a certificate object")
    return data


def check_certificate(
    cert: Mapping[str, Any], *, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Check a certificate (``docs/certificate-format.md``) and report what it proves.

    Every step is re-derived from the JSON with the checker's own arithmetic:
    shape and sizes, primality, the generators (including a network's
    path-lifting), the rank of the bracket words at the point mod the prime,
    each law as an exact polynomial identity over Z, the independence of the
    laws, and the stated conclusion. Gradient flow (euclidean or ``"nmf"``
    metric), momentum (``tau``, either metric) and Nesterov are checked in
    their phase space (``docs/certificate-format.md``, "Other flows").

    Networks are checked without expanding their paths when NumPy is
    available: the words by forward-mode jets over the network's backward
    pass (:mod:`flowlaws.verify.checker._network_eval`) and an exact NumPy rank mod
    ``p`` (:mod:`flowlaws.verify.checker._rank_np`), the laws of a network with more
    than ``LIMITS["explicit_law_paths"]`` paths band by band
    (:mod:`flowlaws.verify.checker._local_laws`, a sufficient condition).

    Parameters
    ----------
    cert : dict
        The certificate, as loaded by ``json.load``.
    progress : callable, optional
        ``progress(stage, done, total)``, called while the words are
        evaluated (stage ``"rank"``) and the laws checked (stage ``"laws"``).

    Returns
    -------
    dict
        ``{"proved": {"upper_bound", "lower_bound", "exact"}, "flow", "count",
        "dim", "rank", "laws", "complete", "steps": [{"step", "detail"}, ...],
        "seconds": {step: float}, "routes": {"words", "laws"}}`` (``"flow"``
        is the certificate's flow object in canonical form; ``"routes"`` says
        whether the words were evaluated on jets or on the expanded paths,
        and whether the laws were checked by bands or per coordinate).

    Raises
    ------
    flowlaws.errors.CertificateError
        If the certificate is malformed or does not prove its claim; ``.step``
        names the failing step (``schema``, ``prime``, ``generators``,
        ``rank``, ``laws``, ``independence`` or ``conclusion``).

    See Also
    --------
    is_conserved : check one law against a model without a certificate.

    Examples
    --------
    φ = x0·x1 has one law, x0² − x1², and its generator has rank 1:

    >>> law = [["1", [[0, 2]]], ["-1", [[1, 2]]]]
    >>> cert = {
    ...     "schema": "flowlaws-certificate/1", "dim": 2, "variables": ["x0", "x1"],
    ...     "model": {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]},
    ...     "flow": {"name": "gradient"}, "generators": {"kind": "coordinates"},
    ...     "rank": {"prime": 101, "point": [1, 2], "words": [0], "value": 1},
    ...     "laws": [law],
    ...     "independence": {"prime": 101, "point": [1, 2], "value": 1},
    ...     "bounds": {"lower": 1, "upper": 1}, "count": 1, "complete": True,
    ... }
    >>> report = check_certificate(cert)
    >>> report["proved"], report["count"]
    ({'upper_bound': 1, 'lower_bound': 1, 'exact': True}, 1)

    A wrong claim names the failing step:

    >>> cert["rank"]["value"] = 2
    >>> check_certificate(cert)
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [rank] claimed 2, the 1 words have rank 1 mod 101 at the point
    """
    steps: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def done(step: str, detail: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now
        steps.append({"step": step, "detail": detail})

    if object_too_deep(cert, MAX_JSON_DEPTH):  # before anything walks it recursively
        raise _fail(f"the certificate nests lists/objects more than {MAX_JSON_DEPTH} deep; a certificate is never that deep")
    if isinstance(cert, Mapping) and isinstance(cert.get("flow"), Mapping) and cert["flow"].get("name") in ("sign", "adam"):
        from ._sign_flow import check_sign_certificate  # local laws near a point (docs/certificate-format.md)

        return check_sign_certificate(cert)
    if isinstance(cert, Mapping) and "weight_decay" in cert:  # a gradient-flow certificate, then the step
        from ._weight_decay import check_weight_decay

        return check_weight_decay(cert, check_certificate, progress=progress)
    if isinstance(cert, Mapping) and "rank_proof" in cert:  # "dense" (the words below) or "triangular"
        if cert["rank_proof"] == "triangular":
            return check_triangular(cert, progress=progress)
        if cert["rank_proof"] != "dense":
            raise _fail(f"rank_proof: {_describe(cert['rank_proof'])} is not 'dense' or 'triangular'")
        cert = {k: v for k, v in cert.items() if k != "rank_proof"}
    c = _parse(cert)
    log_laws = parse_log_laws(cert["log_laws"], c.dim) if "log_laws" in cert else []
    if len(c.laws) + len(log_laws) > c.dim:
        raise _fail(f"{len(c.laws)} laws and {len(log_laws)} log_laws are more than dim={c.dim} independent functions")
    frobenius = None
    if "frobenius" in cert:
        if len(c.words) != c.rank_value:
            raise _fail(f"a frobenius certificate needs rank.value = len(rank.words) (the words are Y_1..Y_r); got "
                        f"{int_str(c.rank_value)} and {len(c.words)}")
        frobenius = parse_frobenius(cert["frobenius"], c.dim, c.rank_value)
    done("schema", f"{SCHEMA}: {c.flow.describe()}, dim={c.dim}, {len(c.words)} words, {len(c.laws)} laws")

    _check_prime(c.rank_prime, "rank.prime")
    _check_prime(c.ind_prime, "independence.prime")
    done("prime", f"rank.prime={c.rank_prime} and independence.prime={c.ind_prime} are prime")

    names = c.names
    flow = c.flow
    p = c.rank_prime
    fast_words = c.generators["kind"] == "network-combinations" and _fast_words_problem(c, p) is None
    if fast_words:
        work = jet_work(c.words, c.dim, flow.has_drift) * (4 if isinstance(network_of(c.model), Graph) else 1)
        if work > LIMITS["jet_work"]:
            raise _fail(
                f"the {len(c.words)} words are not evaluated: they need about {work:.2g} units of jet work, more than "
                f"LIMITS['jet_work']={LIMITS['jet_work']:.0e} (a unit is ~10 ns; a word of depth d costs 4^d to 7^d): "
                "shallower words, or a larger limit, to try", "rank",
            )
    local_laws = _uses_local_laws(c)
    # the path budget bounds the explicit expansion, which the fast route avoids only for both words and laws
    gens = _Generators(c.model, c.generators, p, expand=not (fast_words and local_laws))
    offset = 1 if flow.has_drift else 0
    used: set[int] = set()
    for i, w in enumerate(c.words):
        leaves: set[int] = set()
        _leaves(w, leaves)
        for a in sorted(leaves - used):
            if a >= offset:
                gens.check_index(a - offset, f"rank.words[{i}]", offset)
        used |= leaves
    what = "generators" if not flow.has_drift else "lifted generators and chi_0"
    if local_laws:
        net = network_of(c.model)
        assert net is not None
        coords, fields = [], []
        done(
            "generators",
            f"{net.path_count()} paths of phi (not expanded: the words are evaluated on jets and the laws "
            f"checked {'segment by segment' if isinstance(net, Graph) else 'band by band'}), "
            f"{len(used)} distinct {what} used by the words",
        )
    else:
        coords = c.model.coordinate_gradients()
        fields = law_fields(flow, c.params, [(desc, grad) for desc, _phi, grad in coords])
        done("generators", f"{len(coords)} coordinates of phi, {len(used)} distinct {what} used by the words")

    point = [x % p for x in c.rank_point]
    if isinstance(flow.metric, MetricMatrix):
        theta = point[1 : c.params + 1] if flow.has_drift else point
        if not flow.metric.denominator.reduce(p).evaluate(theta):
            raise _fail(
                f"the metric's denominator q = {flow.metric.denominator.to_str(names[1:] if flow.has_drift else names, max_terms=4)} "
                f"vanishes mod {p} at rank.point: the generators q*M*grad phi say nothing about M there; "
                "pick a point where q != 0 mod p",
                "rank",
            )
    if fast_words:
        tick = (lambda d, t: progress("rank", d, t)) if progress is not None else None
        net = network_of(c.model)
        words_cls = GraphWords if isinstance(net, Graph) else NetworkWords
        values = words_cls(
            net, seed=c.generators["seed"], p=p, point=c.rank_point, flow=flow  # type: ignore[arg-type]
        ).values(c.words, progress=tick)
        rank = rank_mod_p_np(values, p) if len(c.words) else 0
    else:
        if flow.has_drift or flow.metric != "euclidean":
            lifted = LiftedGenerators(flow, c.params, p, gens.field, gens.value_at, gens.jvp_at)
            value, jvp = lifted.at(point)
            evaluator = WordEvaluator(lifted.field, point, p, value, jvp, max_work=LIMITS["bracket_work"])
        else:
            evaluator = WordEvaluator(gens.field, point, p, gens.value_at(point), gens.jvp_at(point),
                                      max_work=LIMITS["bracket_work"])
        rows = []
        for i, w in enumerate(c.words):
            try:
                rows.append(evaluator.value(w))
            except WorkLimitExceeded as err:
                raise _fail(
                    f"rank.words[{i}] is not evaluated: {err} (the checker's limit LIMITS['bracket_work'], "
                    "which bounds the time of a check; shallower words, or a larger limit, to try)", "rank",
                ) from None
            if progress is not None:
                progress("rank", i + 1, len(c.words))
        rank = _rank_of_rows(rows, p, c.dim)
    if rank != c.rank_value:
        raise _fail(
            f"claimed {int_str(c.rank_value)}, the {len(c.words)} words have rank {rank} mod {p} at the point",
            "rank",
        )
    done("rank", f"the {len(c.words)} words have rank {rank} mod {p} at the point")

    by = "" if flow == _GRADIENT else f" by the {flow.describe()}"
    if local_laws:
        _check_laws_locally(c, names, by, progress)
    for i, h in enumerate(c.laws if not local_laws else ()):
        gh = h.gradient()
        for _index, label, chi in fields:
            r = inner(gh, chi)
            if r:
                raise _fail(
                    f"laws[{i}] = {_law_str(h, names)} is not conserved{by}: "
                    f"<grad h, {label}> = {r.to_str(names, max_terms=4)} is not 0",
                    "laws",
                )
        if progress is not None:
            progress("laws", i + 1, len(c.laws))
    if local_laws:
        against = (
            ("segment by segment: <X, grad P> = 0 over Q for the segments P between the edges each law moves"
             if isinstance(network_of(c.model), Graph) else
             "band by band: <X, grad P> = 0 over Z for the band paths P of every law")
            + (", and <grad h, chi_0> = 0" if flow.has_drift else "")
        )
    elif flow == _GRADIENT:
        against = f"<grad h, grad phi_k> = 0 over Z for {len(coords)} coordinates"
    elif flow.has_drift:
        against = f"<grad h, chi> = 0 over Z for chi_0 and the lifts of {len(coords)} coordinate fields"
    else:
        against = f"<grad h, chi> = 0 over Z for {len(coords)} coordinate fields under the {flow.metric} metric"
    if log_laws:
        if local_laws:
            raise _fail("log_laws need the explicit generator fields, and this network is checked band by band "
                        f"(more than LIMITS['explicit_law_paths']={LIMITS['explicit_law_paths']} paths)", "laws")
        budget = [LIMITS["log_law_work"]]
        for i, law in enumerate(log_laws):
            for _index, label, chi in fields:
                try:
                    r = law_residue(law, chi, budget)
                except ValueError:
                    raise _fail(f"log_laws[{i}] is not checked: the identities need more than "
                                f"LIMITS['log_law_work']={LIMITS['log_law_work']} term products", "laws") from None
                if r is not None:
                    raise _fail(f"log_laws[{i}] = {law.to_str(names)} is not conserved{by}: the cleared pairing "
                                f"with {label} is {r.to_str(names, max_terms=4)}, not 0", "laws")
        against += f"; {len(log_laws)} rational/logarithmic laws: prod p_i <grad P0, chi> + sum c_i <grad p_i, chi> prod_(j!=i) p_j = 0"
    done("laws", f"{len(c.laws) + len(log_laws)} laws are conserved exactly ({against})")

    k = len(c.laws) + len(log_laws)
    if c.ind_value != k:
        raise _fail(f"independence.value={int_str(c.ind_value)} but there are {k} laws; the value must be "
                    "len(laws) + len(log_laws)", "independence")
    q = c.ind_prime
    ipoint = [x % q for x in c.ind_point]
    rows = [h.reduce(q).gradient_at(ipoint) for h in c.laws]
    for i, law in enumerate(log_laws):
        row = gradient_row(law, ipoint, q)
        if row is None:
            raise _fail(f"log_laws[{i}]: a logarithm's argument vanishes at independence.point mod {q}; "
                        "pick another point", "independence")
        rows.append(row)
    jac_rank = _rank_of_rows(rows, q, c.dim)
    if jac_rank != k:
        raise _fail(
            f"claimed {k} independent laws, their Jacobian has rank {jac_rank} mod {q} at the point; "
            "pick a generic point or drop dependent laws",
            "independence",
        )
    done("independence", f"the Jacobian of the {k} laws has rank {k} mod {q} at the point")

    upper = c.dim - c.rank_value
    lower = k
    if frobenius is not None:
        if c.generators["kind"] != "coordinates":
            raise _fail("a frobenius certificate needs generators of kind 'coordinates' (the word leaves are then the "
                        "coordinate fields the identities use)", "frobenius")
        if local_laws:
            raise _fail("a frobenius certificate needs the explicit generator fields, and this network is checked "
                        f"band by band (more than LIMITS['explicit_law_paths']={LIMITS['explicit_law_paths']} paths)",
                        "frobenius")
        done("frobenius", check_frobenius(frobenius, c.words, fields, names))
        lower = upper
    if c.lower != lower:
        raise _fail(f"bounds.lower={int_str(c.lower)} but the certificate proves {lower}"
                    + (" (Frobenius: dim - rank.value)" if frobenius is not None else f" laws"), "conclusion")
    if c.upper != upper:
        raise _fail(f"bounds.upper={int_str(c.upper)} but dim - rank.value = {c.dim} - {int_str(c.rank_value)} = {int_str(upper)}", "conclusion")
    if c.count != upper:
        raise _fail(f"count={int_str(c.count)} but must equal bounds.upper={int_str(upper)}", "conclusion")
    if k > upper:
        raise _fail(
            f"{k} independent laws exceed the upper bound {int_str(upper)}: the certificate is inconsistent", "conclusion"
        )
    if c.complete != (lower == upper):
        raise _fail(f"complete={str(c.complete).lower()} but lower={lower} and upper={int_str(upper)}", "conclusion")
    how = f" (exact: Frobenius, {k} explicit laws listed)" if frobenius is not None else (" (exact)" if k == upper else "")
    done("conclusion", f"{lower} <= count <= {upper}{how}")

    return {
        "proved": {"upper_bound": upper, "lower_bound": lower, "exact": lower == upper},
        "frobenius": frobenius is not None,
        "flow": flow.to_json(),
        "count": c.count,
        "dim": c.dim,
        "rank": c.rank_value,
        "laws": k,
        "complete": c.complete,
        "steps": steps,
        "seconds": seconds,
        "routes": {
            "words": "jets" if fast_words else "expanded",
            "laws": ("segments" if isinstance(network_of(c.model), Graph) else "bands") if local_laws else "coordinates",
        },
    }
