"""Architecture sweeps: many (architecture, flow) analyses on Dask, one certified row each.

* :func:`sweep` runs :func:`flowlaws.analyze` and then the independent checker
  :func:`flowlaws.verify.check_certificate` on Dask workers (a ``LocalCluster``
  by default, any scheduler when given) and streams one row per
  ``(architecture, flow)`` to a CSV (or parquet) table as the tasks finish;
  a rerun with the same ``out`` skips the rows already there, and a finished
  sweep leaves the table sorted by spec and flow.
* :func:`expand_pattern` expands spec patterns such as ``relu:{2..4}x{2..5}x2``;
  :func:`read_specs` reads a file of specs; :func:`random_architectures` draws
  seeded random depth/width families like the papers' experiments.
* :func:`compile_formula` reads an ``--expect`` formula (``r*(r+1)//2``,
  ``sum(hidden)``) with a whitelist of arithmetic on the ``ast`` — never ``eval``.
* :func:`load_results` reads a table back; :func:`add_parser` registers the
  ``flowlaws sweep`` command.

Rows have the columns :data:`COLUMNS`: ``spec, flow, dim, count, rank,
certified, seconds`` (the CLI contract) then ``params, lower, upper,
check_seconds, error``. ``count`` is the proved upper bound ``dim - rank``;
``certified`` is true when the checker, run on the worker, proved the count
exact. A row the engine refused (a flow it does not support yet, a budget) or
a task over its limits is a row with ``error`` set (``"time limit"``,
``"memory limit"``, ``"worker died"``, ``"InvalidArgument: ..."``), not a crash.

Dask is the extra ``flowlaws[sweep]`` and the plot needs matplotlib
(``flowlaws[plots]``); neither is imported until a sweep runs.

The modules, one job each: :mod:`~flowlaws.sweep.patterns` (which
architectures), :mod:`~flowlaws.sweep.formulas` (expected counts),
:mod:`~flowlaws.sweep.tasks` (what runs on a worker),
:mod:`~flowlaws.sweep.runner` (the sweep on Dask), :mod:`~flowlaws.sweep.table`
(CSV and parquet tables), :mod:`~flowlaws.sweep.results`,
:mod:`~flowlaws.sweep.plot` and :mod:`~flowlaws.sweep.cli`.

``flowlaws.sweep``, the attribute of the package ``flowlaws``, is the function
:func:`sweep`, not this package: reach a module with ``from flowlaws.sweep import
table`` or ``from flowlaws.sweep.table import load_results`` (``import
flowlaws.sweep.table as table`` looks the module up on the function and fails).

What it does not check: that two sweeps do not append to the same table at the
same time (use one ``out`` per running sweep), that workers of a remote cluster
run the same flowlaws version, or anything about a spec's meaning beyond
:func:`flowlaws.models.parse`.

Examples
--------
>>> expand_pattern("relu:{2..3}x{2,4}x1")
['relu:2x2x1', 'relu:2x4x1', 'relu:3x2x1', 'relu:3x4x1']
>>> compile_formula("r*(r+1)//2")({"r": 3})
6
"""

from __future__ import annotations

from .cli import add_parser
from .formulas import KNOWN_FORMULAS, Formula, compile_formula
from .patterns import expand_pattern, random_architectures, read_specs
from .results import SweepResults
from .runner import SweepInterrupted, sweep
from .table import COLUMNS, load_results

__all__ = [
    "sweep",
    "SweepResults",
    "SweepInterrupted",
    "expand_pattern",
    "read_specs",
    "random_architectures",
    "compile_formula",
    "Formula",
    "load_results",
    "COLUMNS",
    "KNOWN_FORMULAS",
    "add_parser",
]
