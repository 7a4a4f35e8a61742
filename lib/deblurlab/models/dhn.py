"""DHN — Deep Hierarchical Network (DMPHN without patches), paper 000's deblurring network.

Krawczyk, Gaertner, Jansche, Bernthaler, Schneider, "Reducing artifact generation when using
perceptual loss for image deblurring of microscopy data for microstructure analysis", Methods in
Microscopy 2024 (doi 10.1515/mim-2024-0012). Spec: ``METHODS.md`` §1.2–1.3.

Origin. DMPHN(1-2-4) (Zhang et al., CVPR 2019; official code
``HongguangZhang/DMPHN-cvpr19-master``, ``models.py`` and ``DMPHN_1_2_4.py``) cuts the input
into 1, 2 and 4 patches on levels 1, 2, 3 and runs one level encoder on every patch. Krawczyk et
al. drop the patches ("we kept them as they are"): every level sees the full-resolution image,
and the three levels stay three stacked encoder–decoder stages with their own weights. DHN is
therefore *not* multi-scale. With ``B`` the (shifted) blurred input::

    F3 = Enc3(B)                R3 = Dec3(F3)
    F2 = Enc2(B + R3) + F3      R2 = Dec2(F2)
    F1 = Enc1(B + R2) + F2      output = Dec1(F1)

Features are added level to level; the coarser decoders' outputs are added to the input image.
For ``levels = L`` the same pattern runs from level ``L`` down to level 1. There is no global
residual: the last decoder outputs the image itself.

Encoder (``w = width``; RU = residual unit conv3×3 → ReLU → conv3×3, added to its input, no
activation after the sum, no normalisation anywhere)::

    conv3×3 in→w · 2 RU(w) · down w→2w · 2 RU(2w) · down 2w→4w · 2 RU(4w)     → 4w ch at H/4

Decoder::

    2 RU(4w) · up 4w→2w · 2 RU(2w) · up 2w→w · 2 RU(w) · conv3×3 w→out (no output activation)

The two "down" and two "up" layers (white in the paper's architecture figure) are the only thing the
``variant`` argument changes; see :mod:`deblurlab.models.updown`: ``"baseline"`` (strided conv /
transposed conv 4×4), ``"resize"`` (nearest ×2 + conv), ``"smooth"`` (Kinoshita–Kiya fixed
smoothing) and ``"wt"`` (Haar DWT / inverse DWT, MWCNN).

DMPHN details kept:

* **Shift.** DMPHN trains on images and targets shifted by −0.5. Here the shift lives inside the
  module so that its API stays [0, 1] in and out like every model in :mod:`deblurlab.models`:
  ``forward(x) = net(x − shift) + shift`` with ``shift = 0.5``. A loss on the [0, 1] output
  against a [0, 1] target equals DMPHN's loss on shifted tensors (the shift cancels).
  ``shift = 0`` turns it off.
* **Init** (``init="dmphn"``): every ``Conv2d`` / ``ConvTranspose2d`` weight ~
  ``normal(0, 0.5·sqrt(2/n))`` with ``n = k_h·k_w·out_channels``, biases 0. The fixed smoothing
  kernels of the Smooth variant are buffers, not conv modules, and are left untouched.
  ``init="torch"`` keeps PyTorch's default init.

Parameter counts (3 levels; bias included; the fixed smoothing kernels of ``"smooth"`` are
buffers and not counted; checked in ``tests/test_dhn.py``)::

                RGB (in_ch = out_ch = 3)              grey (in_ch = out_ch = 1)
    variant     width 32     width 16    width 8     width 32     width 16    width 8
    baseline    5,424,393    1,358,985   341,193     5,420,931    1,357,251   340,323
    resize      5,209,353    1,305,225   327,753     5,205,891    1,303,491   326,883
    smooth      5,424,393    1,358,985   341,193     5,420,931    1,357,251   340,323
    wt          6,869,097    1,720,377   431,649     6,865,635    1,718,643   430,779

One level at width 32, RGB: encoder 868,288 (wt 1,144,768); decoder 939,843 (resize 868,163,
wt 1,144,931). Grey input saves ``2·9·w`` weights in the first conv and ``2·9·w + 2`` in the
last conv of every level (1,154 per level at width 32).

Channels: the paper uses RGB (``in_ch = 3``). Grey microscopy images work either way: build with
``in_ch=1``, or keep ``in_ch=3`` and replicate the grey channel (``x.expand(-1, 3, -1, -1)``).

Size: two ×2 down-samplings, so ``H`` and ``W`` must be multiples of 4 (``size_multiple = 4``);
other sizes raise ``ValueError`` — :func:`deblurlab.infer.predict` / ``predict_tiled`` pad to it.

>>> import torch
>>> model = DHN(variant="wt", width=8, in_ch=1)
>>> model(torch.rand(2, 1, 32, 48)).shape
torch.Size([2, 1, 32, 48])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .updown import SMOOTH_GAINS, VARIANTS, make_down, make_up

INITS: tuple[str, ...] = ("dmphn", "torch")


def _conv3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class ResidualUnit(nn.Module):
    """DMPHN residual unit: ``x + conv3×3(ReLU(conv3×3(x)))`` at constant width, no norm.

    Shape:
        ``(N, C, H, W) → (N, C, H, W)``. Parameters: ``2·(9·C² + C)``.

    >>> ResidualUnit(4)(torch.rand(1, 4, 8, 8)).shape
    torch.Size([1, 4, 8, 8])
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv3(channels, channels), nn.ReLU(inplace=True),
                                  _conv3(channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _units(channels: int, n: int = 2) -> nn.Sequential:
    return nn.Sequential(*(ResidualUnit(channels) for _ in range(n)))


class DHNEncoder(nn.Module):
    """One DHN/DMPHN level encoder: ``(N, in_ch, H, W) → (N, 4·width, H/4, W/4)``.

    ``conv3×3 in→w``, 2 RU, down ``w→2w``, 2 RU, down ``2w→4w``, 2 RU. ``variant`` and
    ``updown_opts`` choose the down layers (:func:`deblurlab.models.updown.make_down`).
    Width 32, ``in_ch = 3``, baseline: 868,288 parameters.

    >>> DHNEncoder(1, width=4)(torch.rand(1, 1, 16, 16)).shape
    torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_ch: int, width: int = 32, variant: str = "baseline",
                 **updown_opts: Any) -> None:
        super().__init__()
        w = width
        self.head = _conv3(in_ch, w)
        self.stage1 = _units(w)
        self.down1 = make_down(variant, w, 2 * w, **updown_opts)
        self.stage2 = _units(2 * w)
        self.down2 = make_down(variant, 2 * w, 4 * w, **updown_opts)
        self.stage3 = _units(4 * w)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stage1(self.head(x))
        x = self.stage2(self.down1(x))
        return self.stage3(self.down2(x))


class DHNDecoder(nn.Module):
    """One DHN/DMPHN level decoder: ``(N, 4·width, H/4, W/4) → (N, out_ch, H, W)``.

    2 RU at ``4w``, up ``4w→2w``, 2 RU, up ``2w→w``, 2 RU, ``conv3×3 w→out`` (no activation).
    Width 32, ``out_ch = 3``, baseline: 939,843 parameters.

    >>> DHNDecoder(1, width=4)(torch.rand(1, 16, 4, 4)).shape
    torch.Size([1, 1, 16, 16])
    """

    def __init__(self, out_ch: int, width: int = 32, variant: str = "baseline",
                 **updown_opts: Any) -> None:
        super().__init__()
        w = width
        self.stage3 = _units(4 * w)
        self.up2 = make_up(variant, 4 * w, 2 * w, **updown_opts)
        self.stage2 = _units(2 * w)
        self.up1 = make_up(variant, 2 * w, w, **updown_opts)
        self.stage1 = _units(w)
        self.tail = _conv3(w, out_ch)

    def forward(self, x: Tensor) -> Tensor:
        x = self.up2(self.stage3(x))
        x = self.up1(self.stage2(x))
        return self.tail(self.stage1(x))


class DHNLevel(nn.Module):
    """An encoder–decoder pair (one hierarchy level). Attributes ``encoder`` and ``decoder``."""

    def __init__(self, encoder: DHNEncoder, decoder: DHNDecoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder


def dmphn_init_(module: nn.Module) -> nn.Module:
    """DMPHN weight init, in place: conv / transposed-conv weights ~ normal(0, 0.5·sqrt(2/n)).

    ``n = k_h·k_w·out_channels``; biases set to 0. Other modules (ReLU, the fixed smoothing
    buffers of the Smooth variant, the parameter-free Haar transforms) are untouched.
    Returns ``module``.

    >>> conv = dmphn_init_(nn.Conv2d(2, 8, 3))
    >>> int(conv.bias.count_nonzero())
    0
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            with torch.no_grad():
                m.weight.normal_(0.0, 0.5 * math.sqrt(2.0 / n))
                if m.bias is not None:
                    m.bias.zero_()
    return module


class DHN(nn.Module):
    """Deep Hierarchical Network (paper 000): DMPHN(1-2-4) wiring with full-resolution levels.

    Args:
        variant: up/down-sampling layers: ``"baseline"``, ``"resize"``, ``"smooth"`` or ``"wt"``
            (see :mod:`deblurlab.models.updown`).
        levels: number of stacked encoder–decoder levels (3 in the paper; ≥ 1).
        width: channels of the first stage ``w`` (stages use ``w, 2w, 4w``; 32 in the paper —
            use 8 or 16 for CPU runs).
        in_ch: input channels (3 in the paper; 1 for grey images).
        out_ch: output channels (default ``in_ch``). Only the last decoder (level 1) produces
            ``out_ch`` channels; the others produce ``in_ch`` channels, which are added to the
            input of the next level.
        smooth_order: smoothing order ``d`` for ``variant="smooth"`` (ignored otherwise).
        smooth_gain: ``"normalised"`` or ``"raw"`` kernel gain for ``variant="smooth"``.
        shift: constant subtracted from the input and added back to the output (DMPHN's −0.5
            shift; the module's API stays [0, 1]). ``0`` disables it.
        init: ``"dmphn"`` (normal(0, 0.5·sqrt(2/n)), zero biases) or ``"torch"`` (default init).

    Attributes:
        levels: ``nn.ModuleList`` of :class:`DHNLevel`; ``levels[i]`` is level ``i + 1`` in the
            paper's numbering, so ``levels[0]`` produces the output and ``levels[-1]`` runs first.
        num_levels, variant, width, in_ch, out_ch, shift: the configuration.
        size_multiple: 4 — ``H`` and ``W`` must be multiples of 4.

    Shape:
        ``(N, in_ch, H, W) → (N, out_ch, H, W)``, float, images in [0, 1] (output not clamped).

    Raises:
        ValueError: bad configuration; at forward time a wrong channel count or ``H``/``W`` not
            multiples of 4 (pad with :func:`deblurlab.infer.predict`).

    Parameter counts: see the module docstring (baseline width 32, RGB: 5,424,393).

    >>> model = DHN(variant="smooth", width=8, in_ch=1, smooth_order=2)
    >>> model.size_multiple
    4
    >>> model(torch.rand(1, 1, 16, 20)).shape
    torch.Size([1, 1, 16, 20])
    """

    size_multiple: int = 4

    def __init__(self, variant: str = "baseline", levels: int = 3, width: int = 32,
                 in_ch: int = 3, out_ch: int | None = None, smooth_order: int = 1,
                 smooth_gain: str = "normalised", shift: float = 0.5,
                 init: str = "dmphn") -> None:
        super().__init__()
        variant = variant.strip().lower() if isinstance(variant, str) else variant
        if variant not in VARIANTS:
            raise ValueError(f"DHN: unknown variant {variant!r}; choose one of "
                             f"{', '.join(VARIANTS)}")
        for name, value in (("levels", levels), ("width", width), ("in_ch", in_ch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"DHN: {name} must be an int ≥ 1, got {value!r}")
        out_ch = in_ch if out_ch is None else out_ch
        if not isinstance(out_ch, int) or out_ch < 1:
            raise ValueError(f"DHN: out_ch must be an int ≥ 1, got {out_ch!r}")
        if smooth_gain not in SMOOTH_GAINS:
            raise ValueError(f"DHN: smooth_gain must be one of {SMOOTH_GAINS}, "
                             f"got {smooth_gain!r}")
        if init not in INITS:
            raise ValueError(f"DHN: init must be one of {INITS}, got {init!r}")
        opts: dict[str, Any] = ({"order": smooth_order, "gain": smooth_gain}
                                if variant == "smooth" else {})

        self.variant, self.num_levels, self.width = variant, levels, width
        self.in_ch, self.out_ch, self.shift = in_ch, out_ch, float(shift)
        self.smooth_order, self.smooth_gain, self.init = smooth_order, smooth_gain, init
        self.levels = nn.ModuleList(
            DHNLevel(DHNEncoder(in_ch, width, variant, **opts),
                     DHNDecoder(out_ch if i == 0 else in_ch, width, variant, **opts))
            for i in range(levels))
        if init == "dmphn":
            dmphn_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"DHN expects (N, {self.in_ch}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"DHN needs H and W to be multiples of {m}, got {h}×{w}; use "
                             f"deblurlab.infer.predict / predict_tiled, which pad the input")
        b = x - self.shift
        features: Tensor | None = None
        restored: Tensor | None = None
        for level in reversed(self.levels):  # level L first, level 1 last
            f = level.encoder(b if restored is None else b + restored)
            features = f if features is None else f + features
            restored = level.decoder(features)
        assert restored is not None
        return restored + self.shift

    def extra_repr(self) -> str:
        extra = (f", smooth_order={self.smooth_order}, smooth_gain={self.smooth_gain!r}"
                 if self.variant == "smooth" else "")
        return (f"variant={self.variant!r}, levels={self.num_levels}, width={self.width}, "
                f"in_ch={self.in_ch}, out_ch={self.out_ch}, shift={self.shift}{extra}")


__all__ = ["DHN", "DHNDecoder", "DHNEncoder", "DHNLevel", "INITS", "ResidualUnit",
           "dmphn_init_"]
