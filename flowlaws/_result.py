"""What ``analyze`` returns: the :class:`Result` (count, bounds, laws, certificate) and its displays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._safe_text import printable
from .engine.flow import Flow
from .laws import Law, LogLaw
from .models._model import Model

__all__ = ["Result", "law_from_poly"]


def law_from_poly(h: dict, variables: tuple[str, ...], tau: Any = 0) -> Law:
    """A found law as a :class:`Law`; on the momentum phase space (``tau > 0``) a
    power ``s^k`` common to every term is factored out as ``exp(k·τ·t)``."""
    terms = [(int(c), tuple(mono)) for mono, c in h.items()]
    rate: Any = 0
    if tau:
        powers = {mono[0][1] if mono and mono[0][0] == 0 else 0 for _, mono in terms}
        if len(powers) == 1 and (k := powers.pop()):
            terms = [(c, mono[1:]) for c, mono in terms]
            rate = k * tau
    terms.sort(key=lambda t: ([v for v, _ in t[1]], [-e for _, e in t[1]]))
    return Law(tuple(terms), variables, rate)


def log_law_from_dict(law: dict, variables: tuple[str, ...]) -> LogLaw:
    """A :class:`~flowlaws.laws.LogLaw` from the engine's ``{"polynomial": P0, "logs": [(c, p), ...]}``."""
    return LogLaw(law_from_poly(law["polynomial"], variables),
                  tuple((int(c), law_from_poly(p, variables)) for c, p in law["logs"]))


@dataclass(repr=False)
class Result:
    """What :func:`analyze` proved.

    Attributes
    ----------
    count : int
        The maximal number of independent laws: exact when ``complete``,
        otherwise the proved upper bound (see ``bounds``).
    dim : int
        Dimension of the phase space.
    rank : int
        Certified lower bound of the trace dimension at the certificate's point.
    laws : list of Law
        Exact, independent laws (each checked as a polynomial identity). On the triangular
        route (large ReLU MLPs) a read-only sequence that builds each ``Law`` when read.
    bounds : (int, int)
        Proved lower and upper bounds of the count: ``(len(laws), dim - rank)``, or
        ``(dim - rank, dim - rank)`` when the count is proved by Frobenius.
    complete : bool
        True when the bounds meet: the count is certified.
    nonpolynomial_laws : list of LogLaw
        Exact rational and logarithmic laws (``U[0,0]/U[0,1]``, ``log(x1) - 2*x0``), independent
        of ``laws`` and of each other; they count in the lower bound.
    frobenius : bool
        True when the count is proved by Frobenius (the certificate's ``frobenius``
        identities) rather than by listing the laws: ``laws`` may then hold fewer
        than ``count`` laws, the others not being polynomial (e.g. ``x0/x1``).
    certificate : dict
        JSON-serialisable proof; re-check it with ``flowlaws.verify.check_certificate``.
    interrupted : bool
        True when Ctrl-C stopped the search (``analyze(..., on_interrupt="partial")``):
        the bounds are proved, the search did not finish.
    """

    model: Model
    flow: Flow
    dim: int
    rank: int
    laws: list[Law]
    certificate: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    frobenius: bool = False
    nonpolynomial_laws: list[LogLaw] = field(default_factory=list)

    @property
    def bounds(self) -> tuple[int, int]:
        upper = self.dim - self.rank
        return (upper if self.frobenius else len(self.laws) + len(self.nonpolynomial_laws), upper)

    @property
    def count(self) -> int:
        return self.dim - self.rank

    @property
    def complete(self) -> bool:
        return self.bounds[0] == self.bounds[1]

    def to_sympy(self) -> list[Any]:
        """The laws as SymPy expressions."""
        return [law.to_sympy() for law in self.laws]

    def to_json(self) -> dict[str, Any]:
        """The stable summary printed by ``flowlaws analyze --json``."""
        from ._display import group_laws

        groups = group_laws(self)
        return {
            "model": self.model.name,
            "flow": self.flow.to_json(),
            "count": self.count,
            "dim": self.dim,
            "rank": self.rank,
            "complete": self.complete,
            "frobenius": self.frobenius,
            "bounds": list(self.bounds),
            "laws": [str(law) for law in self.laws],
            "nonpolynomial_laws": [str(law) for law in self.nonpolynomial_laws],
            "notes": list(self.notes),
            "timings": self.timings,
            "interrupted": self.interrupted,
            "readable": [t for _, t in sorted((i, t) for g in groups for i, t in zip(g["indices"], g["text"]))],
            "groups": [
                {"kind": g["kind"], "layer": g["layer"], "laws": list(g["indices"])} for g in groups
            ],
        }

    def save(self, path: str) -> None:
        """Write the certificate as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            if self.dim > 20_000:  # streamed in pieces by json's C encoder (indent=1 is the slow Python one)
                from .engine.certificate import write_certificate

                write_certificate(self.certificate, fh)
            else:
                json.dump(self.certificate, fh, indent=1)

    def __repr__(self) -> str:
        lo, hi = self.bounds
        state = "complete" if self.complete else "bounds only"
        return (f"<Result {self.model.name} | {self.flow} flow | count={self.count} | bounds=({lo}, {hi}) | "
                f"{state}{' | interrupted' if self.interrupted else ''}>")

    def __str__(self) -> str:
        lo, hi = self.bounds
        shown = len(self.laws) + len(self.nonpolynomial_laws)
        listed = f" (proved by Frobenius; {shown} listed)" if (self.frobenius and shown < self.count) else ""
        head = (
            f"{self.model.name} under {self.flow} flow: {self.count} independent conservation law(s), certified exact"
            + listed
            if self.complete
            else f"{self.model.name} under {self.flow} flow: between {lo} and {hi} independent laws (bounds only: the count is NOT determined)"
        )
        lines = [head, f"  dim = {self.dim}, certified rank = {self.rank}"]
        lines += self._law_lines(expand=False)
        lines += [f"  {law}   (not polynomial)" for law in self.nonpolynomial_laws]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(printable(line) for line in lines)  # names from files: no escape codes reach a terminal

    def _law_lines(self, *, expand: bool) -> list[str]:
        if expand or not self.laws:
            return [f"  {law}" for law in self.laws]
        from ._display import format_groups

        return format_groups(self)

    def expanded(self) -> str:
        """Like ``str(result)`` with every law fully expanded (one per line), not grouped."""
        lines = str(self).splitlines()[:2] + self._law_lines(expand=True)
        lines += [f"  {law}   (not polynomial)" for law in self.nonpolynomial_laws]
        return "\n".join(printable(line) for line in lines + [f"  note: {n}" for n in self.notes])

    def groups(self) -> list[dict[str, Any]]:
        """The laws grouped by structure (per neuron, layer-matrix entries, other);
        see :func:`flowlaws._display.group_laws`."""
        from ._display import group_laws

        return group_laws(self)

    def to_latex(self, **options: Any) -> str:
        r"""The laws as a LaTeX ``align*`` block for a paper (``per-neuron`` and matrix forms).

        Examples
        --------
        >>> import flowlaws as fl
        >>> tex = fl.analyze(fl.models.parse("relu:3x4x3")).to_latex()
        >>> r"\lVert W_{1}[i,:]\rVert^2 - \lVert W_{2}[:,i]\rVert^2" in tex
        True
        """
        from ._display import to_latex

        return to_latex(self, **options)

    def _repr_latex_(self) -> str:
        from ._display import to_latex

        return to_latex(self, max_laws=40).split("\n", 1)[1]  # drop the % comment line

    def _repr_html_(self) -> str:
        from ._display import to_html

        return to_html(self)
