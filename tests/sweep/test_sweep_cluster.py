"""Sweeps on a real LocalCluster: streaming rows, killed workers, limits, reruns."""

from __future__ import annotations

import csv
import json
import os
import sys
import time

import pytest
from sweep_helpers import AlwaysDies, DiesOnce, Hungry, Sleeps

import flowlaws as fl
from flowlaws.sweep import COLUMNS, load_results
from flowlaws.sweep.tasks import compute
from flowlaws.errors import CertificateError, InvalidArgument

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kills processes with SIGKILL")


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _keys(rows):
    return [(r["spec"], r["flow"]) for r in rows]


def test_worker_killed_mid_sweep_loses_no_row_and_rerun_computes_nothing(tmp_path):
    marker = tmp_path / "killed-worker-pid"
    items = ["relu:2x{2..3}x1", "linear:2x{2,3}x2", DiesOnce("relu:3x3x1", marker), "relu:3x2x2"]
    out, certs = tmp_path / "rows.csv", tmp_path / "certs"
    res = fl.sweep(items, workers=2, out=out, certificates=certs, progress=False, expect="relu")

    # one worker really died while analysing its task
    assert marker.exists() and int(marker.read_text()) != os.getpid()
    expected = {(s, "gradient") for s in ("relu:2x2x1", "relu:2x3x1", "linear:2x2x2", "linear:2x3x2", "relu:3x3x1", "relu:3x2x2")}
    rows = _rows(out)
    assert tuple(rows[0]) == COLUMNS
    assert len(_keys(rows)) == len(set(_keys(rows))) == 6  # no duplicate
    assert set(_keys(rows)) == expected  # no lost row
    assert all(r["certified"] == "True" and r["error"] == "" for r in rows)
    assert res.computed == 6 and res.skipped == 0 and not res.errors
    assert [(r["spec"], r["flow"]) for r in res][:2] == [("relu:2x2x1", "gradient"), ("relu:2x3x1", "gradient")]
    # the certificates of every row, re-checked here from the files
    for spec, flow in expected:
        cert = json.loads((certs / f"{spec.replace(':', '_')}__{flow}.json").read_text())
        assert fl.verify.check_certificate(cert)["proved"]["exact"]
    # the ReLU rows follow the formula; the linear ones do not
    assert {r["spec"] for r in res.mismatches} == {"linear:2x2x2", "linear:2x3x2"}

    before = out.read_bytes()
    t = time.perf_counter()
    again = fl.sweep(items, workers=2, out=out, progress=False)
    assert again.computed == 0 and again.skipped == 6
    assert out.read_bytes() == before
    assert time.perf_counter() - t < 5  # no cluster was started
    assert [(r["spec"], r["count"]) for r in again] == [(r["spec"], r["count"]) for r in res]


def test_a_task_that_kills_every_worker_is_reported_after_one_retry(tmp_path):
    marker = tmp_path / "pids"
    res = fl.sweep([AlwaysDies("relu:2x2x1", marker)], workers=2, out=tmp_path / "rows.csv", progress=False)
    assert [r["error"] for r in res] == ["worker died"]
    assert len(marker.read_text().split()) == 2  # the first attempt and one retry, no more
    assert _rows(tmp_path / "rows.csv")[0]["error"] == "worker died"


def test_time_and_memory_limits_give_rows_not_hangs(dask_client, tmp_path):
    out = tmp_path / "rows.csv"
    items = [Sleeps("relu:2x2x1"), Hungry("relu:2x3x1"), "relu:2x2x2"]
    t = time.perf_counter()
    res = fl.sweep(items, scheduler=dask_client, out=out, time_limit=1.5, memory_limit="200MB", progress=False)
    assert time.perf_counter() - t < 30
    by_spec = {r["spec"]: r for r in res}
    assert by_spec["relu:2x2x1"]["error"] == "time limit"
    assert by_spec["relu:2x3x1"]["error"] == "memory limit"
    assert by_spec["relu:2x2x2"]["certified"] and by_spec["relu:2x2x2"]["error"] is None
    assert "2 with an error" in res.summary()
    # a rerun keeps the error rows; redo_errors recomputes them (once each, no duplicate)
    assert fl.sweep(items, scheduler=dask_client, out=out, progress=False).computed == 0
    redo = fl.sweep(items, scheduler=dask_client, out=out, time_limit=0.5, memory_limit="200MB",
                    progress=False, redo_errors=True)
    assert redo.computed == 2 and redo.skipped == 1
    keys = _keys(_rows(out))
    assert len(keys) == len(set(keys)) == 3


def test_flows_engine_refusals_expect_and_plot(dask_client, tmp_path):
    out = tmp_path / "flows.csv"
    res = fl.sweep(["relu:2x{2,3}x1", "linear:150x150"], flows="gradient,momentum", scheduler=dask_client,
                   out=out, expect=["gradient=sum(hidden)", "momentum=0"], progress=False, seed=3)
    assert [(r["spec"], r["flow"]) for r in res] == [
        ("relu:2x2x1", "gradient"), ("relu:2x2x1", "momentum"), ("relu:2x3x1", "gradient"),
        ("relu:2x3x1", "momentum"), ("linear:150x150", "gradient"), ("linear:150x150", "momentum"),
    ]
    for r in res[:4]:  # each flow must be analysed, or refused by the engine as a row
        local_error = None
        try:
            fl.analyze(fl.models.parse(r["spec"]), flow=r["flow"])
        except InvalidArgument as err:
            local_error = type(err).__name__
        if local_error is None:
            assert r["certified"] and r["error"] is None and r["expected"] == r["count"]
            assert r["dim"] == (r["params"] if r["flow"] == "gradient" else 2 * r["params"] + 1)
        else:
            assert r["error"].startswith(local_error) and not r["certified"]
    big = res[4]
    assert big["error"].startswith("BudgetExceeded") and big["params"] == 22500 and big["count"] is None
    assert res.mismatches == [] and res.checked == sum(1 for r in res if not r["error"])
    assert res.plot == str(out.with_suffix(".png")) and out.with_suffix(".png").stat().st_size > 1000
    loaded = {(r["spec"], r["flow"]): r for r in load_results(out)}
    assert all(loaded[(r["spec"], r["flow"])]["count"] == r["count"] for r in res)


def test_a_cut_last_line_is_recomputed(dask_client, tmp_path):
    out = tmp_path / "rows.csv"
    fl.sweep(["relu:2x{2..4}x1"], scheduler=dask_client, out=out, progress=False, plot=False)
    data = out.read_bytes()
    out.write_bytes(data[:-7])  # a sweep killed while writing its last row
    assert len(load_results(out)) == 2 and out.read_bytes() == data[:-7]  # reading does not modify
    res = fl.sweep(["relu:2x{2..4}x1"], scheduler=dask_client, out=out, progress=False, plot=False)
    assert (res.computed, res.skipped) == (1, 2)
    keys = _keys(_rows(out))
    assert len(keys) == len(set(keys)) == 3 and all(r["certified"] == "True" for r in _rows(out))


def test_parquet(dask_client, tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    out = tmp_path / "rows.parquet"
    res = fl.sweep("relu:2x{2,3}x1", scheduler=dask_client, out=out, progress=False)
    assert not (tmp_path / "rows.parquet.partial.csv").exists()
    assert {(r["spec"], r["count"], r["certified"]) for r in load_results(out)} == {
        ("relu:2x2x1", 2, True), ("relu:2x3x1", 3, True)}
    assert fl.sweep("relu:2x{2,3}x1", scheduler=dask_client, out=out, progress=False).computed == 0
    assert res.computed == 2


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(InvalidArgument, match="writing parquet needs pyarrow"):
        fl.sweep("relu:2x2x1", out=tmp_path / "rows.parquet", progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"flows": "gradient,rmsprop"}, "unknown flow 'rmsprop'"),
        ({"workers": 0}, "workers=0"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "applies to the local cluster"),
        ({"time_limit": -1}, "time_limit=-1"),
        ({"memory_limit": "lots"}, "memory_limit='lots'"),
        ({"seed": -2}, "seed=-2"),
        ({"expect": "r +"}, "not a valid expression"),
        ({"scheduler": 3}, "scheduler=3"),
    ],
)
def test_bad_options_fail_before_any_task(kwargs, match, tmp_path):
    with pytest.raises(InvalidArgument, match=match):
        fl.sweep("relu:2x2x1", out=tmp_path / "rows.csv", progress=False, **kwargs)
    assert not (tmp_path / "rows.csv").exists()


def test_foreign_table_is_refused(tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidArgument, match="not a flowlaws sweep table"):
        fl.sweep("relu:2x2x1", out=out, progress=False)


def test_unreachable_scheduler():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(InvalidArgument, match="cannot connect to the Dask scheduler at 'tcp://127.0.0.1:9'"):
            fl.sweep("relu:2x2x1", scheduler="tcp://127.0.0.1:9", progress=False)


def test_row_of_a_refused_flow_and_of_a_failed_check(monkeypatch):
    from flowlaws import verify
    from flowlaws.engine import problem as _problem

    real = _problem.check_flow

    def refuse_momentum(flow, *args, **kwargs):
        if flow == "momentum":
            raise InvalidArgument("flow='momentum' is not available in this version yet")
        return real(flow, *args, **kwargs)

    monkeypatch.setattr(_problem, "check_flow", refuse_momentum)
    row, cert = compute("relu:2x2x1", "momentum", 0)
    assert cert is None and row["error"] == "InvalidArgument: flow='momentum' is not available in this version yet"
    assert row["params"] == 6 and row["certified"] is False and row["count"] is None
    row, cert = compute("relu:2x2x1", "gradient", 0)
    assert row["certified"] and cert is not None and row["error"] is None

    def bad_check(cert):
        raise CertificateError("claimed 4, the words have rank 3", step="rank")

    monkeypatch.setattr(verify, "check_certificate", bad_check)
    row, cert = compute("relu:2x2x1", "gradient", 0)
    assert row["certified"] is False and row["count"] == 2
    assert row["error"] == "certificate not proved: CertificateError: [rank] claimed 4, the words have rank 3"


def test_sign_and_adam_flows_sweep_like_the_others(dask_client, tmp_path):
    """A sweep row under flow="sign"/"adam" holds what analyze gives and its certificate was re-checked;
    the per-flow expectation names the flow (UV^T with n = m = r = 1 keeps |u| - |v| under sign-GD)."""
    out = tmp_path / "sign.csv"
    res = fl.sweep(["linear:1x1x1", "linear:2x2x2"], flows="sign,adam", scheduler=dask_client, out=out,
                   expect=["sign=1 if D == 2 else 0", "adam=0"], progress=False, seed=5)
    assert [(r["spec"], r["flow"]) for r in res] == [
        ("linear:1x1x1", "sign"), ("linear:1x1x1", "adam"), ("linear:2x2x2", "sign"), ("linear:2x2x2", "adam"),
    ]
    for r in res:
        local = fl.analyze(fl.models.parse(r["spec"]), flow=r["flow"], seed=5)
        assert r["certified"] and r["error"] is None
        assert (r["count"], r["dim"], r["rank"]) == (local.count, local.dim, local.rank)
    assert res.mismatches == [] and res.checked == 4
