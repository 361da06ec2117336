"""Which cheap features of an intervention explain a cell's effect? (docs/table3.md,
"Control variates"). The authors' DnCNN on demo_2 (their noisy input), ROI 96,152,32:
for eight cells beside the ROI, N draws each (a library patch plus fresh sigma-50 noise,
as the reference pipeline intervenes), the effect O - PSNR against candidate features:
  c      the gradient's linear prediction grad . (x_t - x)
  m3     the pasted region's channel means (what `adaptive-cv` uses)
  m3+sq  those and the mean squared difference from the original cell
For each: the cross-validated R^2, and the variance of the plain mean over that of the
regression estimator at 25 draws (from resampling). CPU, about two minutes.

Run with the project's Python plus Pillow:
  pip install --target /tmp/pylib pillow
  PYTHONPATH=/tmp/pylib .venv/bin/python scripts/cv_features.py [N]
"""
import sys

import numpy as np
import torch

from dncnn_demo2 import CELLS, O, RX, RY, cell_draws, cell_origin, crop, library, model, truth

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300

print(f"O = {O:.6f} dB (the authors' fixture: 24.041418)")
t = torch.tensor(crop[None] / 255.0, dtype=torch.float32).permute(0, 3, 1, 2).requires_grad_(True)
out = (model(t).clamp(0, 1) * 255).permute(0, 2, 3, 1)[0, RY : RY + 32, RX : RX + 32]
psnr = 10 * torch.log10(255**2 / ((out.double() - torch.tensor(truth)) ** 2).mean())
psnr.backward()
grad = t.grad[0].permute(1, 2, 0).double().numpy() / 255.0

rng = np.random.default_rng(0)
lib = library(rng)


def cv_r2(x, y, folds=5):
    idx = np.arange(len(y))
    pred = np.zeros(len(y))
    for f in range(folds):
        test, train = idx % folds == f, idx % folds != f
        a = np.c_[np.ones(train.sum()), x[train]]
        b = np.linalg.lstsq(a, y[train], rcond=None)[0]
        pred[test] = np.c_[np.ones(test.sum()), x[test]] @ b
    return 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def variance_ratio(x, y, n=25, reps=400):
    mu = x.mean(0)
    plain, reg = [], []
    for _ in range(reps):
        i = rng.choice(len(y), n, replace=False)
        b = np.linalg.lstsq(np.c_[np.ones(n), x[i] - mu], y[i], rcond=None)[0]
        plain.append(y[i].mean())
        reg.append(b[0])
    return np.var(plain) / np.var(reg)


for r, c in CELLS:
    cy, cx = cell_origin(r, c)
    original = crop[cy : cy + 8, cx : cx + 8]
    e, _, x = cell_draws(rng, lib, r, c, N)
    diff = (x - original).reshape(len(x), 64, 3)
    features = {
        "c": ((x - original) * grad[cy : cy + 8, cx : cx + 8]).sum(axis=(1, 2, 3))[:, None],
        "m3": diff.mean(1),
        "m3+sq": np.c_[diff.mean(1), (diff**2).mean((1, 2))],
    }
    cols = " ".join(f"{k}: R2 {cv_r2(v, e):.2f}, var/{variance_ratio(v, e):.2f}" for k, v in features.items())
    print(f"cell ({r},{c}) mean effect {e.mean():+.4f} sd {e.std():.4f} | {cols}")
