"""BDU — burst FC-DenseNet (Tiramisu) U-Net, paper 002's proposed networks (BDU+T, BDU+UC).

Spec: ``METHODS.md`` §3.3 (Wieslander et al. 2021, Fig. 6b / Table 2). Base network: the
FC-DenseNet of Jégou et al. 2017 ("The One Hundred Layers Tiramisu"), run on every frame of a
burst with shared weights; after each **encoder** dense block the element-wise maximum over the
frames is concatenated to every frame's features (:class:`~deblurlab.models.burst.CrossFrameMax`,
as in BU), and at the end the frames are max-pooled and a 1×1 conv gives one image. The network
is therefore invariant to the order of the frames and works for any number of them.

Building blocks (``k`` = growth rate, ``p`` = dropout)::

    dense layer   BN → ReLU → conv3×3 (c → k) → dropout p
    dense block   L layers; layer l sees the concat of the block input and all earlier new maps;
                  returns input ‖ new maps (c + L·k) — or only the L·k new maps (see below)
    merge         f ‖ max_frames(f)                                  (s → 2s channels)
    fuse (TD)     BN → ReLU → conv1×1 (2s → s) → dropout p          (halves the merged channels)
    down          max-pool 2×2
    up            "transposed":   transposed conv 3×3 stride 2 (pad 1, output pad 1), n → n
                  "nearest_conv": nearest ×2 → conv 3×3 (pad 1), n → n

Layout (defaults: first conv 48, k = 12, down blocks (4, 4, 4, 4), bottleneck 4 layers, up
blocks the down blocks reversed; ``s_i`` = channels after encoder block ``i``)::

    c = 48 = conv3×3(x)
    for each down level i:   s_i = c + L_i·k;  skip_i = fuse(merge(block_i(c)));  c = s_i, pool
    n = bottleneck block (new maps only, L_b·k)
    for each up level j (deepest first):  c = up(n) ‖ skip_j;  n = block_j(c)
        — new maps only (L·k), except the last level, which returns c + L·k (Tiramisu)
    y = conv1×1(max_frames(n))  → out_ch

Paper-default channels: s = 96, 144, 192, 240; bottleneck 48; up levels 48 ‖ 240 → 48,
48 ‖ 192 → 48, 48 ‖ 144 → 48, 48 ‖ 96 → 144 + 48 = 192 → final conv 192 → 1.

Choices where METHODS leaves room (documented so they can be changed):

* The skip connection carries the *fused* features (after merge + 1×1 conv), so the decoder's
  skips already hold burst information; channel counts equal Tiramisu's (``s_i``).
* No cross-frame merge in the bottleneck or the decoder (METHODS: decoder pooling gave no gain).
* Both up-sampling variants have exactly the same parameter count: a 3×3 transposed conv
  ``n → n`` and a 3×3 conv ``n → n`` both hold ``9·n² + n`` parameters; they differ in how the
  output is formed (the transposed conv's uneven kernel overlap at stride 2 is the
  checkerboard source; nearest + conv has none), not in size.

Input convention (same as :class:`~deblurlab.models.burst.BU`): ``(B, N, C, H, W)`` or frames
stacked along the channels ``(B, N·C, H, W)`` (``N = 1`` → one image) → ``(B, out_ch, H, W)``.
``size_multiple = 2**len(down)`` (16 by default).

Parameter counts (``in_ch = out_ch = 1``; BN γ, β counted; computed with
``deblurlab.models.count_parameters``; hand formula in ``tests/test_burst_models.py``)::

    config                                                          params
    BDU(up="transposed") / BDU(up="nearest_conv")   (paper)       1 104 673  (both)
    BDU(first=16, growth=6, down=(2, 2, 2, 2), bottleneck=2)         76 249  (recommended CPU)
    BDU(first=8, growth=4, down=(2, 2, 2, 2), bottleneck=2)          31 425  (smoke runs)
    tiny test config (first 4, k 2, down (2,), bottleneck 2)          1 465

Forward + backward time, B = 2 bursts × N = 5 frames × 1×64×64, train mode, L1 loss, zero_grad +
forward + backward, one thread (``torch.set_num_threads(1)`` under ``OMP_NUM_THREADS=1 nice``),
median of 3 ``time.perf_counter`` runs after one warm-up, on a 2-core CPU that was also running
another long job (load ≈ 3, so read these as upper bounds): paper BDU+T 2.5 s, BDU+UC 2.8 s;
CPU config (16, 6) 0.4–0.6 s; smoke config (8, 4) 0.27 s. Few parameters but slow for its size:
the dense blocks concatenate and re-normalise full-resolution maps for every frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .burst import CrossFrameMax, as_burst, check_size, frame_max

UP_MODES = ("transposed", "nearest_conv")


class DenseLayer(nn.Sequential):
    """BN → ReLU → conv 3×3 (``c_in → growth``) → dropout."""

    def __init__(self, c_in: int, growth: int, dropout: float) -> None:
        super().__init__(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, growth, 3, padding=1),
                         nn.Dropout(dropout))


class DenseBlock(nn.Module):
    """``n_layers`` dense layers; returns input ‖ new maps, or only the new maps.

    Attributes:
        out_channels: ``c_in + n_layers·growth`` (``keep_input``) or ``n_layers·growth``.
    """

    def __init__(self, c_in: int, growth: int, n_layers: int, dropout: float,
                 keep_input: bool = True) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"DenseBlock: n_layers must be ≥ 1, got {n_layers}")
        self.keep_input = keep_input
        self.layers = nn.ModuleList(DenseLayer(c_in + i * growth, growth, dropout)
                                    for i in range(n_layers))
        self.out_channels = (c_in if keep_input else 0) + n_layers * growth

    def forward(self, x: Tensor) -> Tensor:
        new = []
        for layer in self.layers:
            new.append(layer(torch.cat([x, *new], dim=1)))
        return torch.cat([x, *new] if self.keep_input else new, dim=1)


class TransitionUp(nn.Module):
    """×2 up-sampling keeping ``c`` channels: ``"transposed"`` (3×3, stride 2) or
    ``"nearest_conv"`` (nearest ×2 then 3×3 conv). Both have ``9·c² + c`` parameters."""

    def __init__(self, c: int, mode: str) -> None:
        super().__init__()
        if mode not in UP_MODES:
            raise ValueError(f"up must be one of {UP_MODES}, got {mode!r}")
        self.mode = mode
        if mode == "transposed":
            self.conv = nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1)
        else:
            self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "nearest_conv":
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class BDU(nn.Module):
    """Burst FC-DenseNet U-Net (BDU+T / BDU+UC, METHODS §3.3); see the module doc.

    Args:
        in_ch: channels per frame (1 for TEM).
        out_ch: channels of the output image.
        up: ``"transposed"`` (BDU+T) or ``"nearest_conv"`` (BDU+UC).
        first: channels of the first 3×3 conv (48).
        growth: growth rate k (12).
        down: layers per encoder dense block, one entry per down level ((4, 4, 4, 4)).
        bottleneck: layers of the bottleneck dense block (4).
        up_layers: layers per decoder block, deepest first (default ``down`` reversed).
        dropout: dropout after every dense-layer conv and fuse conv (0.2).

    Attributes:
        size_multiple: ``2**len(down)``.
        skip_channels: per-frame channels of each skip, shallowest first (``s_i``).
        out_features: channels entering the final frame-max + 1×1 conv.

    >>> model = BDU(first=8, growth=4, down=(2, 2), bottleneck=2).eval()
    >>> model(torch.rand(1, 4, 1, 16, 16)).shape
    torch.Size([1, 1, 16, 16])
    """

    def __init__(self, in_ch: int = 1, out_ch: int = 1, up: str = "transposed",
                 first: int = 48, growth: int = 12, down: Sequence[int] = (4, 4, 4, 4),
                 bottleneck: int = 4, up_layers: Sequence[int] | None = None,
                 dropout: float = 0.2) -> None:
        super().__init__()
        down = tuple(int(v) for v in down)
        up_layers = tuple(int(v) for v in up_layers) if up_layers is not None else down[::-1]
        if in_ch < 1 or out_ch < 1 or first < 1 or growth < 1:
            raise ValueError("BDU: in_ch, out_ch, first and growth must be ≥ 1, got "
                             f"{in_ch}, {out_ch}, {first}, {growth}")
        if not down or min(down) < 1 or bottleneck < 1:
            raise ValueError(f"BDU: down blocks and bottleneck need ≥ 1 layer, got {down}, "
                             f"{bottleneck}")
        if len(up_layers) != len(down) or min(up_layers) < 1:
            raise ValueError(f"BDU: up_layers needs {len(down)} entries ≥ 1, got {up_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"BDU: dropout must be in [0, 1), got {dropout}")
        if up not in UP_MODES:
            raise ValueError(f"BDU: up must be one of {UP_MODES}, got {up!r}")
        self.in_ch, self.out_ch, self.up = in_ch, out_ch, up
        self.size_multiple = 2 ** len(down)

        self.first = nn.Conv2d(in_ch, first, 3, padding=1)
        self.merge = CrossFrameMax()
        self.pool = nn.MaxPool2d(2)
        c = first
        blocks, fuses, skips = [], [], []
        for n_layers in down:
            block = DenseBlock(c, growth, n_layers, dropout)
            s = block.out_channels
            blocks.append(block)
            fuses.append(nn.Sequential(nn.BatchNorm2d(2 * s), nn.ReLU(), nn.Conv2d(2 * s, s, 1),
                                       nn.Dropout(dropout)))
            skips.append(s)
            c = s
        self.down_blocks = nn.ModuleList(blocks)
        self.fuses = nn.ModuleList(fuses)
        self.bottleneck = DenseBlock(c, growth, bottleneck, dropout, keep_input=False)
        n = self.bottleneck.out_channels
        ups, up_blocks = [], []
        for j, (n_layers, s) in enumerate(zip(up_layers, skips[::-1])):
            ups.append(TransitionUp(n, up))
            block = DenseBlock(n + s, growth, n_layers, dropout,
                               keep_input=(j == len(up_layers) - 1))
            up_blocks.append(block)
            n = block.out_channels
        self.ups = nn.ModuleList(ups)
        self.up_blocks = nn.ModuleList(up_blocks)
        self.final = nn.Conv2d(n, out_ch, 1)
        self.skip_channels = tuple(skips)
        self.out_features = n

    def forward(self, x: Tensor) -> Tensor:
        x = as_burst(x, self.in_ch, "BDU")
        check_size(x, self.size_multiple, "BDU")
        b, n, c, h, w = x.shape
        f = self.first(x.reshape(b * n, c, h, w))
        skips = []
        for block, fuse in zip(self.down_blocks, self.fuses):
            f = fuse(self.merge(block(f), n))
            skips.append(f)
            f = self.pool(f)
        g = self.bottleneck(f)
        for up, block, skip in zip(self.ups, self.up_blocks, skips[::-1]):
            g = block(torch.cat((up(g), skip), dim=1))
        return self.final(frame_max(g, n))


__all__ = ["BDU", "DenseBlock", "DenseLayer", "TransitionUp", "UP_MODES"]
