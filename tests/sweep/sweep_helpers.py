"""Models that misbehave on the process that analyses them (never in the test process).

They are pickled by value (``cloudpickle.register_pickle_by_value``) so that Dask
workers and the sweep's task processes can rebuild them without this folder on
their path.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import cloudpickle

from flowlaws.models import Model, parse


class _Misbehaving(Model):
    """A network model that acts when ``dim`` is read in another process."""

    def __init__(self, spec: str, marker: str | os.PathLike[str] | None = None) -> None:
        base = parse(spec)
        super().__init__(variables=base.variables, kind=base.kind, name=spec, layers=base.layers,
                         activations=base.activations, bias=base.bias)
        self.home = os.getpid()
        self.marker = None if marker is None else str(marker)

    @property
    def dim(self) -> int:  # type: ignore[override]
        if os.getpid() != self.home:
            self.act()
        return len(self.variables)

    def act(self) -> None:
        raise NotImplementedError


class DiesOnce(_Misbehaving):
    """The first process that analyses it is killed (SIGKILL): a worker crash mid-sweep."""

    def act(self) -> None:
        if not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


class AlwaysDies(_Misbehaving):
    """Every process that analyses it is killed."""

    def act(self) -> None:
        with open(self.marker, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)


class Sleeps(_Misbehaving):
    """Takes a minute."""

    def act(self) -> None:
        time.sleep(60)


class Hungry(_Misbehaving):
    """Holds 400 MB for a minute."""

    def act(self) -> None:
        block = bytearray(400 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(60)


import sys  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])
