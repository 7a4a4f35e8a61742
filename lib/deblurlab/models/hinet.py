"""HINet — Half Instance Normalization Network, a baseline of paper 001 (MIDNet on SEM).

Chen, Lu, Zhang, Chu, Chen, "HINet: Half Instance Normalization Network for Image Restoration",
CVPR Workshops 2021. Official code: ``megvii-model/HINet``,
``basicsr/models/archs/hinet_arch.py`` (module and parameter names kept here, so the official
checkpoints — e.g. ``HINet-GoPro.pth``, whose ``"params"`` entry is the state dict — load with
``strict=True``). Paper 001 (Wang et al. 2024, ``METHODS.md`` §2) runs HINet twice: with the
official GoPro weights on SEM images (Table 1) and retrained / fine-tuned on its 108 SEM pairs
(Table 2, "88.6 M" parameters).

Architecture (``d = depth``, ``w = wf``; level ``i`` has ``w·2^i`` channels; E = encoder
block, D = decoder block, ▼ = conv 4×4 stride 2, ▲ = transposed conv 2×2 stride 2)::

    stage 1 (down_path_1, up_path_1, skip_conv_1)
    x ─ conv_01 ─ E¹₀ ──── skip_conv_1 ────────────────► D¹₀ ─ sam12 ─┬─► out_1 (image, + x)
                   ▼                                     ▲            └─► feat
                  E¹₁ ──── skip_conv_1 ───────► D¹₁ ─────┘
                   ▼                            ▲
                  ...   E¹_{d−1} (no ▼) ── ... ─┘

    stage 2 (down_path_2, up_path_2, skip_conv_2): the same U-Net, own weights, plus
    x ─ conv_02 ─┬─ cat12 (1×1, 2w→w) ─ E²₀ ─ ... ─ D²₀ ─ last (3×3) ─ (+ x) ─► out_2
          feat ──┘            E²ᵢ += csff_enc(E¹ᵢ) + csff_dec(D¹ᵢ)   for i < d − 1 (CSFF)

* **Encoder block** ``UNetConvBlock`` (E): ``conv3×3 → [HIN] → LeakyReLU(0.2) → conv3×3 →
  LeakyReLU(0.2)``, plus a 1×1 ``identity`` shortcut of the block input. Every level but the
  deepest ends with ``downsample`` = conv 4×4 stride 2 (no bias); the block returns both the
  down-sampled map and the full-resolution one (the skip).
* **HIN** (half instance normalisation): after the first conv the channels are split in two;
  ``InstanceNorm2d(C/2, affine=True)`` normalises the first half, the second half passes
  untouched. Used in encoder levels ``hin_position_left ≤ i ≤ hin_position_right`` of both
  stages; never in decoder blocks. The class defaults (0..4, every level) are the official
  class defaults and the SIDD denoising configs; the official **GoPro and REDS deblurring
  configs use 3..4** (the two deepest levels; ``options/{train,test}/GoPro/HINet*.yml``), and
  only that layout loads ``HINet-GoPro.pth`` with ``strict=True`` — use
  ``HINet(**GOPRO_CONFIG)``.
* **Decoder block** ``UNetUpBlock`` (D): transposed conv 2×2 stride 2 (``C → C/2``), concatenated
  with ``skip_conv_k(skip)`` (a 3×3 conv of the encoder output), then a ``UNetConvBlock`` without
  HIN and without down-sampling.
* **SAM** (supervised attention module, from MPRNet): ``out_1 = conv2(f) + x`` is the stage-1
  image; ``feat = f + conv1(f) · σ(conv3(out_1))`` is passed to stage 2.
* **CSFF** (cross-stage feature fusion): every stage-2 encoder level that down-samples adds
  ``csff_enc(E¹ᵢ) + csff_dec(D¹ᵢ)`` (3×3 convs) to its output before down-sampling.
* Stage 2 starts from ``cat12(concat(conv_02(x), feat))`` (1×1 conv ``2w → w``) and ends with
  ``last`` (3×3 conv ``w → in_chn``) plus the **global residual** ``+ x``.

Outputs. The official ``forward`` returns the list ``[out_1, out_2]`` and trains both with
PSNR loss (deep supervision). Here ``forward(x)`` returns the final stage-2 image ``out_2``;
``forward(x, return_all=True)`` (or ``HINet(..., return_all=True)``) returns ``[out_1, out_2]``
as the official code does, e.g. for ``loss = sum(crit(o, y) for o in model(x, return_all=True))``
(the official GoPro recipe: PSNR loss, weight 0.5, on both outputs; Adam 2e-4, cosine to 1e-7,
400k iterations, 256² crops).
Images in [0, 1] (no shift, no output clamp).

Grey images: ``in_chn = 1``. The official SAM hard-codes 3 image channels (``conv2: C → 3``,
``conv3: 3 → C``); here SAM uses ``in_chn`` channels, identical for ``in_chn = 3``.

Initialisation: PyTorch's default (the official ``HINet.__init__`` never calls its own
``_initialize``); ``init="orthogonal"`` applies that unused scheme (orthogonal weights, gain
``calculate_gain('leaky_relu', 0.2)``, zero biases).

Parameter counts (bias included; ``relu_slope`` has no parameters; each HIN level adds ``C``
affine parameters per stage; checked in ``tests/test_hinet_restormer.py``)::

    config                                              RGB (in_chn = 3)   grey (in_chn = 1)
    official GoPro/REDS  wf=64, depth=5, HIN 3..4           88,668,806         88,663,042
    class defaults       wf=64, depth=5, HIN 0..4           88,669,702         88,663,938
    official SIDD-0.5x   wf=32, depth=5, HIN 0..4           22,176,518         22,173,634
    small CPU            wf=16, depth=4, HIN 2..3            1,383,462          1,382,018
    tiny (doctest)       wf=8,  depth=3, HIN 0..2               86,278             85,554

(The HINet paper reports 88.67 M; MIDNet's Table 2 lists 88.6 M.) The **small CPU config**
``HINet(wf=16, depth=4, hin_position_left=2, hin_position_right=3)`` (``SMALL_CPU_CONFIG``;
HIN in the two deepest levels, like the GoPro recipe) is recommended for quick training on 2
CPU cores: a forward + backward pass of a ``4×1×64×64`` batch (grey) took 0.24–0.28 s with one
thread (median of 10 timed iterations after 2 warm-up ones, two runs; ``torch.set_num_threads(1)``,
L1 loss on ``out_2``, ``loss.backward()``, torch 2.13 CPU, on a 2-core machine that was also
running another job, load ≈ 2.8, so expect somewhat less on an idle machine).

Testing. The official GoPro test config evaluates with ``grids: true, crop_size: 256``: the
image is cut into 256×256 crops that are restored separately and stitched — the "patch-based
testing strategy" MIDNet blames for HINet's stripe artifacts. Whole-image inference
(:func:`deblurlab.infer.predict`) or overlapping tiles (``predict_tiled``) avoid the seams.

Size: ``depth − 1`` ×2 down-samplings, so ``H`` and ``W`` must be multiples of
``size_multiple = 2**(depth − 1)`` (16 for the official config); other sizes raise
``ValueError`` — :func:`deblurlab.infer.predict` / ``predict_tiled`` pad to it. A HIN level
also needs more than one pixel, so with HIN in the deepest level (official configs) an
``m × m`` input (``m = size_multiple``) is too small: use at least ``2m × m``.

>>> import torch
>>> model = HINet(in_chn=1, wf=8, depth=3, hin_position_right=2)
>>> model.size_multiple
4
>>> model(torch.rand(1, 1, 16, 24)).shape
torch.Size([1, 1, 16, 24])
>>> [o.shape[1] for o in model(torch.rand(1, 1, 16, 24), return_all=True)]
[1, 1]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

INITS: tuple[str, ...] = ("torch", "orthogonal")


def _conv(c_in: int, c_out: int, kernel_size: int, bias: bool = True) -> nn.Conv2d:
    """``same``-padded conv (odd ``kernel_size``)."""
    return nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=bias)


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int ≥ {minimum}, got {value!r}")
    return value


class SAM(nn.Module):
    """Supervised attention module (MPRNet / HINet ``sam12``).

    ``img = conv2(x) + x_img``; ``x + conv1(x) · sigmoid(conv3(img))`` and ``img`` are returned.
    ``img_channels = 3`` is the official module; other values support grey images.

    Shape:
        ``x (N, n_feat, H, W)``, ``x_img (N, img_channels, H, W)`` →
        ``((N, n_feat, H, W), (N, img_channels, H, W))``.

    >>> feat, img = SAM(4, img_channels=1)(torch.rand(1, 4, 8, 8), torch.rand(1, 1, 8, 8))
    >>> feat.shape, img.shape
    (torch.Size([1, 4, 8, 8]), torch.Size([1, 1, 8, 8]))
    """

    def __init__(self, n_feat: int, kernel_size: int = 3, bias: bool = True,
                 img_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = _conv(n_feat, n_feat, kernel_size, bias)
        self.conv2 = _conv(n_feat, img_channels, kernel_size, bias)
        self.conv3 = _conv(img_channels, n_feat, kernel_size, bias)

    def forward(self, x: Tensor, x_img: Tensor) -> tuple[Tensor, Tensor]:
        img = self.conv2(x) + x_img
        gate = torch.sigmoid(self.conv3(img))
        return x + self.conv1(x) * gate, img


class UNetConvBlock(nn.Module):
    """HINet residual conv block with optional HIN, CSFF and 4×4 stride-2 down-sampling.

    ``out = LReLU(conv_2(LReLU(HIN(conv_1(x))))) + identity(x)`` [``+ csff_enc(enc) +
    csff_dec(dec)``]. With ``downsample`` the block returns ``(downsample(out), out)``,
    otherwise ``out``. HIN needs an even ``out_size``.

    >>> block = UNetConvBlock(2, 4, downsample=True, relu_slope=0.2, use_HIN=True)
    >>> [t.shape[-1] for t in block(torch.rand(1, 2, 8, 8))]
    [4, 8]
    """

    def __init__(self, in_size: int, out_size: int, downsample: bool, relu_slope: float,
                 use_csff: bool = False, use_HIN: bool = False) -> None:  # noqa: N803
        super().__init__()
        if use_HIN and out_size % 2:
            raise ValueError(f"UNetConvBlock: HIN splits channels in halves, out_size must be "
                             f"even, got {out_size}")
        self.use_csff = use_csff
        self.use_HIN = use_HIN
        self.identity = nn.Conv2d(in_size, out_size, 1)
        self.conv_1 = _conv(in_size, out_size, 3)
        self.relu_1 = nn.LeakyReLU(relu_slope)
        self.conv_2 = _conv(out_size, out_size, 3)
        self.relu_2 = nn.LeakyReLU(relu_slope)
        if downsample and use_csff:
            self.csff_enc = _conv(out_size, out_size, 3)
            self.csff_dec = _conv(out_size, out_size, 3)
        if use_HIN:
            self.norm = nn.InstanceNorm2d(out_size // 2, affine=True)
        # official: ``self.downsample`` is the conv module, or ``False`` when absent
        self.downsample: nn.Conv2d | None = (
            nn.Conv2d(out_size, out_size, 4, stride=2, padding=1, bias=False)
            if downsample else None)

    def half_instance_norm(self, x: Tensor) -> Tensor:
        """HIN: instance-normalise the first half of the channels, pass the rest unchanged.

        >>> block = UNetConvBlock(1, 4, downsample=False, relu_slope=0.2, use_HIN=True)
        >>> y = block.half_instance_norm(5 + torch.rand(1, 4, 8, 8))
        >>> bool(y[:, :2].mean().abs() < 1e-5), bool(y[:, 2:].min() >= 5)
        (True, True)
        """
        first, second = torch.chunk(x, 2, dim=1)
        return torch.cat([self.norm(first), second], dim=1)

    def forward(self, x: Tensor, enc: Tensor | None = None,
                dec: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        out = self.conv_1(x)
        if self.use_HIN:
            out = self.half_instance_norm(out)
        out = self.relu_2(self.conv_2(self.relu_1(out)))
        out = out + self.identity(x)
        if enc is not None and dec is not None:
            if not hasattr(self, "csff_enc"):
                raise ValueError("UNetConvBlock: enc/dec features given to a block without CSFF")
            out = out + self.csff_enc(enc) + self.csff_dec(dec)
        if self.downsample is not None:
            return self.downsample(out), out
        return out


class UNetUpBlock(nn.Module):
    """Decoder block: ``ConvTranspose2d(in→out, 2, stride 2)``, concat the bridge, conv block.

    The bridge has ``out_size`` channels, so ``in_size = 2·out_size`` in HINet.

    >>> UNetUpBlock(8, 4, 0.2)(torch.rand(1, 8, 4, 4), torch.rand(1, 4, 8, 8)).shape
    torch.Size([1, 4, 8, 8])
    """

    def __init__(self, in_size: int, out_size: int, relu_slope: float) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_size, out_size, kernel_size=2, stride=2)
        self.conv_block = UNetConvBlock(in_size, out_size, False, relu_slope)

    def forward(self, x: Tensor, bridge: Tensor) -> Tensor:
        out = self.conv_block(torch.cat([self.up(x), bridge], dim=1))
        assert isinstance(out, Tensor)
        return out


class HINet(nn.Module):
    """Two-stage HINet (official ``hinet_arch.HINet``), returning the stage-2 image by default.

    Args:
        in_chn: image channels in and out (3 officially; 1 for grey images).
        wf: channels of the first level (64 officially; level ``i`` has ``wf·2^i``). Must be
            even when level 0 uses HIN.
        depth: number of U-Net levels (5 officially); ``depth − 1`` down-samplings.
        relu_slope: negative slope of the LeakyReLUs (0.2).
        hin_position_left, hin_position_right: encoder levels ``i`` with ``left ≤ i ≤ right``
            use HIN (defaults 0 and 4 as the official class; the official GoPro deblurring
            config uses 3 and 4, see ``GOPRO_CONFIG``). ``left > right`` disables HIN.
        return_all: default of ``forward``'s ``return_all`` (``False``: return ``out_2`` only).
        init: ``"torch"`` (default init, as the official model) or ``"orthogonal"``.

    Attributes:
        size_multiple: ``2**(depth − 1)`` — ``H`` and ``W`` must be multiples of it.
        depth, in_chn, wf, relu_slope, hin_position_left, hin_position_right, return_all.

    Shape:
        ``(N, in_chn, H, W) → (N, in_chn, H, W)`` (or a list of two such tensors).

    Raises:
        ValueError: bad configuration; at forward time a wrong channel count or ``H``/``W`` not
            multiples of ``size_multiple`` (pad with :func:`deblurlab.infer.predict`).

    >>> HINet(wf=4, depth=2).size_multiple
    2
    """

    size_multiple: int = 16  # official depth 5; set per instance to 2**(depth - 1)

    def __init__(self, in_chn: int = 3, wf: int = 64, depth: int = 5, relu_slope: float = 0.2,
                 hin_position_left: int = 0, hin_position_right: int = 4, *,
                 return_all: bool = False, init: str = "torch") -> None:
        super().__init__()
        _check_int("HINet", "in_chn", in_chn, 1)
        _check_int("HINet", "wf", wf, 1)
        _check_int("HINet", "depth", depth, 1)
        _check_int("HINet", "hin_position_left", hin_position_left, 0)
        _check_int("HINet", "hin_position_right", hin_position_right, -1)
        if (isinstance(relu_slope, bool) or not isinstance(relu_slope, (int, float))
                or not math.isfinite(relu_slope) or relu_slope < 0):
            raise ValueError(f"HINet: relu_slope must be a finite number ≥ 0, got {relu_slope!r}")
        if init not in INITS:
            raise ValueError(f"HINet: init must be one of {INITS}, got {init!r}")
        if wf % 2 and hin_position_left <= 0 <= hin_position_right:
            raise ValueError(f"HINet: HIN at level 0 splits wf channels in halves, wf must be "
                             f"even, got wf={wf}")

        self.in_chn, self.wf, self.depth, self.relu_slope = in_chn, wf, depth, float(relu_slope)
        self.hin_position_left, self.hin_position_right = hin_position_left, hin_position_right
        self.return_all, self.init = bool(return_all), init
        self.size_multiple = 2 ** (depth - 1)

        self.conv_01 = nn.Conv2d(in_chn, wf, 3, padding=1)
        self.conv_02 = nn.Conv2d(in_chn, wf, 3, padding=1)
        self.down_path_1 = nn.ModuleList()
        self.down_path_2 = nn.ModuleList()
        prev = wf
        for i in range(depth):
            use_hin = hin_position_left <= i <= hin_position_right
            down = i + 1 < depth
            out = wf * 2 ** i
            self.down_path_1.append(UNetConvBlock(prev, out, down, relu_slope, use_HIN=use_hin))
            self.down_path_2.append(UNetConvBlock(prev, out, down, relu_slope, use_csff=down,
                                                  use_HIN=use_hin))
            prev = out

        self.up_path_1 = nn.ModuleList()
        self.up_path_2 = nn.ModuleList()
        self.skip_conv_1 = nn.ModuleList()
        self.skip_conv_2 = nn.ModuleList()
        for i in reversed(range(depth - 1)):
            out = wf * 2 ** i
            self.up_path_1.append(UNetUpBlock(prev, out, relu_slope))
            self.up_path_2.append(UNetUpBlock(prev, out, relu_slope))
            self.skip_conv_1.append(_conv(out, out, 3))
            self.skip_conv_2.append(_conv(out, out, 3))
            prev = out
        self.sam12 = SAM(prev, img_channels=in_chn)
        self.cat12 = nn.Conv2d(2 * prev, prev, 1)
        self.last = _conv(prev, in_chn, 3)
        if init == "orthogonal":
            self.orthogonal_init_()

    def orthogonal_init_(self) -> HINet:
        """The official, unused ``_initialize``: orthogonal conv weights, zero biases."""
        gain = nn.init.calculate_gain("leaky_relu", 0.2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.orthogonal_(m.weight, gain=gain)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        return self

    def forward(self, x: Tensor, return_all: bool | None = None) -> Tensor | list[Tensor]:
        """Restore ``x``; ``return_all`` (default ``self.return_all``) → ``[out_1, out_2]``."""
        if x.ndim != 4 or x.shape[1] != self.in_chn:
            raise ValueError(f"HINet expects (N, {self.in_chn}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"HINet(depth={self.depth}) needs H and W to be multiples of {m}, "
                             f"got {h}×{w}; use deblurlab.infer.predict / predict_tiled, which "
                             f"pad the input")
        deepest_hin = min(self.hin_position_right, self.depth - 1)
        if self.hin_position_left <= deepest_hin and (h >> deepest_hin) * (w >> deepest_hin) < 2:
            raise ValueError(f"HINet: instance normalisation at level {deepest_hin} needs more "
                             f"than one pixel there, got {h}×{w} input (→ 1×1); use a larger "
                             f"input, e.g. {2 * m}×{m}")
        # stage 1
        f = self.conv_01(x)
        encs: list[Tensor] = []
        for block in self.down_path_1:
            res = block(f)
            if isinstance(res, tuple):
                f, skip = res
                encs.append(skip)
            else:
                f = res
        decs: list[Tensor] = []
        for i, (up, skip_conv) in enumerate(zip(self.up_path_1, self.skip_conv_1)):
            f = up(f, skip_conv(encs[-i - 1]))
            decs.append(f)
        feat, out_1 = self.sam12(f, x)
        # stage 2
        f = self.cat12(torch.cat([self.conv_02(x), feat], dim=1))
        blocks: list[Tensor] = []
        for i, block in enumerate(self.down_path_2):
            if i + 1 < self.depth:
                f, skip = block(f, encs[i], decs[-i - 1])
                blocks.append(skip)
            else:
                f = block(f)
        for i, (up, skip_conv) in enumerate(zip(self.up_path_2, self.skip_conv_2)):
            f = up(f, skip_conv(blocks[-i - 1]))
        out_2 = self.last(f) + x
        if self.return_all if return_all is None else return_all:
            return [out_1, out_2]
        return out_2

    def extra_repr(self) -> str:
        return (f"in_chn={self.in_chn}, wf={self.wf}, depth={self.depth}, "
                f"relu_slope={self.relu_slope}, hin_position_left={self.hin_position_left}, "
                f"hin_position_right={self.hin_position_right}, return_all={self.return_all}")


#: Official GoPro (and REDS) deblurring configuration (``options/train/GoPro/HINet.yml``): HIN in
#: levels 3..4 only. Only this layout loads the official ``HINet-GoPro.pth`` with ``strict=True``.
GOPRO_CONFIG: dict[str, int | float] = {"in_chn": 3, "wf": 64, "depth": 5, "relu_slope": 0.2,
                                        "hin_position_left": 3, "hin_position_right": 4}
#: Exact parameter count of ``HINet(**GOPRO_CONFIG)``.
GOPRO_PARAMETERS: int = 88_668_806
#: Exact parameter count of ``HINet()`` (class defaults, HIN in every level).
DEFAULT_PARAMETERS: int = 88_669_702
#: Recommended small configuration for quick training on 2 CPU cores (1,383,462 parameters RGB,
#: 1,382,018 grey).
SMALL_CPU_CONFIG: dict[str, int | float] = {"wf": 16, "depth": 4, "hin_position_left": 2,
                                            "hin_position_right": 3}

__all__ = ["DEFAULT_PARAMETERS", "GOPRO_CONFIG", "GOPRO_PARAMETERS", "HINet", "INITS", "SAM",
           "SMALL_CPU_CONFIG", "UNetConvBlock", "UNetUpBlock"]
