"""The sweep: many (architecture, flow) analyses on Dask, one certified row each.

:func:`sweep` runs :func:`flowlaws.sweep.tasks.task` for every ``(architecture,
flow)`` on Dask workers (a ``LocalCluster`` by default, any scheduler when
given) and streams one row each to a CSV (or parquet) table as the tasks
finish; a rerun with the same ``out`` skips the rows already there, and a
finished sweep leaves its table sorted by spec and flow. Ctrl-C raises
:class:`SweepInterrupted`, which says how many rows were saved and where.

Dask is the extra ``flowlaws[sweep]`` and the plot needs ``flowlaws[plots]``:
both are imported only when a sweep runs, and a missing one is a
:class:`~flowlaws._optional.MissingDependency` naming the extra.

What it does not check: that two sweeps do not append to the same table at the
same time, or that the workers of a remote cluster run the same flowlaws version.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .._optional import require
from ..errors import InvalidArgument
from ..models import parse
from ..models._model import Model
from .formulas import expectations, formula_names
from .patterns import collect, key_of
from .plot import plot_counts
from .results import SweepResults
from .table import empty_row, open_table
from .tasks import one_line, task

__all__ = ["sweep", "SweepInterrupted"]


def _dask(module: str) -> ModuleType:
    return require(module, extra="sweep", what="flowlaws sweep")


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C (still a ``KeyboardInterrupt``): what was saved and how to resume.

    Attributes
    ----------
    out : str or None
        The table, or None when the sweep had no ``out`` (nothing was saved).
    written : int
        Rows appended to ``out`` by this run.
    computed : int
        Rows this run finished.
    done, total : int
        Rows of the sweep in ``out`` now, and rows the sweep asked for.

    Examples
    --------
    >>> err = SweepInterrupted(out="rows.csv", written=2, computed=2, done=3, total=6)
    >>> print(err)
    sweep interrupted: 2 rows written to rows.csv in this run (3 of the 6 rows are there); run the same sweep again to resume: the rows already there are skipped
    """

    def __init__(self, *, out: str | None, written: int, computed: int, done: int, total: int) -> None:
        self.out, self.written, self.computed, self.done, self.total = out, written, computed, done, total
        super().__init__(self.describe())

    def describe(self, *, again: str = "run the same sweep again", give_out: str = "out=FILE") -> str:
        """The message, in the words of the API (default) or of the command line."""
        if self.out is None:
            return (
                f"sweep interrupted after {self.computed} of {self.total} rows; nothing was saved: "
                f"give {give_out} to keep finished rows and resume"
            )
        return (
            f"sweep interrupted: {self.written} rows written to {self.out} in this run "
            f"({self.done} of the {self.total} rows are there); {again} to resume: the rows already there are skipped"
        )


def _cert_filename(spec: str, flow: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", spec)
    return f"{safe}__{flow}.json"


def _check_flows(flows: Any) -> list[str]:
    from ..engine.flow import ANALYZE_FLOWS as FLOWS

    if isinstance(flows, str):
        flows = [f for f in flows.split(",")]
    if not isinstance(flows, (list, tuple)) or not flows:
        raise InvalidArgument(f"flows={flows!r}: expected flow names such as ('gradient', 'momentum')")
    out: list[str] = []
    for f in flows:
        name = f.strip().lower() if isinstance(f, str) else f
        if name not in FLOWS:
            raise InvalidArgument(f"flows: unknown flow {f!r}; known flows: {', '.join(FLOWS)}")
        out.append(name)
    return list(dict.fromkeys(out))


def _check_limit(name: str, value: Any, *, unit: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and unit == "bytes":
        parse_bytes = _dask("dask.utils").parse_bytes

        try:
            value = parse_bytes(value)
        except (ValueError, TypeError) as err:
            raise InvalidArgument(f"{name}={value!r}: not a size; write bytes or e.g. '2GB'") from err
    if isinstance(value, str) and unit == "s":
        parse_timedelta = _dask("dask.utils").parse_timedelta

        try:
            value = parse_timedelta(value)
        except (ValueError, TypeError, KeyError) as err:
            raise InvalidArgument(f"{name}={value!r}: not a duration; write seconds or e.g. '5min'") from err
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected a positive number of {unit}")
    return int(value) if unit == "bytes" else float(value)


def _connect(scheduler: Any, workers: int | None) -> tuple[Any, Any, bool]:
    """``(client, cluster we started or None, whether we close the client)``."""
    import logging

    dask = _dask("dask")
    Client, LocalCluster = _dask("distributed").Client, _dask("distributed").LocalCluster

    if scheduler is None:
        try:
            with dask.config.set({
                "distributed.scheduler.allowed-failures": 1,  # a task whose worker dies is retried once
                "distributed.scheduler.worker-saturation": 1.0,
            }):
                cluster = LocalCluster(
                    n_workers=workers or 2, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.ERROR,
                )
        except RuntimeError as err:
            raise InvalidArgument(
                f"could not start a local Dask cluster ({err}); when calling flowlaws.sweep from a script, "
                "put the call under `if __name__ == '__main__':`"
            ) from err
        return Client(cluster), cluster, True
    if isinstance(scheduler, Client):
        return scheduler, None, False
    if hasattr(scheduler, "scheduler_address"):
        return Client(scheduler), None, True
    if not isinstance(scheduler, str):
        raise InvalidArgument(
            f"scheduler={scheduler!r} (type={type(scheduler).__name__}): expected an address such as "
            "'tcp://10.0.0.1:8786', a distributed.Client or a cluster object"
        )
    try:  # the connect timeout is Dask's: distributed.comm.timeouts.connect
        return Client(scheduler), None, True
    except (OSError, TimeoutError, ValueError) as err:
        raise InvalidArgument(
            f"cannot connect to the Dask scheduler at {scheduler!r}: {one_line(err)}; start one with "
            "`dask scheduler` (and `dask worker ADDRESS`) or leave the scheduler out to run locally"
        ) from err


def _killed_reason(client: Any, err: BaseException) -> str:
    address = getattr(getattr(err, "last_worker", None), "address", None)
    try:
        events = client.get_events("worker-restart-memory")
    except Exception:
        events = ()
    for _, msg in events or ():
        if isinstance(msg, Mapping) and msg.get("worker") == address:
            return "memory limit"
    return "worker died"


def sweep(
    models_or_specs: str | Model | Iterable[str | Model],
    *,
    flows: str | Sequence[str] = ("gradient",),
    scheduler: Any = None,
    workers: int | None = None,
    out: str | os.PathLike[str] | None = None,
    expect: str | Callable[[Mapping[str, Any]], Any] | Mapping[str, Any] | Sequence[str] | None = None,
    time_limit: float | str | None = None,
    memory_limit: int | str | None = None,
    seed: int = 0,
    progress: bool = True,
    certificates: str | os.PathLike[str] | None = None,
    plot: bool = True,
    redo_errors: bool = False,
) -> SweepResults:
    """Analyse and certify many architectures under several flows, on Dask.

    Each ``(architecture, flow)`` is one Dask task that runs
    :func:`flowlaws.analyze` and then the independent checker
    :func:`flowlaws.verify.check_certificate` on the worker and returns its row
    and certificate. Rows are appended (and flushed) to ``out`` as tasks finish,
    so a killed worker or a killed sweep loses no finished row, and a rerun
    with the same ``out`` computes only the missing rows. When the sweep
    finishes, ``out`` is rewritten sorted by spec (numbers in numeric order)
    and flow, one row per key.

    Parameters
    ----------
    models_or_specs : str, Model or iterable of them
        Spec patterns (``"relu:{2..4}x{2..5}x2"``, see :func:`expand_pattern`),
        ``"@FILE"`` (or a file name without ``:``) of specs, one per line,
        or :class:`~flowlaws.models.Model` objects (keyed by ``.name``).
    flows : str or sequence of str
        ``"gradient"``, ``"momentum"``, ``"nesterov"`` or a comma-separated string.
        A flow the engine refuses gives rows with ``error`` set.
    scheduler : str, distributed.Client or cluster, optional
        Where to run; by default a ``LocalCluster`` of processes with one thread
        each, closed at the end (a task whose worker dies is retried once).
    workers : int, optional
        Workers of the local cluster (default 2); not with ``scheduler``.
    out : path, optional
        The table: CSV, or parquet when it ends in ``.parquet`` (needs pyarrow;
        rows stream to ``OUT.partial.csv`` until the parquet file is written).
    expect : str, callable, dict or list of str, optional
        The expected count per row: a formula for :func:`compile_formula`
        (e.g. ``"r*(r+1)//2"``, ``"sum(hidden)"``, ``"linear"``) or a callable of
        the row's names, for every flow; or per flow, ``{"gradient": "sum(hidden)",
        "momentum": "0"}`` or ``["gradient=sum(hidden)", "momentum=0"]``.
        Rows that differ are in ``.mismatches``.
    time_limit : float or str, optional
        Wall seconds per task (analysis and check). With a time or memory limit
        every task runs in its own supervised process (about 0.5 s more per task)
        and is killed past its limit: its row says ``error="time limit"`` or
        ``"memory limit"``; it is not retried.
    memory_limit : int or str, optional
        Resident memory of a task's process in bytes (or ``"2GB"``), the
        interpreter's ~40 MB included.
    seed : int
        Seed of every analysis (points, primes' combinations).
    progress : bool
        Show a tqdm progress bar on stderr.
    certificates : path, optional
        Directory where each computed row's certificate is written as
        ``SPEC__FLOW.json`` (before its row, so a row in the table has its file).
    plot : bool
        Write a plot of count vs number of parameters, coloured by flow, next
        to ``out`` (``results.csv`` → ``results.png``).
    redo_errors : bool
        Recompute rows of ``out`` that have an ``error`` (their old rows are
        removed first); by default every row already present is kept.

    Returns
    -------
    SweepResults
        A list of row dicts (:data:`COLUMNS`, plus ``expected`` with ``expect``)
        in request order, with ``.computed``, ``.skipped``, ``.mismatches``,
        ``.errors``, ``.plot`` and ``.summary()``.

    Raises
    ------
    InvalidArgument
        Bad patterns, flows, limits, formula, output file, or no scheduler at
        ``scheduler``; all checked before any task starts.
    MissingDependency
        Dask is not installed (``pip install 'flowlaws[sweep]'``), or
        matplotlib for the plot (``flowlaws[plots]``, or ``plot=False``);
        checked before any task starts.
    SweepInterrupted
        Ctrl-C (a ``KeyboardInterrupt``): the rows finished so far are in
        ``out``; the exception says how many and how to resume.

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.sweep("relu:2x{2,3}x1", flows="gradient,momentum", out="sweep.csv",
    ...                expect="sum(hidden)", progress=False)          # doctest: +SKIP
    >>> [(r["spec"], r["flow"], r["count"], r["certified"]) for r in res]   # doctest: +SKIP
    [('relu:2x2x1', 'gradient', 2, True), ('relu:2x2x1', 'momentum', None, False),
     ('relu:2x3x1', 'gradient', 3, True), ('relu:2x3x1', 'momentum', None, False)]
    >>> res.mismatches                                                # doctest: +SKIP
    []
    """
    t_start = time.perf_counter()
    items = collect(models_or_specs)
    flow_names = _check_flows(flows)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} (type={type(seed).__name__}): expected a non-negative integer")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidArgument(f"workers={workers!r} (type={type(workers).__name__}): expected a positive integer")
    if workers is not None and scheduler is not None:
        raise InvalidArgument(f"workers={workers}: the number of workers applies to the local cluster; the cluster at scheduler= has its own")
    t_limit = _check_limit("time_limit", time_limit, unit="s")
    m_limit = _check_limit("memory_limit", memory_limit, unit="bytes")
    expected = expectations(expect, flow_names)
    cert_dir = Path(certificates) if certificates is not None else None
    if cert_dir is not None and cert_dir.exists() and not cert_dir.is_dir():
        raise InvalidArgument(f"certificates={str(certificates)!r} is a file; give a directory")
    models: dict[str, Model] = {}
    for x in items:
        models[key_of(x)] = x if isinstance(x, Model) else parse(x)
    _dask("distributed")
    if plot and out is not None:
        require("matplotlib.figure", extra="plots", what="the sweep's plot (plot=False or --no-plot skips it)")
    table = open_table(out) if out is not None else None
    if cert_dir is not None:
        cert_dir.mkdir(parents=True, exist_ok=True)
    wanted = [(key_of(x), x, f) for x in items for f in flow_names]
    existing: dict[tuple[str, str], dict[str, Any]] = {}
    todo: list[tuple[str, str | Model, str]] = []
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    finished = False
    try:
        existing = {(r["spec"], r["flow"]): r for r in table.rows} if table is not None else {}
        if redo_errors and table is not None and any(r.get("error") for r in existing.values()):
            existing = {k: r for k, r in existing.items() if not r.get("error")}
            table.rewrite(list(existing.values()))
        todo = [(k, x, f) for k, x, f in wanted if (k, f) not in existing]
        if todo:
            _run(todo, table, scheduler, workers, t_limit, m_limit, seed, progress, cert_dir, models, rows)
        finished = True
    except KeyboardInterrupt as err:
        raise SweepInterrupted(
            out=None if out is None else str(out), written=table.appended if table is not None else 0,
            computed=len(rows), done=len(wanted) - len(todo) + len(rows), total=len(wanted),
        ) from err
    finally:
        if table is not None:  # streamed in finishing order; sorted once the sweep is complete
            table.finish(sort=finished)
    results = SweepResults()
    for k, _x, f in wanted:
        row = dict(rows.get((k, f)) or existing[(k, f)])
        if not row.get("params") and k in models:
            row["params"] = models[k].dim
        results.append(row)
    results.computed = len(todo)
    results.skipped = len(wanted) - len(todo)
    results.out = str(out) if out is not None else None
    if expected:
        _compare(results, expected, models)
    if plot and out is not None:
        png = Path(out).with_suffix(".png")
        results.plot = plot_counts(results, png, f"flowlaws sweep: {len(results)} rows")
    results.seconds = time.perf_counter() - t_start
    return results


def _run(
    todo: list[tuple[str, str | Model, str]],
    table: Any,
    scheduler: Any,
    workers: int | None,
    time_limit: float | None,
    memory_limit: int | None,
    seed: int,
    progress: bool,
    cert_dir: Path | None,
    models: Mapping[str, Model],
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """Submit the tasks and stream their rows to ``table`` (and into ``rows``) as they finish."""
    import uuid

    from tqdm import tqdm

    as_completed = _dask("distributed").as_completed
    KilledWorker = _dask("distributed.scheduler").KilledWorker

    client, cluster, own_client = _connect(scheduler, workers)
    token = uuid.uuid4().hex[:8]
    try:
        meta: dict[Any, tuple[str, str]] = {}
        futures = []
        for i, (key, item, flow) in enumerate(todo):
            payload = item if isinstance(item, Model) else key
            fut = client.submit(task, payload, flow, seed, time_limit, memory_limit,
                                key=f"flowlaws-sweep-{token}-{i}", pure=False, retries=0)
            meta[fut.key] = (key, flow)
            futures.append(fut)
        bar = tqdm(total=len(todo), desc="sweep", unit="row", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        n_errors = 0
        try:
            done = as_completed(futures)
            del futures  # as_completed holds them; each is released once its row is written
            for fut in done:
                key, flow = meta[fut.key]
                cert = None
                try:
                    answer = fut.result()
                    row, cert = dict(answer["row"]), answer["certificate"]
                except KilledWorker as err:
                    row = empty_row(key, flow)
                    row["error"] = _killed_reason(client, err)
                except Exception as err:
                    row = empty_row(key, flow)
                    row["error"] = f"task failed: {one_line(err)}"
                fut.release()
                if row.get("params") is None:
                    row["params"] = models[key].dim
                if cert is not None and cert_dir is not None:
                    with open(cert_dir / _cert_filename(key, flow), "w", encoding="utf-8") as fh:
                        json.dump(cert, fh, indent=1)
                if table is not None:
                    table.append(row)
                rows[(key, flow)] = row
                n_errors += bool(row.get("error"))
                bar.update(1)
                if n_errors:
                    bar.set_postfix(errors=n_errors, refresh=False)
        finally:
            bar.close()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _compare(
    results: SweepResults,
    expected: Mapping[str, tuple[str, Callable[[Mapping[str, Any]], Any]]],
    models: Mapping[str, Model],
) -> None:
    """Set ``expected`` on each row with a count and record the rows that differ."""
    results.expect = "; ".join(f"{desc}" if flow == "*" else f"{flow}: {desc}" for flow, (desc, _f) in expected.items())
    for row in results:
        chosen = expected.get(row["flow"]) or expected.get("*")
        if row.get("error") or chosen is None:
            continue
        names = formula_names(row["spec"], params=row.get("params"), dim=row.get("dim"), model=models.get(row["spec"]))
        try:
            value = chosen[1](names)
        except (InvalidArgument, ArithmeticError, TypeError, ValueError, KeyError, IndexError) as err:
            results.mismatches.append({**row, "problem": str(err)})
            continue
        row["expected"] = value
        results.checked += 1
        if value != row["count"]:
            results.mismatches.append(row)
