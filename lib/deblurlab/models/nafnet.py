"""NAFNet and MIDNet — paper 001's deblurring network (NAFNet U-Net + attention gates).

NAFNet: Chen, Chu, Zhang, Sun, "Simple Baselines for Image Restoration", ECCV 2022 (official
code ``megvii-research/NAFNet``, ``basicsr/models/archs/NAFNet_arch.py``). MIDNet: Wang et al.,
CMC 79(1):1187–1204, 2024, which adds Attention-U-Net gates (Oktay et al. 2018) to NAFNet's
decoder skips; its repository holds no code, so the gate is reconstructed. Spec: ``METHODS.md``
§2.1–2.3.

NAFBlock (``c`` channels; no non-linear activation anywhere; every conv has a bias)::

    inp ─┬─ LN ─ 1×1 c→2c ─ dw3×3 2c ─ SimpleGate ─ SCA ─ 1×1 c→c ─ ×β ─(+)─ y
         └──────────────────────────────────────────────────────────────┘
    y ───┬─ LN ─ 1×1 c→2c ─ SimpleGate ─ 1×1 c→c ─ ×γ ─(+)─ out
         └────────────────────────────────────────────┘

LN = :class:`LayerNorm2d` (over channels, per pixel); SimpleGate = split the channels in two
halves and multiply them; SCA (simplified channel attention) = ``x · conv1×1(avgpool(x))``;
β, γ ∈ R^{1×c×1×1} start at 0 ("skip-init"), so every block is the identity at init.

NAFNet (``w = width``, ``L = len(enc_blk_nums)`` levels; ``E_i`` = ``encoders[i]``, a chain
of ``enc_blk_nums[i]`` NAFBlocks at ``w·2^i`` channels; ``D_j`` = ``decoders[j]``,
``dec_blk_nums[j]`` blocks at ``w·2^(L−1−j)`` channels, coarsest first; ``+`` adds the skip)::

    x ─ pad ─ intro 3×3 ─ E_0 ───────────── + ─ D_{L−1} ─ ending 3×3 ─ + pad(x) ─ crop ─ out
                           │ down           ↑ up
                          E_1 ──────── + ─ D_{L−2}
                           │ down      ↑ up
                           ⋮           ⋮
                           │ down      ↑ up
                          E_{L−1} ─ + ─ D_0
                           │ down   ↑ up
                          middle ───┘   (middle_blks at w·2^L channels)

down = conv 2×2 stride 2 (C→2C); up = conv 1×1 C→2C (no bias) + PixelShuffle(2) → C/2. The input
is zero-padded on the right/bottom to a multiple of ``2**L`` and the output cropped back, so any
size works (``size_multiple = 1``). Global residual: the network predicts ``output − input``.

MIDNet replaces each decoder merge ``x = up(x) + skip`` by ``x = up(x) + AG(x_a=up(x),
x_b=skip)`` with the :class:`AttentionGate`
``AG = x_b · sigmoid(ψ(ReLU(W_a x_a + W_b x_b)))`` (1×1 convs C→F_int, F_int→1).

Module and parameter names follow the official ``NAFNet_arch.py`` (``intro``, ``encoders``,
``downs``, ``middle_blks``, ``ups``, ``decoders``, ``ending``; blocks ``conv1``…``conv5``,
``sca``, ``sg``, ``norm1``/``norm2``, ``beta``/``gamma``), so an official checkpoint's
``torch.load(path)["params"]`` loads with ``strict=True``. MIDNet's extra modules live under
``gates``; a NAFNet checkpoint loads into MIDNet with ``strict=False`` (gates stay random).
``NAFNetLocal`` (test-time local statistics, "TLC"), which the official GoPro configs use at test
time only, is :func:`deblurlab.models.local_stats.to_local_stats` applied to either model: it
replaces the SCA's global average pools by local ones, which also makes tiled inference of large
images match the whole-image output.

Inference on large inputs (no autograd, eval mode, widest map > ``STRIP_ELEMENTS`` values): every
NAFBlock except its SCA pool acts per pixel or on a 3×3 neighbourhood, so the block runs in
horizontal strips (one halo row for the depthwise conv) and writes its result in place; MIDNet's
gates likewise; NAFNet frees each skip once it is merged. The pool still sees the whole map, so
the result is the plain forward's up to float rounding (``tests/test_nafnet.py``: ≤ 1e-5).
One grey 1536² tile through NAFNet-w32 (``infer.predict`` settings: inference mode, NHWC
weights) peaked at 1728 MiB of process RSS instead of 2952 MiB and took 16.9 s instead of 34.3 s
on 2 CPU cores; ``benchmarks/RESULTS.md`` (tiled section) has the tiled-image figures. Training
takes the plain path.

Parameter counts (bias included; middle 1, dec (1,1,1,1); checked in ``tests/test_nafnet.py``)::

    model   width  enc_blk_nums    RGB (img_channel=3)  grey (img_channel=1)
    NAFNet  32     (1,1,1,28)          17,111,907          17,110,753
    NAFNet  64     (1,1,1,28)          67,888,835          67,886,529
    MIDNet  32     (1,1,1,28)          17,287,431          17,286,277   (F_int = C: +175,524)
    MIDNet  64     (1,1,1,28)          68,588,039          68,585,733   (F_int = C: +699,204)
    NAFNet  16     (1,1,1,2)            1,256,115           1,255,537   (small CPU config)
    MIDNet  16     (1,1,1,2)            1,300,359           1,299,781   (small CPU config)
    NAFNet  8      (1,1,1,2)              321,499             321,209
    MIDNet  8      (1,1,1,2)              332,743             332,453

Gates (F_int = C, no norm): ``2·(C² + C) + C + 1`` parameters at each decoder level
(C = 8w, 4w, 2w, w). Grey saves ``2·9·w`` weights and 2 biases in intro/ending.

Small CPU config (recommended for quick training on 2 CPU cores): ``width=16,
enc_blk_nums=(1, 1, 1, 2), dec_blk_nums=(1, 1, 1, 1), middle_blk_num=1`` — the GoPro layout
with 2 instead of 28 blocks at the bottom level. Timings: forward + backward of a grey
4×1×64×64 batch, one thread (``torch.set_num_threads(1)``, ``OMP_NUM_THREADS=1``),
``time.perf_counter`` around zero_grad/forward/loss/backward (no optimizer step), 30
iterations after 3 warm-up ones, torch 2.13 CPU, on a 2-core machine with another CPU job
running (load ≈ 2.8), so treat them as upper bounds::

    model   width   median    min       with L1 + 0.05·edge + 0.01·FFT (median)
    NAFNet  16      100 ms    92 ms     105 ms
    MIDNet  16      111 ms    101 ms    122 ms
    NAFNet  8       51 ms     47 ms     58 ms
    MIDNet  8       53 ms     50 ms     62 ms

>>> import torch
>>> model = MIDNet(img_channel=1, width=4, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1))
>>> model.size_multiple, model.padder_size
(1, 4)
>>> model(torch.rand(2, 1, 13, 18)).shape
torch.Size([2, 1, 13, 18])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int ≥ {minimum}, got {value!r}")
    return value


def _check_blocks(owner: str, name: str, value: object) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{owner}: {name} must be a sequence of ints ≥ 0, got {value!r}")
    return tuple(_check_int(owner, f"{name}[{i}]", v, 0) for i, v in enumerate(value))


# Inference on large maps (no autograd) runs NAFBlocks and MIDNet's gates in row strips of at
# most this many elements of the widest intermediate, so that memory grows with ~4 feature maps
# instead of ~7 (``benchmarks/RESULTS.md``, tiled section). Training and small inputs take the
# plain path; the strip path gives the same numbers up to float rounding.
STRIP_ELEMENTS = 1 << 22


def _strip_rows(elements_per_row: int) -> int:
    return max(1, STRIP_ELEMENTS // max(1, elements_per_row))


def _use_strips(module: nn.Module, x: Tensor, *widths: int) -> bool:
    """Strips pay (and are safe: in-place writes, no dropout) only without autograd, in eval
    mode, for a map larger than one strip."""
    if torch.is_grad_enabled() or module.training or x.ndim != 4:
        return False
    n, _, h, w = x.shape
    return h > 1 and n * w * h * max(widths) > STRIP_ELEMENTS


def _empty_like_rows(strip: Tensor, h: int) -> Tensor:
    """An empty ``(N, C, h, W)`` tensor in ``strip``'s dtype, device and memory layout."""
    n, c, _, w = strip.shape
    fmt = (torch.channels_last if c > 1 and strip.is_contiguous(memory_format=torch.channels_last)
           and not strip.is_contiguous() else torch.contiguous_format)
    return torch.empty((n, c, h, w), dtype=strip.dtype, device=strip.device, memory_format=fmt)


class LayerNorm2d(nn.Module):
    """Layer norm over the channel dimension at every pixel (NAFNet's ``LayerNorm2d``).

    ``y = weight · (x − μ) / sqrt(σ² + eps) + bias``, with μ, σ² the mean and (biased) variance
    over C at each ``(n, h, w)``; ``weight`` starts at 1, ``bias`` at 0 (shapes ``(C,)``).

    >>> y = LayerNorm2d(3)(torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1))
    >>> [round(v, 4) for v in y.flatten().tolist()]
    [-1.2247, 0.0, 1.2247]
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        _check_int("LayerNorm2d", "channels", channels, 1)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = float(eps)

    def forward(self, x: Tensor) -> Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / torch.sqrt(var + self.eps)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, eps={self.eps}"


class SimpleGate(nn.Module):
    """Split the channels into two halves and multiply them: ``(N, 2C, H, W) → (N, C, H, W)``.

    >>> SimpleGate()(torch.arange(4.0).view(1, 4, 1, 1)).flatten().tolist()
    [0.0, 3.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    """NAFNet's block (METHODS §2.1): LN → 1×1 → dw3×3 → SimpleGate → SCA → 1×1, then an FFN.

    Args:
        c: channels in and out.
        dw_expand: channel expansion before the depthwise conv (2; ``c·dw_expand`` must be even).
        ffn_expand: channel expansion of the FFN (2; ``c·ffn_expand`` must be even).
        drop_out_rate: dropout after each branch (0 = ``nn.Identity``, as in NAFNet).

    Both branches are scaled by ``beta`` / ``gamma`` (shape ``(1, c, 1, 1)``, initialised to 0),
    so a fresh block is the identity. Parameters for the defaults: ``7·c² + 33·c`` (``c`` = 32:
    8,224).

    >>> x = torch.rand(1, 4, 5, 6)
    >>> torch.equal(NAFBlock(4)(x), x)  # skip-init
    True
    """

    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2,
                 drop_out_rate: float = 0.0) -> None:
        super().__init__()
        _check_int("NAFBlock", "c", c, 1)
        _check_int("NAFBlock", "dw_expand", dw_expand, 1)
        _check_int("NAFBlock", "ffn_expand", ffn_expand, 1)
        if (c * dw_expand) % 2 or (c * ffn_expand) % 2:
            raise ValueError(f"NAFBlock: c·dw_expand and c·ffn_expand must be even for the "
                             f"SimpleGate, got c={c}, dw_expand={dw_expand}, "
                             f"ffn_expand={ffn_expand}")
        if not 0.0 <= drop_out_rate < 1.0:
            raise ValueError(f"NAFBlock: drop_out_rate must be in [0, 1), got {drop_out_rate!r}")
        dw, ffn = c * dw_expand, c * ffn_expand
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.sg = SimpleGate()
        self.conv4 = nn.Conv2d(c, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.dropout1 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.dropout2 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, inp: Tensor) -> Tensor:
        if _use_strips(self, inp, self.conv1.out_channels, self.conv4.out_channels):
            return self._forward_strips(inp)
        x = self.sg(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + self.dropout1(x) * self.beta
        x = self.conv5(self.sg(self.conv4(self.norm2(y))))
        return y + self.dropout2(x) * self.gamma

    def _forward_strips(self, inp: Tensor) -> Tensor:
        """:meth:`forward`'s arithmetic in row strips, for inference on large maps.

        Every step but the SCA pool is local: LN, the 1×1 convs, the gate and the FFN act per
        pixel, the depthwise 3×3 needs one row above and below. Pass 1 writes the gated map
        ``g`` strip by strip (each strip with a one-row halo); the pool then sees the whole of
        ``g``; pass 2 finishes each strip and, when the channels allow, writes it back into
        ``g``. Alive at once: ``inp``, ``g`` (and for a local pool its output), plus one strip's
        temporaries, instead of about six full maps.
        """
        n, _, h, w = inp.shape
        rows = _strip_rows(n * w * max(self.conv1.out_channels, self.conv4.out_channels))
        g: Tensor | None = None
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            a0, a1 = max(0, r0 - 1), min(h, r1 + 1)
            t = self.conv2(self.conv1(self.norm1(inp[:, :, a0:a1])))
            t = self.sg(t[:, :, r0 - a0:r1 - a0])
            if g is None:
                g = _empty_like_rows(t, h)
            g[:, :, r0:r1] = t
        assert g is not None
        pool, proj = self.sca[0], self.sca[1]
        pooled = pool(g)
        att = proj(pooled) if pooled.shape[-2:] == (1, 1) else None
        out = g if g.shape == inp.shape else torch.empty_like(inp)
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            a = att if att is not None else proj(pooled[:, :, r0:r1])
            y = inp[:, :, r0:r1] + self.dropout1(self.conv3(g[:, :, r0:r1] * a)) * self.beta
            x = self.conv5(self.sg(self.conv4(self.norm2(y))))
            out[:, :, r0:r1] = y + self.dropout2(x) * self.gamma
        return out


class AttentionGate(nn.Module):
    """Additive attention gate (MIDNet eq. 7–8, Attention U-Net): ``x_b · σ(ψ(ReLU(W_a x_a +
    W_b x_b)))``.

    ``x_a`` is the gating signal (the up-sampled decoder feature), ``x_b`` the encoder skip, both
    ``(N, C, H, W)``; the one-channel coefficient map in (0, 1) broadcasts over the channels.

    Args:
        channels: ``C``.
        f_int: intermediate channels ``F_int`` (``None`` = ``C``).
        norm: add ``BatchNorm2d`` after each of the three 1×1 convs (the popular Attention-U-Net
            code); off by default (METHODS §2.3).

    Attributes ``w_a``, ``w_b`` (conv 1×1 C→F_int, bias), ``psi`` (conv 1×1 F_int→1, bias),
    each an ``nn.Sequential`` (conv, then BatchNorm when ``norm``). Parameters without norm:
    ``2·(C·F_int + F_int) + F_int + 1`` (C = F_int = 32: 2,145).

    >>> gate = AttentionGate(4)
    >>> gate(torch.rand(1, 4, 3, 3), torch.rand(1, 4, 3, 3)).shape
    torch.Size([1, 4, 3, 3])
    """

    def __init__(self, channels: int, f_int: int | None = None, norm: bool = False) -> None:
        super().__init__()
        _check_int("AttentionGate", "channels", channels, 1)
        f_int = channels if f_int is None else _check_int("AttentionGate", "f_int", f_int, 1)
        self.channels, self.f_int, self.norm = channels, f_int, bool(norm)

        def branch(c_in: int, c_out: int) -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 1)]
            if norm:
                layers.append(nn.BatchNorm2d(c_out))
            return nn.Sequential(*layers)

        self.w_a = branch(channels, f_int)
        self.w_b = branch(channels, f_int)
        self.psi = branch(f_int, 1)

    def coefficients(self, x_a: Tensor, x_b: Tensor) -> Tensor:
        """The attention map ``σ(ψ(ReLU(W_a x_a + W_b x_b)))``, shape ``(N, 1, H, W)``."""
        if x_a.shape != x_b.shape or x_a.ndim != 4 or x_a.shape[1] != self.channels:
            raise ValueError(f"AttentionGate expects x_a and x_b both (N, {self.channels}, H, W), "
                             f"got {tuple(x_a.shape)} and {tuple(x_b.shape)}")
        return torch.sigmoid(self.psi(F.relu(self.w_a(x_a) + self.w_b(x_b))))

    def forward(self, x_a: Tensor, x_b: Tensor) -> Tensor:
        return x_b * self.coefficients(x_a, x_b)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, f_int={self.f_int}, norm={self.norm}"


class NAFNet(nn.Module):
    """NAFNet U-Net (METHODS §2.2); defaults = the official GoPro width-32 config.

    Args:
        img_channel: image channels in and out (3 RGB; 1 grey).
        width: channels after ``intro``; level ``i`` has ``width·2**i`` (32 or 64 for GoPro; 8–16
            for CPU runs).
        middle_blk_num: NAFBlocks at the bottom (``width·2**L`` channels).
        enc_blk_nums: NAFBlocks per encoder level; its length ``L`` is the number of levels.
        dec_blk_nums: NAFBlocks per decoder level, coarsest first; same length as
            ``enc_blk_nums``.

    Attributes:
        intro, ending, encoders, downs, middle_blks, ups, decoders: as in the official code.
        padder_size: ``2**L``; the input is zero-padded (right/bottom) to a multiple of it.
        size_multiple: 1 — any ``H``, ``W`` (padding is internal).

    Shape:
        ``(N, img_channel, H, W) → (N, img_channel, H, W)``; images in [0, 1], output not
        clamped.

    Raises:
        ValueError: bad configuration; at forward time a tensor that is not 4-D or has the wrong
            number of channels.

    >>> net = NAFNet(img_channel=1, width=4, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1))
    >>> net(torch.rand(1, 1, 7, 9)).shape
    torch.Size([1, 1, 7, 9])
    """

    size_multiple: int = 1

    def __init__(self, img_channel: int = 3, width: int = 32, middle_blk_num: int = 1,
                 enc_blk_nums: Sequence[int] = (1, 1, 1, 28),
                 dec_blk_nums: Sequence[int] = (1, 1, 1, 1)) -> None:
        super().__init__()
        name = type(self).__name__
        _check_int(name, "img_channel", img_channel, 1)
        _check_int(name, "width", width, 1)
        _check_int(name, "middle_blk_num", middle_blk_num, 0)
        enc = _check_blocks(name, "enc_blk_nums", enc_blk_nums)
        dec = _check_blocks(name, "dec_blk_nums", dec_blk_nums)
        if len(enc) != len(dec):
            raise ValueError(f"{name}: enc_blk_nums and dec_blk_nums need the same length "
                             f"(one decoder level per encoder level), got {enc} and {dec}")
        self.img_channel, self.width, self.middle_blk_num = img_channel, width, middle_blk_num
        self.enc_blk_nums, self.dec_blk_nums = enc, dec

        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        chan = width
        for n in enc:
            self.encoders.append(nn.Sequential(*(NAFBlock(chan) for _ in range(n))))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, stride=2))
            chan *= 2
        self.middle_blks = nn.Sequential(*(NAFBlock(chan) for _ in range(middle_blk_num)))
        for n in dec:
            self.ups.append(nn.Sequential(nn.Conv2d(chan, 2 * chan, 1, bias=False),
                                          nn.PixelShuffle(2)))
            chan //= 2
            self.decoders.append(nn.Sequential(*(NAFBlock(chan) for _ in range(n))))
        self.padder_size = 2 ** len(enc)

    def decoder_channels(self) -> list[int]:
        """Channels at each decoder level, coarsest first (``[8w, 4w, 2w, w]`` for 4 levels)."""
        n = len(self.enc_blk_nums)
        return [self.width * 2 ** (n - 1 - i) for i in range(n)]

    def merge(self, level: int, x: Tensor, skip: Tensor) -> Tensor:
        """Combine the up-sampled decoder feature ``x`` with the encoder ``skip`` at decoder
        ``level`` (0 = coarsest). NAFNet adds them; subclasses may override. ``x`` is a fresh
        tensor owned by the caller: without autograd it may be updated in place."""
        if torch.is_grad_enabled():
            return x + skip
        return x.add_(skip)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.img_channel:
            raise ValueError(f"{type(self).__name__} expects (N, {self.img_channel}, H, W), "
                             f"got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        p = self.padder_size
        inp = F.pad(x, (0, (-w) % p, 0, (-h) % p))
        feat = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            feat = encoder(feat)
            skips.append(feat)
            feat = down(feat)
        feat = self.middle_blks(feat)
        for level, (up, decoder) in enumerate(zip(self.ups, self.decoders)):
            # Popping the skip and dropping ``feat`` before the decoder frees them as soon as
            # they are used: at full resolution each is a large map.
            x = self.merge(level, up(feat), skips.pop())
            del feat
            feat = decoder(x)
            del x
        out = self.ending(feat) + inp
        return out[:, :, :h, :w]

    def extra_repr(self) -> str:
        return (f"img_channel={self.img_channel}, width={self.width}, "
                f"middle_blk_num={self.middle_blk_num}, enc_blk_nums={self.enc_blk_nums}, "
                f"dec_blk_nums={self.dec_blk_nums}")


class MIDNet(NAFNet):
    """MIDNet (paper 001): NAFNet whose decoder skips pass through :class:`AttentionGate` s.

    At decoder level ``i`` (coarsest first) ``x = up(x) + gates[i](x_a=up(x), x_b=skip)``
    instead of ``up(x) + skip``. Everything else is :class:`NAFNet`.

    Args:
        img_channel, width, middle_blk_num, enc_blk_nums, dec_blk_nums: as :class:`NAFNet`.
        gate_f_int: ``F_int`` of every gate (``None`` = that level's ``C``: 17,287,431
            parameters at width 32, RGB — the paper's 17.3 M).
        gate_norm: BatchNorm after each gate conv (Attention-U-Net variant; off by default).

    Attributes:
        gates: ``nn.ModuleList`` of :class:`AttentionGate`, one per decoder level.

    >>> net = MIDNet(img_channel=1, width=4, enc_blk_nums=(1,), dec_blk_nums=(1,))
    >>> [g.channels for g in net.gates]
    [4]
    """

    def __init__(self, img_channel: int = 3, width: int = 32, middle_blk_num: int = 1,
                 enc_blk_nums: Sequence[int] = (1, 1, 1, 28),
                 dec_blk_nums: Sequence[int] = (1, 1, 1, 1), gate_f_int: int | None = None,
                 gate_norm: bool = False) -> None:
        super().__init__(img_channel, width, middle_blk_num, enc_blk_nums, dec_blk_nums)
        if gate_f_int is not None:
            _check_int("MIDNet", "gate_f_int", gate_f_int, 1)
        self.gate_f_int, self.gate_norm = gate_f_int, bool(gate_norm)
        self.gates = nn.ModuleList(AttentionGate(c, gate_f_int, gate_norm)
                                   for c in self.decoder_channels())

    def merge(self, level: int, x: Tensor, skip: Tensor) -> Tensor:
        gate = self.gates[level]
        if not _use_strips(gate, x, gate.channels, gate.f_int):
            return x + gate(x, skip)
        # The gate is per pixel: add it strip by strip, in place (no autograd here).
        rows = _strip_rows(x.shape[0] * x.shape[-1] * max(gate.channels, gate.f_int))
        for r0 in range(0, x.shape[-2], rows):
            x[:, :, r0:r0 + rows] += gate(x[:, :, r0:r0 + rows], skip[:, :, r0:r0 + rows])
        return x

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gate_f_int={self.gate_f_int}, gate_norm={self.gate_norm}"


__all__ = ["AttentionGate", "LayerNorm2d", "MIDNet", "NAFBlock", "NAFNet", "SimpleGate"]
