"""deblurlab.metrics: agreement with scikit-image, an independent MS-SSIM, tables, validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from deblurlab import metrics as M


def _pair(shape, seed, blur=1.5, noise=0.05, dtype=np.float64):
    """A smooth random image (target) and a noisier, shifted version (prediction)."""
    rng = np.random.default_rng(seed)
    sig = (blur, blur, 0)[: len(shape)]
    target = gaussian_filter(rng.random(shape), sig)
    target = (target - target.min()) / (target.max() - target.min())
    pred = np.clip(target + noise * rng.standard_normal(shape) + 0.02, 0, 1)
    return pred.astype(dtype), target.astype(dtype)


def _sk_ssim(pred, target, data_range):
    return sk_ssim(
        target, pred, data_range=data_range, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, channel_axis=-1 if pred.ndim == 3 else None,
    )


CASES = [
    ((64, 64), np.float64),
    ((37, 53), np.float64),  # odd, non-square
    ((11, 40), np.float64),  # smallest side that still holds one window
    ((48, 40, 3), np.float64),  # RGB
    ((64, 48), np.float32),
    ((32, 32, 3), np.float32),
]


@pytest.mark.parametrize("shape,dtype", CASES)
def test_psnr_and_ssim_match_scikit_image(shape, dtype):
    pred, target = _pair(shape, seed=sum(shape), dtype=dtype)
    p = M.psnr(pred, target, data_range=1.0)
    s = M.ssim(pred, target, data_range=1.0)
    assert isinstance(p, float) and isinstance(s, float)
    assert abs(p - sk_psnr(target, pred, data_range=1.0)) < 1e-5  # measured ~1.2e-6 dB
    # float64 inputs: round-off only; float32: scikit-image itself computes in float32
    tol = 1e-9 if dtype == np.float64 else 1e-5
    assert abs(s - _sk_ssim(pred, target, 1.0)) < tol
    assert 0.0 < s < 1.0


def test_uint8_with_data_range_255_matches_scikit_image():
    pred, target = _pair((40, 56, 3), seed=3)
    p8, t8 = (pred * 255).round().astype(np.uint8), (target * 255).round().astype(np.uint8)
    assert abs(M.psnr(p8, t8, data_range=255) - sk_psnr(t8, p8, data_range=255)) < 1e-4
    assert abs(M.ssim(p8, t8, data_range=255) - _sk_ssim(p8, t8, 255)) < 1e-6


def test_rgb_ssim_is_mean_of_channel_ssims_and_psnr_uses_joint_mse():
    pred, target = _pair((40, 44, 3), seed=5)
    per_channel = [M.ssim(pred[..., c], target[..., c], data_range=1.0) for c in range(3)]
    assert M.ssim(pred, target, data_range=1.0) == pytest.approx(np.mean(per_channel), abs=1e-12)
    mse = np.mean((pred - target) ** 2)
    assert M.psnr(pred, target, data_range=1.0) == pytest.approx(10 * np.log10(1 / mse), abs=1e-4)


def test_torch_batch_returns_per_image_values_equal_to_numpy():
    pairs = [_pair((3, 32, 36)[1:] + (3,), seed=s) for s in range(3)]
    pred = torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p, _ in pairs]).float()
    target = torch.stack([torch.from_numpy(t).permute(2, 0, 1) for _, t in pairs]).float()
    for fn in (M.psnr, M.ssim):
        out = fn(pred, target, data_range=1.0)
        assert isinstance(out, torch.Tensor) and out.shape == (3,) and out.dtype == torch.float64
        single = [fn(p.astype(np.float32), t.astype(np.float32), data_range=1.0) for p, t in pairs]
        np.testing.assert_allclose(out.numpy(), single, atol=1e-6)


def test_identical_images():
    _, target = _pair((32, 32), seed=1)
    assert M.psnr(target, target, data_range=1.0) == math.inf
    assert M.psnr(target, target, data_range=1.0, max_db=100.0) == 100.0
    assert M.ssim(target, target, data_range=1.0) == pytest.approx(1.0, abs=1e-12)
    big = _pair((176, 180), seed=2)[1]
    assert M.ms_ssim(big, big, data_range=1.0) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------ independent MS-SSIM


def _np_ssim_terms(x, y, L=1.0):
    """SSIM and contrast-structure means over the valid region (scipy Gaussian, truncate 3.5)."""
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5, mode="reflect")  # noqa: E731
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
    cs = (2 * cxy + c2) / (vx + vy + c2)
    s = (2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs
    crop = (slice(5, -5), slice(5, -5))
    return s[crop].mean(), cs[crop].mean()


def _pool2(a):
    h, w = a.shape[0] // 2, a.shape[1] // 2
    return a[: 2 * h, : 2 * w].reshape(h, 2, w, 2).mean((1, 3))


def _np_ms_ssim(x, y, L=1.0):
    w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
    out = 1.0
    for i, wi in enumerate(w):
        s, cs = _np_ssim_terms(x, y, L)
        out *= max(s if i == 4 else cs, 0.0) ** wi
        x, y = _pool2(x), _pool2(y)
    return out


@pytest.mark.parametrize("shape", [(176, 176), (181, 200), (180, 190, 3)])
def test_ms_ssim_matches_independent_numpy(shape):
    pred, target = _pair(shape, seed=7, blur=2.0, noise=0.08)
    ours = M.ms_ssim(pred, target, data_range=1.0)
    if len(shape) == 2:
        ref = _np_ms_ssim(pred, target)
    else:
        ref = np.mean([_np_ms_ssim(pred[..., c], target[..., c]) for c in range(3)])
    assert ours == pytest.approx(ref, abs=1e-9)
    assert 0.0 < ours < 1.0


def test_ms_ssim_decreases_with_blur():
    _, target = _pair((192, 192), seed=11, blur=1.0)
    values = [M.ms_ssim(gaussian_filter(target, s), target, data_range=1.0) for s in (0.5, 1, 2, 4)]
    assert all(a > b for a, b in zip(values, values[1:])), values


def test_ms_ssim_too_small_names_the_minimum_size_and_scales_fallback_works():
    pred, target = _pair((128, 200), seed=4)
    with pytest.raises(ValueError, match="176"):
        M.ms_ssim(pred, target, data_range=1.0)
    assert M.ms_ssim_min_size(3) == 44
    three = M.ms_ssim(pred, target, data_range=1.0, scales=3)
    # 3 scales = the first three weights renormalised, computed independently here
    w = np.array([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)
    x, y, ref = pred, target, 1.0
    for i in range(3):
        s, cs = _np_ssim_terms(x, y)
        ref *= max(s if i == 2 else cs, 0) ** w[i]
        x, y = _pool2(x), _pool2(y)
    assert three == pytest.approx(ref, abs=1e-9)
    with pytest.raises(ValueError, match="scales"):
        M.ms_ssim(pred, target, data_range=1.0, scales=6)


# ------------------------------------------------------------------ validation


def test_validation_errors():
    pred, target = _pair((32, 32), seed=0)
    with pytest.raises(TypeError, match="data_range"):
        M.psnr(pred, target)  # required keyword
    with pytest.raises(ValueError, match="data_range"):
        M.ssim(pred, target, data_range=None)
    with pytest.raises(ValueError, match="positive"):
        M.psnr(pred, target, data_range=-1.0)
    with pytest.raises(ValueError, match="shape mismatch"):
        M.ssim(pred, target[:, :30], data_range=1.0)
    bad = pred.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        M.psnr(bad, target, data_range=1.0)
    with pytest.raises(TypeError, match="dtype"):
        M.ssim(pred.astype(np.complex64), target.astype(np.complex64), data_range=1.0)
    with pytest.raises(TypeError, match="dtype"):
        M.psnr(pred > 0.5, target > 0.5, data_range=1.0)
    with pytest.raises(TypeError, match="both"):
        M.psnr(pred, torch.from_numpy(target)[None, None], data_range=1.0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        M.psnr(torch.rand(1, 8, 8), torch.rand(1, 8, 8), data_range=1.0)
    with pytest.raises(ValueError, match=">= 11"):
        M.ssim(pred[:10], target[:10], data_range=1.0)
    p8, t8 = (np.round(a * 255).astype(np.uint8) for a in (pred, target))
    for metric in (M.psnr, M.ssim, M.ms_ssim):  # 8-bit values against a [0, 1] range
        with pytest.raises(ValueError, match="255 for 8-bit"):
            metric(p8, t8, data_range=1.0)
    assert M.psnr(p8, t8, data_range=255) == pytest.approx(M.psnr(p8 / 255, t8 / 255, data_range=1.0))
    assert M.psnr(pred * 1.5, target, data_range=1.0) < 100  # a little overshoot is allowed


# ------------------------------------------------------------------ tables


def test_evaluate_pairs_and_summarize():
    a, b = _pair((40, 40), seed=1), _pair((40, 40), seed=2)
    df = M.evaluate_pairs({"a": a, "b": b}, metrics=("psnr", "ssim"))
    assert list(df.columns) == ["name", "psnr", "ssim"]
    assert list(df["name"]) == ["a", "b"]
    assert df.loc[1, "psnr"] == pytest.approx(M.psnr(*b, data_range=1.0))
    assert df.loc[0, "ssim"] == pytest.approx(M.ssim(*a, data_range=1.0))

    unnamed = M.evaluate_pairs([a, ("x", *b), ("y", b)], metrics=["psnr"])
    assert list(unnamed["name"]) == ["0", "x", "y"]
    assert unnamed.loc[2, "psnr"] == unnamed.loc[1, "psnr"]

    batch = M.evaluate_pairs(
        {"batch": (torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16))}, metrics=["psnr"]
    )
    assert list(batch["name"]) == ["batch[0]", "batch[1]"]

    with pytest.raises(ValueError, match="unknown metrics"):
        M.evaluate_pairs([a], metrics=("lpips",))
    with pytest.raises(ValueError, match="ms_ssim"):
        M.evaluate_pairs([a])  # 40x40 is too small for the default MS-SSIM

    table = pd.DataFrame({"name": list("abcd"), "psnr": [20.0, 22.0, 30.0, 34.0],
                          "ssim": [0.5, 0.7, 0.8, 0.9], "model": ["m1", "m1", "m2", "m2"]})
    s = M.summarize(table[["name", "psnr", "ssim"]])
    assert s.loc["all", "n"] == 4
    assert s.loc["all", "psnr_mean"] == pytest.approx(26.5)
    assert s.loc["all", "psnr_std"] == pytest.approx(np.std([20, 22, 30, 34], ddof=1))
    assert s.loc["all", "psnr"] == f"26.50 ± {np.std([20, 22, 30, 34], ddof=1):.2f}"
    assert s.loc["all", "ssim"] == f"0.7250 ± {np.std([0.5, 0.7, 0.8, 0.9], ddof=1):.4f}"
    grouped = M.summarize(table, by="model")
    assert list(grouped.index) == ["m1", "m2"]
    assert grouped.loc["m2", "psnr"] == "32.00 ± 2.83"
    assert M.summarize(table.iloc[:1])["psnr"].iloc[0] == "20.00"


class _Halve(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return x * self.scale


def test_evaluate_model_dataset_and_loader():
    gen = torch.Generator().manual_seed(0)
    items = [
        {"blur": torch.rand(1, 24, 24, generator=gen),
         "sharp": torch.rand(1, 24, 24, generator=gen), "name": f"img{i}"}
        for i in range(4)
    ]
    cols = ["psnr", "ssim"]
    model = _Halve()
    model.train()
    df = M.evaluate_model(model, items, metrics=("psnr", "ssim"))
    assert model.training  # mode restored
    assert list(df["name"]) == [f"img{i}" for i in range(4)]
    expected = M.evaluate_pairs(
        [(it["name"], (it["blur"] * 0.5)[None], it["sharp"][None]) for it in items],
        metrics=("psnr", "ssim"),
    )
    np.testing.assert_allclose(df[cols].to_numpy(), expected[cols].to_numpy(), atol=1e-6)

    loader = torch.utils.data.DataLoader(items, batch_size=3)
    df2 = M.evaluate_model(model, loader, metrics=("psnr", "ssim"))
    assert list(df2["name"]) == list(df["name"])
    np.testing.assert_allclose(df2[cols].to_numpy(), df[cols].to_numpy(), atol=1e-6)

    # infer_fn and multi-output models
    listy = lambda m, x: [m(x), x]  # noqa: E731
    with pytest.raises(TypeError, match="infer_fn"):
        M.evaluate_model(model, items, metrics=("psnr",), infer_fn=listy)
    df3 = M.evaluate_model(model, items, metrics=("psnr",), infer_fn=lambda m, x: listy(m, x)[1])
    direct = [M.psnr(it["blur"][None], it["sharp"][None], data_range=1.0).item() for it in items]
    np.testing.assert_allclose(df3["psnr"], direct, atol=1e-6)


def test_evaluate_model_clamps_output():
    items = [{"blur": torch.full((1, 16, 16), 0.5), "sharp": torch.ones(1, 16, 16)}]
    over = lambda m, x: x * 4  # 2.0 → clamped to 1.0 = sharp  # noqa: E731
    clamped = M.evaluate_model(torch.nn.Identity(), items, metrics=["psnr"], infer_fn=over)
    assert clamped["psnr"][0] == math.inf
    raw = M.evaluate_model(torch.nn.Identity(), items, metrics=["psnr"], infer_fn=over, clamp=False)
    assert raw["psnr"][0] == pytest.approx(0.0, abs=1e-4)  # MSE 1 → 0 dB


def test_evaluate_folder(tmp_path):
    pytest.importorskip("deblurlab.io")
    from PIL import Image

    restored_dir, reference_dir = tmp_path / "restored", tmp_path / "reference"
    restored_dir.mkdir()
    reference_dir.mkdir()
    rng = np.random.default_rng(0)
    arrays = {}
    for name in ("b", "a"):
        pred, target = _pair((30, 34), seed=ord(name))
        p8, t8 = (pred * 255).round().astype(np.uint8), (target * 255).round().astype(np.uint8)
        Image.fromarray(p8).save(restored_dir / f"{name}.png")
        Image.fromarray(t8).save(reference_dir / f"{name}.png")
        arrays[name] = (p8 / 255.0, t8 / 255.0)
    extra = rng.integers(0, 255, (30, 34), dtype=np.uint8)
    Image.fromarray(extra).save(reference_dir / "extra.png")
    df = M.evaluate_folder(restored_dir, reference_dir, metrics=("psnr", "ssim"))
    assert list(df["name"]) == ["a", "b"]  # sorted; the unmatched reference is ignored
    expected = M.evaluate_pairs({k: arrays[k] for k in ("a", "b")}, metrics=("psnr", "ssim"))
    cols = ["psnr", "ssim"]
    np.testing.assert_allclose(df[cols].to_numpy(), expected[cols].to_numpy(), atol=1e-5)

    Image.fromarray(p8).save(restored_dir / "orphan.png")
    with pytest.raises(FileNotFoundError, match="orphan"):
        M.evaluate_folder(restored_dir, reference_dir, metrics=("psnr",))


def test_ssim_float32_on_a_real_image_is_close_to_skimage_float64(real_data):
    """float32 inputs are computed in float32 (fast path); the error stays far below reporting precision."""
    from deblurlab.io import read_image

    blur, _ = read_image(real_data("midnet-sem/blur/1-1_s001.png"), grey=True)
    sharp, _ = read_image(real_data("midnet-sem/sharp/1-1_s001.png"), grey=True)
    ours = M.ssim(blur, sharp, data_range=1.0)
    exact = sk_ssim(blur.astype(np.float64), sharp.astype(np.float64), data_range=1.0,
                                  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert abs(ours - exact) < 1e-4
    assert M.ssim(blur.astype(np.float64), sharp.astype(np.float64), data_range=1.0) == pytest.approx(exact, abs=1e-12)
