"""Training losses: pixel losses, the VGG19 perceptual loss and the frequency loss of paper 000.

Every loss takes ``(pred, target)``, float tensors ``(N, C, H, W)`` of the same shape (images in
[0, 1]), and returns a scalar tensor. Formulas (METHODS §1.4–1.5):

* ``l1_loss`` = mean |p − t|; ``mse_loss`` = mean (p − t)²;
  ``charbonnier`` = mean sqrt((p − t)² + ε²);
* :class:`PerceptualLoss` (Johnson et al. 2016) = 1/(C·H·W) ‖φ(t) − φ(p)‖² — the mean squared
  difference of VGG19 feature maps taken *before* the ReLU (default ``conv_2_1``); target
  features are computed without gradient;
* :class:`FrequencyLoss` (reconstruction of paper 000's L_f) = mean over (n, c, u, v) of
  |F(p) − F(t)| (modulus of the complex difference, 2-D FFT per channel), or the amplitude-only
  variant mean | |F(p)| − |F(t)| |;
* :class:`CompositeLoss` = L1 + α·L_VGG + β·L_f with α = 0.3, β = 3·10⁻⁴ by default.

For :func:`deblurlab.train.fit`, :func:`loss_terms` returns the same composite as the
``(losses, weights)`` pair ``fit`` expects, so each term is logged on its own::

    losses, weights = loss_terms(alpha=0.3, beta=3e-4, layer="conv_2_1")
    history = fit(model, data, losses=losses, weights=weights, steps=1000)

Example:
    >>> import torch
    >>> p, t = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    >>> p[0, 0, 0, 0] = 1.0  # a delta: its FFT is 1 everywhere
    >>> FrequencyLoss()(p, t).item(), FrequencyLoss(norm="ortho")(p, t).item()
    (1.0, 0.5)
    >>> l1_loss(p, t).item()
    0.25
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .models.vgg import RANDOM_FOR_TESTS, VGGFeatures
from .weights import WeightsEntry
from .weights import entry as weights_entry

__all__ = ["CompositeLoss", "FrequencyLoss", "PerceptualLoss", "charbonnier", "l1_loss",
           "loss_terms", "mse_loss"]

DEFAULT_VGG_WEIGHTS = "vgg19-imagenet-conv1_1-conv3_4"


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in "
                         "shape (no broadcasting in losses)")


def _check_weight(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 <= value < float("inf")):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error, ``mean |pred − target|`` (scalar).

    >>> l1_loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item()
    1.0
    """
    _check_pair(pred, target)
    return F.l1_loss(pred, target)


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error, ``mean (pred − target)²`` (scalar).

    >>> mse_loss(torch.full((1, 1, 2, 2), 2.0), torch.zeros(1, 1, 2, 2)).item()
    4.0
    """
    _check_pair(pred, target)
    return F.mse_loss(pred, target)


def charbonnier(pred: Tensor, target: Tensor, eps: float = 1e-3) -> Tensor:
    """Charbonnier loss ``mean sqrt((pred − target)² + eps²)`` — a smooth L1 (scalar).

    Identical inputs give ``eps``, not 0.

    >>> round(charbonnier(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item(), 6)
    0.001
    """
    _check_pair(pred, target)
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


class PerceptualLoss(nn.Module):
    """VGG19 feature-reconstruction loss (Johnson et al. 2016; paper 000's L_VGG).

    ``mean((φ_l(pred) − φ_l(target))²)`` — i.e. ``1/(C_l·H_l·W_l)·‖·‖²`` per image, averaged
    over the batch — with φ_l the pre-ReLU VGG19 feature map ``layer`` (METHODS §1.4). Several
    layers: the mean of their losses. Target features are computed under ``torch.no_grad``;
    the VGG is frozen and stays in eval mode, so only ``pred`` receives gradients.

    **Scale.** Feature maps grow with how strongly the weight file amplifies its input: the
    offline Caffe-origin VGG19 takes 0..255 images, torchvision's VGG19 takes ``(x − mean)/std``
    (×4.4), so the same images give features ~58× larger and an MSE ~3,300× larger with the
    former. Loss weights in the literature (paper 000: α = 0.3) were tuned on the torchvision
    convention, so by default features are divided by the file's
    :attr:`~deblurlab.weights.WeightsEntry.input_gain` (1 for torchvision files). Without it
    α·L_VGG is ~10⁴× the L1 term and L1 and L_f no longer matter. This equalises the input
    scale only: the two files are different trainings, so magnitudes agree roughly, not exactly.

    Args:
        layer: ``"conv_1_1"`` … ``"conv_3_4"`` for the shared weights (paper 000 compared
            conv_1_2, conv_2_1/2_2 and conv_3_x), or a sequence of names.
        weights: registry name or entry for the VGG19 (see :class:`VGGFeatures`).
        pre_relu: feature before (default) or after the ReLU.
        feature_scale: divide features by this; ``None`` = the weight file's ``input_gain``
            (torchvision-equivalent scale), ``1.0`` = raw features.

    Shapes:
        pred, target: ``(N, 1 or 3, H, W)`` in [0, 1] (grey replicated to RGB); output scalar.

    Example:
        >>> import torch
        >>> loss = PerceptualLoss("conv_2_1", weights="random-for-tests")
        >>> x = torch.rand(1, 1, 32, 32)
        >>> loss(x, x).item()
        0.0
    """

    def __init__(self, layer: str | Sequence[str] = "conv_2_1",
                 weights: str | WeightsEntry = DEFAULT_VGG_WEIGHTS, *,
                 pre_relu: bool = True, feature_scale: float | None = None) -> None:
        super().__init__()
        self.layers = (layer,) if isinstance(layer, str) else tuple(layer)
        self.vgg = VGGFeatures("vgg19", weights=weights, layers=self.layers, pre_relu=pre_relu)
        if feature_scale is None:
            e = weights if isinstance(weights, WeightsEntry) else None
            if e is None and weights != RANDOM_FOR_TESTS:
                e = weights_entry(weights)
            feature_scale = e.input_gain if e is not None else 1.0
        if not feature_scale > 0:
            raise ValueError(f"feature_scale must be positive, got {feature_scale}")
        self.feature_scale = float(feature_scale)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        _check_pair(pred, target)
        fp = self.vgg(pred)
        with torch.no_grad():
            ft = self.vgg(target)
        k2 = self.feature_scale**2  # MSE of features / scale == MSE / scale²
        terms = [F.mse_loss(fp[k], ft[k].detach().to(fp[k].dtype)) / k2 for k in self.layers]
        return terms[0] if len(terms) == 1 else torch.stack(terms).mean()


class FrequencyLoss(nn.Module):
    """Fourier-domain L1 loss (paper 000's L_f, reconstructed; METHODS §1.5).

    ``mode="complex"`` (default): ``|F(pred) − F(target)|``, the modulus of the complex
    difference; ``mode="amplitude"``: ``| |F(pred)| − |F(target)| |`` (ignores phase). ``F`` is
    ``torch.fft.fft2`` over (H, W) of every channel with normalisation ``norm``:
    ``"backward"`` (default, un-normalised), ``"ortho"`` (÷ sqrt(H·W)) or ``"forward"``
    (÷ H·W). ``reduction``: ``"mean"`` over (N, C, H, W) frequencies, or ``"sum"``.
    By the triangle inequality the complex loss is ≥ the amplitude loss. Computed in float32.

    Shapes:
        pred, target: ``(N, C, H, W)``; output scalar.

    Example:
        >>> import torch
        >>> p, t = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
        >>> p[0, 0, 0, 0] = 1.0; t[0, 0, 0, 1] = 1.0   # same amplitude spectrum, shifted
        >>> FrequencyLoss()(p, t).item(), FrequencyLoss(mode="amplitude")(p, t).item()
        (1.0, 0.0)
    """

    def __init__(self, mode: str = "complex", norm: str = "backward",
                 reduction: str = "mean") -> None:
        super().__init__()
        if mode not in ("complex", "amplitude"):
            raise ValueError(f"mode must be 'complex' or 'amplitude', got {mode!r}")
        if norm not in ("backward", "ortho", "forward"):
            raise ValueError(f"norm must be 'backward', 'ortho' or 'forward', got {norm!r}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.mode, self.norm, self.reduction = mode, norm, reduction

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        _check_pair(pred, target)
        fp = torch.fft.fft2(pred.float(), norm=self.norm)
        ft = torch.fft.fft2(target.float(), norm=self.norm)
        diff = (fp - ft).abs() if self.mode == "complex" else (fp.abs() - ft.abs()).abs()
        return diff.mean() if self.reduction == "mean" else diff.sum()

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, norm={self.norm!r}, reduction={self.reduction!r}"


class CompositeLoss(nn.Module):
    """``L = L1 + α·L_VGG + β·L_f`` (paper 000; α = 0.3, β = 3·10⁻⁴ = α/1000 by default).

    A term with weight 0 is skipped (with ``alpha=0`` no VGG is built at all). After each call
    :attr:`last` holds the unweighted term values and the total as floats, for logging:
    ``{"l1": …, "vgg": …, "freq": …, "total": …}`` (only the active terms).

    Args:
        alpha: weight of the perceptual loss (0 disables it).
        beta: weight of the frequency loss (0 disables it).
        layer: VGG19 layer(s) of the perceptual loss.
        frequency: the :class:`FrequencyLoss` to use (default complex/backward/mean).
        weights: VGG weights (registry name or entry).
        pixel: the pixel term, default :func:`l1_loss`.

    Shapes:
        pred, target: ``(N, C, H, W)``; output scalar.

    Example:
        >>> import torch
        >>> loss = CompositeLoss(alpha=0.0, beta=1e-3)
        >>> x, y = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
        >>> round(loss(x, y).item(), 6), sorted(loss.last)
        (1.001, ['freq', 'l1', 'total'])
    """

    def __init__(self, alpha: float = 0.3, beta: float = 3e-4, layer: str | Sequence[str] =
                 "conv_2_1", frequency: FrequencyLoss | None = None, *,
                 weights: str | WeightsEntry = DEFAULT_VGG_WEIGHTS,
                 pixel: Callable[[Tensor, Tensor], Tensor] = l1_loss) -> None:
        super().__init__()
        self.alpha, self.beta = _check_weight("alpha", alpha), _check_weight("beta", beta)
        self.pixel = pixel
        self.perceptual = PerceptualLoss(layer, weights) if self.alpha > 0 else None
        self.frequency = (frequency or FrequencyLoss()) if self.beta > 0 else None
        self.last: dict[str, float] = {}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        terms = {"l1": (self.pixel(pred, target), 1.0)}
        if self.perceptual is not None:
            terms["vgg"] = (self.perceptual(pred, target), self.alpha)
        if self.frequency is not None:
            terms["freq"] = (self.frequency(pred, target), self.beta)
        total = sum(w * v for v, w in terms.values())
        self.last = {k: float(v.detach()) for k, (v, _) in terms.items()}
        self.last["total"] = float(total.detach())
        return total


def loss_terms(
    alpha: float = 0.3,
    beta: float = 3e-4,
    layer: str | Sequence[str] = "conv_2_1",
    *,
    frequency: FrequencyLoss | None = None,
    weights: str | WeightsEntry = DEFAULT_VGG_WEIGHTS,
) -> tuple[dict[str, Callable[[Tensor, Tensor], Tensor]], dict[str, float]]:
    """Paper 000's composite loss as ``(losses, weights)`` for :func:`deblurlab.train.fit`.

    Returns ``({"l1": l1_loss, "vgg": PerceptualLoss, "freq": FrequencyLoss},
    {"l1": 1.0, "vgg": alpha, "freq": beta})``; a term whose weight is 0 is left out of both
    (so ``alpha=0`` loads no VGG). ``fit`` then logs each term under its name.

    Example:
        >>> losses, weights = loss_terms(alpha=0.0, beta=3e-4)
        >>> sorted(losses), weights
        (['freq', 'l1'], {'l1': 1.0, 'freq': 0.0003})
    """
    alpha, beta = _check_weight("alpha", alpha), _check_weight("beta", beta)
    losses: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"l1": l1_loss}
    w: dict[str, float] = {"l1": 1.0}
    if alpha > 0:
        losses["vgg"], w["vgg"] = PerceptualLoss(layer, weights), alpha
    if beta > 0:
        losses["freq"], w["freq"] = frequency or FrequencyLoss(), beta
    return losses, w
