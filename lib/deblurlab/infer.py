"""Inference on whole images and on large images tile by tile.

:func:`predict` runs the model once on the whole image, padded (reflect) to the model's
``size_multiple``. :func:`predict_tiled` never feeds the whole image: it cuts overlapping tiles,
runs them in batches and blends the outputs into a preallocated result, so accelerator memory is
bounded by ``tile² × batch_size`` whatever the image size.

Blending. Along each axis a tile's weight is 1 except within ``overlap`` pixels of an edge that
borders another tile (image borders are never down-weighted). There the weight is 0 for the first
``margin`` pixels — the ones a tile computes from its artificial border — and then ramps up to 1
over the remaining ``overlap − 2·margin`` pixels (``"cosine"``: raised cosine, ``"linear"``).
``"none"`` cuts hard in the middle of the overlap (``margin = overlap // 2``, no ramp). Weights are
normalised to sum to one per pixel and accumulated in float64, so:

* an identity model returns its input exactly;
* a purely local model whose receptive-field radius is ≤ ``margin`` (``"none"``: ≤ ``overlap // 2``)
  gives the whole-image result up to float rounding;
* larger receptive fields (U-Nets) give small differences that shrink as the overlap grows.

Models with a global average pool (the channel attention of NAFNet, MIDNet, EHNet) differ:
every tile has its own channel statistics, so tiling changes every pixel and no overlap removes
the difference. :func:`predict_tiled` warns about them; convert such a model with
:func:`deblurlab.models.local_stats.to_local_stats` (test-time local statistics) first and use an
overlap of 3 × its training crop (``seam_free_overlap``; it warns about smaller ones).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from .arrays import to_tensor
from .models.local_stats import global_pools, seam_free_overlap

_BLENDS = ("cosine", "linear", "none")


def _as_batch(image: Tensor | np.ndarray) -> tuple[Tensor, int | None]:
    """Image → float32 ``(N, C, H, W)`` tensor and the numpy ndim to return (``None``: tensor).

    Only real floating-point values pass: integer images are refused rather than scaled, since
    their range (8-bit, 12-bit in 16, …) is the caller's to know; NaN / inf are refused because a
    convolution spreads one of them over the whole output.
    """
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3):
            raise ValueError(f"a numpy image must be (H, W) or (H, W, C), got shape {image.shape}")
        floating = np.issubdtype(image.dtype, np.floating)
    elif isinstance(image, Tensor):
        if image.ndim != 4:
            raise ValueError(f"a tensor image must be (N, C, H, W), got shape {tuple(image.shape)}"
                             f"; add axes with image[None] / image[None, None]")
        floating = image.dtype.is_floating_point
    else:
        raise TypeError(f"expected a torch.Tensor or numpy.ndarray, got {type(image).__name__}")
    if not floating:
        raise TypeError(f"the image must hold floats in [0, 1], got dtype {image.dtype}; read "
                        f"files with deblurlab.io.read_image (which scales them and records the "
                        f"range) or divide by the data's maximum (255, 65535, ...) yourself")
    x, ndim = (to_tensor(image), image.ndim) if isinstance(image, np.ndarray) else (image.float(), None)
    if x.shape[-1] == 0 or x.shape[-2] == 0 or x.shape[0] == 0:
        raise ValueError(f"empty image of shape {tuple(x.shape)}")
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"the image holds {bad} NaN / inf value(s); the network would spread "
                         f"them over the whole output — fill or mask them first")
    return x, ndim


def _to_output(y: Tensor, ndim: int | None) -> Tensor | np.ndarray:
    if ndim is None:
        return y
    arr = y[0].detach().cpu().numpy()  # (C, H, W)
    if ndim == 2 and arr.shape[0] == 1:
        return arr[0]
    return np.ascontiguousarray(np.moveaxis(arr, 0, -1))


def _size_multiple(model: nn.Module, size_multiple: int | None) -> int:
    m = size_multiple if size_multiple is not None else getattr(model, "size_multiple", 1)
    if not isinstance(m, int) or m < 1:
        raise ValueError(f"size_multiple must be a positive int, got {m!r}")
    return m


def _model_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is not None:
        device = torch.device(device)
        model.to(device)
        return device
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def _reflect_index(idx: Tensor, n: int) -> Tensor:
    """Mirror indices into ``[0, n)`` like numpy's ``"reflect"`` (edge not repeated)."""
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = idx % period
    return torch.where(idx >= n, period - idx, idx)


def _window(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``x`` along ``dim`` from ``start`` for ``length``, reflect-extended past the end."""
    n = x.shape[dim]
    if start + length <= n:
        return x.narrow(dim, start, length)
    idx = _reflect_index(torch.arange(start, start + length, device=x.device), n)
    return x.index_select(dim, idx)


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Reflect-pad ``(N, C, H, W)`` at the bottom/right to ``H``, ``W`` multiples of ``multiple``.

    >>> pad_to_multiple(torch.zeros(1, 1, 5, 8), 4).shape
    torch.Size([1, 1, 8, 8])
    """
    h, w = x.shape[-2:]
    hp, wp = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    return _window(_window(x, -2, 0, hp), -1, 0, wp)


def _channels_last(flag: bool | None, device: torch.device) -> bool:
    """``None`` = the default: on for the CPU, where ``benchmarks/RESULTS.md`` measured it to pay
    (off elsewhere: not measured on a GPU)."""
    if flag is None:
        return device.type == "cpu"
    if not isinstance(flag, bool):
        raise TypeError(f"channels_last must be True, False or None, got {flag!r}")
    return flag


def _nhwc_weights(model: nn.Module) -> dict[str, Tensor]:
    """NHWC copies of the model's 4-D parameters and buffers (the conv kernels).

    A convolution runs in NHWC when its input *or* its weight is ``channels_last``; a grey
    ``(N, 1, H, W)`` input is both layouts at once, so it is the weights that select the fast
    path. Copies, passed through ``torch.func.functional_call``, leave the model untouched.
    """
    tensors = dict(model.named_parameters())
    tensors.update(model.named_buffers())
    return {name: t.contiguous(memory_format=torch.channels_last)
            for name, t in tensors.items() if t.ndim == 4}


def _run(model: nn.Module, x: Tensor, nhwc: dict[str, Tensor] | None = None) -> Tensor:
    try:
        if nhwc:
            x = x.contiguous(memory_format=torch.channels_last)
            y = torch.func.functional_call(model, nhwc, (x,))
        else:
            y = model(x)
    except RuntimeError as exc:
        if "channels" not in str(exc):
            raise
        raise ValueError(
            f"{type(model).__name__} refused a batch of shape {tuple(x.shape)} (N, C, H, W): "
            f"{str(exc).splitlines()[0]}. numpy images are (H, W) or (H, W, C) with channels "
            f"last; a grey model takes one channel, an RGB model three") from exc
    if not isinstance(y, Tensor) or y.ndim != 4 or y.shape[0] != x.shape[0] \
            or y.shape[-2:] != x.shape[-2:]:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"the model must map (N, C, H, W) to (N, C', H, W); "
                         f"input {tuple(x.shape)} gave {shape}")
    return y


def predict(model: nn.Module, image: Tensor | np.ndarray, *, size_multiple: int | None = None,
            device: torch.device | str | None = None,
            out_device: torch.device | str = "cpu",
            channels_last: bool | None = None) -> Tensor | np.ndarray:
    """Whole-image prediction, padded (reflect) to the model's size multiple and cropped back.

    Args:
        model: maps ``(N, C, H, W)`` to ``(N, C', H, W)``; its ``size_multiple`` is honoured.
        image: float tensor ``(N, C, H, W)`` or numpy ``(H, W)`` / ``(H, W, C)``, values in [0, 1].
        size_multiple: overrides ``model.size_multiple``.
        device: run there (the model is moved); default: where the model's parameters are.
        out_device: where the output tensor is returned (numpy inputs: ignored).
        channels_last: run the convolutions in NHWC (``channels_last``) layout, with NHWC copies
            of the model's conv weights (the model itself is not changed) — the same values up to
            float rounding (≤ 2e-6 measured), 1.2–2.0× faster on the CPU in
            ``benchmarks/RESULTS.md``, at the cost of one copy of the conv weights; ``None``: on
            for the CPU only.

    Returns the same type and spatial size as ``image`` (numpy ``(H, W)`` for one output channel
    from a 2-D input, else ``(H, W, C')``). The model runs in eval mode under
    ``torch.inference_mode``; its training flag is restored afterwards.

    >>> from deblurlab.models import SmallUNet
    >>> predict(SmallUNet(width=4, levels=2), np.zeros((10, 13), np.float32)).shape
    (10, 13)
    """
    x, ndim = _as_batch(image)
    m = _size_multiple(model, size_multiple)
    dev = _model_device(model, device)
    h, w = x.shape[-2:]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            nhwc = _nhwc_weights(model) if _channels_last(channels_last, dev) else None
            y = _run(model, pad_to_multiple(x.to(dev), m), nhwc)
            y = y[..., :h, :w].to(out_device, torch.float32).contiguous()
    finally:
        model.train(was_training)
    return _to_output(y, ndim)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile starts covering ``[0, length)`` with stride ``tile − overlap``, last tile end-aligned.

    >>> tile_starts(10, 4, 1)
    [0, 3, 6]
    >>> tile_starts(3, 4, 1)
    [0]
    """
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - overlap))
    return starts + [length - tile]


def _edge_weights(n: int, has_before: bool, has_after: bool, overlap: int, margin: int,
                  blend: str, device: torch.device) -> Tensor:
    """1-D float64 weights of one tile of length ``n`` (see the module doc)."""
    w = torch.ones(n, dtype=torch.float64, device=device)
    if overlap == 0:
        return w
    if blend == "none":
        ramp = torch.zeros(overlap, dtype=torch.float64, device=device)
        ramp[overlap // 2:] = 1
    else:
        k = overlap - 2 * margin
        t = (torch.arange(k, dtype=torch.float64, device=device) + 0.5) / k
        core = t if blend == "linear" else 0.5 - 0.5 * torch.cos(math.pi * t)
        ramp = torch.cat([torch.zeros(margin, dtype=torch.float64, device=device), core,
                          torch.ones(margin, dtype=torch.float64, device=device)])
    if has_before:
        w[:overlap] *= ramp
    if has_after:
        w[n - overlap:] *= ramp.flip(0)
    return w


def _axis_weights(length: int, tile: int, starts: list[int], overlap: int, margin: int,
                  blend: str, device: torch.device) -> list[Tensor]:
    """Per-tile 1-D weights along one axis, normalised so they sum to 1 at every position."""
    ws = [_edge_weights(tile, s > 0, s + tile < length, overlap, margin, blend, device)
          for s in starts]
    total = torch.zeros(length, dtype=torch.float64, device=device)
    for s, w in zip(starts, ws):
        total[s:s + tile] += w
    if not bool((total > 0).all()):  # guaranteed by construction; guards future edits
        raise RuntimeError("internal error: tile weights leave pixels uncovered")
    return [w / total[s:s + tile] for s, w in zip(starts, ws)]


def predict_tiled(
    model: nn.Module,
    image: Tensor | np.ndarray,
    *,
    tile: int = 256,
    overlap: int = 32,
    batch_size: int = 4,
    device: torch.device | str | None = None,
    size_multiple: int | None = None,
    blend: str = "cosine",
    margin: int | None = None,
    progress: bool = False,
    out_device: torch.device | str = "cpu",
    channels_last: bool | None = None,
) -> Tensor | np.ndarray:
    """Tiled prediction of an arbitrarily large image with bounded memory.

    The image is padded (reflect) at the bottom/right to a multiple of the model's
    ``size_multiple``, cut into ``tile × tile`` tiles overlapping by at least ``overlap`` (the
    last row/column of tiles is aligned to the border; an image smaller than one tile is run as a
    single, smaller tile), run ``batch_size`` tiles at a time and blended (see the module doc)
    into an output preallocated on ``out_device``.

    Args:
        model: maps ``(N, C, H, W)`` to ``(N, C', H, W)``.
        image: float tensor ``(N, C, H, W)`` or numpy ``(H, W)`` / ``(H, W, C)``, values in [0, 1].
        tile: tile side; a multiple of ``size_multiple`` and ≥ ``2·overlap``.
        overlap: minimum overlap of neighbouring tiles, in pixels.
        batch_size: tiles per forward pass.
        device: run there (the model is moved); default: where the model's parameters are.
        size_multiple: overrides ``model.size_multiple`` (default 1).
        blend: ``"cosine"``, ``"linear"`` or ``"none"``.
        margin: pixels at a tile's inner edge that get zero weight (default ``overlap // 4``;
            ``2·margin < overlap``). Ignored by ``"none"``.
        progress: show a tqdm bar over batches.
        out_device: where the output (and the float64 accumulator) lives.
        channels_last: run the convolutions in NHWC layout with NHWC copies of the conv weights
            (see :func:`predict`; ``None``: on for the CPU only).

    Returns:
        Same type and spatial size as ``image`` (see :func:`predict`), float32. Memory on
        ``out_device``: 12 bytes per output value while blending.

    >>> from deblurlab.models import ResidualCNN
    >>> model = ResidualCNN(width=4, depth=3)
    >>> x = torch.rand(1, 1, 100, 70)
    >>> y = predict_tiled(model, x, tile=48, overlap=16)
    >>> y.shape, bool((y - predict(model, x)).abs().max() < 1e-5)
    (torch.Size([1, 1, 100, 70]), True)
    """
    x, ndim = _as_batch(image)
    m = _size_multiple(model, size_multiple)
    if blend not in _BLENDS:
        raise ValueError(f"blend must be one of {_BLENDS}, got {blend!r}")
    if not isinstance(tile, int) or tile < 1:
        raise ValueError(f"tile must be a positive int, got {tile!r}")
    if not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be a non-negative int, got {overlap!r}")
    if tile < 2 * overlap:
        raise ValueError(f"tile ({tile}) must be at least 2·overlap ({2 * overlap}); "
                         f"use a larger tile or a smaller overlap")
    if tile % m:
        raise ValueError(f"tile ({tile}) must be a multiple of the model's size_multiple ({m}), "
                         f"e.g. {-(-tile // m) * m}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int ≥ 1, got {batch_size!r}")
    batch_size = int(batch_size)
    if margin is None:
        margin = overlap // 4
    if blend != "none" and overlap > 0 and not 0 <= 2 * margin < overlap:
        raise ValueError(f"margin must satisfy 0 ≤ 2·margin < overlap ({overlap}), got {margin}")

    dev = _model_device(model, device)
    nhwc = _nhwc_weights(model) if _channels_last(channels_last, dev) else None
    out_dev = torch.device(out_device)
    n_img, _, h, w = x.shape
    hp, wp = -(-h // m) * m, -(-w // m) * m  # padded size: what the model sees overall
    th, tw = min(tile, hp), min(tile, wp)
    ys, xs = tile_starts(hp, th, overlap), tile_starts(wp, tw, overlap)
    pools = global_pools(model)
    if pools and len(ys) * len(xs) > 1:
        warnings.warn(
            f"{type(model).__name__} has {len(pools)} global average pool(s) (e.g. {pools[0]!r}):"
            f" each tile gets its own channel statistics, so tiling changes every pixel, not only"
            f" the seams. Convert it first with deblurlab.models.local_stats.to_local_stats(model,"
            f" train_size=<training crop>) and use an overlap of 3 × that crop.",
            UserWarning, stacklevel=2)
    need = seam_free_overlap(model)
    if need is not None and overlap < need and len(ys) * len(xs) > 1:
        warnings.warn(
            f"the model was converted to local statistics for {model.local_stats_train_size} "
            f"crops; tiles overlapping by {overlap} < {need} px (3 × the crop) can differ from "
            f"the whole-image output by more than 1e-4 near the seams. Use overlap ≥ {need} "
            f"and tile ≥ {2 * need}, or accept the seams.", UserWarning, stacklevel=2)
    wy = _axis_weights(hp, th, ys, overlap, margin, blend, out_dev)
    wx = _axis_weights(wp, tw, xs, overlap, margin, blend, out_dev)
    jobs = [(n, i, j) for n in range(n_img) for i in range(len(ys)) for j in range(len(xs))]

    def batches() -> Iterator[list[tuple[int, int, int]]]:
        for k in range(0, len(jobs), batch_size):
            yield jobs[k:k + batch_size]

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=-(-len(jobs) // batch_size), desc="tiles", unit="batch")
    out: Tensor | None = None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for group in batches():
                tiles = torch.cat([
                    _window(_window(x[n:n + 1], -2, ys[i], th), -1, xs[j], tw)
                    for n, i, j in group]).to(dev)
                pred = _run(model, tiles, nhwc).to(out_dev, torch.float64)
                if out is None:
                    out = torch.zeros(n_img, pred.shape[1], h, w, dtype=torch.float64,
                                      device=out_dev)
                for p, (n, i, j) in zip(pred, group):
                    y0, x0 = ys[i], xs[j]
                    hv, wv = min(th, h - y0), min(tw, w - x0)  # drop rows/cols in the padding
                    weight = wy[i][:hv, None] * wx[j][None, :wv]
                    out[n, :, y0:y0 + hv, x0:x0 + wv] += p[:, :hv, :wv] * weight
                if bar is not None:
                    bar.update(1)
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    assert out is not None  # at least one tile always exists
    return _to_output(out.float(), ndim)
