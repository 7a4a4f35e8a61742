"""XY-Deblur — one encoder, one decoder shared by a horizontal and a rotated (vertical) branch.

Ji, Lee, Kim, Hong, Baek, Jung, Ko, "XYDeblur: Divide and Conquer for Single Image
Deblurring", CVPR 2022. Official code ``Seowon-Ji/XYDeblur``, ``models/XYDeblur.py`` and
``models/layers.py``; module and parameter names are kept here, so an official checkpoint's
``torch.load(path)["model"]`` loads with ``strict=True`` (RGB, default widths). One of paper
003's three networks (Aurangabadkar & Kokaram, EUSIPCO 2025; trained there on grey crops).
Spec: ``METHODS.md`` §4.7.

Blocks (no normalisation anywhere; every conv has a bias)::

    ResBlock(c)   x ─┬─ conv3×3 ─ ReLU ─ conv3×3 ─(+)─          (no activation after the sum)
                     └──────────────────────────────┘
    EBlock        conv3×3 (stride 1 for Encoder1, else 2) + ReLU, then n ResBlocks
    DBlock        n ResBlocks, then transposed conv 4×4 stride 2 c→c/2 + ReLU
                  (Decoder1_3: ResBlocks only)

Network (``w = width``, ``n = num_res``; ``rot`` = 90° rotation ``transpose(H, W)`` then flip
``H`` = ``torch.rot90(·, 1, (2, 3))``; ``rot⁻¹`` = ``transpose`` then flip ``W``)::

    x ─ Encoder1 (in→w) ─ e1 ─ Encoder2 (w→2w, /2) ─ e2 ─ Encoder3 (2w→4w, /2) ─ z

    D(z, e2, e1) = Decoder1_4(Decoder1_3(Convs1_2([Decoder1_2(Convs1_1([Decoder1_1(z), e2])), e1])))

      Decoder1_1: n ResBlocks @4w, up 4w→2w     Convs1_1: conv1×1 4w→2w + ReLU
      Decoder1_2: n ResBlocks @2w, up 2w→w      Convs1_2: conv1×1 2w→w + ReLU
      Decoder1_3: n ResBlocks @w                Decoder1_4: conv3×3 w→in (no activation)

    r1  = D(z, e2, e1)                                   "x" branch
    r2  = rot⁻¹(D(rot z, rot e2, rot e1))                "y" branch, same weights
    out = r1 + r2 + x

The decoder is *one* set of weights applied twice; rotating its input by 90° lets the same
kernels restore the perpendicular blur direction. The official forward returns
``[r1, r2, out]`` and trains with L1 on ``out`` only; here :meth:`XYDeblur.forward` returns
``out`` (images in [0, 1], no shift, no clamp) and :meth:`XYDeblur.forward_branches` returns
``(r1, r2, out)``.

Parameter counts (checked in ``tests/test_paper003_models.py``)::

    config                           RGB (in_ch=3)   grey (in_ch=1)
    official  width 32, num_res 6      4,918,627       4,917,473
    small CPU width 16, num_res 2        455,603         455,025
    tiny      width 8,  num_res 1         65,787          65,497

METHODS §4.7 verified 4,918,627 / 4,917,473 from the official code. Paper 003 says the
parameter count is "identical to a standard U-Net, viz. 4.2 million"; the official code does not
give that number (it is 4.92 M, RGB or grey). The official code hard-codes 3 input/output channels; ``in_ch`` generalises the first and last conv (grey saves
``2·9·w`` weights and 2 biases). Official widths, RGB: encoder 2,418,368, shared decoder
(incl. ``Convs1_*``) 2,500,259 — a second, unshared decoder would add another 2,500,259.

**Small CPU config** (recommended for 2-core runs): ``XYDeblur(width=16, num_res=2)`` (the
official layout with half the width and 2 instead of 6 ResBlocks per stage). Forward + backward
of a grey ``4×1×64×64`` batch, one thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``),
L1 loss on the output, ``time.perf_counter`` around zero_grad/forward/loss/backward (no
optimizer step), 20 iterations after 3 warm-up ones, torch 2.13 CPU, two runs on a shared
2-core machine (load ≈ 2.7–2.9), so treat them as upper bounds::

    config      median          min
    small       122–139 ms      117 ms
    official    1.00–1.13 s     0.91 s

Size: two stride-2 convs and two ×2 transposed convs, so ``H`` and ``W`` must be multiples of 4
(``size_multiple = 4``); other sizes raise ``ValueError`` — :func:`deblurlab.infer.predict` /
``predict_tiled`` pad to it. Non-square inputs work (the rotated branch runs on ``W×H``).

>>> import torch
>>> model = XYDeblur(in_ch=1, width=8, num_res=1)
>>> r1, r2, out = model.forward_branches(torch.rand(2, 1, 8, 12))
>>> out.shape, r2.shape
(torch.Size([2, 1, 8, 12]), torch.Size([2, 1, 8, 12]))
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int ≥ {minimum}, got {value!r}")
    return value


def rot(x: Tensor) -> Tensor:
    """XY-Deblur's 90° rotation of ``(N, C, H, W)``: ``transpose(2, 3).flip(2)`` → ``(N, C, W,
    H)``; equals ``torch.rot90(x, 1, (2, 3))``.

    >>> rot(torch.arange(6.0).view(1, 1, 2, 3))[0, 0].tolist()
    [[2.0, 5.0], [1.0, 4.0], [0.0, 3.0]]
    """
    return x.transpose(2, 3).flip(2)


def rot_inv(x: Tensor) -> Tensor:
    """Inverse of :func:`rot`: ``transpose(2, 3).flip(3)`` = ``torch.rot90(x, -1, (2, 3))``.

    >>> x = torch.rand(1, 2, 3, 5)
    >>> torch.equal(rot_inv(rot(x)), x)
    True
    """
    return x.transpose(2, 3).flip(3)


class BasicConv(nn.Module):
    """Conv (or transposed conv) with bias, optionally followed by ReLU; attribute ``main``.

    Padding ``k // 2`` (transposed: ``k // 2 − 1``), so a stride-``s`` conv maps ``H → H/s`` and
    a transposed 4×4 stride-2 conv ``H → 2H``. (The official ``norm`` option, unused by
    XY-Deblur, is not implemented.)

    >>> BasicConv(2, 4, 4, stride=2, transpose=True)(torch.rand(1, 2, 3, 5)).shape
    torch.Size([1, 4, 6, 10])
    """

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, stride: int = 1,
                 relu: bool = True, transpose: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module]
        if transpose:
            layers = [nn.ConvTranspose2d(in_channel, out_channel, kernel_size, stride=stride,
                                         padding=kernel_size // 2 - 1)]
        else:
            layers = [nn.Conv2d(in_channel, out_channel, kernel_size, stride=stride,
                                padding=kernel_size // 2)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x)


class ResBlock(nn.Module):
    """``x + conv3×3(ReLU(conv3×3(x)))``; parameters ``2·(9·c² + c)``.

    >>> ResBlock(4)(torch.rand(1, 4, 5, 5)).shape
    torch.Size([1, 4, 5, 5])
    """

    def __init__(self, channel: int) -> None:
        super().__init__()
        self.main = nn.Sequential(BasicConv(channel, channel, 3, relu=True),
                                  BasicConv(channel, channel, 3, relu=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x) + x


class EBlock(nn.Module):
    """Encoder stage: conv 3×3 ``in→out`` (stride 1 if ``first`` else 2) + ReLU, ``num_res``
    :class:`ResBlock` s; attribute ``layers``."""

    def __init__(self, in_channel: int, out_channel: int, num_res: int,
                 first: bool = False) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            BasicConv(in_channel, out_channel, 3, stride=1 if first else 2, relu=True),
            *(ResBlock(out_channel) for _ in range(num_res)))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class DBlock(nn.Module):
    """Decoder stage: ``num_res`` :class:`ResBlock` s, then (unless ``last``) transposed conv
    4×4 stride 2 ``c→c/2`` + ReLU; attribute ``layers``."""

    def __init__(self, channel: int, num_res: int, last: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [ResBlock(channel) for _ in range(num_res)]
        if not last:
            layers.append(BasicConv(channel, channel // 2, 4, stride=2, relu=True,
                                    transpose=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class XYDeblur(nn.Module):
    """XY-Deblur (METHODS §4.7); defaults = the official model (RGB, width 32, 6 ResBlocks).

    Args:
        in_ch: image channels in and out (3 official; 1 for grey, paper 003's setting).
        width: channels of the first stage ``w`` (stages ``w, 2w, 4w``; 32 official; even).
        num_res: ResBlocks per encoder and decoder stage (6 official).

    Attributes:
        Encoder1, Encoder2, Encoder3, Decoder1_1, Decoder1_2, Decoder1_3, Decoder1_4, Convs1_1,
        Convs1_2: as in the official code (one decoder, shared by both branches).
        size_multiple: 4 — ``H`` and ``W`` must be multiples of 4.

    Shape:
        ``(N, in_ch, H, W) → (N, in_ch, H, W)``; images in [0, 1], output not clamped.

    Raises:
        ValueError: bad configuration; at forward time a wrong channel count or ``H``/``W`` not
            multiples of 4.

    >>> XYDeblur(in_ch=1, width=4, num_res=0)(torch.rand(1, 1, 4, 8)).shape
    torch.Size([1, 1, 4, 8])
    """

    size_multiple: int = 4

    def __init__(self, in_ch: int = 3, width: int = 32, num_res: int = 6) -> None:
        super().__init__()
        _check_int("XYDeblur", "in_ch", in_ch, 1)
        _check_int("XYDeblur", "num_res", num_res, 0)
        _check_int("XYDeblur", "width", width, 2)
        if width % 2:
            raise ValueError(f"XYDeblur: width must be even (Convs1_2 halves 2·width), "
                             f"got {width}")
        self.in_ch, self.width, self.num_res = in_ch, width, num_res
        w, n = width, num_res
        self.Encoder1 = EBlock(in_ch, w, n, first=True)
        self.Encoder2 = EBlock(w, 2 * w, n)
        self.Encoder3 = EBlock(2 * w, 4 * w, n)
        self.Convs1_1 = BasicConv(4 * w, 2 * w, 1, relu=True)
        self.Convs1_2 = BasicConv(2 * w, w, 1, relu=True)
        self.Decoder1_1 = DBlock(4 * w, n)
        self.Decoder1_2 = DBlock(2 * w, n)
        self.Decoder1_3 = DBlock(w, n, last=True)
        self.Decoder1_4 = BasicConv(w, in_ch, 3, relu=False)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Shared encoder: ``(e1, e2, z)`` at full, 1/2 and 1/4 resolution."""
        e1 = self.Encoder1(x)
        e2 = self.Encoder2(e1)
        return e1, e2, self.Encoder3(e2)

    def decode(self, z: Tensor, e2: Tensor, e1: Tensor) -> Tensor:
        """The shared decoder ``D(z, e2, e1)`` → residual image (``in_ch`` channels)."""
        d = self.Convs1_1(torch.cat([self.Decoder1_1(z), e2], dim=1))
        d = self.Convs1_2(torch.cat([self.Decoder1_2(d), e1], dim=1))
        return self.Decoder1_4(self.Decoder1_3(d))

    def forward_branches(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(r1, r2, r1 + r2 + x)`` — the official forward's ``[x_decomp1, x_decomp2,
        x_final]``."""
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"XYDeblur expects (N, {self.in_ch}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"XYDeblur needs H and W to be multiples of {m}, got {h}×{w}; use "
                             f"deblurlab.infer.predict / predict_tiled, which pad the input")
        e1, e2, z = self.encode(x)
        r1 = self.decode(z, e2, e1)
        r2 = rot_inv(self.decode(rot(z), rot(e2), rot(e1)))
        return r1, r2, r1 + r2 + x

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_branches(x)[2]

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, width={self.width}, num_res={self.num_res}"


__all__ = ["BasicConv", "DBlock", "EBlock", "ResBlock", "XYDeblur", "rot", "rot_inv"]
