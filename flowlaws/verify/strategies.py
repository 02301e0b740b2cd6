"""Hypothesis strategies for property tests of conservation laws.

Draw small architectures and the things that go with them, then check a
candidate law on every draw with the exact checker:

* models: :func:`mlps` (layered networks, ``flowlaws.models.mlp``),
  :func:`factorizations` (``U Vᵀ`` and ``U Uᵀ``), :func:`polynomial_models`
  (random polynomial maps, ``flowlaws.models.from_polynomials``);
* architectures as graphs: :func:`graphs` (``networkx.DiGraph`` DAGs in the
  format of ``flowlaws.models.from_graph``: skip connections, shared and
  fixed weights);
* for a given model: :func:`points` (integer or ``Fraction`` parameter
  points), :func:`loss_directions` (integer vectors in φ-space: the loss
  ``⟨c, φ(θ)⟩``), :func:`datasets` (small integer inputs and labels);
* :func:`given_model`: ``hypothesis.given`` for a model *and* values drawn
  for that model (a point, a loss direction, a data set).

Every strategy validates its arguments when it is called, not when it is
drawn from: a bad size raises :class:`~flowlaws.errors.InvalidArgument` naming
``name=value (type=...)`` and saying what to pass instead.

A property test of your own candidate law takes three lines:

>>> from hypothesis import given, settings
>>> from flowlaws.verify import assert_conserved
>>> from flowlaws.verify.strategies import mlps
>>> def my_law(model):  # first hidden neuron: |incoming|^2 - |outgoing|^2
...     n0, n1 = model.layers[0], model.layers[1]
...     incoming = " + ".join(f"W1[0,{j}]^2" for j in range(n0))
...     outgoing = " + ".join(f"W2[{i},0]^2" for i in range(model.layers[2]))
...     bias = " + b1[0]^2" if model.bias else ""
...     return f"{incoming}{bias} - ({outgoing})"
>>> @settings(max_examples=10, deadline=None, derandomize=True, database=None)
... @given(mlps(min_depth=2, activations=["relu"]))
... def test_my_law(model):
...     assert_conserved(model, my_law(model))
>>> test_my_law()            # passes: raises NotConserved with a counterexample otherwise

A wrong law fails with the drawn model and the exact counterexample:

>>> @settings(max_examples=10, deadline=None, derandomize=True, database=None)
... @given(mlps(min_depth=2, activations=["relu"]))
... def test_wrong_law(model):
...     assert_conserved(model, "W1[0,0]^2 - W2[0,0]^2")
>>> test_wrong_law()
Traceback (most recent call last):
...
flowlaws.verify.NotConserved: law W1[0,0]^2 - W2[0,0]^2 is not conserved by gradient flow: ...

(``deadline=None``: the first example of a session pays for importing SymPy
to parse a string law, which Hypothesis' default 200 ms deadline would
report as a flaky timing.) Sizes are validated at once:

>>> mlps(max_width=0)
Traceback (most recent call last):
...
flowlaws.errors.InvalidArgument: max_width=0 (type=int): must be at least 1; pass e.g. max_width=3

Notes
-----
This module is a test helper, not part of the checker. Drawing a model calls
the public builders of :mod:`flowlaws.models` (through ``import flowlaws``, on
first use), so unlike :func:`~flowlaws.verify.check_certificate` and
:func:`~flowlaws.verify.is_conserved` it does load the library's model layer;
the checker itself never imports this module. Hypothesis (the ``test``
extra) and networkx are imported when a strategy is first built.

What these strategies do not do: draw large models (exact checks expand
every path of a network, so sizes are capped, see :data:`MAX_PATHS`), or
draw parameter points on which a ReLU network has a particular activation
pattern (laws of gradient flow do not depend on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import InvalidArgument
from ._strategies_support import (
    MAX_PATHS, _activations, _describe, _flag, _model_variables, _models, _order, _paths, _phi_dim, _size, _st,
)

if TYPE_CHECKING:  # for annotations only: Hypothesis is imported when a strategy is built
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "MAX_PATHS",
    "mlps",
    "factorizations",
    "polynomial_models",
    "graphs",
    "points",
    "loss_directions",
    "datasets",
    "Dataset",
    "given_model",
]


# -- models -------------------------------------------------------------------------------
def mlps(
    *,
    min_depth: int = 1,
    max_depth: int = 3,
    min_width: int = 1,
    max_width: int = 4,
    activations: Sequence[str] | str = ("linear", "relu", "leaky_relu"),
    bias: bool | None = None,
    mixed: bool = True,
) -> SearchStrategy[Any]:
    """Fully connected networks ``flowlaws.models.mlp(widths, activation=..., bias=...)``.

    Parameters
    ----------
    min_depth, max_depth : int
        Number of weight layers ``L`` (``L - 1`` hidden layers); ``1 <= min_depth <= max_depth``.
    min_width, max_width : int
        Width of every layer, input and output included.
    activations : sequence of str
        Activations to draw from (``"linear"``, ``"relu"``, ``"leaky_relu"``).
    bias : bool or None
        Whether the layers have biases; ``None`` draws both.
    mixed : bool
        Draw an activation per hidden layer (``True``) or one for the whole network.

    Returns
    -------
    SearchStrategy of flowlaws.models.Model

    Raises
    ------
    flowlaws.errors.InvalidArgument
        A size that is not an int, out of order, or networks with more than
        :data:`MAX_PATHS` paths; an unknown activation.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, derandomize=True, database=None)
    ... @given(mlps(min_depth=2, max_depth=2, max_width=2, activations=["relu"], bias=False))
    ... def check(model):
    ...     assert len(model.layers) == 3 and model.activations == ("relu",) and not model.bias
    >>> check()
    >>> mlps(min_depth=3, max_depth=2)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: min_depth=3 > max_depth=2: min_depth must not exceed max_depth; raise max_depth or lower min_depth
    """
    min_depth = _size("min_depth", min_depth, lo=1, hi=8, example=1)
    max_depth = _size("max_depth", max_depth, lo=1, hi=8)
    _order("min_depth", min_depth, "max_depth", max_depth)
    min_width = _size("min_width", min_width, lo=1, example=1)
    max_width = _size("max_width", max_width, lo=1)
    _order("min_width", min_width, "max_width", max_width)
    _paths(max_width, max_depth + 1, f"max_width={max_width}, max_depth={max_depth}")
    acts = _activations(activations)
    bias = _flag("bias", bias, optional=True)
    mixed = bool(_flag("mixed", mixed))
    st = _st()

    @st.composite
    def draw_mlp(draw: Any) -> Any:
        depth = draw(st.integers(min_depth, max_depth))
        widths = [draw(st.integers(min_width, max_width)) for _ in range(depth + 1)]
        if mixed:
            chosen = [draw(st.sampled_from(acts)) for _ in range(depth - 1)]
        else:
            chosen = [draw(st.sampled_from(acts))] * (depth - 1)
        with_bias = draw(st.booleans()) if bias is None else bias
        return _models().mlp(widths, activation=chosen, bias=with_bias)

    return draw_mlp()


def factorizations(
    *, min_size: int = 1, max_size: int = 3, max_rank: int = 3, symmetric: bool | None = False
) -> SearchStrategy[Any]:
    """Matrix factorizations ``U Vᵀ`` (``flowlaws.models.factorization(n, r, m)``) or ``U Uᵀ``.

    Parameters
    ----------
    min_size, max_size : int
        Range of ``n`` and ``m`` (the rows of ``U`` and ``V``).
    max_rank : int
        ``r`` is drawn in ``[1, max_rank]``.
    symmetric : bool or None
        ``False``: ``U Vᵀ``; ``True``: ``U Uᵀ`` (``symmetric_factorization(n, r)``); ``None``: both.

    Returns
    -------
    SearchStrategy of flowlaws.models.Model

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Sizes that are not ints, below 1, above 12, or out of order.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(factorizations(min_size=2), lambda m: True).name
    'factorization:2x1x2'
    >>> factorizations(max_rank=2.0)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: max_rank=2.0 (type=float): expected an int; pass e.g. max_rank=3
    """
    min_size = _size("min_size", min_size, lo=1, hi=12, example=1)
    max_size = _size("max_size", max_size, lo=1, hi=12)
    _order("min_size", min_size, "max_size", max_size)
    max_rank = _size("max_rank", max_rank, lo=1, hi=12)
    symmetric = _flag("symmetric", symmetric, optional=True)
    st = _st()

    @st.composite
    def draw_factorization(draw: Any) -> Any:
        sym = draw(st.booleans()) if symmetric is None else symmetric
        n = draw(st.integers(min_size, max_size))
        r = draw(st.integers(1, max_rank))
        if sym:
            return _models().symmetric_factorization(n, r)
        m = draw(st.integers(min_size, max_size))
        return _models().factorization(n, r, m)

    return draw_factorization()


def polynomial_models(
    *,
    min_variables: int = 1,
    max_variables: int = 3,
    max_coordinates: int = 2,
    max_terms: int = 3,
    max_degree: int = 3,
    max_coefficient: int = 3,
) -> SearchStrategy[Any]:
    """Small random polynomial maps φ (``flowlaws.models.from_polynomials``).

    Variables are named ``x0, x1, ...``. Every coordinate has between 1 and
    ``max_terms`` terms, each a monomial of total degree 1 to ``max_degree``
    with a non-zero integer coefficient in ``[-max_coefficient, max_coefficient]``.

    Returns
    -------
    SearchStrategy of flowlaws.models.Model

    Raises
    ------
    flowlaws.errors.InvalidArgument
        A size that is not an int, below 1, above its cap, or out of order.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(polynomial_models(min_variables=2), lambda m: True).phi
    [x0]
    >>> polynomial_models(max_degree=0)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: max_degree=0 (type=int): must be at least 1; pass e.g. max_degree=3
    """
    min_variables = _size("min_variables", min_variables, lo=1, hi=12, example=1)
    max_variables = _size("max_variables", max_variables, lo=1, hi=12)
    _order("min_variables", min_variables, "max_variables", max_variables)
    max_coordinates = _size("max_coordinates", max_coordinates, lo=1, hi=12)
    max_terms = _size("max_terms", max_terms, lo=1, hi=12)
    max_degree = _size("max_degree", max_degree, lo=1, hi=8)
    max_coefficient = _size("max_coefficient", max_coefficient, lo=1, hi=10**6)
    st = _st()
    coefficients = st.integers(1, max_coefficient).flatmap(lambda c: st.sampled_from([c, -c]))

    @st.composite
    def draw_polynomials(draw: Any) -> Any:
        n = draw(st.integers(min_variables, max_variables))
        names = [f"x{i}" for i in range(n)]
        coords = []
        for _ in range(draw(st.integers(1, max_coordinates))):
            coord: dict[tuple[int, ...], int] = {}
            for _ in range(draw(st.integers(1, max_terms))):
                exps = [0] * n
                for _ in range(draw(st.integers(1, max_degree))):
                    exps[draw(st.integers(0, n - 1))] += 1
                coord[tuple(exps)] = draw(coefficients)
            coords.append(coord)
        return _models().from_polynomials(coords, variables=names)

    return draw_polynomials()


# -- graphs ------------------------------------------------------------------------------
def graphs(
    *,
    max_inputs: int = 2,
    max_hidden_layers: int = 2,
    max_width: int = 3,
    max_outputs: int = 2,
    activations: Sequence[str] | str = ("linear", "relu", "leaky_relu"),
    bias: bool | None = None,
    skip_connections: bool = True,
    shared: bool = True,
    fixed: bool = True,
) -> SearchStrategy[Any]:
    """Architectures as ``networkx.DiGraph`` DAGs (DESIGN section 6).

    Nodes are placed in layers (layer 0: inputs ``x0, x1, ...``; hidden
    layers: ``h{l}_{i}`` with a drawn ``activation``; last layer: outputs
    ``y0, ...``; optionally one bias node ``b`` of kind ``"bias"``); every
    node also carries its ``layer``. Every hidden or output node gets at least
    one incoming edge from an earlier layer (any earlier layer with
    ``skip_connections``, else the previous one) and every input or hidden
    node at least one outgoing edge, so every node lies on an input-to-output
    path and the graph is acyclic. Edges may carry ``param="s0"``, ``"s1"``...
    (shared between edges) or ``trainable=False`` with an optional positive
    exact ``value=`` (``1``, ``2`` or ``Fraction(1, 2)``); at least one edge
    is trainable, and other trainable edges get the default name
    ``w[u,v]``.

    Parameters
    ----------
    max_inputs, max_outputs : int
        At most this many input / output nodes (at least one of each).
    max_hidden_layers : int
        Hidden layers drawn in ``[0, max_hidden_layers]``.
    max_width : int
        Width of every hidden layer drawn in ``[1, max_width]``.
    activations : sequence of str
        Activations of hidden nodes, drawn per node.
    bias : bool or None
        Add a bias node (``None``: draw it).
    skip_connections, shared, fixed : bool
        Allow edges that jump layers, shared ``param`` names, fixed weights.

    Returns
    -------
    SearchStrategy of networkx.DiGraph

    Raises
    ------
    flowlaws.errors.InvalidArgument
        A size that is not an int, out of range, or too many paths; an unknown activation.

    Examples
    --------
    >>> import networkx as nx
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, derandomize=True, database=None)
    ... @given(graphs(activations=["relu"]))
    ... def check(G):
    ...     assert nx.is_directed_acyclic_graph(G)
    ...     assert {k for _, k in G.nodes(data="kind")} >= {"input", "output"}
    >>> check()
    >>> graphs(max_outputs=-1)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: max_outputs=-1 (type=int): must be at least 1; pass e.g. max_outputs=3
    """
    max_inputs = _size("max_inputs", max_inputs, lo=1, hi=8)
    max_hidden_layers = _size("max_hidden_layers", max_hidden_layers, lo=0, hi=6)
    max_width = _size("max_width", max_width, lo=1, hi=8)
    max_outputs = _size("max_outputs", max_outputs, lo=1, hi=8)
    # with skips, a path visits at most one node per layer: the total of the
    # widths bounds the count of nodes, the product of (1 + width) the paths
    widest = max(max_inputs, max_width, max_outputs) + 1
    _paths(widest, max_hidden_layers + 2, f"max_width={max_width}, max_hidden_layers={max_hidden_layers}")
    acts = _activations(activations)
    bias = _flag("bias", bias, optional=True)
    skips = bool(_flag("skip_connections", skip_connections))
    shared = bool(_flag("shared", shared))
    fixed = bool(_flag("fixed", fixed))
    st = _st()
    kinds = ["own"] + (["shared"] if shared else []) + (["fixed"] if fixed else [])
    values = st.sampled_from([None, 1, 2, Fraction(1, 2)])

    @st.composite
    def draw_graph(draw: Any) -> Any:
        import networkx as nx

        G = nx.DiGraph()
        hidden = draw(st.integers(0, max_hidden_layers))
        sizes = [draw(st.integers(1, max_inputs))]
        sizes += [draw(st.integers(1, max_width)) for _ in range(hidden)]
        sizes.append(draw(st.integers(1, max_outputs)))
        last = len(sizes) - 1
        layers: list[list[str]] = []
        for l, size in enumerate(sizes):
            names = []
            for i in range(size):
                if l == 0:
                    name = f"x{i}"
                    G.add_node(name, kind="input", layer=0)
                elif l == last:
                    name = f"y{i}"
                    G.add_node(name, kind="output", layer=l)
                else:
                    name = f"h{l}_{i}"
                    G.add_node(name, kind="hidden", activation=draw(st.sampled_from(acts)), layer=l)
                names.append(name)
            layers.append(names)
        edges: list[tuple[str, str]] = []
        for l in range(1, last + 1):
            earlier = [u for k in range(l) for u in layers[k]] if skips else layers[l - 1]
            for v in layers[l]:
                for u in draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=len(earlier), unique=True)):
                    edges.append((u, v))
        for l in range(last):
            later = [v for k in range(l + 1, last + 1) for v in layers[k]] if skips else layers[l + 1]
            for u in layers[l]:
                if not any(a == u for a, _ in edges):
                    edges.append((u, draw(st.sampled_from(later))))
        if bias if bias is not None else draw(st.booleans()):
            G.add_node("b", kind="bias", layer=0)
            targets = [v for k in range(1, last + 1) for v in layers[k]]
            edges += [("b", v) for v in draw(st.lists(st.sampled_from(targets), min_size=1, unique=True))]
        n_shared = draw(st.integers(1, 3))
        chosen = [draw(st.sampled_from(kinds)) for _ in edges]
        if all(k == "fixed" for k in chosen):
            chosen[draw(st.integers(0, len(edges) - 1))] = "own"
        for (u, v), kind in zip(edges, chosen):
            if kind == "own":
                G.add_edge(u, v)
            elif kind == "shared":
                G.add_edge(u, v, param=f"s{draw(st.integers(0, n_shared - 1))}")
            else:
                value = draw(values)
                if value is None:
                    G.add_edge(u, v, trainable=False)
                else:
                    G.add_edge(u, v, trainable=False, value=value)
        return G

    return draw_graph()


# -- values for a model ----------------------------------------------------------------------
def points(
    model: Any,
    *,
    integer: bool = True,
    max_value: int = 3,
    max_denominator: int = 4,
    nonzero: bool = False,
    as_dict: bool = True,
) -> SearchStrategy[Any]:
    """Exact parameter points of ``model``: ints, or ``Fraction`` values.

    Parameters
    ----------
    model : flowlaws model
        Anything with ``.variables``.
    integer : bool
        Integers in ``[-max_value, max_value]`` (``True``) or fractions
        ``a / b`` with ``1 <= b <= max_denominator`` and ``|a / b| <= max_value``.
    nonzero : bool
        Exclude 0 (a generic point for ReLU-type laws).
    as_dict : bool
        ``{name: value}`` in the model's parameter order (``True``) or a tuple.

    Returns
    -------
    SearchStrategy of dict or tuple

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Not a model, a bound that is not an int or below 1.

    Examples
    --------
    >>> import flowlaws as fl
    >>> from hypothesis import find
    >>> m = fl.models.mlp([1, 1, 1])
    >>> find(points(m, nonzero=True), lambda p: True)
    {'W1[0,0]': 1, 'W2[0,0]': 1}
    >>> p = find(points(m, integer=False, as_dict=False), lambda p: p[0].denominator > 1)
    >>> [type(x).__name__ for x in p], p[0].denominator > 1
    (['Fraction', 'Fraction'], True)
    """
    variables = _model_variables(model)
    integer = bool(_flag("integer", integer))
    max_value = _size("max_value", max_value, lo=1, hi=10**9)
    max_denominator = _size("max_denominator", max_denominator, lo=1, hi=10**6, example=4)
    nonzero = bool(_flag("nonzero", nonzero))
    as_dict = bool(_flag("as_dict", as_dict))
    st = _st()
    if integer:
        value = st.integers(-max_value, max_value)
    else:
        value = st.fractions(min_value=-max_value, max_value=max_value, max_denominator=max_denominator)
    if nonzero:
        value = value.filter(bool)
    coords = st.tuples(*[value for _ in variables])
    if as_dict:
        return coords.map(lambda xs: dict(zip(variables, xs)))
    return coords


def loss_directions(model: Any, *, max_value: int = 3) -> SearchStrategy[Any]:
    """Non-zero integer vectors ``c`` in φ-space: the linear loss ``L(θ) = ⟨c, φ(θ)⟩``.

    Its gradient ``Σ_k c_k ∇φ_k`` is one velocity of gradient flow, so every
    conservation law ``h`` satisfies ``⟨∇h(θ), Σ_k c_k ∇φ_k(θ)⟩ = 0`` at every
    point ``θ``. The length of ``c`` is the number of coordinates of φ as
    the checker builds it (``docs/certificate-format.md``).

    Parameters
    ----------
    model : flowlaws model
        Anything with ``.variables`` and ``.to_json()``.
    max_value : int
        Entries in ``[-max_value, max_value]``.

    Returns
    -------
    SearchStrategy of tuple of int

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Not a model, ``max_value`` not an int >= 1.
    flowlaws.errors.BudgetExceeded
        A network with more paths than the checker expands.

    Examples
    --------
    >>> import flowlaws as fl
    >>> from hypothesis import find
    >>> find(loss_directions(fl.models.mlp([2, 2, 1], activation="relu")), lambda c: True)
    (0, 0, 0, 1)
    """
    n = _phi_dim(model)
    max_value = _size("max_value", max_value, lo=1, hi=10**9)
    st = _st()
    return st.tuples(*[st.integers(-max_value, max_value) for _ in range(n)]).filter(any)


class Dataset(NamedTuple):
    """A small integer data set: ``X`` of shape ``(n, inputs)``, ``y`` of shape ``(n, outputs)`` (NumPy int64)."""

    X: Any
    y: Any


def datasets(
    model: Any = None,
    *,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
    min_samples: int = 1,
    max_samples: int = 4,
    max_value: int = 3,
    labels: str = "integer",
) -> SearchStrategy[Any]:
    """Small integer data sets ``Dataset(X, y)`` as NumPy int64 arrays.

    Parameters
    ----------
    model : flowlaws network model, optional
        Takes ``n_inputs`` and ``n_outputs`` from ``model.layers``.
    n_inputs, n_outputs : int, optional
        Sizes when there is no model (``n_outputs`` defaults to 1).
    min_samples, max_samples : int
        Number of rows.
    max_value : int
        Entries of ``X`` (and integer labels) in ``[-max_value, max_value]``.
    labels : {"integer", "sign"}
        Integer labels, or labels in ``{-1, 1}`` (logistic / exponential losses).

    Returns
    -------
    SearchStrategy of Dataset

    Raises
    ------
    flowlaws.errors.InvalidArgument
        Neither a network model nor ``n_inputs``; sizes out of range; an unknown ``labels``.

    Examples
    --------
    >>> import flowlaws as fl
    >>> from hypothesis import find
    >>> X, y = find(datasets(fl.models.mlp([3, 2, 1]), labels="sign"), lambda d: True)
    >>> X.shape, y.shape, X.dtype.name, set(y.ravel()) <= {-1, 1}
    ((1, 3), (1, 1), 'int64', True)
    >>> datasets(n_outputs=2)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: datasets(): pass a network model or n_inputs=..., e.g. datasets(n_inputs=3)
    """
    if model is not None:
        layers = getattr(model, "layers", None)
        if not layers:
            raise InvalidArgument(
                f"model={model!r} (type={type(model).__name__}): datasets() takes its sizes from a layered "
                "network (model.layers); for other models pass n_inputs=... and n_outputs=..."
            )
        if n_inputs is None:
            n_inputs = int(layers[0])
        if n_outputs is None:
            n_outputs = int(layers[-1])
    if n_inputs is None:
        raise InvalidArgument("datasets(): pass a network model or n_inputs=..., e.g. datasets(n_inputs=3)")
    n_inputs = _size("n_inputs", n_inputs, lo=1, hi=10_000)
    n_outputs = _size("n_outputs", 1 if n_outputs is None else n_outputs, lo=1, hi=10_000, example=1)
    min_samples = _size("min_samples", min_samples, lo=1, hi=10_000, example=1)
    max_samples = _size("max_samples", max_samples, lo=1, hi=10_000)
    _order("min_samples", min_samples, "max_samples", max_samples)
    max_value = _size("max_value", max_value, lo=1, hi=10**9)
    if labels not in ("integer", "sign"):
        raise InvalidArgument(f"{_describe('labels', labels)}: expected 'integer' or 'sign'")
    st = _st()
    from hypothesis.extra.numpy import arrays

    entries = st.integers(-max_value, max_value)
    label_entries = entries if labels == "integer" else st.sampled_from([-1, 1])

    @st.composite
    def draw_dataset(draw: Any) -> Dataset:
        n = draw(st.integers(min_samples, max_samples))
        X = draw(arrays("int64", (n, n_inputs), elements=entries))
        y = draw(arrays("int64", (n, n_outputs), elements=label_entries))
        return Dataset(X, y)

    return draw_dataset()


# -- given_model ---------------------------------------------------------------------------
def given_model(models: Any = None, /, **draws: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``hypothesis.given`` for a model and values drawn *for that model*.

    The decorated test receives ``model`` and one argument per keyword of
    ``draws``. A keyword's value is either a function ``model -> strategy``
    (such as :func:`points`, :func:`loss_directions`, :func:`datasets`, or a
    ``lambda m: points(m, integer=False)``), drawn after the model, or a plain
    strategy, drawn independently. Other arguments of the test (pytest
    fixtures, ``self``) are left to pytest.

    Parameters
    ----------
    models : SearchStrategy, optional
        Strategy of models (default :func:`mlps`).
    **draws : callable or SearchStrategy
        Names and how to draw them.

    Returns
    -------
    decorator

    Raises
    ------
    flowlaws.errors.InvalidArgument
        ``models`` or a draw is not a strategy (or callable), a draw is called ``model``,
        or the test does not take ``model`` and every drawn name.

    Examples
    --------
    Every law is orthogonal to every loss direction at every point:

    >>> from hypothesis import settings
    >>> from flowlaws.verify.strategies import given_model, loss_directions, mlps, points
    >>> @settings(max_examples=5, derandomize=True, database=None)
    ... @given_model(mlps(min_depth=2, max_depth=2, max_width=2, activations=["relu"]),
    ...              point=points, c=loss_directions)
    ... def test_orthogonal(model, point, c):
    ...     assert len(point) == model.dim and len(c) >= 1
    >>> test_orthogonal()
    """
    import inspect

    st = _st()
    from hypothesis import given
    from hypothesis.strategies import SearchStrategy

    base = mlps() if models is None else models
    if not isinstance(base, SearchStrategy):
        raise InvalidArgument(
            f"{_describe('models', models)}: expected a strategy of models, e.g. given_model(mlps())"
        )
    if "model" in draws:
        raise InvalidArgument("given_model(model=...): 'model' is the drawn model itself; pass its strategy first")
    for name, how in draws.items():
        if not (isinstance(how, SearchStrategy) or callable(how)):
            raise InvalidArgument(
                f"{_describe(name, how)}: expected a strategy or a function model -> strategy, e.g. {name}=points"
            )
    names = ["model", *draws]

    @st.composite
    def case(draw: Any) -> dict[str, Any]:
        model = draw(base)
        out = {"model": model}
        for name, how in draws.items():
            out[name] = draw(how if isinstance(how, SearchStrategy) else how(model))
        return out

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(test)
        missing = [n for n in names if n not in sig.parameters]
        if missing:
            raise InvalidArgument(
                f"test {getattr(test, '__name__', test)!r} does not take {missing}; "
                f"declare it as def {getattr(test, '__name__', 'test')}({', '.join(names)}): ..."
            )
        P = inspect.Parameter
        kept = [p for n, p in sig.parameters.items() if n not in names]
        outer = sig.replace(parameters=kept)
        extra = P("_flowlaws_case", P.KEYWORD_ONLY)
        var_kw = [p for p in kept if p.kind is P.VAR_KEYWORD]
        shown = [p for p in kept if p.kind is not P.VAR_KEYWORD] + [extra] + var_kw

        def run(*args: Any, _flowlaws_case: dict[str, Any], **kwargs: Any) -> Any:
            # rebuild the call of the test from its own signature: drawn values by name,
            # the others (fixtures, self) where pytest or Hypothesis put them
            values = dict(outer.bind(*args, **kwargs).arguments)
            values.update(_flowlaws_case)
            call_args: list[Any] = []
            call_kwargs: dict[str, Any] = {}
            positional = True
            for name, p in sig.parameters.items():
                if p.kind is P.VAR_POSITIONAL:
                    call_args.extend(values.get(name, ()))
                elif p.kind is P.VAR_KEYWORD:
                    call_kwargs.update(values.get(name, {}))
                elif name not in values:
                    positional = False  # left to its default
                elif p.kind is P.POSITIONAL_ONLY or (p.kind is P.POSITIONAL_OR_KEYWORD and positional):
                    call_args.append(values[name])
                else:
                    call_kwargs[name] = values[name]
            return test(*call_args, **call_kwargs)

        run.__signature__ = sig.replace(parameters=shown)  # type: ignore[attr-defined]
        for attr in ("__name__", "__qualname__", "__module__", "__doc__"):
            if hasattr(test, attr):
                setattr(run, attr, getattr(test, attr))
        run.__dict__.update(test.__dict__)  # pytest marks and @settings applied below us
        return given(_flowlaws_case=case())(run)

    return decorate
