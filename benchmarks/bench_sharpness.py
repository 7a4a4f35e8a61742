"""Benchmark: vectorised Q and Ω (deblurlab.sharpness) vs a straightforward per-patch NumPy loop.

Times, on one machine and one synthetic image (default 1024×1024, [0, 1], float64):

* Q — 8×8 Zhu–Milanfar patches (``metric_q(img)``);
* Ω — 16×16 patches with the 2×2 inner Q (``omega(restored, reference)``), the restored image
  being ``imsharpen(reference, amount=1.3)``;

against loop implementations written here (one patch at a time: ``np.gradient``,
``np.linalg.svd``), checks that both agree, and prints a markdown table with the speed-up.
Timings are best-of-k wall-clock times (vectorised: ``--repeats``, default 20; Q loop: 3 runs;
Ω loop: 1 run, ~25 s): the minimum is the least disturbed run on a shared machine.

Usage::

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/bench_sharpness.py [--size 1024]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
import torch
from scipy import ndimage

from deblurlab.sharpness import imsharpen, metric_q, omega, q_threshold


def synthetic_image(size: int, seed: int = 0) -> np.ndarray:
    """Edges, discs and texture in [0, 1] (uint8-quantised, like a real 8-bit crop)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    img = 0.2 + 0.1 * np.sin(xx / 3.0 + yy / 5.0)
    for _ in range(40):
        cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(size / 40, size / 8)]
        img += rng.uniform(-0.2, 0.2) * (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)
    img = ndimage.gaussian_filter(img, 0.8) + 0.01 * rng.standard_normal(img.shape)
    return np.round(np.clip(img, 0, 1) * 255) / 255


# --- the straightforward loops ----------------------------------------------------------------


def loop_patch_q(patch: np.ndarray, tau: float, eig_coherence: bool) -> float:
    gy, gx = np.gradient(patch)
    G = np.column_stack([gx.ravel(), gy.ravel()])
    s1, s2 = np.linalg.svd(G, compute_uv=False)
    if s1 + s2 == 0:
        return 0.0
    if eig_coherence:
        l1, l2 = np.linalg.svd(G.T @ G, compute_uv=False)
        coherence = (l1 - l2) / (l1 + l2)
    else:
        coherence = (s1 - s2) / (s1 + s2)
    return s1 * (s1 - s2) / (s1 + s2) if coherence > tau else 0.0


def loop_q(img: np.ndarray, n: int = 8, eig_coherence: bool = False) -> float:
    tau = q_threshold(1e-3, n)
    h, w = img.shape[0] // n, img.shape[1] // n
    total = 0.0
    for i in range(h):
        for j in range(w):
            total += loop_patch_q(img[i * n:(i + 1) * n, j * n:(j + 1) * n], tau, eig_coherence)
    return total / (h * w)


def loop_omega(res: np.ndarray, ref: np.ndarray, m: int = 16, R: float = 5.0,
               a0: float = 1.2, cap: float = 50.0) -> float:
    vals = []
    for i in range(0, ref.shape[0] - m + 1, m):
        for j in range(0, ref.shape[1] - m + 1, m):
            p, pt = ref[i:i + m, j:j + m], res[i:i + m, j:j + m]
            mse = np.mean((p - pt) ** 2)
            psnr = min(10 * math.log10(1 / mse), cap) if mse > 0 else cap
            q, qt = loop_q(p, 2, True), loop_q(pt, 2, True)
            if q == 0 and qt == 0:
                vals.append(psnr)
                continue
            a = abs(qt - q) / q if q > 0 else math.inf
            sig = 0.0 if a == math.inf else 1 / (1 + math.exp(R * (a - a0)))
            vals.append((1 - sig) * psnr + sig * qt)
    return float(np.mean(vals))


def best_of(fn, repeats: int) -> tuple[float, float]:
    best, value = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    ref = synthetic_image(args.size)
    res = imsharpen((ref * 255).round().astype(np.uint8), radius=1, amount=1.3) / 255.0

    rows = []
    for name, vec, loop, loop_repeats in (
        ("Q (8×8 Zhu–Milanfar, [0,1])", lambda: metric_q(ref), lambda: loop_q(ref), 3),
        ("Ω (m=16, inner 2×2 Q)", lambda: omega(res, ref), lambda: loop_omega(res, ref), 1),
    ):
        t_vec, v_vec = best_of(vec, args.repeats)
        t_loop, v_loop = best_of(loop, loop_repeats)
        rel = abs(v_vec - v_loop) / max(abs(v_loop), 1e-300)
        if rel > 1e-9:
            raise SystemExit(f"{name}: vectorised {v_vec!r} != loop {v_loop!r} (rel {rel:.2e})")
        rows.append((name, v_vec, rel, t_loop, t_vec, t_loop / t_vec))

    print(f"Image {args.size}×{args.size} float64; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s); {platform.processor() or platform.machine()}; "
          f"best of {args.repeats} (vectorised), 3 (Q loop), 1 (Ω loop)\n")
    print("| metric | value | rel. diff loop vs vectorised | loop (s) | vectorised (s) "
          "| speed-up |")
    print("|---|---|---|---|---|---|")
    for name, v, rel, tl, tv, su in rows:
        print(f"| {name} | {v:.6f} | {rel:.1e} | {tl:.3f} | {tv:.4f} | {su:.0f}× |")


if __name__ == "__main__":
    main()
