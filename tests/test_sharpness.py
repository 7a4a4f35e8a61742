"""Tests of deblurlab.sharpness (paper 003: Q, the sharpness loss, Ω, imsharpen, t-test).

Reference values: ``$DEBLURLAB_DATA/omega-test-vectors/EXPECTED.md`` (published by the authors)
and METHODS §4.4 (the same values with one more digit). Loop references below are written
independently of the vectorised code, patch by patch with ``np.gradient`` / ``np.linalg``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage, stats

from deblurlab.sharpness import (
    BETA,
    SharpnessLoss,
    composite_loss,
    differentiable_q,
    imsharpen,
    metric_q,
    normalised_sharpness_j,
    omega,
    paired_t_test,
    q_threshold,
    sharpness_q_loss,
)

VECTORS = "omega-test-vectors"


def _png(real_data, name: str) -> np.ndarray:
    img = np.array(Image.open(real_data(f"{VECTORS}/{name}")))
    assert img.dtype == np.uint8 and img.ndim == 2
    return img


def _psnr01(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2) / 255.0**2
    return 10 * math.log10(1 / mse)


def _scene(size: int = 64, seed: int = 0, noise: float = 0.002) -> np.ndarray:
    """A synthetic [0, 1] image with edges, a disc and texture (float64); nearly noise-free,
    because Q of noise-dominated patches *rises* when blur removes the noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    edge = size // 3 + int(rng.integers(-3, 4))
    img = 0.3 + 0.4 * (xx > edge) - 0.2 * ((xx - size / 2) ** 2 + (yy - size / 2) ** 2
                                          < (size / 4) ** 2)
    img = img + 0.1 * np.sin(xx / 2.0 + yy / 3.0 + rng.uniform(0, 2 * np.pi))
    return np.clip(img + noise * rng.standard_normal((size, size)), 0, 1)


# --- loop references (one patch at a time) ---------------------------------------------------


def _loop_q(img: np.ndarray, n: int, variant: str, alpha: float = 1e-3) -> float:
    tau = q_threshold(alpha, n)
    h, w = img.shape[0] // n, img.shape[1] // n
    total = 0.0
    for i in range(h):
        for j in range(w):
            p = img[i * n:(i + 1) * n, j * n:(j + 1) * n]
            gy, gx = np.gradient(p)
            G = np.column_stack([gx.ravel(), gy.ravel()])
            s1, s2 = np.linalg.svd(G, compute_uv=False)
            if s1 + s2 == 0:
                continue
            r_svd = (s1 - s2) / (s1 + s2)
            if variant == "omega":
                l1, l2 = np.linalg.svd(G.T @ G, compute_uv=False)
                coherence = (l1 - l2) / (l1 + l2)
            else:
                coherence = r_svd
            if coherence > tau:
                total += s1 * r_svd
    return total / (h * w)


def _loop_omega(res: np.ndarray, ref: np.ndarray, m=16, R=5.0, a0=1.2) -> float:
    vals = []
    for i in range(0, ref.shape[0] - m + 1, m):
        for j in range(0, ref.shape[1] - m + 1, m):
            p, pt = ref[i:i + m, j:j + m], res[i:i + m, j:j + m]
            mse = np.mean((p - pt) ** 2)
            ps = min(10 * math.log10(1 / mse), 50.0) if mse > 0 else 50.0
            q, qt = _loop_q(p, 2, "omega"), _loop_q(pt, 2, "omega")
            if q == 0 and qt == 0:
                vals.append(ps)
                continue
            a = abs(qt - q) / q if q > 0 else math.inf
            sig = 1 / (1 + math.exp(R * (a - a0))) if a != math.inf else 0.0
            vals.append((1 - sig) * ps + sig * qt)
    return float(np.mean(vals))


def _loop_tf_q(img: np.ndarray, n: int = 8, alpha: float = 1e-3):
    """Per-patch TF-faithful Q (Sobel on each reflect-padded patch / n, eigenvalues of GᵀG);
    returns (Q, list of coherences)."""
    tau = q_threshold(alpha, n, simplified=True)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    h, w = img.shape[0] // n, img.shape[1] // n
    total, coherences = 0.0, []
    for i in range(h):
        for j in range(w):
            p = np.pad(img[i * n:(i + 1) * n, j * n:(j + 1) * n], 1, mode="reflect")
            gx = ndimage.correlate(p, kx)[1:-1, 1:-1] / n
            gy = ndimage.correlate(p, kx.T)[1:-1, 1:-1] / n
            G = np.column_stack([gx.ravel(), gy.ravel()])
            l2, l1 = np.linalg.eigvalsh(G.T @ G)
            R = (l1 - l2) / (l1 + l2 + 1e-10)
            coherences.append(R)
            if R > tau:
                total += R * l1
    return total / (h * w), coherences


# --- imsharpen --------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("name, amount", [("sharp08.png", 0.8), ("sharp13.png", 1.3),
                                          ("sharp25.png", 2.5)])
def test_imsharpen_is_bit_exact_with_matlab(real_data, name, amount):
    gt = _png(real_data, "GT.png")
    ref = _png(real_data, name)
    out = imsharpen(gt, radius=1, amount=amount)
    assert out.dtype == np.uint8 and out.shape == gt.shape
    assert np.array_equal(out, ref), f"{int((out != ref).sum())} pixels differ"
    # the comparison is sensitive: a slightly different amount changes pixels
    assert not np.array_equal(imsharpen(gt, radius=1, amount=amount + 0.1), ref)


def test_imsharpen_rounds_half_away_from_zero_and_clips():
    from deblurlab.sharpness import _to_dtype

    vals = np.array([0.5, 1.5, 2.5, 2.4999, 254.5, 300.0, -3.0])
    assert _to_dtype(vals, np.uint8).tolist() == [1, 2, 3, 2, 255, 255, 0]   # not np.round
    assert _to_dtype(np.array([65535.7]), np.uint16).tolist() == [65535]


def test_imsharpen_defaults_and_validation():
    img = (_scene(32) * 255).round().astype(np.uint8)
    assert np.array_equal(imsharpen(img), imsharpen(img, radius=1, amount=0.8))
    assert np.array_equal(imsharpen(img, amount=0.0), img)          # amount 0: identity
    f = imsharpen(img.astype(np.float64) / 255)                     # float: not clipped
    assert f.dtype == np.float64 and (f.min() < 0 or f.max() > 1)
    rgb = np.stack([img] * 3, -1)
    assert imsharpen(rgb).shape == rgb.shape
    assert np.array_equal(imsharpen(img, threshold=0.0), imsharpen(img))
    t = imsharpen(img, threshold=0.5)                               # fewer pixels change
    assert (t != img).sum() < (imsharpen(img) != img).sum()
    for bad in (dict(radius=0), dict(amount=-1), dict(threshold=1.5), dict(radius=float("nan"))):
        with pytest.raises(ValueError):
            imsharpen(img, **bad)
    with pytest.raises(ValueError, match="dtype"):
        imsharpen(img.astype(np.int32))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        imsharpen(img[None])


# --- published Q, PSNR, Ω ---------------------------------------------------------------------


@pytest.mark.realdata
def test_q_matches_published_values(real_data):
    gt = _png(real_data, "GT.png")
    # README "whole-image Q" (2×2 sub-patches, [0, 1], Ω-code coherence): 0.08 / 0.13 / 0.15,
    # METHODS §4.4: 0.0828 / 0.125 / 0.149.
    for name, published, methods, tol in (("GT.png", 0.08, 0.0828, 5e-5),
                                          ("sharp08.png", 0.13, 0.125, 5e-4),
                                          ("sharp13.png", 0.15, 0.149, 5e-4)):
        q = metric_q(_png(real_data, name), patch=2, variant="omega")
        assert round(q, 2) == published, (name, q)
        assert abs(q - methods) <= tol, (name, q)
    # 8×8 Zhu–Milanfar Q of the GT crop: 0.164 on [0, 1], 41.76 on [0, 255].
    assert abs(metric_q(gt) - 0.164) <= 5e-4
    assert abs(metric_q(gt, scale=255) - 41.76) <= 5e-3
    assert metric_q(gt, scale=255) == pytest.approx(255 * metric_q(gt), rel=1e-12)
    # the coherence convention matters at 2×2: the Zhu–Milanfar one gives another number
    assert abs(metric_q(gt, patch=2) - 0.0828) > 1e-3


@pytest.mark.realdata
def test_psnr_and_omega_match_published_values(real_data):
    gt = _png(real_data, "GT.png")
    # (file, PSNR, Ω published in the README, Ω of METHODS §4.4 with one more digit)
    for name, psnr_pub, omega_pub, omega_methods in (("sharp08.png", 26.54, 1.59, 1.595),
                                                     ("sharp13.png", 22.55, 5.85, 5.847)):
        img = _png(real_data, name)
        assert round(_psnr01(img, gt), 2) == psnr_pub
        om = omega(img, gt, m=16, R=5, alpha0=1.2, psnr_cap=50)
        assert round(om, 2) == omega_pub, (name, om)
        assert abs(om - omega_methods) <= 5e-4, (name, om)
        # float [0, 1] input and a torch batch give the same number
        assert omega(img / 255.0, gt / 255.0) == pytest.approx(om, rel=1e-12)
        as_batch = lambda a: torch.from_numpy(a / 255.0)[None, None]  # noqa: E731
        t = omega(as_batch(img), as_batch(gt))
        assert t.shape == (1,) and float(t[0]) == pytest.approx(om, rel=1e-12)
    assert round(_psnr01(_png(real_data, "sharp25.png"), gt), 2) == 17.68


@pytest.mark.realdata
def test_omega_rises_then_falls_along_the_sharpening_sweep(real_data):
    gt = _png(real_data, "GT.png")
    amounts = (0.8, 1.3, 1.8, 2.5, 11.8, 13.8)
    methods_omega = (1.595, 5.847, 11.089, 14.04, 10.89, 10.50)  # METHODS §4.4
    methods_psnr = (26.54, 22.55, 20.02, 17.68, 10.48, 10.08)
    methods_q = (0.125, 0.149, 0.173, 0.200, 0.343, 0.361)
    sharp = [imsharpen(gt, radius=1, amount=a) for a in amounts]
    om = [omega(s, gt) for s in sharp]
    ps = [_psnr01(s, gt) for s in sharp]
    qs = [metric_q(s, patch=2, variant="omega") for s in sharp]
    for got, want in zip(om, methods_omega):
        assert abs(got - want) <= 5e-3
    for got, want in zip(ps, methods_psnr):
        assert round(got, 2) == want
    for got, want in zip(qs, methods_q):
        assert abs(got - want) <= 5e-4
    # the README's row labelled "2.5" carries the Amount-1.8 values: 20.02 dB, Ω 11.09, Q 0.17
    assert (round(ps[2], 2), round(om[2], 2), round(qs[2], 2)) == (20.02, 11.09, 0.17)
    peak = int(np.argmax(om))
    assert amounts[peak] == 2.5
    assert all(np.diff(om[:peak + 1]) > 0) and all(np.diff(om[peak:]) < 0)
    assert all(np.diff(ps) < 0) and all(np.diff(qs) > 0)


# --- properties -------------------------------------------------------------------------------


def test_blur_lowers_q():
    sharp = _scene(64)
    blurred = ndimage.gaussian_filter(sharp, 1.5, mode="nearest")
    for kw in (dict(), dict(patch=2, variant="omega"), dict(patch=16)):
        assert metric_q(blurred, **kw) < 0.9 * metric_q(sharp, **kw)
    x = torch.from_numpy(np.stack([sharp, blurred]))[:, None]
    for variant in ("tf", "zhu-milanfar"):
        q = differentiable_q(x, variant=variant)
        assert q[1] < 0.9 * q[0]


@pytest.mark.realdata
def test_blur_lowers_q_on_the_real_crop(real_data):
    gt = _png(real_data, "GT.png") / 255.0
    blurred = ndimage.gaussian_filter(gt, 1.0, mode="nearest")
    assert metric_q(blurred) < metric_q(gt)
    assert metric_q(blurred, patch=2, variant="omega") < metric_q(gt, patch=2, variant="omega")


def test_q_is_invariant_to_batch_layout():
    imgs = [_scene(40, seed) for seed in range(3)]
    batch = torch.from_numpy(np.stack(imgs))[:, None]
    for kw in (dict(), dict(patch=2, variant="omega"), dict(patch=5, scale=255.0)):
        batched = metric_q(batch, **kw)
        assert batched.shape == (3,) and batched.dtype == torch.float64
        singles = [metric_q(im, **kw) for im in imgs]
        singles_t = [float(metric_q(batch[i:i + 1], **kw)[0]) for i in range(3)]
        assert batched.tolist() == pytest.approx(singles, rel=1e-12)
        assert batched.tolist() == pytest.approx(singles_t, rel=1e-12)
        # the batch order does not matter either
        assert metric_q(batch.flip(0), **kw).flip(0).tolist() == pytest.approx(batched.tolist())
    refs = torch.from_numpy(np.stack([ndimage.gaussian_filter(im, 1) for im in imgs]))[:, None]
    om = omega(batch, refs)
    assert om.tolist() == pytest.approx([omega(imgs[i], refs[i, 0].numpy()) for i in range(3)],
                                        rel=1e-12)
    dq = differentiable_q(batch)
    assert dq.tolist() == pytest.approx([float(differentiable_q(batch[i:i + 1])) for i in
                                         range(3)], rel=1e-12)
    # float32 input: same Q to float32 precision (metric is computed in float64)
    assert metric_q(batch.float()).tolist() == pytest.approx(metric_q(batch).tolist(), rel=1e-5)


@pytest.mark.parametrize("patch, variant", [(8, "zhu-milanfar"), (2, "omega"), (2, "zhu-milanfar"),
                                            (3, "omega"), (8, "omega")])
def test_vectorised_q_equals_per_patch_loop(patch, variant):
    img = _scene(48, seed=3)[:43, :37]  # sizes that leave a border to drop
    got = metric_q(img, patch=patch, variant=variant)
    want = _loop_q(img, patch, variant)
    assert want > 0
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_vectorised_omega_equals_per_patch_loop():
    ref = _scene(48, seed=1)
    res = np.clip(ref + 0.8 * (ref - ndimage.gaussian_filter(ref, 1.0)), 0, 1)
    res[:16, :16] = ref[:16, :16]                  # one identical patch (PSNR capped at 50)
    ref[16:32, 32:48] = res[16:32, 32:48] = 0.4    # one flat patch in both (a = 0/0)
    assert omega(res, ref) == pytest.approx(_loop_omega(res, ref), rel=1e-9)


def test_tf_loss_equals_per_patch_reference():
    img = _scene(32, seed=2)
    want, _ = _loop_tf_q(img)
    got = differentiable_q(torch.from_numpy(img)[None, None], variant="tf")
    assert want > 0 and float(got[0]) == pytest.approx(want, rel=1e-6)
    # the Zhu–Milanfar flag of the loss is metric_q made differentiable
    zm = differentiable_q(torch.from_numpy(img)[None, None], variant="zhu-milanfar")
    assert float(zm[0]) == pytest.approx(metric_q(img), rel=1e-5)


def _gradcheck_input() -> torch.Tensor:
    rng = np.random.default_rng(7)
    x = np.empty((16, 16))
    x[:8, :8] = 0.2 + 0.6 * (np.arange(8) >= 3)[None, :] + 0.01 * rng.standard_normal((8, 8))
    x[:8, 8:] = 0.5                                                     # flat patch
    ii, jj = np.mgrid[:8, :8]
    x[8:, :8] = 0.05 * (ii + 2 * jj) / 3 + 0.005 * rng.standard_normal((8, 8))
    x[8:, 8:] = 0.2 + 0.01 * ((ii - 3.5) ** 2 + (jj - 3.5) ** 2)        # isotropic bowl
    return torch.from_numpy(x)[None, None].clone().requires_grad_(True)


@pytest.mark.parametrize("variant", ["tf", "zhu-milanfar"])
def test_loss_gradcheck_float64_with_a_flat_patch(variant):
    x = _gradcheck_input()
    _, coherences = _loop_tf_q(x.detach()[0, 0].numpy())
    tau = q_threshold(simplified=True)
    assert all(abs(r - tau) > 0.05 for r in coherences)   # far from the hard threshold
    assert float(differentiable_q(x.detach(), variant=variant)) > 0
    assert torch.autograd.gradcheck(lambda t: differentiable_q(t, variant=variant), (x,),
                                    eps=1e-6, atol=1e-6, rtol=1e-4)
    loss = sharpness_q_loss(x, variant=variant)
    (g,) = torch.autograd.grad(loss, x)
    assert torch.isfinite(g).all()
    assert torch.all(g[0, 0, :8, 8:] == 0)                # the flat patch gets no gradient


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("variant", ["tf", "zhu-milanfar"])
def test_loss_gradients_finite_on_flat_and_rank_one_images(dtype, variant):
    flat = torch.full((2, 1, 16, 16), 0.3, dtype=dtype, requires_grad=True)
    ramp = (torch.arange(16, dtype=dtype) / 16).expand(1, 1, 16, 16).clone().requires_grad_(True)
    for x in (flat, ramp):  # G of a ramp has rank 1: s2 = 0 exactly
        q = differentiable_q(x, variant=variant)
        (g,) = torch.autograd.grad(q.sum(), x)
        assert torch.isfinite(q).all() and torch.isfinite(g).all()
    assert float(differentiable_q(flat.detach(), variant=variant).abs().max()) == 0.0


def test_composite_loss_is_pixel_loss_minus_beta_q():
    torch.manual_seed(0)
    target = torch.from_numpy(_scene(32)).float()[None, None]
    pred = (target + 0.05 * torch.randn_like(target)).requires_grad_(True)
    for net, beta in BETA.items():
        loss = composite_loss("l1", net)
        q = differentiable_q(pred).mean()
        want = torch.nn.functional.l1_loss(pred, target) - beta * q
        assert loss(pred, target).item() == pytest.approx(want.item(), rel=1e-6)
    assert composite_loss("l1", "ArkNet").beta == 0.1 and BETA["xy-deblur"] == 0.01
    loss = composite_loss(lambda p, t: (p - t).abs().mean(), 0.5)
    terms = loss.terms(pred, target)
    assert set(terms) == {"pixel", "q", "total"}
    terms["total"].backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert SharpnessLoss()(pred).item() == pytest.approx(-differentiable_q(pred).mean().item())
    with pytest.raises(ValueError, match="beta"):
        composite_loss("l1", -0.1)
    with pytest.raises(ValueError, match="unknown network"):
        composite_loss("l1", "resnet")
    with pytest.raises(ValueError, match="pixel_loss"):
        composite_loss("l2", 0.1)


def test_normalised_sharpness_j():
    sharp = _scene(64)
    blurry = ndimage.gaussian_filter(sharp, 2.0, mode="nearest")
    half = ndimage.gaussian_filter(sharp, 0.7, mode="nearest")
    assert normalised_sharpness_j(sharp, sharp, blurry) == pytest.approx(1.0)
    assert normalised_sharpness_j(blurry, sharp, blurry) == pytest.approx(0.0, abs=1e-9)
    j = normalised_sharpness_j(half, sharp, blurry)
    assert 0 < j < 1
    qs, qb, qh = metric_q(sharp), metric_q(blurry), metric_q(half)
    assert j == pytest.approx((qh - qb) / (qs - qb))
    # a reference no sharper than the input leaves J undefined: NaN, not ±1e11
    assert np.isnan(normalised_sharpness_j(half, blurry, blurry))
    jt = normalised_sharpness_j(*(torch.from_numpy(a)[None, None].float() for a in (half, blurry, blurry)))
    assert jt.shape == (1,) and torch.isnan(jt).all()
    with pytest.raises(ValueError, match="one shape"):
        normalised_sharpness_j(half, sharp[:32, :32], blurry)


def test_paired_t_test_matches_scipy():
    a = np.array([0.61, 0.64, 0.70, 0.58, 0.66, 0.69, 0.63])
    b = np.array([0.59, 0.60, 0.66, 0.58, 0.61, 0.65, 0.62])
    r = paired_t_test(a, b)
    ref = stats.ttest_rel(a, b)
    d = a - b
    assert r.n == 7 and r.mean_diff == pytest.approx(d.mean())
    assert r.t == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    assert r.t == pytest.approx(d.mean() / (d.std(ddof=1) / math.sqrt(7)))   # textbook t
    assert paired_t_test(a, b, alternative="greater").p == pytest.approx(r.p / 2)
    with pytest.raises(ValueError, match="same length"):
        paired_t_test(a, b[:-1])
    with pytest.raises(ValueError, match="at least 2"):
        paired_t_test([1.0], [2.0])
    with pytest.raises(ValueError, match="finite"):
        paired_t_test([1.0, np.nan], [2.0, 3.0])


# --- validation -------------------------------------------------------------------------------


def test_clear_errors_for_bad_inputs():
    img = _scene(32)
    bad_images = [
        (img[None], r"\(H, W\)"),                                   # 3-D numpy
        (torch.from_numpy(img)[None], r"\(B, 1, H, W\)"),            # 3-D tensor
        (torch.from_numpy(np.stack([img] * 3))[None], r"\(B, 1, H, W\)"),  # RGB batch
        (img.astype(np.int32), "dtype"),
        (img > 0.5, "dtype"),
        (torch.from_numpy((img * 255).astype(np.int64))[None, None], "floating"),
        (np.where(img == img.max(), np.nan, img), "NaN"),
        (img * 255, r"\[0, 1\]"),
        (img[:4, :4], "smaller than one"),
    ]
    for bad, match in bad_images:
        with pytest.raises(ValueError, match=match):
            metric_q(bad)
    with pytest.raises(TypeError):
        metric_q(img.tolist())
    for kw in (dict(patch=1), dict(patch=2.5), dict(alpha=0), dict(alpha=1.5),
               dict(variant="svd"), dict(scale=0)):
        with pytest.raises(ValueError):
            metric_q(img, **kw)
    with pytest.raises(ValueError, match="shape mismatch"):
        omega(img, img[:16])
    with pytest.raises(ValueError, match="multiple of q_patch"):
        omega(img, img, m=15)
    with pytest.raises(ValueError, match="NaN"):
        omega(img, np.where(img == img.max(), np.inf, img))
    with pytest.raises(ValueError, match="cap"):
        omega(img, img, cap="max")
    x = torch.from_numpy(img)[None, None]
    with pytest.raises(ValueError, match="luma"):
        differentiable_q(x.expand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="floating"):
        differentiable_q(x.long())
    with pytest.raises(ValueError, match="variant"):
        differentiable_q(x, variant="svd")
    with pytest.raises(ValueError, match="patch >= 3"):
        differentiable_q(x, patch=2)


def test_omega_patch_conventions():
    ref = _scene(32, seed=5)
    # identical flat patches (Q = Q̃ = 0) score the PSNR cap; "min" vs "nonfinite" caps only
    # differ for a patch whose PSNR is finite but above the cap
    flat = np.full((32, 32), 0.25)
    assert omega(flat, flat) == 50.0 and omega(flat, flat, psnr_cap=40) == 40.0
    near = flat.copy()
    near[0, 0] += 1e-4                                   # PSNR ≈ 104 dB on one patch, Q̃ ≈ 0
    assert omega(near, flat) == pytest.approx(50.0)
    assert omega(near, flat, cap="nonfinite") > 50.0
    # a restoration whose Q deviates a lot from the reference's is scored by its PSNR
    noisy = np.clip(ref + np.random.default_rng(0).normal(0, 0.2, ref.shape), 0, 1)
    assert omega(noisy, ref) == pytest.approx(_loop_omega(noisy, ref), rel=1e-9)
