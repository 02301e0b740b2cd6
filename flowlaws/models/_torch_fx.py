"""``torch.fx`` import of ``nn.Module`` DAGs of neurons (:func:`~flowlaws.models.from_torch`).

The module is traced symbolically; an interpreter walks the traced graph with
one sample (batch size 1) and builds a ``networkx.DiGraph`` for
:func:`~flowlaws.models.from_graph`: one node per scalar neuron (per channel
and position), one edge per use of a weight, the edge's ``param`` the
``named_parameters()`` name with its index (``layer1.0.conv1.weight[3,1,0,2]``).
Pooling, means, sums, residual additions and scalings become identity
(``"linear"``) neurons with frozen exact weights (``1/k`` for an average of
``k`` entries); ``flatten``, ``view``, ``reshape``, ``permute`` and ``cat`` only
re-index neurons.

Idealized: ``Dropout`` is the identity (its training-time noise is not part of
the gradient flow); a ``LeakyReLU`` of any slope other than 0 and 1 is the
graph's ``leaky_relu`` (the path-lifting does not depend on the slope).
Not checked: what the module does outside ``forward`` (hooks, custom
autograd functions inside leaf modules are refused as unknown modules).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import BudgetExceeded, DomainError, InvalidArgument, UnsupportedArchitecture
from ._torch_dispatch import describe, dispatch
from ._torch_ops import Neurons as _Neurons
from ._torch_ops import Param as _Param
from ._torch_ops import as_tuple, conv_pairs, same_padding

__all__ = ["trace_to_graph", "SUPPORTED"]

SUPPORTED = (
    "Linear, Conv1d/Conv2d, ReLU, LeakyReLU, Identity, Dropout, Flatten/view/reshape/permute, "
    "AvgPool1d/2d, AdaptiveAvgPool1d/2d, MaxPool1d/2d (as gates), mean/sum over non-batch dims, + and - of tensors, torch.cat, "
    "scaling by an int (x * 2, x / 4), nn.MultiheadAttention (batch_first) and softmax(q @ k.transpose(-2, -1)) @ v, "
    "LayerNorm, a final softmax/log_softmax"
)


class _Builder:
    def __init__(self, module, gm, max_parameters: int) -> None:
        import networkx as nx

        self.module, self.gm, self.max = module, gm, max_parameters
        self.G = nx.DiGraph()
        self.count = 0
        self.n_edges = 0
        self.storage = 0
        self.params: dict[int, str] = {}
        self.order: dict[str, int] = {}
        self.numel: dict[str, int] = {}
        for k, (name, p) in enumerate(module.named_parameters()):
            self.params[id(p)] = name
            self.order[name] = k
            self.numel[name] = p.numel()
        self.keys: dict[str, tuple[int, int]] = {}
        self.notes: list[str] = []
        self.node: Any = None
        self.position: dict[Any, int] = {}
        self.proj: dict[int, tuple] = {}  # Linear output neuron -> (input row ids, weight, row, shape, bias entry)
        self.scores: list[dict[tuple[str, ...], int]] = []  # attention's Q Kᵀ coordinates (by entry names)
        self.tapped: set[int] = set()
        self.loss: str | None = None

    # -- errors and budget ----------------------------------------------------------------------
    def fail(self, what: str, node=None) -> UnsupportedArchitecture:
        node = node or self.node
        return UnsupportedArchitecture(
            f"traced node {node.name!r} = {describe(node, self.gm)} {what}; from_torch supports {SUPPORTED}"
        )

    def reserve(self, nodes: int, edges: int) -> None:
        """Refuse the layer before allocating it when the graph would pass ``max_parameters``."""
        from ._builders import _check_total

        where = f"the graph of {type(self.module).__name__} up to traced node {self.node.name!r}"
        _check_total(where, self.count + nodes, self.max, "from_torch", unit="neurons")
        _check_total(where, self.n_edges + edges, self.max, "from_torch", unit="weighted edges")

    # -- graph primitives ----------------------------------------------------------------------
    def new(self, shape: tuple[int, ...], *, kind: str = "hidden", activation: str = "linear") -> np.ndarray:
        size = math.prod(shape)
        ids = np.arange(self.count, self.count + size, dtype=np.int64).reshape(shape)
        attrs = {"kind": kind} if kind != "hidden" else {"kind": kind, "activation": activation}
        self.G.add_nodes_from(range(self.count, self.count + size), **attrs)
        self.count += size
        return ids

    def bias_node(self) -> int:
        return int(self.new((1,), kind="bias")[0])

    def entry(self, pname: str, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
        name = f"{pname}[{','.join(map(str, index))}]"
        if name not in self.keys:
            self.keys[name] = (self.order[pname], int(np.ravel_multi_index(index, shape)))
        return name

    def edge(self, u: int, v: int, *, param: str | None = None, value: Fraction | None = None) -> None:
        G = self.G
        if G.has_edge(u, v):
            data = G.edges[u, v]
            if param is None and data.get("trainable", True) is False:
                data["value"] += value  # x + x: one frozen edge of weight 2
                return
            relay = int(self.new((1,))[0])  # a second weight between the same neurons: through an identity neuron
            G.add_edge(u, relay, trainable=False, value=Fraction(1))
            u = relay
        if param is None:
            G.add_edge(u, v, trainable=False, value=value)
        else:
            G.add_edge(u, v, param=param)
        self.n_edges += 1

    def fresh(self, value: _Neurons, arg) -> bool:
        """Whether ``value``'s neurons may be changed in place: created by ``arg``, used only by the current node."""
        if value.owner is not arg or len(arg.users) != 1:
            return False
        ids = value.ids.ravel()
        if len(np.unique(ids)) != ids.size:
            return False
        G = self.G
        return all(G.nodes[int(i)].get("activation") == "linear" and G.out_degree(int(i)) == 0 for i in ids)

    def wrap(self, ids: np.ndarray, *, storage: int | None = None) -> _Neurons:
        if storage is None:
            self.storage += 1
            storage = self.storage
        return _Neurons(ids, self.node, storage)

    def param_of(self, tensor, what: str) -> str:
        name = self.params.get(id(tensor))
        if name is None:
            raise self.fail(f"uses {what} that is not one of the module's parameters (a buffer or a computed tensor)")
        if not tensor.requires_grad:
            raise self.fail(
                f"uses {name} with requires_grad=False: a frozen weight needs an exact value; "
                "describe the network with from_graph(..., trainable=False, value=...) instead"
            )
        return name

    # -- layers -----------------------------------------------------------------------------------
    def linear(self, x: _Neurons, wname: str, wshape: tuple[int, int], bname: str | None,
               rows: range | None = None) -> _Neurons:
        """``x Wᵀ + b`` on the last axis; ``rows`` selects rows of ``W`` (and ``b``), e.g. a part of ``in_proj_weight``."""
        rows = range(wshape[0]) if rows is None else rows
        out_f, in_f = len(rows), wshape[1]
        if x.ids.shape[-1] != in_f or x.ids.ndim < 2:
            raise self.fail(f"expects {in_f} input features but gets a tensor of shape {tuple(x.ids.shape)}")
        lead = x.ids.shape[:-1]
        n = math.prod(lead)
        self.reserve(n * out_f + (1 if bname else 0), n * out_f * (in_f + (1 if bname else 0)))
        out = self.new(lead + (out_f,))
        bias = self.bias_node() if bname else None
        wnames = [[self.entry(wname, (r, i), wshape) for i in range(in_f)] for r in rows]
        bnames = [self.entry(bname, (r,), (wshape[0],)) for r in rows] if bname else None
        for pos in np.ndindex(*lead):
            src = x.ids[pos]
            dst = out[pos]
            row_ids = tuple(int(i) for i in src)
            for o in range(out_f):
                v = int(dst[o])
                self.proj[v] = (row_ids, wname, rows[o], wshape, bnames[o] if bnames else None)
                row = wnames[o]
                for i in range(in_f):
                    self.edge(int(src[i]), v, param=row[i])
                if bias is not None:
                    self.edge(bias, v, param=bnames[o])
        return self.wrap(out)

    def conv(self, x: _Neurons, wname: str, wshape: tuple[int, ...], bname: str | None,
             stride, padding, dilation, groups: int) -> _Neurons:
        nd = len(wshape) - 2
        cout, cin_g, ks = wshape[0], wshape[1], wshape[2:]
        if x.ids.ndim != nd + 2:
            raise self.fail(f"expects a batched {nd + 2}-d input, gets shape {tuple(x.ids.shape)}")
        cin, spatial = x.ids.shape[1], x.ids.shape[2:]
        if cin != cin_g * groups:
            raise self.fail(f"expects {cin_g * groups} input channels, gets {cin}")
        stride, dilation = as_tuple(stride, nd, "stride"), as_tuple(dilation, nd, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise self.fail(f"has padding={padding!r}")
            pads = [same_padding(k, d) if padding == "same" else (0, 0) for k, d in zip(ks, dilation)]
        else:
            pads = [(p, p) for p in as_tuple(padding, nd, "padding")]
        axes = [conv_pairs(length=L, kernel=k, stride=s, pad=p, dilation=d)
                for L, k, s, p, d in zip(spatial, ks, stride, pads, dilation)]
        outs = tuple(a[0] for a in axes)
        if min(outs) < 1:
            raise self.fail(f"has an empty output for an input of shape {tuple(x.ids.shape)}")
        n_out = cout * math.prod(outs)
        self.reserve(n_out + (1 if bname else 0),
                     cout * cin_g * math.prod(len(a[1]) for a in axes) + (n_out if bname else 0))
        out = self.new((1, cout) + outs)
        per_group = cout // groups
        combos = list(itertools.product(*(a[1] for a in axes)))
        for co in range(cout):
            g = co // per_group
            for cl in range(cin_g):
                src = x.ids[0, g * cin_g + cl]
                for combo in combos:
                    o = tuple(c[0] for c in combo)
                    k = tuple(c[1] for c in combo)
                    i = tuple(c[2] for c in combo)
                    self.edge(int(src[i]), int(out[(0, co) + o]), param=self.entry(wname, (co, cl) + k, wshape))
        if bname:
            bias = self.bias_node()
            for co in range(cout):
                name = self.entry(bname, (co,), (cout,))
                for v in out[0, co].ravel():
                    self.edge(bias, int(v), param=name)
        return self.wrap(out)

    def gate(self, x: _Neurons, arg, activation: str | None, inplace: bool) -> _Neurons:
        """ReLU / leaky ReLU (``activation=None``: the identity)."""
        if activation is None:
            return x
        if self.fresh(x, arg):
            for i in x.ids.ravel():
                self.G.nodes[int(i)]["activation"] = activation
            result = _Neurons(x.ids, self.node, x.storage)
        else:
            self.reserve(x.ids.size, x.ids.size)
            out = self.new(x.ids.shape, activation=activation)
            for u, v in zip(x.ids.ravel(), out.ravel()):
                self.edge(int(u), int(v), value=Fraction(1))
            result = self.wrap(out)
        if inplace:
            self.rebind(arg, result)
        return result

    def rebind(self, arg, result: _Neurons) -> None:
        """An in-place operation: later readers of ``arg`` see ``result``; other views of it are refused."""
        here = self.position[self.node]
        old = self.env[arg]
        for other, value in self.env.items():
            if other is not arg and isinstance(value, _Neurons) and value.storage == old.storage:
                if any(self.position[u] > here for u in other.users):
                    raise self.fail(f"changes in place a tensor that {other.name!r} views and reads later")
        result.storage = old.storage
        self.env[arg] = result

    def combine(self, terms: list[tuple[_Neurons, Fraction]], arg0=None) -> _Neurons:
        """``Σ c_k x_k`` elementwise (broadcast): new identity neurons, or merged into a fresh first term."""
        try:
            arrays = np.broadcast_arrays(*(t.ids for t, _ in terms))
        except ValueError as err:
            raise self.fail(f"adds tensors of shapes {[tuple(t.ids.shape) for t, _ in terms]}") from err
        shape = arrays[0].shape
        first, c0 = terms[0]
        merge = (arg0 is not None and c0 == 1 and first.ids.shape == shape and self.fresh(first, arg0)
                 and all(set(first.ids.ravel().tolist()).isdisjoint(a.ravel().tolist()) for a in arrays[1:])
                 and all(not self.G.has_edge(int(u), int(v))
                         for a in arrays[1:] for u, v in zip(a.ravel(), first.ids.ravel())))
        size = math.prod(shape)
        if merge:
            self.reserve(0, size * (len(terms) - 1))
            for a, (_, c) in zip(arrays[1:], terms[1:]):
                for u, v in zip(a.ravel(), first.ids.ravel()):
                    self.edge(int(u), int(v), value=c)
            return _Neurons(first.ids, self.node, first.storage)
        self.reserve(size, size * len(terms))
        out = self.new(shape)
        for a, (_, c) in zip(arrays, terms):
            for u, v in zip(a.ravel(), out.ravel()):
                self.edge(int(u), int(v), value=c)
        return self.wrap(out)

    def tap(self, ids) -> None:
        """Make the value of neurons part of φ (an output through a frozen 1): what attention's scores
        or a normalization read from them is then a function of φ."""
        for i in np.asarray(ids).ravel():
            i = int(i)
            if i in self.tapped or self.G.nodes[i]["kind"] in ("input", "bias"):
                continue
            self.tapped.add(i)
            v = int(self.new((1,), kind="output")[0])
            self.edge(i, v, value=Fraction(1))
            self.G.graph.setdefault("taps", []).append(v)

    def shift(self, x: _Neurons, constant: Fraction) -> _Neurons:
        """``x + c``: identity neurons fed by ``x`` and by a bias node with the frozen weight ``c``."""
        self.reserve(x.ids.size + 1, 2 * x.ids.size)
        out = self.new(x.ids.shape)
        bias = self.bias_node()
        for u, v in zip(x.ids.ravel(), out.ravel()):
            self.edge(int(u), int(v), value=Fraction(1))
            self.edge(bias, int(v), value=constant)
        return self.wrap(out)

    def average(self, x: _Neurons, windows: list[list[tuple[int, int, int]]], *, divisor: int | None,
                include_pad: bool, lead: int) -> _Neurons:
        """Pooling over the last ``len(windows)`` axes: ``windows[d]`` lists ``(start, end, padded size)``."""
        keep = x.ids.shape[:lead]
        outs = tuple(len(w) for w in windows)
        n_in = sum(math.prod(e - s for s, e, _ in combo) for combo in itertools.product(*windows))
        self.reserve(math.prod(keep) * math.prod(outs), math.prod(keep) * n_in)
        out = self.new(keep + outs)
        for pos in np.ndindex(*keep):
            src, dst = x.ids[pos], out[pos]
            for o in itertools.product(*(range(n) for n in outs)):
                wins = [windows[d][o[d]] for d in range(len(outs))]
                ranges = [range(s, e) for s, e, _ in wins]
                count = math.prod(len(r) for r in ranges)
                div = divisor or (math.prod(size for _, _, size in wins) if include_pad else count)
                for i in itertools.product(*ranges):
                    self.edge(int(src[i]), int(dst[o]), value=Fraction(1, div))
        return self.wrap(out)

    def maximum(self, x: _Neurons, windows: list[list[tuple[int, int, int]]], *, lead: int) -> _Neurons:
        """Max pooling over the last ``len(windows)`` axes, as gates: at a point the selected entry passes,
        so each entry of a window reaches the output through its own ReLU-like gate neuron (frozen
        weights 1 in and out) and the path-lifting's keys say which entry was selected."""
        keep = x.ids.shape[:lead]
        outs = tuple(len(w) for w in windows)
        n_in = sum(math.prod(e - s for s, e, _ in combo) for combo in itertools.product(*windows))
        self.reserve(math.prod(keep) * (math.prod(outs) + n_in), 2 * math.prod(keep) * n_in)
        out = self.new(keep + outs)
        for pos in np.ndindex(*keep):
            src, dst = x.ids[pos], out[pos]
            for o in itertools.product(*(range(n) for n in outs)):
                ranges = [range(s, e) for s, e, _ in (windows[d][o[d]] for d in range(len(outs)))]
                for i in itertools.product(*ranges):
                    gate = int(self.new((1,), activation="relu")[0])
                    self.edge(int(src[i]), gate, value=Fraction(1))
                    self.edge(gate, int(dst[o]), value=Fraction(1))
        return self.wrap(out)

    def reduce(self, x: _Neurons, dims, keepdim: bool, mean: bool) -> _Neurons:
        nd = x.ids.ndim
        dims = tuple(range(1, nd)) if dims is None else ((dims,) if isinstance(dims, int) else tuple(dims))
        dims = tuple(sorted(d % nd for d in dims))
        if 0 in dims or not dims:
            raise self.fail("reduces over the batch dimension (or over all dimensions); "
                            "reduce the other dimensions only, e.g. x.mean((2, 3))")
        kept = [d for d in range(nd) if d not in dims]
        moved = np.transpose(x.ids, kept + list(dims))
        rows = moved.reshape(moved.shape[:len(kept)] + (-1,))
        k = rows.shape[-1]
        self.reserve(rows[..., 0].size, rows.size)
        out = self.new(rows.shape[:-1])
        weight = Fraction(1, k) if mean else Fraction(1)
        for pos in np.ndindex(*rows.shape[:-1]):
            v = int(out[pos])
            for u in rows[pos]:
                self.edge(int(u), v, value=weight)
        if keepdim:
            out = out.reshape(tuple(1 if d in dims else s for d, s in enumerate(x.ids.shape)))
        return self.wrap(out)

    # -- the walk ---------------------------------------------------------------------------------
    def run(self, example_shape: tuple[int, ...]):
        from torch.fx.node import map_arg

        self.env: dict[Any, Any] = {}
        nodes = list(self.gm.graph.nodes)
        self.position = {n: k for k, n in enumerate(nodes)}
        placeholders = [n for n in nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise UnsupportedArchitecture(
                f"{type(self.module).__name__}.forward takes {len(placeholders)} tensor arguments; from_torch "
                "reads modules with one input tensor"
            )
        result = None
        for node in nodes:
            self.node = node
            if node.op == "placeholder":
                shape = (1,) + tuple(example_shape[1:])
                self.reserve(math.prod(shape), 0)
                self.env[node] = self.wrap(self.new(shape, kind="input"))
                self.G.graph["inputs"] = [int(i) for i in self.env[node].ids.ravel()]
                continue
            if node.op == "output":
                result = map_arg(node.args[0], lambda n: self.env[n])
                break
            if node.op == "get_attr":
                obj = self.gm
                for part in str(node.target).split("."):
                    obj = getattr(obj, part)
                self.env[node] = _Param(self.params.get(id(obj), str(node.target)), obj)
                continue
            args = map_arg(node.args, lambda n: self.env[n])
            kwargs = map_arg(node.kwargs, lambda n: self.env[n])
            self.env[node] = dispatch(self, node, args, kwargs)
        return self.finish(result)

    def finish(self, result) -> Any:
        from ._torch_attention import Probabilities, head

        if self.loss == "cross_entropy":
            if not isinstance(result, _Neurons) or result.ids.ndim < 2:
                raise UnsupportedArchitecture(
                    f"loss='cross_entropy' needs {type(self.module).__name__}.forward to return logits of shape "
                    "(1, classes, ...), not a softmax or a tuple"
                )
            result = head(self, result, 1)
        if isinstance(result, Probabilities):
            result = _Neurons(result.ids, self.node, 0)
        if not isinstance(result, _Neurons):
            if isinstance(result, (tuple, list)) and result and all(isinstance(r, _Neurons) for r in result):
                ids = np.concatenate([r.ids.ravel() for r in result])
            else:
                raise UnsupportedArchitecture(
                    f"{type(self.module).__name__}.forward returns {type(result).__name__}; expected a tensor "
                    "(or a tuple of tensors) computed from the input"
                )
        else:
            ids = result.ids.ravel()
        G = self.G
        counts: dict[int, int] = {}
        for i in ids:
            counts[int(i)] = counts.get(int(i), 0) + 1
        outputs = []
        for i in ids:
            i = int(i)
            data = G.nodes[i]
            if (data["kind"] == "hidden" and data.get("activation") == "linear" and G.out_degree(i) == 0
                    and counts[i] == 1):
                G.nodes[i].clear()
                G.nodes[i]["kind"] = "output"
                outputs.append(i)
            else:  # an input, a gated neuron or a neuron read elsewhere: an output through a weight 1
                v = int(self.new((1,), kind="output")[0])
                self.edge(i, v, value=Fraction(1))
                outputs.append(v)
        G.graph["outputs"] = outputs  # the output neurons in the order of the flattened result
        return self.prune()

    def prune(self):
        """Drop neurons that do not reach an output or are not reached from an input or bias."""
        import networkx as nx

        G = self.G
        sources = [n for n, k in G.nodes(data="kind") if k in ("input", "bias")]
        outputs = [n for n, k in G.nodes(data="kind") if k == "output"]
        down = set(sources)
        for n in nx.topological_sort(G):
            if n in down:
                down.update(G.successors(n))
        up = set(outputs)
        for n in reversed(list(nx.topological_sort(G))):
            if n in up:
                up.update(G.predecessors(n))
        dead = [n for n in G.nodes if n not in up or n not in down]
        G.remove_nodes_from(dead)
        per_param: dict[str, int] = {}
        for _, _, d in G.edges(data=True):
            if "param" in d:
                per_param[d["param"]] = 1
        for poly in self.scores:
            for mono in poly:
                for entry in mono:
                    per_param[entry] = 1
        counts: dict[str, int] = {}
        for entry in per_param:
            name = entry[:entry.rindex("[")]
            counts[name] = counts.get(name, 0) + 1
        partial = [(name, self.numel[name] - counts[name]) for name in self.order
                   if 0 < counts.get(name, 0) < self.numel[name]]
        if partial:
            lost = sum(n for _, n in partial)
            self.notes.append(
                f"{lost} parameter entr{'y' if lost == 1 else 'ies'} of {', '.join(n for n, _ in partial[:3])}"
                f"{' ...' if len(partial) > 3 else ''} never reach the output (kernel entries that only meet "
                "padding, neurons no one reads, an attention key bias): their gradient is zero, each is trivially conserved, "
                "and they are left out"
            )
        unused = [name for name in self.order if name not in counts]
        if unused:
            self.notes.append(f"parameters not used by forward are left out: {', '.join(unused[:5])}"
                              f"{' ...' if len(unused) > 5 else ''}")
        return G


def trace_to_graph(module, example_shape: tuple[int, ...], *, max_parameters: int, loss: str | None = None):
    """``(networkx.DiGraph, {entry name: (parameter position, flat index)}, notes)`` of a traced module.

    ``G.graph["inputs"]`` and ``G.graph["outputs"]`` list the input and output
    neurons in the order of the flattened input and result (inputs no output
    depends on are pruned from ``G`` but stay listed).
    """
    import torch.fx

    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as err:  # data-dependent control flow, unsupported Python constructs
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsupportedArchitecture(
            f"torch.fx could not trace {type(module).__name__}: {type(err).__name__}: {first[:200]}; "
            "from_torch needs a forward without data-dependent control flow"
        ) from err
    builder = _Builder(module, gm, max_parameters)
    builder.loss = loss
    try:
        G = builder.run(example_shape)
        G.graph["scores"] = builder.scores
    except (BudgetExceeded, DomainError, UnsupportedArchitecture, InvalidArgument):
        raise
    except (ValueError, IndexError, TypeError) as err:  # a shape the layer does not accept
        raise builder.fail(f"cannot be applied to its input ({type(err).__name__}: {err})") from err
    return G, builder.keys, builder.notes
