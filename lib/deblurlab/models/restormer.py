"""Restormer — efficient transformer for image restoration, a baseline of paper 001 (MIDNet).

Zamir, Arora, Khan, Hayat, Khan, Yang, "Restormer: Efficient Transformer for High-Resolution
Image Restoration", CVPR 2022. Official code: ``swz30/Restormer``,
``basicsr/models/archs/restormer_arch.py`` (module and parameter names kept here, so the official
checkpoints — e.g. ``motion_deblurring.pth``, whose ``"params"`` entry is the state dict — load
with ``strict=True``). Paper 001 (Wang et al. 2024, ``METHODS.md`` §2) runs Restormer with the
official motion-deblurring weights on SEM images (Table 1) and retrained / fine-tuned on its
108 SEM pairs (Table 2, "25.31 M" parameters).

Architecture (``c = dim``; ``T(n, C, h)`` = ``n`` transformer blocks at ``C`` channels with
``h`` heads; ``n = num_blocks``, ``h = heads``; ▼ = Downsample, ▲ = Upsample)::

    x ─ patch_embed (3×3, in→c)
         └─ encoder_level1 T(n1, c, h1) ─────────────────────── cat ─ decoder_level1 T(n1, 2c, h1)
              ▼ down1_2                                          ▲ up2_1       │
            encoder_level2 T(n2, 2c, h2) ─────── cat ─ 1×1 ─ decoder_level2    refinement
              ▼ down2_3                           ▲ up3_2      T(n2, 2c, h2)   T(n_ref, 2c, h1)
            encoder_level3 T(n3, 4c, h3) ─ cat ─ 1×1 ─ decoder_level3            │
              ▼ down3_4                     ▲ up4_3   T(n3, 4c, h3)            output (3×3, 2c→out)
            latent T(n4, 8c, h4) ───────────┘                                    │
                                                                          (+ x) ─► restored

* **TransformerBlock**: ``x = x + attn(norm1(x)); x = x + ffn(norm2(x))``; the norms are
  per-pixel LayerNorms over channels (``"WithBias"``: ``(x − μ)/√(σ² + 1e-5)·w + b``;
  ``"BiasFree"``: ``x/√(σ² + 1e-5)·w``, the mean is *not* subtracted).
* **MDTA** (``Attention``, multi-Dconv-head transposed attention): ``qkv`` 1×1 conv ``C → 3C``,
  ``qkv_dwconv`` depthwise 3×3 on ``3C``; per head, ``q``, ``k``, ``v`` are
  ``(C/heads) × (H·W)`` matrices; ``q`` and ``k`` are L2-normalised along ``H·W``; the attention
  map ``softmax(q·kᵀ · temperature)`` is ``(C/heads) × (C/heads)`` — its size does not depend on
  the image size (linear cost in ``H·W``). ``temperature``: learnable, one per head, init 1.
  ``project_out`` 1×1.
* **GDFN** (``FeedForward``, gated-Dconv FFN): ``project_in`` 1×1 ``C → 2h`` with
  ``h = int(C · 2.66)``, depthwise 3×3 on ``2h``, split in halves, ``GELU(x₁) · x₂``,
  ``project_out`` 1×1 ``h → C``.
* **Downsample**: 3×3 conv ``C → C/2`` + ``PixelUnshuffle(2)`` (→ ``2C`` at half size);
  **Upsample**: 3×3 conv ``C → 2C`` + ``PixelShuffle(2)`` (→ ``C/2`` at double size).
  Decoder levels 3 and 2 reduce the concatenation with a 1×1 conv; level 1 does not (it works at
  ``2c``, as do the refinement blocks and the output conv). No conv has a bias when
  ``bias=False`` (official default), including ``patch_embed``, which never has one.
* **Global residual**: ``output(·) + x``. With ``dual_pixel_task`` (dual-pixel defocus input, 6
  channels) the residual is instead ``skip_conv(patch_embed(x))`` added before ``output``.

Images in [0, 1] (no shift, no output clamp). Grey images: ``inp_channels = 1`` (the output
defaults to the same number of channels).

Parameter counts (checked in ``tests/test_hinet_restormer.py``)::

    config                                                      RGB (3→3)    grey (1→1)
    official motion deblurring  dim=48, blocks [4,6,6,8], ref 4  26,126,644   26,124,052
    small CPU                   dim=16, blocks [1,1,1,2], ref 1   1,006,739    1,005,875
    tiny (doctest)              dim=8,  blocks [1,1,1,1], ref 1     208,225      207,793

(heads ``[1, 2, 4, 8]``, ``ffn_expansion_factor = 2.66``, ``bias = False``, ``"WithBias"``
LayerNorm everywhere; the Restormer paper reports 26.13 M, MIDNet's Table 2 25.31 M.) The **small
CPU config** ``Restormer(dim=16, num_blocks=[1, 1, 1, 2], num_refinement_blocks=1)`` is
recommended for quick training on 2 CPU cores: a forward + backward pass of a ``4×1×64×64``
batch (grey) took 0.55–0.64 s with one thread (median of 10 timed iterations after 2 warm-up
ones, two runs; ``torch.set_num_threads(1)``, L1 loss, ``loss.backward()``, torch 2.13 CPU, on a
2-core machine that was also running another job, load ≈ 2.8, so expect somewhat less on an
idle machine) — about 2.3× the small HINet despite fewer parameters (attention and GDFN at
full resolution in the level-1 decoder and refinement blocks).

Size: three ×2 down-samplings (pixel-unshuffle), so ``H`` and ``W`` must be multiples of
``size_multiple = 8``; other sizes raise ``ValueError`` — :func:`deblurlab.infer.predict` /
``predict_tiled`` pad to it (the official test script pads reflectively to a multiple of 8).

>>> import torch
>>> model = Restormer(inp_channels=1, dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1)
>>> model.size_multiple
8
>>> model(torch.rand(1, 1, 16, 24)).shape
torch.Size([1, 1, 16, 24])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LAYERNORM_TYPES: tuple[str, ...] = ("WithBias", "BiasFree")


class BiasFree_LayerNorm(nn.Module):  # noqa: N801 — official name
    """Channel LayerNorm without mean subtraction: ``x / √(var_C(x) + 1e-5) · weight``.

    ``(N, C, H, W)`` tensors, normalised over ``C`` at every pixel (the official module works on
    ``(N, H·W, C)``; the result is the same).
    """

    def __init__(self, normalized_shape: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.normalized_shape = (normalized_shape,)

    def forward(self, x: Tensor) -> Tensor:
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return x / torch.sqrt(var + 1e-5) * self.weight.view(1, -1, 1, 1)


class WithBias_LayerNorm(nn.Module):  # noqa: N801 — official name
    """Channel LayerNorm: ``(x − mean_C) / √(var_C + 1e-5) · weight + bias`` at every pixel."""

    def __init__(self, normalized_shape: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))
        self.normalized_shape = (normalized_shape,)

    def forward(self, x: Tensor) -> Tensor:
        mu = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return ((x - mu) / torch.sqrt(var + 1e-5) * self.weight.view(1, -1, 1, 1)
                + self.bias.view(1, -1, 1, 1))


class LayerNorm(nn.Module):
    """``"WithBias"`` or ``"BiasFree"`` channel LayerNorm, held as ``self.body`` (official keys).

    >>> LayerNorm(4, "BiasFree")(torch.rand(1, 4, 3, 5)).shape
    torch.Size([1, 4, 3, 5])
    """

    def __init__(self, dim: int, LayerNorm_type: str) -> None:  # noqa: N803
        super().__init__()
        if LayerNorm_type not in LAYERNORM_TYPES:
            raise ValueError(f"LayerNorm_type must be one of {LAYERNORM_TYPES}, "
                             f"got {LayerNorm_type!r}")
        self.body: nn.Module = (BiasFree_LayerNorm(dim) if LayerNorm_type == "BiasFree"
                                else WithBias_LayerNorm(dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class FeedForward(nn.Module):
    """GDFN: ``project_out(GELU(x₁) · x₂)`` with ``x₁, x₂`` = halves of ``dwconv(project_in(x))``.

    Hidden width ``int(dim · ffn_expansion_factor)``.

    >>> FeedForward(4, 2.66, bias=False)(torch.rand(1, 4, 6, 6)).shape
    torch.Size([1, 4, 6, 6])
    """

    def __init__(self, dim: int, ffn_expansion_factor: float, bias: bool) -> None:
        super().__init__()
        hidden = int(dim * ffn_expansion_factor)
        self.project_in = nn.Conv2d(dim, 2 * hidden, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(2 * hidden, 2 * hidden, kernel_size=3, padding=1,
                                groups=2 * hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)


class Attention(nn.Module):
    """MDTA: transposed (channel) self-attention with a ``(C/heads)²`` map per head.

    >>> attn = Attention(8, num_heads=2, bias=False)
    >>> attn.attention_map(torch.rand(1, 8, 5, 7)).shape
    torch.Size([1, 2, 4, 4])
    """

    def __init__(self, dim: int, num_heads: int, bias: bool) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, 3 * dim, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(3 * dim, 3 * dim, kernel_size=3, padding=1, groups=3 * dim,
                                    bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

    def _heads(self, t: Tensor) -> Tensor:
        n, c, h, w = t.shape
        return t.reshape(n, self.num_heads, c // self.num_heads, h * w)

    def _qkv_map(self, x: Tensor) -> tuple[Tensor, Tensor]:
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q = F.normalize(self._heads(q), dim=-1)
        k = F.normalize(self._heads(k), dim=-1)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        return attn.softmax(dim=-1), self._heads(v)

    def attention_map(self, x: Tensor) -> Tensor:
        """Softmax attention ``(N, heads, C/heads, C/heads)`` of the input ``x`` (inspection)."""
        return self._qkv_map(x)[0]

    def forward(self, x: Tensor) -> Tensor:
        attn, v = self._qkv_map(x)
        return self.project_out((attn @ v).reshape(x.shape))


class TransformerBlock(nn.Module):
    """``x + attn(norm1(x))``, then ``+ ffn(norm2(x))`` (pre-norm, MDTA + GDFN)."""

    def __init__(self, dim: int, num_heads: int, ffn_expansion_factor: float, bias: bool,
                 LayerNorm_type: str) -> None:  # noqa: N803
        super().__init__()
        self.norm1 = LayerNorm(dim, LayerNorm_type)
        self.attn = Attention(dim, num_heads, bias)
        self.norm2 = LayerNorm(dim, LayerNorm_type)
        self.ffn = FeedForward(dim, ffn_expansion_factor, bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class OverlapPatchEmbed(nn.Module):
    """3×3 conv ``in_c → embed_dim`` (stride 1), held as ``self.proj``."""

    def __init__(self, in_c: int = 3, embed_dim: int = 48, bias: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_c, embed_dim, kernel_size=3, padding=1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class Downsample(nn.Module):
    """3×3 conv ``C → C/2`` (no bias) + ``PixelUnshuffle(2)``: ``(C, H, W) → (2C, H/2, W/2)``."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, 3, padding=1, bias=False),
                                  nn.PixelUnshuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """3×3 conv ``C → 2C`` (no bias) + ``PixelShuffle(2)``: ``(C, H, W) → (C/2, 2H, 2W)``."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, 2 * n_feat, 3, padding=1, bias=False),
                                  nn.PixelShuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def _blocks(n: int, dim: int, heads: int, ffn: float, bias: bool, ln: str) -> nn.Sequential:
    return nn.Sequential(*(TransformerBlock(dim, heads, ffn, bias, ln) for _ in range(n)))


def _int_list(name: str, value: object, minimum: int) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 4:
        raise ValueError(f"Restormer: {name} must be a sequence of 4 ints, got {value!r}")
    out = list(value)
    for v in out:
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            raise ValueError(f"Restormer: {name} entries must be ints ≥ {minimum}, got {value!r}")
    return out


class Restormer(nn.Module):
    """Restormer (official ``restormer_arch.Restormer``; 4-level transformer U-Net).

    Args:
        inp_channels: input channels (3; 1 for grey images; 6 for the dual-pixel task).
        out_channels: output channels; default (``None``) ``inp_channels``, or
            ``inp_channels // 2`` with ``dual_pixel_task``. Must equal ``inp_channels`` without
            ``dual_pixel_task`` (global residual).
        dim: channels of level 1 (48 officially); even.
        num_blocks: transformer blocks per level 1–4 (``[4, 6, 6, 8]``); decoder levels 3, 2, 1
            reuse ``num_blocks[2]``, ``[1]``, ``[0]``.
        num_refinement_blocks: blocks after decoder level 1 (4), ≥ 0.
        heads: attention heads per level (``[1, 2, 4, 8]``); ``dim·2^i`` and ``2·dim`` (decoder
            level 1 and refinement use ``heads[0]``) must be divisible by them.
        ffn_expansion_factor: GDFN expansion (2.66).
        bias: biases in the transformer blocks' convs, the 1×1 reductions and ``output``.
        LayerNorm_type: ``"WithBias"`` or ``"BiasFree"``.
        dual_pixel_task: dual-pixel defocus deblurring variant (``skip_conv``, no residual).

    Attributes:
        size_multiple: 8 — ``H`` and ``W`` must be multiples of 8.

    Shape:
        ``(N, inp_channels, H, W) → (N, out_channels, H, W)``.

    Raises:
        ValueError: bad configuration; at forward time a wrong channel count or ``H``/``W`` not
            multiples of 8 (pad with :func:`deblurlab.infer.predict`).
    """

    size_multiple: int = 8

    def __init__(self, inp_channels: int = 3, out_channels: int | None = None, dim: int = 48,
                 num_blocks: Sequence[int] = (4, 6, 6, 8), num_refinement_blocks: int = 4,
                 heads: Sequence[int] = (1, 2, 4, 8), ffn_expansion_factor: float = 2.66,
                 bias: bool = False, LayerNorm_type: str = "WithBias",  # noqa: N803
                 dual_pixel_task: bool = False) -> None:
        super().__init__()
        if not isinstance(inp_channels, int) or isinstance(inp_channels, bool) or inp_channels < 1:
            raise ValueError(f"Restormer: inp_channels must be an int ≥ 1, got {inp_channels!r}")
        if out_channels is None:
            out_channels = inp_channels // 2 if dual_pixel_task else inp_channels
        if not isinstance(out_channels, int) or isinstance(out_channels, bool) or out_channels < 1:
            raise ValueError(f"Restormer: out_channels must be an int ≥ 1, got {out_channels!r}")
        if not dual_pixel_task and out_channels != inp_channels:
            raise ValueError(f"Restormer: the global residual needs out_channels == inp_channels "
                             f"(got {out_channels} and {inp_channels}); only dual_pixel_task "
                             f"allows them to differ")
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 2 or dim % 2:
            raise ValueError(f"Restormer: dim must be an even int ≥ 2 (Downsample halves it "
                             f"before PixelUnshuffle), got {dim!r}")
        blocks = _int_list("num_blocks", num_blocks, 1)
        heads_ = _int_list("heads", heads, 1)
        if (not isinstance(num_refinement_blocks, int) or isinstance(num_refinement_blocks, bool)
                or num_refinement_blocks < 0):
            raise ValueError(f"Restormer: num_refinement_blocks must be an int ≥ 0, "
                             f"got {num_refinement_blocks!r}")
        widths = [dim, 2 * dim, 4 * dim, 8 * dim]
        for level, (c, h) in enumerate(zip(widths, heads_), start=1):
            if c % h:
                raise ValueError(f"Restormer: level {level} has {c} channels, not divisible by "
                                 f"heads[{level - 1}] = {h}")
        if (2 * dim) % heads_[0]:
            raise ValueError(f"Restormer: decoder level 1 has {2 * dim} channels, not divisible "
                             f"by heads[0] = {heads_[0]}")
        if (isinstance(ffn_expansion_factor, bool)
                or not isinstance(ffn_expansion_factor, (int, float))
                or not math.isfinite(ffn_expansion_factor) or int(dim * ffn_expansion_factor) < 1):
            raise ValueError(f"Restormer: ffn_expansion_factor must be a finite number with "
                             f"int(dim · factor) ≥ 1, got {ffn_expansion_factor!r}")
        if LayerNorm_type not in LAYERNORM_TYPES:
            raise ValueError(f"Restormer: LayerNorm_type must be one of {LAYERNORM_TYPES}, "
                             f"got {LayerNorm_type!r}")

        self.inp_channels, self.out_channels, self.dim = inp_channels, out_channels, dim
        self.num_blocks, self.heads = tuple(blocks), tuple(heads_)
        self.num_refinement_blocks = num_refinement_blocks
        self.ffn_expansion_factor, self.bias = float(ffn_expansion_factor), bool(bias)
        self.LayerNorm_type = LayerNorm_type
        self.dual_pixel_task = bool(dual_pixel_task)

        args = (ffn_expansion_factor, bool(bias), LayerNorm_type)
        self.patch_embed = OverlapPatchEmbed(inp_channels, dim)
        self.encoder_level1 = _blocks(blocks[0], dim, heads_[0], *args)
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = _blocks(blocks[1], 2 * dim, heads_[1], *args)
        self.down2_3 = Downsample(2 * dim)
        self.encoder_level3 = _blocks(blocks[2], 4 * dim, heads_[2], *args)
        self.down3_4 = Downsample(4 * dim)
        self.latent = _blocks(blocks[3], 8 * dim, heads_[3], *args)
        self.up4_3 = Upsample(8 * dim)
        self.reduce_chan_level3 = nn.Conv2d(8 * dim, 4 * dim, kernel_size=1, bias=bias)
        self.decoder_level3 = _blocks(blocks[2], 4 * dim, heads_[2], *args)
        self.up3_2 = Upsample(4 * dim)
        self.reduce_chan_level2 = nn.Conv2d(4 * dim, 2 * dim, kernel_size=1, bias=bias)
        self.decoder_level2 = _blocks(blocks[1], 2 * dim, heads_[1], *args)
        self.up2_1 = Upsample(2 * dim)  # no channel reduction at level 1
        self.decoder_level1 = _blocks(blocks[0], 2 * dim, heads_[0], *args)
        self.refinement = _blocks(num_refinement_blocks, 2 * dim, heads_[0], *args)
        if self.dual_pixel_task:
            self.skip_conv = nn.Conv2d(dim, 2 * dim, kernel_size=1, bias=bias)
        self.output = nn.Conv2d(2 * dim, out_channels, kernel_size=3, padding=1, bias=bias)

    def forward(self, inp_img: Tensor) -> Tensor:
        x = inp_img
        if x.ndim != 4 or x.shape[1] != self.inp_channels:
            raise ValueError(f"Restormer expects (N, {self.inp_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"Restormer needs H and W to be multiples of {m}, got {h}×{w}; use "
                             f"deblurlab.infer.predict / predict_tiled, which pad the input")
        emb = self.patch_embed(x)
        enc1 = self.encoder_level1(emb)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        lat = self.latent(self.down3_4(enc3))
        dec3 = self.decoder_level3(
            self.reduce_chan_level3(torch.cat([self.up4_3(lat), enc3], dim=1)))
        dec2 = self.decoder_level2(
            self.reduce_chan_level2(torch.cat([self.up3_2(dec3), enc2], dim=1)))
        dec1 = self.decoder_level1(torch.cat([self.up2_1(dec2), enc1], dim=1))
        dec1 = self.refinement(dec1)
        if self.dual_pixel_task:
            return self.output(dec1 + self.skip_conv(emb))
        return self.output(dec1) + x

    def extra_repr(self) -> str:
        return (f"inp_channels={self.inp_channels}, out_channels={self.out_channels}, "
                f"dim={self.dim}, num_blocks={list(self.num_blocks)}, "
                f"num_refinement_blocks={self.num_refinement_blocks}, heads={list(self.heads)}, "
                f"ffn_expansion_factor={self.ffn_expansion_factor}, bias={self.bias}, "
                f"LayerNorm_type={self.LayerNorm_type!r}, dual_pixel_task={self.dual_pixel_task}")


#: Aliases with the paper's names.
MDTA = Attention
GDFN = FeedForward

#: Official motion-deblurring configuration (= the official class defaults).
MOTION_DEBLURRING_CONFIG: dict[str, object] = {
    "inp_channels": 3, "out_channels": 3, "dim": 48, "num_blocks": [4, 6, 6, 8],
    "num_refinement_blocks": 4, "heads": [1, 2, 4, 8], "ffn_expansion_factor": 2.66,
    "bias": False, "LayerNorm_type": "WithBias", "dual_pixel_task": False}
#: Recommended small configuration for quick training on 2 CPU cores (1,006,739 parameters
#: RGB, 1,005,875 grey).
SMALL_CPU_CONFIG: dict[str, object] = {"dim": 16, "num_blocks": [1, 1, 1, 2],
                                       "num_refinement_blocks": 1, "heads": [1, 2, 4, 8]}
#: Exact parameter count of ``Restormer(**MOTION_DEBLURRING_CONFIG)``.
MOTION_DEBLURRING_PARAMETERS: int = 26_126_644

__all__ = ["GDFN", "LAYERNORM_TYPES", "MDTA", "MOTION_DEBLURRING_CONFIG",
           "MOTION_DEBLURRING_PARAMETERS", "SMALL_CPU_CONFIG", "Attention", "BiasFree_LayerNorm",
           "Downsample", "FeedForward", "LayerNorm", "OverlapPatchEmbed", "Restormer",
           "TransformerBlock", "Upsample", "WithBias_LayerNorm"]
