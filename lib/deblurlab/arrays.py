"""Conversions between numpy images ``(H, W[, C])`` and torch batches ``(N, C, H, W)``."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(image: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """numpy ``(H, W)`` or ``(H, W, C)`` → float32 tensor ``(1, C, H, W)``.

    >>> to_tensor(np.zeros((4, 5), np.float32)).shape
    torch.Size([1, 1, 4, 5])
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3:
        arr = np.moveaxis(arr, -1, 0)
    else:
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None].to(device or "cpu")


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Tensor ``(1, C, H, W)``, ``(C, H, W)`` or ``(H, W)`` → numpy ``(H, W)`` / ``(H, W, C)``.

    >>> to_numpy(torch.zeros(1, 3, 4, 5)).shape
    (4, 5, 3)
    """
    t = tensor.detach().to("cpu", torch.float32)
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"to_numpy takes one image, got a batch of {t.shape[0]}")
        t = t[0]
    if t.ndim == 3:
        t = t[0] if t.shape[0] == 1 else t.permute(1, 2, 0)
    if t.ndim != 2 and t.ndim != 3:
        raise ValueError(f"cannot convert a tensor of shape {tuple(tensor.shape)} to an image")
    return t.numpy().copy()


def to_grey(image: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R BT.601 weights) of an RGB image; grey images pass through.

    >>> to_grey(np.ones((2, 2, 3), np.float32)).shape
    (2, 2)
    """
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 2:
        return arr
    if arr.ndim == 3 and arr.shape[-1] == 1:
        return arr[..., 0]
    if arr.ndim == 3 and arr.shape[-1] == 3:
        return (arr @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    raise ValueError(f"expected (H, W), (H, W, 1) or (H, W, 3), got {arr.shape}")


def centre_crop(image: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
    """Centre crop of an ``(H, W[, C])`` image to ``size`` (``None`` = unchanged).

    A crop larger than the image is an error rather than a silent smaller result.

    >>> centre_crop(np.zeros((10, 12)), 4).shape
    (4, 4)
    """
    if size is None:
        return image
    h, w = (size, size) if isinstance(size, int) else size
    H, W = image.shape[:2]
    if h > H or w > W:
        raise ValueError(f"crop {h}×{w} is larger than the image {H}×{W}")
    y, x = (H - h) // 2, (W - w) // 2
    return image[y : y + h, x : x + w]


def structured_crop_box(reference: np.ndarray, size: int | tuple[int, int]) -> tuple[slice, slice]:
    """The ``size`` window of ``reference`` with the most structure (highest standard deviation).

    Candidates lie on a grid with half-window steps (plus the centre window). Use it to pick
    evaluation crops: a centre crop of a reflected-light frame can be bare substrate, where
    spectra and metrics measure nothing but noise. Apply the same box to the blurred image.

    >>> ref = np.zeros((8, 8)); ref[5:8, 0:3] = np.eye(3)
    >>> structured_crop_box(ref, 4)
    (slice(4, 8, None), slice(0, 4, None))
    """
    h, w = (size, size) if isinstance(size, int) else size
    H, W = reference.shape[:2]
    if h > H or w > W:
        raise ValueError(f"crop {h}×{w} is larger than the image {H}×{W}")
    ys = sorted(set(range(0, H - h + 1, max(1, h // 2))) | {H - h, (H - h) // 2})
    xs = sorted(set(range(0, W - w + 1, max(1, w // 2))) | {W - w, (W - w) // 2})
    grey = to_grey(reference) if reference.ndim == 3 else np.asarray(reference, np.float32)
    best = max(((float(grey[y:y + h, x:x + w].std()), -abs(y - (H - h) // 2) - abs(x - (W - w) // 2), y, x)
                for y in ys for x in xs))
    return slice(best[2], best[2] + h), slice(best[3], best[3] + w)
