"""Small matplotlib helpers the notebooks share: image grids, saving figures and tables.

Figures and tables are written under :func:`deblurlab.config.build_dir` (``build/`` by default,
``$DEBLURLAB_BUILD`` when the notebook runner sets it), so a headless run leaves every figure a
notebook draws on disk next to the executed notebook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .config import build_dir


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    if not slug:
        raise ValueError(f"cannot make a file name from {name!r}")
    return slug


def show_images(
    images: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    *,
    ncols: int | None = None,
    cmap: str = "gray",
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    size: float = 3.0,
    suptitle: str | None = None,
):
    """Show images side by side; returns the matplotlib ``Figure``.

    Args:
        images: ``{title: image}`` or a list of images, each ``(H, W)`` or ``(H, W, 3)`` in [0, 1].
        ncols: columns (default: all in one row, at most 6).
        vmin, vmax: display range; ``None`` stretches each image to its own min/max.

    Example:
        >>> fig = show_images({"a": np.zeros((8, 8)), "b": np.ones((8, 8))})
        >>> len(fig.axes)
        2
    """
    items = list(images.items()) if isinstance(images, Mapping) else [(None, im) for im in images]
    if not items:
        raise ValueError("show_images needs at least one image")
    n = len(items)
    ncols = ncols or min(n, 6)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    for ax, (title, im) in zip(axes.flat, items):
        im = np.asarray(im)
        ax.imshow(np.clip(im, 0, 1) if im.ndim == 3 else im, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_axis_off()
        if title:
            ax.set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def save_figure(fig, name: str, *, dpi: int = 110) -> Path:
    """Save ``fig`` as ``<build>/figures/<name>.png`` and return the path."""
    path = build_dir("figures") / f"{_slug(name)}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def save_table(table, name: str) -> Path:
    """Save a pandas ``DataFrame`` as ``<build>/tables/<name>.csv`` and ``.md``; return the CSV path."""
    folder = build_dir("tables")
    csv = folder / f"{_slug(name)}.csv"
    table.to_csv(csv, index=True)
    (folder / f"{_slug(name)}.md").write_text(table.to_markdown() + "\n")
    return csv
