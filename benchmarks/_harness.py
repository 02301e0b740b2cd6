"""Run benchmark cases in child processes with a time limit per case and per phase.

``run_cases(tool, cases, timeout=...)`` starts ``_worker.py`` (one child for
all the cases, or one per case with ``isolate=True`` so that each case's peak
RSS is its own), reads its ``@@`` progress lines and kills the child when a
phase overruns: the analysis gets ``timeout`` seconds, the certificate check
``check_timeout`` seconds. A killed or crashed case is reported as
``"timeout"``/``"error"`` and the remaining cases go to a fresh child. Nothing
here hangs, and nothing is hidden: every case gets a status.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_worker.py")
READY_TIMEOUT = 120.0
REPEAT_SLACK = 1.5  # the worker may repeat a case that took < 0.2 s for up to 1 s


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child's own session, started below
    except ProcessLookupError:
        pass
    proc.wait()


def _child(tool: str, cases: list[dict], check: bool):
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
        start_new_session=True, cwd=HERE,
    )
    proc.stdin.write(json.dumps({"tool": tool, "cases": cases, "check": check}).encode())
    proc.stdin.close()
    return proc, err


def _events(proc: subprocess.Popen, deadline_of):
    """Yield (event or None on timeout/EOF); ``deadline_of()`` gives the current deadline."""
    buf = b""
    fd = proc.stdout.fileno()
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"@@"):
                yield json.loads(line[2:])
        remaining = deadline_of() - time.monotonic()
        if remaining <= 0:
            yield {"event": "timeout"}
            return
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                yield {"event": "eof"}
                return
            buf += chunk


def run_cases(
    tool: str,
    cases: list[dict],
    *,
    timeout: float,
    check: bool = False,
    check_timeout: float | None = None,
    isolate: bool = False,
    ready_timeout: float = READY_TIMEOUT,
    info: dict | None = None,
) -> list[dict]:
    """Time ``tool`` ("flowlaws", "flint" or "sympy") on ``cases`` ({"spec", "flow", "tau"}).

    Returns one dict per case with ``status`` ("ok", "timeout", "error"),
    and when ok ``seconds``, ``runs``, ``dim``, ``count``, ``rank`` …; with
    ``check``: ``check_status`` ("ok", "failed", "timeout", "error") and
    ``check_seconds``; ``rss_mib`` is the child's peak RSS so far (the case's own
    peak with ``isolate=True``). ``info`` receives the versions the child reports.
    """
    check_timeout = timeout if check_timeout is None else check_timeout
    results: list[dict | None] = [None] * len(cases)
    todo = list(range(len(cases)))
    while todo:
        batch = todo[:1] if isolate else todo
        proc, err = _child(tool, [cases[i] for i in batch], check)
        state = {"deadline": time.monotonic() + ready_timeout, "phase": "ready", "i": None}
        current: dict = {}
        finished: set[int] = set()
        for ev in _events(proc, lambda: state["deadline"]):
            kind = ev["event"]
            now = time.monotonic()
            if kind == "ready":
                if info is not None:
                    info.update({k: v for k, v in ev.items() if k != "event"})
                state.update(deadline=now + 5.0, phase="between")
            elif kind == "start":
                state.update(i=batch[ev["i"]], phase="analyze", deadline=now + timeout + REPEAT_SLACK)
                current = {"status": "running"}
            elif kind == "analyzed":
                current = {k: v for k, v in ev.items() if k not in ("event", "i")}
                current["status"] = "timeout" if current["seconds"] > timeout else "ok"
                current["analyze_rss_mib"] = current.pop("rss_mib", None)
                if check:
                    current["check_status"] = "pending"
                state.update(phase="check", deadline=now + check_timeout + REPEAT_SLACK)
            elif kind == "checked":
                current.update({k: v for k, v in ev.items() if k not in ("event", "i")})
                if current["check_seconds"] > check_timeout:
                    current["check_status"] = "timeout"
                state.update(phase="between", deadline=now + 5.0)
            elif kind == "error":
                current = {"status": "error", "error": ev["error"], "rss_mib": ev.get("rss_mib")}
                results[batch[ev["i"]]] = current
                finished.add(batch[ev["i"]])
                state.update(phase="between", deadline=now + 5.0)
                if len(finished) == len(batch):
                    break
            elif kind == "done":
                current["rss_mib"] = ev["rss_mib"]
                results[batch[ev["i"]]] = current
                finished.add(batch[ev["i"]])
                state.update(phase="between", deadline=now + 5.0)
                if len(finished) == len(batch):
                    break
            elif kind in ("timeout", "eof"):
                i = state["i"]
                err.seek(0)
                tail = err.read()[-800:]
                if state["phase"] == "ready" or i is None or i in finished:
                    # the child died or hung outside a case: the next case is to blame
                    unfinished = [j for j in batch if j not in finished]
                    if not unfinished:
                        break
                    i = unfinished[0]
                    current = {"status": "error" if kind == "eof" else "timeout",
                               "error": f"child {kind} before the case started: {tail}"}
                elif state["phase"] == "analyze":
                    current = {"status": "timeout" if kind == "timeout" else "error",
                               **({"error": tail} if kind == "eof" else {})}
                elif state["phase"] == "check":
                    current["check_status"] = "timeout" if kind == "timeout" else "error"
                    if kind == "eof":
                        current["check_error"] = tail
                results[i] = current
                finished.add(i)
                break
        _kill(proc)
        err.close()
        todo = [i for i in todo if i not in finished]
    return [r if r is not None else {"status": "error", "error": "no result"} for r in results]


def describe(res: dict, timeout: float) -> str:
    """One-line summary of a case's result for the command-line scripts."""
    if res["status"] == "ok":
        return f"dim={res['dim']} count={res['count']} depth={res.get('depth')} {res['seconds']:.3f} s"
    if res["status"] == "timeout":
        return f"timeout after {timeout:g} s"
    return f"error: {res.get('error', '?').strip().splitlines()[-1] if res.get('error') else '?'}"
