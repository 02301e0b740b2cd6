"""Stage 1 of ``analyze``: the generator family whose brackets give the rank.

Two routes, chosen by :func:`uses_network_route`:

* **networks** under euclidean flows (gradient, momentum, Nesterov): seeded
  combinations ``∇F_a`` evaluated at points by forward/backward passes on
  jets; the path-lifting is never listed. Certified with
  ``{"kind": "network-combinations"}`` generators.
* everything else: the explicit python-flint fields of :mod:`flowlaws.engine.fields`,
  certified with ``{"kind": "coordinates"}``.

Examples
--------
>>> import flowlaws as fl
>>> m = fl.models.mlp([2, 2, 1], "relu")
>>> fam = generator_family(m, Flow("gradient"), prime=16777213, seed=0)
>>> type(fam).__name__, fam.dim, generators_json(m, Flow("gradient"), 0)
('DagGenerators', 6, {'kind': 'network-combinations', 'seed': 0})
"""

from __future__ import annotations

from typing import Any

from ..algebra._dag_fields import DagGenerators
from ..algebra._phase_fields import PhaseNetworkGenerators
from ..algebra._polynomial_fields import PolynomialGenerators
from ..models._model import Model
from .fields import dense_fields, explicit_fields, fields_homogeneous
from .flow import Flow, phase_drift

__all__ = ["uses_network_route", "triangular_route", "generator_family", "generators_json", "model_json",
           "TRIANGULAR_MIN_DIM"]

#: ``rank_proof="auto"`` takes the triangular route (``engine/triangular.py``) from this many parameters on.
TRIANGULAR_MIN_DIM = 2_000


def uses_network_route(model: Model, flow: Flow) -> bool:
    """True for networks (any DAG of neurons: mlp, from_graph, blocks, torch) under a
    euclidean flow: gradient, momentum or Nesterov.

    Such models are evaluated at points (seeded generator combinations, jets
    over the graph) and certified with ``{"kind": "network-combinations"}``
    generators; the path-lifting is never expanded (except by the fallback law
    search of momentum flows on small networks).
    """
    # a layered model answers without building its graph (millions of edges for a large mlp)
    return (model.kind == "network" and flow.metric == "euclidean"
            and (model.layers is not None or model.network is not None))


def triangular_route(model: Model, flow: Flow) -> bool:
    """True for a layered network (``models.mlp``) whose hidden activations are all ReLU or leaky
    ReLU, under plain gradient flow: its rank has a triangular proof (``engine/triangular.py``).

    Reads the layers only (the network's graph is not built).

    >>> import flowlaws as fl
    >>> triangular_route(fl.models.mlp([2, 3, 1], "relu"), Flow("gradient"))
    True
    >>> triangular_route(fl.models.mlp([2, 3, 1], "linear"), Flow("gradient"))
    False
    """
    return (model.kind == "network" and model.layers is not None and flow.name == "gradient"
            and flow.metric == "euclidean" and not getattr(flow, "weight_decay", 0)
            and all(a in ("relu", "leaky_relu") for a in model.activations))


def generator_family(model: Model, flow: Flow | None = None, *, prime: int, seed: int, explicit: bool = False):
    """The family whose brackets give the rank.

    ``DagGenerators`` (gradient flow) or ``PhaseNetworkGenerators``
    (momentum, Nesterov) for the network route, ``PolynomialGenerators``
    otherwise or when ``explicit`` (explicit python-flint fields of φ).
    """
    flow = flow or Flow("gradient")
    if uses_network_route(model, flow) and not explicit:
        if flow.phase:
            return PhaseNetworkGenerators(model.network, phase_drift(flow), seed=seed, prime=prime)
        return DagGenerators(model.network, seed=seed, prime=prime)
    fields = explicit_fields(model, flow)
    return PolynomialGenerators(dense_fields(fields, flow.dim(model.dim)), prime=prime, homogeneous=fields_homogeneous(fields))


def generators_json(model: Model, flow: Flow, seed: int, *, explicit: bool = False) -> dict[str, Any]:
    """The certificate's ``generators`` object for the route taken."""
    if uses_network_route(model, flow) and not explicit:
        return {"kind": "network-combinations", "seed": seed}
    return {"kind": "coordinates"}


def model_json(model: Model, flow: Flow, *, explicit: bool = False) -> dict[str, Any]:
    """The certificate's model: explicit-route certificates of networks list φ's coordinates."""
    if model.kind == "network" and (explicit or not uses_network_route(model, flow)):
        return {"kind": "polynomials", "phi": Model(variables=model.variables, kind="polynomials", name=model.name,
                                                   phi=model.phi_polynomials()).to_json()["phi"]}
    return model.to_json()
