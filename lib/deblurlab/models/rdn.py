"""Residual Dense Network (Zhang et al., CVPR 2018) without up-sampling — Zhao et al.'s
deblurring network (J. Biophotonics 2020), paper 004's strongest baseline.

Shallow features (two 3×3 convs, ``G0`` channels) → ``D`` residual dense blocks (``C`` densely
connected 3×3 conv + ReLU layers of growth ``G``, 1×1 local fusion, local residual) → global
feature fusion (1×1 over all block outputs, then 3×3) + the first shallow features → 3×3 conv to
the image. Paper 004 reports 811,778 parameters but not the configuration; ``G0 = G = 32``,
``D = 8``, ``C = 4`` gives 808,003 with 3 channels (−0.5 %).

>>> import torch
>>> tuple(RDN(in_ch=1, G0=8, G=4, D=2, C=2)(torch.rand(1, 1, 12, 12)).shape)
(1, 1, 12, 12)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .msunet import _check_input


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(cin, growth, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.conv(x)], 1)


class RDB(nn.Module):
    """Residual dense block: ``C`` dense layers, 1×1 local feature fusion, local residual."""

    def __init__(self, G0: int, G: int, C: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[DenseLayer(G0 + i * G, G) for i in range(C)])
        self.fuse = nn.Conv2d(G0 + C * G, G0, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fuse(self.layers(x))


class RDN(nn.Module):
    def __init__(self, in_ch: int = 3, G0: int = 32, G: int = 32, D: int = 8, C: int = 4) -> None:
        super().__init__()
        self.in_ch, self.G0, self.G, self.D, self.C = in_ch, G0, G, D, C
        self.sfe1 = nn.Conv2d(in_ch, G0, 3, padding=1)
        self.sfe2 = nn.Conv2d(G0, G0, 3, padding=1)
        self.blocks = nn.ModuleList([RDB(G0, G, C) for _ in range(D)])
        self.gff = nn.Sequential(nn.Conv2d(D * G0, G0, 1), nn.Conv2d(G0, G0, 3, padding=1))
        self.out = nn.Conv2d(G0, in_ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.in_ch, 1, "RDN")
        f1 = self.sfe1(x)
        h = self.sfe2(f1)
        outs = []
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        return self.out(self.gff(torch.cat(outs, 1)) + f1)

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, G0={self.G0}, G={self.G}, D={self.D}, C={self.C}"


__all__ = ["RDB", "RDN"]
