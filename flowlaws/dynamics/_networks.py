"""Layered networks in NumPy (float64): forward pass, losses and gradients.

The flat parameter vector follows the certificate format exactly
(``docs/certificate-format.md``): for ``l = 1..L`` the weights ``W{l}``
(``n_l x n_{l-1}``, row-major, named ``W{l}[i,j]``) then, with biases,
``b{l}`` (named ``b{l}[i]``). So a law found by the engine for a
``Model`` indexes the same coordinates as :class:`MLP`.

This module does not check that the data are finite, nor that the labels of
the logistic and exponential losses are ``+-1``: it computes what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument, UnsupportedArchitecture
from flowlaws.laws import Law

__all__ = ["MLP", "network_from_model", "balancedness_laws", "ACTIVATIONS", "LOSSES"]

ACTIVATIONS = ("linear", "relu", "leaky_relu")
LOSSES = ("logistic", "exponential", "squared")


def _check_layers(layers: Any) -> tuple[int, ...]:
    try:
        widths = tuple(layers)
    except TypeError as err:
        raise InvalidArgument(
            f"layers={layers!r} (type={type(layers).__name__}): expected a list of "
            "layer widths such as [3, 5, 1]"
        ) from err
    if len(widths) < 2:
        raise InvalidArgument(
            f"layers={list(widths)!r}: a network needs an input and an output width, "
            "e.g. [3, 1]"
        )
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise InvalidArgument(
                f"layers={list(widths)!r}: every width must be an int >= 1 "
                f"(got {w!r}, type={type(w).__name__})"
            )
    return tuple(int(w) for w in widths)


def _check_activations(activations: Any, n_hidden: int) -> tuple[str, ...]:
    if isinstance(activations, str):
        acts: tuple[str, ...] = (activations,) * n_hidden
    else:
        acts = tuple(activations)
    if len(acts) != n_hidden:
        raise InvalidArgument(
            f"activations={list(acts)!r}: expected one activation per hidden layer "
            f"({n_hidden}), or a single string for all of them"
        )
    for a in acts:
        if a not in ACTIVATIONS:
            raise UnsupportedArchitecture(
                f"activation={a!r}: not supported; use one of {', '.join(ACTIVATIONS)}"
            )
    return acts


class MLP:
    """A fully connected layered network with a flat float64 parameter vector.

    Parameters
    ----------
    layers : sequence of int
        Widths ``n_0, ..., n_L`` (input first, output last), each ``>= 1``.
    activations : str or sequence of str
        One of ``"linear"``, ``"relu"``, ``"leaky_relu"`` per hidden layer
        (a single string applies to all). The output layer is linear.
    bias : bool
        Whether every layer has a bias vector.
    negative_slope : float
        The slope ``gamma`` of ``leaky_relu(z) = max(gamma z, z)``, in ``[0, 1)``.

    Raises
    ------
    InvalidArgument
        Bad widths, activation count or slope.
    UnsupportedArchitecture
        An unknown activation name.

    Notes
    -----
    The derivative of ``relu`` / ``leaky_relu`` at ``0`` is taken as ``0`` /
    ``gamma`` (the left one). The parameter order is the certificate's:
    ``W1, b1, W2, b2, ...`` with ``W{l}`` row-major ``n_l x n_{l-1}``.

    Examples
    --------
    >>> net = MLP([2, 3, 1], "relu", bias=True)
    >>> net.dim, net.variables[:3], net.variables[6:9]
    (13, ('W1[0,0]', 'W1[0,1]', 'W1[1,0]'), ('b1[0]', 'b1[1]', 'b1[2]'))
    >>> theta = net.init(seed=0)
    >>> net.forward(theta, np.ones((4, 2))).shape
    (4, 1)
    """

    def __init__(
        self,
        layers: Sequence[int],
        activations: str | Sequence[str] = "relu",
        bias: bool = False,
        *,
        negative_slope: float = 0.01,
    ) -> None:
        self.layers: tuple[int, ...] = _check_layers(layers)
        self.activations: tuple[str, ...] = _check_activations(
            activations, len(self.layers) - 2
        )
        if not isinstance(bias, (bool, np.bool_)):
            raise InvalidArgument(f"bias={bias!r} (type={type(bias).__name__}): expected a bool")
        self.bias = bool(bias)
        slope = float(negative_slope)
        if not 0.0 <= slope < 1.0:
            raise InvalidArgument(
                f"negative_slope={negative_slope!r}: expected a float in [0, 1)"
            )
        self.negative_slope = slope
        blocks: list[tuple[str, tuple[int, ...]]] = []
        for l in range(1, len(self.layers)):
            blocks.append((f"W{l}", (self.layers[l], self.layers[l - 1])))
            if self.bias:
                blocks.append((f"b{l}", (self.layers[l],)))
        self.blocks: tuple[tuple[str, tuple[int, ...]], ...] = tuple(blocks)
        slices: dict[str, slice] = {}
        names: list[str] = []
        pos = 0
        for name, shape in blocks:
            size = int(np.prod(shape))
            slices[name] = slice(pos, pos + size)
            pos += size
            if len(shape) == 2:
                names.extend(f"{name}[{i},{j}]" for i in range(shape[0]) for j in range(shape[1]))
            else:
                names.extend(f"{name}[{i}]" for i in range(shape[0]))
        self.slices = slices
        self.dim = pos
        self.variables: tuple[str, ...] = tuple(names)
        self._name_index = {v: k for k, v in enumerate(names)}

    # ------------------------------------------------------------------ layout
    @property
    def depth(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.layers) - 1

    def __repr__(self) -> str:
        return (
            f"MLP(layers={list(self.layers)}, activations={list(self.activations)}, "
            f"bias={self.bias}, negative_slope={self.negative_slope})"
        )

    def index(self, name: str) -> int:
        """Position of the parameter called ``name`` (e.g. ``"W2[0,1]"``) in the flat vector.

        Examples
        --------
        >>> MLP([2, 2, 1], "relu").index("W2[0,1]")
        5
        """
        try:
            return self._name_index[name]
        except KeyError:
            raise InvalidArgument(
                f"name={name!r}: no such parameter; names look like "
                f"{self.variables[0]!r}"
            ) from None

    def _theta(self, theta: Any) -> np.ndarray:
        arr = np.asarray(theta, dtype=np.float64)
        if arr.shape != (self.dim,):
            raise InvalidArgument(
                f"theta has shape {arr.shape}: expected ({self.dim},) for {self!r}"
            )
        return arr

    def unpack(self, theta: Any) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Views ``[(W1, b1), (W2, b2), ...]`` into ``theta`` (``b`` is ``None`` without biases)."""
        theta = self._theta(theta)
        out = []
        for l in range(1, len(self.layers)):
            W = theta[self.slices[f"W{l}"]].reshape(self.layers[l], self.layers[l - 1])
            b = theta[self.slices[f"b{l}"]] if self.bias else None
            out.append((W, b))
        return out

    def pack(
        self, weights: Sequence[Any], biases: Sequence[Any] | None = None
    ) -> np.ndarray:
        """The flat vector of the given weight matrices (and bias vectors).

        Examples
        --------
        >>> net = MLP([1, 2, 1], "linear")
        >>> net.pack([[[1.0], [2.0]], [[3.0, 4.0]]]).tolist()
        [1.0, 2.0, 3.0, 4.0]
        """
        if len(weights) != self.depth:
            raise InvalidArgument(
                f"got {len(weights)} weight matrices: expected {self.depth}"
            )
        if self.bias and (biases is None or len(biases) != self.depth):
            raise InvalidArgument(f"this network has biases: pass {self.depth} bias vectors")
        theta = np.empty(self.dim)
        for l in range(1, self.depth + 1):
            W = np.asarray(weights[l - 1], dtype=np.float64)
            shape = (self.layers[l], self.layers[l - 1])
            if W.shape != shape:
                raise InvalidArgument(f"W{l} has shape {W.shape}: expected {shape}")
            theta[self.slices[f"W{l}"]] = W.ravel()
            if self.bias:
                assert biases is not None
                b = np.asarray(biases[l - 1], dtype=np.float64)
                if b.shape != (self.layers[l],):
                    raise InvalidArgument(f"b{l} has shape {b.shape}: expected ({self.layers[l]},)")
                theta[self.slices[f"b{l}"]] = b
        return theta

    def mask(self, blocks: Sequence[str]) -> np.ndarray:
        """Boolean mask of the coordinates of the named blocks (``"W2"``, ``"b1"``, ...).

        Examples
        --------
        >>> MLP([1, 2, 1], "relu").mask(["W2"]).tolist()
        [False, False, True, True]
        """
        out = np.zeros(self.dim, dtype=bool)
        for name in blocks:
            if name not in self.slices:
                raise InvalidArgument(
                    f"block={name!r}: no such parameter block; this network has "
                    f"{', '.join(self.slices)}"
                )
            out[self.slices[name]] = True
        return out

    def init(
        self,
        *,
        scale: float | Sequence[float] = 1.0,
        seed: int | np.random.Generator | None = 0,
    ) -> np.ndarray:
        """A random parameter vector with i.i.d. ``N(0, scale**2)`` entries.

        ``scale`` may be one float per weight layer (biases of layer ``l`` use
        the scale of ``W{l}``).
        """
        rng = np.random.default_rng(seed)
        if isinstance(scale, (int, float, np.integer, np.floating)):
            scales = [float(scale)] * self.depth
        else:
            scales = [float(s) for s in scale]
        if len(scales) != self.depth:
            raise InvalidArgument(f"scale={scale!r}: expected a float or {self.depth} floats")
        theta = np.empty(self.dim)
        for l in range(1, self.depth + 1):
            for name in (f"W{l}", f"b{l}"):
                if name in self.slices:
                    s = self.slices[name]
                    theta[s] = scales[l - 1] * rng.standard_normal(s.stop - s.start)
        return theta

    # ------------------------------------------------------------ evaluation
    def _act(self, name: str, z: np.ndarray) -> np.ndarray:
        if name == "relu":
            return np.maximum(z, 0.0)
        if name == "leaky_relu":
            return np.where(z > 0, z, self.negative_slope * z)
        return z

    def _dact(self, name: str, z: np.ndarray) -> np.ndarray:
        if name == "relu":
            return (z > 0).astype(np.float64)
        if name == "leaky_relu":
            return np.where(z > 0, 1.0, self.negative_slope)
        return np.ones_like(z)

    def _inputs(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.layers[0]:
            raise InvalidArgument(
                f"X has shape {X.shape}: expected (n, {self.layers[0]}) for {self!r}"
            )
        return X

    def _forward(self, theta: Any, X: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        params = self.unpack(theta)
        h = self._inputs(X)
        hs, zs = [h], []
        for l, (W, b) in enumerate(params, start=1):
            z = h @ W.T
            if b is not None:
                z = z + b
            zs.append(z)
            h = self._act(self.activations[l - 1], z) if l < self.depth else z
            hs.append(h)
        return hs, zs

    def forward(self, theta: Any, X: Any) -> np.ndarray:
        """Outputs ``f(theta, x_i)`` as an ``(n, n_L)`` array.

        Examples
        --------
        >>> net = MLP([1, 1, 1], "relu")
        >>> net.forward(np.array([2.0, 3.0]), [[1.0], [-1.0]]).ravel().tolist()
        [6.0, 0.0]
        """
        return self._forward(theta, X)[0][-1]

    __call__ = forward

    def _loss_and_dout(
        self, out: np.ndarray, y: Any, loss: str
    ) -> tuple[float, np.ndarray]:
        n = out.shape[0]
        y = np.asarray(y, dtype=np.float64)
        if loss in ("logistic", "exponential"):
            if out.shape[1] != 1:
                raise InvalidArgument(
                    f"loss={loss!r} needs a scalar output; this network has {out.shape[1]}"
                )
            y = y.reshape(n)
            q = y * out[:, 0]
            if loss == "logistic":
                value = float(np.mean(np.logaddexp(0.0, -q)))
                dq = -np.exp(-np.logaddexp(0.0, q))  # -sigmoid(-q)
            else:
                e = np.exp(-q)
                value = float(np.mean(e))
                dq = -e
            return value, (dq * y / n)[:, None]
        if loss == "squared":
            y = y.reshape(out.shape)
            r = out - y
            return float(0.5 * np.sum(r * r) / n), r / n
        raise InvalidArgument(f"loss={loss!r}: use one of {', '.join(LOSSES)}")

    def loss(self, theta: Any, X: Any, y: Any, *, loss: str = "logistic") -> float:
        """Mean loss over the samples.

        ``"logistic"``: ``log(1 + exp(-y f))``; ``"exponential"``: ``exp(-y f)``
        (labels ``+-1``, scalar output); ``"squared"``: ``||f - y||^2 / 2``.
        """
        return self._loss_and_dout(self.forward(theta, X), y, loss)[0]

    def loss_grad(
        self, theta: Any, X: Any, y: Any, *, loss: str = "logistic"
    ) -> tuple[float, np.ndarray]:
        """The mean loss and its gradient with respect to the flat parameters.

        Examples
        --------
        >>> net = MLP([2, 3, 1], "leaky_relu", bias=True)
        >>> theta = net.init(seed=1)
        >>> X, y = np.eye(2), np.array([1.0, -1.0])
        >>> value, g = net.loss_grad(theta, X, y)
        >>> g.shape == (net.dim,)
        True
        """
        hs, zs = self._forward(theta, X)
        value, delta = self._loss_and_dout(hs[-1], y, loss)
        params = self.unpack(theta)
        grad = np.empty(self.dim)
        for l in range(self.depth, 0, -1):
            W, _ = params[l - 1]
            grad[self.slices[f"W{l}"]] = (delta.T @ hs[l - 1]).ravel()
            if self.bias:
                grad[self.slices[f"b{l}"]] = delta.sum(axis=0)
            if l > 1:
                delta = (delta @ W) * self._dact(self.activations[l - 2], zs[l - 2])
        return value, grad

    def gradient_fn(
        self,
        X: Any,
        y: Any,
        *,
        loss: str = "logistic",
        frozen: Sequence[str] = (),
    ) -> Callable[[np.ndarray], np.ndarray]:
        """``grad(theta)`` of the mean loss on ``(X, y)``, for the integrators.

        Parameters
        ----------
        frozen : sequence of str
            Blocks (``"W2"``, ``"b1"``, ...) whose gradient is set to zero, so
            they keep their initial values.

        Examples
        --------
        >>> net = MLP([2, 2, 1], "relu")
        >>> grad = net.gradient_fn(np.eye(2), [1.0, -1.0], frozen=["W2"])
        >>> bool(np.all(grad(net.init(seed=0))[net.mask(["W2"])] == 0))
        True
        """
        X = self._inputs(X)
        y = np.asarray(y, dtype=np.float64)
        keep = ~self.mask(frozen) if frozen else None
        self._loss_and_dout(np.zeros((X.shape[0], self.layers[-1])), y, loss)  # validate

        def grad(theta: np.ndarray) -> np.ndarray:
            g = self.loss_grad(theta, X, y, loss=loss)[1]
            if keep is not None:
                g = g * keep
            return g

        return grad

    def output_jacobian(self, theta: Any, X: Any) -> np.ndarray:
        """Per-sample gradients ``d f(theta, x_i) / d theta`` as an ``(n, dim)`` array.

        Only for networks with one output.

        Examples
        --------
        >>> net = MLP([1, 1, 1], "linear")
        >>> net.output_jacobian(np.array([2.0, 3.0]), [[1.0]]).tolist()
        [[3.0, 2.0]]
        """
        if self.layers[-1] != 1:
            raise InvalidArgument(
                f"output_jacobian needs one output; this network has {self.layers[-1]}"
            )
        hs, zs = self._forward(theta, X)
        n = hs[0].shape[0]
        params = self.unpack(theta)
        J = np.empty((n, self.dim))
        delta = np.ones((n, 1))
        for l in range(self.depth, 0, -1):
            W, _ = params[l - 1]
            J[:, self.slices[f"W{l}"]] = (delta[:, :, None] * hs[l - 1][:, None, :]).reshape(n, -1)
            if self.bias:
                J[:, self.slices[f"b{l}"]] = delta
            if l > 1:
                delta = (delta @ W) * self._dact(self.activations[l - 2], zs[l - 2])
        return J


def network_from_model(model: Any, *, negative_slope: float = 0.01) -> MLP:
    """The NumPy :class:`MLP` of a layered-network ``Model`` (duck typed).

    Reads the attributes ``layers``, ``activations`` and ``bias`` and checks
    that the model's ``variables`` (when present) are in the certificate order
    used here, so that laws of the model index the same coordinates.

    Parameters
    ----------
    model : object
        Anything with ``layers``, ``activations`` and ``bias`` attributes, such
        as ``flowlaws.models.mlp([3, 3, 1], activation="relu")``.
    negative_slope : float
        ``gamma`` for ``leaky_relu`` layers (exact models leave it free).

    Raises
    ------
    UnsupportedArchitecture
        The model is not a layered network (``kind != "network"`` or no
        ``layers`` / ``activations`` / ``bias``).
    InvalidArgument
        The model's variable names differ from the certificate order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(layers=[2, 2, 1], activations=["relu"], bias=False)
    >>> network_from_model(m).dim
    6
    """
    kind = getattr(model, "kind", "network")
    if kind != "network" or any(getattr(model, a, None) is None for a in ("layers", "activations", "bias")):
        raise UnsupportedArchitecture(
            f"model={model!r} (type={type(model).__name__}) is not a layered network "
            "(needs layers, activations and bias attributes); build one with "
            "flowlaws.models.mlp(...) or MLP(layers, activations, bias)"
        )
    net = MLP(model.layers, list(model.activations), bool(model.bias), negative_slope=negative_slope)
    variables = getattr(model, "variables", None)
    if variables is not None and tuple(str(v) for v in variables) != net.variables:
        raise InvalidArgument(
            f"model.variables={tuple(variables)[:4]!r}... do not follow the certificate "
            f"order {net.variables[:4]!r}...; laws of this model would index other "
            "coordinates"
        )
    dim = getattr(model, "dim", None)
    if dim is not None and int(dim) != net.dim:
        raise InvalidArgument(f"model.dim={dim!r}: expected {net.dim} for layers {list(net.layers)}")
    return net


def balancedness_laws(network: MLP | Any) -> list[Law]:
    """The known gradient-flow laws of a layered network, as exact :class:`Law` objects.

    For a hidden ``relu`` / ``leaky_relu`` neuron ``i`` of layer ``l``:
    ``||incoming weights||^2 + b_l[i]^2 - ||outgoing weights||^2`` (one law per
    neuron). For a ``linear`` hidden layer: every entry ``(i, k), i <= k`` of
    ``[W_l b_l][W_l b_l]^T - W_{l+1}^T W_{l+1}``. These are conserved by
    gradient flow for every loss and data set (DESIGN section 4); they are not
    claimed to be a complete or independent list for linear layers.

    Parameters
    ----------
    network : MLP or Model
        A layered network (a ``Model`` is converted with :func:`network_from_model`).

    Examples
    --------
    >>> laws = balancedness_laws(MLP([2, 1, 1], "relu"))
    >>> [str(h) for h in laws]
    ['W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2']
    """
    net = network if isinstance(network, MLP) else network_from_model(network)
    laws: list[Law] = []
    for l in range(1, net.depth):
        n_in, n_mid, n_out = net.layers[l - 1], net.layers[l], net.layers[l + 1]

        def incoming(i: int) -> list[int]:
            idx = [net.index(f"W{l}[{i},{j}]") for j in range(n_in)]
            if net.bias:
                idx.append(net.index(f"b{l}[{i}]"))
            return idx

        def outgoing(i: int) -> list[int]:
            return [net.index(f"W{l + 1}[{r},{i}]") for r in range(n_out)]

        if net.activations[l - 1] == "linear":
            pairs = [(i, k) for i in range(n_mid) for k in range(i, n_mid)]
        else:
            pairs = [(i, i) for i in range(n_mid)]
        for i, k in pairs:
            terms: list[tuple[int, tuple[tuple[int, int], ...]]] = []
            for sign, left, right in ((1, incoming(i), incoming(k)), (-1, outgoing(i), outgoing(k))):
                for a, b in zip(left, right):
                    mono = ((a, 2),) if a == b else tuple(sorted(((a, 1), (b, 1))))
                    terms.append((sign, mono))
            laws.append(Law(tuple(terms), net.variables))
    return laws
