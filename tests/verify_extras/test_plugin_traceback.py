"""A false law in a user's test fails in a few lines: the test's own line, the counterexample and
the plugin's summary, without flowlaws' source (``__tracebackhide__`` on the path)."""

from __future__ import annotations

import importlib.metadata

import pytest

import flowlaws  # noqa: F401  - imported before pytester's sys.modules snapshot, so inner runs reuse it


def args() -> tuple[str, ...]:
    """Inner pytest arguments: the plugin from its entry point, or by name if it is not registered
    (as in test_plugin.py)."""
    registered = any(ep.group == "pytest11" and ep.value == "_flowlaws_pytestplugin"
                     for dist in importlib.metadata.distributions() for ep in dist.entry_points)
    return ("-p", "no:cacheprovider", *(() if registered else ("-p", "_flowlaws_pytestplugin")))


@pytest.mark.parametrize("call", [
    'fl.verify.assert_conserved(fl.models.parse("relu:2x2x1"), "W1[0,0]^2 - W2[0,0]^2")',
    'flowlaws.certify(fl.models.parse("relu:2x2x1"), "W1[0,0]^2 - W2[0,0]^2")',
])
def test_a_false_law_fails_briefly_with_its_counterexample(pytester, call):
    fixture = "flowlaws" if call.startswith("flowlaws.") else ""
    name = "test_via_certify" if fixture else "test_via_assert_conserved"  # one module name per inner run
    pytester.makepyfile(**{name: f"""
        import flowlaws as fl

        def test_false_law({fixture}):
            {call}
    """})
    result = pytester.runpytest(*args())
    result.assert_outcomes(failed=1)
    lines = result.outlines
    text = "\n".join(lines)
    assert len(lines) < 40, text
    assert "counterexample:  W1[0,1] = 1, W2[0,0] = 1" in text  # the plugin's summary
    assert f">       {call}" in text  # the failing line is the user's
    assert "flowlaws/verify/" not in text and "__tracebackhide__" not in text and "space, h, m" not in text
