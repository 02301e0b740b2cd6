"""Spec patterns, spec files and random architecture families."""

from __future__ import annotations

import pytest

from flowlaws.sweep.patterns import collect, expand_pattern, random_architectures, read_specs
from flowlaws.errors import InvalidArgument
from flowlaws.models import parse


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("relu:3x3x3", ["relu:3x3x3"]),
        ("relu:{2..4}x2", ["relu:2x2", "relu:3x2", "relu:4x2"]),
        ("relu:{4..2}x2", ["relu:4x2", "relu:3x2", "relu:2x2"]),
        ("relu:{2..8..3}x1", ["relu:2x1", "relu:5x1", "relu:8x1"]),
        ("linear:2x{2,4,8}x2", ["linear:2x2x2", "linear:2x4x2", "linear:2x8x2"]),
        ("relu:{2,5..6}x1", ["relu:2x1", "relu:5x1", "relu:6x1"]),
        ("{relu,linear+bias}:2x{1..2}", ["relu:2x1", "relu:2x2", "linear+bias:2x1", "linear+bias:2x2"]),
        ("relu:{2,2}x1", ["relu:2x1"]),  # duplicates dropped
        ("  relu:{ 2..3 }x1 ", ["relu:2x1", "relu:3x1"]),
    ],
)
def test_expand(pattern, expected):
    assert expand_pattern(pattern) == expected


def test_expand_product_order_and_size():
    specs = expand_pattern("relu:{2..4}x{2..5}x2")
    assert len(specs) == 12
    assert specs[:5] == ["relu:2x2x2", "relu:2x3x2", "relu:2x4x2", "relu:2x5x2", "relu:3x2x2"]
    assert all(parse(s).dim > 0 for s in specs)


@pytest.mark.parametrize(
    "pattern, match",
    [
        ("relu:{2..4x2", r"unbalanced '\{' at position 5"),
        ("relu:2..4}x2", r"unbalanced '\}' at position 9"),
        ("relu:{{2..3}}x2", "cannot be nested"),
        ("relu:{}x2", "empty brace group"),
        ("relu:{2,,3}x2", "empty item"),
        ("relu:{2..}x2", "must be integers like 2..5"),
        ("relu:{a..c}x2", "must be integers like 2..5"),
        ("relu:{2..6..0}x2", "step of at least 1"),
        ("relu:{abc}x2", "neither a range"),
        ("relu:{2..4}xq", "expands to 'relu:2xq'"),
        ("nosuchkind:{2..3}x2", "unknown kind"),
        ("relu:{1..1000}x{1..1000}", "over max_specs"),
        ("", "expected a spec pattern"),
        ("relu:2x2\nrelu:3x3", "no line breaks"),
    ],
)
def test_bad_patterns(pattern, match):
    with pytest.raises(InvalidArgument, match=match):
        expand_pattern(pattern)


def test_bad_pattern_type():
    with pytest.raises(InvalidArgument, match=r"pattern=3 \(type=int\)"):
        expand_pattern(3)  # type: ignore[arg-type]


def test_expand_without_validation():
    assert expand_pattern("whatever:{1..2}", validate=False) == ["whatever:1", "whatever:2"]


def test_spec_file(tmp_path):
    f = tmp_path / "specs.txt"
    f.write_text("# nets of the note\nrelu:2x{2,3}x1   # two ReLU nets\n\n  linear:2x2x2\nrelu:2x2x1\n")
    assert read_specs(f) == ["relu:2x2x1", "relu:2x3x1", "linear:2x2x2"]
    assert collect([f"@{f}", "sym:3x2"]) == ["relu:2x2x1", "relu:2x3x1", "linear:2x2x2", "sym:3x2"]
    assert collect(str(f)) == ["relu:2x2x1", "relu:2x3x1", "linear:2x2x2"]  # a file name without ':'


def test_spec_file_errors(tmp_path):
    f = tmp_path / "specs.txt"
    f.write_text("relu:2x2x1\nrelu:{2..x1\n")
    with pytest.raises(InvalidArgument, match=r"specs.txt:2: pattern 'relu:\{2..x1'"):
        read_specs(f)
    with pytest.raises(InvalidArgument, match="cannot read the spec file"):
        read_specs(tmp_path / "missing.txt")


def test_collect_rejects_clashing_model_names():
    a, b = parse("relu:2x2x1"), parse("relu:2x3x1")
    b.name = a.name
    with pytest.raises(InvalidArgument, match="two models are named 'relu:2x2x1'"):
        collect([a, b])
    with pytest.raises(InvalidArgument, match="expected a spec string or a flowlaws Model"):
        collect([3])
    with pytest.raises(InvalidArgument, match="empty"):
        collect([])


def test_random_architectures_are_seeded_unique_and_in_range():
    a = random_architectures("relu", 40, seed=7)
    assert a == random_architectures("relu", 40, seed=7)
    assert a != random_architectures("relu", 40, seed=8)
    assert len(set(a)) == 40
    for spec in a:
        widths = [int(w) for w in spec.split(":")[1].split("x")]
        assert 3 <= len(widths) <= 5 and all(2 <= w <= 5 for w in widths)
        parse(spec)
    # the same seed gives the same shapes for every kind (paired families)
    lin = random_architectures("linear", 40, seed=7)
    assert [s.split(":")[1] for s in lin] == [s.split(":")[1] for s in a]
    assert random_architectures("relu+bias", 1, depth=2, width=(3, 3)) == ["relu+bias:3x3"]


def test_random_architectures_errors():
    with pytest.raises(InvalidArgument, match="only 1 distinct architectures"):
        random_architectures("relu", 2, depth=2, width=(3, 3))
    assert random_architectures("relu", 3, depth=2, width=(3, 3), unique=False) == ["relu:3x3"] * 3
    with pytest.raises(InvalidArgument, match="random architectures are networks"):
        random_architectures("sym", 3)
    with pytest.raises(InvalidArgument, match=r"depth=\(1, 3\): need 2 <= low <= high"):
        random_architectures("relu", 3, depth=(1, 3))
    with pytest.raises(InvalidArgument, match=r"width=\(5, 2\)"):
        random_architectures("relu", 3, width=(5, 2))
    with pytest.raises(InvalidArgument, match=r"n=-1"):
        random_architectures("relu", -1)


def test_public_name_and_light_import():
    import subprocess
    import sys

    import flowlaws as fl

    assert "sweep" in fl.__all__ and callable(fl.sweep)
    code = "import flowlaws, sys; print(sorted(m for m in ('dask', 'distributed', 'matplotlib', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
