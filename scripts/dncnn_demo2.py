"""The setup that scripts/cv_features.py and scripts/strata_variance.py share: the authors'
DnCNN on demo_2 (their sigma-50 noisy input), ROI 96,152,32, an 80x80 crop around the ROI
(wider than DnCNN's reach of 17 pixels on each side), eight cells beside the ROI, and
interventions as the reference pipeline makes them (a DIV2K library patch plus fresh
sigma-50 noise, floored to u8). Import it from a script in this folder.
"""
import os

import numpy as np
import torch
from PIL import Image

torch.set_num_threads(1)
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
CELLS = [(18, 12), (18, 13), (18, 14), (19, 11), (20, 16), (23, 13), (23, 14), (24, 15)]
Y0, X0, SIZE = 128, 72, 80
RY, RX = 152 - Y0, 96 - X0


def load(path):
    """An RGB image as float64 in 0..255."""
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64)


gt = load(f"{SHARED}/data/test-images/demo_2.png")
noisy = load(f"{SHARED}/reference/fixtures/demo_2_dn_sigma50_seed0.png")
model = torch.jit.load(f"{SHARED}/data/models/dncnn_color_blind.torchscript.pt").eval()
crop = noisy[Y0 : Y0 + SIZE, X0 : X0 + SIZE]
truth = gt[152:184, 96:128]


def roi_psnr(batch):
    """The ROI's PSNR for each image of a batch of crops (N x 80 x 80 x 3, 0..255)."""
    t = torch.tensor(batch / 255.0, dtype=torch.float32).permute(0, 3, 1, 2)
    with torch.no_grad():
        out = model(t)
    out = (out.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).double().numpy()
    mse = ((out[:, RY : RY + 32, RX : RX + 32] - truth) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255**2 / mse)


O = roi_psnr(crop[None])[0]


def library(rng, count=2000):
    """`count` of the authors' DIV2K patches, picked with `rng`."""
    names = sorted(os.listdir(f"{SHARED}/data/patches-div2k-8"))
    picked = rng.choice(len(names), count, replace=False)
    return np.stack([load(f"{SHARED}/data/patches-div2k-8/{names[i]}") for i in picked])


def cell_origin(r, c):
    """The top-left corner of map cell (r, c) in the crop."""
    return 8 * r - Y0, 8 * c - X0


def cell_draws(rng, lib, r, c, n):
    """n interventions on cell (r, c), 50 at a time: the effects O - PSNR, the clean
    library patches and the pasted (noisy) patches."""
    cy, cx = cell_origin(r, c)
    effects, clean, pasted = [], [], []
    for _ in range(0, n, 50):
        patches = lib[rng.integers(0, len(lib), 50)]
        degraded = np.floor(np.clip(patches / 255.0 + rng.normal(0, 50 / 255.0, patches.shape), 0, 1) * 255)
        batch = np.repeat(crop[None], 50, 0)
        batch[:, cy : cy + 8, cx : cx + 8] = degraded
        effects.append(O - roi_psnr(batch))
        clean.append(patches)
        pasted.append(degraded)
    return np.concatenate(effects), np.concatenate(clean), np.concatenate(pasted)
