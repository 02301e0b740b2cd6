"""``flowlaws sweep`` through ``python -m flowlaws`` in a subprocess."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kills processes with SIGKILL")


def run(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "flowlaws", "sweep", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_sweep_table_certificates_expect_and_rerun(tmp_path):
    p = run("relu:2x{2,3}x1", "--random", "relu:2", "--depth", "3", "--width", "2..3", "--seed", "5",
            "--workers", "1", "--out", "rows.csv", "--expect", "relu", "--certificates", "certs", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = _rows(tmp_path / "rows.csv")
    assert list(rows[0])[:7] == ["spec", "flow", "dim", "count", "rank", "certified", "seconds"]
    specs = [r["spec"] for r in rows]
    assert len(specs) == len(set(specs)) >= 2 and {"relu:2x2x1", "relu:2x3x1"} <= set(specs)
    assert all(r["certified"] == "True" for r in rows)
    assert f"{len(rows)} rows ({len(rows)} computed, 0 already in the table)" in p.stdout
    assert f"expect sum(hidden): {len(rows)} of {len(rows)} rows match" in p.stdout
    assert (tmp_path / "rows.png").exists() and len(os.listdir(tmp_path / "certs")) == len(rows)
    check = subprocess.run([sys.executable, "-m", "flowlaws", "check", *sorted((tmp_path / "certs").iterdir())],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    # everything is in the table: nothing computed; a formula that disagrees gives exit status 1
    p = run("relu:2x{2,3}x1", "--out", "rows.csv", "--expect", "gradient=n1 + 1", "--no-plot", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "2 rows (0 computed, 2 already in the table)" in p.stdout
    assert "differs relu:2x2x1 [gradient]: count 2, expected 3" in p.stdout


def test_cli_without_out_prints_a_table(tmp_path):
    p = run("relu:2x2x1", "--workers", "1", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    header, line = p.stdout.splitlines()[:2]
    assert header.split()[:6] == ["spec", "flow", "dim", "count", "rank", "certified"]
    assert line.split()[:6] == ["relu:2x2x1", "gradient", "6", "2", "4", "True"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["relu:{2..x1"], "flowlaws: error: pattern 'relu:{2..x1': unbalanced '{' at position 5"),
        (["relu:{2..3}xq"], "flowlaws: error: pattern 'relu:{2..3}xq' expands to 'relu:2xq'"),
        (["relu:2x2", "--expect", "__import__('os').getcwd()"], "flowlaws: error: formula"),
        (["relu:2x2", "--flows", "gradient,rmsprop"], "flowlaws: error: flows: unknown flow 'rmsprop'"),
        (["--random", "relu"], "flowlaws: error: --random 'relu': expected KIND:N"),
        ([], "flowlaws: error: sweep: give at least one PATTERN"),
        (["@missing.txt"], "flowlaws: error: cannot read the spec file 'missing.txt'"),
    ],
)
def test_cli_user_errors_exit_2_with_one_line(args, message, tmp_path):
    p = run(*args, "--out", "rows.csv", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), p.stderr
    assert not (tmp_path / "rows.csv").exists()


def test_killed_sweep_loses_no_finished_row(tmp_path, dask_client):
    address = dask_client.scheduler.address
    # each task runs in its own process (a time limit), so the sweep lasts a few seconds
    args = ["relu:{2..3}x{2..4}x{1..2}", "--scheduler", address, "--out", "rows.csv", "--quiet", "--no-plot"]
    proc = subprocess.Popen([sys.executable, "-m", "flowlaws", "sweep", *args, "--time-limit", "60"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "rows.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 3:  # the header and two rows
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    done = {r["spec"] for r in _rows(out)}
    assert 2 <= len(done) < 12

    p = run(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    m = re.search(r"12 rows \((\d+) computed, (\d+) already in the table\)", p.stdout)
    assert m and int(m.group(2)) == len(done) and int(m.group(1)) == 12 - len(done), p.stdout
    rows = _rows(out)
    specs = [r["spec"] for r in rows]
    assert len(specs) == len(set(specs)) == 12
    assert all(r["certified"] == "True" and r["error"] == "" for r in rows)
