"""Which traced operation becomes which piece of graph (the table behind :func:`~flowlaws.models.from_torch`).

``dispatch(builder, node, args, kwargs)`` reads one ``torch.fx`` node whose
arguments are already evaluated (neurons, Python numbers, parameters) and
returns its value; anything not listed here is refused with the node's name.
Arithmetic on Python numbers only (``x.size(0) * 4``) is evaluated directly.
"""

from __future__ import annotations

import operator
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import DomainError
from ._torch_ops import Neurons as _Neurons
from ._torch_ops import Param as _Param
from ._torch_ops import adaptive_windows, as_tuple, avg_windows
from . import _torch_attention as _att

__all__ = ["dispatch", "describe", "exact_constant"]

_ARITH = {operator.add, operator.iadd, operator.sub, operator.isub, operator.mul, operator.imul,
          operator.truediv, operator.itruediv, operator.floordiv, operator.neg, operator.getitem}


def describe(node, gm) -> str:
    if node.op == "call_module":
        return f"{node.target!r} ({type(gm.get_submodule(node.target)).__name__})"
    if node.op == "call_function":
        target = node.target
        mod = getattr(target, "__module__", None) or ""
        name = getattr(target, "__name__", repr(target))
        return f"{mod + '.' if mod and mod != 'builtins' and mod != '_operator' else ''}{name}"
    if node.op == "call_method":
        return f"method .{node.target}()"
    return f"{node.op} {node.target!r}"


def exact_constant(builder, value: Any) -> Fraction:
    """An exact frozen weight from a Python number in the traced code (floats refused)."""
    if isinstance(value, _Param):
        raise builder.fail(f"uses the parameter {value.name} other than as the weight or bias of a layer")
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        if isinstance(value, float):
            raise DomainError(
                f"traced node {builder.node.name!r} = {describe(builder.node, builder.gm)} uses the float {value!r}; "
                "fixed weights must be exact: write x / 2 instead of x * 0.5, or use an int"
            )
        raise builder.fail(f"uses {value!r} (type={type(value).__name__})")
    return Fraction(value)


def _bind(builder, args, kwargs, names: list[str], defaults: dict[str, Any]) -> dict[str, Any]:
    """Positional and keyword arguments of a call by parameter name."""
    if len(args) > len(names):
        raise builder.fail(f"is called with {len(args)} positional arguments")
    out = dict(defaults)
    out.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise builder.fail(f"is called with the argument {key}=")
        out[key] = value
    missing = [n for n in names if n not in out]
    if missing:
        raise builder.fail(f"misses the argument {missing[0]}")
    return out


def _neurons(builder, value, what: str = "its input") -> _Neurons:
    if not isinstance(value, _Neurons):
        raise builder.fail(f"takes {what} of type {type(value).__name__}, not a tensor computed from the input")
    return value


def _slope(builder, slope) -> str | None:
    if isinstance(slope, bool) or not isinstance(slope, (int, float)):
        raise builder.fail(f"has negative_slope={slope!r}")
    if slope == 1:
        return None  # the identity
    return "relu" if slope == 0 else "leaky_relu"


def _reshape(builder, x: _Neurons, shape) -> _Neurons:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise builder.fail(f"reshapes to {shape!r}")
    try:
        ids = x.ids.reshape(shape)
    except ValueError as err:
        raise builder.fail(f"reshapes {tuple(x.ids.shape)} to {tuple(shape)} ({err})") from err
    if ids.ndim == 0 or ids.shape[0] != 1:
        raise builder.fail(
            f"reshapes {tuple(x.ids.shape)} to {tuple(shape)}, which does not keep the batch dimension "
            "(from_torch traces one sample: write x.view(x.size(0), -1) or torch.flatten(x, 1))"
        )
    return _Neurons(ids, builder.node, x.storage)


def _flatten(builder, x: _Neurons, start: int, end: int) -> _Neurons:
    nd = x.ids.ndim
    start, end = start % nd, end % nd
    if start == 0:
        raise builder.fail("flattens the batch dimension; use torch.flatten(x, 1) or nn.Flatten()")
    shape = x.ids.shape[:start] + (-1,) + x.ids.shape[end + 1:]
    return _Neurons(x.ids.reshape(shape), builder.node, x.storage)


def _pool(builder, x: _Neurons, nd: int, kernel, stride, padding, ceil_mode, include_pad, divisor) -> _Neurons:
    if x.ids.ndim != nd + 2:
        raise builder.fail(f"expects a batched {nd + 2}-d input, gets shape {tuple(x.ids.shape)}")
    kernel = as_tuple(kernel, nd, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else as_tuple(stride, nd, "stride")
    padding = as_tuple(padding, nd, "padding")
    windows = [avg_windows(L, kernel=k, stride=s, pad=p, ceil_mode=bool(ceil_mode))
               for L, k, s, p in zip(x.ids.shape[2:], kernel, stride, padding)]
    if not all(windows):
        raise builder.fail(f"has an empty output for an input of shape {tuple(x.ids.shape)}")
    return builder.average(x, windows, divisor=divisor, include_pad=bool(include_pad), lead=2)


def _max_pool(builder, x: _Neurons, nd: int, kernel, stride, padding, ceil_mode) -> _Neurons:
    if x.ids.ndim != nd + 2:
        raise builder.fail(f"expects a batched {nd + 2}-d input, gets shape {tuple(x.ids.shape)}")
    kernel = as_tuple(kernel, nd, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else as_tuple(stride, nd, "stride")
    padding = as_tuple(padding, nd, "padding")  # padded entries are -inf: never selected
    windows = [avg_windows(L, kernel=k, stride=s, pad=p, ceil_mode=bool(ceil_mode))
               for L, k, s, p in zip(x.ids.shape[2:], kernel, stride, padding)]
    if not all(windows):
        raise builder.fail(f"has an empty output for an input of shape {tuple(x.ids.shape)}")
    return builder.maximum(x, windows, lead=2)


def _adaptive(builder, x: _Neurons, nd: int, size) -> _Neurons:
    if x.ids.ndim != nd + 2:
        raise builder.fail(f"expects a batched {nd + 2}-d input, gets shape {tuple(x.ids.shape)}")
    size = (size,) * nd if isinstance(size, int) or size is None else tuple(size)
    spatial = x.ids.shape[2:]
    size = tuple(L if s is None else s for s, L in zip(size, spatial))
    windows = [[(s, e, e - s) for s, e in adaptive_windows(L, o)] for L, o in zip(spatial, size)]
    return builder.average(x, windows, divisor=None, include_pad=True, lead=2)


def _module(builder, node, args, kwargs):
    import torch.nn as nn

    mod = builder.gm.get_submodule(node.target)
    arg = node.args[0] if node.args else None
    if isinstance(mod, nn.MultiheadAttention):
        return _att.multihead(builder, mod, args, kwargs)
    if len(args) == 1 and not kwargs and isinstance(args[0], (_att.Scores, _att.Weights)):
        if isinstance(mod, nn.Softmax) and isinstance(args[0], _att.Scores):
            return _att.softmax(builder, args[0], mod.dim)
        if isinstance(mod, (nn.Dropout, nn.Identity)):
            return args[0]
    if len(args) != 1 or kwargs:
        raise builder.fail("is called with more than one input")
    x = _neurons(builder, args[0])
    if isinstance(mod, nn.Linear):
        wname = builder.param_of(mod.weight, "a weight")
        bname = builder.param_of(mod.bias, "a bias") if mod.bias is not None else None
        return builder.linear(x, wname, tuple(mod.weight.shape), bname)
    if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
        if mod.padding_mode != "zeros":
            raise builder.fail(f"has padding_mode={mod.padding_mode!r}; only zero padding is supported")
        wname = builder.param_of(mod.weight, "a weight")
        bname = builder.param_of(mod.bias, "a bias") if mod.bias is not None else None
        return builder.conv(x, wname, tuple(mod.weight.shape), bname, mod.stride, mod.padding, mod.dilation,
                            mod.groups)
    if isinstance(mod, nn.ReLU):
        return builder.gate(x, arg, "relu", mod.inplace)
    if isinstance(mod, nn.LeakyReLU):
        return builder.gate(x, arg, _slope(builder, mod.negative_slope), mod.inplace)
    if isinstance(mod, (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d)):
        if not isinstance(mod, nn.Identity):
            note = "Dropout is the identity: its training-time noise is not part of the gradient flow"
            if note not in builder.notes:
                builder.notes.append(note)
        return x
    if isinstance(mod, nn.Flatten):
        return _flatten(builder, x, mod.start_dim, mod.end_dim)
    if isinstance(mod, (nn.Softmax, nn.LogSoftmax)):
        return _att.head(builder, x, mod.dim)
    if isinstance(mod, nn.LayerNorm):
        return _att.layer_norm(builder, x, mod.normalized_shape,
                               builder.param_of(mod.weight, "a weight") if mod.weight is not None else None,
                               builder.param_of(mod.bias, "a bias") if mod.bias is not None else None)
    if isinstance(mod, (nn.AvgPool1d, nn.AvgPool2d)):
        nd = 1 if isinstance(mod, nn.AvgPool1d) else 2
        return _pool(builder, x, nd, mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode,
                     mod.count_include_pad, getattr(mod, "divisor_override", None))
    if isinstance(mod, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
        return _adaptive(builder, x, 1 if isinstance(mod, nn.AdaptiveAvgPool1d) else 2, mod.output_size)
    if isinstance(mod, (nn.MaxPool1d, nn.MaxPool2d)):
        nd = 1 if isinstance(mod, nn.MaxPool1d) else 2
        if mod.return_indices or any(d != 1 for d in as_tuple(mod.dilation, nd, "dilation")):
            raise builder.fail("is supported only with dilation=1 and return_indices=False")
        return _max_pool(builder, x, nd, mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode)
    raise builder.fail("is not supported")


def _sum_terms(builder, node, args, sign: int):
    """``a ± b`` with tensors and exact constants."""
    a, b = args
    if isinstance(a, _Neurons) and isinstance(b, _Neurons):
        return builder.combine([(a, Fraction(1)), (b, Fraction(sign))], node.args[0])
    if isinstance(a, _Neurons):
        return builder.shift(a, sign * exact_constant(builder, b))
    if isinstance(b, _Neurons):
        scaled = builder.combine([(b, Fraction(sign))]) if sign < 0 else b
        return builder.shift(scaled, exact_constant(builder, a))
    raise builder.fail("has no tensor argument")  # pragma: no cover - numbers are evaluated before


def _function(builder, node, args, kwargs):
    import torch
    import torch.nn.functional as F

    f = node.target
    special = _attention_function(builder, f, args, kwargs)
    if special is not None:
        return special
    tensors = any(isinstance(a, (_Neurons, _Param)) for a in list(args) + list(kwargs.values()))
    if f in _ARITH and not tensors:
        return f(*args, **kwargs)
    if f is getattr and isinstance(args[0], _Neurons):
        if args[1] == "shape":
            return tuple(args[0].ids.shape)
        raise builder.fail(f"reads the attribute {args[1]!r}")
    if f is operator.getitem:
        x, index = args
        if isinstance(x, _Neurons):
            return _getitem(builder, x, index)
        if isinstance(index, _Neurons):
            raise builder.fail("indexes with a tensor")
        return x[index]
    if f in (operator.add, operator.iadd, torch.add):
        if kwargs.get("alpha", 1) != 1:
            raise builder.fail("uses alpha")
        return _sum_terms(builder, node, args[:2], 1)
    if f in (operator.sub, operator.isub, torch.sub):
        return _sum_terms(builder, node, args[:2], -1)
    if f is operator.neg:
        return builder.combine([(_neurons(builder, args[0]), Fraction(-1))])
    if f in (operator.mul, operator.imul, torch.mul):
        a, b = args
        if isinstance(a, _Neurons) and isinstance(b, _Neurons):
            raise builder.fail("multiplies two tensors (not linear in the neurons)")
        x, c = (a, b) if isinstance(a, _Neurons) else (b, a)
        return builder.combine([(_neurons(builder, x), exact_constant(builder, c))])
    if f in (operator.truediv, operator.itruediv, torch.div):
        a, b = args
        if not isinstance(a, _Neurons) or isinstance(b, _Neurons) or kwargs:
            raise builder.fail("divides by a tensor")
        c = exact_constant(builder, b)
        if c == 0:
            raise builder.fail("divides by zero")
        return builder.combine([(a, 1 / c)])
    if f in (F.relu, torch.relu, torch.relu_, F.relu_):
        inplace = f in (torch.relu_, F.relu_) or bool(_bind(builder, args, kwargs, ["input", "inplace"],
                                                            {"inplace": False})["inplace"])
        return builder.gate(_neurons(builder, args[0]), node.args[0], "relu", inplace)
    if f in (F.leaky_relu, F.leaky_relu_):
        b = _bind(builder, args, kwargs, ["input", "negative_slope", "inplace"],
                  {"negative_slope": 0.01, "inplace": f is F.leaky_relu_})
        return builder.gate(_neurons(builder, b["input"]), node.args[0], _slope(builder, b["negative_slope"]),
                            bool(b["inplace"]))
    if f in (F.dropout, F.dropout1d, F.dropout2d):
        note = "Dropout is the identity: its training-time noise is not part of the gradient flow"
        if note not in builder.notes:
            builder.notes.append(note)
        return _neurons(builder, args[0] if args else kwargs.get("input"))
    if f is torch.flatten:
        b = _bind(builder, args, kwargs, ["input", "start_dim", "end_dim"], {"start_dim": 0, "end_dim": -1})
        return _flatten(builder, _neurons(builder, b["input"]), b["start_dim"], b["end_dim"])
    if f is torch.reshape:
        return _reshape(builder, _neurons(builder, args[0]), tuple(args[1]))
    if f in (torch.cat, torch.concat, torch.concatenate):
        b = _bind(builder, args, kwargs, ["tensors", "dim"], {"dim": 0})
        parts = [_neurons(builder, t, "a list") for t in b["tensors"]]
        dim = b["dim"] % parts[0].ids.ndim
        if dim == 0:
            raise builder.fail("concatenates along the batch dimension")
        try:
            ids = np.concatenate([p.ids for p in parts], axis=dim)
        except ValueError as err:
            raise builder.fail(f"concatenates shapes {[tuple(p.ids.shape) for p in parts]}") from err
        return builder.wrap(ids)
    if f is F.linear:
        b = _bind(builder, args, kwargs, ["input", "weight", "bias"], {"bias": None})
        w, bias = b["weight"], b["bias"]
        if not isinstance(w, _Param) or not (bias is None or isinstance(bias, _Param)):
            raise builder.fail("takes a weight that is not a parameter of the module")
        wname = builder.param_of(w.tensor, "a weight")
        bname = builder.param_of(bias.tensor, "a bias") if bias is not None else None
        return builder.linear(_neurons(builder, b["input"]), wname, tuple(w.tensor.shape), bname)
    if f in (F.conv1d, F.conv2d):
        b = _bind(builder, args, kwargs, ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
                  {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
        w, bias = b["weight"], b["bias"]
        if not isinstance(w, _Param) or not (bias is None or isinstance(bias, _Param)):
            raise builder.fail("takes a weight that is not a parameter of the module")
        wname = builder.param_of(w.tensor, "a weight")
        bname = builder.param_of(bias.tensor, "a bias") if bias is not None else None
        return builder.conv(_neurons(builder, b["input"]), wname, tuple(w.tensor.shape), bname, b["stride"],
                            b["padding"], b["dilation"], b["groups"])
    if f in (F.avg_pool1d, F.avg_pool2d):
        nd = 1 if f is F.avg_pool1d else 2
        b = _bind(builder, args, kwargs,
                  ["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
                  {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                   "divisor_override": None})
        return _pool(builder, _neurons(builder, b["input"]), nd, b["kernel_size"], b["stride"], b["padding"],
                     b["ceil_mode"], b["count_include_pad"], b["divisor_override"])
    if f in (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d):
        b = _bind(builder, args, kwargs, ["input", "output_size"], {})
        return _adaptive(builder, _neurons(builder, b["input"]), 1 if f is F.adaptive_avg_pool1d else 2,
                         b["output_size"])
    if f in (torch.mean, torch.sum):
        b = _bind(builder, args, kwargs, ["input", "dim", "keepdim"], {"dim": None, "keepdim": False})
        return builder.reduce(_neurons(builder, b["input"]), b["dim"], bool(b["keepdim"]), f is torch.mean)
    raise builder.fail("is not supported")


def _attention_function(builder, f, args, kwargs):
    """Matrix products, softmax, layer_norm and attention; None when ``f`` is none of them."""
    import torch
    import torch.nn.functional as F

    if f in (operator.matmul, torch.matmul, torch.bmm):
        a, b = args
        if isinstance(a, _att.Weights) and isinstance(b, _Neurons):
            return _att.mix(builder, a, b)
        if isinstance(a, _Neurons) and isinstance(b, _Neurons):
            return _att.scores(builder, a, b)
        raise builder.fail("multiplies matrices other than queries @ keys.transpose(-2, -1) and "
                           "softmax(scores) @ values")
    if f in (F.softmax, torch.softmax, F.log_softmax, torch.log_softmax):
        bound = _bind(builder, args, kwargs, ["input", "dim", "_stacklevel", "dtype"],
                      {"dim": None, "_stacklevel": 3, "dtype": None})
        x = bound["input"]
        if isinstance(x, _att.Scores) and f in (F.softmax, torch.softmax):
            return _att.softmax(builder, x, bound["dim"])
        return _att.head(builder, _neurons(builder, x), bound["dim"])
    if f is F.layer_norm:
        bound = _bind(builder, args, kwargs, ["input", "normalized_shape", "weight", "bias", "eps"],
                      {"weight": None, "bias": None, "eps": 1e-5})
        names = []
        for key in ("weight", "bias"):
            p = bound[key]
            if p is not None and not isinstance(p, _Param):
                raise builder.fail(f"takes a {key} that is not a parameter of the module")
            names.append(builder.param_of(p.tensor, f"a {key}") if p is not None else None)
        return _att.layer_norm(builder, _neurons(builder, bound["input"]), tuple(bound["normalized_shape"]), *names)
    if f is F.scaled_dot_product_attention:
        bound = _bind(builder, args, kwargs, ["query", "key", "value", "attn_mask", "dropout_p", "is_causal",
                                              "scale", "enable_gqa"],
                      {"attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None, "enable_gqa": False})
        if bound["attn_mask"] is not None or bound["is_causal"]:
            raise builder.fail("uses an attention mask; from_torch reads unmasked attention")
        q, k, v = (_neurons(builder, bound[n]) for n in ("query", "key", "value"))
        w = _att.softmax(builder, _att.Scores(q.ids, k.ids, builder.node), -1)
        return _att.mix(builder, w, v)
    if any(isinstance(a, (_att.Scores, _att.Weights)) for a in args):
        return _scaled(builder, f, args)
    return None


def _scaled(builder, f, args):
    """Scores times or divided by a nonzero constant (any real: the scores' products are unchanged)."""
    import torch

    scores = [a for a in args if isinstance(a, (_att.Scores, _att.Weights))]
    others = [a for a in args if not isinstance(a, (_att.Scores, _att.Weights))]
    mul = f in (operator.mul, operator.imul, torch.mul)
    div = f in (operator.truediv, operator.itruediv, torch.div) and isinstance(args[0], _att.Scores)
    ok = ((mul or div) and len(scores) == 1 and isinstance(scores[0], _att.Scores) and len(others) == 1
          and isinstance(others[0], (int, float, Fraction)) and not isinstance(others[0], bool) and others[0] != 0)
    if not ok:
        raise builder.fail("uses attention scores or weights other than scaling the scores by a nonzero "
                           "constant, a softmax over the keys and a product with the values")
    return scores[0]


def _getitem(builder, x: _Neurons, index) -> _Neurons:
    index = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, (_Neurons, _Param)) or not (i is None or i is Ellipsis or isinstance(i, (int, slice)))
           for i in index):
        raise builder.fail("indexes with something other than integers and slices")
    if not index or index[0] != slice(None):
        raise builder.fail("indexes the batch dimension; start the index with ':' (x[:, ...])")
    ids = x.ids[index]
    if ids.ndim == 0 or ids.shape[0] != 1 or ids.size == 0:
        raise builder.fail(f"selects an empty or batch-less part of shape {tuple(ids.shape)}")
    return _Neurons(ids, builder.node, x.storage)


def _method(builder, node, args, kwargs):
    name = node.target
    x = args[0]
    if isinstance(x, (_att.Scores, _att.Weights)):
        return _attention_method(builder, name, args, kwargs)
    if not isinstance(x, _Neurons):
        raise builder.fail("is called on something that is not a tensor computed from the input")
    rest = args[1:]
    if name == "size":
        shape = tuple(x.ids.shape)
        dim = rest[0] if rest else kwargs.get("dim")
        return shape if dim is None else shape[dim]
    if name == "dim":
        return x.ids.ndim
    if name in ("view", "reshape"):
        return _reshape(builder, x, rest)
    if name == "flatten":
        b = _bind(builder, rest, kwargs, ["start_dim", "end_dim"], {"start_dim": 0, "end_dim": -1})
        return _flatten(builder, x, b["start_dim"], b["end_dim"])
    if name in ("contiguous",):
        return x
    if name in ("relu", "relu_"):
        return builder.gate(x, node.args[0], "relu", name == "relu_")
    if name in ("permute", "transpose", "unsqueeze", "squeeze"):
        if name == "permute":
            order = tuple(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else tuple(rest)
            order = tuple(d % x.ids.ndim for d in order)
            if not order or order[0] != 0:
                raise builder.fail("moves the batch dimension")
            ids = np.transpose(x.ids, order)
        elif name == "transpose":
            d0, d1 = (d % x.ids.ndim for d in rest)
            if 0 in (d0, d1) and d0 != d1:
                raise builder.fail("moves the batch dimension")
            ids = np.swapaxes(x.ids, d0, d1)
        elif name == "unsqueeze":
            d = rest[0] % (x.ids.ndim + 1)
            if d == 0:
                raise builder.fail("adds a dimension before the batch dimension")
            ids = np.expand_dims(x.ids, d)
        else:
            dims = [d % x.ids.ndim for d in rest] if rest else [d for d in range(1, x.ids.ndim) if x.ids.shape[d] == 1]
            if 0 in dims:
                raise builder.fail("removes the batch dimension")
            ids = np.squeeze(x.ids, axis=tuple(d for d in dims if x.ids.shape[d] == 1))
        return _Neurons(ids, builder.node, x.storage)
    if name in ("softmax", "log_softmax"):
        b = _bind(builder, rest, kwargs, ["dim"], {})
        return _att.head(builder, x, b["dim"])
    if name == "matmul":
        return _attention_function(builder, operator.matmul, args, kwargs)
    if name in ("mean", "sum"):
        b = _bind(builder, rest, kwargs, ["dim", "keepdim"], {"dim": None, "keepdim": False})
        return builder.reduce(x, b["dim"], bool(b["keepdim"]), name == "mean")
    if name in ("add", "add_", "sub", "sub_"):
        if kwargs.get("alpha", 1) != 1:
            raise builder.fail("uses alpha")
        return _sum_terms(builder, node, (x, rest[0]), -1 if name.startswith("sub") else 1)
    if name in ("mul", "div"):
        c = exact_constant(builder, rest[0]) if not isinstance(rest[0], _Neurons) else None
        if c is None or (name == "div" and c == 0):
            raise builder.fail("is not a scaling by an exact nonzero constant")
        return builder.combine([(x, c if name == "mul" else 1 / c)])
    raise builder.fail("is not supported")


def _attention_method(builder, name, args, kwargs):
    if name == "softmax" and isinstance(args[0], _att.Scores):
        return _att.softmax(builder, args[0], _bind(builder, args[1:], kwargs, ["dim"], {})["dim"])
    if name == "matmul":
        return _attention_function(builder, operator.matmul, args, kwargs)
    if name in ("mul", "div"):
        return _scaled(builder, operator.mul if name == "mul" else operator.truediv, args)
    raise builder.fail("uses attention scores or weights other than scaling the scores by a nonzero "
                       "constant, a softmax over the keys and a product with the values")


def dispatch(builder, node, args, kwargs):
    """The value of one traced node (see the module docstring)."""
    if node.op == "call_module":
        return _module(builder, node, args, kwargs)
    if node.op == "call_function":
        return _function(builder, node, args, kwargs)
    if node.op == "call_method":
        return _method(builder, node, args, kwargs)
    raise builder.fail("is not supported")  # pragma: no cover - placeholder/get_attr/output handled by the walk

