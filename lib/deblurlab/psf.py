"""Point-spread functions (PSFs) for simulating microscope blur.

Every PSF returned here is a float32 2-D array of odd size ``(K, K)``, non-negative, summing
to 1 and centred on pixel
``(K // 2, K // 2)``, so that convolving with it preserves the mean intensity and does not
shift the image.

Lengths come in two units and the argument names say which: ``*_px`` are camera pixels,
``*_um`` are micrometres **in the sample** (object space: the camera pixel pitch already divided
by the total magnification, e.g. 6.45 µm × 2 binning / 20× = 0.645 µm).

* :func:`gaussian_psf` — a generic smooth blur (also a fair model of an SEM probe out of focus);
* :func:`pillbox_psf` — the geometric-optics defocus disk (no diffraction), for comparison;
* :func:`defocus_psf` — scalar-diffraction widefield defocus PSF (Airy pattern in focus);
* :func:`motion_psf` — linear motion blur with optional jitter (TEM stage drift, camera shake);
* :func:`optics_preset` — microscope parameters for the data sets used in the notebooks.
"""

from __future__ import annotations

import math
import numpy as np
from scipy import fft as sfft
from scipy.interpolate import CubicSpline
from scipy.special import erf

__all__ = [
    "OPTICS_PRESETS",
    "PRESET_NOTES",
    "defocus_blur_radius_um",
    "defocus_psf",
    "gaussian_psf",
    "motion_psf",
    "optics_preset",
    "pillbox_psf",
    "psf_rms_radius",
]


# --------------------------------------------------------------------------------------------
# helpers


def _check_size(size: int | None, name: str = "size") -> int | None:
    if size is None:
        return None
    if isinstance(size, bool) or int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"{name} must be a positive odd integer, got {size!r}")
    return int(size)


def _check_nonneg(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _check_pos(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _delta(size: int | None) -> np.ndarray:
    k = size or 1
    out = np.zeros((k, k), np.float32)
    out[k // 2, k // 2] = 1.0
    return out


def _normalise(psf: np.ndarray) -> np.ndarray:
    psf = np.clip(psf, 0.0, None)
    total = psf.sum()
    if not total > 0:
        raise ValueError("PSF has no energy inside the requested size")
    return (psf / total).astype(np.float32)


def _crop_centre(arr: np.ndarray, size: int) -> np.ndarray:
    cy, cx = arr.shape[0] // 2, arr.shape[1] // 2
    h = size // 2
    return arr[cy - h : cy + h + 1, cx - h : cx + h + 1]


def psf_rms_radius(psf: np.ndarray) -> float:
    """Root-mean-square radius of a PSF about its centroid, in pixels.

    ``sqrt(sum(p * r**2) / sum(p))`` — the second-moment width used to compare blur levels of
    different PSF families (a Gaussian of ``sigma`` has ``sigma * sqrt(2)``).

    Args:
        psf: non-negative 2-D array, shape ``(Ky, Kx)``.

    Returns:
        The RMS radius in pixels (``0.0`` for a delta).

    Example:
        >>> round(psf_rms_radius(gaussian_psf(2.0)), 1)  # sqrt(2) * sigma, plus pixel width
        2.9
    """
    p = np.asarray(psf, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"expected a 2-D PSF, got shape {p.shape}")
    total = p.sum()
    if not total > 0:
        raise ValueError("PSF sums to zero")
    yy, xx = np.indices(p.shape, dtype=np.float64)
    cy, cx = (p * yy).sum() / total, (p * xx).sum() / total
    return float(np.sqrt((p * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum() / total))


# --------------------------------------------------------------------------------------------
# Gaussian and pillbox


def gaussian_psf(sigma_px: float | tuple[float, float], size: int | None = None) -> np.ndarray:
    """Pixel-integrated Gaussian PSF.

    Each pixel holds the Gaussian's integral over that pixel (differences of ``erf``), not a
    point sample, so tiny sigmas (< 0.5 px) still give a correct, normalised kernel.

    Args:
        sigma_px: standard deviation in pixels (>= 0), or ``(sigma_y, sigma_x)``; 0 → delta.
        size: odd kernel side; default ``2 * ceil(4 * sigma) + 1`` (holds > 99.99 % of the energy).

    Returns:
        float32 array ``(K, K)`` summing to 1.

    Example:
        >>> k = gaussian_psf(1.5)
        >>> k.shape, round(float(k.sum()), 6)
        ((13, 13), 1.0)
    """
    if np.ndim(sigma_px) == 1:
        if len(sigma_px) != 2:
            raise ValueError(f"sigma_px must be a number or (sigma_y, sigma_x), got {sigma_px!r}")
        sy, sx = (_check_nonneg(s, "sigma_px") for s in sigma_px)
    else:
        sy = sx = _check_nonneg(sigma_px, "sigma_px")
    size = _check_size(size)
    if size is None:
        size = 2 * math.ceil(4 * max(sy, sx)) + 1

    def weights(s: float) -> np.ndarray:
        x = np.arange(size) - size // 2
        if s == 0:
            return (x == 0).astype(np.float64)
        c = 1.0 / (s * math.sqrt(2.0))
        return 0.5 * (erf((x + 0.5) * c) - erf((x - 0.5) * c))

    return _normalise(np.outer(weights(sy), weights(sx)))


def pillbox_psf(radius_px: float, size: int | None = None, *, supersample: int = 8) -> np.ndarray:
    """Uniform disk (geometric-optics defocus blur), anti-aliased by pixel coverage.

    Geometric optics says a point ``Δz`` out of focus images to a uniformly lit disk (the cone of
    light cut by the focal plane); see :func:`defocus_blur_radius_um`. Real defocus PSFs add
    diffraction rings — compare with :func:`defocus_psf`.

    Args:
        radius_px: disk radius in pixels (>= 0; 0 → delta).
        size: odd kernel side; default ``2 * ceil(radius) + 1``.
        supersample: sub-samples per pixel side used to estimate the covered area.

    Returns:
        float32 array ``(K, K)`` summing to 1.

    Example:
        >>> k = pillbox_psf(3.0)
        >>> k.shape, float(k[3, 3]) == float(k.max())
        ((7, 7), True)
    """
    r = _check_nonneg(radius_px, "radius_px")
    size = _check_size(size)
    if supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {supersample}")
    if size is None:
        size = 2 * math.ceil(r) + 1
    if r == 0:
        return _delta(size)
    n = size * supersample
    # sub-sample centres in pixel units relative to the kernel centre
    u = (np.arange(n) + 0.5) / supersample - size / 2.0
    inside = (u[:, None] ** 2 + u[None, :] ** 2) <= r * r
    cover = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    if cover.sum() == 0:  # radius far below one pixel: all light lands on the centre pixel
        return _delta(size)
    return _normalise(cover)


# --------------------------------------------------------------------------------------------
# diffraction defocus


def defocus_blur_radius_um(
    defocus_um: float, *, na: float, refractive_index: float = 1.0
) -> float:
    """Geometric radius of the defocus blur disk, ``|Δz| · tan(asin(NA / n))``, in µm.

    The marginal ray leaves the focus at half-angle ``θ`` with ``n · sin θ = NA``, so a point
    ``Δz`` away from the focal plane (measured in the medium of index ``n``) spreads over a disk
    of that radius. Diffraction adds roughly ``0.61 λ / NA`` on top (see :func:`defocus_psf`).

    Args:
        defocus_um: focal-plane offset in µm (sign ignored).
        na: numerical aperture, ``0 < na < refractive_index``.
        refractive_index: index of the medium between sample and lens (1.0 air, 1.33 water,
            1.515 oil).

    Returns:
        Radius in µm in the sample; divide by the pixel size for pixels.

    Example:
        >>> round(defocus_blur_radius_um(10.0, na=0.45), 2)
        5.04
    """
    dz = float(defocus_um)
    if not math.isfinite(dz):
        raise ValueError(f"defocus_um must be finite, got {defocus_um!r}")
    n = _check_pos(refractive_index, "refractive_index")
    na = _check_pos(na, "na")
    if na >= n:
        raise ValueError(f"na ({na}) must be smaller than refractive_index ({n})")
    s = na / n
    return abs(dz) * s / math.sqrt(1.0 - s * s)


def defocus_psf(
    defocus_um: float,
    *,
    na: float,
    wavelength_um: float,
    pixel_size_um: float,
    refractive_index: float = 1.0,
    size: int | None = None,
    oversample: int = 3,
    paraxial: bool = False,
) -> np.ndarray:
    """Widefield defocus PSF from scalar diffraction theory (incoherent imaging).

    Model: the amplitude PSF is the inverse Fourier transform of the pupil
    ``P(f) = circ(|f| ≤ NA/λ) · exp(i φ(f))`` written over lateral spatial frequency ``f``
    (cycles/µm), and the intensity PSF is ``|IFFT(P)|²``. The defocus phase is the exact
    angular-spectrum propagation phase over ``Δz`` in a medium of index ``n``::

        φ(f) = 2π Δz · (sqrt((n/λ)² − |f|²) − n/λ)
             = k Δz · (sqrt(n² − (NA ρ)²) − n),   k = 2π/λ,  ρ = |f| λ / NA ∈ [0, 1]

    which stays valid at high NA; ``paraxial=True`` uses ``φ ≈ −π λ Δz |f|² / n`` instead.
    There is no apodisation, polarisation or aberration term, so the PSF is the same for
    ``+Δz`` and ``−Δz``. At ``Δz = 0`` this is the Airy pattern (first zero at 0.61 λ / NA);
    with growing ``|Δz|`` it widens towards the geometric disk of
    :func:`defocus_blur_radius_um`, with Fresnel rings inside.

    The field is computed on a grid ``oversample`` times finer than the camera pixel and
    integrated over each pixel (the camera measures light over its area, not at a point).
    ``oversample`` is rounded up to an odd number (so the PSF stays centred) and raised where
    the pupil (radius ``NA/λ``) would otherwise alias. The computation window is at least twice
    the blur diameter, so the defocus phase is sampled without wrap-around.

    Args:
        defocus_um: focal-plane offset ``Δz`` in µm, measured in the medium of index
            ``refractive_index`` (for a dry lens focused into water the physical focal shift
            differs from the stage step by about ``n_sample / n_immersion``).
        na: numerical aperture of the objective, ``0 < na < refractive_index``.
        wavelength_um: vacuum wavelength in µm (emission wavelength for fluorescence).
        pixel_size_um: pixel pitch **in the sample**: camera pixel (× binning) divided by the
            total magnification.
        refractive_index: immersion / medium index ``n``.
        size: odd kernel side in pixels; default holds the geometric disk plus ``3 λ / NA``
            of diffraction margin (> 97 % of the in-focus energy).
        oversample: sub-pixels per pixel side for the pixel integration (>= 1).
        paraxial: use the paraxial (quadratic) defocus phase.

    Returns:
        float32 array ``(K, K)``, odd ``K``, summing to 1.

    Example:
        >>> k = defocus_psf(0.0, na=0.5, wavelength_um=0.5, pixel_size_um=0.1)
        >>> k.shape, int(k.argmax()) == k.size // 2
        ((61, 61), True)
    """
    dz = float(defocus_um)
    if not math.isfinite(dz):
        raise ValueError(f"defocus_um must be finite, got {defocus_um!r}")
    na = _check_pos(na, "na")
    lam = _check_pos(wavelength_um, "wavelength_um")
    px = _check_pos(pixel_size_um, "pixel_size_um")
    n = _check_pos(refractive_index, "refractive_index")
    if na >= n:
        raise ValueError(f"na ({na}) must be smaller than refractive_index ({n})")
    size = _check_size(size)
    if isinstance(oversample, bool) or int(oversample) != oversample or oversample < 1:
        raise ValueError(f"oversample must be a positive integer, got {oversample!r}")

    # Sub-pixel pitch must resolve the pupil's cutoff NA/λ (Nyquist for the amplitude).
    os_ = max(int(oversample), math.ceil(2.0 * na * px / lam))
    if os_ % 2 == 0:
        os_ += 1
    # Support needed: geometric disk + diffraction margin.
    radius_um = defocus_blur_radius_um(dz, na=na, refractive_index=n) + 3.0 * lam / na
    auto = 2 * math.ceil(radius_um / px) + 1
    out_size = size or auto
    # Window twice the support: no wrap-around of the tails, and the pupil phase (whose
    # gradient maps frequency to the position inside the blur disk) is sampled finely enough.
    n_coarse = 2 * max(auto, out_size) + 1
    n_fine = n_coarse * os_
    dx = px / os_
    f = sfft.fftfreq(n_fine, d=dx)
    f2 = f[:, None] ** 2 + f[None, :] ** 2
    inside = f2 <= (na / lam) ** 2
    if paraxial:
        phase = -np.pi * lam * dz * f2 / n
    else:
        phase = 2.0 * np.pi * dz * (np.sqrt(np.clip((n / lam) ** 2 - f2, 0.0, None)) - n / lam)
    pupil = np.where(inside, np.exp(1j * phase), 0.0).astype(np.complex64)
    amp = sfft.ifft2(pupil)
    intensity = sfft.fftshift(np.abs(amp) ** 2)
    # Odd n_fine and odd oversample: the centre sample is the middle of the middle block.
    binned = intensity.reshape(n_coarse, os_, n_coarse, os_).sum(axis=(1, 3))
    return _normalise(_crop_centre(binned, out_size).astype(np.float64))


# --------------------------------------------------------------------------------------------
# motion


def motion_psf(
    length_px: float,
    angle_deg: float = 0.0,
    *,
    jitter_px: float = 0.0,
    rng: int | np.random.Generator | None = None,
    size: int | None = None,
) -> np.ndarray:
    """Linear motion blur with anti-aliased (sub-pixel) rasterisation and optional jitter.

    The specimen (or beam / stage) moves ``length_px`` pixels at constant speed during the
    exposure; the PSF is the time spent at each position. The trajectory is sampled every
    1/8 px and each sample is splatted bilinearly onto its four neighbouring pixels, which keeps
    sub-pixel lengths and oblique angles smooth. ``jitter_px`` adds a smooth random deviation
    (a cubic spline through control points every ~5 px, each displaced by a normal draw of that
    standard deviation) — the slightly curved kernels of real stage drift (METHODS §3.7). The
    trajectory is re-centred on its centroid so blurring does not shift the image.

    Args:
        length_px: end-to-end travel in pixels (>= 0; 0 → delta).
        angle_deg: direction, counter-clockwise from the +x (column) axis as displayed with row
            0 on top: 0 = horizontal, 90 = vertical.
        jitter_px: standard deviation of the trajectory jitter in pixels (>= 0).
        rng: seed or generator for the jitter (only used when ``jitter_px > 0``).
        size: odd kernel side; default just holds the trajectory. Too small → ``ValueError``.

    Returns:
        float32 array ``(K, K)`` summing to 1.

    Example:
        >>> k = motion_psf(9, 90)
        >>> k.shape, bool(k[:, 5].sum() > 0.99)
        ((11, 11), True)
    """
    length = _check_nonneg(length_px, "length_px")
    jitter = _check_nonneg(jitter_px, "jitter_px")
    angle = float(angle_deg)
    if not math.isfinite(angle):
        raise ValueError(f"angle_deg must be finite, got {angle_deg!r}")
    size = _check_size(size)
    if length == 0 and jitter == 0:
        return _delta(size)

    n_pts = max(2, math.ceil(8 * length) + 1)
    t = np.linspace(-0.5, 0.5, n_pts) * length
    a = math.radians(angle)
    # rows grow downwards, so a counter-clockwise angle moves towards smaller row indices
    x = t * math.cos(a)
    y = -t * math.sin(a)
    if jitter > 0:
        gen = np.random.default_rng(rng)
        n_ctrl = max(4, math.ceil(length / 5.0) + 1)
        tc = np.linspace(-0.5, 0.5, n_ctrl) * max(length, 1.0)
        tt = np.linspace(-0.5, 0.5, n_pts) * max(length, 1.0)
        off = gen.normal(0.0, jitter, size=(n_ctrl, 2))
        x = x + CubicSpline(tc, off[:, 0])(tt)
        y = y + CubicSpline(tc, off[:, 1])(tt)
    x = x - x.mean()
    y = y - y.mean()

    # bilinear splatting touches floor(p) and floor(p) + 1
    need = 2 * (math.floor(max(np.abs(x).max(), np.abs(y).max())) + 1) + 1
    if size is None:
        size = need
    elif size < need:
        raise ValueError(f"size {size} is too small for this trajectory; need at least {need}")
    c = size // 2
    px, py = x + c, y + c
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    out = np.zeros((size, size), np.float64)
    for dy, dx, w in (
        (0, 0, (1 - fy) * (1 - fx)),
        (0, 1, (1 - fy) * fx),
        (1, 0, fy * (1 - fx)),
        (1, 1, fy * fx),
    ):
        np.add.at(out, (y0 + dy, x0 + dx), w)
    return _normalise(out)


# --------------------------------------------------------------------------------------------
# optics presets

#: Object-space optics of the microscopes behind the notebooks' data sets. Keys match the
#: keyword arguments of :func:`defocus_psf`, so ``defocus_psf(dz, **optics_preset(name))`` works.
OPTICS_PRESETS: dict[str, dict[str, float]] = {
    "bbbc006-20x": {
        "na": 0.45,
        "wavelength_um": 0.461,
        "pixel_size_um": 0.645,
        "refractive_index": 1.0,
    },
    "lightsheet": {
        "na": 1.1,
        "wavelength_um": 0.52,
        "pixel_size_um": 0.104,
        "refractive_index": 1.33,
    },
    "reflected-20x": {
        "na": 0.5,
        "wavelength_um": 0.55,
        "pixel_size_um": 0.2225,
        "refractive_index": 1.0,
    },
    "reflected-50x": {
        "na": 0.8,
        "wavelength_um": 0.55,
        "pixel_size_um": 0.089,
        "refractive_index": 1.0,
    },
}

#: Where each preset's numbers come from, and which ones are assumptions.
PRESET_NOTES: dict[str, str] = {
    "bbbc006-20x": (
        "BBBC006 (paper 004, METHODS §5.3): 20x objective and 2x2 binning are known, 2 µm z "
        "steps, distances 10-34 µm. ASSUMED: NA 0.45 (typical dry 20x plan-fluor of the "
        "ImageXpress-class screeners), 6.45 µm camera pixels (a 1392x1040 sensor, which binned "
        "2x2 gives the 696x520 images) → 0.645 µm, Hoechst 33342 emission peak 461 nm, air."
    ),
    "lightsheet": (
        "DFNN lattice light-sheet (488 nm excitation per file names). ASSUMED: detection "
        "25x/1.1 water-dipping objective (n 1.33), ~520 nm emission, 0.104 µm pixels "
        "(6.5 µm sCMOS at 62.5x) — typical lattice light-sheet values, not published with data."
    ),
    "reflected-20x": (
        "Paper 000 test series: Zeiss EC Epiplan-Neofluar 20x/0.5, Axiocam 506 (4.45 µm "
        "pixels) with a 1.0x adapter → 0.2225 µm; white LED, ASSUMED mean wavelength 0.55 µm. "
        "Incoherent model (brightfield is partially coherent). The reflected-focus data set's "
        "own optics are unpublished; this preset is a stand-in for it."
    ),
    "reflected-50x": (
        "Paper 000 FaMM examples: Zeiss EC Epiplan-Neofluar 50x/0.8, Axiocam 506 (4.45 µm) "
        "→ 0.089 µm; ASSUMED 0.55 µm mean wavelength, air."
    ),
}


def optics_preset(name: str) -> dict[str, float]:
    """Microscope optics for a named set-up, as keyword arguments of :func:`defocus_psf`.

    Args:
        name: one of ``OPTICS_PRESETS`` (``"bbbc006-20x"``, ``"lightsheet"``,
            ``"reflected-20x"``, ``"reflected-50x"``); see ``PRESET_NOTES[name]`` for sources
            and assumptions.

    Returns:
        A new dict with ``na``, ``wavelength_um``, ``pixel_size_um`` (object space, µm) and
        ``refractive_index``.

    Example:
        >>> optics_preset("bbbc006-20x")["pixel_size_um"]
        0.645
    """
    try:
        return dict(OPTICS_PRESETS[name])
    except KeyError:
        known = ", ".join(sorted(OPTICS_PRESETS))
        raise KeyError(f"unknown optics preset {name!r}; known: {known}") from None
