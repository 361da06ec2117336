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
import os
import sys

import numpy as np
import torch
from PIL import Image

torch.set_num_threads(1)
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
K = int(sys.argv[3]) if len(sys.argv) > 3 else 8
REPS = 2000
CELLS = [(18, 12), (18, 13), (18, 14), (19, 11), (20, 16), (23, 13), (23, 14), (24, 15)]


def load(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64)


gt = load(f"{SHARED}/data/test-images/demo_2.png")
noisy = load(f"{SHARED}/reference/fixtures/demo_2_dn_sigma50_seed0.png")
model = torch.jit.load(f"{SHARED}/data/models/dncnn_color_blind.torchscript.pt").eval()
y0, x0, size = 128, 72, 80  # wider than DnCNN's reach of 17 pixels on each side
ry, rx = 152 - y0, 96 - x0
crop = noisy[y0 : y0 + size, x0 : x0 + size]
truth = gt[152:184, 96:128]


def roi_psnr(batch):
    t = torch.tensor(batch / 255.0, dtype=torch.float32).permute(0, 3, 1, 2)
    with torch.no_grad():
        out = model(t)
    out = (out.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).double().numpy()
    mse = ((out[:, ry : ry + 32, rx : rx + 32] - truth) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255**2 / mse)


o = roi_psnr(crop[None])[0]
names = sorted(os.listdir(f"{SHARED}/data/patches-div2k-8"))
rng = np.random.default_rng(0)
library = np.stack(
    [load(f"{SHARED}/data/patches-div2k-8/{names[i]}") for i in rng.choice(len(names), 2000, replace=False)]
)


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
    cy, cx = 8 * r - y0, 8 * c - x0
    effects, clean, pasted = [], [], []
    for _ in range(0, N, 50):
        patches = library[rng.integers(0, len(library), 50)]
        degraded = np.floor(np.clip(patches / 255.0 + rng.normal(0, 50 / 255.0, patches.shape), 0, 1) * 255)
        batch = np.repeat(crop[None], 50, 0)
        batch[:, cy : cy + 8, cx : cx + 8] = degraded
        effects.append(o - roi_psnr(batch))
        clean.append(patches)
        pasted.append(degraded.reshape(50, 64, 3).mean(1))
    y, z = np.concatenate(effects), np.concatenate(pasted)
    luma = np.concatenate(clean).mean((1, 2)) @ [0.299, 0.587, 0.114]  # of the clean patch
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
