"""Progress on a terminal: the CLI under a pseudo-terminal shows a progress line on a run of a few
seconds, and nothing with ``--quiet`` (stdout is a pipe in both, as in ``flowlaws analyze ... | less``)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
SPEC = "relu:30x40x40x40x30"  # about 4 s; nearly all of it before the engine's first progress callback


def _start(*args: str) -> tuple[subprocess.Popen, int]:
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "flowlaws", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=ENV, cwd=ROOT)
    os.close(slave)
    return proc, master


def _finish(proc: subprocess.Popen, master: int, timeout: float = 90) -> tuple[bytes, bytes]:
    """(what reached the terminal, stdout) once the process has exited."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the slave side closed (Linux: EIO)
                break
            if not chunk:
                break
            seen.append(chunk)
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
        pytest.fail("flowlaws analyze did not finish")
    out = proc.stdout.read() if proc.stdout else b""
    proc.wait()
    os.close(master)
    return b"".join(seen), out


def test_progress_on_a_terminal_and_none_with_quiet() -> None:
    loud = _start("analyze", SPEC, "--rank-proof", "dense")  # the triangular route would take 0.1 s
    quiet = _start("analyze", SPEC, "--rank-proof", "dense", "--quiet")  # both at once: the test costs one run
    terminal, out = _finish(*loud)
    quiet_terminal, quiet_out = _finish(*quiet)
    assert loud[0].returncode == 0 and quiet[0].returncode == 0
    text = terminal.decode("utf-8", "replace")
    # the heartbeat line: the command, its stage and the elapsed time, refreshed in place
    assert f"flowlaws analyze {SPEC}:" in text, text[-500:]
    assert "[00:0" in text and text.count("\r") >= 3, text[-500:]
    assert quiet_terminal == b"", quiet_terminal[-300:]
    # the result itself goes to stdout, the same with or without progress
    assert b"certified exact" in out and out == quiet_out
