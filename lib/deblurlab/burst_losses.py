"""Training losses of paper 002 (Wieslander et al. 2021; METHODS §3.4) for the burst networks.

* :func:`l1_gradient_loss` — BU, BDU+T, BDU+UC:
  ``w_l1·|ŷ − y|₁ + w_dx·|∂x ŷ − ∂x y|₁ + w_dy·|∂y ŷ − ∂y y|₁`` with "un-normalised" image
  gradients = plain forward differences ``∂x f[i, j] = f[i, j+1] − f[i, j]`` (``W − 1`` columns)
  and ``∂y f[i, j] = f[i+1, j] − f[i, j]`` (``H − 1`` rows). Each ``|·|₁`` is the *mean* absolute
  value over its own elements (batch, channels, pixels), so the three terms are on the same scale.
* :func:`l1_ssim_loss` — BDU+UC+SSIM: ``w_l1·|ŷ − y|₁ + w_ssim·(1 − SSIM(ŷ, y))``, SSIM with a
  Gaussian window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03, data range 1 (images in [0, 1]); the SSIM
  map is averaged over the valid region only (the 5-pixel border where the window leaves the
  image is cropped) and over channels and the batch — the same definition as
  :func:`deblurlab.metrics.ssim`, but differentiable (``metrics.ssim`` detaches its inputs, so it
  cannot be reused as a loss). Images need ``H, W ≥ 11``.

Both take ``(B, C, H, W)`` tensors and return a scalar tensor (mean over the batch). Defaults are
equal weights (METHODS); Warburg's BU port instead uses ``0.1·L1 + L1(Prewitt/6 gradients)``,
Zhao et al. 2017's SSIM mix is ``w_l1 = 0.16, w_ssim = 0.84`` (with MS-SSIM there).

>>> y = torch.zeros(1, 1, 16, 16); y[..., 8:] = 1.0
>>> float(l1_gradient_loss(y, y)), float(l1_ssim_loss(y, y))
(0.0, 0.0)
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.functional.image import structural_similarity_index_measure

from .metrics import SSIM_K1, SSIM_K2, SSIM_KERNEL, SSIM_SIGMA


def _check(pred: Tensor, target: Tensor, name: str) -> None:
    if not isinstance(pred, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{name}: pred and target must be torch tensors")
    if pred.ndim != 4 or pred.shape != target.shape:
        raise ValueError(f"{name}: pred and target must be (B, C, H, W) of the same shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")


def forward_differences(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(∂x, ∂y)`` of ``(…, H, W)``: ``x[..., :, 1:] − x[..., :, :-1]`` and
    ``x[..., 1:, :] − x[..., :-1, :]`` (shapes ``(…, H, W−1)`` and ``(…, H−1, W)``)."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def l1_gradient_loss(pred: Tensor, target: Tensor, *, w_l1: float = 1.0, w_dx: float = 1.0,
                     w_dy: float = 1.0) -> Tensor:
    """``w_l1·mean|ŷ−y| + w_dx·mean|∂xŷ−∂xy| + w_dy·mean|∂yŷ−∂yy|`` (forward differences).

    Args:
        pred: network output ``(B, C, H, W)``, ``H, W ≥ 2``.
        target: reference, same shape.
        w_l1: weight of the pixel L1 term.
        w_dx: weight of the horizontal-gradient term (∂x, along W).
        w_dy: weight of the vertical-gradient term (∂y, along H).

    Returns:
        scalar tensor.

    A step edge shifted by one pixel (``H`` rows, ``W`` columns) costs ``1/W`` in L1 (one
    column wrong) and ``2/(W−1)`` in ∂x (the edge's difference sits in two different columns).
    """
    _check(pred, target, "l1_gradient_loss")
    if pred.shape[-1] < 2 or pred.shape[-2] < 2:
        raise ValueError(f"l1_gradient_loss: need H, W ≥ 2, got {tuple(pred.shape)}")
    (px, py), (tx, ty) = forward_differences(pred), forward_differences(target)
    l1 = (pred - target).abs().mean()
    return (w_l1 * l1 + w_dx * (px - tx).abs().mean()
            + w_dy * (py - ty).abs().mean())


def ssim_map_mean(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """Differentiable SSIM per image ``(B,)``: mean of the SSIM map over the valid region and
    the channels (settings of :mod:`deblurlab.metrics`)."""
    _check(pred, target, "ssim")
    if min(pred.shape[-2:]) < SSIM_KERNEL:
        raise ValueError(f"SSIM needs H, W ≥ {SSIM_KERNEL}, got {tuple(pred.shape)}")
    _, full = structural_similarity_index_measure(
        pred, target, gaussian_kernel=True, sigma=SSIM_SIGMA, kernel_size=SSIM_KERNEL,
        data_range=float(data_range), k1=SSIM_K1, k2=SSIM_K2, reduction="none",
        return_full_image=True)
    r = (SSIM_KERNEL - 1) // 2
    return full[..., r:-r, r:-r].reshape(full.shape[0], -1).mean(-1)


def l1_ssim_loss(pred: Tensor, target: Tensor, *, w_l1: float = 1.0, w_ssim: float = 1.0,
                 data_range: float = 1.0) -> Tensor:
    """``w_l1·mean|ŷ−y| + w_ssim·(1 − SSIM(ŷ, y))`` (SSIM: window 11, σ 1.5, valid region).

    Args:
        pred: network output ``(B, C, H, W)``, ``H, W ≥ 11``.
        target: reference, same shape.
        w_l1: weight of the L1 term.
        w_ssim: weight of ``1 − SSIM``.
        data_range: SSIM's dynamic range L (1 for images in [0, 1]).

    Returns:
        scalar tensor; exactly 0 for ``pred == target``.
    """
    _check(pred, target, "l1_ssim_loss")
    l1 = (pred - target).abs().mean()
    return w_l1 * l1 + w_ssim * (1.0 - ssim_map_mean(pred, target, data_range).mean())


__all__ = ["forward_differences", "l1_gradient_loss", "l1_ssim_loss", "ssim_map_mean"]
