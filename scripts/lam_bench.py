#!/usr/bin/env python3
"""LAM in plain PyTorch, for timing `cem lam` against (and checking its map).

The same computation as `cem lam` (the authors' SaliencyModel: Gaussian blur path,
sigma 1.2, fold 50, l 9, attr_grad objective, grad_abs_norm, Gini): path images by a
depthwise conv2d with reflect-101 padding (OpenCV's filter2D border), the path points
in batches of --batch with one backward each.

  .venv/bin/python scripts/lam_bench.py --model M.pt --input LR.png --roi X,Y,S \
      [--batch 10] [--npy out/lam/lam.npy]

Prints the seconds, Gini and DI, and with --npy the largest difference to cem's map.
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_png(path):
    # minimal PNG reading through torchvision-free means: use PIL if present, else
    # the cem-written 8-bit RGB PNG via zlib
    try:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
    except ImportError:
        import struct
        import zlib

        data = open(path, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pos, idat, w = 8, b"", None
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos : pos + 8])
            body = data[pos + 8 : pos + 8 + n]
            if kind == b"IHDR":
                w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
                assert depth == 8 and ctype in (2, 6), "8-bit RGB(A) PNG only"
                ch = 3 if ctype == 2 else 4
            elif kind == b"IDAT":
                idat += body
            pos += 12 + n
        raw = zlib.decompress(idat)
        stride = w * ch
        out = np.zeros((h, stride), dtype=np.uint8)
        prev = np.zeros(stride, dtype=np.int32)
        i = 0
        for y in range(h):
            f = raw[i]
            line = np.frombuffer(raw[i + 1 : i + 1 + stride], dtype=np.uint8).astype(np.int32)
            i += 1 + stride
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                a = cur[x - ch] if x >= ch else 0
                b = prev[x]
                c = prev[x - ch] if x >= ch else 0
                if f == 0:
                    p = 0
                elif f == 1:
                    p = a
                elif f == 2:
                    p = b
                elif f == 3:
                    p = (a + b) // 2
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + p) & 255
            out[y] = cur
            prev = cur
        return out.reshape(h, w, ch)[:, :, :3]


def kernel(l, sigma):
    ax = np.arange(-l // 2 + 1.0, l // 2 + 1.0)
    xx, yy = np.meshgrid(ax, ax)
    k = np.exp(-(xx**2 + yy**2) / (2.0 * (sigma + 1e-5) ** 2))
    return k / k.sum()


def filter2d(x, ks):
    # x [C,H,W] float64, ks [K,l,l] -> [K,C,H,W]; OpenCV anchor l//2, reflect-101
    l = ks.shape[-1]
    a, b = l // 2, l - 1 - l // 2
    p = F.pad(x[None], (a, b, a, b), mode="reflect")[0][:, None]
    w = torch.from_numpy(ks)[:, None]
    return F.conv2d(p, w).permute(1, 0, 2, 3).contiguous()


def attr_grad(o, x, y, s):
    h, w = o.shape[2], o.shape[3]
    dh = (o[:, :, : h - 1, :] - o[:, :, 1:, :]) ** 2
    dw = (o[:, :, :, : w - 1] - o[:, :, :, 1:]) ** 2
    g = torch.sqrt(dh[:, :, :, :-1] + dw[:, :, :-1, :])
    return g[:, :, y : y + s, x : x + s].sum()


def gini(a):
    a = a.flatten().astype(np.float64)
    if a.min() < 0:
        a -= a.min()
    a = np.sort(a + 1e-7)
    n = a.shape[0]
    i = np.arange(1, n + 1)
    return np.sum((2 * i - n - 1) * a) / (n * np.sum(a))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--roi", required=True)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--fold", type=int, default=50)
    ap.add_argument("--sigma", type=float, default=1.2)
    ap.add_argument("--l", type=int, default=9)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--npy")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    x0, y0, s = (int(v) for v in a.roi.split(","))
    model = torch.jit.load(a.model, map_location="cpu").eval()
    img = torch.from_numpy(load_png(a.input).astype(np.float32) / 255.0).permute(2, 0, 1)

    start = time.perf_counter()
    ks = np.stack([kernel(a.l, sg) for sg in np.linspace(a.sigma, 0, a.fold + 1)])
    xd = img.double()
    points = filter2d(xd, ks[1:]).float()
    derivs = filter2d(xd, (ks[1:] - ks[:-1]) * a.fold).float()
    total = torch.zeros_like(img, dtype=torch.float64)
    for b0 in range(0, a.fold, a.batch):
        p = points[b0 : b0 + a.batch].clone().requires_grad_(True)
        out = model(p)
        (g,) = torch.autograd.grad(attr_grad(out.float(), x0, y0, s), [p])
        g = torch.where(torch.isnan(g), torch.zeros_like(g), g)
        total += (g * derivs[b0 : b0 + a.batch]).double().sum(0)
    attribution = (total / a.fold).float().numpy()
    m = np.abs(attribution.sum(0))
    m = m / m.max()
    seconds = time.perf_counter() - start
    gi = gini(m)
    print(f"pytorch LAM: {seconds:.3f} s, Gini {gi:.6f}, DI {(1 - gi) * 100:.4f}")
    if a.npy:
        ours = np.load(a.npy)
        print(f"max |cem - pytorch| on the normalised map: {np.abs(ours - m).max():.3g}")


if __name__ == "__main__":
    main()
