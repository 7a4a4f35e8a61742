"""Interchangeable ×2 down- and up-sampling layers (the "white layers" of paper 000).

Krawczyk et al., "Reducing artifact generation when using perceptual loss for image deblurring
of microscopy data for microstructure analysis", Methods in Microscopy 2024
(doi 10.1515/mim-2024-0012), keep the DHN network fixed and swap only its two down-sampling
layers per encoder and two up-sampling layers per decoder. This module holds the four variants
(spec: ``METHODS.md`` §1.3) and two factories that build them by name::

    variant     down (C_in → C_out, H → H/2)            up (C_in → C_out, H → 2H)
    ─────────   ──────────────────────────────────────   ───────────────────────────────────────
    baseline    conv 3×3 stride 2 pad 1                  transposed conv 4×4 stride 2 pad 1
    resize      (same as baseline)                       nearest ×2, then conv 3×3     (Odena 2016)
    smooth      fixed smoothing, then conv 3×3 stride 2  transposed conv, then fixed smoothing
                                                                         (Kinoshita & Kiya 2020)
    wt          Haar DWT (C→4C), then conv 3×3 (4C→C_out) conv 3×3 (C_in→4·C_out), then inverse
                                                         Haar DWT (4C→C)    (MWCNN, Liu 2018)

Building blocks, each usable on its own:

* :func:`smoothing_kernel` / :class:`FixedSmoothing` — Kinoshita–Kiya's fixed smoothing of order
  ``d``: the 2×2 zero-order-hold kernel (ones) convolved with itself ``d`` times, applied
  depthwise with stride 1 and asymmetric "same" zero padding (left/top ``k//2``, right/bottom
  ``(k−1)//2``). The kernel is a buffer, never a trainable parameter. Gain: ``"normalised"``
  (default) scales it to DC gain 1 before a down-sampling and to DC gain ``U² = 4`` after an
  up-sampling (the gain that undoes zero insertion); ``"raw"`` keeps the authors' unnormalised
  kernel (DC gain ``4**(d+1)``), which may explain the unstable Smooth + L_f training the
  paper reports.
* :class:`HaarDWT` / :class:`HaarIWT` — MWCNN's orthonormal one-level Haar transform in plain,
  differentiable torch (exact polyphase definition below). ``IWT∘DWT`` and ``DWT∘IWT`` are the
  identity.
* :class:`StridedConvDown`, :class:`SmoothDown`, :class:`WaveletDown`,
  :class:`TransposedConvUp`, :class:`ResizeConvUp`, :class:`SmoothUp`, :class:`WaveletUp` — the
  layers the factories return.

Haar polyphase definition (row index first, ``x`` of shape ``(N, C, H, W)``, ``H`` and ``W``
even)::

    a = x[..., 0::2, 0::2] / 2     b = x[..., 1::2, 0::2] / 2
    c = x[..., 0::2, 1::2] / 2     d = x[..., 1::2, 1::2] / 2
    LL =  a + b + c + d            HL = −a − b + c + d      (odd minus even columns)
    LH = −a + b − c + d            HH =  a − b − c + d      (odd minus even rows; diagonal)
    DWT(x) = cat([LL, HL, LH, HH], dim=1)          # 4 groups of C channels, H/2 × W/2

Relation to PyWavelets (``cA, (cH, cV, cD) = pywt.dwt2(x, "haar")`` on the last two axes,
checked in ``tests/test_updown.py``): ``LL = cA``, ``HL = −cV``, ``LH = −cH``, ``HH = cD`` —
i.e. HL/LH are pywt's vertical/horizontal details, swapped in name and negated in sign
(pywt's Haar high-pass is ``(x[2i] − x[2i+1])/√2``, even minus odd).

Parameter counts of one down + one up layer between ``C`` and ``2C`` channels (bias included)::

    baseline / smooth   down 18·C² + 2C          up 32·C² + C
    resize              down 18·C² + 2C          up 18·C² + C
    wt                  down 72·C² + 2C          up 72·C² + 4C

>>> import torch
>>> down, up = make_down("wt", 8, 16), make_up("wt", 16, 8)
>>> y = down(torch.rand(2, 8, 32, 32))
>>> y.shape, up(y).shape
(torch.Size([2, 16, 16, 16]), torch.Size([2, 8, 32, 32]))
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Names accepted by :func:`make_down` / :func:`make_up`, in the paper's order.
VARIANTS: tuple[str, ...] = ("baseline", "resize", "smooth", "wt")

#: Gain modes of the fixed smoothing kernel.
SMOOTH_GAINS: tuple[str, ...] = ("normalised", "raw")

Gain = Literal["normalised", "raw"]


# ---------------------------------------------------------------------------------------------
# Fixed smoothing (Kinoshita & Kiya, ICASSP 2020)
# ---------------------------------------------------------------------------------------------

def smoothing_kernel(order: int = 1, stride: int = 2) -> Tensor:
    """Raw (unnormalised) Kinoshita–Kiya smoothing kernel of the given order.

    The zero-order-hold kernel ``h0`` is a ``stride × stride`` matrix of ones; order ``d`` is
    ``h0`` fully convolved with itself ``d`` times, so its side is ``stride + d·(stride − 1)``
    and its sum (DC gain) is ``stride**(2·(d+1))``. For ``stride = 2``: ``d = 0`` → 2×2 ones,
    ``d = 1`` → ``outer([1, 2, 1])`` (sum 16), ``d = 2`` → ``outer([1, 3, 3, 1])`` (sum 64).

    Args:
        order: degree of smoothing ``d ≥ 0`` (the paper's smoothing parameter).
        stride: the up/down-sampling factor ``U`` (2 everywhere in DHN).

    Returns:
        float32 tensor of shape ``(k, k)``, ``k = stride + order·(stride − 1)``.

    >>> smoothing_kernel(1)
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise ValueError(f"smoothing order must be an int ≥ 0, got {order!r}")
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
        raise ValueError(f"smoothing stride must be an int ≥ 1, got {stride!r}")
    taps = torch.ones(stride, dtype=torch.float64)
    h = taps.clone()
    for _ in range(order):  # full 1-D convolution; the 2-D kernel is separable
        h = F.conv1d(F.pad(h, (stride - 1, stride - 1))[None, None],
                     taps.flip(0)[None, None])[0, 0]
    return torch.outer(h, h).to(torch.float32)


class FixedSmoothing(nn.Module):
    """Depthwise, non-learnable smoothing by :func:`smoothing_kernel` (stride 1, "same" size).

    Padding is asymmetric zero padding: ``k//2`` on the left/top and ``(k−1)//2`` on the
    right/bottom, so even kernels (order 0) behave like a causal hold. The kernel lives in a
    buffer (saved in the state dict, never a parameter); loading a state dict whose kernel
    differs from the configured one raises, because order/gain are architecture, not weights.

    Args:
        channels: number of channels ``C`` (each smoothed separately).
        order: degree of smoothing ``d ≥ 0``.
        dc_gain: scale the kernel so that its sum is this value; ``None`` keeps the raw
            reference kernel (sum ``4**(d+1)``).

    Shape:
        ``(N, C, H, W) → (N, C, H, W)``.

    >>> smooth = FixedSmoothing(3, order=1, dc_gain=1.0)
    >>> smooth(torch.ones(1, 3, 8, 8))[0, 0, 4, 4].item()
    1.0
    >>> sum(p.numel() for p in smooth.parameters())
    0
    """

    kernel: Tensor

    def __init__(self, channels: int, order: int = 1, dc_gain: float | None = 1.0) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"FixedSmoothing: channels must be ≥ 1, got {channels}")
        k2d = smoothing_kernel(order)
        if dc_gain is not None:
            k2d = k2d * (float(dc_gain) / k2d.sum())
        self.channels, self.order, self.dc_gain = channels, order, dc_gain
        k = k2d.shape[-1]
        self.padding = (k // 2, (k - 1) // 2, k // 2, (k - 1) // 2)  # left, right, top, bottom
        self.register_buffer("kernel", k2d.expand(channels, 1, k, k).clone())

    def forward(self, x: Tensor) -> Tensor:
        w = self.kernel.to(dtype=x.dtype)
        return F.conv2d(F.pad(x, self.padding), w, groups=self.channels)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        key = prefix + "kernel"
        if key in state_dict:
            loaded = state_dict[key]
            if loaded.shape != self.kernel.shape or not torch.allclose(
                    loaded.to(self.kernel), self.kernel, rtol=1e-5, atol=1e-7):
                error_msgs.append(
                    f"{key}: the saved fixed smoothing kernel (shape {tuple(loaded.shape)}, sum "
                    f"{float(loaded[0].sum()):g}) differs from this model's (order {self.order}, "
                    f"dc_gain {self.dc_gain}); build the model with the smoothing order/gain it "
                    f"was trained with")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        return f"{self.channels}, order={self.order}, dc_gain={self.dc_gain}"


def _smooth_gain(gain: str, normalised_value: float) -> float | None:
    if gain == "normalised":
        return normalised_value
    if gain == "raw":
        return None
    raise ValueError(f"smoothing gain must be one of {SMOOTH_GAINS}, got {gain!r}")


# ---------------------------------------------------------------------------------------------
# Haar wavelet transform (MWCNN, Liu et al. CVPRW 2018)
# ---------------------------------------------------------------------------------------------

class HaarDWT(nn.Module):
    """One-level orthonormal 2-D Haar DWT: ``(N, C, H, W) → (N, 4C, H/2, W/2)``.

    Output channels are ``[LL, HL, LH, HH]``, each a group of ``C`` channels (see the module
    docstring for the exact polyphase formulas and the PyWavelets correspondence). The
    transform is orthonormal, so it preserves the squared norm. No parameters.

    Raises:
        ValueError: ``H`` or ``W`` odd, or the input is not 4-D.

    >>> HaarDWT()(torch.ones(1, 1, 2, 2)).flatten().tolist()
    [2.0, 0.0, 0.0, 0.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"HaarDWT expects (N, C, H, W), got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % 2 or w % 2:
            raise ValueError(f"HaarDWT needs even H and W, got {h}×{w}")
        a = x[..., 0::2, 0::2] / 2
        b = x[..., 1::2, 0::2] / 2
        c = x[..., 0::2, 1::2] / 2
        d = x[..., 1::2, 1::2] / 2
        return torch.cat([a + b + c + d, -a - b + c + d, -a + b - c + d, a - b - c + d], dim=1)


class HaarIWT(nn.Module):
    """Inverse of :class:`HaarDWT`: ``(N, 4C, H, W) → (N, C, 2H, 2W)``.

    Reads the channel groups ``[LL, HL, LH, HH]`` and writes the four polyphase sub-images
    ``(0::2, 0::2) = (LL−HL−LH+HH)/2``, ``(1::2, 0::2) = (LL−HL+LH−HH)/2``,
    ``(0::2, 1::2) = (LL+HL−LH−HH)/2``, ``(1::2, 1::2) = (LL+HL+LH+HH)/2``.

    Raises:
        ValueError: channel count not a multiple of 4, or the input is not 4-D.

    >>> x = torch.rand(2, 3, 8, 6)
    >>> torch.allclose(HaarIWT()(HaarDWT()(x)), x, atol=1e-6)
    True
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"HaarIWT expects (N, 4C, H, W), got shape {tuple(x.shape)}")
        n, c4, h, w = x.shape
        if c4 % 4:
            raise ValueError(f"HaarIWT needs a channel count divisible by 4, got {c4}")
        ll, hl, lh, hh = (g / 2 for g in x.chunk(4, dim=1))
        # Stack the four phases as (row parity, col parity) and interleave them.
        p00 = ll - hl - lh + hh
        p10 = ll - hl + lh - hh
        p01 = ll + hl - lh - hh
        p11 = ll + hl + lh + hh
        rows0 = torch.stack([p00, p01], dim=-1)  # even rows: (…, h, w, col parity)
        rows1 = torch.stack([p10, p11], dim=-1)  # odd rows
        out = torch.stack([rows0, rows1], dim=-3)  # (n, c, h, row parity, w, col parity)
        return out.reshape(n, c4 // 4, 2 * h, 2 * w)


# ---------------------------------------------------------------------------------------------
# Down-sampling layers (C_in → C_out, H → H/2)
# ---------------------------------------------------------------------------------------------

class StridedConvDown(nn.Module):
    """Baseline / Resize down-sampling: conv 3×3, stride 2, padding 1, with bias.

    Shape:
        ``(N, C_in, H, W) → (N, C_out, ⌈H/2⌉, ⌈W/2⌉)``.

    >>> StridedConvDown(4, 8)(torch.rand(1, 4, 16, 16)).shape
    torch.Size([1, 8, 8, 8])
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class SmoothDown(nn.Module):
    """Smooth down-sampling: :class:`FixedSmoothing` on the ``C_in`` inputs, then conv 3×3 s2.

    The bias sits on the strided conv (the reference layer's default puts it on the smoothing
    conv; the spec allows either, and for a linear smoothing they differ only by a constant).

    Args:
        c_in, c_out: channels.
        order: smoothing order ``d`` (default 1).
        gain: ``"normalised"`` (kernel sum 1) or ``"raw"`` (sum ``4**(d+1)``).

    Shape:
        ``(N, C_in, H, W) → (N, C_out, ⌈H/2⌉, ⌈W/2⌉)``.

    >>> SmoothDown(4, 8)(torch.rand(1, 4, 16, 16)).shape
    torch.Size([1, 8, 8, 8])
    """

    def __init__(self, c_in: int, c_out: int, order: int = 1, gain: Gain = "normalised") -> None:
        super().__init__()
        self.smooth = FixedSmoothing(c_in, order, _smooth_gain(gain, 1.0))
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.smooth(x))


class WaveletDown(nn.Module):
    """WT down-sampling: :class:`HaarDWT` (``C_in → 4·C_in``), then conv 3×3 ``4·C_in → C_out``.

    Shape:
        ``(N, C_in, H, W) → (N, C_out, H/2, W/2)``; ``H`` and ``W`` must be even.

    >>> WaveletDown(4, 8)(torch.rand(1, 4, 16, 16)).shape
    torch.Size([1, 8, 8, 8])
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.dwt = HaarDWT()
        self.conv = nn.Conv2d(4 * c_in, c_out, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.dwt(x))


# ---------------------------------------------------------------------------------------------
# Up-sampling layers (C_in → C_out, H → 2H)
# ---------------------------------------------------------------------------------------------

class TransposedConvUp(nn.Module):
    """Baseline up-sampling: transposed conv 4×4, stride 2, padding 1, with bias.

    Shape:
        ``(N, C_in, H, W) → (N, C_out, 2H, 2W)``.

    >>> TransposedConvUp(8, 4)(torch.rand(1, 8, 8, 8)).shape
    torch.Size([1, 4, 16, 16])
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.deconv(x)


class ResizeConvUp(nn.Module):
    """Resize up-sampling (Odena et al. 2016): nearest-neighbour ×2, then conv 3×3 stride 1.

    Shape:
        ``(N, C_in, H, W) → (N, C_out, 2H, 2W)``.

    >>> ResizeConvUp(8, 4)(torch.rand(1, 8, 8, 8)).shape
    torch.Size([1, 4, 16, 16])
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class SmoothUp(nn.Module):
    """Smooth up-sampling: transposed conv 4×4/s2/p1, then :class:`FixedSmoothing` on its output.

    (The reference implements only this "hold last" order for up-sampling.)

    Args:
        c_in, c_out: channels.
        order: smoothing order ``d`` (default 1).
        gain: ``"normalised"`` (kernel sum ``U² = 4``) or ``"raw"`` (sum ``4**(d+1)``).

    Shape:
        ``(N, C_in, H, W) → (N, C_out, 2H, 2W)``.

    >>> SmoothUp(8, 4, order=2)(torch.rand(1, 8, 8, 8)).shape
    torch.Size([1, 4, 16, 16])
    """

    def __init__(self, c_in: int, c_out: int, order: int = 1, gain: Gain = "normalised") -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
        self.smooth = FixedSmoothing(c_out, order, _smooth_gain(gain, 4.0))

    def forward(self, x: Tensor) -> Tensor:
        return self.smooth(self.deconv(x))


class WaveletUp(nn.Module):
    """WT up-sampling: conv 3×3 ``C_in → 4·C_out``, then :class:`HaarIWT` (``4·C_out → C_out``).

    Shape:
        ``(N, C_in, H, W) → (N, C_out, 2H, 2W)``.

    >>> WaveletUp(8, 4)(torch.rand(1, 8, 8, 8)).shape
    torch.Size([1, 4, 16, 16])
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1)
        self.iwt = HaarIWT()

    def forward(self, x: Tensor) -> Tensor:
        return self.iwt(self.conv(x))


# ---------------------------------------------------------------------------------------------
# Factories
# ---------------------------------------------------------------------------------------------

_DOWN: dict[str, type[nn.Module]] = {
    "baseline": StridedConvDown, "resize": StridedConvDown, "smooth": SmoothDown,
    "wt": WaveletDown,
}
_UP: dict[str, type[nn.Module]] = {
    "baseline": TransposedConvUp, "resize": ResizeConvUp, "smooth": SmoothUp, "wt": WaveletUp,
}
_OPTIONS: dict[str, frozenset[str]] = {"smooth": frozenset({"order", "gain"})}


def _check(variant: str, c_in: int, c_out: int, opts: dict[str, Any], what: str) -> str:
    if not isinstance(variant, str) or variant.strip().lower() not in VARIANTS:
        raise ValueError(f"unknown {what}-sampling variant {variant!r}; "
                         f"choose one of {', '.join(VARIANTS)}")
    variant = variant.strip().lower()
    for name, c in (("c_in", c_in), ("c_out", c_out)):
        if not isinstance(c, int) or c < 1:
            raise ValueError(f"make_{what}: {name} must be an int ≥ 1, got {c!r}")
    extra = set(opts) - _OPTIONS.get(variant, frozenset())
    if extra:
        allowed = sorted(_OPTIONS.get(variant, ()))
        raise TypeError(f"make_{what}({variant!r}): unexpected option(s) {sorted(extra)}; "
                        f"this variant accepts {allowed or 'none'}")
    return variant


def make_down(variant: str, c_in: int, c_out: int, **opts: Any) -> nn.Module:
    """Down-sampling layer ``(N, c_in, H, W) → (N, c_out, H/2, W/2)`` of the named variant.

    Args:
        variant: ``"baseline"``, ``"resize"`` (both a strided conv), ``"smooth"`` or ``"wt"``.
        c_in, c_out: channels.
        **opts: only for ``"smooth"``: ``order`` (int, default 1) and ``gain``
            (``"normalised"`` | ``"raw"``).

    Raises:
        ValueError: unknown variant or bad channel count.
        TypeError: an option the variant does not take.

    >>> make_down("smooth", 4, 8, order=2, gain="raw")(torch.rand(1, 4, 8, 8)).shape
    torch.Size([1, 8, 4, 4])
    """
    variant = _check(variant, c_in, c_out, opts, "down")
    return _DOWN[variant](c_in, c_out, **opts)


def make_up(variant: str, c_in: int, c_out: int, **opts: Any) -> nn.Module:
    """Up-sampling layer ``(N, c_in, H, W) → (N, c_out, 2H, 2W)`` of the named variant.

    Args:
        variant: ``"baseline"`` (transposed conv), ``"resize"`` (nearest + conv), ``"smooth"``
            (transposed conv + fixed smoothing) or ``"wt"`` (conv + inverse Haar).
        c_in, c_out: channels.
        **opts: only for ``"smooth"``: ``order`` and ``gain`` as in :func:`make_down`.

    Raises:
        ValueError: unknown variant or bad channel count.
        TypeError: an option the variant does not take.

    >>> make_up("resize", 8, 4)(torch.rand(1, 8, 4, 4)).shape
    torch.Size([1, 4, 8, 8])
    """
    variant = _check(variant, c_in, c_out, opts, "up")
    return _UP[variant](c_in, c_out, **opts)


__all__ = [
    "SMOOTH_GAINS", "VARIANTS", "FixedSmoothing", "HaarDWT", "HaarIWT", "ResizeConvUp",
    "SmoothDown", "SmoothUp", "StridedConvDown", "TransposedConvUp", "WaveletDown", "WaveletUp",
    "make_down", "make_up", "smoothing_kernel",
]
