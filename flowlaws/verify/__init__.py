"""The independent checker: re-derive a claim about conservation laws.

This subpackage stands apart from the engine. It rebuilds the
reparametrization, the generators, the bracket words, the ranks and the
law identities from plain data with its own small, pure-Python arithmetic
(:mod:`flowlaws.verify._polys`, :mod:`flowlaws.verify._modp`), and imports
neither :mod:`flowlaws.algebra`, :mod:`flowlaws.models` nor python-flint: a bug
in the engine cannot pass its own check.

* :func:`check_certificate` checks a certificate
  (``docs/certificate-format.md``) and returns a report of what it proved.
* :func:`is_conserved` / :func:`assert_conserved` check one law exactly
  against a model's flow; the latter raises :class:`NotConserved` with a
  counterexample point.

What it does not check: that the certificate's ``variables`` names or
``library`` and ``timings`` fields are meaningful (information only), nor
anything about flows other than gradient flow (not supported yet).

Examples
--------
>>> from flowlaws.verify import check_certificate
>>> law = [["1", [[0, 2]]], ["-1", [[1, 2]]]]          # x0^2 - x1^2
>>> cert = {
...     "schema": "flowlaws-certificate/1", "dim": 2, "variables": ["x0", "x1"],
...     "model": {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]},
...     "flow": {"name": "gradient"}, "generators": {"kind": "coordinates"},
...     "rank": {"prime": 101, "point": [1, 2], "words": [0], "value": 1},
...     "laws": [law],
...     "independence": {"prime": 101, "point": [1, 2], "value": 1},
...     "bounds": {"lower": 1, "upper": 1}, "count": 1, "complete": True,
... }
>>> check_certificate(cert)["proved"]
{'upper_bound': 1, 'lower_bound': 1, 'exact': True}
"""

from __future__ import annotations

from ._certificate import check_certificate
from ._conserved import NotConserved, assert_conserved, is_conserved

__all__ = ["check_certificate", "is_conserved", "assert_conserved", "NotConserved"]
