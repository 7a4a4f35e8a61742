"""Fourier spectra of images: METHODS §1.7 figures and the ±0.25 cycles/px artifact measure.

Conventions (numpy, grey; RGB is turned into luminance with :func:`deblurlab.arrays.to_grey`):

* ``F = fft2(image)``, shifted so the zero frequency sits at index ``(H // 2, W // 2)``;
* frequency axes ``fftshift(fftfreq(N))`` in cycles/pixel, in [-0.5, 0.5)
  (see :func:`frequency_axis`); ``fy`` runs along rows (axis 0), ``fx`` along columns (axis 1);
* magnitude spectrum in dB: ``20·log10(|F| + eps)``; power spectral density
  ``PSD = |F|² / (H·W)`` (so ``PSD.sum() == (image**2).sum()``, Parseval), shown as
  ``10·log10`` (:func:`to_db`);
* the *horizontal* profile is the centre row (v = 0) plotted against ``fx``, the *vertical*
  profile the centre column (u = 0) against ``fy``;
* an optional Hann window (periodic) is off by default, as in the paper.

For a real image ``|F(-f)| = |F(f)|``, so the two sides of a profile are equal; the per-side
numbers are still returned because the paper's figures show both.

Example:
    >>> import numpy as np
    >>> x = np.cos(2 * np.pi * 0.25 * np.arange(64))[None, :].repeat(64, 0)
    >>> spec, fy, fx = magnitude_spectrum_db(x)
    >>> sorted(abs(fx[np.argsort(spec[32])[-2:]]).tolist())
    [0.25, 0.25]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .arrays import to_grey

AXES = ("horizontal", "vertical")


def frequency_axis(n: int) -> np.ndarray:
    """Centred frequency axis of an ``n``-point FFT in cycles/pixel, ``fftshift(fftfreq(n))``.

    >>> frequency_axis(4).tolist()
    [-0.5, -0.25, 0.0, 0.25]
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return np.fft.fftshift(np.fft.fftfreq(int(n)))


def _grey(image: np.ndarray, name: str = "image") -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must be (H, W) or (H, W, C), got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    # grey input keeps float64 precision; RGB goes through the shared luminance (float32)
    grey = arr.astype(np.float64) if arr.ndim == 2 else to_grey(arr).astype(np.float64)
    if not np.isfinite(grey).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return grey


def _window(shape: tuple[int, int], window: str | None) -> np.ndarray | None:
    if window is None:
        return None
    if window != "hann":
        raise ValueError(f"window must be None or 'hann', got {window!r}")

    def hann(n: int) -> np.ndarray:  # periodic Hann, the usual choice for spectral analysis
        return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)

    return np.outer(hann(shape[0]), hann(shape[1]))


def _centred_fft(image: np.ndarray, window: str | None) -> np.ndarray:
    grey = _grey(image)
    w = _window(grey.shape, window)
    if w is not None:
        grey = grey * w
    return np.fft.fftshift(np.fft.fft2(grey))


def magnitude_spectrum_db(
    image: np.ndarray, *, window: str | None = None, eps: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred magnitude spectrum ``20·log10(|F| + eps)`` in dB, with its frequency axes.

    Args:
        image: ``(H, W)`` or ``(H, W, 3)`` (luminance is used), any real dtype, no NaN.
        window: ``None`` (default, as in the paper) or ``"hann"``.
        eps: added to ``|F|`` before the log (floor of -160 dB by default).

    Returns:
        ``(spec_db, fy, fx)``: ``spec_db`` float64 ``(H, W)``, zero frequency at
        ``(H // 2, W // 2)``; ``fy`` ``(H,)`` and ``fx`` ``(W,)`` in cycles/pixel.

    Example:
        >>> import numpy as np
        >>> spec, fy, fx = magnitude_spectrum_db(np.ones((8, 8)))
        >>> round(float(spec[4, 4]), 3), float(fy[4]), float(fx[4])  # DC = 64 → 20·log10(64)
        (36.124, 0.0, 0.0)
    """
    F = _centred_fft(image, window)
    spec = 20.0 * np.log10(np.abs(F) + eps)
    return spec, frequency_axis(F.shape[0]), frequency_axis(F.shape[1])


def psd(image: np.ndarray, *, window: str | None = None) -> np.ndarray:
    """Centred power spectral density ``|F|² / (H·W)`` (linear units).

    Parseval: without a window ``psd(x).sum() == (x**2).sum()`` (luminance for RGB). Axes:
    ``frequency_axis(H)``, ``frequency_axis(W)``; dB with :func:`to_db`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).random((16, 16))
        >>> bool(np.isclose(psd(x).sum(), (x ** 2).sum()))
        True
    """
    F = _centred_fft(image, window)
    return (np.abs(F) ** 2) / (F.shape[0] * F.shape[1])


def to_db(power: np.ndarray, *, eps: float = 1e-12) -> np.ndarray:
    """``10·log10(power + eps)`` — for PSDs (power quantities), not magnitudes.

    >>> to_db(np.array([1.0, 100.0])).round(6).tolist()
    [0.0, 20.0]
    """
    return 10.0 * np.log10(np.asarray(power, dtype=np.float64) + eps)


def radial_average(
    spectrum: np.ndarray, *, nbins: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Average a centred 2-D spectrum over rings of equal radial frequency.

    Args:
        spectrum: centred ``(H, W)`` array (e.g. from :func:`psd` or :func:`dataset_psd`).
        nbins: rings between 0 and 0.5 cycles/px (default ``min(H, W) // 2``). Corners beyond
            0.5 cycles/px are left out; an empty ring gives NaN.

    Returns:
        ``(freqs, values)``: ring centres in cycles/pixel and the mean of ``spectrum`` in each.
    """
    spectrum = np.asarray(spectrum, dtype=np.float64)
    if spectrum.ndim != 2:
        raise ValueError(f"spectrum must be 2-D, got shape {spectrum.shape}")
    h, w = spectrum.shape
    nbins = int(nbins) if nbins is not None else max(1, min(h, w) // 2)
    if nbins < 1:
        raise ValueError(f"nbins must be >= 1, got {nbins}")
    fy, fx = frequency_axis(h), frequency_axis(w)
    radius = np.hypot(fy[:, None], fx[None, :])
    edges = np.linspace(0.0, 0.5, nbins + 1)
    idx = np.digitize(radius.ravel(), edges) - 1
    # the outermost edge belongs to the last ring
    idx[np.isclose(radius.ravel(), 0.5)] = nbins - 1
    keep = (idx >= 0) & (idx < nbins)
    sums = np.bincount(idx[keep], weights=spectrum.ravel()[keep], minlength=nbins)
    counts = np.bincount(idx[keep], minlength=nbins)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return 0.5 * (edges[:-1] + edges[1:]), values


def radial_psd(
    image: np.ndarray, *, nbins: int | None = None, window: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged PSD of one image: ``(freqs cycles/px, values)`` (linear units).

    White noise of variance σ² gives a flat curve at σ² (plus the DC ring).

    Example:
        >>> import numpy as np
        >>> f, v = radial_psd(np.random.default_rng(0).normal(size=(64, 64)))
        >>> f.shape, bool(0.8 < np.median(v) < 1.2)
        ((32,), True)
    """
    return radial_average(psd(image, window=window), nbins=nbins)


def line_profiles(
    spec_db: np.ndarray, fy: np.ndarray, fx: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Centre row and column of a centred spectrum.

    Returns:
        ``{"horizontal": (fx, spec_db[v = 0, :]), "vertical": (fy, spec_db[:, u = 0])}``.

    Example:
        >>> import numpy as np
        >>> prof = line_profiles(*magnitude_spectrum_db(np.ones((4, 6))))
        >>> prof["horizontal"][1].shape, prof["vertical"][1].shape
        ((6,), (4,))
    """
    spec_db = np.asarray(spec_db)
    fy, fx = np.asarray(fy), np.asarray(fx)
    if spec_db.ndim != 2 or spec_db.shape != (fy.size, fx.size):
        raise ValueError(
            f"spec_db {spec_db.shape} does not match the axes ({fy.size}, {fx.size})"
        )
    cy, cx = int(np.argmin(np.abs(fy))), int(np.argmin(np.abs(fx)))
    return {"horizontal": (fx, spec_db[cy, :]), "vertical": (fy, spec_db[:, cx])}


def _side_values(
    spec_db: np.ndarray, fy: np.ndarray, fx: np.ndarray, f: float, axis: str
) -> dict[str, float]:
    if axis not in (*AXES, "both"):
        raise ValueError(f"axis must be 'horizontal', 'vertical' or 'both', got {axis!r}")
    if not 0 < f <= 0.5:
        raise ValueError(f"f must be in (0, 0.5] cycles/px, got {f}")
    profiles = line_profiles(spec_db, fy, fx)
    out: dict[str, float] = {}
    for name in AXES if axis == "both" else (axis,):
        freqs, values = profiles[name]
        for sign, label in ((-1, "neg"), (1, "pos")):
            out[f"{name}_{label}"] = float(values[int(np.argmin(np.abs(freqs - sign * f)))])
    return out


def db_at_frequency(
    spec_db: np.ndarray,
    fy: np.ndarray,
    fx: np.ndarray,
    f: float = 0.25,
    axis: str = "both",
) -> float:
    """Spectrum value at ±f on the line profiles, averaged over both sides (and both axes).

    The nearest frequency bin is used (exact when N is a multiple of 1/f, e.g. N % 4 == 0 for
    0.25; +0.5 itself is not on an even-N axis, so f = 0.5 reads −0.5 and 0.5 − 1/N).

    Args:
        spec_db, fy, fx: output of :func:`magnitude_spectrum_db`.
        f: frequency in cycles/pixel, in (0, 0.5].
        axis: ``"horizontal"`` (centre row), ``"vertical"`` (centre column) or ``"both"``.

    Example:
        >>> import numpy as np
        >>> x = np.cos(2 * np.pi * 0.25 * np.arange(16))[None, :].repeat(16, 0)
        >>> db_at_frequency(*magnitude_spectrum_db(x), f=0.25, axis="horizontal") > 40
        True
    """
    return float(np.mean(list(_side_values(spec_db, fy, fx, f, axis).values())))


@dataclass(frozen=True)
class Excess:
    """Result of :func:`excess_db`: ``db`` is the mean over sides, ``sides`` per side.

    ``sides`` keys: ``"horizontal_neg"``, ``"horizontal_pos"``, ``"vertical_neg"``,
    ``"vertical_pos"`` (those of the chosen axes); ``restored_db`` / ``reference_db`` hold the
    raw spectrum values with the same keys.
    """

    db: float
    sides: dict[str, float]
    f: float
    axis: str
    restored_db: dict[str, float] = field(default_factory=dict)
    reference_db: dict[str, float] = field(default_factory=dict)

    def __float__(self) -> float:
        return self.db


def _pair_spectra(restored: np.ndarray, reference: np.ndarray, window: str | None):
    r = _grey(restored, "restored")
    g = _grey(reference, "reference")
    if r.shape != g.shape:
        raise ValueError(f"shape mismatch: restored {r.shape} vs reference {g.shape}")
    return magnitude_spectrum_db(r, window=window), magnitude_spectrum_db(g, window=window)


def excess_db(
    restored: np.ndarray,
    reference: np.ndarray,
    f: float = 0.25,
    *,
    axis: str = "both",
    window: str | None = None,
) -> Excess:
    """dB by which the restored spectrum exceeds the reference at ±f (paper 000's artifact).

    Both images (same shape, grey or RGB → luminance) go through :func:`magnitude_spectrum_db`;
    the values at ±f on the centre row/column are compared. The paper reports about +5 dB at
    ±0.25 cycles/px for its perceptual-loss artifacts.

    Args:
        restored: network output ``(H, W[, C])``.
        reference: sharp image, same shape.
        f: frequency in cycles/px (default 0.25, the period-4 pattern).
        axis: ``"horizontal"``, ``"vertical"`` or ``"both"`` (default).
        window: ``None`` or ``"hann"``.

    Returns:
        :class:`Excess` (``float(result)`` is the mean excess in dB; ``result.sides`` per side).

    Example:
        >>> import numpy as np
        >>> ref = np.random.default_rng(0).random((64, 64))
        >>> excess_db(ref, ref).db
        0.0
    """
    (rs, fy, fx), (gs, _, _) = _pair_spectra(restored, reference, window)
    r_vals = _side_values(rs, fy, fx, f, axis)
    g_vals = _side_values(gs, fy, fx, f, axis)
    sides = {k: r_vals[k] - g_vals[k] for k in r_vals}
    return Excess(
        db=float(np.mean(list(sides.values()))), sides=sides, f=float(f), axis=axis,
        restored_db=r_vals, reference_db=g_vals,
    )


def _smooth(values: np.ndarray, halfwidth: int) -> np.ndarray:
    if halfwidth <= 0:
        return values
    k = np.ones(2 * halfwidth + 1) / (2 * halfwidth + 1)
    return np.convolve(np.pad(values, halfwidth, mode="edge"), k, mode="valid")


def find_peaks_db(
    restored: np.ndarray,
    reference: np.ndarray,
    min_excess_db: float = 3.0,
    *,
    axis: str = "both",
    smooth: int = 0,
    min_freq: float = 0.0,
    window: str | None = None,
) -> pd.DataFrame:
    """Frequencies where the restored profile rises above the reference by ``min_excess_db``.

    On each chosen profile the difference ``restored_db − reference_db`` is formed (optionally
    moving-averaged over ``2·smooth + 1`` bins first — natural-image profiles are noisy), and its
    local maxima at or above ``min_excess_db`` are listed. Only f > ``min_freq`` (default: all
    positive frequencies) is searched: the negative side mirrors it for real images.

    Returns:
        DataFrame with columns ``axis``, ``freq`` (cycles/px), ``excess_db``, ``restored_db``,
        ``reference_db``, sorted by ``excess_db`` (largest first); empty when nothing qualifies.

    Example:
        >>> import numpy as np
        >>> ref = np.random.default_rng(0).random((64, 64))
        >>> len(find_peaks_db(ref, ref))
        0
    """
    if axis not in (*AXES, "both"):
        raise ValueError(f"axis must be 'horizontal', 'vertical' or 'both', got {axis!r}")
    (rs, fy, fx), (gs, _, _) = _pair_spectra(restored, reference, window)
    r_prof, g_prof = line_profiles(rs, fy, fx), line_profiles(gs, fy, fx)
    rows = []
    for name in AXES if axis == "both" else (axis,):
        freqs, r = r_prof[name]
        _, g = g_prof[name]
        r_s, g_s = _smooth(r, smooth), _smooth(g, smooth)
        diff = r_s - g_s
        left = np.r_[-np.inf, diff[:-1]]
        right = np.r_[diff[1:], -np.inf]
        is_peak = (diff >= left) & (diff >= right) & (diff >= min_excess_db) & (freqs > min_freq)
        for i in np.flatnonzero(is_peak):
            rows.append(
                {"axis": name, "freq": float(freqs[i]), "excess_db": float(diff[i]),
                 "restored_db": float(r_s[i]), "reference_db": float(g_s[i])}
            )
    df = pd.DataFrame(rows, columns=["axis", "freq", "excess_db", "restored_db", "reference_db"])
    return df.sort_values("excess_db", ascending=False, ignore_index=True)


def _centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape
    top, left = (h - side) // 2, (w - side) // 2
    return image[top : top + side, left : left + side]


def dataset_psd(
    images: Iterable[np.ndarray],
    *,
    crop: int | None = 1024,
    window: str | None = None,
) -> np.ndarray:
    """PSD averaged over a set of images (METHODS §1.7, Fig. 10), centred, linear units.

    Each image (grey, or RGB → luminance) is centre-cropped to a common ``S × S`` square,
    ``S = min(crop, smallest side over all images)``; with ``crop=None`` no cropping is done
    and all images must share one shape. Show the result as ``to_db(...)`` against
    ``frequency_axis(S)``; :func:`radial_average` gives the 1-D curve.

    Args:
        images: iterable of ``(H, W[, C])`` arrays (held in memory together while the common
            size is found).
        crop: side of the centre crop (default 1024, the paper's choice) or ``None``.
        window: ``None`` (default) or ``"hann"``.

    Returns:
        float64 ``(S, S)`` (or ``(H, W)`` for ``crop=None``) mean PSD.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> dataset_psd([rng.random((40, 50)), rng.random((36, 64))], crop=1024).shape
        (36, 36)
    """
    greys = [_grey(im, f"images[{i}]") for i, im in enumerate(images)]
    if not greys:
        raise ValueError("dataset_psd got no images")
    if crop is None:
        shapes = {g.shape for g in greys}
        if len(shapes) > 1:
            raise ValueError(
                f"images differ in size ({sorted(shapes)}) and crop=None; pass crop=<side> "
                "to centre-crop them to a common square"
            )
    else:
        if int(crop) < 1:
            raise ValueError(f"crop must be a positive side length or None, got {crop}")
        side = min(int(crop), *(min(g.shape) for g in greys))
        greys = [_centre_crop(g, side) for g in greys]
    total = np.zeros(greys[0].shape, dtype=np.float64)
    for g in greys:
        total += psd(g, window=window)
    return total / len(greys)
