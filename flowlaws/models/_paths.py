"""The path-lifting of a layered network, expanded into explicit polynomials.

One coordinate per key (start node, set of ReLU / leaky-ReLU hidden nodes on
the path, output node); paths with the same key are summed, so linear
networks get the entries of their end-to-end affine map. Exponential in depth:
only for the exact checks of small networks.
"""

from __future__ import annotations

from ..errors import BudgetExceeded
from ..algebra._network_fields import HOMOGENEOUS, LayeredNetwork

__all__ = ["path_lifting"]


def path_lifting(layers, activations, bias, *, max_terms: int) -> list[dict[tuple[int, ...], int]]:
    """Coordinates of φ as ``{exponent tuple: int}``, in a canonical order."""
    net = LayeredNetwork(tuple(layers), tuple(activations), bool(bias))
    D = net.dim
    slices = net.slices()
    const = "c"
    # state per neuron of the current layer: {(start, homog nodes): {monomial(sorted var tuple): coef}}
    state: list[dict] = [{(j, ()): {(): 1}} for j in range(layers[0])]
    total = 0
    for l in range(1, len(layers)):
        ws, bs = slices[l - 1]
        n_in = layers[l - 1]
        homog = l < len(layers) - 1 and activations[l - 1] in HOMOGENEOUS
        new_state = []
        for i in range(layers[l]):
            acc: dict = {}
            for j in range(n_in):
                var = ws.start + i * n_in + j
                for key, poly in state[j].items():
                    target = acc.setdefault(key, {})
                    for mono, c in poly.items():
                        m = tuple(sorted(mono + (var,)))
                        target[m] = target.get(m, 0) + c
            if bs is not None:
                target = acc.setdefault((const, ()), {})
                m = (bs.start + i,)
                target[m] = target.get(m, 0) + 1
            if homog:
                node = sum(layers[:l]) + i
                acc = {(start, nodes + (node,)): poly for (start, nodes), poly in acc.items()}
            total += sum(len(p) for p in acc.values())
            if total > max_terms:
                raise BudgetExceeded(
                    f"the path-lifting of layers={list(layers)} has more than max_terms={max_terms} "
                    "monomials; exact expansion is for small networks"
                )
            new_state.append(acc)
        state = new_state
    coords = []
    for out in state:
        for key in sorted(out, key=repr):
            coord = {}
            for mono, c in out[key].items():
                if c:
                    exps = [0] * D
                    for v in mono:
                        exps[v] += 1
                    coord[tuple(exps)] = c
            if coord:
                coords.append(coord)
    return coords
