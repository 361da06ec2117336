"""Which variance reduction helps a cell's mean most at the 30-50 draws a sensitive cell
gets? (docs/table3.md, "Stratified draws"). The authors' DnCNN on demo_2 (their noisy
input), ROI 96,152,32: for eight cells beside the ROI, N draws each (a library patch plus
fresh sigma-50 noise, as the reference pipeline intervenes), the effect O - PSNR and the
pasted region's channel means. Then, taking those N draws as the population (so every
expectation is exact), n of them are drawn again and again and each estimator's error
against the population mean is measured:
  reg    the control-variate regression on the channel means (`adaptive-cv`)
  loo    the same with each draw's slope fitted on the other draws (unbiased)
  strat  stratified draws: equal-count luma strata, n/K draws from each (`adaptive-s`)
Printed per cell: bias over the estimator's sd, and its mean absolute error over the
plain mean's (the quantity S measures). CPU, one thread, about ten minutes.

Run with the project's Python plus Pillow:
  pip install --target /tmp/pylib pillow
  PYTHONPATH=/tmp/pylib .venv/bin/python scripts/strata_variance.py [N] [n] [K]
"""
import sys

import numpy as np

from dncnn_demo2 import CELLS, cell_draws, library

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
K = int(sys.argv[3]) if len(sys.argv) > 3 else 8
REPS = 2000
rng = np.random.default_rng(0)
lib = library(rng)


def slope(y, z):
    zc = z - z.mean(0)
    return np.linalg.lstsq(zc, y - y.mean(), rcond=None)[0]


def reg(y, z, mu):
    return y.mean() - (z.mean(0) - mu) @ slope(y, z)


def loo(y, z, mu):
    keep = ~np.eye(len(y), dtype=bool)
    return np.mean([y[i] - (z[i] - mu) @ slope(y[keep[i]], z[keep[i]]) for i in range(len(y))])


print(f"{N} draws per cell, resampled at n = {n} ({REPS} times); {K} strata")
ratios = {"reg": [], "loo": [], "strat": []}
for r, c in CELLS:
    y, clean, pasted = cell_draws(rng, lib, r, c, N)
    z = pasted.reshape(N, 64, 3).mean(1)
    luma = clean.mean((1, 2)) @ [0.299, 0.587, 0.114]  # of the clean patch
    stratum = np.zeros(N, int)
    stratum[np.argsort(luma, kind="stable")] = np.arange(N) * K // N
    members = [np.flatnonzero(stratum == h) for h in range(K)]
    w = np.array([len(m) / N for m in members])
    mu, target = z.mean(0), y.mean()
    est = {k: [] for k in ["plain"] + list(ratios)}
    for _ in range(REPS):
        i = rng.choice(N, n, replace=False)
        est["plain"].append(y[i].mean())
        est["reg"].append(reg(y[i], z[i], mu))
        est["loo"].append(loo(y[i], z[i], mu))
        counts = np.full(K, n // K)
        counts[rng.choice(K, n % K, replace=False)] += 1
        est["strat"].append(sum(w[h] * y[rng.choice(members[h], counts[h], replace=False)].mean() for h in range(K)))
    plain_l1 = np.abs(np.array(est["plain"]) - target).mean()
    line = f"cell ({r},{c}) mean {target:+.4f} sd {y.std():.4f} |"
    for k in ratios:
        v = np.array(est[k])
        ratios[k].append(np.abs(v - target).mean() / plain_l1)
        line += f" {k}: bias/sd {(v.mean() - target) / v.std():+.2f}, L1 x {ratios[k][-1]:.2f} |"
    print(line, flush=True)
print("mean L1 over the plain mean's:", {k: round(float(np.mean(v)), 3) for k, v in ratios.items()})
