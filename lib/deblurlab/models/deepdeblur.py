"""Paper 004's three ResNet-based baselines: Nah et al.'s DeepDeblur multi-scale CNN (CVPR 2017),
Na et al.'s multi-scale ResNet and Liu et al.'s degeneration-decoupling network — all built from
one ResBlock (conv → ReLU → conv, + skip, no normalisation).

**DeepDeblur**:
``K`` scales (image pyramid 1, 1/2, 1/4); each scale is conv → ``n_res`` ResBlocks
(conv → ReLU → conv, + skip, no BatchNorm) → conv to the image. The coarser scale's output is
up-convolved (transposed conv ×2) and concatenated with the next finer blurred input. Every scale
predicts the sharp image (supervised by the multi-scale MSE,
:func:`deblurlab.losses.multiscale_mse`); the adversarial term of the original is left out, as
paper 004 compares content-trained models.

The original has 64 channels, 19 ResBlocks and 5×5 kernels per scale (≈ 11.7 M parameters with
3 channels); paper 004's re-implementation has 1,772,740 and does not say how it was shrunk.
The default here keeps the 5×5 kernels and three scales with width 36 and 9 ResBlocks per scale:
1,773,717 parameters with 3 channels (+0.06 %).

>>> import torch
>>> net = DeepDeblur(in_ch=1, width=4, n_res=1).eval()
>>> tuple(net(torch.rand(1, 1, 16, 16)).shape)
(1, 1, 16, 16)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .msunet import MultiScaleOutputs, _check_input, pyramid


class ResBlock(nn.Module):
    """conv → ReLU → conv, plus the input (no normalisation), as in DeepDeblur and EDSR."""

    def __init__(self, width: int, kernel: int = 5) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, kernel, padding=kernel // 2),
                                  nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, kernel, padding=kernel // 2))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def res_stack(cin: int, cout: int, width: int, n_res: int, kernel: int) -> nn.Sequential:
    """conv (cin → width) → ``n_res`` :class:`ResBlock` → conv (width → cout)."""
    pad = kernel // 2
    return nn.Sequential(nn.Conv2d(cin, width, kernel, padding=pad),
                         *[ResBlock(width, kernel) for _ in range(n_res)],
                         nn.Conv2d(width, cout, kernel, padding=pad))


class DeepDeblur(MultiScaleOutputs):
    """Multi-scale CNN of Nah et al.; training mode returns all scales (finest first), eval mode
    the finest. ``H``, ``W`` must be multiples of ``2^(K−1)``."""

    def __init__(self, in_ch: int = 3, K: int = 3, width: int = 36, n_res: int = 9,
                 kernel: int = 5) -> None:
        super().__init__()
        if K < 1:
            raise ValueError(f"K must be >= 1, got {K}")
        self.in_ch, self.K, self.width, self.n_res = in_ch, K, width, n_res
        # scale k (0 = finest) sees its blurred image, plus the up-convolved coarser output.
        self.scales = nn.ModuleList([
            res_stack(in_ch if k == K - 1 else 2 * in_ch, in_ch, width, n_res, kernel)
            for k in range(K)])
        self.upconv = nn.ModuleList([
            nn.ConvTranspose2d(in_ch, in_ch, 5, stride=2, padding=2, output_padding=1)
            for _ in range(K - 1)])
        self.size_multiple = 2 ** (K - 1)

    def forward_scales(self, x: Tensor) -> list[Tensor]:
        _check_input(x, self.in_ch, self.size_multiple, "DeepDeblur")
        inputs = pyramid(x, self.K)
        outs: list[Tensor] = [None] * self.K  # type: ignore[list-item]
        outs[-1] = self.scales[-1](inputs[-1])
        for k in reversed(range(self.K - 1)):
            outs[k] = self.scales[k](torch.cat([inputs[k], self.upconv[k](outs[k + 1])], 1))
        return outs

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, K={self.K}, width={self.width}, n_res={self.n_res}"


class MultiScaleResNet(MultiScaleOutputs):
    """Na et al.'s baseline in paper 004: "the multi-scale network consisting of several ResNet".

    Built from that one sentence: ``K = 3`` scales, each a residual stack of 3×3 ResBlocks
    (width 64, 20 blocks) that predicts a correction added to its blurred input; a coarser
    output is up-sampled (bilinear) and concatenated with the finer input. 4,445,385 parameters
    with 3 channels (paper 4,384,262, +1.4 %). In training mode returns all scales.

    >>> import torch
    >>> tuple(MultiScaleResNet(in_ch=1, width=4, n_res=1).eval()(torch.rand(1, 1, 8, 8)).shape)
    (1, 1, 8, 8)
    """

    def __init__(self, in_ch: int = 3, K: int = 3, width: int = 64, n_res: int = 20) -> None:
        super().__init__()
        self.in_ch, self.K, self.width, self.n_res = in_ch, K, width, n_res
        self.scales = nn.ModuleList([
            res_stack(in_ch if k == K - 1 else 2 * in_ch, in_ch, width, n_res, 3)
            for k in range(K)])
        self.size_multiple = 2 ** (K - 1)

    def forward_scales(self, x: Tensor) -> list[Tensor]:
        _check_input(x, self.in_ch, self.size_multiple, "MultiScaleResNet")
        inputs = pyramid(x, self.K)
        outs: list[Tensor] = [None] * self.K  # type: ignore[list-item]
        outs[-1] = inputs[-1] + self.scales[-1](inputs[-1])
        for k in reversed(range(self.K - 1)):
            up = F.interpolate(outs[k + 1], size=inputs[k].shape[-2:], mode="bilinear",
                               align_corners=False)
            outs[k] = inputs[k] + self.scales[k](torch.cat([inputs[k], up], 1))
        return outs

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, K={self.K}, width={self.width}, n_res={self.n_res}"


class DecoupledResNet(nn.Module):
    """Liu et al.'s degeneration-decoupling network as paper 004 describes it ("residual
    connections for denoising and deblurring"): a denoising stage then a deblurring stage, each
    a 3×3 residual stack (width 64, 10 ResBlocks) whose output is added to its input.
    1,484,166 parameters with 3 channels (paper 1,461,124, +1.6 %). Single-scale.

    >>> import torch
    >>> tuple(DecoupledResNet(in_ch=1, width=4, n_res=1)(torch.rand(1, 1, 8, 8)).shape)
    (1, 1, 8, 8)
    """

    def __init__(self, in_ch: int = 3, width: int = 64, n_res: int = 10) -> None:
        super().__init__()
        self.in_ch, self.width, self.n_res = in_ch, width, n_res
        self.denoise = res_stack(in_ch, in_ch, width, n_res, 3)
        self.deblur = res_stack(in_ch, in_ch, width, n_res, 3)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.in_ch, 1, "DecoupledResNet")
        x = x + self.denoise(x)
        return x + self.deblur(x)

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, width={self.width}, n_res={self.n_res}"


__all__ = ["DecoupledResNet", "DeepDeblur", "MultiScaleResNet", "ResBlock", "res_stack"]
