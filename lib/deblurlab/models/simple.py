"""Two small, real baselines for smoke and quick runs on a CPU.

* :class:`ResidualCNN` — a DnCNN-like plain conv stack (no batch norm) that predicts a correction
  added to its input. Purely local: its receptive field is ``2·depth + 1`` pixels.
* :class:`SmallUNet` — a compact U-Net: double conv + ReLU per level, max-pool down, transposed
  conv up, skip concatenation, optional residual to the input.

Both take and return float32 ``(N, C, H, W)`` tensors in [0, 1] (outputs are not clamped).

Every model in :mod:`deblurlab.models` may carry an integer attribute ``size_multiple``: ``H``
and ``W`` of its input must be multiples of it. :func:`deblurlab.infer.predict` and
:func:`deblurlab.infer.predict_tiled` read it and pad the input (reflect) accordingly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _out_channels(in_ch: int, out_ch: int | None, residual: bool, name: str) -> int:
    if in_ch < 1:
        raise ValueError(f"{name}: in_ch must be ≥ 1, got {in_ch}")
    out_ch = in_ch if out_ch is None else out_ch
    if out_ch < 1:
        raise ValueError(f"{name}: out_ch must be ≥ 1, got {out_ch}")
    if residual and out_ch != in_ch:
        raise ValueError(f"{name}: a residual output needs out_ch == in_ch (got {in_ch} → "
                         f"{out_ch}); pass residual=False to map between channel counts")
    return out_ch


class ResidualCNN(nn.Module):
    """DnCNN-like conv stack: ``depth`` 3×3 convs, ReLU between them, output = input + body.

    Layers: ``conv(in_ch→width)``, ``depth − 2`` × ``conv(width→width)``, ``conv(width→out_ch)``,
    each 3×3 with zero padding and followed by ReLU except the last. No batch norm, so train and
    eval behave the same and tiles see the same statistics as whole images.

    Args:
        in_ch: input channels.
        out_ch: output channels (default ``in_ch``).
        width: feature channels of the hidden layers.
        depth: number of conv layers (≥ 2). Receptive field: ``2·depth + 1`` pixels.
        residual: add the input to the body's output (needs ``out_ch == in_ch``).

    Attributes:
        size_multiple: 1 — any input size works.

    Parameters: ``9·in·w + w + (depth−2)·(9·w² + w) + 9·w·out + out``.

    >>> model = ResidualCNN(in_ch=1, width=8, depth=3)
    >>> model(torch.rand(2, 1, 17, 23)).shape
    torch.Size([2, 1, 17, 23])
    """

    size_multiple: int = 1

    def __init__(self, in_ch: int = 1, out_ch: int | None = None, width: int = 32,
                 depth: int = 8, residual: bool = True) -> None:
        super().__init__()
        out_ch = _out_channels(in_ch, out_ch, residual, "ResidualCNN")
        if depth < 2:
            raise ValueError(f"ResidualCNN: depth must be ≥ 2, got {depth}")
        if width < 1:
            raise ValueError(f"ResidualCNN: width must be ≥ 1, got {width}")
        self.residual = residual
        layers: list[nn.Module] = [nn.Conv2d(in_ch, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, out_ch, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def _double_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1), nn.ReLU(inplace=True),
    )


class SmallUNet(nn.Module):
    """Compact U-Net with ``levels`` down/up steps.

    Encoder level ``i`` (``i = 0 … levels−1``) is a double conv to ``width·2**i`` channels
    followed by a 2×2 max-pool; the bottleneck doubles the channels once more. Each decoder level
    upsamples with a 2×2 transposed conv (stride 2) to ``width·2**i`` channels, concatenates the
    encoder's skip features and applies a double conv. A 1×1 conv maps to ``out_ch``.

    Args:
        in_ch: input channels.
        out_ch: output channels (default ``in_ch``).
        width: channels of the first level.
        levels: number of poolings (≥ 1).
        residual: add the input to the output (needs ``out_ch == in_ch``).

    Attributes:
        size_multiple: ``2**levels`` — ``H`` and ``W`` must be multiples of it (pad with
            :func:`deblurlab.infer.predict`, which reads this attribute).

    >>> model = SmallUNet(width=4, levels=2)
    >>> model.size_multiple
    4
    >>> model(torch.rand(1, 1, 16, 24)).shape
    torch.Size([1, 1, 16, 24])
    """

    def __init__(self, in_ch: int = 1, out_ch: int | None = None, width: int = 16,
                 levels: int = 3, residual: bool = True) -> None:
        super().__init__()
        out_ch = _out_channels(in_ch, out_ch, residual, "SmallUNet")
        if levels < 1:
            raise ValueError(f"SmallUNet: levels must be ≥ 1, got {levels}")
        if width < 1:
            raise ValueError(f"SmallUNet: width must be ≥ 1, got {width}")
        self.residual = residual
        self.size_multiple = 2**levels
        chans = [width * 2**i for i in range(levels)]

        self.encoders = nn.ModuleList(
            _double_conv(c_in, c) for c_in, c in zip([in_ch] + chans[:-1], chans))
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(chans[-1], 2 * chans[-1])
        # Decoder modules are stored deepest first, the order in which forward uses them.
        self.ups = nn.ModuleList(nn.ConvTranspose2d(2 * c, c, 2, stride=2) for c in chans[::-1])
        self.decoders = nn.ModuleList(_double_conv(2 * c, c) for c in chans[::-1])
        self.head = nn.Conv2d(width, out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"SmallUNet needs H and W to be multiples of {m}, got {h}×{w}; "
                             f"use deblurlab.infer.predict / predict_tiled, which pad the input")
        skips = []
        y = x
        for enc in self.encoders:
            y = enc(y)
            skips.append(y)
            y = self.pool(y)
        y = self.bottleneck(y)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            y = dec(torch.cat([up(y), skip], dim=1))
        y = self.head(y)
        return x + y if self.residual else y
