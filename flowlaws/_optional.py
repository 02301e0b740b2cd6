"""Optional dependencies: import one lazily, or say which extra installs it.

The core install (``pip install flowlaws``) computes and checks laws; Dask
(``flowlaws[sweep]``) and matplotlib (``flowlaws[plots]``) are extras. Every
place that needs one of them imports it through :func:`require`, at the moment
it is needed, so ``import flowlaws`` never loads them and a missing extra is a
one-line :class:`MissingDependency` naming the command to install it.

What it does not check: the installed version of the module.

Examples
--------
>>> require("json", extra="sweep", what="a test").__name__
'json'
>>> require("no_such_module_xyz", extra="plots", what="drawing a model")
Traceback (most recent call last):
...
flowlaws._optional.MissingDependency: drawing a model needs matplotlib: pip install 'flowlaws[plots]' (no_such_module_xyz cannot be imported)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import FlowlawsError

__all__ = ["EXTRAS", "MissingDependency", "require"]

#: The extras of ``pyproject.toml`` and what each one installs.
EXTRAS = {"sweep": "Dask", "plots": "matplotlib", "torch": "PyTorch"}


class MissingDependency(FlowlawsError, ImportError):
    """An optional dependency is not installed (also an ``ImportError``).

    ``extra`` names the flowlaws extra that installs it (``"sweep"``, ``"plots"``).
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


def require(module: str, *, extra: str, what: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependency` naming ``flowlaws[extra]``.

    Parameters
    ----------
    module : str
        A dotted module name, e.g. ``"matplotlib.pyplot"``; its top-level package
        is imported first, so a package blocked or missing is reported even when
        one of its submodules was loaded before.
    extra : str
        The extra that installs it, a key of :data:`EXTRAS`.
    what : str
        What needs it, the subject of the message (``"flowlaws sweep"``).

    Raises
    ------
    MissingDependency
        ``module`` (or its top-level package) cannot be imported.
    """
    try:
        importlib.import_module(module.partition(".")[0])
        return importlib.import_module(module)
    except ImportError as err:
        package = EXTRAS.get(extra, module)
        raise MissingDependency(
            f"{what} needs {package}: pip install 'flowlaws[{extra}]' ({module} cannot be imported)", extra=extra
        ) from err
