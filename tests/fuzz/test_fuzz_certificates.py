"""Fuzzing the certificate checker (issue 15), quick profile: mutated certificates and files.

For twelve valid certificates written by ``flowlaws.analyze`` (``fuzz_oracle.BASES``:
networks under gradient, momentum and Nesterov flows, a factorization, polynomial
models, a graph-kind residual block, the NMF metric, a user matrix metric
whose certificate proves bounds only, rational laws (``log_laws``) and a count
proved by Frobenius identities), Hypothesis applies one to three
mutations (``fuzz_mutations.py``) to every field and asserts:

* the checker raises :class:`~flowlaws.errors.CertificateError` or accepts —
  nothing else (no traceback);
* every check ends within ``SECONDS``;
* an accepted certificate is also read back by ``flowlaws.load``;
* soundness: an accepted certificate claims what the original claimed, or
  claims that the engine (``flowlaws.analyze`` on the model and flow rebuilt
  from it, ``fuzz_oracle.truth``) confirms: ``lower <= count <= upper``, and a
  network's parameter names name their positions.

The same holds at the file level (serialized JSON with repeated keys, deep
nesting, huge numbers, Unicode, invalid UTF-8) through ``flowlaws.load`` and
``flowlaws check`` (exit status 0, 2 or 3, one line, no traceback).
The long profile (100,000 mutations) is ``benchmarks/fuzz_long.py``.
"""

from __future__ import annotations

import collections
import copy
import json
import random
import re
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowlaws as fl
from flowlaws.cli import main
from flowlaws.errors import CertificateError, FlowlawsError

from fuzz_mutations import MUTATORS, RandomChooser, mutate, mutated_certificates, mutated_texts, paths
from fuzz_oracle import BASES, _accepted, build_bases, dumps, judge

SECONDS = 10.0
STEPS = {"schema", "prime", "generators", "rank", "frobenius", "laws", "independence", "conclusion"}
QUICK = settings(max_examples=600, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@lru_cache(maxsize=None)
def _bases() -> dict[str, dict]:
    return build_bases()


@lru_cache(maxsize=None)
def _texts() -> dict[str, str]:
    return {name: json.dumps(cert) for name, cert in _bases().items()}


def _assert_sound(name: str, cert: object, done: list[str], cache: dict, load: bool = True) -> str:
    verdict = judge(_bases()[name], cert, truth_cache=cache, load=load)
    assert verdict["outcome"] != "unloadable", (name, done, verdict["detail"])
    assert verdict["outcome"] != "crash", (name, done, verdict["detail"])
    assert verdict["outcome"] != "false", (name, done, verdict["detail"])
    assert verdict["outcome"] != "undecided", (name, done, verdict["detail"])
    assert verdict["seconds"] < SECONDS, (name, done, verdict)
    if verdict["outcome"] == "rejected":
        assert verdict["step"] in STEPS and "\n" not in verdict["detail"], verdict
    return verdict["outcome"]


_CACHE: dict = {}


def test_every_base_certificate_is_accepted_as_it_is():
    assert set(_bases()) == set(BASES)
    for name, cert in _bases().items():
        assert judge(cert, copy.deepcopy(cert))["outcome"] == "same", name


@QUICK
@given(st.deferred(lambda: mutated_certificates(_bases(), max_mutations=3)))
def test_mutated_certificates_are_rejected_or_true(case):
    name, cert, done = case
    _assert_sound(name, cert, done, _CACHE)


@pytest.mark.parametrize("mutator", sorted(MUTATORS))
@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_mutator_on_every_base(mutator, data):
    name = data.draw(st.sampled_from(sorted(_bases())))
    cert = copy.deepcopy(_bases()[name])
    from fuzz_mutations import DrawChooser

    ch = DrawChooser(data.draw)
    donors = [c for k, c in _bases().items() if k != name]
    done = [MUTATORS[mutator](cert, ch, donors)]
    done += mutate(cert, ch, n=data.draw(st.integers(0, 1)), donors=donors)
    _assert_sound(name, cert, done, _CACHE)


def test_the_mutations_reach_every_field_and_every_checker_step():
    """A seeded run (the long profile's driver): every top-level field is changed, every step rejects
    something, and some mutants are accepted (with the same claims, and with other true claims)."""
    bases = _bases()
    ch = RandomChooser(random.Random(15))
    outcomes: collections.Counter = collections.Counter()
    touched: set[str] = set()
    cache: dict = {}
    for i in range(800):
        name = sorted(bases)[i % len(bases)]
        cert = copy.deepcopy(bases[name])
        done = mutate(cert, ch, n=ch.integer(1, 3), donors=[c for k, c in bases.items() if k != name])
        touched |= {k for k in bases[name] if k not in cert or dumps(cert[k]) != dumps(bases[name][k])}
        outcome = _assert_sound(name, cert, done, cache, load=False)
        verdict_step = judge(bases[name], cert)["step"] if outcome == "rejected" else outcome
        outcomes[verdict_step] += 1
    all_fields = {k for cert in bases.values() for k in cert}
    assert touched >= all_fields - {"library"} or touched == all_fields, sorted(all_fields - touched)
    assert STEPS <= set(outcomes), outcomes
    assert outcomes["same"] > 0 and outcomes["true"] > 0, outcomes


def _get(obj, path):
    for key in path:
        obj = obj[key]
    return obj


def test_paths_reach_every_leaf_of_a_certificate():
    cert = _bases()["linear:2x2x2 momentum"]
    found = paths(cert)
    leaves = [p for p in found if not isinstance(_get(cert, p), (dict, list))]
    assert ("flow", "tau") in found and ("rank", "words", 5, 1) in found and ("laws", 0, 0, 1, 0, 1) in found
    tokens = re.finditer(r'"(?:[^"\\]|\\.)*"(\s*:)?|-?\d+(?:\.\d+)?(?:e-?\d+)?|true|false|null', json.dumps(cert))
    scalars = [m for m in tokens if m.group(1) is None]  # keys (a string before ':') aside
    assert len(leaves) == len(scalars)  # every scalar of the JSON text


# -- files: flowlaws.load and flowlaws check ------------------------------------------------------
@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@QUICK
@given(case=st.deferred(lambda: mutated_texts(_texts())))
def test_mutated_files_through_load_and_the_cli(case, workdir, capsys):
    name, data = case
    path = workdir / "cert.json"
    path.write_bytes(data)
    t = time.perf_counter()
    try:
        res = fl.load(str(path))
    except FlowlawsError as err:
        assert "\n" not in str(err)
    else:  # the file was accepted: the soundness oracle on what it holds
        verdict = _accepted(_bases()[name], res.certificate, 0.0, _CACHE)
        assert verdict["outcome"] in ("same", "true"), (name, data[:3000], verdict["detail"])
        assert res.count == res.certificate["count"]
    capsys.readouterr()
    code = main(["check", str(path)])
    out = capsys.readouterr()
    assert code in (0, 2, 3), (code, out.err)
    assert "Traceback" not in out.err + out.out
    assert len((out.err if code == 2 else out.out).strip().splitlines()) == 1, out
    assert time.perf_counter() - t < 2 * SECONDS


def test_a_python_object_certificate_of_any_type_is_one_error():
    for bad in (None, 1, "x", b"{}", [], [{}], {"count": 1}, {1: 2}, {"schema": None}):
        with pytest.raises(CertificateError):
            fl.verify.check_certificate(bad)
