"""deblurlab.classical: Wiener / unsupervised Wiener / Richardson–Lucy wrappers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.ndimage import convolve, gaussian_filter

from deblurlab import classical as C
from deblurlab.metrics import psnr


def _gaussian_psf(sigma=2.0, radius=6):
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    k = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return k / k.sum()


def _sharp(shape=(96, 96), seed=0):
    """Blocks, a disk and a gentle gradient: edges for the deconvolution to recover."""
    h, w = shape
    y, x = np.mgrid[:h, :w]
    img = 0.2 + 0.2 * x / w
    img[h // 6 : h // 2, w // 6 : w // 2] = 0.8
    img[(y - 0.65 * h) ** 2 + (x - 0.65 * w) ** 2 < (0.18 * h) ** 2] = 0.6
    img[h // 8 : h // 8 + 3, w // 2 : w - 8] = 0.95  # thin line
    rng = np.random.default_rng(seed)
    img += gaussian_filter(rng.standard_normal(shape), 1.0) * 0.03  # fine texture
    return np.clip(img, 0, 1)


def _blur(img, psf, noise=0.005, seed=1):
    rng = np.random.default_rng(seed)
    if img.ndim == 3:
        channels = [convolve(img[..., c], psf, mode="reflect") for c in range(img.shape[-1])]
        out = np.stack(channels, -1)
    else:
        out = convolve(img, psf, mode="reflect")
    return np.clip(out + noise * rng.standard_normal(img.shape), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def grey_case():
    sharp = _sharp()
    psf = _gaussian_psf()
    return sharp.astype(np.float32), _blur(sharp, psf), psf


@pytest.mark.parametrize(
    "method,kwargs,gain",
    [
        ("wiener", {}, 2.0),
        ("rl", {"iterations": 30}, 1.5),
        ("unsupervised_wiener", {}, 1.0),
    ],
)
def test_methods_raise_psnr_over_blurred_input(grey_case, method, kwargs, gain):
    sharp, blurred, psf = grey_case
    restored = C.deconvolve(blurred, psf, method, **kwargs)
    assert restored.dtype == np.float32 and restored.shape == sharp.shape
    assert restored.min() >= 0 and restored.max() <= 1
    before = psnr(blurred, sharp, data_range=1.0)
    after = psnr(restored, sharp, data_range=1.0)
    assert after > before + gain, (method, before, after)


def test_padding_reduces_boundary_ringing(grey_case):
    sharp, blurred, psf = grey_case
    padded = psnr(C.wiener(blurred, psf), sharp, data_range=1.0)
    unpadded = psnr(C.wiener(blurred, psf, pad=False), sharp, data_range=1.0)
    assert padded > unpadded + 1.0


def test_balance_default_and_override(grey_case):
    sharp, blurred, psf = grey_case
    noisy = (0.5 + 0.05 * np.random.default_rng(0).standard_normal((128, 128))).astype(np.float32)
    assert C.estimate_balance(noisy) == pytest.approx(40 * 0.05**2, rel=0.1)
    assert C.estimate_balance(np.full((64, 64), 0.5, np.float32)) == C.BALANCE_FLOOR
    explicit = C.wiener(blurred, psf, balance=C.estimate_balance(blurred))
    np.testing.assert_allclose(C.wiener(blurred, psf), explicit, atol=1e-6)
    smooth = C.wiener(blurred, psf, balance=10.0)
    sharp_ = C.wiener(blurred, psf, balance=1e-4)
    # larger balance = smoother result = less high-frequency energy
    assert np.abs(np.diff(smooth, axis=1)).mean() < np.abs(np.diff(sharp_, axis=1)).mean()
    with pytest.raises(ValueError, match="balance"):
        C.wiener(blurred, psf, balance=-1.0)


def test_rl_more_iterations_sharpen_more(grey_case):
    _, blurred, psf = grey_case
    few = C.richardson_lucy(blurred, psf, iterations=2)
    many = C.richardson_lucy(blurred, psf, iterations=40)
    assert np.abs(np.diff(many, axis=0)).mean() > np.abs(np.diff(few, axis=0)).mean()
    with pytest.raises(ValueError, match="iterations"):
        C.richardson_lucy(blurred, psf, iterations=0)


def test_rgb_is_per_channel():
    sharp = np.stack([_sharp((64, 72), seed=s) for s in range(3)], -1)
    psf = _gaussian_psf(1.5, 4)
    blurred = _blur(sharp, psf)
    for method, kw in (("wiener", {}), ("rl", {"iterations": 10})):
        out = C.deconvolve(blurred, psf, method, **kw)
        assert out.shape == (64, 72, 3) and out.dtype == np.float32
        for c in range(3):
            alone = C.deconvolve(blurred[..., c], psf, method, **kw)
            np.testing.assert_allclose(out[..., c], alone, atol=1e-6)
        assert psnr(out, sharp, data_range=1.0) > psnr(blurred, sharp, data_range=1.0) + 1.0


def test_clip_flag(grey_case):
    _, blurred, psf = grey_case
    raw = C.wiener(blurred, psf, balance=1e-4, clip=False)
    assert raw.dtype == np.float32
    assert raw.min() < 0 or raw.max() > 1  # overshoot at the edges of the blocks
    clipped = C.wiener(blurred, psf, balance=1e-4)
    np.testing.assert_allclose(clipped, np.clip(raw, 0, 1), atol=1e-6)


def test_psf_validation(grey_case):
    _, blurred, psf = grey_case
    with pytest.raises(ValueError, match="NaN"):
        C.wiener(blurred, np.where(psf > psf.max() / 2, np.nan, psf))
    with pytest.raises(ValueError, match="negative"):
        C.wiener(blurred, psf - psf.mean())
    with pytest.raises(ValueError, match="larger than the image"):
        C.richardson_lucy(blurred[:10, :10], psf)
    with pytest.raises(ValueError, match="2-D"):
        C.wiener(blurred, psf[None])
    with pytest.raises(ValueError, match="sums to 0"):
        C.wiener(blurred, np.zeros((3, 3)))
    with pytest.warns(UserWarning, match="normalised"):
        unnormalised = C.wiener(blurred, psf * 7.0, balance=0.01)
    np.testing.assert_allclose(unnormalised, C.wiener(blurred, psf, balance=0.01), atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.check_psf(psf * (1 + 1e-5))  # within tolerance: no warning


def test_image_validation(grey_case):
    _, blurred, psf = grey_case
    with pytest.raises(TypeError, match="float"):
        C.wiener((blurred * 255).astype(np.uint8), psf)
    bad = blurred.copy()
    bad[5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        C.richardson_lucy(bad, psf)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        C.wiener(blurred[None, ..., None], psf)


def test_method_lookup_and_batches(grey_case):
    _, blurred, psf = grey_case
    assert C.get_method("rl") is C.richardson_lucy
    assert C.get_method("Wiener") is C.wiener
    with pytest.raises(ValueError, match="unknown method"):
        C.get_method("blind")
    small = [blurred[:40, :40], blurred[40:80, 40:80]]
    out = C.deconvolve_batch(small, psf, "rl", iterations=5)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out[1], C.richardson_lucy(small[1], psf, iterations=5))
    stacked = C.deconvolve_batch(np.stack(small), psf, "wiener", balance=0.01)
    assert isinstance(stacked, np.ndarray) and stacked.shape == (2, 40, 40)
    batch = torch.from_numpy(np.stack(small))[:, None]
    t = C.deconvolve_batch(batch, psf, "wiener", balance=0.01)
    assert isinstance(t, torch.Tensor) and t.shape == (2, 1, 40, 40) and t.dtype == torch.float32
    np.testing.assert_allclose(t[:, 0].numpy(), stacked, atol=1e-6)
    per_image = C.deconvolve_batch(small, [psf, _gaussian_psf(1.0, 3)], "wiener", balance=0.01)
    assert not np.allclose(per_image[1], stacked[1])
    with pytest.raises(ValueError, match="PSFs"):
        C.deconvolve_batch(small, [psf], "wiener")
