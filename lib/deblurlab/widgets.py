"""Interactive views for JupyterLab: zoom crops, spectra and a loss-weight playground.

Every view is a *plain function first* that returns a matplotlib ``Figure`` or a pandas table,
so a headless run (papermill, CI) produces the same content as static output:

* :func:`zoom_figure` — blurred / restored / reference crops side by side at one region, with a
  linked percentile contrast stretch and a signed difference map to the reference;
* :func:`spectrum_figure` — centred log-magnitude spectra, radially averaged PSD, horizontal and
  vertical line profiles with frequency markers (±0.25 cycles/px by default) and the difference
  to the reference in dB;
* :func:`metrics_table` — PSNR / SSIM / Q / dB excess at ±0.25 per panel.

The widget classes wrap them with ipywidgets: :class:`ZoomCrops`, :class:`SpectrumView` (follows
a ``ZoomCrops``' region) and :class:`LossPlayground` (sliders for the loss-term weights, Run /
Stop, a progress bar, a results table kept across runs). Each has ``.widget`` to display and a
static ``.figure()``; nothing ever waits for input, so a notebook shows the static figure first
and then the widget::

    zc = ZoomCrops({"blurred": b, "restored": r, "reference": s}, zoom=3)
    display(zc.figure()); display(zc.widget)
    sv = SpectrumView(zc)
    display(sv.figure()); display(sv.widget)

Views are rendered to PNG bytes (``Figure.savefig`` with the Agg canvas, never pyplot) into an
``ipywidgets.Image``, so they work headless and in the browser without ipympl. The zoom view's
``Image`` has the CSS class ``deblurlab-zoom-view``; the region sliders ``deblurlab-zoom-x`` and
``deblurlab-zoom-y`` (browser tests rely on these names).

Images: ``(H, W)`` grey or ``(H, W, 3)`` RGB (shown as luminance); ``uint8`` / ``uint16`` (and
other integers) are divided by their type's maximum, floats are taken as they are (e.g. [0, 1]
from :func:`deblurlab.io.read_image`). All panels of one view must have the same shape.
"""

from __future__ import annotations

import copy
import io
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import spectra
from .arrays import to_grey

__all__ = ["LOSS_TERMS", "LossPlayground", "Region", "SpectrumView", "ZoomCrops", "as_unit",
           "cache_crops", "check_images", "crop", "figure_png", "load_image_folder",
           "make_loss_terms", "metrics_table", "region_for", "show_static", "spectrum_figure",
           "stretch_limits", "zoom_figure"]

#: Loss terms of the playground: name → what the weight multiplies.
LOSS_TERMS: dict[str, str] = {
    "l1": "L1 (pixel)",
    "vgg": "VGG19 perceptual (layer below)",
    "freq": "frequency loss L_f",
    "edge": "edge loss L_e",
    "q": "−Q sharpness (weight β of −β·Q)",
    "ssim": "1 − SSIM",
}
VGG_LAYERS = ("conv_1_1", "conv_1_2", "conv_2_1", "conv_2_2", "conv_3_1", "conv_3_2",
              "conv_3_3", "conv_3_4")
REFERENCE_NAMES = ("reference", "sharp", "ground truth", "gt")


# --------------------------------------------------------------------------- images, regions


def as_unit(image: Any, name: str = "image") -> np.ndarray:
    """Image as float32 ``(H, W)``: integers ÷ dtype max (8/16-bit → [0, 1]), RGB → luminance.

    >>> as_unit(np.array([[0, 255]], np.uint8)).tolist()
    [[0.0, 1.0]]
    >>> as_unit(np.array([[0, 65535]], np.uint16)).tolist()
    [[0.0, 1.0]]
    """
    try:
        import torch

        if isinstance(image, torch.Tensor):  # (1, C, H, W) / (C, H, W) from a model
            image = image.detach().cpu().numpy()
            while image.ndim > 2 and image.shape[0] == 1:
                image = image[0]
            if image.ndim == 3 and image.shape[0] in (1, 3):
                image = np.moveaxis(image, 0, -1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    arr = np.asarray(image)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer)
                                     or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name}: expected an integer or float image, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = to_grey(arr[..., :3]) if np.issubdtype(arr.dtype, np.floating) else \
            to_grey(arr[..., :3].astype(np.float64) / np.iinfo(arr.dtype).max)
    elif arr.ndim != 2:
        raise ValueError(f"{name}: expected (H, W) or (H, W, 3), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64) / np.iinfo(arr.dtype).max
    arr = np.asarray(arr, np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return arr


def check_images(images: Mapping[str, Any], *, min_size: int = 8) -> dict[str, np.ndarray]:
    """Validate panels: a non-empty ``{name: image}`` with one shape; returns float32 grey."""
    if not isinstance(images, Mapping) or not images:
        raise ValueError("images must be a non-empty dict {panel name: image}")
    out = {str(k): as_unit(v, f"panel {k!r}") for k, v in images.items()}
    shapes = {k: v.shape for k, v in out.items()}
    if len(set(shapes.values())) > 1:
        listing = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"all panels must have the same shape, got {listing}; crop or "
                         f"resize them first")
    shape = next(iter(shapes.values()))
    if min(shape) < min_size:
        raise ValueError(f"images must be at least {min_size}×{min_size} px, got {shape}")
    return out


@dataclass(frozen=True)
class Region:
    """Square crop: top-left corner ``(x, y)`` (column, row) and side ``size`` in pixels."""

    x: int
    y: int
    size: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.size), slice(self.x, self.x + self.size)


def region_for(shape: tuple[int, int], zoom: float, x: int | None = None,
               y: int | None = None) -> Region:
    """Region of side ``min(H, W) / zoom`` (≥ 8 px) at top-left ``(x, y)`` (default: centred),
    clamped to the image.

    >>> region_for((100, 200), 4)
    Region(x=87, y=37, size=25)
    """
    h, w = int(shape[0]), int(shape[1])
    if not (isinstance(zoom, (int, float)) and math.isfinite(zoom) and zoom >= 1):
        raise ValueError(f"zoom must be a number ≥ 1, got {zoom!r}")
    size = max(min(8, h, w), int(round(min(h, w) / zoom)))
    x = (w - size) // 2 if x is None else int(x)
    y = (h - size) // 2 if y is None else int(y)
    return Region(min(max(x, 0), w - size), min(max(y, 0), h - size), size)


def crop(image: np.ndarray, region: Region | None) -> np.ndarray:
    """``image`` cut to ``region`` (the whole image for ``None``)."""
    return image if region is None else image[region.slices]


def stretch_limits(crops: Mapping[str, np.ndarray], percentiles: tuple[float, float] = (1, 99),
                   *, linked: bool = True) -> dict[str, tuple[float, float]]:
    """Display limits per panel from percentiles: pooled over all panels (``linked``, one
    ``(lo, hi)`` for all, so grey levels compare across panels) or per panel.

    >>> a, b = np.zeros((4, 4)), np.ones((4, 4))
    >>> stretch_limits({"a": a, "b": b}, (0, 100))
    {'a': (0.0, 1.0), 'b': (0.0, 1.0)}
    >>> stretch_limits({"a": a, "b": b}, (0, 100), linked=False)["b"]
    (1.0, 1.0)
    """
    lo_p, hi_p = (float(p) for p in percentiles)
    if not 0 <= lo_p < hi_p <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= lo < hi <= 100, got {percentiles}")

    def limits(values: np.ndarray) -> tuple[float, float]:
        lo, hi = np.percentile(values, [lo_p, hi_p])
        return float(lo), float(hi)

    if linked:
        pooled = limits(np.concatenate([np.ravel(c) for c in crops.values()]))
        return dict.fromkeys(crops, pooled)
    return {k: limits(np.ravel(c)) for k, c in crops.items()}


def _vlim(lo: float, hi: float) -> tuple[float, float]:
    return (lo, hi) if hi > lo else (lo - 0.5e-3, hi + 0.5e-3)  # a flat crop still shows


def _reference_name(images: Mapping[str, Any], reference: str | None) -> str | None:
    if reference is not None:
        if reference not in images:
            raise KeyError(f"reference {reference!r} is not a panel; panels are {list(images)}")
        return reference
    return next((k for k in images if k.lower() in REFERENCE_NAMES), None)


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """PNG bytes of ``fig`` (Agg canvas, works without a display)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def show_static(obj: Any, dpi: int = 80) -> None:
    """Display a figure as a PNG (independent of the matplotlib backend, e.g. ``MPLBACKEND=Agg``
    under papermill) or any other object (tables) with IPython's ``display``."""
    from IPython.display import Image, display

    display(Image(data=figure_png(obj, dpi)) if isinstance(obj, Figure) else obj)


class _View:
    """Shared ``show()``: static content first, then the live widget (never waits for input)."""

    widget: Any

    def figure(self) -> Figure:  # pragma: no cover - overridden
        raise NotImplementedError

    def show(self, static: bool = True) -> None:
        """Display :meth:`figure` as a static PNG (kept in saved/papermill notebooks), then
        ``widget`` (live in JupyterLab)."""
        from IPython.display import Image, display

        if static:
            view = getattr(self, "view", None)
            if view is not None and view.value:  # the live view holds the current PNG already
                display(Image(data=view.value))
            else:
                show_static(self.figure())
        display(self.widget)


# --------------------------------------------------------------------------- static views


def zoom_figure(
    images: Mapping[str, Any],
    region: Region | None = None,
    zoom: float = 2.0,
    *,
    stretch: tuple[float, float] = (1.0, 99.0),
    linked: bool = True,
    diff_to: str | None = None,
    overview: bool = True,
    panel_size: float = 2.4,
    title: str | None = None,
) -> Figure:
    """Crops of every panel at one region, side by side; optional difference row.

    Args:
        images: ``{name: (H, W) image}``, same shape, 8/16-bit integer or float (see module doc).
        region: crop; default :func:`region_for` ``(shape, zoom)`` (centred).
        zoom: magnification when ``region`` is ``None`` (crop side = min(H, W) / zoom).
        stretch: display percentiles ``(lo, hi)`` of the crops (contrast stretch).
        linked: one stretch for all panels (pooled percentiles) instead of one per panel.
        diff_to: panel to subtract: a second row shows ``panel − diff_to`` (signed, red =
            brighter, one symmetric colour scale for all). ``None``: no difference row.
        overview: first column shows the whole first panel with the region outlined.

    Returns:
        A ``matplotlib.figure.Figure`` (not registered with pyplot, nothing to close).

    Example:
        >>> img = np.random.default_rng(0).random((64, 64))
        >>> fig = zoom_figure({"a": img, "b": img[::-1]}, zoom=4, diff_to="a")
        >>> len(fig.axes) >= 4
        True
    """
    imgs = check_images(images)
    if diff_to is not None and diff_to not in imgs:
        raise KeyError(f"diff_to {diff_to!r} is not a panel; panels are {list(imgs)}")
    first = next(iter(imgs.values()))
    region = region_for(first.shape, zoom) if region is None else region
    crops = {k: crop(v, region) for k, v in imgs.items()}
    lims = stretch_limits(crops, stretch, linked=linked)
    n = len(imgs) + int(overview)
    rows = 2 if diff_to is not None and len(imgs) > 1 else 1
    fig = Figure(figsize=(panel_size * n, panel_size * rows + 0.4), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, n, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    col = 0
    if overview:
        name0 = next(iter(imgs))
        ax = axes[0, 0]
        ax.imshow(first, cmap="gray", vmin=lims[name0][0], vmax=_vlim(*lims[name0])[1],
                  interpolation="antialiased")
        ax.add_patch(Rectangle((region.x - 0.5, region.y - 0.5), region.size, region.size,
                               fill=False, edgecolor="yellow", linewidth=1.5))
        ax.set_title(f"{name0}: whole image", fontsize=9)
        col = 1
    for j, (name, c) in enumerate(crops.items()):
        ax = axes[0, col + j]
        lo, hi = _vlim(*lims[name])
        ax.imshow(c, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(name, fontsize=9)
    if rows == 2:
        ref = crops[diff_to]
        diffs = {k: c - ref for k, c in crops.items() if k != diff_to}
        bound = max(float(np.percentile(np.abs(np.concatenate([d.ravel() for d in diffs.values()])),
                                        99.5)), 1e-6)
        im = None
        for j, name in enumerate(crops):
            ax = axes[1, col + j]
            if name == diff_to:
                ax.text(0.5, 0.5, f"difference\nto {diff_to}", ha="center", va="center",
                        transform=ax.transAxes, fontsize=9)
                continue
            im = ax.imshow(diffs[name], cmap="RdBu_r", vmin=-bound, vmax=bound,
                           interpolation="nearest")
            ax.set_title(f"{name} − {diff_to}", fontsize=8)
        if im is not None:
            fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="difference")
    suffix = f"stretch {stretch[0]:g}–{stretch[1]:g} %" + (" linked" if linked else " per panel")
    where = f"x {region.x}, y {region.y}, {region.size}×{region.size} px"
    fig.suptitle(title or f"{where} · {suffix}", fontsize=9)
    return fig


def _markers(markers: Iterable[float]) -> tuple[float, ...]:
    out = tuple(float(m) for m in markers)
    if any(not 0 < m <= 0.5 for m in out):
        raise ValueError(f"frequency markers must be in (0, 0.5] cycles/px, got {out}")
    return out


def spectrum_figure(
    images: Mapping[str, Any],
    region: Region | None = None,
    *,
    reference: str | None = None,
    markers: Iterable[float] = (0.25,),
    window: str | None = None,
    panel_size: float = 2.4,
) -> Figure:
    """Spectra of every panel (of ``region``'s crop, else of the whole images).

    Top row: centred log-magnitude spectrum ``20·log10|F|`` per panel (one colour scale).
    Bottom row: radially averaged PSD (dB), horizontal (centre row, v = 0) and vertical (centre
    column, u = 0) magnitude profiles with dashed markers at ±``markers`` cycles/px, and — with a
    reference panel — each panel's horizontal and vertical profile minus the reference's, in dB
    (paper 000's artifact measure reads this at ±0.25).

    Args:
        images: as :func:`zoom_figure`.
        region: crop to analyse (e.g. ``ZoomCrops.region``); ``None`` = whole images.
        reference: reference panel (default: one named ``reference``/``sharp``/``gt`` if any).
        markers: frequencies in (0, 0.5] cycles/px to mark.
        window: ``None`` or ``"hann"`` (see :mod:`deblurlab.spectra`).

    Example:
        >>> img = np.random.default_rng(0).random((32, 32))
        >>> fig = spectrum_figure({"restored": img, "reference": img}, markers=[0.25])
        >>> len(fig.axes) >= 6
        True
    """
    imgs = check_images(images)
    ref = _reference_name(imgs, reference)
    marks = _markers(markers)
    crops = {k: crop(v, region) for k, v in imgs.items()}
    specs = {k: spectra.magnitude_spectrum_db(c, window=window) for k, c in crops.items()}
    n = len(crops)
    n_bottom = 4 if ref is not None and n > 1 else 3
    ncols = max(n, n_bottom)
    fig = Figure(figsize=(panel_size * ncols, panel_size * 2 + 0.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1])
    axes_top = np.atleast_1d(top.subplots(1, n, squeeze=False)[0])
    all_db = np.concatenate([s[0].ravel() for s in specs.values()])
    vmin, vmax = np.percentile(all_db, [1, 99.9])
    im = None
    for ax, (name, (spec, fy, fx)) in zip(axes_top, specs.items()):
        im = ax.imshow(spec, cmap="magma", vmin=vmin, vmax=vmax,
                       extent=(fx[0], fx[-1], fy[-1], fy[0]), interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("fx (cycles/px)", fontsize=7)
        ax.tick_params(labelsize=6)
    if im is not None:
        top.colorbar(im, ax=axes_top.tolist(), shrink=0.8, label="dB")
    what = f"crop x {region.x}, y {region.y}, {region.size} px" if region else "whole image"
    top.suptitle(f"centred log-magnitude spectra ({what})", fontsize=9)

    ax_psd, ax_h, ax_v, *rest = np.atleast_1d(bottom.subplots(1, n_bottom))
    for name, c in crops.items():
        f, v = spectra.radial_psd(c, window=window)
        ax_psd.plot(f, spectra.to_db(v), lw=1, label=name)
        prof = spectra.line_profiles(*specs[name])
        ax_h.plot(*prof["horizontal"], lw=1, label=name)
        ax_v.plot(*prof["vertical"], lw=1, label=name)
    ax_psd.set(title="radially averaged PSD", xlabel="f (cycles/px)", ylabel="dB")
    ax_h.set(title="horizontal profile (v = 0)", xlabel="fx (cycles/px)", ylabel="dB")
    ax_v.set(title="vertical profile (u = 0)", xlabel="fy (cycles/px)")
    for ax in (ax_psd, ax_h, ax_v):
        for m in marks:
            for s in ((1,) if ax is ax_psd else (-1, 1)):
                ax.axvline(s * m, color="k", ls="--", lw=0.7)
    if rest:
        ax_d = rest[0]
        g_prof = spectra.line_profiles(*specs[ref])
        for name in crops:
            if name == ref:
                continue
            prof = spectra.line_profiles(*specs[name])
            line, = ax_d.plot(prof["horizontal"][0],
                              prof["horizontal"][1] - g_prof["horizontal"][1], lw=1,
                              label=f"{name} (h)")
            ax_d.plot(prof["vertical"][0], prof["vertical"][1] - g_prof["vertical"][1], lw=1,
                      ls=":", color=line.get_color(), label=f"{name} (v)")
        ax_d.axhline(0, color="grey", lw=0.7)
        for m in marks:
            for s in (-1, 1):
                ax_d.axvline(s * m, color="k", ls="--", lw=0.7)
        ax_d.set(title=f"difference to {ref}", xlabel="f (cycles/px)", ylabel="dB")
        ax_d.legend(fontsize=6)
    for ax in np.atleast_1d(bottom.axes):
        ax.title.set_fontsize(8)
        ax.tick_params(labelsize=6)
        ax.xaxis.label.set_fontsize(7)
        ax.yaxis.label.set_fontsize(7)
    ax_psd.legend(fontsize=6)
    return fig


def metrics_table(images: Mapping[str, Any], reference: str | None = None, *,
                  region: Region | None = None, f: float = 0.25) -> pd.DataFrame:
    """One row per panel: ``psnr``, ``ssim`` (vs the reference, data range 1), ``q`` (Zhu–Milanfar
    sharpness, no reference), ``excess_db`` at ±``f`` (dB above the reference's spectrum).

    Without a reference panel only ``q`` is filled; the reference's own row has NaN elsewhere.

    >>> img = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    >>> float(metrics_table({"restored": img, "reference": img}).loc["restored", "excess_db"])
    0.0
    """
    from .metrics import psnr, ssim
    from .sharpness import metric_q

    imgs = {k: crop(v, region) for k, v in check_images(images).items()}
    ref = _reference_name(imgs, reference)
    rows = {}
    for name, img in imgs.items():
        row = {"psnr": np.nan, "ssim": np.nan, "q": np.nan, "excess_db": np.nan}
        if min(img.shape) >= 8:
            row["q"] = float(metric_q(img))
        if ref is not None and name != ref:
            g = imgs[ref]
            row["psnr"] = float(psnr(img, g, data_range=1.0, max_db=100.0))
            if min(img.shape) >= 11:
                row["ssim"] = float(ssim(img, g, data_range=1.0))
            row["excess_db"] = spectra.excess_db(img, g, f).db
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "panel"
    return table


# --------------------------------------------------------------------------- widgets


def _widgets():
    try:
        import ipywidgets
    except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError("the interactive views need ipywidgets (pip install ipywidgets); "
                          "the plain functions zoom_figure / spectrum_figure work without") from exc
    return ipywidgets


class ZoomCrops(_View):
    """Blurred / restored / reference crops at a movable region (see :func:`zoom_figure`).

    Controls: ``x``, ``y`` (top-left of the region, ``IntSlider`` with CSS classes
    ``deblurlab-zoom-x`` / ``deblurlab-zoom-y``), ``zoom`` (crop side = min(H, W) / zoom),
    ``stretch`` (display percentiles), ``linked`` (one stretch for all panels), ``diff``
    (difference row). Any change re-renders ``view`` (an ``ipywidgets.Image`` with class
    ``deblurlab-zoom-view``) and calls the listeners added with :meth:`on_change` (e.g. a
    :class:`SpectrumView`).

    Args:
        images: ``{name: image}`` (same shape; 8/16-bit or float).
        reference: panel the difference row subtracts (default: one named ``reference`` /
            ``sharp`` / ``gt``; ``None`` without such a panel → no difference row).
        zoom, x, y: initial zoom and region (default centred).
        stretch, linked: initial contrast stretch.

    Example::

        zc = ZoomCrops({"blurred": b, "restored": r, "reference": s}, zoom=4)
        zc.x.value = 10          # re-renders zc.view
        display(zc.figure()); display(zc.widget)
    """

    def __init__(self, images: Mapping[str, Any], *, reference: str | None = None,
                 zoom: float = 2.0, x: int | None = None, y: int | None = None,
                 stretch: tuple[float, float] = (1.0, 99.0), linked: bool = True,
                 diff: bool = True, dpi: int = 72, panel_size: float = 2.4) -> None:
        w = _widgets()
        self._images = check_images(images)
        self._reference = _reference_name(self._images, reference)
        self.dpi, self.panel_size = int(dpi), float(panel_size)
        self._listeners: list[Callable[[ZoomCrops], None]] = []
        self._hold = False
        h, wd = self.shape
        region = region_for(self.shape, zoom, x, y)
        self.zoom = w.FloatSlider(value=float(zoom), min=1.0,
                                  max=max(float(zoom), min(h, wd) / 8), step=0.5,
                                  description="zoom", continuous_update=False)
        self.x = w.IntSlider(value=region.x, min=0, max=wd - region.size, description="x",
                             continuous_update=False)
        self.y = w.IntSlider(value=region.y, min=0, max=h - region.size, description="y",
                             continuous_update=False)
        self.x.add_class("deblurlab-zoom-x")
        self.y.add_class("deblurlab-zoom-y")
        self.stretch = w.FloatRangeSlider(value=tuple(stretch), min=0.0, max=100.0, step=0.5,
                                          description="stretch %", continuous_update=False)
        self.linked = w.Checkbox(value=bool(linked), description="linked stretch", indent=False)
        self.diff = w.Checkbox(value=bool(diff) and self._reference is not None,
                               description="difference map", indent=False,
                               disabled=self._reference is None)
        self.view = w.Image(format="png")
        self.view.add_class("deblurlab-zoom-view")
        self.renders = 0  # how many times the view was drawn (for tests and curiosity)
        for c in (self.x, self.y, self.stretch, self.linked, self.diff):
            c.observe(self._changed, names="value")
        self.zoom.observe(self._zoom_changed, names="value")
        controls = w.VBox([w.HBox([self.x, self.y, self.zoom]),
                           w.HBox([self.stretch, self.linked, self.diff])])
        self.widget = w.VBox([controls, self.view])
        self.render()

    # -- state
    @property
    def images(self) -> dict[str, np.ndarray]:
        """The panels as float32 grey images (a copy of the dict)."""
        return dict(self._images)

    @property
    def reference(self) -> str | None:
        return self._reference

    @property
    def shape(self) -> tuple[int, int]:
        return next(iter(self._images.values())).shape

    @property
    def region(self) -> Region:
        """The current crop (from the sliders, clamped)."""
        return region_for(self.shape, self.zoom.value, self.x.value, self.y.value)

    @property
    def limits(self) -> dict[str, tuple[float, float]]:
        """Display limits per panel under the current stretch."""
        r = self.region
        return stretch_limits({k: crop(v, r) for k, v in self._images.items()},
                              self.stretch.value, linked=self.linked.value)

    def set_images(self, images: Mapping[str, Any], reference: str | None = None) -> None:
        """Replace the panels (same shape as before keeps the region) and re-render."""
        imgs = check_images(images)
        if next(iter(imgs.values())).shape != self.shape:
            raise ValueError(f"new images are {next(iter(imgs.values())).shape}, the view shows "
                             f"{self.shape}; build a new ZoomCrops for another size")
        self._images = imgs
        self._reference = _reference_name(imgs, reference)
        self.diff.disabled = self._reference is None
        self._refresh()

    def on_change(self, callback: Callable[[ZoomCrops], None]) -> None:
        """Call ``callback(self)`` after every re-render (region, zoom, stretch or images)."""
        self._listeners.append(callback)

    # -- drawing
    def figure(self) -> Figure:
        """The current view as a static figure (what ``view`` shows)."""
        return zoom_figure(self._images, self.region, stretch=self.stretch.value,
                           linked=self.linked.value,
                           diff_to=self._reference if self.diff.value else None,
                           panel_size=self.panel_size)

    def render(self) -> bytes:
        """Draw the view into ``view.value`` (PNG bytes) and return them."""
        png = figure_png(self.figure(), dpi=self.dpi)
        self.view.value = png
        self.renders += 1
        return png

    def _refresh(self) -> None:
        if self._hold:
            return
        self.render()
        for cb in list(self._listeners):
            cb(self)

    def _changed(self, change: Mapping[str, Any]) -> None:
        self._refresh()

    def _zoom_changed(self, change: Mapping[str, Any]) -> None:
        # keep the region's centre where it was while its size changes; one render at the end
        old = region_for(self.shape, change["old"], self.x.value, self.y.value)
        cx, cy = old.x + old.size / 2, old.y + old.size / 2
        new = region_for(self.shape, change["new"])
        h, w = self.shape
        self._hold = True
        try:
            self.x.max, self.y.max = w - new.size, h - new.size
            self.x.value = int(min(max(round(cx - new.size / 2), 0), w - new.size))
            self.y.value = int(min(max(round(cy - new.size / 2), 0), h - new.size))
        finally:
            self._hold = False
        self._refresh()


class SpectrumView(_View):
    """Spectra of a :class:`ZoomCrops`' panels at its current region (or of given images).

    Controls: ``follow`` (analyse the zoom crop instead of the whole images), ``marker``
    (frequency of the dashed markers, ±0.25 cycles/px preset), ``window`` (none / Hann). The view
    is an ``ipywidgets.Image`` (CSS class ``deblurlab-spectrum-view``) re-rendered whenever the
    zoom view changes.

    Example::

        sv = SpectrumView(zc)        # follows zc's region
        display(sv.figure()); display(sv.widget)
    """

    def __init__(self, source: ZoomCrops | Mapping[str, Any], *, reference: str | None = None,
                 markers: Sequence[float] = (0.25,), follow: bool = True,
                 window: str | None = None, dpi: int = 72) -> None:
        w = _widgets()
        self.zoom_view = source if isinstance(source, ZoomCrops) else None
        self._images = None if self.zoom_view is not None else check_images(source)
        self._reference = reference
        marks = _markers(markers)
        self.dpi = int(dpi)
        self.follow = w.Checkbox(value=bool(follow) and self.zoom_view is not None,
                                 description="crop of the zoom view", indent=False,
                                 disabled=self.zoom_view is None)
        self.marker = w.FloatSlider(value=marks[0] if marks else 0.25, min=0.01, max=0.5,
                                    step=0.01, description="marker f", continuous_update=False)
        self.window = w.Dropdown(options=[("none", None), ("Hann", "hann")], value=window,
                                 description="window")
        self.view = w.Image(format="png")
        self.view.add_class("deblurlab-spectrum-view")
        self.renders = 0
        for c in (self.follow, self.marker, self.window):
            c.observe(lambda change: self.render(), names="value")
        if self.zoom_view is not None:
            self.zoom_view.on_change(lambda zc: self.render())
        self.widget = w.VBox([w.HBox([self.follow, self.marker, self.window]), self.view])
        self.render()

    @property
    def images(self) -> dict[str, np.ndarray]:
        return self.zoom_view.images if self.zoom_view is not None else dict(self._images)

    @property
    def region(self) -> Region | None:
        """The analysed crop: the zoom view's region when following it, else ``None``."""
        return self.zoom_view.region if self.zoom_view is not None and self.follow.value else None

    def _ref(self) -> str | None:
        if self._reference is not None:
            return self._reference
        return self.zoom_view.reference if self.zoom_view is not None else None

    def figure(self) -> Figure:
        return spectrum_figure(self.images, self.region, reference=self._ref(),
                               markers=(self.marker.value,), window=self.window.value)

    def table(self) -> pd.DataFrame:
        """:func:`metrics_table` of the analysed crop."""
        return metrics_table(self.images, self._ref(), region=self.region, f=self.marker.value)

    def render(self) -> bytes:
        png = figure_png(self.figure(), dpi=self.dpi)
        self.view.value = png
        self.renders += 1
        return png


# --------------------------------------------------------------------------- loss playground


def make_loss_terms(weights: Mapping[str, float], *, layer: str = "conv_2_1",
                    vgg_weights: str = "vgg19-imagenet-conv1_1-conv3_4",
                    cache: dict | None = None) -> tuple[dict[str, Callable], dict[str, float]]:
    """``(losses, weights)`` for :func:`deblurlab.train.fit` from playground weights.

    Terms (see :data:`LOSS_TERMS`): ``l1`` mean |p − t|; ``vgg``
    :class:`~deblurlab.losses.PerceptualLoss` at ``layer``; ``freq``
    :class:`~deblurlab.losses.FrequencyLoss`; ``edge`` :class:`~deblurlab.losses.EdgeLoss`;
    ``q`` −mean Q(pred) (so weight β gives paper 003's −β·Q; luminance for RGB); ``ssim``
    1 − SSIM. Weights of 0 leave a term out (the VGG is only loaded when ``vgg`` > 0).

    >>> losses, w = make_loss_terms({"l1": 1.0, "freq": 3e-4, "edge": 0})
    >>> sorted(losses), w
    (['freq', 'l1'], {'l1': 1.0, 'freq': 0.0003})
    """
    from .burst_losses import ssim_map_mean
    from .losses import EdgeLoss, FrequencyLoss, PerceptualLoss, l1_loss
    from .sharpness import sharpness_q_loss

    unknown = sorted(set(weights) - set(LOSS_TERMS))
    if unknown:
        raise ValueError(f"unknown loss terms {unknown}; known: {list(LOSS_TERMS)}")
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"weight of {k!r} must be a finite number ≥ 0, got {v!r}")
    if layer not in VGG_LAYERS:
        raise ValueError(f"layer must be one of {VGG_LAYERS}, got {layer!r}")
    cache = {} if cache is None else cache

    def q_term(p, t):
        grey = p if p.shape[1] == 1 else p.mean(1, keepdim=True)
        return sharpness_q_loss(grey)

    def ssim_term(p, t):
        return 1 - ssim_map_mean(p, t).mean()

    makers: dict[str, Callable[[], Callable]] = {
        "l1": lambda: l1_loss,
        "vgg": lambda: cache.setdefault(("vgg", layer, vgg_weights),
                                        PerceptualLoss(layer, vgg_weights)),
        "freq": FrequencyLoss, "edge": EdgeLoss, "q": lambda: q_term, "ssim": lambda: ssim_term,
    }
    active = {k: float(v) for k, v in weights.items() if v > 0}
    if not active:
        raise ValueError("all loss weights are 0; give at least one term a weight > 0")
    return {k: makers[k]() for k in active}, active


def cache_crops(pairs: Iterable[tuple[Any, Any]], crop_size: int, n: int, *,
                seed: int = 0) -> tuple[Any, Any]:
    """``n`` random aligned crops from ``(blurred, sharp)`` image pairs, as tensors
    ``(n, 1, crop, crop)`` float32 — the playground's cached training data.

    >>> import numpy as np
    >>> b, s = cache_crops([(np.zeros((40, 40)), np.ones((40, 40)))], 16, 5)
    >>> tuple(b.shape), float(s.mean())
    ((5, 1, 16, 16), 1.0)
    """
    import torch

    pairs = [(as_unit(b, "blurred"), as_unit(s, "sharp")) for b, s in pairs]
    if not pairs:
        raise ValueError("cache_crops needs at least one (blurred, sharp) pair")
    for b, s in pairs:
        if b.shape != s.shape:
            raise ValueError(f"blurred {b.shape} and sharp {s.shape} differ in shape")
        if min(b.shape) < crop_size:
            raise ValueError(f"image {b.shape} is smaller than the crop {crop_size}")
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(int(n)):
        b, s = pairs[i % len(pairs)]
        y0 = int(rng.integers(0, b.shape[0] - crop_size + 1))
        x0 = int(rng.integers(0, b.shape[1] - crop_size + 1))
        xs.append(b[y0:y0 + crop_size, x0:x0 + crop_size])
        ys.append(s[y0:y0 + crop_size, x0:x0 + crop_size])
    return (torch.from_numpy(np.stack(xs)[:, None].copy()),
            torch.from_numpy(np.stack(ys)[:, None].copy()))


class LossPlayground(_View):
    """Sliders for the loss-term weights → a short fine-tune → refreshed views, a results table.

    Each run fine-tunes a *fresh copy* of ``model`` (so runs differ only in their settings) on the
    cached ``train_data`` with :func:`deblurlab.train.fit`, restores ``images["blurred"]`` and
    appends one row to :attr:`results` (weights ``w_<term>``, VGG layer, steps done, stopped?,
    PSNR, SSIM, Q, dB excess at ±0.25 vs ``images["reference"]`` when given, seconds). The
    restored image is added to the zoom view as panel ``run k`` (the last ``keep`` runs are
    shown), which also refreshes a linked :class:`SpectrumView`.

    The Run button starts the fine-tune in a background thread (the notebook stays responsive;
    an ``IntProgress`` follows the steps, Stop ends it after the current step). For scripts and
    papermill use :meth:`run` (``block=True``), which never waits for input.

    Args:
        model: the starting network (left untouched).
        train_data: what ``fit`` takes, e.g. ``cache_crops(...)`` tensors ``(N, 1, h, w)``.
        images: ``{"blurred": image, "reference": image (optional)}`` shown and scored.
        weights: initial slider values (defaults: L1 1, others 0).
        layer: initial VGG layer; steps, lr, batch_size: the fine-tune's budget.
        zoom: a :class:`ZoomCrops` to refresh (default: one is built on ``images``).
        vgg_weights: VGG19 weight file for the perceptual term (registry name).
        fit_kwargs: further arguments for ``fit`` (e.g. ``device``).

    Example::

        pg = LossPlayground(model, cache_crops(pairs, 64, 32), {"blurred": b, "reference": s})
        pg.sliders["freq"].value = 3e-4
        pg.run()                       # blocking, headless
        display(pg.table()); display(pg.widget)
    """

    SLIDER_RANGES: dict[str, tuple[float, float, float]] = {
        "l1": (0.0, 2.0, 0.05), "vgg": (0.0, 1.0, 0.01), "freq": (0.0, 0.02, 1e-4),
        "edge": (0.0, 0.5, 0.01), "q": (0.0, 0.5, 0.005), "ssim": (0.0, 1.0, 0.05),
    }

    def __init__(self, model: Any, train_data: Any, images: Mapping[str, Any], *,
                 weights: Mapping[str, float] | None = None, layer: str = "conv_2_1",
                 steps: int = 20, lr: float = 1e-4, batch_size: int = 4,
                 zoom: ZoomCrops | None = None, keep: int = 3,
                 vgg_weights: str = "vgg19-imagenet-conv1_1-conv3_4", seed: int = 0,
                 fit_kwargs: Mapping[str, Any] | None = None) -> None:
        w = _widgets()
        if "blurred" not in images:
            raise KeyError(f"images needs a 'blurred' panel (and optionally 'reference'); got "
                           f"{list(images)}")
        self._base = {k: v for k, v in check_images(images).items()
                      if k in ("blurred", "reference")}
        self._blurred_raw = self._base["blurred"]
        self.model, self.train_data = model, train_data
        self.batch_size, self.keep, self.seed = int(batch_size), int(keep), int(seed)
        self.vgg_weights = vgg_weights
        self.fit_kwargs = dict(fit_kwargs or {})
        weights = {"l1": 1.0, **(weights or {})}
        bad = sorted(set(weights) - set(LOSS_TERMS))
        if bad:
            raise ValueError(f"unknown loss terms {bad}; known: {list(LOSS_TERMS)}")
        self.sliders = {}
        for name, (lo, hi, step) in self.SLIDER_RANGES.items():
            v = float(weights.get(name, 0.0))
            self.sliders[name] = w.FloatSlider(
                value=v, min=lo, max=max(hi, v), step=step, description=name,
                readout_format=".2g" if name != "freq" else ".1e", continuous_update=False,
                tooltip=LOSS_TERMS[name])
        self.layer = w.Dropdown(options=list(VGG_LAYERS), value=layer, description="VGG layer")
        self.steps = w.IntSlider(value=int(steps), min=1, max=max(500, int(steps)),
                                 description="steps", continuous_update=False)
        self.lr = w.FloatLogSlider(value=float(lr), base=10, min=-6, max=-2, step=0.1,
                                   description="lr", readout_format=".1e")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop",
                                    disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=int(steps), description="fine-tune")
        self.status = w.HTML("ready")
        self.table_view = w.HTML("")
        self.run_button.on_click(lambda _: self.run(block=False))
        self.stop_button.on_click(lambda _: self.stop())
        self.results: list[dict[str, Any]] = []
        self.outputs: dict[str, np.ndarray] = {}  # run label → restored image
        self.histories: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._vgg_cache: dict = {}
        self.zoom = zoom if zoom is not None else ZoomCrops(self._base, zoom=2.0)
        if self.zoom.shape != self._blurred_raw.shape:
            raise ValueError(f"the zoom view shows {self.zoom.shape} images, the playground's "
                             f"blurred image is {self._blurred_raw.shape}; they must match")
        # the zoom view's own panels stay; runs are shown between them and the reference
        self._zoom_base = self.zoom.images
        controls = w.VBox([w.HBox(list(self.sliders.values())[:3]),
                           w.HBox(list(self.sliders.values())[3:]),
                           w.HBox([self.layer, self.steps, self.lr]),
                           w.HBox([self.run_button, self.stop_button, self.progress]),
                           self.status])
        self.widget = w.VBox([controls, self.table_view] +
                             ([self.zoom.widget] if zoom is None else []))

    # -- state
    @property
    def weights(self) -> dict[str, float]:
        """The current slider values ``{term: weight}``."""
        return {k: float(s.value) for k, s in self.sliders.items()}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def table(self) -> pd.DataFrame:
        """All runs so far, one row each (index ``run``)."""
        cols = ["run", *(f"w_{k}" for k in LOSS_TERMS), "layer", "steps", "steps_done",
                "stopped", "psnr", "ssim", "q", "excess_db", "seconds"]
        return pd.DataFrame(self.results, columns=cols).set_index("run")

    def figure(self) -> Figure:
        """Static view: the zoom figure with the runs' restorations."""
        return self.zoom.figure()

    def show(self, static: bool = True) -> None:
        """Display the results table (static), then the widget."""
        from IPython.display import display

        if static:
            show_static(self.table() if self.results else
                        "LossPlayground: no runs yet — set the weights and press Run "
                        "(or call .run() in a script)")
        display(self.widget)

    # -- actions
    def stop(self) -> None:
        """Ask a running fine-tune to stop after its current step."""
        self._stop.set()
        self.status.value = "stopping after this step…"

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background run (Run button) ends; re-raise its error, if any."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            err, self.error = self.error, None
            raise err

    def run(self, block: bool = True) -> dict[str, Any] | None:
        """Fine-tune with the current slider values.

        ``block=True``: run here and return the results row. ``block=False`` (the Run button):
        start a background thread and return ``None``; :meth:`wait` joins it.
        """
        with self._lock:
            if self.running:
                self.status.value = "a run is in progress; press Stop first"
                return None
            self._stop.clear()
            self.error = None
            if block:
                return self._job(raise_errors=True)
            self._thread = threading.Thread(target=self._job, name="deblurlab-playground",
                                            daemon=True)
            self.run_button.disabled, self.stop_button.disabled = True, False
            self._thread.start()
        return None

    def _job(self, raise_errors: bool = False) -> dict[str, Any] | None:
        from .infer import predict
        from .train import fit

        weights, layer = self.weights, self.layer.value
        steps, lr = int(self.steps.value), float(self.lr.value)
        label = f"run {len(self.results) + 1}"
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.progress.max, self.progress.value = steps, 0
        self.status.value = f"{label}: fine-tuning {steps} steps…"
        done = [0]

        def callback(step: int, loss: float) -> bool:
            done[0] = step
            self.progress.value = step
            return self._stop.is_set()

        start = time.perf_counter()
        try:
            losses, w = make_loss_terms(weights, layer=layer, vgg_weights=self.vgg_weights,
                                        cache=self._vgg_cache)
            model = copy.deepcopy(self.model)
            kwargs = {"progress": False, "log_every": max(1, steps // 5), "seed": self.seed,
                      "batch_size": self.batch_size, **self.fit_kwargs}
            history = fit(model, self.train_data, losses=losses, weights=w, steps=steps, lr=lr,
                          callback=callback, **kwargs)
            restored = np.clip(as_unit(predict(model, self._blurred_raw)), 0, 1)
            scores = metrics_table({label: restored, **self._base}, reference="reference"
                                   if "reference" in self._base else None).loc[label]
            row = {"run": label, **{f"w_{k}": v for k, v in weights.items()},
                   "layer": layer if weights["vgg"] > 0 else "",
                   "steps": steps, "steps_done": done[0], "stopped": bool(history.interrupted),
                   **{k: float(scores[k]) for k in ("psnr", "ssim", "q", "excess_db")},
                   "seconds": round(time.perf_counter() - start, 2)}
            self.results.append(row)
            self.outputs[label] = restored
            self.histories[label] = history
            self._show_runs()
            self.status.value = (f"{label} {'stopped at' if row['stopped'] else 'done:'} "
                                 f"{done[0]}/{steps} steps in {row['seconds']:.1f} s")
            return row
        except BaseException as exc:  # shown in the widget; raised again by run()/wait()
            self.status.value = f"<b>error</b>: {type(exc).__name__}: {exc}"
            if raise_errors:
                raise
            self.error = exc
            return None
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True

    def _show_runs(self) -> None:
        self.table_view.value = self.table().to_html(float_format=lambda v: f"{v:.4g}")
        runs = list(self.outputs)[-self.keep:] if self.keep > 0 else []
        ref = self.zoom.reference if self.zoom.reference in self._zoom_base else None
        panels = {k: v for k, v in self._zoom_base.items() if k != ref}
        panels.update({k: self.outputs[k] for k in runs})
        if ref is not None:
            panels[ref] = self._zoom_base[ref]
        self.zoom.set_images(panels, reference=ref)


# --------------------------------------------------------------------------- user folders


_BLUR_TAGS = ("_blurred", "_blurry", "_blur", "-blurred", "-blurry", "-blur")
_SHARP_TAGS = ("_sharp", "_reference", "_ref", "_gt", "-sharp", "-reference", "-ref", "-gt")


def _split_tag(stem: str, tags: Sequence[str]) -> str | None:
    low = stem.lower()
    for tag in tags:
        if low.endswith(tag):
            return stem[: len(stem) - len(tag)]
    return None


def load_image_folder(folder: str | Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Images of a lab member's folder, paired with their references where there are any.

    Layouts (TIFF or PNG, 8 or 16 bit, grey or RGB → luminance):

    1. sub-folders ``blur/`` and ``sharp/`` with files of the same stem
       (``blur/cell1.tif`` ↔ ``sharp/cell1.tif``; see :class:`deblurlab.datasets.PairedFolder`);
    2. one flat folder with ``NAME_blur.tif`` + ``NAME_sharp.tif`` (also ``_blurred``,
       ``_blurry`` / ``_reference``, ``_ref``, ``_gt``; ``-`` instead of ``_`` works too);
    3. any other image in the flat folder is a *single blurred image* without reference.

    Returns:
        ``[{"name", "blur", "sharp" (None without reference), "source_dtype", "data_range"}]``
        sorted by name; images float32 ``(H, W)`` in [0, 1] (:func:`deblurlab.io.read_image`).
    """
    from .datasets import IMAGE_EXTENSIONS, PairedFolder
    from .io import read_image

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    items: list[dict[str, Any]] = []
    if (root / "blur").is_dir() and (root / "sharp").is_dir():
        ds = PairedFolder(root / "blur", root / "sharp", grey=True)
        for i in range(len(ds)):
            it = ds[i]
            _, meta = read_image(ds.paths(i)[0])
            items.append({"name": it["name"], "blur": it["blur"], "sharp": it["sharp"],
                          "source_dtype": meta.source_dtype, "data_range": it["data_range"]})
    else:
        files = sorted(p for p in root.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        blur, sharp, single = {}, {}, {}
        for p in files:
            if (key := _split_tag(p.stem, _BLUR_TAGS)) is not None:
                blur[key] = p
            elif (key := _split_tag(p.stem, _SHARP_TAGS)) is not None:
                sharp[key] = p
            else:
                single[p.stem] = p
        orphans = sorted(set(sharp) - set(blur))
        if orphans:
            raise ValueError(f"{root}: reference images without a blurred partner: {orphans} "
                             f"(name them NAME_blur.* and NAME_sharp.*)")
        for key, p in {**blur, **single}.items():
            b, meta = read_image(p, grey=True)
            s = None
            if key in sharp:
                s, _ = read_image(sharp[key], grey=True)
                if s.shape != b.shape:
                    raise ValueError(f"{p.name} {b.shape} and {sharp[key].name} {s.shape} "
                                     f"differ in size")
            items.append({"name": key, "blur": b, "sharp": s, "source_dtype": meta.source_dtype,
                          "data_range": meta.data_range})
        items.sort(key=lambda it: it["name"])
    if not items:
        raise ValueError(f"no TIFF/PNG images in {root} (layouts: blur/ + sharp/ sub-folders, "
                         f"NAME_blur + NAME_sharp files, or single blurred images)")
    return items[:limit] if limit else items
