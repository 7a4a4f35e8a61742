"""DMPHN — Deep Multi-Patch Hierarchical Network (Zhang et al., CVPR 2019), with its patches.

Paper 001 (MIDNet) retrains DMPHN as a baseline. Paper 000's :class:`~deblurlab.models.dhn.DHN`
is the same network with the patches removed, so this module *reuses* DHN's levels (encoder,
decoder, residual units, up/down layers, init, the −0.5 shift) and only changes how each level
sees the image. Official code: ``HongguangZhang/DMPHN-cvpr19-master`` (``DMPHN_1_2_4.py``).

Patch grids. Level ``k`` (1 = finest, runs last) cuts the image into ``2^(k−1)`` patches; the cut
alternates between rows and columns::

    level 1: 1×1 (whole image)   level 2: 2×1 (top | bottom)
    level 3: 2×2                 level 4: 4×2  (DMPHN 1-2-4-8)

Wiring for ``levels = 3`` (B = shifted blurred input, ``split_k`` / ``merge_k`` cut into /
reassemble from level ``k``'s grid, every encoder and decoder runs on each patch on its own)::

    F3 = merge_3(Enc3(split_3(B)))
    R3 = merge_2(Dec3(split_2(F3)))          # level-3 features decoded per level-2 patch
    F2 = merge_2(Enc2(split_2(B + R3))) + F3
    R2 = Dec2(F2)                            # per level-1 "patch" = the whole image
    F1 = Enc1(B + R2) + F2
    output = Dec1(F1) + shift

so each coarser level hands the next one residual images and features that were computed
without seeing across its patch borders. Patches are stacked along the batch dimension, so a
level costs one encoder call whatever its patch count.

Parameters: exactly DHN's (5,424,393 for 3 levels, width 32, RGB; the patches add none).
Paper 001's Table 2 lists 21.7 M for DMPHN, which matches none of the 1-2-4 / 1-2-4-8 models
(5.4 M / 7.2 M) — it is about the stacked DMPHN variant's size; we retrain DMPHN(1-2-4).

Size: every patch goes through two ×2 down-samplings, so ``H`` must be a multiple of
``4·rows`` and ``W`` of ``4·cols`` of the finest grid (``size_multiple`` = 8 for 3 levels, 16 for
4); :func:`deblurlab.infer.predict` pads to it.

>>> import torch
>>> model = DMPHN(width=4, in_ch=1)
>>> model.size_multiple, model(torch.rand(2, 1, 16, 24)).shape
(8, torch.Size([2, 1, 16, 24]))
"""

from __future__ import annotations

from torch import Tensor

from .dhn import DHN


def patch_grid(level: int) -> tuple[int, int]:
    """``(rows, cols)`` of DMPHN level ``level`` (1-based): 1×1, 2×1, 2×2, 4×2, 4×4, …

    >>> [patch_grid(k) for k in (1, 2, 3, 4)]
    [(1, 1), (2, 1), (2, 2), (4, 2)]
    """
    if level < 1:
        raise ValueError(f"level must be ≥ 1, got {level}")
    return 2 ** (level // 2), 2 ** ((level - 1) // 2)


def split_patches(x: Tensor, grid: tuple[int, int]) -> Tensor:
    """``(N, C, H, W) → (N·r·c, C, H/r, W/c)``: cut into an ``r×c`` grid, patches along batch.

    The batch index runs over (image, row, column), so :func:`merge_patches` inverts it.
    """
    r, c = grid
    n, ch, h, w = x.shape
    x = x.reshape(n, ch, r, h // r, c, w // c).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(n * r * c, ch, h // r, w // c)


def merge_patches(x: Tensor, grid: tuple[int, int]) -> Tensor:
    """Inverse of :func:`split_patches`: ``(N·r·c, C, h, w) → (N, C, r·h, c·w)``."""
    r, c = grid
    nrc, ch, h, w = x.shape
    n = nrc // (r * c)
    x = x.reshape(n, r, c, ch, h, w).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(n, ch, r * h, c * w)


class DMPHN(DHN):
    """DMPHN(1-2-4) (``levels=3``; ``levels=4`` gives 1-2-4-8): DHN's levels run on patches.

    Args: as :class:`~deblurlab.models.dhn.DHN` (``variant`` other than ``"baseline"`` is
    allowed but is not the published DMPHN).

    Attributes:
        size_multiple: ``4·max(rows, cols)`` of the finest grid (8 for 3 levels).

    Shape:
        ``(N, in_ch, H, W) → (N, out_ch, H, W)``, images in [0, 1].

    >>> import torch
    >>> from deblurlab.models import count_parameters
    >>> count_parameters(DMPHN()) == count_parameters(DHN())
    True
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.size_multiple = 4 * max(patch_grid(self.num_levels))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"DMPHN expects (N, {self.in_ch}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        rows, cols = patch_grid(self.num_levels)
        if h % (4 * rows) or w % (4 * cols):
            raise ValueError(
                f"DMPHN with {self.num_levels} levels needs H a multiple of {4 * rows} and W of "
                f"{4 * cols}, got {h}×{w}; use deblurlab.infer.predict / predict_tiled, which "
                f"pad the input")
        b = x - self.shift
        features: Tensor | None = None
        restored: Tensor | None = None
        for k in range(self.num_levels, 0, -1):  # coarsest patching first
            level = self.levels[k - 1]
            grid, finer = patch_grid(k), patch_grid(max(k - 1, 1))
            inp = b if restored is None else b + restored
            f = merge_patches(level.encoder(split_patches(inp, grid)), grid)
            features = f if features is None else f + features
            restored = merge_patches(level.decoder(split_patches(features, finer)), finer)
        assert restored is not None
        return restored + self.shift


__all__ = ["DMPHN", "merge_patches", "patch_grid", "split_patches"]
