"""Regenerate the plots of docs/plots.md (PNG) and their numbers (JSON) in docs/images/.

Run:  python docs/scripts/plots.py   (about 30 s on 2 cores; nothing is typed in by hand)

* ``count_heatmap.png`` / ``count_heatmap.json``: the certified number of laws of the
  two-layer linear net ``U Vᵀ`` (``flowlaws.models.factorization(n, r, m)``, output width
  ``m = 1``) over a grid of input widths ``n`` and hidden widths ``r``, under gradient flow
  and under heavy-ball momentum (``τ = 1``), next to the formulas of DESIGN section 4.
* ``rank_growth.png`` / ``rank_growth.json``: how the certified rank grows with the bracket
  depth of the words in each certificate (``certificate["rank"]["words"]``).

Every count is checked to be ``complete`` (certified exact) and every certificate is
re-checked by the independent checker; the script stops with an error otherwise.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from flowlaws._optional import require  # noqa: E402

matplotlib = require("matplotlib", extra="plots", what="docs/scripts/plots.py")
matplotlib.use("Agg")
plt = require("matplotlib.pyplot", extra="plots", what="docs/scripts/plots.py")
import numpy as np  # noqa: E402

import flowlaws as fl  # noqa: E402

IMAGES = ROOT / "docs" / "images"
INPUT_WIDTHS = (1, 2, 3, 4)      # n
HIDDEN_WIDTHS = (1, 2, 3, 4, 5)  # r
OUTPUT_WIDTH = 1                 # m
FLOWS = (("gradient", None), ("momentum", 1))
RANK_CASES = (
    ("relu:3x3x3", "gradient", None), ("relu:3x3x3", "momentum", 1),
    ("factorization:2x3x2", "gradient", None), ("factorization:2x3x2", "momentum", 1),
    ("linear:2x2x2x2", "gradient", None), ("linear:2x2x2x2", "momentum", 1),
    ("attention:2x2", "gradient", None), ("attention:2x2", "momentum", 1),
    ("product:4", "gradient", None), ("product:4", "momentum", 1),
    ("sym:3x2", "gradient", None), ("sym:3x2", "momentum", 1),
)
MARKERS = "osD^vP*X"


def gf_formula(n: int, r: int, m: int) -> int:
    """DESIGN section 4: laws of ``U Vᵀ`` under gradient flow, ``N = n + m``."""
    N = n + m
    return r * (r + 1) // 2 if r <= N else N * r - N * (N - 1) // 2


def mf_formula(n: int, r: int, m: int) -> int | None:
    """DESIGN section 4: laws of ``U Vᵀ`` under momentum (stated for ``N ≥ 3`` only)."""
    N = n + m
    if N < 3:
        return None
    return r * (r - 1) // 2 if r <= 2 * N else 2 * N * r - N * (2 * N + 1)


def certified(model: fl.models.Model, flow: str, tau: Any) -> fl.Result:
    res = fl.analyze(model, flow=flow, tau=tau)
    if not res.complete:
        raise SystemExit(f"{model.name} under {flow}: bounds {res.bounds}, not certified exact; shrink the grid")
    fl.verify.check_certificate(res.certificate)
    return res


def word_depth(word: Any) -> int:
    """Bracket depth of a certificate WORD: a generator index is 1, ``[u, w]`` is 1 + the deeper side."""
    if isinstance(word, int):
        return 1
    left, right = word
    return 1 + max(word_depth(left), word_depth(right))


def rank_by_depth(words: list[Any]) -> list[int]:
    """Cumulative rank reached with the words of depth ≤ k, for k = 1..max depth (each word adds 1)."""
    depths = [word_depth(w) for w in words]
    top = max(depths, default=1)
    return [sum(1 for d in depths if d <= k) for k in range(1, top + 1)]


def heatmap() -> dict[str, Any]:
    data: dict[str, Any] = {
        "what": "certified number of conservation laws of U V^T (factorization(n, r, m))",
        "output_width_m": OUTPUT_WIDTH, "input_widths_n": list(INPUT_WIDTHS),
        "hidden_widths_r": list(HIDDEN_WIDTHS), "flows": {},
    }
    for flow, tau in FLOWS:
        key = flow if tau is None else f"{flow} tau={tau}"
        counts, formula, seconds = [], [], []
        for n in INPUT_WIDTHS:
            row, frow = [], []
            for r in HIDDEN_WIDTHS:
                t = time.perf_counter()
                res = certified(fl.models.factorization(n, r, OUTPUT_WIDTH), flow, tau)
                seconds.append(time.perf_counter() - t)
                row.append(res.count)
                frow.append(gf_formula(n, r, OUTPUT_WIDTH) if flow == "gradient" else mf_formula(n, r, OUTPUT_WIDTH))
            counts.append(row)
            formula.append(frow)
        data["flows"][key] = {"count": counts, "formula": formula, "seconds": round(sum(seconds), 2)}
        print(f"heat map {key}: {sum(seconds):.1f} s", file=sys.stderr)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    vmax = max(max(map(max, v["count"])) for v in data["flows"].values())
    for ax, (key, v) in zip(axes, data["flows"].items()):
        grid = np.array(v["count"])
        im = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
        for i, n in enumerate(INPUT_WIDTHS):
            for j, r in enumerate(HIDDEN_WIDTHS):
                f = v["formula"][i][j]
                text = str(grid[i, j]) + ("" if f is None or f == grid[i, j] else f"\n(formula {f})")
                ax.text(j, i, text, ha="center", va="center",
                        color="white" if grid[i, j] < 0.6 * vmax else "black", fontsize=10)
        ax.set_xticks(range(len(HIDDEN_WIDTHS)), [str(r) for r in HIDDEN_WIDTHS])
        ax.set_yticks(range(len(INPUT_WIDTHS)),
                      [f"{n} (N={n + OUTPUT_WIDTH})" for n in INPUT_WIDTHS])
        ax.set_xlabel("hidden width r")
        ax.set_ylabel(f"input width n (output m={OUTPUT_WIDTH})")
        title = "gradient flow" if key == "gradient" else "momentum, τ = 1"
        ax.set_title(f"{title}: laws of U Vᵀ (n×r×{OUTPUT_WIDTH})")
    fig.colorbar(im, ax=axes, shrink=0.8, label="certified number of laws")
    fig.savefig(IMAGES / "count_heatmap.png", dpi=110)
    plt.close(fig)
    return data


def rank_growth() -> dict[str, Any]:
    cases = []
    for spec, flow, tau in RANK_CASES:
        res = certified(fl.models.parse(spec), flow, tau)
        cases.append({
            "spec": spec, "flow": flow, "tau": tau, "dim": res.dim, "rank": res.rank, "count": res.count,
            "rank_by_depth": rank_by_depth(res.certificate["rank"]["words"]),
        })
    specs = list(dict.fromkeys(spec for spec, _, _ in RANK_CASES))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True, constrained_layout=True)
    for ax, flow in zip(axes, ("gradient", "momentum")):
        for case in (c for c in cases if c["flow"] == flow):
            i = specs.index(case["spec"])
            ys = [r / case["dim"] for r in case["rank_by_depth"]]
            # cases that coincide (relu:3x3x3 and sym:3x2 under gradient flow) stay visible: wider lines
            # and larger hollow markers first, narrower and smaller ones drawn over them
            ax.plot(range(1, len(ys) + 1), ys, marker=MARKERS[i % len(MARKERS)], color=f"C{i}",
                    ls=("-", "--", ":", "-.")[i % 4], ms=12 - 1.4 * i, mfc="none", mew=1.5,
                    lw=3.2 - 0.4 * i,
                    label=f"{case['spec']}: rank {case['rank']} of {case['dim']}")
        ax.set_xlabel("bracket depth k (words of depth ≤ k)")
        ax.set_title("gradient flow" if flow == "gradient" else "momentum, τ = 1")
        ax.set_ylim(0, 1.05)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("certified rank / dim")
    fig.savefig(IMAGES / "rank_growth.png", dpi=110)
    plt.close(fig)
    return {"what": "cumulative certified rank reached by the bracket words of depth <= k, k = 1, 2, ...",
            "cases": cases}


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    for name, data in (("count_heatmap", heatmap()), ("rank_growth", rank_growth())):
        (IMAGES / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {IMAGES}/count_heatmap.* and rank_growth.* in {time.perf_counter() - t:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
