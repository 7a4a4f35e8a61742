"""Full-reference image metrics (PSNR, SSIM, MS-SSIM) and per-image evaluation tables.

All three metrics go through torchmetrics' functional API with the settings of METHODS §6:

* **PSNR** = 10·log10(L² / MSE), L = ``data_range``; the MSE is taken over all pixels *and*
  channels of one image (the usual RGB PSNR, identical to
  ``skimage.metrics.peak_signal_noise_ratio``). Identical images give ``inf`` unless ``max_db``
  caps it.
* **SSIM**: Gaussian window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03, population covariances; the
  mean of the SSIM map over the *valid* region (the 5-pixel border, where the window would leave
  the image, is cropped). RGB: SSIM of each channel, then the mean over channels (BasicSR /
  NAFNet convention; identical to ``structural_similarity(..., channel_axis=-1)``).
* **MS-SSIM**: 5 scales, 2×2 average pooling between scales, weights
  (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); contrast-structure terms at scales 1–4,
  SSIM at scale 5, each the mean over the valid region; negative terms are clamped to 0 before the
  fractional powers (as ``pytorch_msssim`` does). RGB: per channel, then the mean over channels.

Why SSIM is not a single call to ``structural_similarity_index_measure``: torchmetrics pads the
image by reflection and averages the SSIM map over the *whole* image, borders included, while
the reference (Wang et al., scikit-image, ``pytorch_msssim``) averages over the valid region
only. The difference is up to ~1e-2 on small images. :func:`ssim` therefore asks torchmetrics for
the full map (``return_full_image=True``) and crops the 5-pixel border itself; inside that region
torchmetrics' values are exact, so the result agrees with scikit-image to float64 round-off.
:func:`ms_ssim` is assembled from the same functional call for the same reason (torchmetrics'
own MS-SSIM averages the last-scale SSIM over the padded border too).

Inputs: numpy ``(H, W)`` / ``(H, W, C)`` (one image → a Python ``float``) or torch
``(N, C, H, W)`` (a batch → a float64 CPU tensor of shape ``(N,)``, one value per image).
Computation is in float64 when either input is float64 and in float32 otherwise (as
scikit-image does: float64 11×11 convolutions are ~9× slower on a CPU). float32 SSIM differs from
scikit-image's float64 result by a few 1e-5 on a 512×512 real image (2.8e-5 measured on an SEM
tile), float64 inputs agree to round-off; PSNR always accumulates in float64. ``data_range`` is a required keyword: 1.0 for float images in [0, 1],
255 for uint8, 4095 for 12-bit data, ...

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((32, 32), dtype=np.float32)
    >>> b = np.clip(a + 0.05, 0, 1)
    >>> round(psnr(a, b, data_range=1.0), 1) > 20
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

ImageLike = Union[np.ndarray, torch.Tensor]

#: METHODS §6 SSIM settings.
SSIM_KERNEL = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
#: METHODS §6 MS-SSIM scale weights (Wang et al. 2003).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

DEFAULT_METRICS = ("psnr", "ssim", "ms_ssim")
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _check_data_range(data_range: Any) -> float:
    if data_range is None:
        raise ValueError(
            "data_range is required (1.0 for float images in [0, 1], 255 for uint8, ...)"
        )
    if isinstance(data_range, (tuple, list)):
        raise TypeError(f"data_range must be one positive number, got {data_range!r}")
    value = float(data_range)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"data_range must be a positive finite number, got {data_range!r}")
    return value


def _check_dtype(dtype: Any, which: str) -> None:
    if isinstance(dtype, torch.dtype):
        ok = not dtype.is_complex and dtype != torch.bool
    else:
        dtype = np.dtype(dtype)
        ok = np.issubdtype(dtype, np.floating) or (
            np.issubdtype(dtype, np.integer) and dtype != np.bool_
        )
    if not ok:
        raise TypeError(f"{which} must hold real numbers (float or integer), got dtype {dtype}")


def _to_batches(
    pred: ImageLike, target: ImageLike, *, force64: bool = False
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate a pair; return float tensors ``(N, C, H, W)`` plus "was it numpy".

    float64 when either input is float64 (or ``force64``), else float32 (see module doc).
    """
    is_np = isinstance(pred, np.ndarray), isinstance(target, np.ndarray)
    is_t = isinstance(pred, torch.Tensor), isinstance(target, torch.Tensor)
    if not ((is_np[0] and is_np[1]) or (is_t[0] and is_t[1])):
        raise TypeError(
            "pred and target must both be numpy arrays (H, W[, C]) or both torch tensors "
            f"(N, C, H, W); got {type(pred).__name__} and {type(target).__name__}"
        )
    _check_dtype(pred.dtype, "pred")
    _check_dtype(target.dtype, "target")
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(
            f"shape mismatch: pred {tuple(pred.shape)} vs target {tuple(target.shape)}"
        )
    wide = force64 or any(str(x.dtype).endswith("float64") for x in (pred, target))
    dtype = torch.float64 if wide else torch.float32
    if is_np[0]:
        if pred.ndim not in (2, 3):
            raise ValueError(f"numpy images must be (H, W) or (H, W, C), got {pred.shape}")

        def conv(a: np.ndarray) -> torch.Tensor:
            a = np.asarray(a, dtype=np.float64 if wide else np.float32)
            a = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
            return torch.from_numpy(np.ascontiguousarray(a))[None]

        p, t = conv(pred), conv(target)
    else:
        if pred.ndim != 4:
            raise ValueError(
                f"torch inputs must be batches (N, C, H, W), got shape {tuple(pred.shape)}; "
                "use x[None] for a single (C, H, W) image"
            )
        p = pred.detach()
        t = target.detach()
        if p.device.type == "mps":  # no float64 on MPS
            p, t = p.cpu(), t.cpu()
        p, t = p.to(dtype), t.to(dtype)
    for name, x in (("pred", p), ("target", t)):
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or inf values")
    return p, t, bool(is_np[0])


def _check_within(p: torch.Tensor, t: torch.Tensor, data_range: float) -> None:
    """Refuse values far outside ``data_range`` — e.g. uint8 images with ``data_range=1.0``,
    which would give a meaningless negative PSNR. Twice the range leaves room for restorations
    that overshoot a little."""
    peak = max(float(p.abs().max()), float(t.abs().max()))
    if peak > 2 * data_range:
        raise ValueError(
            f"values up to {peak:g} but data_range={data_range:g}: pass the data's range "
            f"(255 for 8-bit, 65535 for 16-bit images) or scale the images to [0, 1]"
        )


def _finish(values: torch.Tensor, was_numpy: bool) -> float | torch.Tensor:
    values = values.detach().to("cpu", torch.float64)
    return float(values[0]) if was_numpy else values


def _per_channel(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.reshape(n * c, 1, h, w)


def _ssim_terms(
    p: torch.Tensor, t: torch.Tensor, data_range: float, *, want_cs: bool
) -> torch.Tensor:
    """Mean over the valid region of the SSIM map (or of the contrast-structure map)."""
    kwargs = dict(
        gaussian_kernel=True,
        sigma=SSIM_SIGMA,
        kernel_size=SSIM_KERNEL,
        data_range=data_range,
        k1=SSIM_K1,
        k2=SSIM_K2,
        reduction="none",
    )
    if want_cs:
        # torchmetrics crops the contrast-structure map to the valid region itself.
        _, cs = structural_similarity_index_measure(
            p, t, return_contrast_sensitivity=True, **kwargs
        )
        return cs
    _, full = structural_similarity_index_measure(p, t, return_full_image=True, **kwargs)
    r = (SSIM_KERNEL - 1) // 2
    return full[..., r:-r, r:-r].reshape(full.shape[0], -1).mean(-1)


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------


def psnr(
    pred: ImageLike, target: ImageLike, *, data_range: float, max_db: float | None = None
) -> float | torch.Tensor:
    """Peak signal-to-noise ratio in dB, per image.

    Args:
        pred: restored image, numpy ``(H, W)`` / ``(H, W, C)`` or torch ``(N, C, H, W)``.
        target: reference, same shape and kind as ``pred``.
        data_range: L in 10·log10(L²/MSE), e.g. 1.0 for [0, 1] floats (required).
        max_db: cap on the result. ``None`` (default) leaves identical images at ``inf``; tables
            that must stay finite pass e.g. ``max_db=100`` (METHODS §7 #19 uses 50 inside Ω).

    Returns:
        ``float`` for a numpy image; float64 CPU tensor ``(N,)`` for a torch batch. Higher is
        better. RGB: one MSE over all channels (not a mean of per-channel PSNRs). Agrees with
        scikit-image to ~1e-6 dB (torchmetrics takes log(10) and log(data_range) in float32).

    Example:
        >>> import numpy as np
        >>> a = np.zeros((8, 8), np.float32); b = a + 0.1
        >>> round(psnr(a, b, data_range=1.0), 4)
        20.0
        >>> psnr(a, a, data_range=1.0), psnr(a, a, data_range=1.0, max_db=100.0)
        (inf, 100.0)
    """
    dr = _check_data_range(data_range)
    p, t, was_np = _to_batches(pred, target, force64=True)
    _check_within(p, t, dr)
    values = peak_signal_noise_ratio(p, t, data_range=dr, reduction="none", dim=(1, 2, 3))
    if max_db is not None:
        values = torch.clamp(values, max=float(max_db))
    return _finish(values, was_np)


def ssim(pred: ImageLike, target: ImageLike, *, data_range: float) -> float | torch.Tensor:
    """Structural similarity (Gaussian 11×11, σ = 1.5, population covariance), per image.

    Args:
        pred: restored image, numpy ``(H, W)`` / ``(H, W, C)`` or torch ``(N, C, H, W)``;
            both sides ≥ 11 px.
        target: reference, same shape and kind as ``pred``.
        data_range: L in C1 = (0.01·L)², C2 = (0.03·L)² (required).

    Returns:
        ``float`` for a numpy image; float64 CPU tensor ``(N,)`` for a torch batch. In [-1, 1],
        1 for identical images. RGB: mean of the per-channel SSIMs. Mean over the valid region
        (border of 5 px cropped), as ``skimage.metrics.structural_similarity(gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False)``.

    Example:
        >>> import numpy as np
        >>> a = np.random.default_rng(0).random((32, 32))
        >>> ssim(a, a, data_range=1.0)
        1.0
    """
    dr = _check_data_range(data_range)
    p, t, was_np = _to_batches(pred, target)
    _check_within(p, t, dr)
    n, c, h, w = p.shape
    if min(h, w) < SSIM_KERNEL:
        raise ValueError(f"SSIM needs both image sides >= {SSIM_KERNEL} px, got {h}x{w}")
    values = _ssim_terms(_per_channel(p), _per_channel(t), dr, want_cs=False)
    return _finish(values.view(n, c).mean(1), was_np)


def ms_ssim_min_size(scales: int = 5) -> int:
    """Smallest image side MS-SSIM accepts: the coarsest scale must hold one 11×11 window.

    >>> ms_ssim_min_size(5), ms_ssim_min_size(3)
    (176, 44)
    """
    return SSIM_KERNEL * 2 ** (scales - 1)


def ms_ssim(
    pred: ImageLike, target: ImageLike, *, data_range: float, scales: int = 5
) -> float | torch.Tensor:
    """Multi-scale SSIM (Wang et al. 2003), per image.

    Args:
        pred: restored image, numpy ``(H, W)`` / ``(H, W, C)`` or torch ``(N, C, H, W)``.
        target: reference, same shape and kind as ``pred``.
        data_range: as for :func:`ssim` (required).
        scales: 5 (default) is the standard metric and needs both sides ≥ 176 px
            (11 · 2⁴, so the coarsest scale still holds a full window; smaller images raise a
            ``ValueError``). A smaller value is an explicit, *non-standard* fallback for small
            crops: the first ``scales`` weights, renormalised to sum to 1, SSIM at the last one.
            Say so when you report such numbers.

    Returns:
        ``float`` for a numpy image; float64 CPU tensor ``(N,)`` for a torch batch; in [0, 1].
        RGB: MS-SSIM of each channel, then the mean.

    Example:
        >>> import numpy as np
        >>> a = np.random.default_rng(0).random((176, 176))
        >>> round(ms_ssim(a, a, data_range=1.0), 6)
        1.0
    """
    dr = _check_data_range(data_range)
    if not isinstance(scales, int) or not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"scales must be an int in 1..{len(MS_SSIM_WEIGHTS)}, got {scales!r}")
    p, t, was_np = _to_batches(pred, target)
    _check_within(p, t, dr)
    n, c, h, w = p.shape
    need = ms_ssim_min_size(scales)
    if min(h, w) < need:
        raise ValueError(
            f"MS-SSIM with {scales} scales and an {SSIM_KERNEL}x{SSIM_KERNEL} window needs both "
            f"image sides >= {need} px, got {h}x{w}. Use larger crops, pass scales=k with "
            f"k <= {max(1, int(math.log2(max(min(h, w), 1) / SSIM_KERNEL)) + 1)} (non-standard), "
            "or leave 'ms_ssim' out of the metrics."
        )
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=torch.float64)
    if scales < len(MS_SSIM_WEIGHTS):  # the standard five are used as published (sum 1.0001)
        weights = weights / weights.sum()
    x, y = _per_channel(p), _per_channel(t)
    total = torch.ones(x.shape[0], dtype=torch.float64, device=x.device)
    for s in range(scales):
        last = s == scales - 1
        term = torch.relu(_ssim_terms(x, y, dr, want_cs=not last))
        total = total * term ** weights[s].to(x.device)
        if not last:
            x = torch.nn.functional.avg_pool2d(x, 2)
            y = torch.nn.functional.avg_pool2d(y, 2)
    return _finish(total.view(n, c).mean(1), was_np)


METRICS: dict[str, Callable[..., float | torch.Tensor]] = {
    "psnr": psnr,
    "ssim": ssim,
    "ms_ssim": ms_ssim,
}


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------


def _check_metric_names(metrics: Sequence[str]) -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(f"unknown metrics {unknown}; choose from {sorted(METRICS)}")
    return names


def _score(
    pred: ImageLike, target: ImageLike, names: Sequence[str], data_range: float,
    max_db: float | None,
) -> dict[str, np.ndarray]:
    out = {}
    for name in names:
        kw = {"max_db": max_db} if name == "psnr" else {}
        try:
            value = METRICS[name](pred, target, data_range=data_range, **kw)
        except ValueError as exc:
            if name == "ms_ssim" and "MS-SSIM" in str(exc):
                raise ValueError(f"{exc} (metrics=... chooses which metrics run)") from None
            raise
        out[name] = np.atleast_1d(np.asarray(value, dtype=np.float64))
    return out


def evaluate_pairs(
    pairs: Mapping[str, tuple[ImageLike, ImageLike]] | Iterable[tuple],
    *,
    data_range: float = 1.0,
    metrics: Sequence[str] = DEFAULT_METRICS,
    max_db: float | None = None,
) -> pd.DataFrame:
    """Per-image metric table for (restored, reference) pairs.

    Args:
        pairs: ``{name: (restored, reference)}``, or an iterable of ``(restored, reference)``,
            ``(name, restored, reference)`` or ``(name, (restored, reference))``. Images are numpy ``(H, W[, C])`` or torch
            ``(N, C, H, W)`` (a batch gives N rows, named ``name[i]``).
        data_range: see :func:`psnr` (1.0 for [0, 1] images).
        metrics: any of ``"psnr"``, ``"ssim"``, ``"ms_ssim"``.
        max_db: PSNR cap, see :func:`psnr`.

    Returns:
        DataFrame, one row per image: column ``name`` (the index number as a string when the
        pairs are unnamed) and one float column per metric.

    Example:
        >>> import numpy as np
        >>> a = np.random.default_rng(0).random((16, 16))
        >>> df = evaluate_pairs([(a * 0.9, a), (a, a)], metrics=("psnr", "ssim"))
        >>> list(df.columns), len(df)
        (['name', 'psnr', 'ssim'], 2)
    """
    names = _check_metric_names(metrics)
    dr = _check_data_range(data_range)
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    rows: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(pairs, Mapping):
            name, (pred, target) = item
        elif len(item) == 3:
            name, pred, target = item
        elif len(item) == 2 and isinstance(item[0], str):
            name, (pred, target) = item
        elif len(item) == 2:
            name, (pred, target) = str(i), item
        else:
            raise ValueError(
                "each pair must be (restored, reference) or (name, restored, reference)"
            )
        scores = _score(pred, target, names, dr, max_db)
        n = len(next(iter(scores.values())))
        for j in range(n):
            row = {"name": str(name) if n == 1 else f"{name}[{j}]"}
            row.update({m: float(scores[m][j]) for m in names})
            rows.append(row)
    if not rows:
        raise ValueError("evaluate_pairs got no pairs")
    return pd.DataFrame(rows, columns=["name", *names])


def evaluate_methods(
    outputs: Mapping[str, Sequence[ImageLike]],
    items: Sequence[Mapping[str, Any]],
    *,
    metrics: Sequence[str] = ("psnr", "ssim"),
    data_range: float = 1.0,
    reference: str = "sharp",
) -> pd.DataFrame:
    """Per-image metric table for several methods restoring the same test items.

    Args:
        outputs: ``{method: [restored image per item]}``, images as for :func:`psnr`.
        items: test items, each a mapping with ``"name"`` and the reference under ``reference``.
        metrics: any of ``"psnr"``, ``"ssim"``, ``"ms_ssim"``.
        data_range: see :func:`psnr` (1.0 for [0, 1] images, i.e. MAX = 255 on 8-bit data).
        reference: the key of the reference image in every item.

    Returns:
        DataFrame, one row per (method, image): ``method``, ``image`` and one column per metric;
        :func:`summarize` with ``by="method"`` (after dropping ``image``) gives mean ± std.

    Raises:
        ValueError: a method has a different number of outputs than there are items.

    Example:
        >>> import numpy as np
        >>> ref = np.random.default_rng(0).random((16, 16))
        >>> df = evaluate_methods({"same": [ref]}, [{"name": "a", "sharp": ref}])
        >>> list(df.columns), float(df["ssim"].iloc[0])
        (['method', 'image', 'psnr', 'ssim'], 1.0)
    """
    names = _check_metric_names(metrics)
    dr = _check_data_range(data_range)
    rows: list[dict[str, Any]] = []
    for method, images in outputs.items():
        if len(images) != len(items):
            raise ValueError(f"{method}: {len(images)} outputs for {len(items)} test items")
        for item, image in zip(items, images):
            scores = _score(image, item[reference], names, dr, None)
            rows.append({"method": method, "image": item["name"],
                         **{m: float(scores[m][0]) for m in names}})
    return pd.DataFrame(rows, columns=["method", "image", *names])


def summarize(
    df: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    decimals: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Mean ± standard deviation of every metric column of a per-image table.

    Args:
        df: output of :func:`evaluate_pairs` / :func:`evaluate_model` / :func:`evaluate_folder`
            (more rows with e.g. a ``model`` column are fine).
        by: optional column(s) to group by (one summary row per group).
        decimals: digits in the formatted strings, default 2 for PSNR and 4 otherwise.

    Returns:
        DataFrame with ``n`` and, per metric ``m``, ``m_mean``, ``m_std`` (sample std, ddof = 1;
        NaN for one image) and ``m`` formatted as ``"21.64 ± 0.50"`` (just the mean when the std
        is NaN). Index ``"all"`` without ``by``, else the group keys.

    Example:
        >>> import pandas as pd
        >>> summarize(pd.DataFrame({"psnr": [21.0, 22.0]}))["psnr"].iloc[0]
        '21.50 ± 0.71'
    """
    group_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    metric_cols = [m for m in METRICS if m in df.columns]
    metric_cols += [
        c for c in df.columns
        if c not in metric_cols and c not in group_cols and c != "name"
        and pd.api.types.is_numeric_dtype(df[c])
    ]
    if not metric_cols:
        raise ValueError(f"no numeric metric columns in {list(df.columns)}")
    digits = {"psnr": 2}
    digits.update(decimals or {})

    def one(frame: pd.DataFrame) -> dict[str, Any]:
        row: dict[str, Any] = {"n": len(frame)}
        for m in metric_cols:
            mean = float(frame[m].mean())
            std = float(frame[m].std(ddof=1)) if len(frame) > 1 else float("nan")
            d = digits.get(m, 4)
            row[f"{m}_mean"], row[f"{m}_std"] = mean, std
            row[m] = f"{mean:.{d}f}" if math.isnan(std) else f"{mean:.{d}f} ± {std:.{d}f}"
        return row

    if not group_cols:
        return pd.DataFrame([one(df)], index=["all"])
    groups = df.groupby(group_cols, sort=False)
    keys, rows = [], []
    for key, frame in groups:
        keys.append(key[0] if len(group_cols) == 1 and isinstance(key, tuple) else key)
        rows.append(one(frame))
    index = (
        pd.Index(keys, name=group_cols[0]) if len(group_cols) == 1
        else pd.MultiIndex.from_tuples(keys, names=group_cols)
    )
    return pd.DataFrame(rows, index=index)


def _as_batch_tensor(x: Any, key: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        x = x[None] if x.ndim == 2 else x.permute(2, 0, 1) if x.ndim == 3 else x
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"item[{key!r}] must be a tensor or numpy array, got {type(x).__name__}")
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"item[{key!r}] must be (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
    return x


def evaluate_model(
    model: torch.nn.Module,
    dataset_or_loader: Iterable[Mapping[str, Any]],
    *,
    device: torch.device | str | None = None,
    data_range: float = 1.0,
    infer_fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    clamp: bool = True,
    max_db: float | None = None,
    blur_key: str = "blur",
    sharp_key: str = "sharp",
) -> pd.DataFrame:
    """Run a model over ``{"blur", "sharp"}`` items and score every restored image.

    Args:
        model: maps a blurred batch ``(N, C, H, W)`` to the restored batch of the same shape.
        dataset_or_loader: a dataset yielding dicts with ``(C, H, W)`` tensors (or numpy
            ``(H, W[, C])``), or a DataLoader yielding ``(N, C, H, W)`` batches. An optional
            ``"name"`` entry (str, or list of str per batch) names the rows.
        device: where to run; ``None`` keeps the model where it is (the device of its first
            parameter, CPU for a model without parameters). A given device moves the model.
        data_range: see :func:`psnr`.
        infer_fn: ``infer_fn(model, blur) -> restored`` for models that need more than
            ``model(blur)`` (multi-scale outputs, tiling, padding to a multiple of 8, ...).
        metrics: any of ``"psnr"``, ``"ssim"``, ``"ms_ssim"``.
        clamp: clamp restored values to ``[0, data_range]`` before scoring (default, as usual
            when images are saved); ``False`` scores the raw output.
        max_db: PSNR cap, see :func:`psnr`.

    Returns:
        Per-image DataFrame as in :func:`evaluate_pairs`. Runs under ``torch.inference_mode``
        with ``model.eval()``; the model's train/eval mode is restored afterwards.

    Example:
        >>> import torch
        >>> data = [{"blur": torch.rand(1, 16, 16), "sharp": torch.rand(1, 16, 16)}]
        >>> evaluate_model(torch.nn.Identity(), data, metrics=("psnr",)).shape
        (1, 2)
    """
    names = _check_metric_names(metrics)
    dr = _check_data_range(data_range)
    if device is not None:
        device = torch.device(device)
        model = model.to(device)
    else:
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    rows: list[dict[str, Any]] = []
    try:
        with torch.inference_mode():
            for item in dataset_or_loader:
                if not isinstance(item, Mapping) or blur_key not in item or sharp_key not in item:
                    raise TypeError(
                        f"items must be dicts with {blur_key!r} and {sharp_key!r} entries"
                    )
                blur = _as_batch_tensor(item[blur_key], blur_key).to(device, torch.float32)
                sharp = _as_batch_tensor(item[sharp_key], sharp_key)
                restored = infer_fn(model, blur) if infer_fn is not None else model(blur)
                if not isinstance(restored, torch.Tensor):
                    raise TypeError(
                        f"the model returned {type(restored).__name__}, not a tensor; pass "
                        "infer_fn=lambda m, x: m(x)[0] (or whichever output is the image)"
                    )
                restored = restored.to("cpu", torch.float32)
                sharp = sharp.to("cpu", torch.float32)
                if restored.shape != sharp.shape:
                    raise ValueError(
                        f"restored {tuple(restored.shape)} and sharp {tuple(sharp.shape)} "
                        "differ in shape"
                    )
                if clamp:
                    restored = restored.clamp(0.0, dr)
                scores = _score(restored, sharp, names, dr, max_db)
                n = restored.shape[0]
                item_names = item.get("name")
                if isinstance(item_names, str):
                    item_names = [item_names]
                for j in range(n):
                    nm = (
                        str(item_names[j]) if item_names is not None and len(item_names) == n
                        else str(len(rows))
                    )
                    rows.append({"name": nm, **{m: float(scores[m][j]) for m in names}})
    finally:
        model.train(was_training)
    if not rows:
        raise ValueError("evaluate_model got an empty dataset")
    return pd.DataFrame(rows, columns=["name", *names])


def evaluate_folder(
    restored_dir: str | Path,
    reference_dir: str | Path,
    *,
    data_range: float = 1.0,
    metrics: Sequence[str] = DEFAULT_METRICS,
    grey: bool = False,
    max_db: float | None = None,
) -> pd.DataFrame:
    """Score every image in ``restored_dir`` against the file of the same name in ``reference_dir``.

    Files are matched by stem (``a.png`` ↔ ``a.tif`` is fine) and read with
    :func:`deblurlab.io.read_image` (scaled by dtype to [0, 1], hence ``data_range=1.0``).
    Reference files without a restored partner are ignored; a restored file without a reference
    is an error.

    Args:
        restored_dir: folder of restored images (png / tif / jpg / bmp).
        reference_dir: folder of reference images.
        data_range: see :func:`psnr`.
        metrics: any of ``"psnr"``, ``"ssim"``, ``"ms_ssim"``.
        grey: read both sides as grey (luminance).
        max_db: PSNR cap, see :func:`psnr`.

    Returns:
        Per-image DataFrame as in :func:`evaluate_pairs`, ``name`` = file stem, sorted by name.

    Example:
        >>> evaluate_folder("build/restored", "data/sharp")  # doctest: +SKIP
    """
    from .io import read_image  # imported late: io pulls in the image codecs

    restored_dir, reference_dir = Path(restored_dir), Path(reference_dir)
    for d in (restored_dir, reference_dir):
        if not d.is_dir():
            raise FileNotFoundError(f"not a folder: {d}")

    def listing(d: Path) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for f in sorted(d.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                if f.stem in found:
                    raise ValueError(
                        f"two images named {f.stem!r} in {d}: {found[f.stem].name}, {f.name}"
                    )
                found[f.stem] = f
        return found

    restored, reference = listing(restored_dir), listing(reference_dir)
    if not restored:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {restored_dir}")
    missing = sorted(set(restored) - set(reference))
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise FileNotFoundError(
            f"no reference in {reference_dir} for {', '.join(missing[:5])}{more}"
        )

    def pairs():
        for stem in sorted(restored):
            pred, _ = read_image(restored[stem], grey=grey)
            ref, _ = read_image(reference[stem], grey=grey)
            yield stem, pred, ref

    return evaluate_pairs(pairs(), data_range=data_range, metrics=metrics, max_db=max_db)
