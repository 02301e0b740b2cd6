"""docs/certify-in-your-test-suite.md runs: its test file under pytest, its examples as doctests."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "certify-in-your-test-suite.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_example_test_file_passes(pytester):
    files = [b for b in _blocks("python") if b.startswith("# test_my_laws.py")]
    assert len(files) == 1
    pytester.makepyfile(test_my_laws=files[0])
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines_random(
        ["*test_balancedness_is_conserved PASSED*", "*test_certify_and_store PASSED*"]
    )


def test_the_examples_are_right():
    result = doctest.testfile(
        str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted >= 10 and result.failed == 0


def test_the_ini_example_is_the_plugins_option():
    ini = _blocks("ini")
    assert len(ini) == 1 and "flowlaws_certificates =" in ini[0]


@pytest.mark.parametrize("name", ["mlps", "given_model", "points", "assert_conserved", "--flowlaws-certify", "drift"])
def test_the_page_mentions(name):
    assert name in DOC.read_text(encoding="utf-8")
