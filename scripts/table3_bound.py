"""What a 60 % budget can reach on the authors' DnCNN map (issue 15): a simulation.

Every sensitive cell's interventions are modelled as normal draws with the mean and
spread the stored Full<500> map measured for it (`studies/table3-dncnn/full500`). Per
simulated seed: a noisy Full<500> reference, Eq. 3's screening (3 draws, a cell opens
when one reaches `tol`), then the cells' estimates under each strategy, thresholded at
`tol` as maps are, and S against the reference. Cells below `tol` in the reference
(stored as 0) get the mean `FILL x tol` (the first argument, default 0): their true mean
is not stored.

Strategies: C3F50 (50 fresh draws per open cell); at 60 % of each seed's C3F50 cost,
the open cells' draws (screening ones kept) split equally, or in proportion to
sigma^(2/3) (the L1-optimal split, with each cell's true sigma: an oracle), or to
sigma; "cvX": the draws' variance multiplied by X, as a control variate with
R^2 = 1 - X would (0.56: what stratified draws, `-s`, achieved in
`scripts/strata_variance.py`).

    .venv/bin/python scripts/table3_bound.py [FILL] [SEEDS]
"""
import csv
import sys

import numpy as np

FULL = "studies/table3-dncnn/full500/cem.csv"
fill = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
tol = 0.01
rows = [r for r in csv.DictReader(open(FULL)) if r["samples"] == "500" and r["kind"] != "roi"]
mu = np.array([float(r["effect_db"]) for r in rows])
sig = np.array([float(r["std_err"]) * np.sqrt(500) for r in rows])
mu = np.where(mu == 0, fill * tol, mu)
n_cells = len(mu)
rng = np.random.default_rng(0)


def thr(m):
    return np.where(np.abs(m) < tol, 0.0, m)


def similarity(est, ref):
    return 100 * (1 - np.abs(thr(est) - ref).sum() / np.abs(ref).sum())


splits = {
    "equal": lambda s: np.ones_like(s),
    "sigma^(2/3), oracle": lambda s: s ** (2 / 3),
    "sigma, oracle": lambda s: s,
}
results = {"C3F50": [], "C3F50, cv0.7": []}
for name in splits:
    for vf in (1.0, 0.7, 0.56, 0.5):
        results[f"60 %, {name}" + ("" if vf == 1 else f", cv{vf}")] = []
opened_total = 0
for _ in range(seeds):
    ref = thr(mu + rng.normal(0, 1, n_cells) * sig / np.sqrt(500))
    screen = mu[:, None] + rng.normal(0, 1, (n_cells, 3)) * sig[:, None]
    opened = (np.abs(screen) >= tol).any(axis=1)
    k = int(opened.sum())
    opened_total += k
    for label, vf in (("C3F50", 1.0), ("C3F50, cv0.7", 0.7)):
        est = np.zeros(n_cells)
        est[opened] = mu[opened] + rng.normal(0, 1, k) * sig[opened] * np.sqrt(vf / 50)
        results[label].append(similarity(est, ref))
    draws = int(0.6 * (3 * n_cells + 50 * k)) - 3 * n_cells + 3 * k
    for name, weight in splits.items():
        w = weight(sig[opened])
        n = np.maximum(3.0, w / w.sum() * draws)
        n *= draws / n.sum()
        for vf in (1.0, 0.7, 0.56, 0.5):
            est = np.zeros(n_cells)
            est[opened] = mu[opened] + rng.normal(0, 1, k) * sig[opened] * np.sqrt(vf / n)
            results[f"60 %, {name}" + ("" if vf == 1 else f", cv{vf}")].append(similarity(est, ref))
print(f"{n_cells} cells in the crop, {opened_total / seeds:.1f} open per seed; {seeds} seeds; "
      f"sub-tol cells at {fill:g} x tol")
base = np.array(results["C3F50"])
for label, values in results.items():
    v = np.array(values)
    print(f"{label:32s} S {v.mean():6.2f} (sd {v.std():.2f})  vs C3F50 {v.mean() - base.mean():+.2f}")
