"""Sharpness metric Q, the differentiable sharpness loss, the full-reference metric Ω (paper 003).

Paper 003 (Aurangabadkar, Ramsook, Kokaram, EUSIPCO 2025) fine-tunes deblurring networks with
``L = L_φ − β·Q`` and scores them with Ω, a per-patch blend of PSNR and Q that rewards
sharpness but not ringing. Spec: METHODS §4.1–4.6; test vectors:
``$DEBLURLAB_DATA/omega-test-vectors/EXPECTED.md``.

What is here
------------
* :func:`metric_q` — Zhu–Milanfar no-reference sharpness Q (§4.1). Two conventions:
  ``variant="zhu-milanfar"`` (coherence from the singular values of the gradient matrix G, the
  original metric) and ``variant="omega"`` (coherence from the eigenvalues of GᵀG, metric term
  from the singular values of G — what the authors' Ω code does, §4.4).
* :func:`differentiable_q`, :func:`sharpness_q_loss`, :class:`SharpnessLoss` — the training
  variant (§4.2; ``variant="tf"`` follows ``QSharpNet/correctedQ_TF.py``) with closed-form 2×2
  eigenvalues and guarded square roots / divisions, so gradients are finite on flat patches.
* :func:`composite_loss` — ``L_φ − β·Q`` (§4.3) with the paper's β per network (:data:`BETA`).
* :func:`omega` — the full-reference metric Ω (§4.4) with the inner-Q conventions that reproduce
  the authors' published numbers; :func:`normalised_sharpness_j` — J (§4.5, a reconstruction).
* :func:`imsharpen` — MATLAB's ``imsharpen`` (§4.6), bit-exact on uint8 grey images.
* :func:`paired_t_test` — ``scipy.stats.ttest_rel`` with the mean difference.

Intensity scale
---------------
Q is linear in the intensity scale, so every Q in this module says which scale it is on:

* metric inputs are float images in **[0, 1]** or integer images (uint8 / uint16, divided by
  255 / 65535 like MATLAB's ``im2double``); float values outside [0, 1] are an error;
* :func:`metric_q` returns Q for the image on **[0, scale]**: ``scale=1`` (default) is the Ω
  code's convention, ``scale=255`` the original Zhu–Milanfar MATLAB convention;
* the loss (:func:`differentiable_q`) takes network outputs as they are, nominally in [0, 1];
* Ω always uses Q on [0, 1] and PSNR with peak 1 (= peak 255 on uint8 data).

Shapes: numpy images are ``(H, W)`` (one image → ``float``); torch images are
``(B, 1, H, W)`` (a batch → a float64 CPU tensor of shape ``(B,)``). Only single-channel
(grey / luma) images: convert RGB to luma first. Every patch computation is vectorised (no
Python loop over patches); metric computations run in float64.

Example:
    >>> import numpy as np
    >>> img = np.zeros((16, 16)); img[:, 4:] = 1.0   # a step edge through 2 of 4 8×8 patches
    >>> metric_q(img), metric_q(img, scale=255)      # each edge patch: s1 = 2, R = 1
    (1.0, 255.0)
    >>> round(q_threshold(1e-3, 8), 4), round(q_threshold(1e-3, 2), 4)
    (0.234, 0.9045)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ALPHA", "BETA", "CompositeSharpnessLoss", "PairedTTest", "SharpnessLoss", "composite_loss",
    "differentiable_q", "imsharpen", "metric_q", "normalised_sharpness_j", "omega",
    "paired_t_test", "q_threshold", "sharpness_q_loss",
]

ImageLike = Union[np.ndarray, Tensor]

#: Significance level of the anisotropy test (Zhu & Milanfar; all of the authors' code).
ALPHA = 1e-3
#: β of ``L_φ − β·Q`` per network (EUSIPCO 2025 README; METHODS §4.3).
BETA: dict[str, float] = {"arknet": 0.1, "xy-deblur": 0.01, "ehnet": 0.1}

_INT_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


# --------------------------------------------------------------------------------------------
# thresholds and input handling
# --------------------------------------------------------------------------------------------


def q_threshold(alpha: float = ALPHA, patch: int = 8, *, simplified: bool = False) -> float:
    """Coherence threshold τ of the anisotropy test for ``patch``×``patch`` patches.

    ``τ = sqrt((1 − k)/(1 + k))`` with ``k = α^(1/(N²−1))`` (Zhu–Milanfar, §4.1), or the
    ``simplified=True`` form ``sqrt((1 − k)/2)`` of the authors' TensorFlow loss (§4.2).

    >>> round(q_threshold(), 4), round(q_threshold(simplified=True), 4)
    (0.234, 0.2279)
    """
    _check_patch_size(patch, "patch")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    k = alpha ** (1.0 / (patch * patch - 1))
    return math.sqrt((1.0 - k) / 2.0) if simplified else math.sqrt((1.0 - k) / (1.0 + k))


def _check_patch_size(patch: int, name: str) -> int:
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)) or patch < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {patch!r}")
    return int(patch)


def _check_variant(variant: str, allowed: tuple[str, ...]) -> str:
    if variant not in allowed:
        raise ValueError(f"variant must be one of {allowed}, got {variant!r}")
    return variant


def _as_metric_batch(image: ImageLike, name: str) -> tuple[Tensor, bool]:
    """Validate one metric input; return a float64 ``(B, 1, H, W)`` tensor in [0, 1] and
    whether it was a numpy array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 2:
            raise ValueError(f"{name}: numpy images must be 2-D (H, W) grey, got shape "
                             f"{image.shape}; convert colour images to luma first")
        if image.dtype in _INT_MAX:
            x = image.astype(np.float64) / _INT_MAX[image.dtype]
        elif np.issubdtype(image.dtype, np.floating):
            x = image.astype(np.float64, copy=False)
        else:
            raise ValueError(f"{name}: dtype must be uint8, uint16 or float (in [0, 1]), got "
                             f"{image.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
        was_numpy = True
    elif isinstance(image, Tensor):
        if image.ndim != 4 or image.shape[1] != 1:
            raise ValueError(f"{name}: torch images must be (B, 1, H, W), got shape "
                             f"{tuple(image.shape)}; use x[None, None] for one (H, W) image")
        if not image.is_floating_point():
            raise ValueError(f"{name}: torch images must be floating point in [0, 1], got "
                             f"{image.dtype}")
        t = image.detach()
        if t.device.type == "mps":  # no float64 on MPS
            t = t.cpu()
        t = t.to(torch.float64)
        was_numpy = False
    else:
        raise TypeError(f"{name} must be a numpy array (H, W) or a torch tensor (B, 1, H, W), "
                        f"got {type(image).__name__}")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    lo, hi = float(t.min()), float(t.max())  # NaN propagates into min/max
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or inf values")
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"{name}: float images must lie in [0, 1] (got [{lo:.4g}, {hi:.4g}]); "
                         "divide [0, 255] data by 255 or pass uint8, clip network outputs")
    return t, was_numpy


def _check_fits(shape: tuple[int, ...], patch: int, name: str) -> None:
    if shape[-2] < patch or shape[-1] < patch:
        raise ValueError(f"{name} of size {shape[-2]}×{shape[-1]} is smaller than one "
                         f"{patch}×{patch} patch")


def _finish(values: Tensor, was_numpy: bool) -> float | Tensor:
    values = values.detach().to("cpu", torch.float64)
    return float(values[0]) if was_numpy else values


# --------------------------------------------------------------------------------------------
# vectorised patch machinery
# --------------------------------------------------------------------------------------------


def _blocks(x: Tensor, n: int) -> Tensor:
    """``(B, 1, H, W)`` → ``(B, H//n, W//n, n, n)`` non-overlapping patches; the right/bottom
    border that does not fill a whole patch is dropped."""
    b, _, h, w = x.shape
    hh, ww = h // n, w // n
    return x[:, 0, : hh * n, : ww * n].reshape(b, hh, n, ww, n).permute(0, 1, 3, 2, 4)


def _matlab_diff(p: Tensor, dim: int) -> Tensor:
    """MATLAB ``gradient`` along ``dim``: one-sided at both ends, central ((f[i+1]−f[i−1])/2)
    inside."""
    n = p.shape[dim]
    first = p.narrow(dim, 1, 1) - p.narrow(dim, 0, 1)
    last = p.narrow(dim, n - 1, 1) - p.narrow(dim, n - 2, 1)
    if n == 2:
        return torch.cat([first, last], dim)
    inner = (p.narrow(dim, 2, n - 2) - p.narrow(dim, 0, n - 2)) / 2
    return torch.cat([first, inner, last], dim)


def _matlab_gradient(p: Tensor) -> tuple[Tensor, Tensor]:
    """``[gx, gy] = gradient(p)`` on the last two axes of ``(..., N, N)`` patches."""
    return _matlab_diff(p, -1), _matlab_diff(p, -2)


def _sobel_gradient(p: Tensor) -> tuple[Tensor, Tensor]:
    """3×3 Sobel responses of ``(..., N, N)`` patches, each patch reflect-padded on its own
    (TensorFlow ``tf.image.sobel_edges``: ``REFLECT`` padding, edge sample not repeated)."""
    n = p.shape[-1]
    idx = torch.tensor([1, *range(n), n - 2], device=p.device)
    q = p.index_select(-1, idx).index_select(-2, idx)  # (..., N+2, N+2)
    smooth_r = q[..., :-2, :] + 2 * q[..., 1:-1, :] + q[..., 2:, :]   # [1 2 1] down the rows
    smooth_c = q[..., :, :-2] + 2 * q[..., :, 1:-1] + q[..., :, 2:]   # [1 2 1] along columns
    gx = smooth_r[..., :, 2:] - smooth_r[..., :, :-2]
    gy = smooth_c[..., 2:, :] - smooth_c[..., :-2, :]
    return gx, gy


def _structure(gx: Tensor, gy: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Entries of GᵀG = [[a, b], [b, c]] for G = [vec(gx), vec(gy)], per patch."""
    return ((gx * gx).sum((-2, -1)), (gx * gy).sum((-2, -1)), (gy * gy).sum((-2, -1)))


def _block_sum(v: Tensor, n: int) -> Tensor:
    """Sum over non-overlapping n×n blocks: ``(B, H, W)`` → ``(B, H//n, W//n)`` (border
    dropped). Pooling kernel with divisor 1: much faster on CPU than a reshape-and-sum over
    two small strided axes."""
    return F.avg_pool2d(v[:, None], n, n, divisor_override=1)[:, 0]


def _tiled_structure(x: Tensor, n: int) -> tuple[Tensor, Tensor, Tensor]:
    """GᵀG entries (a, b, c), each ``(B, H//n, W//n)``, of the n×n patches of ``(B, 1, H, W)``
    (border dropped), MATLAB-``gradient`` derivatives inside each patch. Same numbers as
    :func:`_matlab_gradient` on :func:`_blocks`, but the derivatives are taken on contiguous
    views — rows split into n-long tiles for gx, ``(B, H//n, n, W)`` for gy — which is several
    times faster than on the permuted 5-D patch view."""
    b, _, h, w = x.shape
    hh, ww = h // n, w // n
    img = x[:, 0, : hh * n, : ww * n].contiguous()
    gx = _matlab_diff(img.reshape(b, hh * n, ww, n), -1).reshape(b, hh * n, ww * n)
    gy = _matlab_diff(img.reshape(b, hh, n, ww * n), -2).reshape(b, hh * n, ww * n)
    return _block_sum(gx * gx, n), _block_sum(gx * gy, n), _block_sum(gy * gy, n)


def _q_terms(x: Tensor, n: int, alpha: float, variant: str) -> Tensor:
    """Per-patch Q term ``s1·R`` of anisotropic patches (0 for isotropic ones), float64, no
    gradient: ``(B, 1, H, W)`` image → ``(B, H//n, W//n)`` for its n×n patches.

    Eigenvalues of GᵀG in closed form: λ1 = m + h, λ2 = det/λ1 with m = (a+c)/2 and
    h = hypot((a−c)/2, b) (no cancellation in h, and det/λ1 avoids m − h); singular values of G
    are s = sqrt(λ). Singular-value coherence (s1 − s2)/(s1 + s2) = 2h/(s1 + s2)²;
    eigenvalue coherence (λ1 − λ2)/(λ1 + λ2) = h/m.
    """
    a, b, c = _tiled_structure(x, n)
    m = (a + c) / 2
    h = torch.hypot((a - c) / 2, b)
    lam1 = m + h
    nz = lam1 > 0
    safe1 = torch.where(nz, lam1, torch.ones_like(lam1))
    lam2 = torch.where(nz, (a * c - b * b).clamp_min(0) / safe1, torch.zeros_like(lam1))
    lam2 = torch.minimum(lam2, lam1)
    s1, s2 = lam1.sqrt(), lam2.sqrt()
    ssum2 = (s1 + s2) ** 2
    r_svd = torch.where(nz, 2 * h / torch.where(nz, ssum2, torch.ones_like(ssum2)),
                        torch.zeros_like(h))
    if variant == "zhu-milanfar":
        coherence = r_svd
    else:  # "omega": coherence from the eigenvalues of GᵀG; 0/0 (flat) is never anisotropic
        coherence = torch.where(m > 0, h / torch.where(m > 0, m, torch.ones_like(m)),
                                torch.zeros_like(m))
    aniso = coherence > q_threshold(alpha, n)
    return torch.where(aniso, s1 * r_svd, torch.zeros_like(s1))


# --------------------------------------------------------------------------------------------
# Q (metric)
# --------------------------------------------------------------------------------------------


def metric_q(
    image: ImageLike,
    patch: int = 8,
    alpha: float = ALPHA,
    *,
    variant: Literal["zhu-milanfar", "omega"] = "zhu-milanfar",
    scale: float = 1.0,
) -> float | Tensor:
    """Zhu–Milanfar no-reference sharpness Q (METHODS §4.1); larger is sharper.

    The image is split into non-overlapping ``patch``×``patch`` patches (a border that does not
    fill a patch is ignored). Per patch: MATLAB-``gradient`` derivatives gx, gy, gradient
    matrix G = [vec(gx), vec(gy)] (N²×2) with singular values s1 ≥ s2, coherence
    R = (s1 − s2)/(s1 + s2). Patches with coherence > τ (:func:`q_threshold`) are anisotropic;
    ``Q = (1/P)·Σ_anisotropic s1·R`` with P the number of *all* patches.

    ``variant="omega"`` tests anisotropy with the coherence of the eigenvalues of GᵀG,
    (λ1 − λ2)/(λ1 + λ2), as the authors' Ω code does (the metric term stays s1·R); with
    ``patch=2`` it is the "whole-image Q" of the paper's README (GT crop → 0.0828).

    Args:
        image: numpy ``(H, W)`` or torch ``(B, 1, H, W)``; float in [0, 1], or uint8/uint16
            numpy (divided by 255/65535).
        patch: patch size N ≥ 2 (8 in the paper's Q; 2 inside Ω).
        alpha: significance level of the anisotropy test, in (0, 1).
        variant: ``"zhu-milanfar"`` or ``"omega"`` (see above).
        scale: report Q for the image on [0, ``scale``]: 1 → [0, 1] (Ω code), 255 → [0, 255]
            (original MATLAB). Q is linear in it.

    Returns:
        ``float`` for a numpy image; float64 CPU tensor ``(B,)`` for a torch batch.

    >>> import torch
    >>> x = torch.zeros(2, 1, 16, 16); x[0, :, :, 4:] = 1.0   # an edge and a flat image
    >>> metric_q(x).tolist()
    [1.0, 0.0]
    """
    _check_patch_size(patch, "patch")
    _check_variant(variant, ("zhu-milanfar", "omega"))
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
            0 < scale < math.inf):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    x, was_numpy = _as_metric_batch(image, "image")
    _check_fits(tuple(x.shape), patch, "image")
    terms = _q_terms(x, patch, alpha, variant)
    return _finish(terms.mean((-2, -1)) * scale, was_numpy)


# --------------------------------------------------------------------------------------------
# differentiable Q and the losses
# --------------------------------------------------------------------------------------------


def differentiable_q(
    x: Tensor,
    patch: int = 8,
    alpha: float = ALPHA,
    *,
    variant: Literal["tf", "zhu-milanfar"] = "tf",
    eps: float = 1e-12,
) -> Tensor:
    """Differentiable sharpness Q per image, for training (METHODS §4.2).

    ``variant="tf"`` (default; the authors' ``QSharpNet/correctedQ_TF.py``): 3×3 Sobel
    gradients per patch (reflect padding inside the patch), divided by ``patch`` (= 8 by
    default; the TF code divides by its window size); s1 ≥ s2 are the *eigenvalues* of GᵀG;
    R = (s1 − s2)/(s1 + s2 + 1e-10); threshold τ' = sqrt((1 − α^(1/(N²−1)))/2); Q = mean over
    all patches of R·s1 (0 where R ≤ τ'). ``variant="zhu-milanfar"``: MATLAB gradients,
    singular values of G, the τ of §4.1 — :func:`metric_q`'s definition, made differentiable.

    GᵀG = [[a, b], [b, c]] is diagonalised in closed form, λ± = (a+c)/2 ± r with
    r = d/sqrt(d + eps), d = ((a−c)/2)² + b² (≈ sqrt(d) for d ≫ eps, exactly 0 with a finite
    derivative at d = 0; a plain sqrt(d + eps) would make a flat patch look anisotropic).
    The Zhu–Milanfar coherence is evaluated as 2r/(a + c + 2·sqrt(det GᵀG)), and s1 as
    sqrt(λ1 + eps), so no square root or division is taken at 0. The anisotropy mask is a
    constant with respect to the gradient. Inputs are not checked for NaN (that would cost a
    device sync per training step).

    Args:
        x: ``(B, 1, H, W)`` floating tensor, nominally in [0, 1] (not checked; network outputs
            may overshoot). A border that does not fill a patch is ignored.
        patch: patch size N ≥ 3 (8 in the paper; training crops are 128×128).
        alpha: significance level in (0, 1).
        variant: ``"tf"`` or ``"zhu-milanfar"``.
        eps: small guard added under the square roots (1e-12).

    Returns:
        ``(B,)`` tensor in ``x``'s dtype, differentiable w.r.t. ``x``.

    >>> import torch
    >>> x = torch.zeros(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    >>> q = differentiable_q(x); q.sum().backward()
    >>> q.item(), bool(torch.isfinite(x.grad).all())
    (0.0, True)
    """
    _check_variant(variant, ("tf", "zhu-milanfar"))
    _check_loss_input(x, patch)
    p = _blocks(x, patch)
    zero = x.new_zeros(())
    if variant == "tf":
        gx, gy = _sobel_gradient(p)
        gx, gy = gx / patch, gy / patch
        tau = q_threshold(alpha, patch, simplified=True)
    else:
        gx, gy = _matlab_gradient(p)
        tau = q_threshold(alpha, patch)
    a, b, c = _structure(gx, gy)
    d = ((a - c) / 2) ** 2 + b * b
    r = d / torch.sqrt(d + eps)
    lam1 = (a + c) / 2 + r
    if variant == "tf":
        coherence = 2 * r / (a + c + 1e-10)
        value = coherence * lam1
    else:  # (s1 − s2)/(s1 + s2) = (λ1 − λ2)/(s1 + s2)² = 2r/(a + c + 2·sqrt(det GᵀG))
        s1 = torch.sqrt(lam1 + eps)
        s1s2 = torch.sqrt((a * c - b * b).clamp_min(0) + eps) - math.sqrt(eps)
        coherence = 2 * r / (a + c + 2 * s1s2 + 1e-10)
        value = s1 * coherence
    mask = (coherence > tau).detach()
    return torch.where(mask, value, zero).mean((-2, -1))


def _check_loss_input(x: Tensor, patch: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch tensor (B, 1, H, W), got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected a (B, 1, H, W) tensor (luma only), got shape "
                         f"{tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point tensor, got {x.dtype}")
    if _check_patch_size(patch, "patch") < 3:
        raise ValueError("the differentiable Q needs patch >= 3 (reflect-padded Sobel)")
    _check_fits(tuple(x.shape), patch, "input")


def sharpness_q_loss(
    x: Tensor,
    patch: int = 8,
    alpha: float = ALPHA,
    *,
    variant: Literal["tf", "zhu-milanfar"] = "tf",
    eps: float = 1e-12,
) -> Tensor:
    """Sharpness loss to *minimise*: ``−mean_b Q(x_b)`` (scalar), Q from
    :func:`differentiable_q`. Adding ``β·sharpness_q_loss(pred)`` to a pixel loss gives the
    paper's ``L_φ − β·Q``.

    >>> import torch
    >>> x = torch.zeros(1, 1, 16, 16); x[..., 4:] = 1.0  # Sobel/8 = 0.5 on 16 pixels: λ1 = 4
    >>> round(sharpness_q_loss(x).item(), 4)             # 2 of 4 patches: −(4 + 4)/4
    -2.0
    """
    return -differentiable_q(x, patch, alpha, variant=variant, eps=eps).mean()


class SharpnessLoss(nn.Module):
    """Module form of :func:`sharpness_q_loss`: ``forward(pred) = −mean Q(pred)``.

    Shapes: ``pred`` ``(B, 1, H, W)`` → scalar.

    >>> import torch
    >>> SharpnessLoss()(torch.zeros(2, 1, 16, 16)).item() == 0   # flat: nothing anisotropic
    True
    """

    def __init__(self, patch: int = 8, alpha: float = ALPHA,
                 variant: Literal["tf", "zhu-milanfar"] = "tf", eps: float = 1e-12) -> None:
        super().__init__()
        _check_variant(variant, ("tf", "zhu-milanfar"))
        q_threshold(alpha, _check_patch_size(patch, "patch"))  # validates alpha
        self.patch, self.alpha, self.variant, self.eps = int(patch), float(alpha), variant, eps

    def forward(self, pred: Tensor) -> Tensor:
        return sharpness_q_loss(pred, self.patch, self.alpha, variant=self.variant,
                                eps=self.eps)

    def extra_repr(self) -> str:
        return f"patch={self.patch}, alpha={self.alpha}, variant={self.variant!r}"


PixelLoss = Callable[[Tensor, Tensor], Tensor]


def _pixel_loss(spec: str | PixelLoss) -> tuple[PixelLoss, str]:
    if callable(spec):
        return spec, getattr(spec, "__name__", type(spec).__name__)
    if spec == "l1":
        return F.l1_loss, "l1"
    if spec == "mse":
        return F.mse_loss, "mse"
    if spec == "ehnet":  # L1 + 0.1·L_f, L_f = mean |FFT(pred) − FFT(target)| (METHODS §4.3)
        from .losses import FrequencyLoss

        freq = FrequencyLoss(mode="complex")
        return (lambda p, t: F.l1_loss(p, t) + 0.1 * freq(p, t)), "l1+0.1*fft"
    raise ValueError(f"pixel_loss must be a callable (pred, target) -> scalar or one of "
                     f"'l1', 'mse', 'ehnet'; got {spec!r}")


class CompositeSharpnessLoss(nn.Module):
    """``L = L_φ(pred, target) − β·mean_b Q(pred)`` (METHODS §4.3); see :func:`composite_loss`.

    :meth:`terms` returns the pieces for logging.
    """

    def __init__(self, pixel_loss: str | PixelLoss, beta: float | str,
                 sharpness: SharpnessLoss | None = None) -> None:
        super().__init__()
        self.pixel_loss, self.pixel_name = _pixel_loss(pixel_loss)
        if isinstance(beta, str):
            if beta.lower() not in BETA:
                raise ValueError(f"unknown network {beta!r} for beta; known: {sorted(BETA)}")
            beta = BETA[beta.lower()]
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (
                0 <= beta < math.inf):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        self.beta = float(beta)
        self.sharpness = sharpness if sharpness is not None else SharpnessLoss()

    def terms(self, pred: Tensor, target: Tensor) -> dict[str, Tensor]:
        """``{"pixel": L_φ, "q": mean Q(pred), "total": L_φ − β·Q}`` (scalars)."""
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} "
                             "differ in shape")
        pix = self.pixel_loss(pred, target)
        q = -self.sharpness(pred)
        return {"pixel": pix, "q": q, "total": pix - self.beta * q}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.terms(pred, target)["total"]

    def extra_repr(self) -> str:
        return f"pixel={self.pixel_name}, beta={self.beta}"


def composite_loss(pixel_loss: str | PixelLoss = "l1", beta: float | str = 0.1,
                   **sharpness_kwargs) -> CompositeSharpnessLoss:
    """The paper's fine-tuning loss ``L_φ − β·Q(pred)`` as a module ``(pred, target) → scalar``.

    Args:
        pixel_loss: a callable ``(pred, target) → scalar``, or ``"l1"`` (ARKNet, XY-Deblur),
            ``"mse"``, ``"ehnet"`` (L1 + 0.1·mean |FFT(pred) − FFT(target)|).
        beta: a number ≥ 0 or a network name from :data:`BETA` (ARKNet 0.1, XY-Deblur 0.01,
            EHNet 0.1).
        **sharpness_kwargs: passed to :class:`SharpnessLoss` (``patch``, ``alpha``,
            ``variant``, ``eps``).

    Shapes: ``pred``, ``target`` ``(B, 1, H, W)`` luma in [0, 1].

    >>> import torch
    >>> loss = composite_loss("l1", beta="xy-deblur")
    >>> p = torch.zeros(1, 1, 16, 16); p[..., 4:] = 1.0
    >>> t = p.clone()
    >>> round(loss(p, t).item(), 6), loss.beta    # L1 = 0, Q = 2, so L = −0.01·2
    (-0.02, 0.01)
    """
    return CompositeSharpnessLoss(pixel_loss, beta, SharpnessLoss(**sharpness_kwargs))


# --------------------------------------------------------------------------------------------
# Ω and J
# --------------------------------------------------------------------------------------------


def omega(
    restored: ImageLike,
    reference: ImageLike,
    m: int = 16,
    R: float = 5.0,
    alpha0: float = 1.2,
    psnr_cap: float = 50.0,
    *,
    q_patch: int = 2,
    alpha: float = ALPHA,
    cap: Literal["min", "nonfinite"] = "min",
) -> float | Tensor:
    """Full-reference metric Ω (METHODS §4.4; ``radiobenzene/Omega``): PSNR where the
    restoration's Q deviates strongly from the reference's (ringing), Q where it does not.

    Both images are split into non-overlapping m×m patches p (reference), p̃ (restored); the
    border that does not fill a patch is ignored. Per patch:

    * Q = Q(p), Q̃ = Q(p̃) with the authors' inner conventions: [0, 1] intensities,
      ``q_patch``×``q_patch`` (2×2) sub-patches, ``variant="omega"`` of :func:`metric_q`
      (anisotropy from the eigenvalues of GᵀG, τ(N = 2) ≈ 0.9045), sum over anisotropic
      sub-patches / number of sub-patches;
    * a = |Q̃ − Q| / Q; σ(a) = 1/(1 + exp(R·(a − alpha0)));
    * P' = PSNR(p, p̃) (peak 1 on [0, 1], = peak 255 on uint8) capped at ``psnr_cap``:
      ``cap="min"`` takes min(PSNR, cap) (the paper); ``"nonfinite"`` replaces only inf/NaN
      (the MATLAB code) — identical unless a patch exceeds the cap without being identical;
    * Ω_patch = (1 − σ)·P' + σ·Q̃, and Ω_patch = P' when a is NaN (Q = Q̃ = 0).

    Ω is the mean of Ω_patch. The authors' README values (GT crop vs MATLAB ``imsharpen``
    Radius 1, Amount 0.8 / 1.3 / 1.8 / 2.5) are 1.595 / 5.847 / 11.089 / 14.04; this function
    reproduces them (see ``tests/test_sharpness.py``).

    Args:
        restored, reference: numpy ``(H, W)`` or torch ``(B, 1, H, W)`` of the same shape;
            float in [0, 1] or uint8/uint16 numpy.
        m: Ω patch size (16); must be a multiple of ``q_patch``.
        R, alpha0: slope and centre of the weight σ (5, 1.2; the MATLAB demo's 2.0/0.8 are
            not the paper's).
        psnr_cap: PSNR cap in dB (50).
        q_patch, alpha: inner-Q sub-patch size and significance level.
        cap: ``"min"`` or ``"nonfinite"`` (see above).

    Returns:
        ``float`` for numpy inputs; float64 CPU tensor ``(B,)`` for torch batches.

    >>> import numpy as np
    >>> flat = np.full((32, 32), 0.5)
    >>> omega(flat, flat)        # Q = Q̃ = 0 everywhere: every patch scores the capped PSNR
    50.0
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.random((32, 32))
    >>> omega(ref, ref) < 1      # identical textured patches: a = 0, weight ≈ 1 on Q̃
    True
    """
    m = _check_patch_size(m, "m")
    q_patch = _check_patch_size(q_patch, "q_patch")
    if m % q_patch:
        raise ValueError(f"m ({m}) must be a multiple of q_patch ({q_patch})")
    for name, v in (("R", R), ("alpha0", alpha0), ("psnr_cap", psnr_cap)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if cap not in ("min", "nonfinite"):
        raise ValueError(f"cap must be 'min' or 'nonfinite', got {cap!r}")
    x, was_numpy = _as_metric_batch(restored, "restored")
    y, y_numpy = _as_metric_batch(reference, "reference")
    if was_numpy != y_numpy:
        raise TypeError("restored and reference must both be numpy arrays or both tensors")
    if x.shape != y.shape:
        raise ValueError(f"shape mismatch: restored {tuple(x.shape)} vs reference "
                         f"{tuple(y.shape)}")
    _check_fits(tuple(x.shape), m, "image")
    y = y.to(x.device)
    _, _, h, w = x.shape
    hm, wm, k = h // m, w // m, m // q_patch
    x, y = x[..., : hm * m, : wm * m], y[..., : hm * m, : wm * m]

    def inner_q(img: Tensor) -> Tensor:  # (B, hm, wm): Q of each m×m patch from sub-patches
        return _block_sum(_q_terms(img, q_patch, alpha, "omega"), k) / (k * k)

    q_ref, q_res = inner_q(y), inner_q(x)
    mse = _block_sum(((x - y) ** 2)[:, 0], m) / (m * m)
    psnr = 10 * torch.log10(1.0 / mse)  # inf where the patches are identical (torch: no warning)
    if cap == "min":
        psnr = psnr.clamp(max=psnr_cap)
    else:
        psnr = torch.where(torch.isfinite(psnr), psnr, torch.full_like(psnr, psnr_cap))
    a = (q_res - q_ref).abs() / q_ref  # inf when Q = 0 < Q̃ (σ → 0), NaN when both are 0
    sigma = torch.sigmoid(-R * (a - alpha0))
    per_patch = torch.where(torch.isnan(a), psnr, (1 - sigma) * psnr + sigma * q_res)
    return _finish(per_patch.mean((-2, -1)), was_numpy)


def normalised_sharpness_j(
    restored: ImageLike,
    reference: ImageLike,
    blurry: ImageLike,
    *,
    eps: float = 1e-12,
    **q_kwargs,
) -> float | Tensor:
    """Normalised sharpness J: 0 for the blurry input, 1 for the ground truth (METHODS §4.5).

    **Reconstruction** — the ICIP 2024 formula is not available; the default is
    ``J = (Q(Ĩ) − Q(B)) / (Q(I) − Q(B) + eps)`` with Q = :func:`metric_q` (``q_kwargs``;
    default 8×8 Zhu–Milanfar on [0, 1]), no clipping: J > 1 flags over-sharpening, J < 0 a
    restoration blurrier than its input.

    Args:
        restored, reference, blurry: same shapes/dtypes as :func:`metric_q` accepts.

    Returns:
        ``float`` (numpy) or float64 tensor ``(B,)`` (torch).

    >>> import numpy as np
    >>> sharp = np.zeros((16, 16)); sharp[:, 4:] = 1.0
    >>> blurry = np.zeros((16, 16)); blurry[:, 3:6] = [0.25, 0.5, 0.75]; blurry[:, 6:] = 1
    >>> round(normalised_sharpness_j(sharp, sharp, blurry), 6)
    1.0
    >>> abs(normalised_sharpness_j(blurry, sharp, blurry)) < 1e-12
    True
    """
    shapes = {name: tuple(x.shape) for name, x in
              (("restored", restored), ("reference", reference), ("blurry", blurry))}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"normalised_sharpness_j needs three images of one shape, got {shapes}")
    qr = metric_q(restored, **q_kwargs)
    qi = metric_q(reference, **q_kwargs)
    qb = metric_q(blurry, **q_kwargs)
    span = qi - qb
    # J is undefined when the reference is no sharper than the blurry input: the ratio would
    # be noise over ~eps. NaN says so in a table; an error would stop a whole evaluation.
    degenerate = abs(span) <= 1e-9 if isinstance(span, float) else span.abs() <= 1e-9
    j = (qr - qb) / (span + eps)
    if isinstance(j, float):
        return math.nan if degenerate else j
    return torch.where(degenerate, torch.full_like(j, math.nan), j)


# --------------------------------------------------------------------------------------------
# MATLAB imsharpen
# --------------------------------------------------------------------------------------------


def _matlab_gaussian(radius: float) -> np.ndarray:
    """``fspecial('gaussian', 2·ceil(2·radius)+1, radius)``: normalised, values below
    eps·max zeroed (float64)."""
    r = int(math.ceil(2 * radius))
    t = np.arange(-r, r + 1, dtype=np.float64)
    xx, yy = np.meshgrid(t, t)
    g = np.exp(-(xx * xx + yy * yy) / (2 * radius * radius))
    g[g < np.finfo(np.float64).eps * g.max()] = 0
    return g / g.sum()


def imsharpen(image: np.ndarray, radius: float = 1.0, amount: float = 0.8,
              threshold: float = 0.0) -> np.ndarray:
    """MATLAB ``imsharpen(I, 'Radius', radius, 'Amount', amount, 'Threshold', threshold)``
    (unsharp masking, METHODS §4.6).

    Kernel ``K = (1 + amount)·δ − amount·G`` with G MATLAB's ``fspecial('gaussian')`` of size
    2·ceil(2·radius)+1 and σ = radius, applied in float64 with replicate borders; integer
    images are rounded half away from zero and clipped to their dtype's range (what
    ``imfilter`` does), float images are returned unclipped. On uint8 grey images this is
    **bit-exact** with MATLAB (checked on the paper's sharp08/13/25.png).

    ``threshold`` > 0 (relative contrast in [0, 1]): pixels whose high-pass response
    |I − G∗I| is below ``threshold``·max|I − G∗I| are left unsharpened — *semantics not verified
    against MATLAB* (not needed for the paper's sweeps). RGB ``(H, W, 3)`` images are sharpened
    on L* of CIE L*a*b* (scikit-image's conversion; close to, but not bit-exact with, MATLAB).

    Args:
        image: ``(H, W)`` or ``(H, W, 3)`` numpy array; uint8, uint16 or float (any scale).
        radius: Gaussian σ > 0 in pixels.
        amount: sharpening strength ≥ 0.
        threshold: in [0, 1].

    Returns:
        Array of the input's shape and dtype.

    >>> import numpy as np
    >>> step = np.array([[50, 50, 200, 200]] * 3, np.uint8)
    >>> imsharpen(step)
    array([[ 43,  14, 236, 207],
           [ 43,  14, 236, 207],
           [ 43,  14, 236, 207]], dtype=uint8)
    """
    from scipy import ndimage

    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {image.shape}")
    if image.size == 0:
        raise ValueError("image is empty")
    is_int = image.dtype in _INT_MAX
    if not is_int and not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"dtype must be uint8, uint16 or float, got {image.dtype}")
    if not is_int and not np.isfinite(image).all():
        raise ValueError("image contains NaN or inf values")
    for name, v, ok in (("radius", radius, lambda v: 0 < v < math.inf),
                        ("amount", amount, lambda v: 0 <= v < math.inf),
                        ("threshold", threshold, lambda v: 0 <= v <= 1)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not ok(v):
            raise ValueError(f"{name} out of range: {v!r}")

    if image.ndim == 3:
        from skimage import color

        scale = _INT_MAX.get(image.dtype, 1.0)
        lab = color.rgb2lab(image.astype(np.float64) / scale)
        lab[..., 0] = imsharpen(lab[..., 0], radius, amount, threshold)
        rgb = color.lab2rgb(lab) * scale
        return _to_dtype(rgb, image.dtype) if is_int else rgb.astype(image.dtype)

    gauss = _matlab_gaussian(float(radius))
    r = gauss.shape[0] // 2
    src = image.astype(np.float64)
    if threshold > 0:
        highpass = src - ndimage.correlate(src, gauss, mode="nearest")
        mag = np.abs(highpass)
        keep = mag >= threshold * mag.max()
        out = src + amount * np.where(keep, highpass, 0.0)
    else:
        kernel = -amount * gauss
        kernel[r, r] += 1 + amount
        out = ndimage.correlate(src, kernel, mode="nearest")  # symmetric: conv = correlation
    return _to_dtype(out, image.dtype) if is_int else out.astype(image.dtype)


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round half away from zero and clip to an unsigned integer dtype (MATLAB casting)."""
    rounded = np.sign(values) * np.floor(np.abs(values) + 0.5)
    return np.clip(rounded, 0, _INT_MAX[np.dtype(dtype)]).astype(dtype)


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedTTest:
    """Result of :func:`paired_t_test`: ``mean_diff`` = mean(a − b), Student's ``t``, the
    p-value ``p`` and the number of pairs ``n``."""

    mean_diff: float
    t: float
    p: float
    n: int


def paired_t_test(a, b, *, alternative: Literal["two-sided", "less", "greater"] = "two-sided"
                  ) -> PairedTTest:
    """Paired t-test of per-image scores ``a`` vs ``b`` (``scipy.stats.ttest_rel``).

    Args:
        a, b: 1-D sequences of the same length n ≥ 2, finite (e.g. Q with and without the
            sharpness loss on the same test images).
        alternative: as in scipy.

    >>> r = paired_t_test([1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 2.0, 3.5])
    >>> r.mean_diff, round(r.t, 4), round(r.p, 4), r.n
    (0.625, 5.0, 0.0154, 4)
    """
    from scipy import stats

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"a and b must be 1-D, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {x.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a and b must be finite (no NaN/inf)")
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got "
                         f"{alternative!r}")
    res = stats.ttest_rel(x, y, alternative=alternative)
    return PairedTTest(float(np.mean(x - y)), float(res.statistic), float(res.pvalue),
                       int(x.size))
