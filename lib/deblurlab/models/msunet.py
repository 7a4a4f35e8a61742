"""Paper 004's multi-scale U-Net with head-to-tail cross-scale fusion, and the residual cascade
it argues against.

Spec: ``METHODS.md`` §5.1–5.2 (the paper's equations were lost; reconstructed there and checked
against its parameter counts). ``K`` U-Nets look at the blurred image at scales 1, 1/2, …,
1/2^(K−1); sub-network ``k`` has depth ``depth − (k − 1)``, so all reach the same bottleneck
resolution ``H / 2^depth``. The coarsest runs first; each finer network's **encoder** takes in the
coarser network's **decoder** maps of matching resolution ("head-to-tail"):

* ``fusion="sum"`` (eq. 7, parameter-free): the input of encoder block ``j + 1`` is
  ``maxpool(E_j) + D_j^coarse`` (both ``16·2^j`` channels);
* ``fusion="concat"`` (eq. 8): ``E_{j+1} ← conv3×3([E_{j+1}, D_j^coarse])`` (no bias,
  ``3C → 2C``), which adds exactly 373,248 parameters at ``K = 4`` — the paper's
  concat-minus-sum difference.

Nothing is added back to the blurred input: every scale predicts the sharp image end to end (eq.
3–4), and in training mode the model returns all ``K`` predictions (finest first) for the
per-scale loss (eq. 6, :func:`deblurlab.losses.multiscale_mse`).

Parameter counts with 3 channels in and out (asserted in the tests): U-Net depth 4 1,942,611
(paper 1,942,962); ``K = 3`` 2,542,777 (paper 2,543,478); ``K = 4`` 2,568,620 (paper 2,569,512);
concat ``K = 4`` 2,941,868 (paper 2,942,760). The constant ~350–900 residual is a detail the
paper does not describe (METHODS §5.2); the paper's ``K = 2`` row (1,986,116, the same for both
modes) does not fit any variant of this model and is treated as a table error.

Example:
    >>> import torch
    >>> from deblurlab.models import count_parameters
    >>> net = MultiScaleUNet(in_ch=1, K=2, depth=2, width=4)
    >>> [tuple(y.shape) for y in net(torch.rand(1, 1, 16, 16))]     # training mode: all scales
    [(1, 1, 16, 16), (1, 1, 8, 8)]
    >>> tuple(net.eval()(torch.rand(1, 1, 16, 16)).shape)           # eval: the finest only
    (1, 1, 16, 16)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FUSIONS = ("sum", "concat")


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """(conv 3×3 without bias → BatchNorm → ReLU) × 2, the classic U-Net block."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def downscale(x: Tensor, factor: int) -> Tensor:
    """``x`` shrunk by an integer ``factor`` (bilinear, antialiased): the image pyramid B_k."""
    if factor == 1:
        return x
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // factor, w // factor), mode="bilinear", antialias=True,
                         align_corners=False)


def pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """``[x, x/2, …, x/2^(levels−1)]`` — the blurred inputs B_k or the targets L_k of eq. 6."""
    return [downscale(x, 2 ** k) for k in range(levels)]


class MultiScaleOutputs(nn.Module):
    """Base of the multi-scale networks: :meth:`forward_scales` returns every scale's prediction
    (finest first); ``forward`` returns them all in training mode (for the per-scale loss, eq. 6)
    and only the finest in eval mode (for inference and metrics)."""

    def forward_scales(self, x: Tensor) -> list[Tensor]:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        outs = self.forward_scales(x)
        return outs if self.training else outs[0]


class UNet(nn.Module):
    """Classic U-Net (METHODS §5.2): ``depth`` max-pool down-samplings, widths ``width·2^i``,
    transposed-conv 2×2 up-sampling with concatenated skips, 1×1 output conv; no residual.

    Args:
        in_ch, out_ch: image channels (3 reproduces the paper's counts).
        depth: number of down-samplings; ``H`` and ``W`` must be multiples of ``2^depth``.
        width: channels of the first level (paper 16).

    :meth:`encode` / :meth:`decode` expose the feature maps that :class:`MultiScaleUNet` fuses.

    >>> from deblurlab.models import count_parameters
    >>> count_parameters(UNet(in_ch=3, out_ch=3, depth=4, width=16))
    1942611
    """

    def __init__(self, in_ch: int = 3, out_ch: int = 3, depth: int = 4, width: int = 16) -> None:
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be >= 1, got {depth}, {width}")
        self.in_ch, self.out_ch, self.depth, self.width = in_ch, out_ch, depth, width
        ch = [width * 2 ** i for i in range(depth + 1)]
        self.channels = ch
        self.enc = nn.ModuleList([double_conv(in_ch, ch[0])] +
                                 [double_conv(ch[i - 1], ch[i]) for i in range(1, depth + 1)])
        # up[i] / dec[i] bring level i+1 back to level i (i = depth-1 … 0).
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2)
                                 for i in range(depth)])
        self.dec = nn.ModuleList([double_conv(2 * ch[i], ch[i]) for i in range(depth)])
        self.head = nn.Conv2d(ch[0], out_ch, 1)
        self.size_multiple = 2 ** depth

    def encode(self, x: Tensor, coarse: list[Tensor] | None = None, fusion: str = "sum",
               fuse: nn.ModuleList | None = None) -> list[Tensor]:
        """Encoder maps ``[E_0 … E_depth]``; ``coarse[j]`` (a coarser net's decoder map ``D_j``)
        is fused into level ``j + 1`` by ``fusion`` ("sum" | "concat", the latter with the
        convolutions ``fuse[j]``)."""
        coarse = coarse or []
        feats = [self.enc[0](x)]
        for i in range(1, self.depth + 1):
            h = F.max_pool2d(feats[-1], 2)
            j = i - 1
            if j < len(coarse) and fusion == "sum":
                h = h + coarse[j]
            e = self.enc[i](h)
            if j < len(coarse) and fusion == "concat":
                e = fuse[j](torch.cat([e, coarse[j]], 1))
            feats.append(e)
        return feats

    def decode(self, feats: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """``(image, [D_0 … D_{depth−1}])`` from the encoder maps; ``D_j`` has ``width·2^j``
        channels at the resolution of ``E_j``."""
        x = feats[-1]
        dec: list[Tensor] = [None] * self.depth  # type: ignore[list-item]
        for i in reversed(range(self.depth)):
            x = self.dec[i](torch.cat([feats[i], self.up[i](x)], 1))
            dec[i] = x
        return self.head(x), dec

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.in_ch, self.size_multiple, "UNet")
        return self.decode(self.encode(x))[0]

    def extra_repr(self) -> str:
        return f"in_ch={self.in_ch}, out_ch={self.out_ch}, depth={self.depth}, width={self.width}"


def _check_input(x: Tensor, in_ch: int, multiple: int, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != in_ch:
        raise ValueError(f"{name} expects (N, {in_ch}, H, W), got {tuple(x.shape)}")
    if x.shape[-2] % multiple or x.shape[-1] % multiple:
        raise ValueError(f"{name}: H and W must be multiples of {multiple} (pad the input, e.g. "
                         f"with deblurlab.infer), got {tuple(x.shape[-2:])}")


class MultiScaleUNet(MultiScaleOutputs):
    """``K`` U-Nets of decreasing depth with head-to-tail cross-scale fusion (paper 004).

    Args:
        in_ch, out_ch: image channels.
        K: number of scales / sub-networks, 1 … ``depth`` (``K = 1`` is the plain U-Net).
        fusion: "sum" (default, parameter-free) or "concat" (conv 3×3 over both maps).
        depth: depth of the full-resolution sub-network (paper 4); sub-network ``k`` has
            ``depth − k + 1``.
        width: channels of every sub-network's first level (paper 16).

    Input ``(N, in_ch, H, W)`` in [0, 1] with ``H``, ``W`` multiples of ``2^depth``. Output: in
    training mode the list ``[L̂_1 (H×W), L̂_2 (H/2×W/2), …, L̂_K]``; in eval mode ``L̂_1``.
    """

    def __init__(self, in_ch: int = 3, out_ch: int | None = None, K: int = 4, fusion: str = "sum",
                 depth: int = 4, width: int = 16) -> None:
        super().__init__()
        out_ch = in_ch if out_ch is None else out_ch
        if not 1 <= K <= depth:
            raise ValueError(f"K must be in 1..depth={depth}, got {K}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        self.in_ch, self.out_ch, self.K, self.fusion = in_ch, out_ch, K, fusion
        self.depth, self.width = depth, width
        self.nets = nn.ModuleList([UNet(in_ch, out_ch, depth - k, width) for k in range(K)])
        # fuse[k][j]: finer net k's level j+1 with coarser net k+1's decoder level j.
        self.fuse = nn.ModuleList()
        for k in range(K - 1):
            convs = nn.ModuleList()
            if fusion == "concat":
                for j in range(depth - k - 1):
                    c = width * 2 ** j
                    convs.append(nn.Conv2d(3 * c, 2 * c, 3, padding=1, bias=False))
            self.fuse.append(convs)
        self.size_multiple = 2 ** depth

    def forward_scales(self, x: Tensor) -> list[Tensor]:
        """All ``K`` predictions, finest first."""
        _check_input(x, self.in_ch, self.size_multiple, type(self).__name__)
        inputs = pyramid(x, self.K)
        outs: list[Tensor] = [None] * self.K  # type: ignore[list-item]
        coarse: list[Tensor] | None = None
        for k in reversed(range(self.K)):
            net = self.nets[k]
            fuse = self.fuse[k] if k < self.K - 1 else None
            feats = net.encode(inputs[k], coarse, self.fusion, fuse)
            outs[k], coarse = net.decode(feats)
        return outs

    def extra_repr(self) -> str:
        return f"K={self.K}, fusion={self.fusion!r}, depth={self.depth}, width={self.width}"


class CoarseToFineUNet(MultiScaleOutputs):
    """The conventional residual cascade (eq. 2, Nah et al. as summarised by Cho et al.), built
    from the same U-Nets for a like-for-like contrast: ``L̂_K = B_K + N_K(B_K)``,
    ``L̂_k = B_k + N_k([B_k, ↑L̂_{k+1}])`` ("deblurred = blurred + details"), ↑ bilinear ×2.
    Returns all scales in training mode, the finest in eval mode, like :class:`MultiScaleUNet`.
    """

    def __init__(self, in_ch: int = 3, out_ch: int | None = None, K: int = 4, depth: int = 4,
                 width: int = 16) -> None:
        super().__init__()
        out_ch = in_ch if out_ch is None else out_ch
        if out_ch != in_ch:
            raise ValueError("the residual cascade adds its output to the input: out_ch must "
                             f"equal in_ch, got {out_ch} and {in_ch}")
        if not 1 <= K <= depth:
            raise ValueError(f"K must be in 1..depth={depth}, got {K}")
        self.in_ch, self.K, self.depth, self.width = in_ch, K, depth, width
        self.nets = nn.ModuleList([
            UNet(in_ch if k == K - 1 else 2 * in_ch, in_ch, depth - k, width) for k in range(K)])
        self.size_multiple = 2 ** depth

    def forward_scales(self, x: Tensor) -> list[Tensor]:
        _check_input(x, self.in_ch, self.size_multiple, type(self).__name__)
        inputs = pyramid(x, self.K)
        outs: list[Tensor] = [None] * self.K  # type: ignore[list-item]
        for k in reversed(range(self.K)):
            b = inputs[k]
            if k == self.K - 1:
                outs[k] = b + self.nets[k](b)
            else:
                up = F.interpolate(outs[k + 1], size=b.shape[-2:], mode="bilinear",
                                   align_corners=False)
                outs[k] = b + self.nets[k](torch.cat([b, up], 1))
        return outs

    def extra_repr(self) -> str:
        return f"K={self.K}, depth={self.depth}, width={self.width}"


__all__ = ["CoarseToFineUNet", "FUSIONS", "MultiScaleOutputs", "MultiScaleUNet", "UNet",
           "double_conv", "downscale", "pyramid"]
