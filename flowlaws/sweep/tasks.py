"""What runs on a Dask worker: one (architecture, flow) analysed, certified and made a row.

:func:`task` runs :func:`flowlaws.analyze` and then the independent checker
:func:`flowlaws.verify.check_certificate` (:func:`compute`) and returns the row
and its certificate. With a time or memory limit it runs them in a fresh,
supervised process that is killed past its limit, so the row says
``error="time limit"`` or ``"memory limit"`` instead of hanging the worker.

What it does not check: that a worker of a remote cluster runs the same
flowlaws version as the client.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from .._optional import require
from ..errors import CertificateError, FlowlawsError
from ..models import parse
from ..models._model import Model
from .patterns import key_of
from .table import empty_row

__all__ = ["compute", "task", "one_line"]


def one_line(err: BaseException) -> str:
    """``Type: first line of the message``, at most 400 characters (a row's ``error``).

    Examples
    --------
    >>> one_line(ValueError("bad value\\nmore"))
    'ValueError: bad value'
    """
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text[:400]


def compute(item: str | Model, flow: str, seed: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """analyze + check_certificate for one (architecture, flow): ``(row, certificate)``."""
    from .._analyze import analyze
    from ..verify import check_certificate

    row = empty_row(key_of(item), flow)
    try:
        model = item if isinstance(item, Model) else parse(item)
        row["params"] = model.dim
        t = time.perf_counter()
        res = analyze(model, flow=flow, seed=seed)
        row["seconds"] = round(time.perf_counter() - t, 4)
    except MemoryError:
        row["error"] = "memory limit"
        return row, None
    except FlowlawsError as err:
        row["error"] = one_line(err)
        return row, None
    lo, hi = res.bounds
    row.update(dim=res.dim, count=res.count, rank=res.rank, lower=lo, upper=hi)
    cert = json.loads(json.dumps(res.certificate))  # exactly what a file would hold
    t = time.perf_counter()
    try:
        report = check_certificate(cert)
        proved = report["proved"]
        row["certified"] = bool(
            proved["exact"] and proved["upper_bound"] == res.count and proved["lower_bound"] == lo
        )
    except CertificateError as err:
        row["error"] = f"certificate not proved: {one_line(err)}"
    except MemoryError:
        row["error"] = "memory limit"
    row["check_seconds"] = round(time.perf_counter() - t, 4)
    return row, cert


def task(item: str | Model, flow: str, seed: int, time_limit: float | None, memory_limit: int | None) -> dict[str, Any]:
    """The Dask task: a row and its certificate (limits: in a supervised child process)."""
    if time_limit is None and memory_limit is None:
        try:
            row, cert = compute(item, flow, seed)
        except MemoryError:
            row, cert = empty_row(key_of(item), flow), None
            row["error"] = "memory limit"
        except Exception as err:  # an engine bug must not stop the sweep: record it
            row, cert = empty_row(key_of(item), flow), None
            row["error"] = f"crashed: {one_line(err)}"
        return {"row": row, "certificate": cert}
    return _run_in_child(item, flow, seed, time_limit, memory_limit)


_STARTUP_TIMEOUT = 120.0
_POLL = 0.02


def _run_in_child(item: str | Model, flow: str, seed: int, time_limit: float | None, memory_limit: int | None) -> dict[str, Any]:
    """Run one task in a fresh process, killed past ``time_limit`` s or ``memory_limit`` bytes of RSS."""
    import pickle
    import subprocess

    cloudpickle = require("cloudpickle", extra="sweep", what="a sweep with time or memory limits")
    psutil = require("psutil", extra="sweep", what="a sweep with time or memory limits")

    payload = cloudpickle.dumps((item, flow, seed, memory_limit))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from flowlaws.sweep.tasks import _child_main; _child_main()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout, proc.stderr
    ready = threading.Event()
    chunks: dict[str, Any] = {"out": b"", "err": b"", "ready_at": None}

    def read_out() -> None:
        first = out.read(1)
        chunks["ready_at"] = time.monotonic()
        ready.set()
        if first:
            chunks["out"] = out.read()

    def read_err() -> None:
        chunks["err"] = err.read()[-4000:]

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for r in readers:
        r.start()
    started = time.monotonic()
    verdict = None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        now = time.monotonic()
        if ready.is_set():
            if time_limit is not None and now - chunks["ready_at"] > time_limit:
                verdict = "time limit"
        elif now - started > _STARTUP_TIMEOUT:
            verdict = f"crashed: the task process did not start in {_STARTUP_TIMEOUT:.0f} s"
        if verdict is None and memory_limit is not None:
            try:
                if ps.memory_info().rss > memory_limit:
                    verdict = "memory limit"
            except psutil.Error:
                pass
        if verdict is not None:
            proc.kill()
            break
        time.sleep(_POLL)
    proc.wait()
    for r in readers:
        r.join(timeout=10)
    if verdict is None and chunks["out"]:
        try:
            result = pickle.loads(chunks["out"])
            if isinstance(result, dict) and "row" in result:
                return result
        except Exception:  # a truncated answer: the process died while writing
            pass
    row = empty_row(key_of(item), flow)
    if verdict is None:
        died_by_signal = proc.returncode is not None and proc.returncode < 0
        if memory_limit is not None and died_by_signal:
            verdict = "memory limit"
        else:
            tail = chunks["err"].decode("utf-8", "replace").strip().splitlines()
            verdict = f"crashed: task process exited with status {proc.returncode}" + (f": {tail[-1][:300]}" if tail else "")
    row["error"] = verdict
    return {"row": row, "certificate": None}


def _child_main() -> None:  # pragma: no cover - runs in the task's own process
    """Entry point of a task process: pickled task on stdin, pickled result on stdout."""
    import pickle

    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the engine prints goes to stderr, not into the answer
    item, flow, seed, memory_limit = pickle.loads(sys.stdin.buffer.read())
    from .. import _analyze  # noqa: F401  (import before the clock starts)
    from .. import verify  # noqa: F401

    if memory_limit is not None:
        try:  # a hard backstop for allocations faster than the parent's polling
            import resource

            import psutil

            vms = psutil.Process().memory_info().vms
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = vms + 2 * memory_limit + (256 << 20)
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (ImportError, ValueError, OSError):
            pass
    channel.write(b"R")
    channel.flush()
    try:
        result = task(item, flow, seed, None, None)
    except MemoryError:
        row = empty_row(key_of(item), flow)
        row["error"] = "memory limit"
        result = {"row": row, "certificate": None}
    channel.write(pickle.dumps(result))
    channel.flush()
    channel.close()
    os._exit(0)


# ---------------------------------------------------------------------------------
