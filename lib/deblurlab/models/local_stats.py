"""Test-time local statistics: global average pools → local ones (TLC, for tiled inference).

NAFNet's, MIDNet's and EHNet's channel attention (SCA, in their NAFBlocks) multiplies every
pixel by a function of the **global** mean of the feature map. Trained on 256² crops, the network
has only ever seen means over 256² windows; at test time the mean runs over the whole image, or
over a tile when the image is cut into tiles. A tile therefore sees other channel statistics than
the whole image, and tiling changes *every* pixel, not only the seams.

Chu et al. ("Improving Image Restoration by Revisiting Global Information Aggregation", ECCV 2022;
``NAFNetLocal`` in the official NAFNet code, used by its GoPro test configs) replace each global
pool at test time by a **local** average over a window of about 1.5 × the training crop (in
full-resolution pixels), which restores the train-time statistics on large images. Each output
pixel then depends on a bounded neighbourhood, so tiles that overlap by enough give the
converted model's whole-image result: with an overlap of 3 × the training crop (two windows;
:func:`seam_free_overlap`) the difference was ≤ 1e-4 in ``benchmarks/RESULTS.md`` (NAFNet-w32,
MIDNet-w32, crops of 32, 64 and 256) and ``tests/test_local_stats.py``; with the global pools it
stayed at 6e-4 in the same measurement, whatever the overlap. The tile must then be ≥ 2 × the
overlap, i.e. 6 × the training crop: 1536² for 256² crops, which NAFNet runs in row strips to
stay under 2 GiB on a CPU (:mod:`deblurlab.models.nafnet`).

:class:`LocalAvgPool2d` is that pool: the mean over a ``kh × kw`` window at every position,
computed from an integral image in float64 (so large images lose no precision); windows are
"valid" (entirely inside the input) and the result is padded by replication to the input size,
so a pixel within ``k/2`` of a border takes the mean of the window at the border. A window at
least as large as the input falls back to the global mean.

:func:`to_local_stats` converts a model: it runs it once on a ``train_size`` input to find the
feature size at each ``nn.AdaptiveAvgPool2d(1)`` and sets that pool's window to
``floor(scale · feature size)`` (``scale`` = 1.5, the official ``base_size = 1.5 · train_size``).
At the training size every window covers the feature, so the converted model gives **the same
output as the original on inputs of the training size**; it differs only on larger ones.

Not covered: Restormer's transposed attention (a C × C attention over all pixels) is global too
but is not a pool; it is left unchanged (:func:`global_pools` does not list it).

>>> import torch
>>> from deblurlab.models.nafnet import NAFNet
>>> net = NAFNet(img_channel=1, width=4, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1))
>>> len(global_pools(net))
5
>>> local = to_local_stats(net, train_size=32)
>>> global_pools(local), sorted({p.kernel_size for p in local.modules()
...                                 if isinstance(p, LocalAvgPool2d)})
([], [(12, 12), (24, 24), (48, 48)])
>>> x = torch.rand(1, 1, 32, 32)
>>> bool((local(x) - net(x)).abs().max() < 1e-6)  # same output at the training size
True
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# Inference pools at most this many float64 integral-image elements at a time.
CHUNK_ELEMENTS = 1 << 22


def _int_pair(value: object, what: str) -> tuple[int, int]:
    """An int ``k`` → ``(k, k)``; a pair of ints stays; both must be ≥ 1."""
    pair = (value, value) if isinstance(value, int) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair):
        raise ValueError(f"{what} must be an int ≥ 1 or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


class LocalAvgPool2d(nn.Module):
    """Mean over a ``kh × kw`` window around every pixel: ``(N, C, H, W) → (N, C, H, W)``.

    Args:
        kernel_size: window ``k`` or ``(kh, kw)``, ≥ 1. Clipped to the input size; a window
            covering the whole input gives the global mean, shape ``(N, C, 1, 1)``, which
            broadcasts like ``nn.AdaptiveAvgPool2d(1)``'s output.

    Only windows lying inside the input are averaged ("valid"); the ``(H − kh + 1) × (W − kw + 1)``
    means are padded by replication (half before, half after) back to ``H × W``.

    >>> pool = LocalAvgPool2d(2)
    >>> pool(torch.arange(9.0).view(1, 1, 3, 3)).flatten().tolist()
    [2.0, 3.0, 3.0, 5.0, 6.0, 6.0, 5.0, 6.0, 6.0]
    >>> LocalAvgPool2d(5)(torch.ones(1, 2, 3, 3)).shape  # window ≥ input: global mean
    torch.Size([1, 2, 1, 1])
    """

    def __init__(self, kernel_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.kernel_size: tuple[int, int] = _int_pair(kernel_size, "LocalAvgPool2d: kernel_size")

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"LocalAvgPool2d expects (N, C, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        kh, kw = min(self.kernel_size[0], h), min(self.kernel_size[1], w)
        if kh == h and kw == w:
            return x.mean((-2, -1), keepdim=True)
        step = max(1, CHUNK_ELEMENTS // (x.shape[0] * (h + 1) * (w + 1)))
        if torch.is_grad_enabled() or step >= x.shape[1]:
            return self._pool(x, kh, kw)
        # Inference: a few channels at a time, since the float64 temporaries of a whole map
        # would take about six times its float32 size.
        out = torch.empty_like(x)
        for c0 in range(0, x.shape[1], step):
            out[:, c0:c0 + step] = self._pool(x[:, c0:c0 + step], kh, kw)
        return out

    @staticmethod
    def _pool(x: Tensor, kh: int, kw: int) -> Tensor:
        h, w = x.shape[-2:]
        # Integral image in float64: a float32 cumsum over a 2752×2208 map would lose ~1e-6.
        s = F.pad(x.double().cumsum(-1).cumsum(-2), (1, 0, 1, 0))
        box = s[..., kh:, kw:] - s[..., :-kh, kw:] - s[..., kh:, :-kw] + s[..., :-kh, :-kw]
        out = (box / (kh * kw)).to(x.dtype)
        ph, pw = h - out.shape[-2], w - out.shape[-1]
        return F.pad(out, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


def _is_global(pool: nn.Module) -> bool:
    if not isinstance(pool, nn.AdaptiveAvgPool2d):
        return False
    size = pool.output_size
    return size == 1 or tuple(size if isinstance(size, tuple) else (size, size)) == (1, 1)


def global_pools(model: nn.Module) -> list[str]:
    """Names of the ``nn.AdaptiveAvgPool2d(1)`` modules in ``model`` (those that make its output
    depend on the whole input, so that tiles differ from the whole image)."""
    return [name for name, mod in model.named_modules() if _is_global(mod)]


def _in_channels(model: nn.Module) -> int:
    c = getattr(model, "img_channel", None)
    if isinstance(c, int):
        return c
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            return mod.in_channels
    raise ValueError("cannot tell the model's input channels; give it an `img_channel` attribute")


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, new)


def to_local_stats(model: nn.Module, train_size: int | tuple[int, int], *, scale: float = 1.5,
                   inplace: bool = False) -> nn.Module:
    """Replace every global average pool by a :class:`LocalAvgPool2d` sized from ``train_size``.

    Args:
        model: e.g. :class:`~deblurlab.models.nafnet.NAFNet`, ``MIDNet``, ``EHNet``; needs at
            least one ``nn.AdaptiveAvgPool2d(1)``.
        train_size: the training crop ``s`` or ``(h, w)`` (paper001: 256; quick profile: its
            crop).
        scale: window side ÷ the pool's feature size at ``train_size`` (1.5 as in TLC); ≥ 1.
        inplace: convert ``model`` itself instead of a deep copy.

    Returns:
        The converted model (a copy unless ``inplace``), in the training mode it had. At
        ``train_size`` its output equals the original's; on larger inputs each pool averages a
        window of ``scale · train_size`` full-resolution pixels. Its attribute
        ``local_stats_train_size`` holds ``(h, w)``, from which
        :func:`deblurlab.infer.predict_tiled` checks the overlap.

    Raises:
        ValueError: no global pool in ``model``, a bad ``scale``, or a ``train_size`` that is
            not an int ≥ 1 (or a pair) or not a multiple of the model's ``size_multiple``.
    """
    ts = _int_pair(train_size, "train_size")
    m = getattr(model, "size_multiple", 1)
    if isinstance(m, int) and m > 1 and (ts[0] % m or ts[1] % m):
        raise ValueError(f"train_size {ts} is not a size {type(model).__name__} accepts (multiples "
                         f"of its size_multiple {m}); give the crop it was trained on")
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale >= 1):
        raise ValueError(f"scale must be a finite number ≥ 1, got {scale!r}")
    names = global_pools(model)
    if not names:
        raise ValueError(f"{type(model).__name__} has no global average pool "
                         f"(nn.AdaptiveAvgPool2d(1)) to convert")
    out = model if inplace else copy.deepcopy(model)
    sizes: dict[str, tuple[int, int]] = {}

    def recorder(name: str):
        def hook(_mod: nn.Module, args: tuple[Tensor, ...]) -> None:
            sizes.setdefault(name, tuple(args[0].shape[-2:]))
        return hook

    handles = [out.get_submodule(n).register_forward_pre_hook(recorder(n)) for n in names]
    was_training = out.training
    param = next(out.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    try:
        out.eval()
        with torch.no_grad():
            out(torch.zeros(1, _in_channels(out), *ts, device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        out.train(was_training)
    for name in names:
        if name not in sizes:  # a pool the forward pass never reached (e.g. an unused head)
            continue
        fh, fw = sizes[name]
        _set_module(out, name, LocalAvgPool2d((max(1, math.floor(fh * scale)),
                                               max(1, math.floor(fw * scale)))))
    out.local_stats_train_size = ts
    return out


def seam_free_overlap(model: nn.Module) -> int | None:
    """The tile overlap that makes tiled inference of a converted model match its whole-image
    output to ≤ 1e-4: 3 × the training crop (2 pooling windows); ``None`` for a model
    :func:`to_local_stats` did not convert.

    Measured for crops of 16 (``tests/test_local_stats.py``), 32 and 64 (NAFNet-w32 and
    MIDNet-w32, ``benchmarks/RESULTS.md``); for larger crops it is the same rule scaled up, not
    measured (a whole-image reference several 1536² tiles large is too slow on a CPU).

    >>> seam_free_overlap(to_local_stats(nn.Sequential(nn.Conv2d(1, 2, 1),
    ...                                                nn.AdaptiveAvgPool2d(1)), 96))
    288
    """
    ts = getattr(model, "local_stats_train_size", None)
    return None if ts is None else 3 * max(ts)


__all__ = ["LocalAvgPool2d", "global_pools", "seam_free_overlap", "to_local_stats"]
