"""Does multi-head attention have conservation laws beyond the per-head ones? (issue 17)

For self-attention with ``H`` heads of size ``hd`` on tokens of dimension ``d``
(no biases; ``W_q, W_k, W_v ∈ R^{H·hd × d}``, ``W_o ∈ R^{d × H·hd}``), every
head's laws — the entries of ``Q_hᵀQ_h − K_hᵀK_h`` and ``V_hᵀV_h − O_hᵀO_h`` —
are laws of the model. Two exact computations per size:

1. ``count``: ``fl.analyze`` of the module imported with ``from_torch`` (φ =
   ``(Q_h K_hᵀ, V_h O_hᵀ)`` per head), certified and checked; compared with ``H``
   times the count of one head (``fl.models.attention(d, hd)``).
2. ``model_rank``: the rank, at an integer point ``θ*``, of gradients of the
   *model itself*: ``f(θ, εX)`` is expanded in ``ε`` (softmax at zero scores is
   uniform, so every Taylor coefficient is a polynomial in ``θ`` with rational
   coefficients) and the exact gradients ``∇_θ c_n(θ*)`` of the coefficients, for
   a few integer inputs ``X`` and every output entry, are stacked; their rank
   over Q (python-flint) is a lower bound for the dimension of the span of the
   model's loss gradients at ``θ*``.

3. ``phi_rank``: the exact rank of ``∇φ(θ*)``, and its closed form
   ``2H·hd(2d − hd)`` (``hd ≤ d``): the rank of ``∇φ`` is at most that
   everywhere (each product ``U Vᵀ`` is unchanged along the ``hd²``-dimensional
   orbit ``(U G, V G⁻ᵀ)``), so ``phi_rank`` equal to it says ``θ*`` is generic.

The model's gradients always lie in ``W_φ = span ∇φ_i``. When ``model_rank =
phi_rank =`` the closed form, they span all of ``W_φ`` on a neighbourhood of
``θ*`` (the rank cannot drop nearby, nor ``W_φ``'s rise), so the model's
fields and ``W_φ`` generate the same Lie algebra there and the model has
exactly ``count`` laws: the per-head ones, none beyond them.

Usage::

    python benchmarks/multihead_attention.py           # the table + benchmarks/multihead_attention.json
    python benchmarks/multihead_attention.py --quick   # two small sizes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import flowlaws as fl  # noqa: E402

SIZES = [(2, 1, 1), (2, 2, 1), (2, 1, 2), (3, 3, 1), (3, 2, 1), (2, 2, 2), (4, 2, 2), (4, 4, 1), (3, 2, 2),
         (4, 2, 1), (3, 3, 2)]
QUICK = [(2, 2, 1), (3, 2, 1)]


# -- exact dual numbers: (value, gradient) with the gradient a list of D Fractions -----------------
class Dual:
    __slots__ = ("v", "g")

    def __init__(self, v, g):
        self.v, self.g = v, g

    def __add__(self, o):
        return Dual(self.v + o.v, [a + b for a, b in zip(self.g, o.g)])

    def __sub__(self, o):
        return Dual(self.v - o.v, [a - b for a, b in zip(self.g, o.g)])

    def __mul__(self, o):
        if not isinstance(o, Dual):
            return Dual(self.v * o, [a * o for a in self.g])
        return Dual(self.v * o.v, [self.v * b + o.v * a for a, b in zip(self.g, o.g)])


def _zero(D):
    return Dual(Fraction(0), [Fraction(0)] * D)


def _dsum(items, D):
    out = _zero(D)
    for x in items:
        out = out + x
    return out


def _matmul(A, B, D):
    return [[_dsum((A[i][k] * B[k][j] for k in range(len(B))), D) for j in range(len(B[0]))] for i in range(len(A))]


def _series_mul(a, b, order, D):
    """Truncated series in u with matrix-free scalar Dual coefficients."""
    return [_dsum((a[i] * b[n - i] for i in range(n + 1) if i < len(a) and n - i < len(b)), D)
            for n in range(order)]


def taylor_gradients(d, H, hd, theta, xs, order):
    """Gradients at ``theta`` of the coefficients of ``ε^(2n+1)``, ``n < order``, of ``f(θ, εX)`` for ``X`` in ``xs``."""
    E = H * hd
    D = 4 * E * d
    shapes = [(E, d), (E, d), (E, d), (d, E)]
    mats, pos = [], 0
    for r, c in shapes:
        m = []
        for i in range(r):
            row = []
            for j in range(c):
                g = [Fraction(0)] * D
                g[pos] = Fraction(1)
                row.append(Dual(Fraction(theta[pos]), g))
                pos += 1
            m.append(row)
        mats.append(m)
    Wq, Wk, Wv, Wo = mats
    rows = []
    for X in xs:
        T = len(X)
        Xd = [[Dual(Fraction(x), [Fraction(0)] * D) for x in row] for row in X]
        out = [[[_zero(D) for _ in range(d)] for _ in range(T)] for _ in range(order)]
        for h in range(H):
            sl = range(h * hd, (h + 1) * hd)
            q = _matmul(Xd, [list(r) for r in zip(*[Wq[a] for a in sl])], D)   # T x hd
            k = _matmul(Xd, [list(r) for r in zip(*[Wk[a] for a in sl])], D)
            v = _matmul(Xd, [list(r) for r in zip(*[Wv[a] for a in sl])], D)
            vo = _matmul(v, [list(r) for r in zip(*[[Wo[j][a] for a in sl] for j in range(d)])], D)  # T x d
            S = _matmul(q, [list(r) for r in zip(*k)], D)                        # T x T scores
            for t in range(T):
                # exp(u S_ts) and 1 / Σ_s exp(u S_ts) as series in u
                exps = [[None] * order for _ in range(T)]
                for s in range(T):
                    power = Dual(Fraction(1), [Fraction(0)] * D)
                    for n in range(order):
                        exps[s][n] = power * Fraction(1, math.factorial(n))
                        power = power * S[t][s]
                Z = [_dsum((exps[s][n] for s in range(T)), D) for n in range(order)]
                inv = [Dual(Fraction(1, T), [Fraction(0)] * D)]  # Z_0 = T
                for n in range(1, order):
                    acc = _dsum((Z[i] * inv[n - i] for i in range(1, n + 1)), D)
                    inv.append(acc * Fraction(-1, T))
                for s in range(T):
                    weight = _series_mul(exps[s], inv, order, D)
                    for n in range(order):
                        for j in range(d):
                            out[n][t][j] = out[n][t][j] + weight[n] * vo[s][j]
        for n in range(order):
            for t in range(T):
                for j in range(d):
                    rows.append(out[n][t][j].g)
    return rows, D


def exact_rank(rows):
    import flint

    if not rows:
        return 0
    den = 1
    for r in rows:
        for x in r:
            den = math.lcm(den, x.denominator)
    return flint.fmpz_mat([[int(x * den) for x in r] for r in rows]).rank()


def multihead_module(d, H, hd):
    import torch
    import torch.nn as nn

    class MultiHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (nn.Linear(d, H * hd, bias=False) for _ in range(3))
            self.o = nn.Linear(H * hd, d, bias=False)

        def forward(self, x):
            B, T, _ = x.shape
            q = self.q(x).view(B, T, H, hd).transpose(1, 2)
            k = self.k(x).view(B, T, H, hd).transpose(1, 2)
            v = self.v(x).view(B, T, H, hd).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(-2, -1) / hd ** 0.5, dim=-1)
            return self.o((a @ v).transpose(1, 2).reshape(B, T, H * hd))

    torch.manual_seed(0)
    return MultiHead()


def case(d, H, hd, *, tokens=3, inputs=3, order=3, seed=0):
    t0 = time.perf_counter()
    model = fl.models.from_torch(multihead_module(d, H, hd), (1, tokens, d))
    res = fl.analyze(model)
    fl.verify.check_certificate(res.certificate)
    per_head = fl.analyze(fl.models.attention(d, hd)).count
    rng = random.Random(seed)
    theta = [rng.choice([-3, -2, -1, 1, 2, 3]) for _ in range(model.dim)]
    xs = [[[rng.randint(-3, 3) for _ in range(d)] for _ in range(tokens)] for _ in range(inputs)]
    rows, D = taylor_gradients(d, H, hd, theta, xs, order)
    assert D == model.dim
    rank = exact_rank(rows)
    grads = []
    for coord in model.phi_polynomials():
        g = [Fraction(0)] * D
        for mono, c in coord.items():
            for i, e in enumerate(mono):
                if e:
                    term = Fraction(c * e)
                    for j, f in enumerate(mono):
                        if f:
                            term *= Fraction(theta[j]) ** (f - (1 if j == i else 0))
                    g[i] += term
        grads.append(g)
    phi_rank = exact_rank(grads)
    closed = 2 * H * hd * (2 * d - hd)
    return {
        "d": d, "heads": H, "head_dim": hd, "D": D, "count": res.count, "complete": res.complete,
        "heads_x_single_head": H * per_head, "phi_rank": phi_rank, "phi_rank_closed_form": closed,
        "model_rank": rank,
        "no_extra_laws": bool(res.complete and rank == phi_rank == closed and res.count == H * per_head),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "multihead_attention.json"))
    args = ap.parse_args(argv)
    rows = [case(*s) for s in (QUICK if args.quick else SIZES)]
    print("| d | heads | head_dim | D | laws of φ (certified) | heads × one head | rank ∇φ(θ*) | 2H·hd(2d−hd) "
          "| rank of the model's gradients | laws of the model |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        verdict = f"{r['count']} (none beyond the heads')" if r["no_extra_laws"] else "undecided"
        print(f"| {r['d']} | {r['heads']} | {r['head_dim']} | {r['D']} | {r['count']} | {r['heads_x_single_head']} "
              f"| {r['phi_rank']} | {r['phi_rank_closed_form']} | {r['model_rank']} | {verdict} |")
    with open(args.out, "w") as fh:
        json.dump({"quick": args.quick, "rows": rows}, fh, indent=1)
    return 0 if all(r["no_extra_laws"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
