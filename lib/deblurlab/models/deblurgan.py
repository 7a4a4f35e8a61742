"""DeblurGAN-v2 "lite" (Kupyn et al., ICCV 2019): FPN-MobileNetV2 generator and the two
discriminators of its "double GAN" — paper 002's baseline (Wieslander et al. 2021; METHODS §3.8).

Official code: ``VITA-Group/DeblurGANv2`` (``models/fpn_mobilenet.py``, ``models/networks.py``).
Everything here is plain torch (no torchvision).

**Trained from scratch.** The official lightweight model starts from an ImageNet MobileNetV2.
No MobileNetV2 ImageNet weights are available offline for this project (nor is torchvision),
so the backbone is randomly initialised (torchvision's init: Kaiming-normal fan-out convolutions,
BatchNorm 1/0). The ``features`` layout and parameter names follow torchvision's
``mobilenet_v2().features`` exactly, so a torchvision state dict would load if one appears.

MobileNetV2 (Sandler et al. 2018)
---------------------------------
``features[0]`` = conv 3×3 stride 2 → 32 + BN + ReLU6, then inverted residual blocks from the
layer table :data:`INVERTED_RESIDUAL_SETTING` (expansion t, channels c, repeats n, stride s of
the first repeat), then ``features[18]`` = conv 1×1 → 1280 + BN + ReLU6. A block is
expand 1×1 (omitted when t = 1) → depthwise 3×3 → linear project 1×1, each followed by BN,
ReLU6 after the first two; residual add when stride 1 and in = out channels. The FPN uses

========== ======== ======== ======== ======== =========
slice      [0:2]    [2:4]    [4:7]    [7:11]   [11:16]
stride     2        4        8        16       32
channels   16       24       32       64       160
========== ======== ======== ======== ======== =========

(width 1.0; :func:`make_divisible` rounds ``c · width_mult`` to multiples of 8 like
torchvision). With 3 input channels and no classifier MobileNetV2 has 2,223,872 parameters.

Generator (:class:`FPNMobileNet`)
---------------------------------
Input ``(B, in_ch, H, W)`` in [0, 1] — for paper 002, three registered adjacent frames as the
three channels — mapped to [−1, 1] (``2x − 1``) as the official data pipeline does. Encoder =
``features[0:16]`` (the unused ``features[16:19]`` of the repo's backbone are left out). Lateral
1×1 convolutions without bias bring the five maps to ``width`` = 128 channels (``width // 2`` = 64
for the stride-2 map); top-down: ``map4 = lat4``, ``map_k = td(lat_k + up2(map_{k+1}))`` with
``td`` = conv 3×3 + norm + ReLU. Four heads (conv 3×3 128→64, ReLU, conv 3×3 64→64, ReLU, no
bias) on map1…map4, nearest-upsampled to 1/4 resolution and concatenated (256) → conv 3×3 → 64 +
norm + ReLU → (+ stride-2 lateral after ×2 nearest) → conv 3×3 → 32 + norm + ReLU → ×2 → conv
3×3 → ``out_ch``. Output ``clamp(tanh(out) + residual, −1, 1)`` mapped back to [0, 1] by
``(y + 1) / 2``. The residual is the input itself when ``out_ch == in_ch``, else (grey output
from a frame stack) the centre frame, channel ``in_ch // 2``. ``H`` and ``W`` must be multiples
of 32 (``size_multiple``); :func:`deblurlab.infer.predict` pads to it. The backbone's BatchNorm
needs more than one value per channel in training, so train on crops of ≥ 64 px when the batch
holds one image (the stride-32 map of a 32-px crop is 1×1).

Norms: ``"instance"`` = ``InstanceNorm2d(affine=False)`` with per-image statistics in training
and evaluation. The repo builds ``InstanceNorm2d(affine=False, track_running_stats=True)``, which
would use running averages in eval mode, and therefore runs inference in *train* mode
(``predict.py``: "GAN inference should be in train mode … it's not a bug"); ``"instance"`` gives
that same per-image behaviour in eval mode. ``"instance_running"`` reproduces the repo's layer
literally. The backbone keeps BatchNorm (running statistics in eval mode — unlike the repo's
train-mode inference, which uses the statistics of the test batch).

Discriminators (:class:`NLayerDiscriminator`)
---------------------------------------------
pix2pix-style: conv 4×4 stride 2 (pad 2) + LeakyReLU 0.2, then ``n_layers − 1`` × [conv 4×4
stride 2 + InstanceNorm + LeakyReLU] with ``ndf·min(2^k, 8)`` channels, one stride-1 conv 4×4 +
norm + LeakyReLU, and a stride-1 conv 4×4 → 1 channel (no sigmoid). ``n_layers = 3`` is the
PatchGAN (receptive field 70 px), ``n_layers = 5`` the repo's "full" discriminator (286 px).
Convolutions keep their bias (the repo's ``use_bias = True`` for InstanceNorm). Instance
normalisation couples every output to the whole image through its statistics, so the receptive
field is exact only with ``norm="none"``.

Parameter counts (``count_parameters``): generator, in 3 → out 1, width 128, backbone 1.0:
2,106,049 (backbone 1,017,792); small CPU config ``width=32, backbone_width=0.25``: 146,961.
Discriminators, ndf 64, 1 input channel: patch 2,762,689, full 11,152,321 (ndf 16: 174,577 and
699,121).

>>> import torch
>>> g = FPNMobileNet(in_ch=3, out_ch=1, width=32, backbone_width=0.25)
>>> y = g(torch.rand(2, 3, 64, 64))
>>> tuple(y.shape), bool(y.min() >= 0 and y.max() <= 1)
((2, 1, 64, 64), True)
>>> PatchDiscriminator(ndf=8).receptive_field, FullDiscriminator(ndf=8).receptive_field
(70, 286)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["FPN_SLICES", "INVERTED_RESIDUAL_SETTING", "FPNMobileNet", "FullDiscriminator",
           "InvertedResidual", "MobileNetV2", "NLayerDiscriminator", "PatchDiscriminator",
           "make_divisible"]

#: MobileNetV2 layer table (width 1.0): (expansion t, output channels c, repeats n, stride s).
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

#: ``features`` slices of the five FPN encoder stages (strides 2, 4, 8, 16, 32).
FPN_SLICES: tuple[tuple[int, int], ...] = ((0, 2), (2, 4), (4, 7), (7, 11), (11, 16))


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor`` (never below ``min_value`` or
    ``divisor``, never more than 10 % below ``v``) — torchvision's ``_make_divisible``.

    >>> make_divisible(32 * 0.25), make_divisible(24 * 0.5), make_divisible(160 * 0.35)
    (8, 16, 56)
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return int(new_v)


class ConvBNReLU6(nn.Sequential):
    """conv k×k (no bias) + BatchNorm + ReLU6 — torchvision's ``Conv2dNormActivation`` layout
    (keys ``0.weight``, ``1.weight`` …)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [expand 1×1 + BN + ReLU6] → depthwise 3×3 + BN + ReLU6 → project
    1×1 + BN (linear); ``x + block(x)`` when ``stride == 1`` and ``cin == cout``.

    >>> InvertedResidual(16, 16, 1, 6).use_res_connect, InvertedResidual(16, 24, 2, 6).stride
    (True, 2)
    """

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.stride = stride
        hidden = int(round(cin * expand_ratio))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width multiplier ``width_mult``) with torchvision's ``features`` layout.

    Args:
        in_ch: input channels (3 registered frames for paper 002).
        width_mult: channel multiplier (rounded by :func:`make_divisible` to ``round_nearest``).
        num_classes: ``None`` (default) = no classifier, the feature extractor only; else a
            dropout-0.2 + linear classifier after global average pooling, as in torchvision.
        round_nearest: channel rounding.

    Attributes:
        features: ``nn.Sequential`` of 19 modules, indexable/sliceable like torchvision's.
        stage_channels: output channels of the :data:`FPN_SLICES` stages.

    Random init only (no pretrained weights offline): Kaiming-normal (fan-out) convolutions,
    BatchNorm weight 1 / bias 0, linear N(0, 0.01).

    >>> m = MobileNetV2()
    >>> len(m.features), m.stage_channels, sum(p.numel() for p in m.parameters())
    (19, (16, 24, 32, 64, 160), 2223872)
    """

    def __init__(self, in_ch: int = 3, width_mult: float = 1.0, num_classes: int | None = None,
                 round_nearest: int = 8) -> None:
        super().__init__()
        if not width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {width_mult!r}")
        if in_ch < 1:
            raise ValueError(f"in_ch must be ≥ 1, got {in_ch}")
        cin = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        layers: list[nn.Module] = [ConvBNReLU6(in_ch, cin, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            cout = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(ConvBNReLU6(cin, self.last_channel, kernel=1))
        self.features = nn.Sequential(*layers)
        self.in_ch, self.width_mult = in_ch, float(width_mult)
        self.stage_channels = tuple(_out_channels(self.features[b - 1]) for _, b in FPN_SLICES)
        self.classifier = None if num_classes is None else nn.Sequential(
            nn.Dropout(0.2), nn.Linear(self.last_channel, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def stages(self, x: Tensor) -> list[Tensor]:
        """The five FPN encoder maps (strides 2, 4, 8, 16, 32) for ``x``."""
        return _run_stages(self.features, x)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        if self.classifier is None:
            return x
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _out_channels(block: nn.Module) -> int:
    if isinstance(block, InvertedResidual):
        return block.out_channels
    return block[0].out_channels  # ConvBNReLU6


def _run_stages(features: nn.Sequential, x: Tensor) -> list[Tensor]:
    out = []
    for a, b in FPN_SLICES:
        for i in range(a, b):
            x = features[i](x)
        out.append(x)
    return out


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "instance_running":  # the repo's layer (running stats used in eval mode)
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'instance', 'instance_running', 'batch' or 'none', "
                     f"got {kind!r}")


def _conv_norm_relu(cin: int, cout: int, norm: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), _norm(norm, cout),
                         nn.ReLU(inplace=True))


class FPNHead(nn.Module):
    """conv 3×3 → ReLU → conv 3×3 → ReLU (no bias), the repo's ``FPNHead``."""

    def __init__(self, cin: int, cmid: int, cout: int) -> None:
        super().__init__()
        self.block0 = nn.Conv2d(cin, cmid, 3, padding=1, bias=False)
        self.block1 = nn.Conv2d(cmid, cout, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.block1(F.relu(self.block0(x))))


class FPNMobileNet(nn.Module):
    """DeblurGAN-v2 lightweight generator: FPN on a MobileNetV2 backbone (module doc).

    Args:
        in_ch: input channels (stacked registered frames; 3 for paper 002).
        out_ch: output channels; must equal ``in_ch`` or be 1 (residual = centre frame).
        width: FPN channels (128 in the repo); heads and the first smoothing use ``width // 2``,
            the second ``width // 4``; must be a multiple of 4.
        backbone_width: MobileNetV2 width multiplier (1.0 in the repo).
        norm: ``"instance"`` (default), ``"instance_running"`` (the repo's literal layer),
            ``"batch"`` or ``"none"`` for the FPN/decoder norms (the backbone keeps BatchNorm).

    Shapes:
        ``(B, in_ch, H, W)`` in [0, 1] → ``(B, out_ch, H, W)`` in [0, 1]; ``H``, ``W``
        multiples of 32.

    The backbone starts random (no ImageNet weights offline — see module doc);
    :meth:`backbone_parameters` lists it for the repo's frozen-backbone warm-up.
    """

    size_multiple = 32

    def __init__(self, in_ch: int = 3, out_ch: int = 1, *, width: int = 128,
                 backbone_width: float = 1.0, norm: str = "instance") -> None:
        super().__init__()
        if out_ch not in (1, in_ch):
            raise ValueError(f"out_ch must be 1 (residual = centre frame) or in_ch={in_ch}, "
                             f"got {out_ch}")
        if width < 4 or width % 4:
            raise ValueError(f"width must be a positive multiple of 4, got {width}")
        _norm(norm, 4)  # validate early
        self.in_ch, self.out_ch, self.width, self.norm = in_ch, out_ch, width, norm
        self.residual_channel = in_ch // 2 if out_ch == 1 else None
        backbone = MobileNetV2(in_ch, backbone_width)
        self.features = nn.Sequential(*list(backbone.features)[:FPN_SLICES[-1][1]])
        c0, c1, c2, c3, c4 = backbone.stage_channels
        half, quarter = width // 2, width // 4
        self.lateral0 = nn.Conv2d(c0, half, 1, bias=False)
        self.lateral1 = nn.Conv2d(c1, width, 1, bias=False)
        self.lateral2 = nn.Conv2d(c2, width, 1, bias=False)
        self.lateral3 = nn.Conv2d(c3, width, 1, bias=False)
        self.lateral4 = nn.Conv2d(c4, width, 1, bias=False)
        self.td1 = _conv_norm_relu(width, width, norm)  # stride 16
        self.td2 = _conv_norm_relu(width, width, norm)  # stride 8
        self.td3 = _conv_norm_relu(width, width, norm)  # stride 4
        self.head1, self.head2, self.head3, self.head4 = (
            FPNHead(width, half, half) for _ in range(4))
        self.smooth = _conv_norm_relu(4 * half, half, norm)
        self.smooth2 = _conv_norm_relu(half, quarter, norm)
        self.final = nn.Conv2d(quarter, out_ch, 3, padding=1)

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the MobileNetV2 encoder (frozen during the repo's warm-up epochs)."""
        return self.features.parameters()

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"expected (B, {self.in_ch}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % 32 or w % 32:
            raise ValueError(f"H and W must be multiples of 32 (size_multiple), got {h}×{w}; "
                             "pad the input (deblurlab.infer.predict does)")
        xs = x * 2 - 1  # [0, 1] → [−1, 1], the repo's input range
        e0, e1, e2, e3, e4 = _run_stages(self.features, xs)
        up = lambda t, k=2: F.interpolate(t, scale_factor=k, mode="nearest")  # noqa: E731
        lat0 = self.lateral0(e0)
        map4 = self.lateral4(e4)
        map3 = self.td1(self.lateral3(e3) + up(map4))
        map2 = self.td2(self.lateral2(e2) + up(map3))
        map1 = self.td3(self.lateral1(e1) + up(map2))
        heads = torch.cat([up(self.head4(map4), 8), up(self.head3(map3), 4),
                           up(self.head2(map2), 2), self.head1(map1)], dim=1)
        smoothed = self.smooth2(up(self.smooth(heads)) + lat0)
        smoothed = up(smoothed)
        out = torch.tanh(self.final(smoothed))
        c = self.residual_channel
        residual = xs if c is None else xs[:, c:c + 1]
        return (torch.clamp(out + residual, -1, 1) + 1) / 2

    def extra_repr(self) -> str:
        return (f"in_ch={self.in_ch}, out_ch={self.out_ch}, width={self.width}, "
                f"norm={self.norm!r}, residual_channel={self.residual_channel}")


class NLayerDiscriminator(nn.Module):
    """pix2pix / DeblurGAN-v2 ``NLayerDiscriminator`` (module doc); output a map of scores.

    Args:
        in_ch: channels of the images judged (1 for grey restorations).
        ndf: channels of the first layer (64 in the repo).
        n_layers: stride-2 layers (3 = PatchGAN, 5 = "full").
        norm: ``"instance"`` (default, ``affine=False``) or ``"none"``.

    Shapes:
        ``(B, in_ch, H, W)`` → ``(B, 1, H', W')``; each of the ``n_layers`` stride-2 layers
        maps ``n`` to ``n // 2 + 1`` and each stride-1 layer adds 1 (4×4 kernels, padding 2).

    >>> NLayerDiscriminator(ndf=8)(torch.rand(2, 1, 64, 64)).shape
    torch.Size([2, 1, 11, 11])
    """

    def __init__(self, in_ch: int = 1, ndf: int = 64, n_layers: int = 3,
                 norm: str = "instance") -> None:
        super().__init__()
        if norm not in ("instance", "none"):
            raise ValueError(f"norm must be 'instance' or 'none', got {norm!r}")
        if n_layers < 1:
            raise ValueError(f"n_layers must be ≥ 1, got {n_layers}")
        kw, pad = 4, 2
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, kw, 2, pad), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, kw, 2, pad), _norm(norm, ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, kw, 1, pad), _norm(norm, ndf * mult),
                   nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, kw, 1, pad)]
        self.model = nn.Sequential(*layers)
        self.in_ch, self.ndf, self.n_layers, self.norm = in_ch, ndf, n_layers, norm

    @property
    def receptive_field(self) -> int:
        """Receptive field in input pixels: ``1 + Σ (k − 1)·(product of earlier strides)``."""
        rf, jump = 1, 1
        for m in self.model:
            if isinstance(m, nn.Conv2d):
                rf += (m.kernel_size[0] - 1) * jump
                jump *= m.stride[0]
        return rf

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def extra_repr(self) -> str:
        return (f"in_ch={self.in_ch}, ndf={self.ndf}, n_layers={self.n_layers}, "
                f"norm={self.norm!r}, receptive_field={self.receptive_field}")


class PatchDiscriminator(NLayerDiscriminator):
    """PatchGAN: :class:`NLayerDiscriminator` with 3 stride-2 layers (70×70 receptive field)."""

    def __init__(self, in_ch: int = 1, ndf: int = 64, norm: str = "instance") -> None:
        super().__init__(in_ch, ndf, 3, norm)


class FullDiscriminator(NLayerDiscriminator):
    """The repo's "full" discriminator: 5 stride-2 layers (286 px receptive field)."""

    def __init__(self, in_ch: int = 1, ndf: int = 64, norm: str = "instance") -> None:
        super().__init__(in_ch, ndf, 5, norm)
