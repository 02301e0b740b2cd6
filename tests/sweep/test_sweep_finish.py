"""How a sweep ends: a finished table is sorted by spec and flow; Ctrl-C says what was saved."""

from __future__ import annotations

import csv

import pytest

import flowlaws as fl
from flowlaws.cli import main
from flowlaws.sweep import COLUMNS, SweepInterrupted, load_results, runner
from flowlaws.sweep.table import empty_row, open_table, row_order
from flowlaws.sweep.tasks import compute


def _keys(path):
    with open(path, newline="") as fh:
        return [(r["spec"], r["flow"]) for r in csv.DictReader(fh)]


def _row(spec, flow="gradient", count=None):
    row = empty_row(spec, flow)
    row["count"] = count
    return row


# -- sorted at the end -------------------------------------------------------------
def test_rows_stream_in_finishing_order_and_finish_sorted(tmp_path):
    out = tmp_path / "rows.csv"
    table = open_table(out)
    for spec, flow in [("relu:2x10x1", "gradient"), ("relu:2x2x1", "momentum"), ("linear:3x3", "gradient"),
                       ("relu:2x2x1", "gradient")]:
        table.append(_row(spec, flow))
    table.close()
    streamed = _keys(out)
    assert streamed[0] == ("relu:2x10x1", "gradient")  # finishing order while it runs
    table.finish(sort=True)
    assert _keys(out) == [("linear:3x3", "gradient"), ("relu:2x2x1", "gradient"), ("relu:2x2x1", "momentum"),
                          ("relu:2x10x1", "gradient")]
    with open(out, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == COLUMNS


def test_finish_keeps_the_last_row_per_key_and_does_not_rewrite_a_sorted_table(tmp_path):
    out = tmp_path / "rows.csv"
    table = open_table(out)
    for spec, count in [("relu:2x3x1", 1), ("relu:2x2x1", 2), ("relu:2x3x1", 3)]:
        table.append(_row(spec, count=count))
    table.finish(sort=True)
    assert [(r["spec"], r["count"]) for r in load_results(out)] == [("relu:2x2x1", 2), ("relu:2x3x1", 3)]
    assert _keys(out) == [("relu:2x2x1", "gradient"), ("relu:2x3x1", "gradient")]
    before = out.stat().st_mtime_ns, out.read_bytes()
    open_table(out).finish(sort=True)
    assert (out.stat().st_mtime_ns, out.read_bytes()) == before


def test_unfinished_table_keeps_its_streaming_order(tmp_path):
    out = tmp_path / "rows.csv"
    table = open_table(out)
    for spec in ("relu:3x3x1", "relu:2x2x1"):
        table.append(_row(spec))
    table.finish(sort=False)
    assert [k[0] for k in _keys(out)] == ["relu:3x3x1", "relu:2x2x1"]


def test_row_order_compares_numbers_as_numbers_then_flow():
    keys = [("relu:2x10x1", "momentum"), ("relu:2x9x1", "nesterov"), ("relu:2x9x1", "gradient"), ("relu:10x2", "gradient")]
    rows = sorted(({"spec": s, "flow": f} for s, f in keys), key=row_order)
    assert [(r["spec"], r["flow"]) for r in rows] == [
        ("relu:2x9x1", "gradient"), ("relu:2x9x1", "nesterov"), ("relu:2x10x1", "momentum"), ("relu:10x2", "gradient")]


def test_a_finished_sweep_table_is_sorted_results_stay_in_request_order(dask_client, tmp_path):
    out = tmp_path / "rows.csv"
    res = fl.sweep("relu:2x{10,3,2}x1", flows="momentum,gradient", scheduler=dask_client, out=out,
                   progress=False, plot=False)
    assert [(r["spec"], r["flow"]) for r in res][:2] == [("relu:2x10x1", "momentum"), ("relu:2x10x1", "gradient")]
    assert _keys(out) == [(s, f) for s in ("relu:2x2x1", "relu:2x3x1", "relu:2x10x1") for f in ("gradient", "momentum")]


# -- interrupted -----------------------------------------------------------------------
def _interrupt_after(n):
    """A stand-in for runner._run: computes ``n`` rows here, appends them, then Ctrl-C."""

    def fake_run(todo, table, *args):
        rows = args[-1]
        for key, item, flow in todo[:n]:
            row, _cert = compute(item, flow, 0)
            if table is not None:
                table.append(row)
            rows[(key, flow)] = row
        raise KeyboardInterrupt

    return fake_run


def test_interrupted_sweep_says_what_was_written_and_rerun_resumes(dask_client, tmp_path, monkeypatch, capsys):
    args = ["sweep", "relu:2x{2..4}x1", "--out", "rows.csv", "--quiet", "--no-plot"]
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as m:
        m.setattr(runner, "_run", _interrupt_after(2))
        assert main(args) == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "flowlaws: sweep interrupted: 2 rows written to rows.csv in this run (2 of the 3 rows are there); "
        "rerun the same command to resume: the rows already there are skipped"
    ]
    assert _keys(tmp_path / "rows.csv") == [("relu:2x2x1", "gradient"), ("relu:2x3x1", "gradient")]

    assert main([*args, "--scheduler", dask_client.scheduler.address]) == 0
    assert "3 rows (1 computed, 2 already in the table)" in capsys.readouterr().out
    assert [r["spec"] for r in load_results(tmp_path / "rows.csv")] == ["relu:2x2x1", "relu:2x3x1", "relu:2x4x1"]


def test_interrupted_sweep_without_out_and_in_python(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "_run", _interrupt_after(1))
    assert main(["sweep", "relu:2x{2,3}x1", "--quiet"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "flowlaws: sweep interrupted after 1 of 2 rows; nothing was saved: give --out FILE to keep finished rows "
        "and resume"
    ]
    with pytest.raises(SweepInterrupted) as info:
        fl.sweep("relu:2x{2,3}x1", flows="gradient,momentum", out=tmp_path / "rows.csv", progress=False)
    err = info.value
    assert isinstance(err, KeyboardInterrupt)
    assert (err.written, err.computed, err.done, err.total) == (1, 1, 1, 4)
    assert str(err).startswith(f"sweep interrupted: 1 rows written to {tmp_path / 'rows.csv'} in this run")
    assert len(load_results(tmp_path / "rows.csv")) == 1


def test_interrupted_before_any_task(tmp_path, monkeypatch, capsys):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "open_table", stop)
    assert main(["sweep", "relu:2x2x1", "--out", str(tmp_path / "rows.csv"), "--quiet"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "flowlaws: sweep interrupted before any task started; nothing was written"]
    assert not (tmp_path / "rows.csv").exists()
