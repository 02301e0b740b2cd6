"""Monitor exact conservation laws along simulated or real training (float64).

A :class:`LawMonitor` precompiles the integer polynomials of a list of
:class:`~flowlaws.laws.Law` into index / exponent arrays and evaluates them,
vectorised, on any parameter vector (or a stack of them). It keeps a log of
the values per step and reports the drift ``max_t |h(theta_t) - h(theta_0)|``.

Vectors are read in the laws' own coordinate order unless the monitor is
given the names of the vector's coordinates (``LawMonitor(laws,
variables=net.variables)``): then every law variable is matched to a
coordinate *by name*. A PyTorch module is always read by name
(:class:`TorchLawMonitor`): the law variable ``layer1.0.weight[3,1]`` is the
entry ``(3, 1)`` of ``named_parameters()["layer1.0.weight"]``, never "the
k-th float of the flattened module". For momentum laws on the phase space
``(s, theta, v)``, build the vector with :func:`phase_space`. Laws with a
``time_rate`` ``r`` are multiplied by ``exp(r t)``, so ``t`` must be given.

Floats only: this module does not prove anything; exact checks live in
:mod:`flowlaws.verify`. It does not check that the laws belong to the model
whose parameters it is given, only that the names and shapes agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument
from flowlaws.laws import Law

__all__ = ["LawMonitor", "TorchLawMonitor", "DriftReport", "phase_space", "flatten_torch_parameters"]

_CHUNK = 4_000_000  # floats per evaluation block


def phase_space(params: Any, velocities: Any, times: Any, *, tau: float) -> np.ndarray:
    """Phase-space points ``(s, theta, v)`` with ``s = exp(tau t)`` (``s = t`` when ``tau = 0``).

    This is the coordinate order of momentum-flow laws (DESIGN section 3).

    Examples
    --------
    >>> phase_space([[1.0, 2.0]], [[3.0, 4.0]], [0.0], tau=1.0).tolist()
    [[1.0, 1.0, 2.0, 3.0, 4.0]]
    """
    p = np.atleast_2d(np.asarray(params, dtype=np.float64))
    v = np.atleast_2d(np.asarray(velocities, dtype=np.float64))
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if p.shape != v.shape or t.shape != (p.shape[0],):
        raise InvalidArgument(
            f"params {p.shape}, velocities {v.shape} and times {t.shape} do not match"
        )
    s = np.exp(float(tau) * t) if tau else t
    return np.concatenate([s[:, None], p, v], axis=1)


@dataclass(frozen=True)
class DriftReport:
    """How far the monitored laws moved from their first recorded value.

    Attributes
    ----------
    max_abs : ndarray, shape (k,)
        ``max_t |h(theta_t) - h(theta_0)|`` per law.
    relative : ndarray, shape (k,)
        ``max_abs`` divided by the law's scale at ``theta_0``: the sum of the
        absolute values of its terms there (never smaller than ``|h(theta_0)|``,
        and non-zero unless every term vanishes, in which case it is 1).
    per_step : ndarray, shape (T,)
        ``max_laws |h(theta_t) - h(theta_0)|`` at each record.
    steps : ndarray, shape (T,)
        The record labels.
    laws : tuple of str
        The laws, printed.
    """

    max_abs: np.ndarray
    relative: np.ndarray
    per_step: np.ndarray
    steps: np.ndarray
    laws: tuple[str, ...]

    @property
    def max_drift(self) -> float:
        """Largest absolute drift over all laws (``0.0`` with no laws)."""
        return float(self.max_abs.max(initial=0.0))

    @property
    def max_relative_drift(self) -> float:
        """Largest relative drift over all laws."""
        return float(self.relative.max(initial=0.0))

    @property
    def worst(self) -> int:
        """Index of the law with the largest relative drift."""
        return int(np.argmax(self.relative)) if self.relative.size else -1

    def __str__(self) -> str:
        if not self.laws:
            return "no laws monitored"
        w = self.worst
        return (
            f"{len(self.laws)} laws over {len(self.steps)} records: max drift "
            f"{self.max_drift:.3e}, max relative drift {self.max_relative_drift:.3e} "
            f"(worst: {self.laws[w]})"
        )


class LawMonitor:
    """Evaluate exact laws on float parameter vectors and log their drift.

    Parameters
    ----------
    laws : sequence of Law
        Laws of one model (same ``variables``).
    variables : sequence of str, optional
        Names of the coordinates of the vectors this monitor will read (e.g.
        ``net.variables`` of the network that produced them). Law variables
        are then matched to coordinates by name, whatever the two orders.
        Default: the laws' own variables, in their order.

    Raises
    ------
    InvalidArgument
        Empty input of the wrong type, laws over different variables, a law
        variable missing from ``variables``, or a vector of the wrong size.

    Examples
    --------
    >>> u_v = Law(((1, ((0, 2),)), (-1, ((1, 2),))), ("u", "v"))   # u^2 - v^2
    >>> mon = LawMonitor([u_v])
    >>> mon.evaluate([3.0, 2.0]).tolist()
    [5.0]
    >>> _ = mon.record([3.0, 2.0]); _ = mon.record([3.0, 2.1])
    >>> round(mon.drift().max_drift, 6)
    0.41
    >>> LawMonitor([u_v], variables=("v", "u")).evaluate([2.0, 3.0]).tolist()   # by name
    [5.0]
    """

    def __init__(self, laws: Sequence[Law], *, variables: Sequence[str] | None = None) -> None:
        laws = list(laws)
        for h in laws:
            if not isinstance(h, Law):
                raise InvalidArgument(
                    f"laws contains {h!r} (type={type(h).__name__}): expected flowlaws.laws.Law"
                )
        self.laws: tuple[Law, ...] = tuple(laws)
        names = {h.variables for h in laws}
        if len(names) > 1:
            raise InvalidArgument(
                "laws are over different variables; monitor the laws of one model at a time"
            )
        self.law_variables: tuple[str, ...] = laws[0].variables if laws else ()
        if variables is None:
            self.variables: tuple[str, ...] = self.law_variables
            self._column = list(range(len(self.law_variables)))
        else:
            if isinstance(variables, str):
                raise InvalidArgument(f"variables={variables!r}: expected a sequence of names, not one str")
            self.variables = tuple(str(v) for v in variables)
            where = {v: k for k, v in enumerate(self.variables)}
            if len(where) != len(self.variables):
                dup = next(v for v in self.variables if self.variables.count(v) > 1)
                raise InvalidArgument(f"variables names {dup!r} twice: coordinate names must be distinct")
            missing = [v for v in self.law_variables if v not in where]
            if missing:
                raise InvalidArgument(
                    f"law variable {missing[0]!r} is not among the vector's coordinates "
                    f"{list(self.variables[:4])}...: monitor laws of the model whose parameters you record"
                )
            self._column = [where[v] for v in self.law_variables]
        self.size = len(self.variables)
        self._compile()
        self.reset()

    # ---------------------------------------------------------------- compile
    def _compile(self) -> None:
        coefs: list[float] = []
        owner: list[int] = []
        monos: list[tuple[tuple[int, int], ...]] = []
        for k, h in enumerate(self.laws):
            n_law = len(self.law_variables)
            for c, mono in h.terms:
                for v, e in mono:
                    if not 0 <= v < n_law or e < 0:
                        raise InvalidArgument(
                            f"laws[{k}] has a term with variable index {v} or exponent {e} "
                            f"out of range for its {n_law} variables; build laws with "
                            "indices in [0, len(variables)) and exponents >= 0"
                        )
                coefs.append(float(c))
                owner.append(k)
                monos.append(tuple((self._column[v], e) for v, e in mono))
        # x^e becomes e repeated factors, so evaluation is a gather and a product;
        # padding points at an extra column of ones (index ``size``).
        K = max((sum(e for _, e in m) for m in monos), default=0)
        T = len(monos)
        idx = np.full((T, max(K, 1)), self.size, dtype=np.int64)
        for t, mono in enumerate(monos):
            j = 0
            for v, e in mono:
                idx[t, j : j + e] = v
                j += e
        self._coef = np.array(coefs, dtype=np.float64)
        self._owner = np.array(owner, dtype=np.int64)
        self._idx = idx
        counts = np.bincount(self._owner, minlength=len(self.laws))
        self._nonempty = counts > 0
        self._starts = (np.cumsum(counts) - counts)[self._nonempty]
        self._rates = np.array([float(h.time_rate or 0) for h in self.laws], dtype=np.float64)
        self._timed = bool(np.any(self._rates != 0))

    def _terms(self, X: np.ndarray) -> np.ndarray:
        """Term values, shape (B, T), chunked over B to bound memory."""
        B = X.shape[0]
        T, K = self._idx.shape
        out = np.empty((B, T))
        rows = max(1, _CHUNK // max(1, T * K))
        for a in range(0, B, rows):
            part = X[a : a + rows]
            ext = np.concatenate([part, np.ones((part.shape[0], 1))], axis=1)
            value = ext[:, self._idx[:, 0]]
            for j in range(1, K):  # K is the largest degree: a few factors
                value *= ext[:, self._idx[:, j]]
            out[a : a + rows] = self._coef * value
        return out

    def _stack(self, x: Any) -> tuple[np.ndarray, bool]:
        X = np.asarray(x, dtype=np.float64)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.ndim != 2 or X.shape[1] != self.size:
            raise InvalidArgument(
                f"parameters have shape {np.shape(x)}: the laws are over {self.size} "
                "variables (use phase_space(...) for momentum laws)"
            )
        return X, single

    def _reduce(self, terms: np.ndarray) -> np.ndarray:
        out = np.zeros((terms.shape[0], len(self.laws)))
        if self._starts.size:
            out[:, self._nonempty] = np.add.reduceat(terms, self._starts, axis=1)
        return out

    def evaluate(self, x: Any, *, t: Any = None) -> np.ndarray:
        """Values of the laws at ``x`` (shape ``(size,)`` -> ``(k,)``; ``(B, size)`` -> ``(B, k)``).

        ``t`` (a float, or one per row) is required when a law has a ``time_rate``.
        """
        X, single = self._stack(x)
        vals = self._reduce(self._terms(X))
        if self._timed:
            if t is None:
                raise InvalidArgument(
                    "these laws depend on time (time_rate != 0): pass t=..."
                )
            tt = np.broadcast_to(np.asarray(t, dtype=np.float64), (X.shape[0],))
            vals = vals * np.exp(np.outer(tt, self._rates))
        return vals[0] if single else vals

    def scales(self, x: Any, *, t: Any = None) -> np.ndarray:
        """Sum of the absolute values of each law's terms at ``x`` (1 where all vanish)."""
        X, single = self._stack(x)
        vals = self._reduce(np.abs(self._terms(X)))
        if self._timed and t is not None:
            tt = np.broadcast_to(np.asarray(t, dtype=np.float64), (X.shape[0],))
            vals = vals * np.exp(np.outer(tt, self._rates))
        vals = np.where(vals > 0, vals, 1.0)
        return vals[0] if single else vals

    # -------------------------------------------------------------------- log
    def reset(self) -> None:
        """Forget the log."""
        self._steps: list[float] = []
        self._times: list[float] = []
        self._values: list[np.ndarray] = []
        self._scale0: np.ndarray | None = None

    def record(self, x: Any, *, step: float | None = None, t: float | None = None) -> np.ndarray:
        """Evaluate at ``x`` and append to the log; returns the values.

        ``step`` defaults to the number of records so far.
        """
        vals = self.evaluate(x, t=t)
        if vals.ndim != 1:
            raise InvalidArgument("record takes one parameter vector; use track(...) for many")
        if self._scale0 is None:
            self._scale0 = self.scales(x, t=t)
        self._steps.append(len(self._steps) if step is None else step)
        self._times.append(np.nan if t is None else float(t))
        self._values.append(vals)
        return vals

    def track(self, trajectory: Any, *, tau: float | None = None) -> np.ndarray:
        """Log the laws along a :class:`~flowlaws.dynamics.Trajectory`; returns ``(T, k)`` values.

        Laws over ``D`` variables read ``trajectory.params``; laws over
        ``2D + 1`` variables read the phase space ``(s, theta, v)`` built with
        :func:`phase_space` (``tau`` required).
        """
        P = np.asarray(trajectory.params, dtype=np.float64)
        D = P.shape[1]
        times = np.asarray(trajectory.times, dtype=np.float64)
        if self.size == 2 * D + 1:
            if trajectory.velocities is None or tau is None:
                raise InvalidArgument(
                    "these laws live on the phase space (s, theta, v): track a momentum "
                    "trajectory (with velocities) and pass tau=..."
                )
            X = phase_space(P, trajectory.velocities, times, tau=tau)
        else:
            X = P
        vals = self.evaluate(X, t=times if self._timed else None)
        if self._scale0 is None:
            self._scale0 = self.scales(X[0], t=times[0] if self._timed else None)
        steps = trajectory.steps if getattr(trajectory, "steps", None) is not None else np.arange(len(times))
        for k in range(len(times)):
            self._steps.append(float(steps[k]))
            self._times.append(float(times[k]))
            self._values.append(vals[k])
        return vals

    @property
    def steps(self) -> np.ndarray:
        """Record labels, shape ``(T,)``."""
        return np.array(self._steps, dtype=np.float64)

    @property
    def times(self) -> np.ndarray:
        """Record times (NaN where none was given), shape ``(T,)``."""
        return np.array(self._times, dtype=np.float64)

    @property
    def values(self) -> np.ndarray:
        """Logged values, shape ``(T, k)``."""
        return np.array(self._values).reshape(len(self._values), len(self.laws))

    def drift(self) -> DriftReport:
        """Drift of every law from its first record.

        Raises
        ------
        InvalidArgument
            Nothing was recorded yet.
        """
        if not self._values:
            raise InvalidArgument("nothing recorded yet: call record(...) or track(...) first")
        V = self.values
        dev = np.abs(V - V[0])
        max_abs = dev.max(axis=0)
        scale = self._scale0 if self._scale0 is not None else np.ones(len(self.laws))
        return DriftReport(
            max_abs=max_abs,
            relative=max_abs / scale,
            per_step=dev.max(axis=1, initial=0.0),
            steps=self.steps,
            laws=tuple(str(h) for h in self.laws),
        )

    # ------------------------------------------------------------------ torch
    @classmethod
    def from_torch(
        cls, module: Any, laws: Sequence[Law], *, mapping: Mapping[str, Any] | None = None
    ) -> TorchLawMonitor:
        """A monitor bound to a PyTorch module, law variables matched to tensor entries by name.

        See :class:`TorchLawMonitor`. PyTorch is only needed to own the module.
        """
        return TorchLawMonitor(module, laws, mapping=mapping)


def flatten_torch_parameters(module: Any) -> np.ndarray:
    """A module's parameters as one float64 vector, in ``named_parameters()`` order.

    For ``nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1))`` this is
    ``W1, b1, W2, b2`` with weights row-major (out x in): the certificate order.
    Only a convenience: :class:`TorchLawMonitor` never reads law values from
    this order, it matches names.
    """
    parts = [_tensor(p).ravel() for _, p in module.named_parameters()]
    return np.concatenate(parts) if parts else np.zeros(0)


def _tensor(p: Any) -> np.ndarray:
    return np.asarray(p.detach().cpu().double().numpy(), dtype=np.float64)


_ENTRY = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<index>\s*\d+\s*(?:,\s*\d+\s*)*)\])?$", re.ASCII)
_CERT = re.compile(r"^(?P<kind>[Wb])(?P<layer>[1-9]\d*)(?P<rest>\[.*\])?$", re.ASCII)
_SEQ_PARAM = re.compile(r"^(?P<key>\d+)\.(?P<kind>weight|bias)$", re.ASCII)


class _Unnamed(InvalidArgument):
    """A law variable that names no parameter of the module (a mapping is needed)."""


def _sequential_layers(shapes: Mapping[str, tuple[int, ...]]) -> list[str] | None:
    """The child keys of the ``Linear`` layers of an ``nn.Sequential``, or None for other modules.

    Only when every parameter is named ``<int>.weight`` (2-D) or ``<int>.bias``
    (the ``nn.Sequential`` pattern), so that layer ``l`` is the ``l``-th child
    with a weight, in the order the forward pass applies them.
    """
    keys: list[str] = []
    for name, shape in shapes.items():
        m = _SEQ_PARAM.match(name)
        if m is None or (m["kind"] == "weight" and len(shape) != 2):
            return None
        if m["kind"] == "weight":
            keys.append(m["key"])
    if [int(k) for k in keys] != sorted({int(k) for k in keys}):
        return None
    return keys


def _mapping_hint(variable: str, shapes: Mapping[str, tuple[int, ...]]) -> str:
    first = next(iter(shapes), "0.weight")
    index = tuple(0 for _ in shapes.get(first, (1,)))
    listed = ", ".join(f"{n} {tuple(sh)}" for n, sh in list(shapes.items())[:6])
    more = ", ..." if len(shapes) > 6 else ""
    return (
        f"the module's parameters are {listed}{more}; laws of flowlaws.models.from_torch(module) "
        "use these names (e.g. 'layer1.0.weight[3,1]'); for laws of a model built another way "
        f"(from_graph, polynomials) pass mapping={{{variable!r}: ({first!r}, {index!r}), ...}} "
        "giving every law variable's parameter and index"
    )


def _resolve_entries(
    variables: Sequence[str], shapes: Mapping[str, tuple[int, ...]], mapping: Mapping[str, Any] | None
) -> list[tuple[str, tuple[int, ...]]]:
    """``(parameter name, index)`` of every law variable, by name; raises on anything unresolved."""
    seq = None
    out: list[tuple[str, tuple[int, ...]]] = []
    for var in variables:
        if mapping is not None:
            if var not in mapping:
                raise InvalidArgument(
                    f"law variable {var!r} has no entry in mapping: give mapping[{var!r}] = "
                    "(parameter name, index) for every law variable"
                )
            entry = mapping[var]
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str)):
                raise InvalidArgument(
                    f"mapping[{var!r}]={entry!r}: expected (parameter name, index), e.g. ('fc1.weight', (3, 1))"
                )
            name, index = entry
            if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
                index = (int(index),)
            if not isinstance(index, (tuple, list)) or not all(
                isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index
            ):
                raise InvalidArgument(f"mapping[{var!r}]={entry!r}: the index must be an int or a tuple of ints")
            index = tuple(int(i) for i in index)
            where = f"mapping[{var!r}]"
        else:
            m = _ENTRY.match(var)
            name = m["name"] if m else var
            index = tuple(int(i) for i in m["index"].split(",")) if (m and m["index"]) else ()
            where = f"law variable {var!r}"
            if m is None or name not in shapes:
                c = _CERT.match(var)
                if seq is None:
                    seq = _sequential_layers(shapes) or []
                if c is not None and seq and int(c["layer"]) <= len(seq):
                    # certificate names of a layered network: W_l / b_l are the l-th Linear
                    # layer of the nn.Sequential (its weight is out x in, as W_l)
                    key = seq[int(c["layer"]) - 1]
                    name = f"{key}.{'weight' if c['kind'] == 'W' else 'bias'}"
                    m2 = _ENTRY.match(f"{name}{c['rest'] or ''}")
                    index = tuple(int(i) for i in m2["index"].split(",")) if (m2 and m2["index"]) else ()
                    if m2 is None or name not in shapes:
                        raise InvalidArgument(
                            f"{where} is layer {c['layer']}'s {name!r}, which the module does not have; "
                            + _mapping_hint(var, shapes)
                        )
                else:
                    raise _Unnamed(f"{where} names no parameter of the module; " + _mapping_hint(var, shapes))
        if name not in shapes:
            raise InvalidArgument(f"{where}: the module has no parameter {name!r}; " + _mapping_hint(var, shapes))
        shape = shapes[name]
        if len(index) != len(shape):
            raise InvalidArgument(
                f"{where} has {len(index)} index(es) {list(index)} but {name!r} has shape {tuple(shape)} "
                f"({len(shape)} dimensions): the laws belong to a model with other layer shapes"
            )
        if any(not 0 <= i < n for i, n in zip(index, shape)):
            raise InvalidArgument(
                f"{where}: index {list(index)} is out of {name!r}'s shape {tuple(shape)}: "
                "the laws belong to a model with other layer sizes"
            )
        out.append((name, index))
    return out


class TorchLawMonitor(LawMonitor):
    """A :class:`LawMonitor` that reads its parameters from a PyTorch module, by name.

    Every law variable is matched to one entry of one tensor of
    ``module.named_parameters()``, by its name:

    * ``"<parameter>[i,j,...]"`` (the names of
      :func:`flowlaws.models.from_torch`, e.g. ``layer1.0.weight[3,1]`` or
      ``0.bias[2]``) is entry ``(i, j, ...)`` of that parameter;
    * ``"W<l>[i,j]"`` / ``"b<l>[i]"`` (the certificate names of
      :func:`flowlaws.models.mlp` and :class:`~flowlaws.dynamics.MLP`) are
      entries of the ``l``-th ``Linear`` layer's weight / bias, only for an
      ``nn.Sequential`` whose parameters are all ``<k>.weight`` / ``<k>.bias``;
    * anything else (e.g. laws of :func:`flowlaws.models.from_graph` models)
      needs ``mapping={law variable: (parameter name, index)}``.

    Nothing is matched by position; a name the module does not have, an
    index outside the tensor's shape or of the wrong arity, and two law
    variables on the same entry raise. Use :meth:`record` (no argument) inside
    your loop, or :meth:`attach` it to the optimizer so that every
    ``optimizer.step()`` records::

        mon = LawMonitor.from_torch(net, laws)
        mon.record()                 # theta_0
        mon.attach(optimizer)        # then train as usual
        ...
        print(mon.drift())

    Parameters
    ----------
    module : torch.nn.Module
        Anything with ``named_parameters()``.
    laws : sequence of Law
        Laws of one model.
    mapping : mapping of str to (str, tuple of int), optional
        ``{law variable: (parameter name, index)}`` for every law variable;
        then the laws may cover a subset of the parameters.

    Raises
    ------
    InvalidArgument
        Without ``mapping``: the module's parameter count differs from the
        laws' variable count, or a law variable names no parameter entry (the
        message says how to give ``mapping``). Always: a missing parameter,
        an index out of shape or of the wrong arity, two variables on one entry.
    """

    def __init__(self, module: Any, laws: Sequence[Law], *, mapping: Mapping[str, Any] | None = None) -> None:
        super().__init__(laws)
        if mapping is not None and not isinstance(mapping, Mapping):
            raise InvalidArgument(
                f"mapping={mapping!r} (type={type(mapping).__name__}): expected a dict "
                "{law variable: (parameter name, index)}"
            )
        self.module = module
        shapes = {name: tuple(_tensor(p).shape) for name, p in module.named_parameters()}
        n = sum(int(np.prod(sh, dtype=np.int64)) for sh in shapes.values())
        try:
            entries = _resolve_entries(self.variables, shapes, mapping) if self.laws else []
        except _Unnamed as err:  # the names are foreign: the message says how to give a mapping
            raise InvalidArgument(str(err)) from None
        except InvalidArgument as err:
            if mapping is None and n != self.size:
                raise self._count_error(n) from err
            raise
        direct = all((m := _ENTRY.match(v)) is not None and m["name"] in shapes for v in self.variables)
        if self.laws and mapping is None and n != self.size and not direct:
            # laws named by the module's own entries may leave some out (from_torch drops entries with
            # zero gradient, e.g. attention's key bias); certificate names W<l> must cover the module
            raise self._count_error(n)
        seen: dict[tuple[str, tuple[int, ...]], str] = {}
        for var, entry in zip(self.variables, entries):
            if entry in seen:
                raise InvalidArgument(
                    f"law variables {seen[entry]!r} and {var!r} both read {entry[0]}{list(entry[1])}: "
                    "each law variable must be its own parameter entry"
                )
            seen[entry] = var
        self.entries: tuple[tuple[str, tuple[int, ...]], ...] = tuple(entries)
        self._shapes = shapes
        groups: dict[str, tuple[list[int], list[int]]] = {}
        for k, (name, index) in enumerate(entries):
            pos, flat = groups.setdefault(name, ([], []))
            pos.append(k)
            flat.append(int(np.ravel_multi_index(index, shapes[name])) if index else 0)
        self._groups = {name: (np.array(p), np.array(f)) for name, (p, f) in groups.items()}

    def _count_error(self, n: int) -> InvalidArgument:
        return InvalidArgument(
            f"the module has {n} parameters but the laws are over {self.size} "
            "variables; build the laws from a model with the same layers and bias "
            "(flowlaws.models.from_torch(module)), or pass mapping= for laws on a subset"
        )

    def parameters(self) -> np.ndarray:
        """The module's current values of the law variables, in the laws' variable order (float64).

        Raises
        ------
        InvalidArgument
            A parameter the laws read disappeared or changed shape since the monitor was built.
        """
        current = dict(self.module.named_parameters())
        out = np.empty(self.size)
        for name, (pos, flat) in self._groups.items():
            if name not in current:
                raise InvalidArgument(f"the module no longer has parameter {name!r}; rebuild the monitor")
            arr = _tensor(current[name])
            if arr.shape != self._shapes[name]:
                raise InvalidArgument(
                    f"parameter {name!r} now has shape {arr.shape}, was {self._shapes[name]}; rebuild the monitor"
                )
            out[pos] = arr.ravel()[flat]
        return out

    def record(self, x: Any = None, *, step: float | None = None, t: float | None = None) -> np.ndarray:  # type: ignore[override]
        """Record the module's current parameters (or ``x``, in the laws' variable order, when given)."""
        return super().record(self.parameters() if x is None else x, step=step, t=t)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Record; the signature accepts any hook arguments (optimizer, args, kwargs)."""
        self.record()

    def attach(self, optimizer: Any) -> Any:
        """Record after every ``optimizer.step()`` (``register_step_post_hook``); returns the handle."""
        return optimizer.register_step_post_hook(self)
