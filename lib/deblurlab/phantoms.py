"""Seeded procedural "sharp" images standing in for real microscopy specimens.

Each generator returns a float32 ``(H, W)`` image in [0, 1] that depends only on its arguments
and ``seed`` (an ``int``, a :class:`numpy.random.Generator` or a ``SeedSequence``; the default
``0`` makes every call repeatable). Edges are anti-aliased (pixel coverage of the ideal shape),
so the phantoms are sharp but free of staircase artefacts that no real optics would produce.

==================  ==========================================================================
kind                looks like
==================  ==========================================================================
``grains``          etched metallographic section: Voronoi grains, dark boundaries, 2-4 phases
``particles``       SEM of spheres / blobs on a substrate, optional secondary-electron edge glow
``fibres``          curved fibres of varying width (fibre composites, cytoskeleton)
``spots_and_lines`` METHODS §3.7 (a) "kidney-like" TEM: bright/dark spots plus curved lines
``lines``           METHODS §3.7 (b) parallel lines at an angle (one direction)
``crossed_lines``   METHODS §3.7 (c) lines in two directions (crossing grid)
``calibration_grid`` square calibration mesh of given pitch and line width
==================  ==========================================================================

:func:`make_phantom` dispatches by kind name; :data:`PHANTOM_KINDS` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline
from scipy.spatial import cKDTree

__all__ = [
    "PHANTOM_KINDS",
    "calibration_grid",
    "fibres",
    "grains",
    "lines",
    "make_phantom",
    "particles",
    "spots_and_lines",
]

Seed = int | np.random.Generator | np.random.SeedSequence | None
Range = float | tuple[float, float]


# --------------------------------------------------------------------------------------------
# helpers


def _shape(shape: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape), int(shape))
    if len(shape) != 2 or any(int(s) != s or s < 1 for s in shape):
        raise ValueError(f"shape must be (H, W) with positive integers, got {shape!r}")
    return int(shape[0]), int(shape[1])


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, bool):
        raise TypeError("seed must be an int, a numpy Generator or a SeedSequence, not bool")
    return np.random.default_rng(seed)


def _range(value: Range, name: str, low: float = 0.0) -> tuple[float, float]:
    """A fixed number or a ``(lo, hi)`` pair → ``(lo, hi)``, validated."""
    lo, hi = (value, value) if np.isscalar(value) else tuple(value)  # type: ignore[misc]
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < low or hi < lo:
        raise ValueError(
            f"{name} must be a number or (lo, hi) with {low} <= lo <= hi, got {value!r}"
        )
    return lo, hi


def _count(n: int | None, shape: tuple[int, int], per_area: float, name: str) -> int:
    """``n`` if given, else a density-based default (so crops of any size look alike)."""
    if n is None:
        return max(1, round(shape[0] * shape[1] * per_area))
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {n!r}")
    return int(n)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian-filtered white noise (texture, illumination drift)."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="wrap")
    return noise / (noise.std() + 1e-12)


def _finish(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def _coverage(signed_dist_inside: np.ndarray) -> np.ndarray:
    """Fraction of a pixel covered by a shape, from the distance to its edge (+ inside)."""
    return np.clip(signed_dist_inside + 0.5, 0.0, 1.0)


def _paint_polyline(
    canvas: np.ndarray,
    pts: np.ndarray,
    halfwidth: np.ndarray,
    value: float,
    *,
    rounded: float = 0.0,
) -> None:
    """Composite a thick curve onto ``canvas`` in place (painter's algorithm).

    ``pts`` is ``(M, 2)`` as (row, col) sampled every <= 0.5 px; ``halfwidth`` is ``(M,)``.
    ``rounded`` in [0, 1] darkens towards the curve's flanks like a cylinder seen from above.
    """
    h, w = canvas.shape
    margin = int(math.ceil(halfwidth.max())) + 2
    r0 = max(0, int(math.floor(pts[:, 0].min())) - margin)
    r1 = min(h, int(math.ceil(pts[:, 0].max())) + margin + 1)
    c0 = max(0, int(math.floor(pts[:, 1].min())) - margin)
    c1 = min(w, int(math.ceil(pts[:, 1].max())) + margin + 1)
    if r0 >= r1 or c0 >= c1:
        return
    # Candidate pixels: those near the rasterised centre line (a cheap distance transform),
    # then exact distances to the sampled curve for just those.
    box = np.ones((r1 - r0 + 2 * margin, c1 - c0 + 2 * margin), bool)
    ir = np.round(pts[:, 0]).astype(int) - r0 + margin
    ic = np.round(pts[:, 1]).astype(int) - c0 + margin
    ok = (ir >= 0) & (ir < box.shape[0]) & (ic >= 0) & (ic < box.shape[1])
    if not ok.any():
        return
    box[ir[ok], ic[ok]] = False
    near = ndimage.distance_transform_edt(box)[margin:-margin, margin:-margin] <= margin
    rr, cc = np.nonzero(near)
    dist, idx = cKDTree(pts).query(np.column_stack([rr + r0, cc + c0]))
    hw = halfwidth[idx]
    cov = _coverage(hw - dist)
    shade = 1.0 - rounded * (1.0 - np.sqrt(np.clip(1.0 - (dist / np.maximum(hw, 1e-6)) ** 2, 0, 1)))
    region = canvas[r0:r1, c0:c1]
    region[rr, cc] = region[rr, cc] * (1 - cov) + value * shade * cov


def _stripes(
    shape: tuple[int, int], pitch: float, width: float, angle_deg: float, offset: float
) -> np.ndarray:
    """Coverage of parallel lines running at ``angle_deg`` (0 = horizontal, 90 = vertical)."""
    h, w = shape
    yy, xx = np.indices(shape, dtype=np.float64)
    a = math.radians(angle_deg)
    # signed distance across the lines (normal to their direction), rows pointing down
    t = (xx - (w - 1) / 2) * math.sin(a) + (yy - (h - 1) / 2) * math.cos(a) - offset
    d = np.abs((t + pitch / 2) % pitch - pitch / 2)
    return _coverage(width / 2 - d)


# --------------------------------------------------------------------------------------------
# generators


def grains(
    shape: int | tuple[int, int],
    n_grains: int | None = None,
    *,
    n_phases: int = 3,
    boundary_px: float = 1.5,
    texture: float = 0.02,
    seed: Seed = 0,
) -> np.ndarray:
    """Etched metallographic microstructure: Voronoi grains in a few phases.

    Grains are the Voronoi cells of random nuclei. Etching attacks grain boundaries (dark
    grooves of width ``boundary_px``) and colours phases differently; within a phase each grain
    gets a small orientation-contrast offset, plus a faint fine texture.

    Args:
        shape: ``(H, W)`` or an int for a square.
        n_grains: number of grains; default one per 45×45 px.
        n_phases: number of phases (1-4), the first being the matrix (most grains).
        boundary_px: groove width in pixels (>= 0).
        texture: amplitude of the within-grain texture (0-0.1).
        seed: int, generator or seed sequence.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> img = grains((64, 96), 12, seed=1)
        >>> img.shape, img.dtype.name, 0.0 <= float(img.min()) < float(img.max()) <= 1.0
        ((64, 96), 'float32', True)
    """
    h, w = _shape(shape)
    n = max(1, _count(n_grains, (h, w), 1 / 45**2, "n_grains"))
    if not 1 <= n_phases <= 4:
        raise ValueError(f"n_phases must be in 1..4, got {n_phases}")
    if not 0 <= boundary_px:
        raise ValueError(f"boundary_px must be >= 0, got {boundary_px}")
    rng = _rng(seed)
    nuclei = rng.uniform([-2.0, -2.0], [h + 1.0, w + 1.0], size=(max(n, 2), 2))
    yy, xx = np.indices((h, w), dtype=np.float64)
    coords = np.column_stack([yy.ravel(), xx.ravel()])
    dist, idx = cKDTree(nuclei).query(coords, k=2)
    # exact distance to the bisector between the nearest and second-nearest nucleus
    sep = np.linalg.norm(nuclei[idx[:, 0]] - nuclei[idx[:, 1]], axis=1)
    to_boundary = (dist[:, 1] ** 2 - dist[:, 0] ** 2) / (2 * np.maximum(sep, 1e-9))
    # evenly spaced phase levels (jittered) keep the phases distinguishable after etching
    levels = np.linspace(0.9, 0.35, n_phases) if n_phases > 1 else np.array([0.75])
    levels = levels + rng.uniform(-0.04, 0.04, n_phases)
    weights = np.array([0.55, 0.3, 0.1, 0.05][:n_phases])
    phase = rng.choice(n_phases, size=len(nuclei), p=weights / weights.sum())
    grain_value = levels[phase] + rng.uniform(-0.05, 0.05, size=len(nuclei))
    img = grain_value[idx[:, 0]].reshape(h, w)
    img = img + texture * _smooth_noise(rng, (h, w), 1.5)
    if boundary_px > 0:
        groove = _coverage(boundary_px / 2 - to_boundary).reshape(h, w)
        img = img * (1 - groove) + 0.08 * groove
    return _finish(img)


def particles(
    shape: int | tuple[int, int],
    n_particles: int | None = None,
    *,
    radius_px: Range = (3.0, 20.0),
    edge_brightening: float | bool = 0.5,
    background: float = 0.15,
    seed: Seed = 0,
) -> np.ndarray:
    """Spheres and blobs on a substrate, shaded like a secondary-electron (SEM) image.

    Each particle is an ellipse (aspect 0.65-1, random orientation) with a spherical-cap
    height profile ``h = sqrt(1 - ρ²)``. SE yield rises where the surface tilts away from the
    beam (≈ 1 / cos tilt = 1 / h), so rims glow: ``edge_brightening`` sets how far towards white
    the rim goes (0 = plain shading, like a back-scattered-electron image). Larger particles are
    drawn first so small ones sit on top.

    Args:
        shape: ``(H, W)`` or an int.
        n_particles: number of particles; default about 20 % area coverage.
        radius_px: radius or ``(min, max)`` in pixels (log-uniform between).
        edge_brightening: 0-1 (``True`` = 0.6, ``False`` = 0).
        background: substrate grey level (0-1).
        seed: int, generator or seed sequence.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> img = particles(64, 10, radius_px=(3, 8), seed=2)
        >>> img.shape, bool(img.max() > 0.4)
        ((64, 64), True)
    """
    h, w = _shape(shape)
    rmin, rmax = _range(radius_px, "radius_px", low=0.5)
    if isinstance(edge_brightening, bool):
        e = 0.6 if edge_brightening else 0.0
    else:
        e = float(edge_brightening)
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"edge_brightening must be in [0, 1], got {edge_brightening!r}")
    if not 0.0 <= background <= 1.0:
        raise ValueError(f"background must be in [0, 1], got {background}")
    mean_area = math.pi * (0.5 * (rmin + rmax)) ** 2
    n = _count(n_particles, (h, w), 0.2 / mean_area, "n_particles")
    rng = _rng(seed)
    img = background + 0.03 * _smooth_noise(rng, (h, w), 8.0)
    radii = np.sort(np.exp(rng.uniform(math.log(rmin), math.log(rmax), n)))[::-1]
    for r in radii:
        cy, cx = rng.uniform(-r / 2, h + r / 2), rng.uniform(-r / 2, w + r / 2)
        aspect, theta = rng.uniform(0.65, 1.0), rng.uniform(0, math.pi)
        bright = rng.uniform(0.45, 0.8)
        r0, r1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
        c0, c1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
        if r0 >= r1 or c0 >= c1:
            continue
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        dy, dx = yy - cy, xx - cx
        u = (dx * math.cos(theta) + dy * math.sin(theta)) / r
        v = (-dx * math.sin(theta) + dy * math.cos(theta)) / (r * aspect)
        rho = np.sqrt(u * u + v * v)
        cov = _coverage((1 - rho) * r * aspect)
        height = np.sqrt(np.clip(1 - rho * rho, 0, 1))
        rim = np.clip((1 / np.maximum(height, 1e-3) - 1) / 2, 0, 1)  # full glow once tilt > 70°
        value = bright * (0.8 + 0.2 * height) + e * (1 - bright) * rim
        img[r0:r1, c0:c1] = img[r0:r1, c0:c1] * (1 - cov) + value * cov
    return _finish(img)


def _random_curve(
    rng: np.random.Generator, start: np.ndarray, length: float, curvature: float
) -> np.ndarray:
    """Smoothly bending path from ``start``: heading integrates a spline-smoothed curvature."""
    step = 0.5
    m = max(2, int(length / step))
    s = np.arange(m) * step
    n_ctrl = max(4, int(length / 40) + 2)
    kappa = CubicSpline(np.linspace(0, s[-1], n_ctrl), rng.normal(0, curvature, n_ctrl))(s)
    heading = rng.uniform(0, 2 * math.pi) + np.cumsum(kappa) * step
    steps = np.column_stack([np.sin(heading), np.cos(heading)]) * step
    return start + np.cumsum(steps, axis=0)


def fibres(
    shape: int | tuple[int, int],
    n_fibres: int | None = None,
    *,
    width_px: Range = (1.5, 6.0),
    curvature: float = 0.02,
    background: float = 0.1,
    seed: Seed = 0,
) -> np.ndarray:
    """Curved fibres of varying width on a dark background.

    Each fibre follows a path whose curvature (1/px) is a smooth random function with standard
    deviation ``curvature``; its width varies by ±30 % along the fibre around a per-fibre mean
    drawn from ``width_px``. A cylindrical cross-section shades the flanks darker.

    Args:
        shape: ``(H, W)`` or an int.
        n_fibres: number of fibres; default one per 100×100 px (at least 3).
        width_px: width or ``(min, max)`` in pixels.
        curvature: curvature standard deviation in 1/px (0 = straight).
        background: background grey level.
        seed: int, generator or seed sequence.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> fibres(64, 4, seed=3).shape
        (64, 64)
    """
    h, w = _shape(shape)
    wmin, wmax = _range(width_px, "width_px", low=0.5)
    if curvature < 0:
        raise ValueError(f"curvature must be >= 0, got {curvature}")
    n = max(3, _count(None, (h, w), 1e-4, "")) if n_fibres is None else _count(
        n_fibres, (h, w), 0, "n_fibres"
    )
    rng = _rng(seed)
    img = background + 0.02 * _smooth_noise(rng, (h, w), 10.0)
    size = max(h, w)
    for _ in range(n):
        start = rng.uniform([0, 0], [h, w])
        pts = _random_curve(rng, start, rng.uniform(0.4, 1.2) * size, curvature)
        pts = pts - (pts.mean(axis=0) - start)  # centre the fibre on its start point
        base = rng.uniform(wmin, wmax) / 2
        wobble = CubicSpline(np.linspace(0, 1, 5), rng.uniform(-0.3, 0.3, 5))(
            np.linspace(0, 1, len(pts))
        )
        _paint_polyline(img, pts, base * (1 + wobble), rng.uniform(0.55, 1.0), rounded=0.35)
    return _finish(img)


def spots_and_lines(
    shape: int | tuple[int, int],
    n_spots: int | None = None,
    n_lines: int | None = None,
    *,
    spot_radius_px: Range = (3.0, 15.0),
    line_width_px: Range = (2.0, 4.0),
    background: float = 0.5,
    seed: Seed = 0,
) -> np.ndarray:
    """METHODS §3.7 (a) "kidney-like" TEM test image: spots and curved lines on mid-grey.

    Bright and dark filled circular spots of radii in ``spot_radius_px`` and random contrast,
    plus bent lines (quadratic Bézier curves of several orientations) of widths in
    ``line_width_px``, on a ``background`` of 0.5 as in the paper's Fig. 3.

    Args:
        shape: ``(H, W)`` or an int.
        n_spots: number of spots; default one per 40×40 px.
        n_lines: number of lines; default one per 110×110 px (at least 2).
        spot_radius_px: ``(min, max)`` spot radius in pixels.
        line_width_px: ``(min, max)`` line width in pixels.
        background: grey level of the background.
        seed: int, generator or seed sequence.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> img = spots_and_lines(64, 5, 2, seed=4)
        >>> bool(img.min() < 0.5 < img.max())
        True
    """
    h, w = _shape(shape)
    rmin, rmax = _range(spot_radius_px, "spot_radius_px", low=0.5)
    wmin, wmax = _range(line_width_px, "line_width_px", low=0.5)
    ns = _count(n_spots, (h, w), 1 / 40**2, "n_spots")
    nl = max(2, _count(None, (h, w), 1 / 110**2, "n_lines")) if n_lines is None else _count(
        n_lines, (h, w), 0, "n_lines"
    )
    rng = _rng(seed)
    img = np.full((h, w), float(background))
    yy, xx = np.indices((h, w), dtype=np.float64)
    for _ in range(ns):
        r = rng.uniform(rmin, rmax)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        value = background + rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.45)
        cov = _coverage(r - np.hypot(yy - cy, xx - cx))
        img = img * (1 - cov) + value * cov
    size = max(h, w)
    for _ in range(nl):
        p0 = rng.uniform([0, 0], [h, w])
        length = rng.uniform(0.3, 0.8) * size
        a = rng.uniform(0, 2 * math.pi)
        p2 = p0 + length * np.array([math.sin(a), math.cos(a)])
        normal = np.array([math.cos(a), -math.sin(a)])
        p1 = (p0 + p2) / 2 + normal * rng.uniform(-0.4, 0.4) * length
        t = np.linspace(0, 1, max(2, int(2 * length * 1.5)))[:, None]
        pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        value = background + rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.45)
        _paint_polyline(img, pts, np.full(len(pts), rng.uniform(wmin, wmax) / 2), value)
    return _finish(img)


def lines(
    shape: int | tuple[int, int],
    directions: int = 1,
    *,
    pitch_px: float | None = None,
    width_px: float | None = None,
    angle_deg: float | None = None,
    background: float = 0.5,
    line_value: float | None = None,
    seed: Seed = 0,
) -> np.ndarray:
    """METHODS §3.7 (b)/(c): parallel straight lines in one or two directions.

    Lines are exactly anti-aliased stripes; with ``directions=2`` a second family crosses the
    first at 45-135° (a crossing grid, like the TEM calibration-grid replica). Unset parameters
    are drawn from ``seed``: pitch 12-32 px, width 2-4 px, any angle, lines 0.3-0.45 brighter or
    darker than the background.

    Args:
        shape: ``(H, W)`` or an int.
        directions: 1 or 2.
        pitch_px: line spacing in pixels (> width).
        width_px: line width in pixels.
        angle_deg: direction of the first family (0 = horizontal, 90 = vertical).
        background: grey level between lines.
        line_value: grey level of the lines.
        seed: int, generator or seed sequence.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> img = lines(32, 1, pitch_px=8, width_px=2, angle_deg=90, line_value=1.0)
        >>> bool(img[:, 0].std() < 1e-6 < img[0].std())  # vertical lines: columns constant
        True
    """
    h, w = _shape(shape)
    if directions not in (1, 2):
        raise ValueError(f"directions must be 1 or 2, got {directions!r}")
    rng = _rng(seed)
    pitch = float(pitch_px) if pitch_px is not None else rng.uniform(12, 32)
    width = float(width_px) if width_px is not None else rng.uniform(2, 4)
    angle = float(angle_deg) if angle_deg is not None else rng.uniform(0, 180)
    if line_value is None:
        line_value = background + rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.45)
    if not (width > 0 and pitch > width):
        raise ValueError(f"need 0 < width_px < pitch_px, got width {width}, pitch {pitch}")
    cov = _stripes((h, w), pitch, width, angle, rng.uniform(0, pitch))
    if directions == 2:
        second = angle + rng.choice([-1.0, 1.0]) * rng.uniform(45, 135)
        cov = np.maximum(cov, _stripes((h, w), pitch, width, second, rng.uniform(0, pitch)))
    return _finish(background + (line_value - background) * cov)


def calibration_grid(
    shape: int | tuple[int, int],
    pitch_px: float,
    line_width_px: float,
    *,
    angle_deg: float = 0.0,
    offset_px: tuple[float, float] = (0.0, 0.0),
    background: float = 0.9,
    line_value: float = 0.1,
) -> np.ndarray:
    """Square calibration mesh: dark lines of known pitch and width on a bright field.

    Deterministic (no randomness): one horizontal and one vertical line family, rotated by
    ``angle_deg``, with a line crossing through the image centre shifted by ``offset_px``
    (across-line offsets of the first and second family). Useful to measure a PSF's edge
    response or to check a deblurred image's geometry.

    Args:
        shape: ``(H, W)`` or an int.
        pitch_px: line spacing in pixels.
        line_width_px: line width in pixels (< pitch).
        angle_deg: rotation of the mesh in degrees.
        offset_px: shifts of the two line families in pixels.
        background: grey level of the cells.
        line_value: grey level of the lines.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> g = calibration_grid(33, 8, 2)
        >>> round(float(g[16, 16]), 3), round(float(g[12, 12]), 3)  # on a crossing, in a cell
        (0.1, 0.9)
    """
    h, w = _shape(shape)
    pitch, width = float(pitch_px), float(line_width_px)
    if not (width > 0 and pitch > width):
        raise ValueError(f"need 0 < line_width_px < pitch_px, got {width}, {pitch}")
    cov = np.maximum(
        _stripes((h, w), pitch, width, angle_deg, offset_px[0]),
        _stripes((h, w), pitch, width, angle_deg + 90, offset_px[1]),
    )
    return _finish(background + (line_value - background) * cov)


# --------------------------------------------------------------------------------------------
# dispatch


def _grid_from_seed(shape: tuple[int, int], seed: Seed) -> np.ndarray:
    rng = _rng(seed)
    pitch = rng.uniform(16, 40)
    return calibration_grid(
        shape,
        pitch,
        rng.uniform(2, 5),
        angle_deg=rng.uniform(-10, 10),
        offset_px=tuple(rng.uniform(0, pitch, 2)),
    )


_MAKERS: dict[str, Callable[[tuple[int, int], Seed], np.ndarray]] = {
    "grains": lambda s, seed: grains(s, seed=seed),
    "particles": lambda s, seed: particles(s, seed=seed),
    "fibres": lambda s, seed: fibres(s, seed=seed),
    "spots_and_lines": lambda s, seed: spots_and_lines(s, seed=seed),
    "lines": lambda s, seed: lines(s, 1, seed=seed),
    "crossed_lines": lambda s, seed: lines(s, 2, seed=seed),
    "calibration_grid": _grid_from_seed,
}

#: Names accepted by :func:`make_phantom`.
PHANTOM_KINDS: tuple[str, ...] = tuple(_MAKERS)


def make_phantom(
    kind: str, shape: int | tuple[int, int] = (256, 256), seed: Seed = 0
) -> np.ndarray:
    """A phantom of the named kind with seed-drawn default parameters.

    Args:
        kind: one of :data:`PHANTOM_KINDS`.
        shape: ``(H, W)`` or an int.
        seed: int, generator or seed sequence; same arguments → same image.

    Returns:
        float32 ``(H, W)`` in [0, 1].

    Example:
        >>> [make_phantom(k, 32, seed=0).shape for k in PHANTOM_KINDS[:2]]
        [(32, 32), (32, 32)]
    """
    try:
        maker = _MAKERS[kind]
    except KeyError:
        known = ", ".join(PHANTOM_KINDS)
        raise ValueError(f"unknown phantom kind {kind!r}; known: {known}") from None
    return maker(_shape(shape), seed)
