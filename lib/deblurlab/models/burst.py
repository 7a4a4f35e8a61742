"""BU — permutation-invariant burst U-Net (Aittala & Durand, ECCV 2018), paper 002's baseline.

Spec: ``METHODS.md`` §3.2 (Wieslander et al. 2021 use it as "BU" for TEM image streams). Every
frame of a burst runs through the *same* U-Net stream (shared weights). After every block the
element-wise maximum over the frame axis (:class:`CrossFrameMax`) is concatenated to each frame's
own features, so every frame sees what all frames see. At the end the per-frame features are
max-pooled over the frames once more and a small head makes one image. Max is symmetric, so the
output does not depend on the order of the frames, and any number of frames works with the same
weights (Wieslander train with 3–5 frames, random per batch, and evaluate with 5).

Layers (paper widths; ``e = enc``, ``d = dec``; ``‖`` = concat over channels, ``M(·)`` = cross-frame
max broadcast back to every frame; every conv is weight-normalised and followed by ELU and then
BatchNorm, except the last conv of the head; ``down`` = conv 4×4 stride 2 pad 1, ``up`` =
transposed conv 4×4 stride 2 pad 1)::

    f1 = conv3×3(x)                                   in → 64            full resolution
    f2 = down(conv1×1(f1 ‖ M f1))                    128 → 128 → 128     /2
    f3 = down(conv1×1(f2 ‖ M f2))                    256 → 256 → 256     /4
    f4 = down(conv1×1(f3 ‖ M f3))                    512 → 384 → 384     /8
    f5 = up(conv3×3(down(conv1×1(f4 ‖ M f4))))       768 → 384 → 384 → 384 → 384   /16 → /8
    g3 = up(conv3×3(conv1×1(f5 ‖ M f5 ‖ f4)))       1152 → 384 → 384 → 256           /4
    g2 = up(conv3×3(conv1×1(g3 ‖ M g3 ‖ f3)))        768 → 256 → 256 → 192           /2
    g1 = up(conv3×3(conv1×1(g2 ‖ M g2 ‖ f2)))        512 → 192 → 192 → 96            /1
    g0 = conv3×3(g1 ‖ M g1 ‖ f1)                     256 → 96
    y  = conv3×3(ELU/BN(conv3×3(max_frames g0)))      96 → 64 → out     (no activation at the end)

The module names are ``enc0``, ``encoders[i]``, ``bottleneck``, ``decoders[j]`` (deepest first),
``dec0`` and ``head``; every cross-frame merge goes through the one :class:`CrossFrameMax` module
``self.merge`` (hook it to see the pooled features).

Input convention
----------------
* ``(B, N, C, H, W)`` — B bursts of N frames with ``C = in_ch`` channels → ``(B, out_ch, H, W)``.
* ``(B, N·C, H, W)`` — the frames stacked along the channel axis (frame-major: channels
  ``[k·C, (k+1)·C)`` are frame ``k``). ``N = channels // in_ch``; ``N = 1`` is the ordinary
  single-image case. This 4-D form is what :func:`deblurlab.infer.predict` /
  :func:`~deblurlab.infer.predict_tiled` feed (they pad the last two axes by ``size_multiple``),
  so a whole burst can be restored tile by tile. A channel count that is not a multiple of
  ``in_ch`` is an error.

``size_multiple = 2**(len(enc))`` (16 for the paper widths: three encoder downs and one in the
bottleneck); ``H`` and ``W`` must be multiples of it.

Parameter counts (weight norm adds one gain per output channel to every conv; BatchNorm γ, β are
parameters, running stats are buffers; ``in_ch = out_ch = 1``; computed with
``deblurlab.models.count_parameters(BU(...))``, checked in ``tests/test_burst_models.py``)::

    config                                    enc                 dec            head  params
    BU()  (paper, METHODS §3.2)               (64,128,256,384)    (256,192,96)   64    16 228 994
    BU(width=0.25)                            (16,32,64,96)       (64,48,24)     16     1 018 658
    BU(width=0.125)  (recommended CPU)        (8,16,32,48)        (32,24,12)     8        256 114

Forward + backward time, B = 2 bursts × N = 5 frames × 1×64×64, train mode, L1 loss, zero_grad +
forward + backward, one thread (``torch.set_num_threads(1)`` under ``OMP_NUM_THREADS=1 nice``),
median of 3 ``time.perf_counter`` runs after one warm-up, on a 2-core CPU that was also running
another long job (load ≈ 3, so read these as upper bounds): BU() 3.5 s, BU(width=0.25) 0.25 s,
BU(width=0.125) 0.14 s.

Choices where METHODS / the third-party port (``FrederikWarburg/Burst-Image-Deblurring``) leave
room, all documented here:

* Padding is chosen so every down halves and every up doubles the size exactly (the port's
  1×1 convs with ``padding=1`` and unpadded 4×4 convs change sizes by a few pixels).
* ``up_act=True`` (default) puts ELU + BatchNorm after the transposed convs as well ("each conv
  followed by ELU then BatchNorm", METHODS §3.2); ``up_act=False`` leaves them linear, as the
  port does.
* Weight normalisation uses ``torch.nn.utils.parametrizations.weight_norm`` over the output
  channels (``dim=0`` for convs, ``dim=1`` for transposed convs, whose weight is
  ``(in, out, kh, kw)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

#: Paper widths (METHODS §3.2).
PAPER_ENC = (64, 128, 256, 384)
PAPER_DEC = (256, 192, 96)
PAPER_HEAD = 64


# --------------------------------------------------------------------------------------------
# burst plumbing shared with dense_burst.py
# --------------------------------------------------------------------------------------------


def as_burst(x: Tensor, in_ch: int, name: str = "model") -> Tensor:
    """Return ``x`` as a ``(B, N, C, H, W)`` burst (see the module doc for the 4-D convention)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 5:
        if x.shape[2] != in_ch:
            raise ValueError(f"{name}: burst (B, N, C, H, W) must have C = in_ch = {in_ch}, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[1] < 1:
            raise ValueError(f"{name}: a burst needs at least one frame, got {tuple(x.shape)}")
        return x
    if x.ndim == 4:
        b, c, h, w = x.shape
        if c < 1 or c % in_ch:
            raise ValueError(f"{name}: a 4-D input (B, N·C, H, W) needs a channel count that is a "
                             f"positive multiple of in_ch = {in_ch}, got {tuple(x.shape)}")
        return x.reshape(b, c // in_ch, in_ch, h, w)
    raise ValueError(f"{name}: input must be (B, N, C, H, W) or (B, N·C, H, W), "
                     f"got shape {tuple(x.shape)}")


def check_size(x: Tensor, multiple: int, name: str) -> None:
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise ValueError(f"{name} needs H and W to be multiples of {multiple}, got {h}×{w}; use "
                         "deblurlab.infer.predict / predict_tiled, which pad the input")


class CrossFrameMax(nn.Module):
    """``(B·N, C, H, W)`` per-frame features → ``(B·N, 2C, H, W)`` = own ‖ max over the N frames.

    The maximum is element-wise (per channel and pixel) over the frame axis and is broadcast back
    to every frame, so every frame of a burst gets the same second half. ``extra`` tensors
    (e.g. U-Net skips, ``(B·N, C_k, H, W)``) are appended after it. No parameters.
    """

    def forward(self, x: Tensor, n_frames: int, *extra: Tensor) -> Tensor:
        bn, c, h, w = x.shape
        m = x.reshape(bn // n_frames, n_frames, c, h, w).amax(dim=1, keepdim=True)
        m = m.expand(-1, n_frames, -1, -1, -1).reshape(bn, c, h, w)
        return torch.cat((x, m, *extra), dim=1)


def frame_max(x: Tensor, n_frames: int) -> Tensor:
    """``(B·N, C, H, W)`` → ``(B, C, H, W)``: element-wise maximum over the frames."""
    bn, c, h, w = x.shape
    return x.reshape(bn // n_frames, n_frames, c, h, w).amax(dim=1)


# --------------------------------------------------------------------------------------------
# BU
# --------------------------------------------------------------------------------------------


def _wn_conv(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0) -> nn.Module:
    return weight_norm(nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding), dim=0)


def _wn_up(c_in: int, c_out: int) -> nn.Module:
    return weight_norm(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), dim=1)


def _elu_bn(c: int) -> list[nn.Module]:
    return [nn.ELU(), nn.BatchNorm2d(c)]


def _scaled(widths: Sequence[int], scale: float) -> tuple[int, ...]:
    return tuple(max(1, round(w * scale)) for w in widths)


class BU(nn.Module):
    """Aittala & Durand burst U-Net ("BU", METHODS §3.2); see the module doc for the layout.

    Args:
        in_ch: channels per frame (1 for TEM).
        out_ch: channels of the output image.
        width: scale applied to the paper widths (0.125 → the recommended CPU config). Ignored
            for any of ``enc`` / ``dec`` / ``head`` given explicitly.
        enc: encoder widths ``(e0, e1, …, eL)``; ``e0`` is the first 3×3 conv, each further one
            a down level; the bottleneck works at ``eL``. Paper: ``(64, 128, 256, 384)``.
        dec: decoder widths, deepest first, one per down level (``len(enc) − 1``); the last is
            also the width of the final full-resolution conv. Paper: ``(256, 192, 96)``.
        head: hidden width of the head. Paper: 64.
        up_act: ELU + BatchNorm after the transposed convs too (default, METHODS); ``False``
            follows the port.

    Attributes:
        size_multiple: ``2**len(enc)`` — ``H`` and ``W`` must be multiples of it.

    >>> model = BU(width=0.125).eval()
    >>> model(torch.rand(2, 5, 1, 32, 32)).shape
    torch.Size([2, 1, 32, 32])
    >>> model(torch.rand(2, 3, 32, 32)).shape   # 4-D: 3 frames stacked along channels
    torch.Size([2, 1, 32, 32])
    """

    def __init__(self, in_ch: int = 1, out_ch: int = 1, width: float = 1.0,
                 enc: Sequence[int] | None = None, dec: Sequence[int] | None = None,
                 head: int | None = None, up_act: bool = True) -> None:
        super().__init__()
        if in_ch < 1 or out_ch < 1:
            raise ValueError(f"BU: in_ch and out_ch must be ≥ 1, got {in_ch}, {out_ch}")
        if width <= 0:
            raise ValueError(f"BU: width must be > 0, got {width}")
        enc = tuple(enc) if enc is not None else _scaled(PAPER_ENC, width)
        dec = tuple(dec) if dec is not None else _scaled(PAPER_DEC, width)
        head = int(head) if head is not None else _scaled((PAPER_HEAD,), width)[0]
        if len(enc) < 2:
            raise ValueError(f"BU: enc needs at least two widths, got {enc}")
        if len(dec) != len(enc) - 1:
            raise ValueError(f"BU: dec needs len(enc) − 1 = {len(enc) - 1} widths, got {dec}")
        if min(enc + dec + (head,)) < 1:
            raise ValueError(f"BU: widths must be ≥ 1, got enc={enc}, dec={dec}, head={head}")
        self.in_ch, self.out_ch = in_ch, out_ch
        self.enc, self.dec, self.head_width = enc, dec, head
        self.size_multiple = 2 ** len(enc)
        up_tail = _elu_bn if up_act else (lambda c: [])

        self.merge = CrossFrameMax()
        self.enc0 = nn.Sequential(_wn_conv(in_ch, enc[0], 3, padding=1), *_elu_bn(enc[0]))
        self.encoders = nn.ModuleList(
            nn.Sequential(_wn_conv(2 * c_prev, c, 1), *_elu_bn(c),
                          _wn_conv(c, c, 4, stride=2, padding=1), *_elu_bn(c))
            for c_prev, c in zip(enc[:-1], enc[1:]))
        cb = enc[-1]
        self.bottleneck = nn.Sequential(
            _wn_conv(2 * cb, cb, 1), *_elu_bn(cb),
            _wn_conv(cb, cb, 4, stride=2, padding=1), *_elu_bn(cb),
            _wn_conv(cb, cb, 3, padding=1), *_elu_bn(cb),
            _wn_up(cb, cb), *up_tail(cb))
        # decoder j (deepest first): own features c_in (+ their max) + skip enc[L-j] → dec[j]
        own = (cb,) + dec[:-1]
        skips = enc[::-1][:-1]            # eL, …, e1
        self.decoders = nn.ModuleList(
            nn.Sequential(_wn_conv(2 * c_in + c_skip, c_in, 1), *_elu_bn(c_in),
                          _wn_conv(c_in, c_in, 3, padding=1), *_elu_bn(c_in),
                          _wn_up(c_in, c_out), *up_tail(c_out))
            for c_in, c_skip, c_out in zip(own, skips, dec))
        self.dec0 = nn.Sequential(_wn_conv(2 * dec[-1] + enc[0], dec[-1], 3, padding=1),
                                  *_elu_bn(dec[-1]))
        self.head = nn.Sequential(_wn_conv(dec[-1], head, 3, padding=1), *_elu_bn(head),
                                  _wn_conv(head, out_ch, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        x = as_burst(x, self.in_ch, "BU")
        check_size(x, self.size_multiple, "BU")
        b, n, c, h, w = x.shape
        f = self.enc0(x.reshape(b * n, c, h, w))
        skips = [f]
        for block in self.encoders:
            f = block(self.merge(f, n))
            skips.append(f)
        g = self.bottleneck(self.merge(f, n))
        for block, skip in zip(self.decoders, skips[::-1][:-1]):
            g = block(self.merge(g, n, skip))
        g = self.dec0(self.merge(g, n, skips[0]))
        return self.head(frame_max(g, n))


__all__ = ["BU", "CrossFrameMax", "as_burst", "frame_max"]
