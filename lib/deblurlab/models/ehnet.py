"""EHNet — efficient hybrid CNN/transformer U-Net with dual attention, one of paper 003's networks.

Ho, Duong, Lee, Hong, "EHNet: Efficient Hybrid Network with Dual Attention for Image
Deblurring", Sensors 24(20):6545, 2024. Official code
``hoquocthien/EHNet-Efficient-Hybrid-Network-with-Dual-Attention-for-Image-Deblurring``,
``EHNet.py``, ``MHTA.py``, ``MWSA.py`` (its ``LayerNorm2d`` is NAFNet's / basicsr's). Module
and parameter names are kept here, so an official state dict (without a DataParallel
``module.`` prefix) loads with ``strict=True``. Paper
003 (Aurangabadkar & Kokaram, EUSIPCO 2025) trains it on grey crops. Spec: ``METHODS.md`` §4.7.

Network (``w = width``; defaults enc ``[6, 6]``, middle 12, dec ``[6, 10]``; ``CB`` =
ConvBlock, ``TF`` = TFBlock; down = bilinear ×0.5 + conv 3×3 ``C→2C``; up = bilinear ×2 + conv
3×3 ``C→C/2``, both without bias)::

    x ─ intro 3×3 in→w ─ 6 CB @w ───────────────────────── Fuse(w) ─ 10 TF @w ─ ending 3×3 ─ (+x)
                          │ down                              ↑ up
                         6 CB @2w ────────── Fuse(2w) ─ 6 TF @2w
                          │ down               ↑ up
                         middle_blks: 6 CB + 6 TF @4w

    Fuse(n)(up, skip) = split₂(conv1×1(TF@2n(conv1×1([up, skip]))));  out = first + second half

ConvBlock = :class:`~deblurlab.models.nafnet.NAFBlock` with ``DW_Expand = FFN_Expand = 4``.
TFBlock (``c`` channels; AG = :class:`AdaptiveGate`, ``z₁ · tanh(LN(z₂))`` over the two
channel halves; *one* AG — one LN — serves both uses; α, β, γ ∈ R^{1×c×1×1} start at 0)::

    inp ─ LN ─ 1×1 c→2c ─┬ x1 ─ 1×1 ─ g3×3 c→2c ─ AG ─ 1×1 ─ x1 + α·MHTA(x1) ─┐
                         └ x2 ─ MWSA ──────────────────────────────────── ·β ─(+)─ + inp = y
    y ─ LN ─ 1×1 c→2c ─ AG ─ 1×1 c→c ─ ·γ ─ (+ y) ─ out

    (1×1 = conv 1×1 c→c; g3×3 = grouped conv 3×3, groups c)

* **MHTA** (channel attention, Restormer's MDTA without the 1×1 qkv conv): depthwise 3×3
  ``c→3c`` (no bias) → q, k, v; 8 heads; q, k L2-normalised along the pixels; ``attn =
  softmax(q·kᵀ · temperature)`` is ``(c/8)×(c/8)`` per head (temperature per head, init 1);
  ``project_out`` 1×1 (no bias).
* **MWSA** (multi-window spatial attention): depthwise 3×3 ``c→3c`` (no bias) split into
  three ``c``-channel groups with windows 4, 8, 16; each group is rolled by ``−w/2`` in H and W,
  cut into ``w×w`` windows, split into ``q`` and ``v`` (``c/2`` channels each), ``softmax(q·qᵀ)
  · v`` (q is its own key, no scaling), rolled back; the three ``c/2`` outputs are concatenated
  and mapped 1×1 ``3c/2 → c`` (no bias).

Images in [0, 1] (no shift, no clamp); global residual ``ending(·) + x``.

Parameter counts (checked in ``tests/test_paper003_models.py``)::

    config                                               RGB (3→3)    grey (1→1)
    official   width 48, enc [6,6], middle 12, dec [6,10]  8,779,923    8,778,193
    small CPU  width 16, enc [1,1], middle 2,  dec [1,1]     268,379      267,801
    tiny       width 8,  enc [1],   middle 2,  dec [1]        18,899       18,609

METHODS §4.7 verified 8,779,923 ≈ the paper's "approximately 8.7 million". Grey saves
``2·9·w`` weights and 2 biases in intro/ending.

**Small CPU config** (recommended for 2-core runs): ``EHNet(width=16, enc_blk_nums=(1, 1),
middle_blk_num=2, dec_blk_nums=(1, 1))`` — one block of each kind per level; every TFBlock
(the two Fuse blocks, one middle and two decoder blocks) is kept, since they are what makes
EHNet EHNet. Even so it is the slowest of paper 003's three small models: the full-resolution
TFBlocks (windowed attention, grouped 3×3 convs with channel multipliers) dominate, and
halving the width barely helps (width 8, dec ``(1, 2)``: ≈ 0.53 s). Forward + backward of a grey
``4×1×64×64`` batch, one thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), L1 loss,
``time.perf_counter`` around zero_grad/forward/loss/backward (no optimizer step), 20 iterations
after 3 warm-up ones, torch 2.13 CPU, on a shared 2-core machine (load ≈ 2.7–3.0), so treat
them as upper bounds::

    config      median          min
    small       0.58–0.76 s     0.56 s     (two runs)
    official    7.2 s           6.5 s      (one run)

Size: windows of up to 16 pixels at the 1/4-resolution level, so ``H`` and ``W`` must be
multiples of ``size_multiple = 2**len(enc_blk_nums) · lcm(window_sizes)`` = 64 (METHODS: training
crops must be multiples of 64). The official model pads to a multiple of 4 only and then fails
inside MWSA unless the size is a multiple of 64 (its ``test.py`` pads reflectively to 64
first); here other sizes raise ``ValueError`` — :func:`deblurlab.infer.predict` /
``predict_tiled`` pad (reflect) to it. Not implemented: drop-out (the
official default rate is 0; it adds no parameters).

>>> import torch
>>> model = EHNet(img_channel=1, width=8, enc_blk_nums=(1,), middle_blk_num=2, dec_blk_nums=(1,))
>>> model.size_multiple
32
>>> model(torch.rand(1, 1, 32, 64)).shape
torch.Size([1, 1, 32, 64])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .nafnet import LayerNorm2d, NAFBlock, _check_blocks, _check_int


class ConvBlock(NAFBlock):
    """EHNet's ConvBlock: a NAFBlock with ``DW_Expand = FFN_Expand = 4`` (same parameter names).

    Parameters: ``c·(4c) + 4c`` (conv1) ``+ 36c + 4c`` (dw) ``+ 2c·c + c`` (conv3) ``+ 4c² +
    2c`` (sca) ``+ 4c² + 4c`` (conv4) ``+ 2c² + c`` (conv5) ``+ 6c`` (norms, β, γ) = ``16c² + 58c``.

    >>> sum(p.numel() for p in ConvBlock(48).parameters()) == 16 * 48**2 + 58 * 48
    True
    """

    def __init__(self, c: int) -> None:
        super().__init__(c, dw_expand=4, ffn_expand=4)


class AdaptiveGate(nn.Module):
    """``(N, 2C, H, W) → (N, C, H, W)``: ``z₁ · tanh(LN(z₂))`` over the two channel halves.

    Attribute ``norm`` (:class:`~deblurlab.models.nafnet.LayerNorm2d` over ``C``).

    >>> AdaptiveGate(3)(torch.rand(1, 6, 2, 2)).shape
    torch.Size([1, 3, 2, 2])
    """

    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(c)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return x1 * torch.tanh(self.norm(x2))


class Downsample(nn.Module):
    """Bilinear ×0.5 (``align_corners=False``) + conv 3×3 ``C→2C`` without bias; ``body``."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=0.5, mode="bilinear", align_corners=False),
            nn.Conv2d(n_feat, 2 * n_feat, 3, padding=1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """Bilinear ×2 (``align_corners=False``) + conv 3×3 ``C→C/2`` without bias; ``body``."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(n_feat, n_feat // 2, 3, padding=1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class MHTA(nn.Module):
    """Multi-head transposed (channel) attention; attributes ``temperature`` ``(heads, 1, 1)``,
    ``qkv_dwconv`` (depthwise 3×3 ``dim→3·dim``), ``project_out`` (1×1), no biases.

    >>> MHTA(16, num_heads=8)(torch.rand(2, 16, 5, 7)).shape
    torch.Size([2, 16, 5, 7])
    """

    def __init__(self, dim: int, num_heads: int = 8, bias: bool = False) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"MHTA: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv_dwconv = nn.Conv2d(dim, 3 * dim, 3, padding=1, groups=dim, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = (t.reshape(b, self.num_heads, c // self.num_heads, h * w)
                   for t in self.qkv_dwconv(x).chunk(3, dim=1))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1)
        return self.project_out((attn @ v).reshape(b, c, h, w))


class MWSA(nn.Module):
    """Multi-window (shifted) spatial self-attention; attributes ``dw`` (depthwise 3×3
    ``c→len(ws)·c``) and ``out`` (1×1 ``len(ws)·c/2 → c``), no biases.

    Args:
        channels: ``c`` (even: each group splits into ``q`` and ``v`` halves).
        window_sizes: one window size per group (official ``(4, 8, 16)``), even ints.
        shift: roll each group by ``−w/2`` before windowing and back after (official: on).

    ``H`` and ``W`` must be multiples of every window size.

    >>> MWSA(4, window_sizes=(2, 4))(torch.rand(1, 4, 8, 12)).shape
    torch.Size([1, 4, 8, 12])
    """

    def __init__(self, channels: int, window_sizes: Sequence[int] = (4, 8, 16),
                 shift: bool = True, bias: bool = False) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"MWSA: channels must be even (q and v halves), got {channels}")
        self.channels, self.window_sizes, self.shift = channels, tuple(window_sizes), bool(shift)
        n = len(self.window_sizes)
        self.dw = nn.Conv2d(channels, n * channels, 3, padding=1, groups=channels, bias=bias)
        self.out = nn.Conv2d(n * channels // 2, channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        half = self.channels // 2
        ys = []
        for x_, ws in zip(self.dw(x).split(self.channels, dim=1), self.window_sizes):
            if h % ws or w % ws:
                raise ValueError(f"MWSA: H and W must be multiples of the window size {ws}, "
                                 f"got {h}×{w}")
            if self.shift:
                x_ = torch.roll(x_, shifts=(-(ws // 2), -(ws // 2)), dims=(2, 3))
            nh, nw = h // ws, w // ws
            # (b, [q|v]·half, nh·ws, nw·ws) → (2, b·nh·nw, ws·ws, half)
            qv = (x_.reshape(b, 2, half, nh, ws, nw, ws).permute(1, 0, 3, 5, 4, 6, 2)
                  .reshape(2, b * nh * nw, ws * ws, half))
            q, v = qv[0], qv[1]
            y = (q @ q.transpose(-2, -1)).softmax(dim=-1) @ v
            y = y.reshape(b, nh, nw, ws, ws, half).permute(0, 5, 1, 3, 2, 4).reshape(b, half, h, w)
            if self.shift:
                y = torch.roll(y, shifts=(ws // 2, ws // 2), dims=(2, 3))
            ys.append(y)
        return self.out(torch.cat(ys, dim=1))


class TFBlock(nn.Module):
    """EHNet's transformer block (``DW_Expand = FFN_Expand = 2``); see the module docstring.

    Attributes ``conv1`` (1×1 c→2c), ``conv2a`` (1×1 c→c), ``conv2b`` (3×3 c→2c, groups c),
    ``sg`` (the shared :class:`AdaptiveGate`), ``conv3`` (1×1 c→c), ``C_attn`` (:class:`MHTA`),
    ``S_attn`` (:class:`MWSA`), ``conv4`` (1×1 c→2c), ``conv5`` (1×1 c→c), ``norm1``, ``norm2``,
    ``alpha``, ``beta``, ``gamma`` (zeros, ``(1, c, 1, 1)``).

    >>> TFBlock(8, window_sizes=(2,))(torch.rand(1, 8, 4, 6)).shape
    torch.Size([1, 8, 4, 6])
    """

    def __init__(self, c: int, num_heads: int = 8, window_sizes: Sequence[int] = (4, 8, 16),
                 shift: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, 2 * c, 1)
        self.conv2a = nn.Conv2d(c, c, 1)
        self.conv2b = nn.Conv2d(c, 2 * c, 3, padding=1, groups=c)
        self.conv3 = nn.Conv2d(c, c, 1)
        self.sg = AdaptiveGate(c)
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.C_attn = MHTA(c, num_heads=num_heads)
        self.S_attn = MWSA(c, window_sizes=window_sizes, shift=shift)
        self.alpha = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, inp: Tensor) -> Tensor:
        x1, x2 = self.conv1(self.norm1(inp)).chunk(2, dim=1)
        x1 = self.conv3(self.sg(self.conv2b(self.conv2a(x1))))  # local branch
        x1 = x1 + self.C_attn(x1) * self.alpha
        y = inp + x1 + self.S_attn(x2) * self.beta  # global branch
        x = self.conv5(self.sg(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class Fuse(nn.Module):
    """Skip fusion at ``n_feat`` channels: ``conv`` 1×1 on ``[up, skip]`` (2n→2n, bias) →
    ``att_channel`` (:class:`TFBlock` at 2n) → ``conv2`` 1×1 → sum of the two halves."""

    def __init__(self, n_feat: int, **tf_opts: object) -> None:
        super().__init__()
        self.n_feat = n_feat
        self.att_channel = TFBlock(2 * n_feat, **tf_opts)  # type: ignore[arg-type]
        self.conv = nn.Conv2d(2 * n_feat, 2 * n_feat, 1)
        self.conv2 = nn.Conv2d(2 * n_feat, 2 * n_feat, 1)

    def forward(self, enc: Tensor, dnc: Tensor) -> Tensor:
        x = self.conv2(self.att_channel(self.conv(torch.cat((enc, dnc), dim=1))))
        e, d = torch.split(x, [self.n_feat, self.n_feat], dim=1)
        return e + d


class EHNet(nn.Module):
    """EHNet (METHODS §4.7); defaults = the official model (8,779,923 parameters, RGB).

    Args:
        img_channel: image channels in and out (3 RGB; 1 grey, paper 003's setting).
        width: channels after ``intro`` (48 official); a multiple of ``num_heads`` (MHTA at
            ``width`` channels in the last decoder level) and even.
        middle_blk_num: bottleneck blocks, half ConvBlocks then half TFBlocks (12 official;
            must be even).
        enc_blk_nums: ConvBlocks per encoder level (``(6, 6)`` official); its length ``L`` is
            the number of levels.
        dec_blk_nums: TFBlocks per decoder level, coarsest first (``(6, 10)``), length ``L``.
        num_heads: MHTA heads (8 official).
        window_sizes: MWSA windows (``(4, 8, 16)`` official), even ints.
        shift: MWSA cyclic shift by half a window (official: on).

    Attributes:
        intro, encoders, downs, middle_blks, ups, fuses, decoders, ending: as the official code.
        size_multiple: ``2**L · lcm(window_sizes)`` (64 for the official config).

    Shape:
        ``(N, img_channel, H, W) → (N, img_channel, H, W)``; images in [0, 1], output not
        clamped.

    Raises:
        ValueError: bad configuration; at forward time a wrong channel count or ``H``/``W`` not
            multiples of ``size_multiple``.
    """

    size_multiple: int = 64

    def __init__(self, img_channel: int = 3, width: int = 48, middle_blk_num: int = 12,
                 enc_blk_nums: Sequence[int] = (6, 6), dec_blk_nums: Sequence[int] = (6, 10),
                 num_heads: int = 8, window_sizes: Sequence[int] = (4, 8, 16),
                 shift: bool = True) -> None:
        super().__init__()
        _check_int("EHNet", "img_channel", img_channel, 1)
        _check_int("EHNet", "num_heads", num_heads, 1)
        _check_int("EHNet", "width", width, 2)
        if width % num_heads or width % 2:
            raise ValueError(f"EHNet: width must be even and a multiple of num_heads "
                             f"({num_heads}), got {width}")
        _check_int("EHNet", "middle_blk_num", middle_blk_num, 0)
        if middle_blk_num % 2:
            raise ValueError(f"EHNet: middle_blk_num must be even (half ConvBlocks, half "
                             f"TFBlocks), got {middle_blk_num}")
        enc = _check_blocks("EHNet", "enc_blk_nums", enc_blk_nums)
        dec = _check_blocks("EHNet", "dec_blk_nums", dec_blk_nums)
        if not enc or len(enc) != len(dec):
            raise ValueError(f"EHNet: enc_blk_nums and dec_blk_nums need the same length ≥ 1, "
                             f"got {enc} and {dec}")
        if (isinstance(window_sizes, (str, bytes)) or not isinstance(window_sizes, Sequence)
                or not window_sizes):
            raise ValueError(f"EHNet: window_sizes must be a non-empty sequence of even ints, "
                             f"got {window_sizes!r}")
        ws = tuple(_check_int("EHNet", f"window_sizes[{i}]", v, 2)
                   for i, v in enumerate(window_sizes))
        if any(v % 2 for v in ws):
            raise ValueError(f"EHNet: window sizes must be even (shift by w/2), got {ws}")
        self.img_channel, self.width, self.middle_blk_num = img_channel, width, middle_blk_num
        self.enc_blk_nums, self.dec_blk_nums = enc, dec
        self.num_heads, self.window_sizes, self.shift = num_heads, ws, bool(shift)
        self.size_multiple = 2 ** len(enc) * math.lcm(*ws)

        tf = {"num_heads": num_heads, "window_sizes": ws, "shift": bool(shift)}
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        self.ups, self.fuses, self.decoders = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        chan = width
        for n in enc:
            self.encoders.append(nn.Sequential(*(ConvBlock(chan) for _ in range(n))))
            self.downs.append(Downsample(chan))
            chan *= 2
        half = middle_blk_num // 2
        self.middle_blks = nn.Sequential(*(ConvBlock(chan) for _ in range(half)),
                                         *(TFBlock(chan, **tf) for _ in range(half)))
        for n in dec:
            self.ups.append(Upsample(chan))
            chan //= 2
            self.fuses.append(Fuse(chan, **tf))
            self.decoders.append(nn.Sequential(*(TFBlock(chan, **tf) for _ in range(n))))

    def forward(self, inp: Tensor) -> Tensor:
        if inp.ndim != 4 or inp.shape[1] != self.img_channel:
            raise ValueError(f"EHNet expects (N, {self.img_channel}, H, W), "
                             f"got {tuple(inp.shape)}")
        h, w = inp.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"EHNet needs H and W to be multiples of {m} (2**levels × MWSA "
                             f"windows), got {h}×{w}; use deblurlab.infer.predict / "
                             f"predict_tiled, which pad the input")
        x = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for decoder, up, fuse, skip in zip(self.decoders, self.ups, self.fuses, reversed(skips)):
            x = decoder(fuse(up(x), skip))
        return self.ending(x) + inp

    def extra_repr(self) -> str:
        return (f"img_channel={self.img_channel}, width={self.width}, "
                f"middle_blk_num={self.middle_blk_num}, enc_blk_nums={self.enc_blk_nums}, "
                f"dec_blk_nums={self.dec_blk_nums}, num_heads={self.num_heads}, "
                f"window_sizes={self.window_sizes}, shift={self.shift}")


__all__ = ["AdaptiveGate", "ConvBlock", "Downsample", "EHNet", "Fuse", "MHTA", "MWSA",
           "TFBlock", "Upsample"]
