"""The pytest plugin ``_flowlaws_pytestplugin``: options, certificates as items, fixture, failure display."""

from __future__ import annotations

import copy
import importlib.metadata
import json

import pytest

import flowlaws as fl
from flowlaws.errors import InvalidArgument
from flowlaws.verify import NotConserved, check_certificate



def _registered() -> bool:
    """Whether pytest sees the entry point (it scans every distribution, as here)."""
    return any(
        ep.group == "pytest11" and ep.name == "flowlaws" and ep.value == "_flowlaws_pytestplugin"
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
    )


def args(*more: str) -> tuple[str, ...]:
    """Arguments of an in-process inner pytest run (call it inside the test: pytester has changed
    the working directory). The plugin comes from its entry point, as for users, or by name when
    this process cannot see the entry point (see conftest.py: test_the_entry_point_is_registered
    then reports the packaging problem alone)."""
    by_name = () if _registered() else ("-p", "_flowlaws_pytestplugin")
    return ("-p", "no:cacheprovider", *by_name, *more)

RELU221 = fl.models.mlp([2, 2, 1], activation="relu")
LAW = "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2"


@pytest.fixture(scope="module")
def certificate() -> dict:
    return fl.analyze(RELU221).certificate


def test_the_entry_point_is_registered(pytestconfig):
    assert _registered(), "reinstall flowlaws (pip install -e .) to register its pytest11 entry point"
    from_entry_points = {plugin.__name__ for plugin, _dist in pytestconfig.pluginmanager.list_plugin_distinfo()}
    assert "_flowlaws_pytestplugin" in from_entry_points


def test_help_lists_the_options_in_their_group(pytester):
    out = pytester.runpytest(*args(), "--help")
    out.stdout.fnmatch_lines(
        [
            "flowlaws: certified conservation laws:",
            "  --flowlaws-certify*",
            "  --flowlaws-certificates=GLOB*",
            "*flowlaws_certificates (args):*",
        ]
    )


def test_pytest_start_up_does_not_import_flowlaws(pytester):
    pytester.makeconftest(
        """
        import json, sys
        def pytest_sessionfinish(session):
            loaded = sorted(m for m in sys.modules if m == "flowlaws" or m.startswith("flowlaws."))
            with open("loaded.json", "w") as fh:
                json.dump({"plugin": session.config.pluginmanager.has_plugin("flowlaws"), "loaded": loaded}, fh)
        """
    )
    pytester.makepyfile(test_plain="def test_one():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")  # a fresh interpreter: entry points only
    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "loaded.json").read_text()) == {"plugin": True, "loaded": []}


# -- the fixture ------------------------------------------------------------------------------
def test_fixture_in_an_inner_session(pytester, certificate):
    (pytester.path / "relu.json").write_text(json.dumps(certificate))
    pytester.makepyfile(
        test_fixture=f"""
        import flowlaws as fl

        M = fl.models.mlp([2, 2, 1], activation="relu")

        def test_analyze_and_check(flowlaws):
            res = flowlaws.analyze(M)
            assert (res.count, res.complete) == (2, True)
            assert flowlaws.check_certificate(res.certificate)["proved"]["exact"]
            assert flowlaws.check_certificate("relu.json")["count"] == 2

        def test_exact_checks(flowlaws):
            flowlaws.assert_conserved(M, {LAW!r})
            assert not flowlaws.is_conserved(M, "W1[0,0]^2")

        def test_certify_and_save(flowlaws):
            out = flowlaws.certify(M, {LAW!r}, save="law.flowlaws.json")
            assert out["report"]["proved"] == {{"upper_bound": 2, "lower_bound": 1, "exact": False}}
        """
    )
    pytester.runpytest(*args()).assert_outcomes(passed=3)
    saved = json.loads((pytester.path / "law.flowlaws.json").read_text())
    assert check_certificate(saved)["laws"] == 1
    # ... and --flowlaws-certify picks the stored certificate up
    result = pytester.runpytest(*args(), "--flowlaws-certify", "-v")
    result.stdout.fnmatch_lines(["*law.flowlaws.json::certificate PASSED*"])
    result.assert_outcomes(passed=4)


def test_certify_in_this_session(flowlaws, tmp_path):
    out = flowlaws.certify(RELU221, "W1[1,0]^2/2 + W1[1,1]^2/2 - W2[0,1]^2/2", save=tmp_path / "c.flowlaws.json")
    cert = json.loads((tmp_path / "c.flowlaws.json").read_text())
    assert cert == out["certificate"] and out["law"] == "W1[1,0]^2/2 + W1[1,1]^2/2 - W2[0,1]^2/2"
    assert cert["laws"] == [[["1", [[2, 2]]], ["1", [[3, 2]]], ["-1", [[5, 2]]]]]  # denominators cleared
    assert cert["bounds"] == {"lower": 1, "upper": 2} and cert["complete"] is False
    # a tampered copy is refused by the independent checker
    bad = copy.deepcopy(cert)
    bad["laws"][0][2][0] = "-2"
    with pytest.raises(fl.errors.CertificateError) as info:
        flowlaws.check_certificate(bad)
    assert info.value.step == "laws"


def test_certify_refuses(flowlaws):
    with pytest.raises(NotConserved):
        flowlaws.certify(RELU221, "W1[0,0]^2")
    with pytest.raises(InvalidArgument, match="constant law"):
        flowlaws.certify(RELU221, "7")
    with pytest.raises(InvalidArgument, match="gradient flow only"):
        flowlaws.certify(RELU221, LAW, flow="momentum")


def test_certify_of_the_only_law_is_complete(flowlaws):
    out = flowlaws.certify(fl.models.from_polynomials(["x*y"], variables=["x", "y"]), "x^2 - y^2")
    assert out["report"]["proved"] == {"upper_bound": 1, "lower_bound": 1, "exact": True}


# -- --flowlaws-certify ----------------------------------------------------------------------
def _tampered(cert: dict, how: str) -> dict:
    bad = copy.deepcopy(cert)
    if how == "rank":
        bad["rank"]["value"] += 1
    elif how == "laws":
        bad["laws"][0][0][0] = "2"
    elif how == "prime":
        bad["rank"]["prime"] = 15
    return bad


@pytest.fixture
def project(pytester, certificate):
    """A project: tests/ as testpaths, certificates inside and outside it, and files to skip."""
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    files = {
        "good.flowlaws.json": certificate,
        "tests/also_good.flowlaws.json": certificate,
        "certs/bad_rank.flowlaws.json": _tampered(certificate, "rank"),
        "certs/deep/bad_laws.flowlaws.json": _tampered(certificate, "laws"),
        "certs/bad_prime.flowlaws.json": _tampered(certificate, "prime"),
        "notes.json": _tampered(certificate, "rank"),  # does not match the glob
        "node_modules/skip.flowlaws.json": _tampered(certificate, "rank"),  # norecursedirs
        ".hidden/skip.flowlaws.json": _tampered(certificate, "rank"),  # hidden
        "other/x.cert.json": certificate,
    }
    for name, data in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    (pytester.path / "certs/broken.flowlaws.json").write_text("{not json")
    (pytester.path / "tests").mkdir(exist_ok=True)
    (pytester.path / "tests/test_a.py").write_text("def test_a():\n    pass\n")
    return pytester


def test_certificates_are_not_collected_without_the_option(project):
    project.runpytest(*args()).assert_outcomes(passed=1)


def test_flowlaws_certify_rechecks_every_stored_certificate(project):
    result = project.runpytest(*args(), "--flowlaws-certify", "-rA")
    result.assert_outcomes(passed=3, failed=4)
    result.stdout.fnmatch_lines_random(
        [
            "flowlaws: --flowlaws-certify, 6 certificate file(s) matching ['**/*.flowlaws.json']",
            "PASSED good.flowlaws.json::certificate",
            "PASSED tests/also_good.flowlaws.json::certificate",
            "certs/bad_rank.flowlaws.json: the certificate does not prove its claim (failed step: rank)",
            "  [[]rank[]] claimed 5, the * words have rank 4 mod *",
            "certs/deep/bad_laws.flowlaws.json: the certificate does not prove its claim (failed step: laws)",
            "certs/bad_prime.flowlaws.json: the certificate does not prove its claim (failed step: prime)",
            "certs/broken.flowlaws.json: the certificate does not prove its claim (failed step: schema)",
        ]
    )
    assert "skip.flowlaws.json" not in result.stdout.str() and "notes.json" not in result.stdout.str()


def test_each_certificate_is_collected_once(project):
    result = project.runpytest(*args(), "--flowlaws-certify", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert sorted(ids) == sorted(
        [
            "tests/test_a.py::test_a",
            "tests/also_good.flowlaws.json::certificate",
            "good.flowlaws.json::certificate",
            "certs/bad_rank.flowlaws.json::certificate",
            "certs/bad_prime.flowlaws.json::certificate",
            "certs/broken.flowlaws.json::certificate",
            "certs/deep/bad_laws.flowlaws.json::certificate",
        ]
    )


def test_the_glob_comes_from_the_command_line_or_the_ini_file(project):
    result = project.runpytest(*args(), "--flowlaws-certify", "--flowlaws-certificates=certs/*.flowlaws.json", "-rA")
    result.assert_outcomes(passed=1, failed=3)  # test_a, and certs/ without certs/deep/
    project.makeini("[pytest]\ntestpaths = tests\nflowlaws_certificates = other/*.cert.json good.flowlaws.json\n")
    result = project.runpytest(*args(), "--flowlaws-certify", "-rA")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(["PASSED other/x.cert.json::certificate", "PASSED good.flowlaws.json::certificate"])


def test_keyword_selection_applies_to_certificates(project):
    result = project.runpytest(*args(), "--flowlaws-certify", "-k", "good")
    result.assert_outcomes(passed=2)


# -- failures of NotConserved -----------------------------------------------------------------
def test_a_failing_law_shows_the_law_the_field_and_the_counterexample(pytester):
    pytester.makepyfile(
        test_laws="""
        import flowlaws as fl
        from hypothesis import Phase, given, settings
        from flowlaws.verify import assert_conserved
        from flowlaws.verify.strategies import mlps

        def test_wrong_law():
            assert_conserved(fl.models.mlp([2, 2, 1], activation="relu"), "W1[0,0]^2 - W2[0,0]^2")

        @settings(max_examples=20, deadline=None, database=None, derandomize=True,
                  phases=[Phase.generate, Phase.shrink])
        @given(mlps(min_depth=2, activations=["relu"]))
        def test_wrong_law_on_drawn_models(model):
            assert_conserved(model, "W1[0,0]^2 - W2[0,0]^2")

        def test_other_failure():
            assert 1 == 2
        """
    )
    result = pytester.runpytest(*args())
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*- flowlaws: law not conserved -*",
            "law:             W1[[]0,0[]]^2 - W2[[]0,0[]]^2",
            "field:           #*: grad phi[[]*[]] (paths from *)",
            "counterexample:  W1[[]0,1[]] = 1, W2[[]0,0[]] = 1   (other parameters do not matter)",
            "<grad h, field>: -2 at the counterexample (it must be 0 everywhere for a law)",
        ]
    )
    assert result.stdout.str().count("flowlaws: law not conserved -") == 2  # not for test_other_failure
