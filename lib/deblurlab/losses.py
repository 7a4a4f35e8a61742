"""Training losses: pixel, VGG19 perceptual, frequency and edge losses (papers 000 and 001).

Every loss takes ``(pred, target)``, float tensors ``(N, C, H, W)`` of the same shape (images in
[0, 1]), and returns a scalar tensor. Formulas (METHODS §1.4–1.5, §2.4):

* ``l1_loss`` = mean |p − t|; ``mse_loss`` = mean (p − t)²;
  ``charbonnier`` = mean sqrt((p − t)² + ε²);
* :class:`PerceptualLoss` (Johnson et al. 2016) = 1/(C·H·W) ‖φ(t) − φ(p)‖² — the mean squared
  difference of VGG19 feature maps taken *before* the ReLU (default ``conv_2_1``); target
  features are computed without gradient;
* :class:`FrequencyLoss` (reconstruction of paper 000's L_f) = mean over (n, c, u, v) of
  |F(p) − F(t)| (modulus of the complex difference, 2-D FFT per channel), or the amplitude-only
  variant mean | |F(p)| − |F(t)| |, or MIMO-UNet's real/imaginary variant
  mean over (n, c, u, v, part) of |Re/Im F(p) − Re/Im F(t)|;
* :class:`EdgeLoss` (MPRNet; paper 001's L_e) = mean sqrt((Δ(p) − Δ(t))² + ε²) with Δ a
  one-level Laplacian-pyramid band, ``I − G(up(down(G(I))))``;
* :class:`CompositeLoss` = L1 + α·L_VGG + β·L_f with α = 0.3, β = 3·10⁻⁴ by default.
* :class:`MultiScaleLoss` / :func:`multiscale_mse` = Σ over the scales of a multi-scale
  model's outputs of a per-scale loss against the target shrunk to that scale (paper 004, eq. 6).

For :func:`deblurlab.train.fit`, :func:`loss_terms` returns the same composite as the
``(losses, weights)`` pair ``fit`` expects, so each term is logged on its own::

    losses, weights = loss_terms(alpha=0.3, beta=3e-4, layer="conv_2_1")
    history = fit(model, data, losses=losses, weights=weights, steps=1000)

and :func:`midnet_loss_terms` does the same for paper 001's ``L1 + 0.05·L_e + 0.01·L_f``.

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

__all__ = ["CompositeLoss", "EdgeLoss", "FrequencyLoss", "MultiScaleLoss", "PerceptualLoss",
           "charbonnier", "l1_loss", "loss_terms", "midnet_loss_terms", "mse_loss",
           "multiscale_mse"]

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


class MultiScaleLoss(nn.Module):
    """Sum over scales of a per-scale loss (paper 004's eq. 6 with ``base = mse_loss``; Nah et
    al.'s content loss up to the constant 1/(2K)).

    ``forward(preds, target)``: ``preds`` is a tensor or the list ``[finest, coarser, …]`` a
    multi-scale model returns in training mode; each scale is compared with ``target`` shrunk to
    its size (bilinear, antialiased, as the model's input pyramid), and the losses are summed.
    ``multiscale = True`` tells :func:`deblurlab.train.fit` to pass the whole list.

    >>> t = torch.zeros(1, 1, 4, 4)
    >>> MultiScaleLoss()([torch.ones(1, 1, 4, 4), torch.ones(1, 1, 2, 2)], t).item()
    2.0
    >>> MultiScaleLoss(l1_loss)(torch.ones(1, 1, 4, 4), t).item()   # one scale: the base loss
    1.0
    """

    multiscale = True

    def __init__(self, base: Callable[[Tensor, Tensor], Tensor] = mse_loss) -> None:
        super().__init__()
        self.base = base

    def forward(self, preds: Tensor | Sequence[Tensor], target: Tensor) -> Tensor:
        from .models.msunet import downscale

        preds = [preds] if isinstance(preds, Tensor) else list(preds)
        if not preds:
            raise ValueError("MultiScaleLoss needs at least one prediction")
        total = target.new_zeros(())
        for p in preds:
            factor = target.shape[-1] // p.shape[-1]
            t = downscale(target, factor) if factor > 1 else target
            total = total + self.base(p, t)
        return total


def multiscale_mse(preds: Tensor | Sequence[Tensor], target: Tensor) -> Tensor:
    """Paper 004's eq. 6: Σ_k mean((L̂_k − L_k)²) over the scales of ``preds`` (finest first).

    >>> multiscale_mse([torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)], torch.zeros(1, 1, 4, 4)).item()
    1.0
    """
    return _MULTISCALE_MSE(preds, target)


multiscale_mse.multiscale = True  # type: ignore[attr-defined]


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
    difference; ``mode="amplitude"``: ``| |F(pred)| − |F(target)| |`` (ignores phase);
    ``mode="real_imag"``: ``|Re ΔF|`` and ``|Im ΔF|`` as two separate terms — the L1 loss on the
    stacked real and imaginary parts of MIMO-UNet's "MSFR" loss (``chosj95/MIMO-UNet``,
    ``train.py``; paper 001 option, METHODS §2.4). ``F`` is ``torch.fft.fft2`` over (H, W) of
    every channel with normalisation ``norm``: ``"backward"`` (default, un-normalised),
    ``"ortho"`` (÷ sqrt(H·W)) or ``"forward"`` (÷ H·W). ``reduction``: ``"mean"`` over the
    (N, C, H, W) frequencies — over (N, C, H, W, 2) for ``"real_imag"``, i.e. ``(mean |Re ΔF| +
    mean |Im ΔF|) / 2`` — or ``"sum"``. By the triangle inequality the complex loss is ≥ the
    amplitude loss. Computed in float32.

    ``"real_imag"`` uses the full two-sided spectrum: MIMO-UNet calls the old
    ``torch.rfft(x, signal_ndim=2, normalized=False, onesided=False)``, which despite its name
    returns the whole ``fft2`` as (real, imag) pairs, and averages with ``nn.L1Loss``. Ports that
    switched to ``torch.fft.rfft2`` keep only the one-sided half (W//2 + 1 columns) and so get
    a slightly different mean. MIMO-UNet's weight 0.1 and sum over its three output scales are
    the caller's business (one scale here).

    Shapes:
        pred, target: ``(N, C, H, W)``; output scalar.

    Example:
        >>> import torch
        >>> p, t = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
        >>> p[0, 0, 0, 0] = 1.0; t[0, 0, 0, 1] = 1.0   # same amplitude spectrum, shifted
        >>> FrequencyLoss()(p, t).item(), FrequencyLoss(mode="amplitude")(p, t).item()
        (1.0, 0.0)
        >>> FrequencyLoss(mode="real_imag")(p, t).item()  # Re ΔF = (0, 2, 0, 2), Im ΔF = 0
        0.5
    """

    MODES: tuple[str, ...] = ("complex", "amplitude", "real_imag")

    def __init__(self, mode: str = "complex", norm: str = "backward",
                 reduction: str = "mean") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        if norm not in ("backward", "ortho", "forward"):
            raise ValueError(f"norm must be 'backward', 'ortho' or 'forward', got {norm!r}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.mode, self.norm, self.reduction = mode, norm, reduction

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        _check_pair(pred, target)
        fp = torch.fft.fft2(pred.float(), norm=self.norm)
        ft = torch.fft.fft2(target.float(), norm=self.norm)
        if self.mode == "complex":
            diff = (fp - ft).abs()
        elif self.mode == "amplitude":
            diff = (fp.abs() - ft.abs()).abs()
        else:  # real_imag
            diff = torch.view_as_real(fp - ft).abs()
        return diff.mean() if self.reduction == "mean" else diff.sum()

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, norm={self.norm!r}, reduction={self.reduction!r}"


#: 1-D taps of the 5×5 Gaussian of MPRNet's edge loss (they sum to 1).
EDGE_TAPS: tuple[float, ...] = (0.05, 0.25, 0.4, 0.25, 0.05)


class EdgeLoss(nn.Module):
    """Edge loss of MPRNet (Zamir et al. 2021), paper 001's L_e (METHODS §2.4).

    ``Δ(I) = I − G(up(down(G(I))))``: ``G`` = depthwise 5×5 Gaussian, the outer product of
    :data:`EDGE_TAPS` with itself, with replicate padding; ``down`` keeps every 2nd pixel (even
    rows and columns); ``up`` puts those samples back in place, ×4, with zeros in between. The
    loss is the per-pixel Charbonnier ``mean sqrt((Δ(pred) − Δ(target))² + eps²)`` over
    (N, C, H, W). Works for any number of channels and any ``H``, ``W`` ≥ 3, on the inputs'
    device and dtype (``fit`` does not move losses, so the kernel follows the inputs).

    Identical images give ``eps``. Δ is linear and removes a constant away from the borders,
    but not within 2 pixels of them (the padded zero-inserted image is not constant there), so
    adding a constant to ``pred`` changes the loss only through the border pixels.

    Shapes:
        pred, target: ``(N, C, H, W)``; output scalar.

    Example:
        >>> import torch
        >>> x = torch.rand(1, 3, 16, 16)
        >>> round(EdgeLoss()(x, x).item(), 6)
        0.001
    """

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and eps > 0):
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        k = torch.tensor(EDGE_TAPS, dtype=torch.float64)  # cast per call: exact in float64
        self.register_buffer("kernel", torch.outer(k, k), persistent=False)

    def gauss(self, x: Tensor) -> Tensor:
        """``G(x)``: depthwise 5×5 Gaussian with replicate padding, same shape as ``x``."""
        c = x.shape[1]
        k = self.kernel.to(device=x.device, dtype=x.dtype).expand(c, 1, 5, 5)
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k, groups=c)

    def laplacian(self, x: Tensor) -> Tensor:
        """``Δ(x) = x − G(up(down(G(x))))`` (MPRNet's ``laplacian_kernel``)."""
        g = self.gauss(x)
        up = torch.zeros_like(g)
        up[:, :, ::2, ::2] = 4 * g[:, :, ::2, ::2]
        return x - self.gauss(up)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        _check_pair(pred, target)
        if pred.ndim != 4 or min(pred.shape[-2:]) < 3:
            raise ValueError(f"EdgeLoss expects (N, C, H, W) with H, W ≥ 3, got "
                             f"{tuple(pred.shape)}")
        d = self.laplacian(pred) - self.laplacian(target)
        return torch.sqrt(d * d + self.eps * self.eps).mean()

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


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


def midnet_loss_terms(
    lambda_edge: float = 0.05,
    lambda_fft: float = 0.01,
    *,
    frequency: FrequencyLoss | None = None,
) -> tuple[dict[str, Callable[[Tensor, Tensor], Tensor]], dict[str, float]]:
    """Paper 001's loss ``L1 + λ1·L_e + λ2·L_f`` as ``(losses, weights)`` for ``fit``.

    Returns ``({"l1": l1_loss, "edge": EdgeLoss(), "fft": FrequencyLoss},
    {"l1": 1.0, "edge": lambda_edge, "fft": lambda_fft})`` (METHODS §2.4: λ1 = 0.05,
    λ2 = 0.01); a term whose weight is 0 is left out of both. ``frequency`` defaults to
    ``FrequencyLoss()`` (complex modulus, un-normalised FFT); pass
    ``FrequencyLoss(mode="real_imag")`` for MIMO-UNet's variant.

    Example:
        >>> losses, weights = midnet_loss_terms()
        >>> sorted(losses), weights
        (['edge', 'fft', 'l1'], {'l1': 1.0, 'edge': 0.05, 'fft': 0.01})
        >>> sorted(midnet_loss_terms(lambda_fft=0)[0])
        ['edge', 'l1']
    """
    lambda_edge = _check_weight("lambda_edge", lambda_edge)
    lambda_fft = _check_weight("lambda_fft", lambda_fft)
    losses: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"l1": l1_loss}
    w: dict[str, float] = {"l1": 1.0}
    if lambda_edge > 0:
        losses["edge"], w["edge"] = EdgeLoss(), lambda_edge
    if lambda_fft > 0:
        losses["fft"], w["fft"] = frequency or FrequencyLoss(), lambda_fft
    return losses, w


_MULTISCALE_MSE = MultiScaleLoss(mse_loss)
