"""Shared setup of the tests of flowlaws.verify's extras (strategies, drift, pytest plugin).

* pytest's ``pytester`` plugin, for the plugin tests. pytest refuses
  ``pytest_plugins = ["pytester"]`` in a conftest below the top level when the
  whole suite runs (this folder is not an initial conftest directory), so it
  is registered here at configure time instead. Like ``pytest_plugins`` it is
  then active for the rest of the session; it only adds fixtures
  (``pytester``, ``linecomp``) and options of its own.
* flowlaws' own plugin comes from its ``pytest11`` entry point. If flowlaws
  was installed before the entry point existed, it is loaded by name here so
  that its tests still run; ``test_the_entry_point_is_registered`` reports the
  packaging problem itself.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
    import _flowlaws_pytestplugin

    if not config.pluginmanager.is_registered(_flowlaws_pytestplugin):
        config.pluginmanager.register(_flowlaws_pytestplugin, "flowlaws")
