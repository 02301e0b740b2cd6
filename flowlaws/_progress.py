"""Progress on a terminal: one tqdm line on stderr with a heartbeat.

:class:`TerminalProgress` receives the ``progress(stage, done, total)`` callbacks
of :func:`flowlaws.analyze` and :func:`flowlaws.verify.check_certificate` and
shows them on one line of stderr, refreshed by a background thread every
``interval`` seconds, so that the elapsed time moves even while the engine
reports no new count (setup, a long bracket evaluation). Nothing is shown when
it is disabled, when stderr is not a terminal, or during the first ``delay``
seconds (quick runs stay silent). Only the heartbeat thread touches the bar.

:func:`heartbeat` keeps an existing tqdm bar's elapsed time moving during a
phase that has no step count (``bias-lab``'s gradient-flow solves).

This module does not decide *what* is reported; the callers do.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["TerminalProgress", "heartbeat"]

_WITH_TOTAL = "{desc}: {percentage:3.0f}%|{bar:24}| {n}/{total} [{elapsed}]"
_NO_TOTAL = "{desc} [{elapsed}]"


class TerminalProgress:
    """``progress(stage, done, total)`` shown as one refreshed line on ``stream`` (default stderr).

    Parameters
    ----------
    enabled : bool
        False: every call does nothing (``--quiet``, ``--json``).
    label : str
        Printed before the stage, e.g. ``"flowlaws analyze relu:3x3x3"``.
    stage : str
        Shown until the first callback.
    delay, interval : float
        Seconds before the line first appears, and between refreshes.
    stream : file, optional
        Must be a terminal (``isatty()``), else nothing is shown.

    Examples
    --------
    >>> import io
    >>> p = TerminalProgress(True, label="demo", stream=io.StringIO())  # not a terminal: silent
    >>> _ = p.start(); p("rank", 3, 10); p.close()
    >>> p.enabled
    False
    """

    def __init__(self, enabled: bool, *, label: str = "flowlaws", stage: str = "preparing",
                 delay: float = 0.5, interval: float = 0.25, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled and isatty is not None and isatty())
        self.label, self.stage = label, stage
        self.done: int | None = None
        self.total: int | None = None
        self.delay, self.interval = delay, interval
        self.t0 = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None

    def start(self) -> "TerminalProgress":
        """Start the heartbeat thread (a no-op when disabled)."""
        if self.enabled and self._thread is None:
            self.t0 = time.time()
            self._thread = threading.Thread(target=self._run, name="flowlaws-progress", daemon=True)
            self._thread.start()
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        from tqdm import tqdm

        while True:
            desc = f"{self.label}: {self.stage}"
            if self._bar is None:
                self._bar = tqdm(total=None, file=self.stream, leave=False, ncols=self._columns(), nrows=self._rows(),
                                 bar_format=_NO_TOTAL, mininterval=0)
                self._bar.start_t = self.t0  # elapsed since the command started
            bar = self._bar
            bar.desc = desc
            bar.ncols = self._columns()
            if self.total:
                bar.bar_format = _WITH_TOTAL
                bar.total, bar.n = self.total, min(self.done or 0, self.total)
            else:
                bar.bar_format = _NO_TOTAL
            bar.refresh()
            if self._stop.wait(self.interval):
                return

    def _size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return 0, 0
        return size.columns, size.lines

    def _columns(self) -> int:
        """The terminal's width; 80 when it reports none (a pseudo-terminal of size 0x0)."""
        return self._size()[0] or 80

    def _rows(self) -> int:
        """The terminal's height; 24 when it reports none (tqdm hides its line on a 0-row terminal)."""
        return self._size()[1] or 24

    def close(self) -> None:
        """Stop the heartbeat and clear the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "TerminalProgress":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def heartbeat(bar: Any, *, interval: float = 1.0) -> Iterator[None]:
    """Refresh the tqdm ``bar`` every ``interval`` seconds while the block runs.

    For a phase with no step count: the description names the phase and the
    elapsed time keeps moving. A disabled bar is left alone.

    Examples
    --------
    >>> from tqdm import tqdm
    >>> bar = tqdm(total=1, disable=True)
    >>> with heartbeat(bar):
    ...     pass
    """
    if getattr(bar, "disable", True):
        yield
        return
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            bar.refresh()

    thread = threading.Thread(target=run, name="flowlaws-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
