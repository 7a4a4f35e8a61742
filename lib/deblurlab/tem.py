"""TEM fast-image-stream bursts (paper 002, Wieslander et al. 2021): simulation, preparation, ECC.

**The paper's data.** A MiniTEM records a continuous stream of 1024×1024 frames (15 ms
exposure) while the stage moves the sample upwards, so every frame shows vertical motion blur
and electron shot noise. For each position a high-quality (HQ) 2048×2048 16-bit image was also
taken with the stage at rest (down-sampled 2× to the frames' pixel size). Two samples were
imaged: kidney tissue and a calibration grid (opaque grid bars around square cells). The best
matching blurry frame and its neighbours (5 frames) were registered to the HQ image by ECC
maximisation, everything was mapped from 16 to 8 bits with one fixed min/max per data set, and
training crops were drawn from inside the grid cells (METHODS §3.1). That set (Zenodo 4113244,
``TrainTestVal.zip``, 629,335,440 bytes, CC BY 4.0) cannot be downloaded on the project's
machines; it is in the catalog as ``tem-fast-streams`` and :func:`load_tem_streams` indexes it.

**What is simulated here instead.** :func:`simulate_burst` turns any sharp image in [0, 1] into a
TEM-like burst of N frames::

    frame_i = to_8bit(65535 · clip(noise(shift(sharp ⊛ k_i, s_i)), 0, 1), vmin, vmax) / 255

* ``k_i``: vertical motion-blur line of random length (default 15 px, METHODS §3.7) with a
  slight random curvature (:func:`deblurlab.psf.motion_psf`, centred on its centroid);
* ``s_i = (dy, dx)``: random sub-pixel drift of frame ``i`` (the stage never stops exactly);
* noise: Gaussian of ``noise_sigma`` (default 0.05, METHODS §3.7) plus optional Poisson shot
  noise (:func:`deblurlab.simulate.add_poisson_gaussian_noise`);
* the 16-bit detector (intensity 1 = 65535 counts) and the paper's fixed-min/max 8-bit scaling
  (:func:`to_8bit`).

Sources: the paper's three synthetic test images and a procedural calibration grid
(:func:`synthetic_tem_image`), and real sharp images from ``DEBLURLAB_DATA`` as "tissue"
(:func:`tissue_sources`). :class:`BurstPairs` serves random crops of simulated bursts for
training burst networks (METHODS §3.2-3.3).

**Preparation** as in the paper: :func:`grid_mask`, :func:`erode_mask` (disk, radius 128,
2 iterations), :func:`random_crops_in_mask` (top-left inside the eroded mask),
:func:`regular_tiles` (val/test tiling). **Registration**: :func:`ecc_register` /
:func:`register_burst` (OpenCV ``findTransformECC``, translation, seeded with an initial offset).

Shift convention (the whole module): ``(dy, dx)`` is the displacement of a frame's content
relative to the sharp/template image, i.e. ``frame ≈ scipy.ndimage.shift(template, (dy, dx))``
(+dy = content moved down). Registration undoes it. (:func:`deblurlab.datasets.register_pair`
reports the opposite sign: the shift *applied* to the moving image.)

Registration accuracy: across the motion (x) ECC recovers the drift to a few hundredths of a
pixel. Along it (y) a blurred frame and the sharp template agree almost equally well over a
range of offsets (the correlation peak is flattened by the blur), so small asymmetries decide:
≈ 0.1-0.2 px error with straight kernels at 128-256 px, up to ≈ 0.6 px with curved
(``jitter_px=0.5``) ones, whose correlation peak is not at their centroid. Against a template
blurred like the frames, the error is ≈ 0.03 px (see ``tests/test_tem.py``).

Example:
    >>> sharp = synthetic_tem_image("calibration_grid", (128, 128), seed=1)
    >>> burst = simulate_burst(sharp, 3, drift_px=1.0, jitter_px=0.0, seed=2,
    ...                        vmin=CALIBRATION_GRID_SCALING[0])
    >>> burst["frames"].shape, burst["frames"].dtype, burst["shifts"].shape
    ((3, 128, 128), dtype('float32'), (3, 2))
    >>> reg = register_burst(burst["frames"], burst["sharp"])
    >>> err_y, err_x = np.abs(reg["shifts"] - burst["shifts"]).max(axis=0)
    >>> bool(err_x < 0.05), bool(err_y < 0.3)
    (True, True)
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from scipy import ndimage
from torch.utils.data import Dataset

from . import config, phantoms
from .datasets import RegistrationError, valid_region
from .psf import motion_psf
from .simulate import add_poisson_gaussian_noise, blur

__all__ = [
    "BurstPairs",
    "CALIBRATION_GRID_SCALING",
    "FULL_SCALE",
    "TEM_KINDS",
    "TEM_SPLITS",
    "TISSUE_SETS",
    "burst_sources",
    "collate_bursts",
    "ecc_register",
    "erode_mask",
    "grid_mask",
    "load_tem_streams",
    "random_crops_in_mask",
    "register_burst",
    "regular_tiles",
    "simulate_burst",
    "synthetic_tem_image",
    "tissue_sources",
    "to_8bit",
]

#: 16-bit detector full scale: simulated intensity 1.0 reads as this many counts.
FULL_SCALE = 65535
#: Kinds accepted by :func:`synthetic_tem_image`.
TEM_KINDS: tuple[str, ...] = ("kidney", "lines", "grid2", "calibration_grid")
#: ``(vmin, vmax)`` in counts for :func:`synthetic_tem_image` ``("calibration_grid")``: the bars
#: (intensity ≈ 0.03) fall below ``vmin`` = 0.15 full scale and map to 0, like the paper's grid.
CALIBRATION_GRID_SCALING: tuple[int, int] = (round(0.15 * FULL_SCALE), FULL_SCALE)
#: Split folder names :func:`load_tem_streams` looks for (case-insensitive).
TEM_SPLITS: tuple[str, ...] = ("train", "val", "test")

Seed = int | np.random.Generator | np.random.SeedSequence | Sequence[int] | None
Span = float | tuple[float, float]


# --------------------------------------------------------------------------------- helpers


def _image2d(image: Any, name: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 2 or min(arr.shape, default=0) < 1:
        raise ValueError(f"{name} must be a non-empty 2-D (H, W) array, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _unit_image(image: Any, name: str) -> np.ndarray:
    arr = _image2d(image, name)
    if arr.min() < -1e-6 or arr.max() > 1 + 1e-6:
        raise ValueError(f"{name} must hold values in [0, 1], got [{arr.min():.3g}, "
                         f"{arr.max():.3g}] (divide by the data range first)")
    return np.clip(arr, 0.0, 1.0)


def _span(value: Span, name: str, low: float = 0.0) -> tuple[float, float]:
    lo, hi = (value, value) if np.isscalar(value) else tuple(value)  # type: ignore[misc]
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < low or hi < lo:
        raise ValueError(f"{name} must be a number >= {low} or a (lo, hi) range with "
                         f"{low} <= lo <= hi, got {value!r}")
    return lo, hi


def _nonneg(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _posint(value: int, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _frame_range(frames: int | tuple[int, int]) -> tuple[int, int]:
    lo, hi = (frames, frames) if np.isscalar(frames) else tuple(frames)  # type: ignore[misc]
    lo, hi = _posint(lo, "frames"), _posint(hi, "frames")
    if hi < lo:
        raise ValueError(f"frames must be an int or a (lo, hi) range with lo <= hi, got {frames!r}")
    return lo, hi


# --------------------------------------------------------------------------------- sources


def _calibration_grid(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Opaque bars around square cells; the cells hold a faint cross-grating and mottle."""
    h, w = shape
    pitch = rng.uniform(0.28, 0.4) * max(h, w)          # 2-4 cells across the field
    bar = rng.uniform(0.12, 0.2) * pitch
    angle = rng.uniform(-6.0, 6.0)
    cells = phantoms.calibration_grid(
        shape, pitch, bar, angle_deg=angle, offset_px=tuple(rng.uniform(0, pitch, 2)),
        background=1.0, line_value=0.0)                   # 1 inside a cell, 0 on a bar
    grating = phantoms.lines(shape, 2, pitch_px=rng.uniform(10, 16), width_px=rng.uniform(2, 3),
                             angle_deg=angle + rng.uniform(-20, 20), background=0.0,
                             line_value=1.0, seed=rng)
    mottle = ndimage.gaussian_filter(rng.standard_normal(shape), 6.0, mode="wrap")
    mottle /= mottle.std() + 1e-12
    inside = 0.6 + 0.15 * grating + 0.04 * mottle
    bar_level = 0.03
    return np.clip(bar_level + (inside - bar_level) * cells, 0.0, 1.0).astype(np.float32)


def synthetic_tem_image(kind: str, shape: int | tuple[int, int] = (512, 512),
                        seed: Seed = 0) -> np.ndarray:
    """A sharp TEM-like test image (METHODS §3.7, Fig. 3 of the paper), float32 in [0, 1].

    ===================  =========================================================================
    kind                 content
    ===================  =========================================================================
    ``kidney``           (a) bright and dark filled spots (radius 3-15 px) and curved lines (width
                         2-4 px) on mid-grey 0.5 (:func:`deblurlab.phantoms.spots_and_lines`)
    ``lines``            (b) parallel straight lines at a random angle (one direction)
    ``grid2``            (c) lines in two directions (crossing grid)
    ``calibration_grid`` opaque bars (≈ 0.03) around square cells (2-4 across) that hold a faint
                         cross-grating; with :data:`CALIBRATION_GRID_SCALING` the bars become 0
                         after the 8-bit scaling, as in the paper's grid data
    ===================  =========================================================================

    Args:
        kind: one of :data:`TEM_KINDS`.
        shape: ``(H, W)`` or an int (default 512×512 as in the paper).
        seed: int, generator or seed sequence; the same arguments give the same image.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> img = synthetic_tem_image("lines", 64, seed=0)
        >>> img.shape, img.dtype, float(np.median(img))
        ((64, 64), dtype('float32'), 0.5)
    """
    if kind not in TEM_KINDS:
        raise ValueError(f"unknown TEM image kind {kind!r}; known: {', '.join(TEM_KINDS)}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape), int(shape))
    if len(shape) != 2 or any(isinstance(s, bool) or int(s) != s or s < 8 for s in shape):
        raise ValueError(f"shape must be an int or (H, W) with sides >= 8, got {shape!r}")
    shape = (int(shape[0]), int(shape[1]))
    if isinstance(seed, bool):
        raise TypeError("seed must be an int, a numpy Generator or a SeedSequence, not bool")
    rng = np.random.default_rng(seed)
    if kind == "kidney":
        img = phantoms.spots_and_lines(shape, background=0.5, seed=rng)
    elif kind == "lines":
        img = phantoms.lines(shape, 1, background=0.5, seed=rng)
    elif kind == "grid2":
        img = phantoms.lines(shape, 2, background=0.5, seed=rng)
    else:
        img = _calibration_grid(shape, rng)
    return np.ascontiguousarray(img, np.float32)


#: Real data sets :func:`tissue_sources` reads sharp images from.
TISSUE_SETS: tuple[str, ...] = ("midnet-sem", "dfnn-lightsheet", "reflected-focus")


def tissue_sources(root: str | Path | None = None, *, sets: Sequence[str] = TISSUE_SETS,
                   per_group: int = 1, warn: bool = True) -> dict[str, np.ndarray] | None:
    """Real sharp images to stand in for TEM tissue, from ``DEBLURLAB_DATA`` (grey, [0, 1]).

    * ``midnet-sem``: sharp SEM tiles, ``per_group`` per source group (groups ``1-1`` … ``8-1``;
      the 12 tiles of a group overlap, so one each is the honest default), 512×512;
    * ``dfnn-lightsheet``: the in-focus planes ``ON`` and ``ON(1)`` (800×512), rescaled to fill
      [0, 1] (:meth:`deblurlab.focus.FocusSeries.rescaled`);
    * ``reflected-focus``: the in-focus plane ``zoff0um`` of each field, 1920×1200, as grey.

    Sets that are absent are skipped. Read through the existing loaders
    (:func:`deblurlab.datasets.midnet_sem`, :func:`deblurlab.focus.load_dfnn_single`,
    :func:`deblurlab.io.read_image` on the ``zoff0um`` files).

    Args:
        root: data root holding those folders; default ``DEBLURLAB_DATA``.
        sets: which of :data:`TISSUE_SETS` to read.
        per_group: midnet-sem tiles per source group (>= 1, at most 12).
        warn: warn (with what to set) when nothing was found.

    Returns:
        ``{"midnet-sem/1-1_s001": image, ...}`` (float32 ``(H, W)``), or ``None`` when none of
        the three sets is available.

    Example:
        >>> src = tissue_sources(warn=False)    # doctest: +SKIP
        >>> sorted(src)[:2]                     # doctest: +SKIP
        ['dfnn-lightsheet/cell11G3Dz0p5umON(1)', 'dfnn-lightsheet/cell11G3Dz0p5umON']
    """
    from .datasets import midnet_sem
    from .focus import load_dfnn_single, parse_reflected
    from .io import read_image

    per_group = _posint(per_group, "per_group")
    sets = (sets,) if isinstance(sets, str) else tuple(sets)
    unknown = [x for x in sets if x not in TISSUE_SETS]
    if unknown or not sets:
        raise ValueError(f"sets must be a non-empty subset of {TISSUE_SETS}, got {sets!r}")
    base = Path(root) if root is not None else config.data_root()
    out: dict[str, np.ndarray] = {}
    if base is not None and "midnet-sem" in sets and (base / "midnet-sem").is_dir():
        ds = midnet_sem(base / "midnet-sem", grey=True)
        taken: dict[str, int] = {}
        for i, name in enumerate(ds.names):
            group = ds.item_group(i)
            if taken.get(group, 0) < per_group:
                taken[group] = taken.get(group, 0) + 1
                out[f"midnet-sem/{name}"] = np.asarray(ds[i]["sharp"], np.float32)
    single = None if base is None else base / "dfnn-lightsheet" / "microtubules" / "single"
    if single is not None and "dfnn-lightsheet" in sets and single.is_dir():
        series = load_dfnn_single(single, grey=True).rescaled()
        for name, image in series.references.items():
            out[f"dfnn-lightsheet/{Path(name).stem}"] = image
    if base is not None and "reflected-focus" in sets and (base / "reflected-focus").is_dir():
        for path in sorted((base / "reflected-focus").glob("tile__*.tif*")):
            field, z = parse_reflected(path.name)
            if z == 0.0:
                out[f"reflected-focus/{field}"] = read_image(path, grey=True)[0]
    if not out:
        if warn:
            where = str(base) if base is not None else f"${config.DATA_ENV} (not set)"
            warnings.warn(
                f"no real 'tissue' images found under {where}: looked for "
                f"{', '.join(x + '/' for x in sets)} (see data/README.md); "
                f"use synthetic_tem_image() sources instead", stacklevel=2)
        return None
    return out


def burst_sources(kinds: Sequence[str] = TEM_KINDS, n_per_kind: int = 1,
                  shape: int | tuple[int, int] = (512, 512), *, seed: int = 0,
                  tissue: bool = False) -> dict[str, np.ndarray]:
    """Named sharp source images for :class:`BurstPairs`: synthetic kinds, plus real tissue.

    Args:
        kinds: subset of :data:`TEM_KINDS`.
        n_per_kind: images per kind (seeds ``(seed, kind index, j)``).
        shape: size of the synthetic images.
        seed: base seed.
        tissue: add :func:`tissue_sources` (skipped, with a warning, when absent).

    Returns:
        ``{"kidney-0": image, ..., "midnet-sem/1-1_s001": image, ...}``.

    Example:
        >>> sorted(burst_sources(("lines", "grid2"), 1, 32))
        ['grid2-0', 'lines-0']
    """
    n_per_kind = _posint(n_per_kind, "n_per_kind", 0)
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    bad = [k for k in kinds if k not in TEM_KINDS]
    if bad:
        raise ValueError(f"unknown kind(s) {bad}; known: {', '.join(TEM_KINDS)}")
    out = {f"{k}-{j}": synthetic_tem_image(k, shape, seed=[seed, TEM_KINDS.index(k), j])
           for k in kinds for j in range(n_per_kind)}
    if tissue:
        out.update(tissue_sources() or {})
    return out


# --------------------------------------------------------------------------------- simulation


def to_8bit(counts: np.ndarray, vmin: float = 0, vmax: float = FULL_SCALE) -> np.ndarray:
    """The paper's 16-bit → 8-bit mapping with one fixed ``(vmin, vmax)`` per data set.

    ``round(255 · clip((counts − vmin) / (vmax − vmin), 0, 1))``: everything at or below
    ``vmin`` becomes 0, everything at or above ``vmax`` becomes 255. The paper picked both from the
    data set's histograms — ``vmax`` slightly above the brightest sample structures, ``vmin``
    such that the grid bars between cells become 0 — and kept them fixed for all images, so
    brightness differences between images survive (no per-image stretching). The network
    input is then ``uint8 / 255``.

    Args:
        counts: detector values (any shape), e.g. uint16.
        vmin, vmax: the fixed window in counts, ``vmin < vmax``.

    Returns:
        uint8 array of the input's shape.

    Example:
        >>> to_8bit(np.array([0, 1000, 2000, 3000, 4000]), vmin=1000, vmax=3000).tolist()
        [0, 0, 128, 255, 255]
    """
    vmin, vmax = float(vmin), float(vmax)
    if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmax <= vmin:
        raise ValueError(f"need finite vmin < vmax, got vmin={vmin}, vmax={vmax}")
    c = np.asarray(counts, np.float64)
    return np.clip(np.round((c - vmin) * (255.0 / (vmax - vmin))), 0, 255).astype(np.uint8)


def simulate_burst(
    sharp: np.ndarray,
    n_frames: int = 5,
    *,
    blur_length: Span = 15.0,
    jitter_px: float = 0.5,
    angle_deg: float = 90.0,
    drift_px: float = 1.0,
    noise_sigma: float = 0.05,
    photons: float | None = None,
    vmin: float = 0,
    vmax: float = FULL_SCALE,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Simulate a burst of ``n_frames`` TEM stream frames of a sharp image.

    For each frame ``i`` (all draws from ``seed``, in order):

    1. **Motion blur**: a line kernel of length ``L_i`` (fixed, or uniform in a ``(lo, hi)``
       range, e.g. ``(10, 20)``) along ``angle_deg`` (90 = vertical, the stage's direction of
       travel), with a smooth random deviation of ``jitter_px`` (slightly curved path; METHODS
       §3.7), normalised and centred on its centroid so it does not move the image.
    2. **Drift**: a sub-pixel shift ``s_i = (dy, dx)``, each uniform in ``[-drift_px, drift_px]``
       (cubic-spline interpolation; the border is extended by mirroring, see ``"valid"``).
    3. **Noise**: Poisson shot noise with ``photons`` expected counts at intensity 1 (``None`` =
       none) plus Gaussian noise of standard deviation ``noise_sigma`` (intensity units),
       clipped to [0, 1] — the detector saturates.
    4. **16 → 8 bit**: intensity 1 is :data:`FULL_SCALE` (65535) counts; the counts are mapped
       to 8 bits with the fixed window ``(vmin, vmax)`` by :func:`to_8bit` (below ``vmin`` → 0,
       above ``vmax`` → 255) and divided by 255, as the paper feeds its networks. A narrower
       window stretches contrast *and* noise: the output noise is
       ``noise_sigma · 65535 / (vmax − vmin)``.

    The returned ``sharp`` goes through the same step 4 (no blur, no drift, no noise), so it is
    the ground truth in the frames' units.

    Args:
        sharp: ``(H, W)`` sharp image in [0, 1].
        n_frames: frames in the burst (the paper uses 3-5).
        blur_length: kernel length in px, or a ``(lo, hi)`` range drawn per frame.
        jitter_px: standard deviation of the kernel path's deviation (px, >= 0).
        angle_deg: motion direction, 90 = vertical (see :func:`deblurlab.psf.motion_psf`).
        drift_px: largest drift per axis (px, >= 0).
        noise_sigma: Gaussian noise standard deviation, intensity units (>= 0).
        photons: shot-noise level (expected electrons at intensity 1), or ``None``.
        vmin, vmax: fixed 8-bit scaling window in 16-bit counts, ``0 <= vmin < vmax <= 65535``.
        seed: int, generator or seed sequence; same arguments → same burst.

    Returns:
        dict with
        ``frames`` float32 ``(N, H, W)`` in [0, 1] (multiples of 1/255);
        ``sharp`` float32 ``(H, W)``, the scaled ground truth;
        ``clean`` float32 ``(N, H, W)``: frames before noise and 8-bit rounding (same scaling);
        ``shifts`` float64 ``(N, 2)``: true ``(dy, dx)`` of each frame (module convention);
        ``kernels``: list of N float32 PSFs; ``lengths`` float64 ``(N,)``;
        ``valid`` ``(y0, y1, x0, x1)``: region free of the mirrored border;
        ``params``: the arguments used.

    Example:
        >>> b = simulate_burst(np.full((32, 32), 0.5), 4, blur_length=(10, 20), seed=0)
        >>> b["frames"].shape, [k.shape[0] >= 11 for k in b["kernels"]]
        ((4, 32, 32), [True, True, True, True])
    """
    img = _unit_image(sharp, "sharp")
    n_frames = _posint(n_frames, "n_frames")
    lo_len, hi_len = _span(blur_length, "blur_length")
    jitter = _nonneg(jitter_px, "jitter_px")
    drift = _nonneg(drift_px, "drift_px")
    sigma = _nonneg(noise_sigma, "noise_sigma")
    if photons is not None and not (math.isfinite(float(photons)) and float(photons) > 0):
        raise ValueError(f"photons must be a finite number > 0 or None, got {photons!r}")
    vmin, vmax = float(vmin), float(vmax)
    if not (0 <= vmin < vmax <= FULL_SCALE):
        raise ValueError(f"need 0 <= vmin < vmax <= {FULL_SCALE} (16-bit counts), got "
                         f"vmin={vmin}, vmax={vmax}")
    if isinstance(seed, bool):
        raise TypeError("seed must be an int, a numpy Generator or a SeedSequence, not bool")
    rng = np.random.default_rng(seed)

    lengths = np.array([rng.uniform(lo_len, hi_len) if hi_len > lo_len else lo_len
                        for _ in range(n_frames)])
    kernels = [motion_psf(L, angle_deg, jitter_px=jitter, rng=rng) for L in lengths]
    shifts = (rng.uniform(-drift, drift, size=(n_frames, 2)) if drift > 0
              else np.zeros((n_frames, 2)))

    h, w = img.shape
    half = max(k.shape[0] // 2 for k in kernels)
    pad = half + math.ceil(drift) + 3
    padded = np.pad(img, pad, mode="symmetric")
    gain = FULL_SCALE / (vmax - vmin)

    def scaled(intensity: np.ndarray) -> np.ndarray:      # [0, 1] → output units, not rounded
        return np.clip((intensity * FULL_SCALE - vmin) / (vmax - vmin), 0.0, 1.0)

    frames = np.empty((n_frames, h, w), np.float32)
    clean = np.empty((n_frames, h, w), np.float32)
    for i, (k, s) in enumerate(zip(kernels, shifts)):
        blurred = blur(padded, k, mode="reflect")
        moved = ndimage.shift(blurred, s, order=3, mode="reflect") if s.any() else blurred
        x = np.clip(moved[pad:pad + h, pad:pad + w], 0.0, 1.0)
        clean[i] = scaled(x)
        if photons is not None or sigma > 0:
            x = add_poisson_gaussian_noise(x, photons=photons, read_noise=sigma, rng=rng)
        counts = np.round(x * FULL_SCALE).astype(np.uint16)
        frames[i] = to_8bit(counts, vmin, vmax) / np.float32(255)

    sharp8 = to_8bit(np.round(img * FULL_SCALE), vmin, vmax) / np.float32(255)
    # pixels within reach of the mirrored border: kernel half-size + drift + spline support
    by = min(half + math.ceil(np.abs(shifts[:, 0]).max()) + 2, h // 2)
    bx = min(half + math.ceil(np.abs(shifts[:, 1]).max()) + 2, w // 2)
    valid = (by, h - by, bx, w - bx)
    return {
        "frames": frames,
        "sharp": sharp8.astype(np.float32),
        "clean": clean,
        "shifts": shifts.astype(np.float64),
        "kernels": kernels,
        "lengths": lengths,
        "valid": valid,
        "params": {"blur_length": (lo_len, hi_len), "jitter_px": jitter, "angle_deg": angle_deg,
                   "drift_px": drift, "noise_sigma": sigma, "photons": photons,
                   "vmin": vmin, "vmax": vmax, "noise_sigma_out": sigma * gain},
    }


# --------------------------------------------------------------------------------- preparation


def grid_mask(image: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Sample mask: ``image > threshold`` (True = inside a grid cell, False = grid bar).

    The paper thresholds the 8-bit-scaled image at 0: its fixed ``vmin`` sends the opaque bars
    to exactly 0. Works on uint8 or float images alike (give the threshold in the same units).

    Example:
        >>> grid_mask(np.array([[0, 0.2], [0.0, 1.0]])).tolist()
        [[False, True], [False, True]]
    """
    img = _image2d(image, "image")
    t = float(threshold)
    if not math.isfinite(t):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    return img > t


def _disk(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2 <= radius * radius).astype(np.uint8)


def erode_mask(mask: np.ndarray, radius: int = 128, iterations: int = 2, *,
               border_value: int = 1) -> np.ndarray:
    """Binary erosion with a disk of ``radius`` px, ``iterations`` times (paper: 128, 2).

    Two erosions by a disk of radius ``r`` equal one by radius ``2r``: every pixel left is at
    least ``2r`` px from a bar, so a crop of side ``s <= 2r / √2`` whose top-left lies in the
    eroded mask lies wholly inside the original mask (for 128×128 crops: 181 <= 256).

    Args:
        mask: ``(H, W)`` boolean (or 0/1) mask.
        radius: disk radius in px (>= 0; 0 = no change).
        iterations: number of erosions (>= 1).
        border_value: value assumed outside the image. 1 (default) erodes only from mask-0
            pixels (grid bars) inside the image — the image edge is not a bar, and crops are
            kept inside the image anyway. 0 (``scipy.ndimage.binary_erosion``'s default) also
            erodes ``iterations · radius`` px from the image edge, which with the paper's
            numbers (256 px) leaves little of a 1024² frame; the paper does not say which.

    Returns:
        bool ``(H, W)``.

    Example:
        >>> m = np.zeros((9, 9), bool); m[1:8, 1:8] = True
        >>> int(erode_mask(m, radius=2, iterations=1).sum())   # 7×7 square shrinks to 3×3
        9
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    radius = _posint(radius, "radius", 0)
    iterations = _posint(iterations, "iterations")
    if border_value not in (0, 1):
        raise ValueError(f"border_value must be 0 or 1, got {border_value!r}")
    m8 = (m != 0).astype(np.uint8)
    if radius == 0:
        return m8.astype(bool)
    out = cv2.erode(m8, _disk(radius), iterations=iterations, borderType=cv2.BORDER_CONSTANT,
                    borderValue=border_value)
    return out.astype(bool)


def _as_list(images: np.ndarray | Sequence[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    if isinstance(images, np.ndarray):
        return [images], True
    arrs = [np.asarray(a) for a in images]
    if not arrs:
        raise ValueError("images must be an array or a non-empty sequence of arrays")
    return arrs, False


def _check_same_hw(arrs: list[np.ndarray], hw: tuple[int, int]) -> None:
    for i, a in enumerate(arrs):
        if a.ndim < 2 or a.shape[-2:] != hw:
            raise ValueError(f"images[{i}] has shape {a.shape}; its last two axes must match the "
                             f"mask {hw}")


def _starts_in_mask(mask: np.ndarray, size: int) -> np.ndarray:
    h, w = mask.shape
    if size > h or size > w:
        raise ValueError(f"crop size {size} is larger than the mask {h}×{w}")
    ys, xs = np.nonzero(np.asarray(mask, bool)[: h - size + 1, : w - size + 1])
    return np.column_stack([ys, xs])


def random_crops_in_mask(images: np.ndarray | Sequence[np.ndarray], mask: np.ndarray,
                         size: int = 128, n: int = 1, *, seed: Seed = 0
                         ) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """Random ``size``×``size`` crops whose top-left pixel lies inside ``mask`` (paper §3.1).

    Pass the *eroded* mask (:func:`erode_mask`): the erosion is what keeps the whole crop off
    the grid bars. Top-left corners are drawn uniformly (with replacement) among the mask
    pixels from which a crop still fits in the image.

    Args:
        images: one array or a sequence of aligned arrays, each ``(..., H, W)`` (e.g. a burst
            ``(N, H, W)`` and its sharp image ``(H, W)``); all are cut at the same place.
        mask: ``(H, W)`` boolean mask of allowed top-left corners.
        size: crop side in px.
        n: number of crops.
        seed: int, generator or seed sequence.

    Returns:
        ``(crops, positions)``: ``crops`` is an array ``(n, ..., size, size)`` for a single
        input array, else a list with one such array per input; ``positions`` is int
        ``(n, 2)`` of top-left ``(y, x)``.

    Example:
        >>> m = np.zeros((8, 8), bool); m[2, 3] = True
        >>> crops, pos = random_crops_in_mask(np.arange(64.).reshape(8, 8), m, size=4, n=2)
        >>> crops.shape, pos.tolist()
        ((2, 4, 4), [[2, 3], [2, 3]])
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    size = _posint(size, "size")
    n = _posint(n, "n", 0)
    arrs, single = _as_list(images)
    _check_same_hw(arrs, m.shape)
    starts = _starts_in_mask(m, size)
    if len(starts) == 0:
        raise ValueError(f"no pixel of the mask can be the top-left of a {size}×{size} crop "
                         f"inside the {m.shape[0]}×{m.shape[1]} image (erode less, use smaller "
                         f"crops or a larger image)")
    rng = np.random.default_rng(seed)
    pos = starts[rng.integers(0, len(starts), size=n)] if n else np.zeros((0, 2), np.int64)
    crops = [np.stack([a[..., y:y + size, x:x + size] for y, x in pos]) if n
             else np.zeros((0, *a.shape[:-2], size, size), a.dtype) for a in arrs]
    return (crops[0] if single else crops), pos.astype(np.int64)


def regular_tiles(images: np.ndarray | Sequence[np.ndarray], mask: np.ndarray,
                  size: int = 128, *, drop_bottom_half: bool = True
                  ) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """Non-overlapping ``size``×``size`` tiles that contain no mask-0 pixel (paper's val/test).

    Tiles start at multiples of ``size`` from the top-left; the incomplete last row/column is
    left out. ``drop_bottom_half`` first discards the bottom half of the image (the HQ images
    overlap by 50 %, so the bottom half reappears in the next image).

    Args:
        images: one array or a sequence of aligned arrays, each ``(..., H, W)``.
        mask: ``(H, W)`` boolean mask (not eroded: any False pixel drops the tile).
        size: tile side in px.
        drop_bottom_half: use only rows ``< H // 2``.

    Returns:
        ``(tiles, positions)`` as in :func:`random_crops_in_mask`, tiles in row-major order.

    Example:
        >>> m = np.ones((8, 8), bool); m[0, 5] = False
        >>> tiles, pos = regular_tiles(np.zeros((8, 8)), m, 4, drop_bottom_half=False)
        >>> pos.tolist()
        [[0, 0], [4, 0], [4, 4]]
    """
    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    size = _posint(size, "size")
    arrs, single = _as_list(images)
    _check_same_hw(arrs, m.shape)
    h, w = m.shape
    h_use = h // 2 if drop_bottom_half else h
    pos = [(y, x) for y in range(0, h_use - size + 1, size) for x in range(0, w - size + 1, size)
           if m[y:y + size, x:x + size].all()]
    tiles = [np.stack([a[..., y:y + size, x:x + size] for y, x in pos]) if pos
             else np.zeros((0, *a.shape[:-2], size, size), a.dtype) for a in arrs]
    return (tiles[0] if single else tiles), np.array(pos, np.int64).reshape(-1, 2)


# --------------------------------------------------------------------------------- registration


def _ecc(template: np.ndarray, frame: np.ndarray, init_shift: tuple[float, float],
         iterations: int, eps: float, gauss_filt_size: int, name: str
         ) -> tuple[np.ndarray, float]:
    t = _image2d(template, "template")
    f = _image2d(frame, name)
    if t.shape != f.shape:
        raise ValueError(f"template {t.shape} and {name} {f.shape} differ in shape")
    iterations = _posint(iterations, "iterations")
    eps = float(eps)
    if not math.isfinite(eps):
        raise ValueError(f"eps must be finite, got {eps!r}")
    if isinstance(gauss_filt_size, bool) or int(gauss_filt_size) != gauss_filt_size or not (
            gauss_filt_size == 0 or (gauss_filt_size > 0 and gauss_filt_size % 2 == 1)):
        raise ValueError(f"gauss_filt_size must be 0 (no smoothing) or a positive odd int, got "
                         f"{gauss_filt_size!r}")
    if len(init_shift) != 2 or not all(math.isfinite(float(s)) for s in init_shift):
        raise ValueError(f"init_shift must be a finite (dy, dx), got {init_shift!r}")
    dy0, dx0 = (float(s) for s in init_shift)
    # warp maps template coordinates to frame coordinates: frame(x + dx, y + dy) ≈ template(x, y)
    warp = np.array([[1, 0, dx0], [0, 1, dy0]], np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, eps)
    try:
        cc, warp = cv2.findTransformECC(t, f, warp, cv2.MOTION_TRANSLATION, criteria, None,
                                        int(gauss_filt_size))
    except cv2.error as exc:
        text = " ".join(str(exc).split())
        m = re.search(r"error: \([^)]*\) (.*?)(?: in function .*)?$", text)
        reason = m.group(1) if m else text
        raise RegistrationError(
            f"ECC registration of {name} did not converge (OpenCV: {reason}); the frame may "
            f"not overlap the template, be featureless, or need a better init_shift "
            f"(now ({dy0:.2f}, {dx0:.2f}))") from None
    if not (np.isfinite(warp).all() and math.isfinite(cc)):
        raise RegistrationError(f"ECC registration of {name} produced a non-finite warp")
    return warp, float(cc)


def ecc_register(template: np.ndarray, frame: np.ndarray,
                 init_shift: tuple[float, float] = (0.0, 0.0), *, iterations: int = 200,
                 eps: float = 1e-5, gauss_filt_size: int = 5, max_shift_px: float | None = None,
                 name: str = "the frame") -> tuple[np.ndarray, tuple[float, float]]:
    """Register ``frame`` onto ``template`` by ECC maximisation, translation only (METHODS §3.1).

    ``cv2.findTransformECC(template, frame, warp, MOTION_TRANSLATION, (COUNT+EPS, iterations,
    eps), None, gauss_filt_size)`` with ``warp`` seeded by ``init_shift`` (the paper's manual
    rough offset), then ``cv2.warpAffine(frame, warp, INTER_LINEAR + WARP_INVERSE_MAP)``; pixels
    that come from outside the frame are 0 (see :func:`register_burst` for the common valid box).

    Args:
        template: ``(H, W)`` reference (the sharp / HQ image).
        frame: ``(H, W)`` moving image, same shape.
        init_shift: initial ``(dy, dx)`` (module convention: frame content displacement).
        iterations, eps: termination criteria (max iterations, min correlation increment).
        gauss_filt_size: odd size of OpenCV's Gaussian pre-smoothing (OpenCV default 5).
        max_shift_px: refuse a result farther than this from ``init_shift`` (either axis).
        name: how errors refer to the frame.

    Returns:
        ``(registered, (dy, dx))``: float32 ``(H, W)`` aligned to ``template`` and the estimated
        displacement of ``frame`` relative to ``template``.

    Raises:
        deblurlab.datasets.RegistrationError: ECC did not converge (naming ``name``), or the
            shift exceeds ``max_shift_px``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> tpl = ndimage.gaussian_filter(rng.random((128, 128)), 2).astype(np.float32)
        >>> mov = ndimage.shift(tpl, (1.25, -0.5), order=3, mode="nearest")
        >>> _, (dy, dx) = ecc_register(tpl, mov)
        >>> bool(abs(dy - 1.25) < 0.05 and abs(dx + 0.5) < 0.05)
        True
    """
    warp, _ = _ecc(template, frame, init_shift, iterations, eps, gauss_filt_size, name)
    dy, dx = float(warp[1, 2]), float(warp[0, 2])
    if max_shift_px is not None:
        d0y, d0x = (float(s) for s in init_shift)
        if max(abs(dy - d0y), abs(dx - d0x)) > float(max_shift_px):
            raise RegistrationError(
                f"ECC registration of {name} moved ({dy - d0y:.2f}, {dx - d0x:.2f}) px from "
                f"init_shift, more than max_shift_px={max_shift_px}")
    f = _image2d(frame, name)
    registered = cv2.warpAffine(f, warp, (f.shape[1], f.shape[0]),
                                flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return registered.astype(np.float32), (dy, dx)


def register_burst(frames: np.ndarray | Sequence[np.ndarray], template: np.ndarray,
                   init_shifts: Sequence[tuple[float, float]] | np.ndarray | None = None,
                   **kwargs: Any) -> dict[str, Any]:
    """Register every frame of a burst onto ``template`` (:func:`ecc_register`).

    Args:
        frames: ``(N, H, W)`` array or a sequence of ``(H, W)`` frames.
        template: ``(H, W)`` reference.
        init_shifts: ``(N, 2)`` initial ``(dy, dx)`` per frame; default zeros.
        **kwargs: ``iterations``, ``eps``, ``gauss_filt_size``, ``max_shift_px`` for
            :func:`ecc_register`.

    Returns:
        dict with ``frames`` float32 ``(N, H, W)`` (registered, 0 where a frame had no data),
        ``shifts`` float64 ``(N, 2)`` (estimated ``(dy, dx)``) and ``valid`` ``(y0, y1, x0, x1)``:
        the intersection of all registered frames — the paper keeps only this box
        (``frames[:, y0:y1, x0:x1]``, ``template[y0:y1, x0:x1]``).

    Example:
        >>> b = simulate_burst(synthetic_tem_image("grid2", 64, seed=0), 2, drift_px=0.8)
        >>> r = register_burst(b["frames"], b["sharp"])
        >>> r["frames"].shape, len(r["valid"])
        ((2, 64, 64), 4)
    """
    stack = [np.asarray(f) for f in frames]
    if not stack:
        raise ValueError("frames must hold at least one frame")
    n = len(stack)
    inits = np.zeros((n, 2)) if init_shifts is None else np.asarray(init_shifts, np.float64)
    if inits.shape != (n, 2):
        raise ValueError(f"init_shifts must have shape ({n}, 2), got {inits.shape}")
    out, shifts = [], np.zeros((n, 2))
    for i, f in enumerate(stack):
        reg, shifts[i] = ecc_register(template, f, tuple(inits[i]), name=f"frame {i}", **kwargs)
        out.append(reg)
    h, w = out[0].shape
    y0, x0, y1, x1 = 0, 0, h, w
    for dy, dx in shifts:
        a, b, c, d = valid_region((h, w), (-dy, -dx))   # registered(y) = frame(y + dy)
        y0, y1, x0, x1 = max(y0, a), min(y1, b), max(x0, c), min(x1, d)
    return {"frames": np.stack(out), "shifts": shifts,
            "valid": (y0, max(y0, y1), x0, max(x0, x1))}


# --------------------------------------------------------------------------------- data set


class BurstPairs(Dataset):
    """Random crops of simulated TEM bursts: ``{"blur": (N, 1, h, w), "sharp": (1, h, w)}``.

    Item ``i`` depends only on ``(seed, i)``: it picks a source image and, from
    ``SeedSequence([seed, i])``, a frame count ``N`` (uniform in ``frames`` if a range), a crop
    position (inside ``masks[j]`` when masks are given — pass eroded grid masks) and the burst's
    blur, drift and noise (:func:`simulate_burst`). The burst is simulated on the crop plus a
    margin of real neighbouring content, which is then cut away, so no mirrored border reaches
    the item.

    Batching: items with different ``N`` cannot be stacked by ``default_collate``. Either fix
    ``frames=5`` (the paper's evaluation setting) or pass ``collate_fn=collate_bursts``, which
    keeps the first ``min N`` frames of every item in the batch (the paper trains with 3-5
    frames; this gives one random ``N`` per batch).

    Args:
        sources: sharp images in [0, 1], a sequence or a ``{name: image}`` mapping (e.g.
            :func:`burst_sources`); each must exceed the crop by the simulation margin.
        n: number of items.
        crop: crop side ``h = w`` in px (paper: 128).
        frames: fixed frame count or an inclusive ``(lo, hi)`` range (default ``(3, 5)``).
        masks: optional per-source boolean masks of allowed crop top-left corners.
        seed: non-negative int.
        **burst: keyword arguments of :func:`simulate_burst` (``blur_length``, ``jitter_px``,
            ``drift_px``, ``noise_sigma``, ``photons``, ``vmin``, ``vmax``, ``angle_deg``).

    Items: ``{"blur": float32 (N, 1, h, w), "sharp": float32 (1, h, w), "shifts": float32
    (N, 2), "name": str, "group": str (source name), "meta": {"index", "source", "y", "x",
    "n_frames"}}``.

    Example:
        >>> src = burst_sources(("kidney",), 1, 96)
        >>> ds = BurstPairs(src, n=4, crop=32, frames=(3, 5), seed=0)
        >>> item = ds[0]
        >>> item["blur"].shape[1:], item["sharp"].shape, 3 <= item["blur"].shape[0] <= 5
        (torch.Size([1, 32, 32]), torch.Size([1, 32, 32]), True)
    """

    def __init__(self, sources: Sequence[np.ndarray] | Mapping[str, np.ndarray], n: int,
                 crop: int = 128, frames: int | tuple[int, int] = (3, 5), *,
                 masks: Sequence[np.ndarray] | None = None, seed: int = 0,
                 **burst: Any) -> None:
        if isinstance(sources, Mapping):
            names, images = list(sources), list(sources.values())
        else:
            images = list(sources)
            names = [f"source-{j}" for j in range(len(images))]
        if not images:
            raise ValueError("sources must hold at least one image")
        self.images = [_unit_image(a, f"sources[{nm!r}]") for nm, a in zip(names, images)]
        self.names = names
        self.n = _posint(n, "n", 0)
        self.crop = _posint(crop, "crop")
        self.frames = _frame_range(frames)
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        allowed = {"blur_length", "jitter_px", "angle_deg", "drift_px", "noise_sigma", "photons",
                   "vmin", "vmax"}
        unknown = set(burst) - allowed
        if unknown:
            raise ValueError(f"unknown simulate_burst argument(s) {sorted(unknown)}; "
                             f"allowed: {sorted(allowed)}")
        self.burst = dict(burst)
        # validate the burst arguments once, on a tiny image
        simulate_burst(np.zeros((8, 8), np.float32), 1, **self.burst)
        _, hi_len = _span(self.burst.get("blur_length", 15.0), "blur_length")
        jitter = float(self.burst.get("jitter_px", 0.5))
        drift = float(self.burst.get("drift_px", 1.0))
        self.margin = math.ceil(hi_len / 2 + 4 * jitter + drift) + 4
        side = self.crop + 2 * self.margin
        small = [nm for nm, a in zip(names, self.images) if min(a.shape) < side]
        if small:
            raise ValueError(f"sources {small} are smaller than crop + 2·margin = {side} px")
        self._starts: list[np.ndarray] = []
        if masks is not None:
            if len(masks) != len(self.images):
                raise ValueError(f"got {len(masks)} masks for {len(self.images)} sources")
        for j, a in enumerate(self.images):
            h, w = a.shape
            allowed_tl = np.zeros((h, w), bool)
            allowed_tl[self.margin:h - self.margin - self.crop + 1,
                       self.margin:w - self.margin - self.crop + 1] = True
            if masks is not None:
                mj = np.asarray(masks[j], bool)
                if mj.shape != (h, w):
                    raise ValueError(f"masks[{j}] has shape {mj.shape}, source is {(h, w)}")
                allowed_tl &= mj
            starts = np.column_stack(np.nonzero(allowed_tl))
            if len(starts) == 0:
                raise ValueError(f"source {names[j]!r}: no allowed crop position (mask empty "
                                 f"after the {self.margin}px simulation margin)")
            self._starts.append(starts)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (f"BurstPairs(n={self.n}, sources={len(self.images)}, crop={self.crop}, "
                f"frames={self.frames}, seed={self.seed}, burst={self.burst})")

    def __getitem__(self, index: int) -> dict[str, Any]:
        if isinstance(index, bool) or int(index) != index:
            raise TypeError(f"index must be an integer, got {index!r}")
        i = int(index) + (self.n if index < 0 else 0)
        if not 0 <= i < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        rng = np.random.default_rng([self.seed, i])
        j = int(rng.integers(len(self.images)))
        lo, hi = self.frames
        n_frames = int(rng.integers(lo, hi + 1))
        starts = self._starts[j]
        y, x = (int(v) for v in starts[int(rng.integers(len(starts)))])
        m, c = self.margin, self.crop
        region = self.images[j][y - m:y + c + m, x - m:x + c + m]
        b = simulate_burst(region, n_frames, seed=rng, **self.burst)
        frames = b["frames"][:, m:m + c, m:m + c]
        sharp = b["sharp"][m:m + c, m:m + c]
        return {
            "blur": torch.from_numpy(np.ascontiguousarray(frames))[:, None],
            "sharp": torch.from_numpy(np.ascontiguousarray(sharp))[None],
            "shifts": torch.from_numpy(b["shifts"].astype(np.float32)),
            "name": f"burst-{self.seed}-{i:06d}",
            "group": self.names[j],
            "meta": {"index": i, "source": self.names[j], "y": y, "x": x, "n_frames": n_frames},
        }


def collate_bursts(batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Batch :class:`BurstPairs` items of different frame counts: keep the first ``min N``.

    Returns ``{"blur": (B, N, 1, h, w), "sharp": (B, 1, h, w), "shifts": (B, N, 2),
    "name": [...], "group": [...], "meta": [...]}`` with ``N`` the smallest count in the batch.

    Example:
        >>> ds = BurstPairs(burst_sources(("lines",), 1, 96), n=3, crop=32, frames=(3, 5))
        >>> b = collate_bursts([ds[0], ds[1], ds[2]])
        >>> b["blur"].shape[0], b["blur"].shape[2:], b["blur"].shape[1] >= 3
        (3, torch.Size([1, 32, 32]), True)
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    n = min(int(item["blur"].shape[0]) for item in batch)
    return {
        "blur": torch.stack([item["blur"][:n] for item in batch]),
        "sharp": torch.stack([item["sharp"] for item in batch]),
        "shifts": torch.stack([item["shifts"][:n] for item in batch]),
        "name": [item["name"] for item in batch],
        "group": [item["group"] for item in batch],
        "meta": [item["meta"] for item in batch],
    }


# --------------------------------------------------------------------------------- real data

_IMAGE_EXT = (".tif", ".tiff", ".png")


def _listing(root: Path, depth: int = 2, limit: int = 25) -> str:
    found: list[str] = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if len(rel.parts) <= depth and not any(part.startswith(".") for part in rel.parts):
            found.append(str(rel) + ("/" if p.is_dir() else ""))
        if len(found) > limit:
            found.append("…")
            break
    return ", ".join(found) or "nothing"


def load_tem_streams(root: str | Path | None = None) -> dict[str, dict[str, list[Path]]]:
    """Index the unpacked Zenodo 4113244 ``TrainTestVal.zip``: split → sample → image files.

    **The folder layout inside the zip is not published** (the record lists one zip; no code
    reads it, and it could not be downloaded here). This loader ASSUMES the layout suggested by
    the name and the paper: split folders ``train``/``val``/``test`` (any case, also
    ``validation``), possibly under one wrapper folder (e.g. ``TrainTestVal/``), each holding
    one folder per sample whose name contains ``kidney`` or ``grid``, with TIFF/PNG images
    somewhere below (HQ 2048² 16-bit and 1024² stream frames). Images are only listed, not
    read or paired — check the real layout with this index and then read files with
    :func:`deblurlab.io.read_image` (``scale="dtype"`` keeps the 16-bit range for
    :func:`to_8bit`). If the assumption is wrong, the error lists what was found.

    Args:
        root: the data set folder; default ``DEBLURLAB_DATA/tem-fast-streams`` (catalog entry
            ``tem-fast-streams``; ``python -m deblurlab.catalog fetch tem-fast-streams``).

    Returns:
        ``{"train": {"kidney": [paths...], "grid": [...]}, "val": {...}, "test": {...}}`` with
        sorted paths; a sample folder not matching kidney/grid keeps its own name.

    Raises:
        FileNotFoundError: the folder is missing, or holds no split folders / no images
            (the message lists the top of what it found).

    Example:
        >>> load_tem_streams("/nonexistent")   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: TEM stream folder not found: /nonexistent ...
    """
    if root is None:
        base = config.data_path("tem-fast-streams")
        if base is None:
            raise FileNotFoundError(
                f"tem-fast-streams not found under ${config.DATA_ENV}: fetch it with "
                f"'python -m deblurlab.catalog fetch tem-fast-streams' (629 MB, Zenodo 4113244) "
                f"or pass root=")
    else:
        base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"TEM stream folder not found: {base} (expected the unpacked "
                                f"TrainTestVal.zip of Zenodo 4113244)")
    split_re = re.compile(r"^(train|val|validation|test)$", re.IGNORECASE)
    candidates = [base] + sorted(p for p in base.iterdir()
                                 if p.is_dir() and not p.name.startswith("."))
    splits: dict[str, Path] = {}
    for folder in candidates:
        found = {("val" if p.name.lower().startswith("val") else p.name.lower()): p
                 for p in sorted(folder.iterdir()) if p.is_dir() and split_re.match(p.name)}
        if found:
            splits = found
            break
    if not splits:
        raise FileNotFoundError(
            f"{base}: no split folders {'/'.join(TEM_SPLITS)} found (ASSUMED layout of "
            f"TrainTestVal.zip: [wrapper/]{{train,val,test}}/<sample>/.../*.tif); found: "
            f"{_listing(base)}")
    index: dict[str, dict[str, list[Path]]] = {}
    for split in TEM_SPLITS:
        if split not in splits:
            continue
        samples: dict[str, list[Path]] = {}
        for sub in sorted(splits[split].iterdir()):
            if sub.name.startswith("."):
                continue
            if sub.is_dir():
                low = sub.name.lower()
                key = "kidney" if "kidney" in low else "grid" if "grid" in low else sub.name
                files = [p for p in sorted(sub.rglob("*"))
                         if p.is_file() and p.suffix.lower() in _IMAGE_EXT]
            elif sub.suffix.lower() in _IMAGE_EXT:
                key, files = "", [sub]
            else:
                continue
            if files:
                samples.setdefault(key, []).extend(files)
        if samples:
            index[split] = samples
    if not index:
        raise FileNotFoundError(
            f"{base}: split folders {sorted(p.name for p in splits.values())} hold no "
            f"{'/'.join(_IMAGE_EXT)} images; found: {_listing(base, depth=3)}")
    return index
