"""pytest plugin of flowlaws (registered under ``[project.entry-points.pytest11]``).

* a ``flowlaws`` fixture: ``flowlaws.analyze(model)``,
  ``flowlaws.check_certificate(cert_or_path)``, ``flowlaws.assert_conserved(model, law)``,
  ``flowlaws.is_conserved(...)`` and ``flowlaws.certify(model, law, flow=..., save=...)``;
* ``--flowlaws-certify``: every stored certificate (``**/*.flowlaws.json``
  under the rootdir, or ``--flowlaws-certificates=GLOB`` / the ini option
  ``flowlaws_certificates``) becomes a test item that re-checks it with the
  independent checker;
* a test failing with ``flowlaws.verify.NotConserved`` gets a report section
  with the law, the field, the value of ``<grad h, field>`` and the
  counterexample.

Like Hypothesis' own plugin this module is small and imports flowlaws only
inside its hooks and fixtures, so pytest start-up stays cheap in projects
that have flowlaws installed but do not use it.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import sys
from typing import Any

import pytest

DEFAULT_GLOB = "**/*.flowlaws.json"
_PATHS_KEY = pytest.StashKey[list]()


# -- options -------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowlaws", "flowlaws: certified conservation laws")
    group.addoption(
        "--flowlaws-certify",
        action="store_true",
        default=False,
        help="re-check every stored flowlaws certificate (see --flowlaws-certificates) with the independent checker",
    )
    group.addoption(
        "--flowlaws-certificates",
        action="append",
        default=None,
        metavar="GLOB",
        help=f"glob of certificate files, relative to the rootdir (repeatable; default {DEFAULT_GLOB!r} "
        "or the ini option flowlaws_certificates)",
    )
    parser.addini(
        "flowlaws_certificates",
        type="args",
        default=[DEFAULT_GLOB],
        help="globs of flowlaws certificate files checked by --flowlaws-certify, relative to the rootdir",
    )


def _patterns(config: pytest.Config) -> list[str]:
    return config.getoption("flowlaws_certificates") or list(config.getini("flowlaws_certificates"))


def certificate_paths(config: pytest.Config) -> list[str]:
    """The certificate files the options select (sorted; pytest's ``norecursedirs`` skipped)."""
    if _PATHS_KEY in config.stash:
        return config.stash[_PATHS_KEY]
    root = str(config.rootpath)
    skip = list(config.getini("norecursedirs"))
    found: set[str] = set()
    for pattern in _patterns(config):
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            if not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, root)
            parts = rel.split(os.sep)[:-1] if not rel.startswith("..") else []
            if any(fnmatch.fnmatch(part, pat) for part in parts for pat in skip):
                continue
            found.add(os.path.abspath(path))
    config.stash[_PATHS_KEY] = sorted(found)
    return config.stash[_PATHS_KEY]


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("flowlaws_certify"):
        n = len(certificate_paths(config))
        return f"flowlaws: --flowlaws-certify, {n} certificate file(s) matching {_patterns(config)}"
    return None


# -- certificates as test items ------------------------------------------------------------
class CertificateFailure(Exception):
    """A stored certificate does not prove its claim (or cannot be read)."""

    def __init__(self, path: str, step: str, message: str) -> None:
        super().__init__(message)
        self.path, self.step, self.message = path, step, message


class CertificateItem(pytest.Item):
    """Re-checks one certificate file with ``flowlaws.verify.check_certificate``."""

    def runtest(self) -> None:
        from flowlaws.errors import CertificateError
        from flowlaws.verify import check_certificate, read_certificate

        path = str(self.path)
        try:
            report = check_certificate(read_certificate(path))
        except CertificateError as err:
            raise CertificateFailure(path, err.step, str(err)) from err
        self.user_properties.append(("flowlaws_proved", report["proved"]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CertificateFailure):
            err = excinfo.value
            try:
                shown = os.path.relpath(err.path, str(self.config.rootpath))
            except ValueError:  # another drive on Windows
                shown = err.path
            return "\n".join(
                [
                    f"{shown}: the certificate does not prove its claim (failed step: {err.step})",
                    f"  {err.message}",
                    "  (re-checked by flowlaws.verify.check_certificate; regenerate it with "
                    "flowlaws analyze ... --certificate or Result.save)",
                ]
            )
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"flowlaws certificate {self.path.name}"


class CertificateFile(pytest.File):
    """A stored certificate file: one :class:`CertificateItem`."""

    def collect(self) -> Any:
        yield CertificateItem.from_parent(self, name="certificate")


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> Any:
    # a certificate named on the command line (or inside a collected directory)
    config = parent.config
    if config.getoption("flowlaws_certify") and os.path.abspath(str(file_path)) in certificate_paths(config):
        return CertificateFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # certificates anywhere under the rootdir, also outside the collected test paths
    if not config.getoption("flowlaws_certify"):
        return
    from pathlib import Path

    seen = {os.path.abspath(str(item.path)) for item in items if isinstance(item, CertificateItem)}
    for path in certificate_paths(config):
        if path not in seen:
            items.extend(session.genitems(CertificateFile.from_parent(session, path=Path(path))))


# -- the fixture ---------------------------------------------------------------------------
class FlowlawsFixture:
    """What the ``flowlaws`` fixture gives a test.

    Attributes
    ----------
    analyze, is_conserved, assert_conserved
        ``flowlaws.analyze`` and the exact checks of ``flowlaws.verify``.
    """

    def __init__(self) -> None:
        import flowlaws
        import flowlaws.verify

        self._fl = flowlaws
        self.analyze = flowlaws.analyze
        self.is_conserved = flowlaws.verify.is_conserved
        self.assert_conserved = flowlaws.verify.assert_conserved

    def check_certificate(self, cert: Any) -> dict[str, Any]:
        """``flowlaws.verify.check_certificate`` on a certificate dict or a JSON file path."""
        if isinstance(cert, (str, os.PathLike)):
            cert = self._fl.verify.read_certificate(os.fspath(cert))
        return self._fl.verify.check_certificate(cert)

    def certify(self, model: Any, law: Any, *, flow: str = "gradient", tau: Any = None, save: Any = None) -> dict[str, Any]:
        """Prove ``law`` is conserved and return a checked certificate for it.

        1. ``assert_conserved(model, law, flow=flow)`` (exact; raises
           ``NotConserved`` with a counterexample);
        2. ``analyze(model, flow=flow)`` and the independent check of its certificate;
        3. a certificate whose only law is ``law`` (denominators cleared), with
           the analysis' rank: it proves ``1 <= count <= dim - rank`` and that
           ``law`` is conserved; it is re-checked before it is returned and,
           with ``save=PATH``, written as JSON (name it ``*.flowlaws.json`` so
           that ``--flowlaws-certify`` re-checks it).

        Returns ``{"law": str, "certificate": dict, "report": dict, "result": Result}``
        (``report`` is :func:`flowlaws.verify.check_certificate`'s report on the
        law's certificate). Raises ``NotConserved`` for a false law and
        ``InvalidArgument`` for a constant law or a flow other than ``"gradient"``.
        """
        __tracebackhide__ = True  # a false law fails at the test's line, with the counterexample
        import copy
        import json
        import math
        import random

        from flowlaws.errors import InvalidArgument
        from flowlaws.verify._drift import _law_terms  # exact rational terms of a parameter law
        from flowlaws.verify.checker._polys import Poly

        if flow != "gradient":
            raise InvalidArgument(
                f"flow={flow!r}: certify() writes certificates for gradient flow only (the certificate "
                "format of other flows is not settled); use assert_conserved(model, law, flow=...) instead"
            )
        self.assert_conserved(model, law, flow=flow, tau=tau)
        kwargs = {} if tau is None else {"tau": tau}
        res = self.analyze(model, flow=flow, **kwargs)
        self.check_certificate(res.certificate)
        terms, shown = _law_terms(law, tuple(model.variables))
        den = math.lcm(*(c.denominator for c in terms.values())) if terms else 1
        poly = Poly({m: int(c * den) for m, c in terms.items() if m})  # constants do not matter
        cert = copy.deepcopy(res.certificate)
        prime = cert["independence"]["prime"]
        point = list(cert["independence"]["point"])
        rng = random.Random(0)
        for _ in range(50):
            if poly.reduce(prime).gradient_at([x % prime for x in point]):
                break
            point = [rng.randrange(1, prime) for _ in point]
        else:
            raise InvalidArgument(f"law {shown}: its gradient vanishes identically; a constant law proves nothing")
        upper = cert["bounds"]["upper"]
        cert["laws"] = [[[str(c), [list(p) for p in mono]] for mono, c in sorted(poly.terms.items())]]
        cert["independence"] = {"prime": prime, "point": point, "value": 1}
        cert["bounds"] = {"lower": 1, "upper": upper}
        cert["count"] = upper
        cert["complete"] = upper == 1
        cert.pop("timings", None)
        report = self.check_certificate(cert)
        if save is not None:
            with open(os.fspath(save), "w", encoding="utf-8") as fh:
                json.dump(cert, fh, indent=1)
        return {"law": shown, "certificate": cert, "report": report, "result": res}


@pytest.fixture
def flowlaws() -> FlowlawsFixture:
    """flowlaws' analysis and independent checks, for use in a test (see ``FlowlawsFixture``)."""
    return FlowlawsFixture()


# -- NotConserved, shown nicely ------------------------------------------------------------
def format_not_conserved(err: Any) -> str:
    """The law, the field, the value and the counterexample of a ``NotConserved``."""
    point = ", ".join(f"{k} = {v}" for k, v in err.point.items()) or "(any point)"
    return "\n".join(
        [
            f"law:             {err.law}",
            f"field:           #{err.field_index}: {err.field}",
            f"counterexample:  {point}   (other parameters do not matter)",
            f"<grad h, field>: {err.value} at the counterexample (it must be 0 everywhere for a law)",
        ]
    )


def _find(exc: BaseException, cls: type) -> list[BaseException]:
    """``exc`` itself or the members of an exception group (Hypothesis' multiple failures) of type ``cls``."""
    if isinstance(exc, cls):
        return [exc]
    found: list[BaseException] = []
    for sub in getattr(exc, "exceptions", None) or ():
        if isinstance(sub, BaseException):
            found += _find(sub, cls)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    if call.excinfo is None:
        return
    verify = sys.modules.get("flowlaws.verify")  # loaded if and only if it could have raised
    not_conserved = getattr(verify, "NotConserved", None)
    if not_conserved is None:
        return
    errors = _find(call.excinfo.value, not_conserved)
    report = outcome.get_result()
    if errors and report.failed:
        text = "\n\n".join(format_not_conserved(err) for err in errors)
        report.sections.append(("flowlaws: law not conserved", text))
