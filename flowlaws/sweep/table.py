"""Sweep tables: one row per (architecture, flow), streamed to CSV (or parquet) as tasks finish.

A row is appended and flushed the moment its task finishes, so a killed sweep
loses no finished row (a line cut by the kill is dropped and recomputed); when
the sweep finishes, the table is rewritten sorted by :func:`row_order` (spec,
numbers in numeric order, then flow), one row per key. :func:`load_results`
reads a table back, typed.

What it does not check: that two sweeps do not append to the same table at the
same time (use one ``out`` per running sweep).

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "rows.csv")
>>> table = open_table(path)
>>> for spec in ("relu:2x10x1", "relu:2x2x1"):
...     table.append(empty_row(spec, "gradient"))
>>> table.finish(sort=True)
>>> [r["spec"] for r in load_results(path)]
['relu:2x2x1', 'relu:2x10x1']
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument

__all__ = ["COLUMNS", "empty_row", "row_order", "sorted_rows", "open_table", "load_results"]

#: Columns of a sweep table, in order (the first seven are the CLI contract).
COLUMNS = (
    "spec", "flow", "dim", "count", "rank", "certified", "seconds",
    "params", "lower", "upper", "check_seconds", "error",
)
_INT_COLUMNS = ("dim", "count", "rank", "params", "lower", "upper")
_FLOAT_COLUMNS = ("seconds", "check_seconds")


def empty_row(spec: str, flow: str, params: int | None = None) -> dict[str, Any]:
    """A row of :data:`COLUMNS` with nothing computed (``certified`` false).

    Examples
    --------
    >>> row = empty_row("relu:2x2x1", "gradient", params=6)
    >>> row["spec"], row["certified"], row["count"], row["params"]
    ('relu:2x2x1', False, None, 6)
    """
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(spec=spec, flow=flow, certified=False, params=params)
    return row


def row_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The sort key of a finished table: spec (numbers compared as numbers), then flow.

    Examples
    --------
    >>> rows = [{"spec": s, "flow": f} for s, f in
    ...         [("relu:2x10x1", "gradient"), ("relu:2x2x1", "momentum"), ("relu:2x2x1", "gradient")]]
    >>> [(r["spec"], r["flow"]) for r in sorted(rows, key=row_order)]
    [('relu:2x2x1', 'gradient'), ('relu:2x2x1', 'momentum'), ('relu:2x10x1', 'gradient')]
    """
    parts = re.split(r"(\d+)", str(row["spec"]))
    natural = tuple(int(p) if i % 2 else p for i, p in enumerate(parts))
    return natural, str(row["spec"]), str(row["flow"])


def sorted_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per ``(spec, flow)`` (the last one wins), sorted by :func:`row_order`."""
    latest = {(r["spec"], r["flow"]): dict(r) for r in rows}
    return sorted(latest.values(), key=row_order)


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    return value


def _coerce(raw: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for c in COLUMNS:
        v = raw.get(c)
        if isinstance(v, str):
            v = v.strip()
            if v == "":
                v = None
        if v is None:
            row[c] = False if c == "certified" else None
        elif c in _INT_COLUMNS:
            row[c] = int(v)
        elif c in _FLOAT_COLUMNS:
            row[c] = float(v)
        elif c == "certified":
            row[c] = v if isinstance(v, bool) else str(v).lower() in ("true", "1")
        else:
            row[c] = str(v)
    return row


class _CsvTable:
    """A CSV table that survives kills: complete lines only, one flushed line per row."""

    def __init__(self, path: Path, *, repair: bool = True) -> None:
        self.path = path
        self._fh: Any = None
        self._writer: Any = None
        self.appended = 0  # rows appended by this sweep
        self.rows = self._load(repair)

    def _load(self, repair: bool) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # a line cut by a kill: drop it, it is recomputed
            cut = data.rfind(b"\n") + 1
            if repair:
                with open(self.path, "r+b") as fh:
                    fh.truncate(cut)
            data = data[:cut]
        if not data.strip():
            return []
        reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
        header = tuple(reader.fieldnames or ())
        if header != COLUMNS:
            raise InvalidArgument(
                f"out={str(self.path)!r} exists with columns {list(header)[:6]}..., not a flowlaws sweep table "
                f"({', '.join(COLUMNS[:7])}, ...); choose another file"
            )
        try:
            return [_coerce(r) for r in reader]
        except (TypeError, ValueError) as err:
            raise InvalidArgument(f"out={str(self.path)!r}: a row is malformed ({err}); fix or move the file") from err

    def append(self, row: Mapping[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh, lineterminator="\n")
            if self._fh.tell() == 0:
                self._writer.writerow(COLUMNS)
        self._writer.writerow([_fmt(row.get(c)) for c in COLUMNS])
        self._fh.flush()
        self.appended += 1

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = [dict(r) for r in rows]
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COLUMNS)
            for row in rows:
                w.writerow([_fmt(row.get(c)) for c in COLUMNS])
        os.replace(tmp, self.path)
        self.rows = [dict(r) for r in rows]

    def finish(self, *, sort: bool = False) -> None:
        """Close the file; with ``sort``, rewrite it in :func:`row_order` when it is not already."""
        self.close()
        if sort and self.path.exists():
            rows = self._load(repair=True)
            ordered = sorted_rows(rows)
            if ordered != rows:
                self.rewrite(ordered)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _parquet_schema() -> Any:
    import pyarrow as pa

    types = {c: pa.int64() for c in _INT_COLUMNS}
    types.update({c: pa.float64() for c in _FLOAT_COLUMNS})
    types.update(spec=pa.string(), flow=pa.string(), error=pa.string(), certified=pa.bool_())
    return pa.schema([(c, types[c]) for c in COLUMNS])


class _ParquetTable:
    """Parquet output: rows stream to ``OUT.partial.csv`` and the parquet file is written at the end."""

    def __init__(self, path: Path, *, repair: bool = True) -> None:
        self.path = path
        self.journal = _CsvTable(path.with_name(path.name + ".partial.csv"), repair=repair)
        self.rows = self._load() + self.journal.rows

    @property
    def appended(self) -> int:
        return self.journal.appended

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path)
        except Exception as err:
            raise InvalidArgument(f"out={str(self.path)!r} is not a readable parquet file: {err}") from err
        if tuple(table.column_names) != COLUMNS:
            raise InvalidArgument(f"out={str(self.path)!r} has columns {table.column_names[:6]}..., not a flowlaws sweep table")
        return [_coerce(r) for r in table.to_pylist()]

    def append(self, row: Mapping[str, Any]) -> None:
        self.rows.append(dict(row))
        self.journal.append(row)

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows = [dict(r) for r in rows]
        self.journal.rewrite([])
        self.finish()

    def finish(self, *, sort: bool = True) -> None:
        """Write the parquet file (always sorted by :func:`row_order`) and drop the journal."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.journal.close()
        rows = sorted_rows(self.rows)
        table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=_parquet_schema())
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)
        if self.journal.path.exists():
            self.journal.path.unlink()

    def close(self) -> None:
        self.journal.close()


def open_table(out: str | os.PathLike[str], *, repair: bool = True) -> _CsvTable | _ParquetTable:
    """The table at ``out``: parquet when it ends in ``.parquet``, CSV otherwise.

    Its ``rows`` are the rows already there; ``append(row)`` streams one more,
    ``finish(sort=...)`` closes it. With ``repair``, a last line cut by a kill is
    removed from the file.

    Raises
    ------
    InvalidArgument
        ``out`` is a directory, not a sweep table, or parquet without pyarrow.
    """
    path = Path(out)
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError as err:
            raise InvalidArgument(
                f"out={str(out)!r}: writing parquet needs pyarrow, which cannot be imported ({err}); "
                "install it (pip install pyarrow) or write a .csv file"
            ) from err
        return _ParquetTable(path, repair=repair)
    if path.is_dir():
        raise InvalidArgument(f"out={str(out)!r} is a directory; give a file such as results.csv")
    return _CsvTable(path, repair=repair)


def load_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a sweep table (CSV, or parquet with pyarrow), typed; the last row per key wins.

    A last line cut by a killed sweep is ignored (the file is not modified).

    Raises
    ------
    InvalidArgument
        Not a sweep table, or parquet without pyarrow.
    """
    if not Path(path).exists():
        raise InvalidArgument(f"path={str(path)!r}: no such sweep table")
    table = open_table(path, repair=False)
    table.close()
    return list({(r["spec"], r["flow"]): r for r in table.rows}.values())
