"""The independent certificate checker: re-derive a claim from a certificate's JSON.

This subpackage is the part of :mod:`flowlaws.verify` that proves things. It
imports the standard library, NumPy (lazily, for the fast route of networks)
and :mod:`flowlaws.errors`, and nothing else of flowlaws: not the engine
(:mod:`flowlaws.algebra`, :mod:`flowlaws.models`), not :mod:`flowlaws.laws`,
not the user tools beside it in :mod:`flowlaws.verify`
(``tests/verify/test_verify_imports.py`` parses its imports to keep it so).

Modules, in the order of the checker's steps:

* :mod:`._schema`: the JSON shape, the size :data:`LIMITS`, POLYs and words;
* :mod:`._model`: φ from the ``model`` object and the generators mod p;
* :mod:`._parsed`: the flow, the metric and the whole certificate, read;
* :mod:`._certificate`: :func:`check_certificate` (primes, generators, rank,
  laws, independence, conclusion) and :func:`read_certificate`;
* its arithmetic: :mod:`._polys` (polynomials over Z and Z/p), :mod:`._modp`
  (bracket words and ranks mod p), :mod:`._flows` (the phase-space fields of
  each flow), :mod:`._network` (path-lifting), and the fast route for networks
  :mod:`._network_eval`, :mod:`._rank_np`, :mod:`._local_laws`;
* ``"graph"`` models (any DAG of neurons): :mod:`._graph` (parsing, numbering,
  path-lifting), :mod:`._graph_eval` (words on jets over the DAG) and
  :mod:`._graph_laws` (the local check of laws for large graphs).

Examples
--------
>>> from flowlaws.verify.checker import check_certificate
>>> cert = {
...     "schema": "flowlaws-certificate/1", "dim": 2, "variables": ["x0", "x1"],
...     "model": {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]},
...     "flow": {"name": "gradient"}, "generators": {"kind": "coordinates"},
...     "rank": {"prime": 101, "point": [1, 2], "words": [0], "value": 1},
...     "laws": [[["1", [[0, 2]]], ["-1", [[1, 2]]]]],
...     "independence": {"prime": 101, "point": [1, 2], "value": 1},
...     "bounds": {"lower": 1, "upper": 1}, "count": 1, "complete": True,
... }
>>> check_certificate(cert)["proved"]
{'upper_bound': 1, 'lower_bound': 1, 'exact': True}
"""

from __future__ import annotations

from ._certificate import check_certificate, read_certificate
from ._model import Reparam, parse_model, path_budget_problem
from ._parsed import parse_flow, parse_metric
from ._schema import LIMITS, SCHEMA, parse_poly

__all__ = [
    "check_certificate",
    "read_certificate",
    "parse_flow",
    "parse_metric",
    "parse_model",
    "parse_poly",
    "path_budget_problem",
    "Reparam",
    "SCHEMA",
    "LIMITS",
]
