"""Perceptual metrics for evaluation: LPIPS, DISTS, a VGG19-feature distance, artifact measure.

All metric modules take ``(x, y)`` float tensors ``(N, C, H, W)`` with C = 1 (replicated to RGB)
or 3, images in [0, 1], and return one score per image, shape ``(N,)``. They run under
``torch.no_grad`` (they are evaluation metrics, not losses), are frozen and stay in eval mode, and
follow their input to its device. Lower = more similar for all three.

* :class:`LPIPS` — Zhang et al. 2018, ``lpips`` v0.1, VGG16 variant: the same computation as
  ``lpips.LPIPS(net="vgg")(x, y, normalize=True)``. Needs the torchvision VGG16 backbone
  (``vgg16-397923af.pth``, registry ``"vgg16-torchvision"``) and the linear heads
  (``"lpips-v0.1-vgg-lin"``).
* :class:`DISTS` — Ding et al. 2020, ``DISTS_pytorch``: VGG16 with L2 pooling, structure and
  texture similarities weighted by the published α/β (``"dists-alpha-beta"``). Same backbone.
* :class:`VGGFeatureDistance` — "VGG19-feature distance (not LPIPS)": an LPIPS-*like* distance
  with **no learned weights**, built on the VGG19 conv1_1…conv3_4 weights that are available
  offline. Its numbers are not comparable with LPIPS or DISTS values in the literature.
* :func:`artifact_measure` — paper 000's period-4 artifact: dB excess of the restored spectrum
  over the reference at ±f cycles/px, per image (wraps :func:`deblurlab.spectra.excess_db`).

The VGG16 backbone is not available offline: without the file, :class:`LPIPS` and :class:`DISTS`
raise :class:`deblurlab.weights.WeightsNotFoundError` naming it — never random weights.

Example:
    >>> import torch
    >>> d = VGGFeatureDistance(weights="random-for-tests")
    >>> x = torch.rand(2, 1, 32, 32)
    >>> d(x, x).tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .models.vgg import VGGFeatures
from .spectra import AXES, db_at_frequency, dataset_psd, excess_db, frequency_axis, to_db
from .weights import WeightsEntry, entry, load_state_dict

__all__ = ["DISTS", "LPIPS", "VGGFeatureDistance", "artifact_measure"]

_VGG16_RELUS = ("relu_1_2", "relu_2_2", "relu_3_3", "relu_4_3", "relu_5_3")


def _check_pair(x: Tensor, y: Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, 1 or 3, H, W) in [0, 1], got {tuple(x.shape)}")


def _rgb(x: Tensor) -> Tensor:
    x = x if torch.is_floating_point(x) else x.float()
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def _unit(f: Tensor, eps: float = 1e-10) -> Tensor:
    """Divide every spatial feature vector by its L2 norm over channels (LPIPS convention)."""
    return f / (torch.sqrt((f * f).sum(dim=1, keepdim=True)) + eps)


def _entry(e: str | WeightsEntry) -> WeightsEntry:
    return e if isinstance(e, WeightsEntry) else entry(e)


class _Metric(nn.Module):
    """Shared behaviour: eval mode always, frozen, follows the input's device."""

    def train(self, mode: bool = True) -> _Metric:
        return super().train(False)

    def _follow(self, x: Tensor) -> None:
        ref = next(iter(self.buffers()), None)
        if ref is not None and ref.device != x.device:
            self.to(x.device)


class VGGFeatureDistance(_Metric):
    """VGG19-feature distance (not LPIPS): an offline, unlearned LPIPS-like distance.

    For each layer ``l``: unit-normalise the feature vector at every position over channels,
    take the squared Euclidean difference, average over positions; the score is the mean over
    layers (equal weights, no learned heads). Range [0, 4]; 0 for identical images.

    Differences from LPIPS: VGG19 (not VGG16/AlexNet) with the Caffe-origin ImageNet weights of
    the shared folder (conv1_1…conv3_4 only), layers ``conv_1_2, conv_2_2, conv_3_4`` after their
    ReLU by default, uniform instead of learned channel weights. Use it to compare methods
    *within* this project; do not report it as LPIPS.

    Args:
        layers: VGG19 layer names (``conv_i_j``, ``relu_i_j``; see :class:`VGGFeatures`).
        weights: registry name / entry (default: the offline VGG19 subset).
        pre_relu: take ``conv_i_j`` before the ReLU (default ``False``: after, like LPIPS).

    Shapes:
        x, y: ``(N, 1 or 3, H, W)`` in [0, 1]; output ``(N,)``, lower = more similar.

    Example:
        >>> import torch
        >>> d = VGGFeatureDistance(weights="random-for-tests")
        >>> x = torch.rand(1, 3, 32, 32)
        >>> bool(d(x, x.flip(-1))[0] > 0)
        True
    """

    name = "VGG19-feature distance (not LPIPS)"

    def __init__(self, layers: Sequence[str] = ("conv_1_2", "conv_2_2", "conv_3_4"),
                 weights: str | WeightsEntry = "vgg19-imagenet-conv1_1-conv3_4",
                 pre_relu: bool = False) -> None:
        super().__init__()
        self.layers = tuple(layers)
        self.vgg = VGGFeatures("vgg19", weights=weights, layers=self.layers, pre_relu=pre_relu)

    @torch.no_grad()
    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_pair(x, y)
        fx, fy = self.vgg(x), self.vgg(y)
        per_layer = [((_unit(fx[k]) - _unit(fy[k])) ** 2).sum(1).mean((1, 2)) for k in self.layers]
        return torch.stack(per_layer).mean(0)


class LPIPS(_Metric):
    """LPIPS v0.1 with the VGG16 backbone (Zhang et al. 2018).

    Computation (as in ``lpips``, ``version="0.1"``): ``x`` in [0, 1] → ``2x − 1`` in [−1, 1] →
    ScalingLayer ``(x − shift) / scale`` with shift (−0.030, −0.088, −0.188), scale (0.458, 0.448,
    0.450) (both steps are the registry's preprocessing of ``"lpips-v0.1-vgg-lin"``) → VGG16
    post-ReLU features relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 → unit-normalise over channels
    (eps 1e-10) → squared difference → 1×1 linear head ``lin_k`` (non-negative per-channel
    weights, no bias) → spatial mean → sum over the 5 layers. Equivalent to
    ``lpips.LPIPS(net="vgg")(x, y, normalize=True)``. Images are not resized.

    Args:
        net: only ``"vgg"`` (AlexNet/SqueezeNet weights are not in the registry).
        backbone: VGG16 weights (registry name or entry), default ``"vgg16-torchvision"``.
        heads: linear-head weights, default ``"lpips-v0.1-vgg-lin"`` (keys
            ``lin{k}.model.1.weight``, shapes ``(1, C_k, 1, 1)``, C = 64, 128, 256, 512, 512).

    Shapes:
        x, y: ``(N, 1 or 3, H, W)`` in [0, 1], H, W ≥ 16; output ``(N,)``, lower = more similar.

    Raises:
        deblurlab.weights.WeightsNotFoundError: ``vgg16-397923af.pth`` (or the heads) missing.

    Example:
        >>> import torch
        >>> metric = LPIPS()  # doctest: +SKIP
        >>> metric(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)).shape  # doctest: +SKIP
        torch.Size([2])
    """

    channels = (64, 128, 256, 512, 512)

    def __init__(self, net: str = "vgg", *, backbone: str | WeightsEntry = "vgg16-torchvision",
                 heads: str | WeightsEntry = "lpips-v0.1-vgg-lin") -> None:
        super().__init__()
        if net != "vgg":
            raise ValueError(f"net={net!r}: only the VGG16 variant of LPIPS is available "
                             "(weights registry 'lpips-v0.1-vgg-lin')")
        heads_e = _entry(heads)
        sd = load_state_dict(heads_e)
        for k, c in enumerate(self.channels):
            key = f"lin{k}.model.1.weight"
            if key not in sd or tuple(sd[key].shape) != (1, c, 1, 1):
                got = tuple(sd[key].shape) if key in sd else "missing"
                raise ValueError(f"LPIPS heads file '{heads_e.filename}': {key} should be "
                                 f"(1, {c}, 1, 1), got {got}")
            self.register_buffer(f"lin{k}", sd[key].float().clone())
        self.vgg = VGGFeatures("vgg16", weights=backbone, layers=_VGG16_RELUS, pre_relu=False,
                               preprocess=heads_e)

    @torch.no_grad()
    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_pair(x, y)
        self._follow(x)
        fx, fy = self.vgg(x), self.vgg(y)
        total = x.new_zeros(x.shape[0], dtype=torch.float32)
        for k, name in enumerate(_VGG16_RELUS):
            d = (_unit(fx[name]) - _unit(fy[name])) ** 2
            w = getattr(self, f"lin{k}")
            total = total + (d * w).sum(1).mean((1, 2))
        return total


class DISTS(_Metric):
    """DISTS (Ding, Ma, Wang & Simoncelli 2020), as in ``DISTS_pytorch``.

    Backbone: VGG16 conv layers with every max-pool replaced by L2 pooling
    (:class:`deblurlab.models.vgg.L2Pool2d`: 3×3 Hann window, stride 2). Its input is normalised
    with **torchvision's ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)**
    (the registry's preprocessing of ``"dists-alpha-beta"``), exactly as ``DISTS_pytorch`` does.
    Representations: the raw input image (un-normalised RGB in [0, 1]) plus relu1_2, relu2_2,
    relu3_3, relu4_3, relu5_3 — 3 + 64 + 128 + 256 + 512 + 512 = 1475 channels. Per channel
    (means μ, variances σ², covariance σ_xy over space, c1 = c2 = 1e-6)::

        texture   l = (2 μx μy + c1) / (μx² + μy² + c1)
        structure s = (2 σxy + c2) / (σx² + σy² + c2)
        DISTS = 1 − Σ_channels (α·l + β·s),   α, β divided by Σα + Σβ

    with the published α, β (``1×1475×1×1`` each). ``DISTS_pytorch``'s example resizes images
    so the short side is 256 before scoring; this class does not resize.

    Args:
        backbone: VGG16 weights (registry name or entry), default ``"vgg16-torchvision"``.
        alpha_beta: α/β weights, default ``"dists-alpha-beta"``.

    Shapes:
        x, y: ``(N, 1 or 3, H, W)`` in [0, 1], H, W ≥ 32; output ``(N,)`` (0 for identical
        images; lower = more similar).

    Raises:
        deblurlab.weights.WeightsNotFoundError: ``vgg16-397923af.pth`` (or α/β) missing.

    Example:
        >>> import torch
        >>> metric = DISTS()  # doctest: +SKIP
        >>> metric(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)).shape  # doctest: +SKIP
        torch.Size([1])
    """

    channels = (3, 64, 128, 256, 512, 512)
    c1 = 1e-6
    c2 = 1e-6

    def __init__(self, *, backbone: str | WeightsEntry = "vgg16-torchvision",
                 alpha_beta: str | WeightsEntry = "dists-alpha-beta") -> None:
        super().__init__()
        ab = _entry(alpha_beta)
        sd = load_state_dict(ab)
        n = sum(self.channels)
        for key in ("alpha", "beta"):
            if key not in sd or tuple(sd[key].shape) != (1, n, 1, 1):
                got = tuple(sd[key].shape) if key in sd else "missing"
                raise ValueError(f"DISTS weights file '{ab.filename}': {key} should be "
                                 f"(1, {n}, 1, 1), got {got}")
        total = sd["alpha"].sum() + sd["beta"].sum()
        self.register_buffer("alpha", (sd["alpha"] / total).float().flatten())
        self.register_buffer("beta", (sd["beta"] / total).float().flatten())
        self.vgg = VGGFeatures("vgg16", weights=backbone, layers=_VGG16_RELUS, pre_relu=False,
                               pool="l2", preprocess=ab)

    @torch.no_grad()
    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_pair(x, y)
        self._follow(x)
        x, y = _rgb(x), _rgb(y)
        fx = [x, *self.vgg(x).values()]
        fy = [y, *self.vgg(y).values()]
        texture = x.new_zeros(x.shape[0], dtype=torch.float32)
        structure = texture.clone()
        alphas = torch.split(self.alpha, self.channels)
        betas = torch.split(self.beta, self.channels)
        for a, b, al, be in zip(fx, fy, alphas, betas):
            mx, my = a.mean((2, 3)), b.mean((2, 3))
            vx = a.var((2, 3), unbiased=False)
            vy = b.var((2, 3), unbiased=False)
            cov = (a * b).mean((2, 3)) - mx * my
            tex = (2 * mx * my + self.c1) / (mx * mx + my * my + self.c1)
            struct = (2 * cov + self.c2) / (vx + vy + self.c2)
            texture = texture + (tex * al).sum(1)
            structure = structure + (struct * be).sum(1)
        return 1 - (texture + structure)


# --------------------------------------------------------------------------- artifact measure


def _images(batch: Any, name: str) -> list[np.ndarray]:
    """A batch as a list of numpy images ``(H, W)`` / ``(H, W, C)`` for :mod:`deblurlab.spectra`."""
    if isinstance(batch, (list, tuple)):
        out: list[np.ndarray] = []
        for i, item in enumerate(batch):
            imgs = _images(item, f"{name}[{i}]")
            if len(imgs) != 1:
                raise ValueError(f"{name}[{i}] must be one image, got a batch of {len(imgs)}")
            out += imgs
        return out
    if isinstance(batch, torch.Tensor):
        t = batch.detach().to("cpu", torch.float64)
        if t.ndim == 2:
            return [t.numpy()]
        if t.ndim == 3:  # one (C, H, W) image
            t = t[None]
        if t.ndim != 4:
            raise ValueError(f"{name}: torch input must be (N, C, H, W), (C, H, W) or (H, W), "
                             f"got {tuple(t.shape)}")
        return [img for img in t.permute(0, 2, 3, 1).numpy()]
    arr = np.asarray(batch)
    if arr.ndim == 2:
        return [arr]
    if arr.ndim == 3:
        # (H, W, C) with C in {1, 3} is one image, anything else a grey stack (N, H, W)
        return [arr] if arr.shape[-1] in (1, 3) else list(arr)
    if arr.ndim == 4:
        return list(arr)
    raise ValueError(f"{name}: numpy input must be (H, W), (H, W, C), (N, H, W) or "
                     f"(N, H, W, C), got {arr.shape}")


def artifact_measure(
    restored: Any,
    reference: Any,
    f: float = 0.25,
    *,
    window: str | None = None,
) -> pd.DataFrame:
    """Paper 000's artifact measure: dB excess of ``restored`` over ``reference`` at ±f cycles/px.

    For every image pair, :func:`deblurlab.spectra.excess_db` compares the centred magnitude
    spectra (``20·log10|F|``, grey or RGB → luminance) on the centre row (horizontal profile)
    and centre column (vertical profile) at −f and +f. The paper reports about +5 dB at
    f = 0.25 for its perceptual-loss models; ≈ 0 dB means no excess.

    Args:
        restored, reference: the same layout, one of: torch ``(N, C, H, W)`` / ``(C, H, W)`` /
            ``(H, W)``; numpy ``(H, W)``, ``(H, W, C)`` (C ∈ {1, 3}: one image),
            ``(N, H, W)``, ``(N, H, W, C)``; or a list of single images (sizes may differ
            between pairs). Values in [0, 1].
        f: frequency in cycles/px (default 0.25, the period-4 pattern); use sizes that are a
            multiple of 1/f for an exact bin.
        window: ``None`` (as in the paper) or ``"hann"``.

    Returns:
        DataFrame, one row per image (index ``image``), columns ``excess_db`` (mean of the four
        sides), ``horizontal_db`` / ``vertical_db`` (mean of the two sides of each profile) and
        the four sides ``horizontal_neg``, ``horizontal_pos``, ``vertical_neg``,
        ``vertical_pos`` (dB). ``df.attrs`` holds the dataset averages: ``"mean_excess_db"``
        (mean of the per-image values) and ``"psd_excess_db"`` (excess of the dataset-averaged
        PSDs, :func:`deblurlab.spectra.dataset_psd`, the Fig. 10 view: robust to a single image's
        noisy bin), plus ``"f"``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> ref = rng.random((2, 32, 32))
        >>> out = ref + 0.2 * np.cos(np.pi / 2 * np.arange(32))[None, None, :]
        >>> df = artifact_measure(out, ref)
        >>> len(df), bool((df["horizontal_db"] > 3).all())
        (2, True)
        >>> round(float(df["vertical_db"].abs().max()), 6)  # the pattern is horizontal only
        0.0
    """
    res, ref = _images(restored, "restored"), _images(reference, "reference")
    if len(res) != len(ref):
        raise ValueError(f"restored has {len(res)} images, reference {len(ref)}")
    if not res:
        raise ValueError("artifact_measure got no images")
    rows = []
    for r, g in zip(res, ref):
        ex = excess_db(r, g, f, axis="both", window=window)
        row = {"excess_db": ex.db}
        for ax in AXES:
            row[f"{ax}_db"] = float(np.mean([ex.sides[f"{ax}_neg"], ex.sides[f"{ax}_pos"]]))
        row.update(ex.sides)
        rows.append(row)
    df = pd.DataFrame(rows)
    df.index.name = "image"

    side = min(min(np.shape(im)[:2]) for im in res + ref)
    same = len({np.shape(im)[:2] for im in res + ref}) == 1
    crop = None if same else side
    pr = to_db(dataset_psd(res, crop=crop, window=window))
    pg = to_db(dataset_psd(ref, crop=crop, window=window))
    fy, fx = frequency_axis(pr.shape[0]), frequency_axis(pr.shape[1])
    df.attrs.update({
        "f": float(f),
        "mean_excess_db": float(df["excess_db"].mean()),
        "psd_excess_db": db_at_frequency(pr, fy, fx, f) - db_at_frequency(pg, fy, fx, f),
    })
    return df
