"""Degradations (blur, Poisson–Gaussian noise), simulated focus series and synthetic pairs.

The forward model of a microscope image used throughout::

    observed = clip( Poisson(photons · (sharp ⊛ psf)) / photons + N(0, read_noise²), 0, 1 )

* :func:`blur` — convolution with a PSF (per channel), same size out;
* :func:`add_poisson_gaussian_noise` — shot noise + read noise, intensities in [0, 1];
* :func:`degrade` — both;
* :func:`focus_series` — a phantom or real image seen through a defocus PSF at several planes;
* :class:`SyntheticPairs` / :func:`synthetic_pairs` — the embedded default training data:
  random phantom + random blur (+ noise), reproducible from ``(seed, index)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.signal import fftconvolve
from torch.utils.data import Dataset

from .phantoms import PHANTOM_KINDS, make_phantom
from .psf import defocus_psf, gaussian_psf, motion_psf, optics_preset, psf_rms_radius

__all__ = [
    "DEFAULT_BLUR",
    "SimulatedFocusSeries",
    "SyntheticPairs",
    "add_poisson_gaussian_noise",
    "blur",
    "degrade",
    "focus_series",
    "synthetic_pairs",
]

_PAD_MODES = ("reflect", "symmetric", "edge", "constant", "wrap")
_OPTICS_KEYS = ("na", "wavelength_um", "pixel_size_um", "refractive_index")


# --------------------------------------------------------------------------------------------
# validation helpers


def _image(image: np.ndarray, name: str = "image") -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _psf(psf: np.ndarray) -> np.ndarray:
    k = np.asarray(psf, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"psf must be a 2-D array, got shape {k.shape}")
    if not np.isfinite(k).all():
        raise ValueError("psf contains NaN or inf")
    return k


def _optics(optics: Mapping[str, float] | str) -> dict[str, float]:
    if isinstance(optics, str):
        return optics_preset(optics)
    missing = [k for k in _OPTICS_KEYS[:3] if k not in optics]
    extra = [k for k in optics if k not in _OPTICS_KEYS]
    if missing or extra:
        raise ValueError(
            f"optics needs keys {_OPTICS_KEYS[:3]} (+ optional 'refractive_index'); "
            f"missing {missing}, unknown {extra}"
        )
    return {k: float(v) for k, v in optics.items()}


# --------------------------------------------------------------------------------------------
# degradations


def blur(image: np.ndarray, psf: np.ndarray, *, mode: str = "reflect") -> np.ndarray:
    """Convolve an image with a PSF, same size out (each colour channel separately).

    The border is extended by ``mode`` before an FFT convolution, so no dark frame appears at
    the edges. For a non-negative PSF the output is clipped to the input's own range, which
    only removes FFT round-off (a convex combination cannot leave it).

    Args:
        image: ``(H, W)`` or ``(H, W, C)``, any real dtype.
        psf: 2-D kernel, centre at ``(Ky // 2, Kx // 2)``; should sum to 1 to keep the mean.
        mode: border extension, as :func:`numpy.pad`: ``"reflect"`` (mirror without repeating
            the edge pixel), ``"symmetric"``, ``"edge"``, ``"constant"`` (zeros) or ``"wrap"``
            (periodic: exact circular convolution, preserves the mean exactly).

    Returns:
        float32 array of the input's shape.

    Example:
        >>> img = np.zeros((9, 9), np.float32); img[4, 4] = 1
        >>> out = blur(img, np.full((3, 3), 1 / 9))
        >>> out.shape, round(float(out.sum()), 5)
        ((9, 9), 1.0)
    """
    if mode not in _PAD_MODES:
        raise ValueError(f"mode must be one of {_PAD_MODES}, got {mode!r}")
    img = _image(image)
    k = _psf(psf)
    ky, kx = k.shape
    # 'valid' convolution of the padded image; the kernel centre (k // 2) lands on each pixel
    pad = ((ky - 1 - ky // 2, ky // 2), (kx - 1 - kx // 2, kx // 2))
    channels = img[..., None] if img.ndim == 2 else img
    out = np.empty_like(channels)
    for c in range(channels.shape[-1]):
        padded = np.pad(channels[..., c], pad, mode=mode)
        out[..., c] = fftconvolve(padded, k, mode="valid")
    if (k >= 0).all():
        out = np.clip(out, img.min(), img.max())
    return (out[..., 0] if img.ndim == 2 else out).astype(np.float32)


def add_poisson_gaussian_noise(
    image: np.ndarray,
    *,
    photons: float | None,
    read_noise: float = 0.0,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Shot noise (Poisson) plus read noise (Gaussian), clipped to [0, 1].

    A pixel of intensity ``x`` collects ``photons · x`` photo-electrons on average; the count is
    Poisson, so after rescaling by ``1 / photons`` its variance is ``x / photons``. Read-out
    electronics add Gaussian noise of standard deviation ``read_noise`` (in units of the [0, 1]
    intensity scale). Total variance before clipping: ``x / photons + read_noise²``.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` in [0, 1] (negative values count as 0 photons).
        photons: expected photons at intensity 1 (> 0); ``None`` → no shot noise.
        read_noise: Gaussian standard deviation in intensity units (>= 0).
        rng: seed or generator (``None`` → fresh entropy, not repeatable).

    Returns:
        float32 array of the input's shape in [0, 1].

    Example:
        >>> noisy = add_poisson_gaussian_noise(np.full((64, 64), 0.5), photons=100, rng=0)
        >>> 0.04 < float(noisy.std()) < 0.1   # sqrt(0.5 / 100) ≈ 0.071
        True
    """
    img = _image(image)
    if photons is not None:
        photons = float(photons)
        if not math.isfinite(photons) or photons <= 0:
            raise ValueError(f"photons must be a finite number > 0 or None, got {photons!r}")
    read_noise = float(read_noise)
    if not math.isfinite(read_noise) or read_noise < 0:
        raise ValueError(f"read_noise must be a finite number >= 0, got {read_noise!r}")
    gen = np.random.default_rng(rng)
    out = img
    if photons is not None:
        out = gen.poisson(np.clip(img, 0.0, None) * photons) / photons
    if read_noise > 0:
        out = out + gen.normal(0.0, read_noise, size=img.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def degrade(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    photons: float | None = None,
    read_noise: float = 0.0,
    rng: int | np.random.Generator | None = None,
    mode: str = "reflect",
) -> np.ndarray:
    """Blur with ``psf``, then add Poisson–Gaussian noise.

    See :func:`blur` and :func:`add_poisson_gaussian_noise` for the arguments.

    Example:
        >>> from deblurlab.psf import gaussian_psf
        >>> degrade(np.ones((8, 8)), gaussian_psf(1.0), photons=1000, rng=0).shape
        (8, 8)
    """
    blurred = blur(image, psf, mode=mode)
    if photons is None and read_noise == 0:
        return np.clip(blurred, 0.0, 1.0)
    return add_poisson_gaussian_noise(blurred, photons=photons, read_noise=read_noise, rng=rng)


# --------------------------------------------------------------------------------------------
# focus series


@dataclass
class SimulatedFocusSeries:
    """A simulated through-focus series of one field.

    (Real focus series from disk are :class:`deblurlab.focus.FocusSeries`.)

    Attributes:
        sharp: the object itself, float32 ``(H, W[, C])`` — no optics, no noise.
        reference: the in-focus plane as the microscope records it: diffraction-limited
            (Airy PSF) with the same noise model as the planes; the usual ground truth.
        planes: float32 ``(Z, H, W[, C])``, one per entry of ``defocus_um``.
        defocus_um: ``(Z,)`` focal offsets in µm (object space).
        optics: the :func:`~deblurlab.psf.defocus_psf` keyword arguments used.
        photons, read_noise: the noise model (``photons=None`` → no shot noise).
    """

    sharp: np.ndarray
    reference: np.ndarray
    planes: np.ndarray
    defocus_um: np.ndarray
    optics: dict[str, float]
    photons: float | None = None
    read_noise: float = 0.0

    def __len__(self) -> int:
        return len(self.defocus_um)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(defocus_um, plane)`` pairs."""
        return iter(zip(self.defocus_um.tolist(), self.planes))

    def plane(self, defocus_um: float) -> np.ndarray:
        """The plane at (the entry nearest to) ``defocus_um``."""
        return self.planes[int(np.argmin(np.abs(self.defocus_um - defocus_um)))]

    def psf(self, defocus_um: float) -> np.ndarray:
        """The PSF used for a defocus (recomputed, not stored)."""
        return defocus_psf(defocus_um, **self.optics)


def focus_series(
    image: np.ndarray,
    defocus_um: Sequence[float],
    *,
    optics: Mapping[str, float] | str,
    photons: float | None = None,
    read_noise: float = 0.0,
    seed: int = 0,
    mode: str = "reflect",
) -> SimulatedFocusSeries:
    """Image a sharp object through a widefield microscope at several focal offsets.

    Each plane is ``degrade(image, defocus_psf(dz, **optics))``; the PSF is the scalar
    diffraction model of :func:`deblurlab.psf.defocus_psf`, so the blur grows with ``|dz|`` and
    the in-focus reference keeps the diffraction limit. For BBBC006-like stacks use
    ``optics="bbbc006-20x"`` and ``defocus_um=[10, 16, 22, 28, 34]`` (METHODS §5.3).

    Args:
        image: sharp object ``(H, W)`` or ``(H, W, C)`` in [0, 1], sampled at the optics'
            ``pixel_size_um``.
        defocus_um: focal offsets in µm (any sign; the model is symmetric in ``dz``).
        optics: preset name or a dict with ``na``, ``wavelength_um``, ``pixel_size_um`` and
            optionally ``refractive_index``.
        photons: expected photons at intensity 1 (``None`` → no shot noise).
        read_noise: Gaussian read-noise standard deviation (intensity units).
        seed: noise seed; the planes' noise draws follow from it in order.
        mode: border extension for :func:`blur`.

    Returns:
        :class:`SimulatedFocusSeries`.

    Example:
        >>> from deblurlab.phantoms import make_phantom
        >>> s = focus_series(make_phantom("grains", 64), [0, 10, 20], optics="bbbc006-20x")
        >>> s.planes.shape, s.defocus_um.tolist()
        ((3, 64, 64), [0.0, 10.0, 20.0])
    """
    img = _image(image).astype(np.float32)
    opt = _optics(optics)
    dz = np.asarray(defocus_um, dtype=np.float64).reshape(-1)
    if dz.size == 0 or not np.isfinite(dz).all():
        raise ValueError(f"defocus_um must be non-empty and finite, got {defocus_um!r}")
    rng = np.random.default_rng(seed)
    cache: dict[float, np.ndarray] = {}

    def plane(z: float) -> np.ndarray:
        key = abs(float(z))  # no aberrations: the PSF is the same for ±dz
        if key not in cache:
            cache[key] = defocus_psf(key, **opt)
        return degrade(img, cache[key], photons=photons, read_noise=read_noise, rng=rng, mode=mode)

    reference = plane(0.0)
    planes = np.stack([plane(z) for z in dz])
    return SimulatedFocusSeries(
        sharp=img, reference=reference, planes=planes, defocus_um=dz, optics=opt,
        photons=photons, read_noise=float(read_noise),
    )


# --------------------------------------------------------------------------------------------
# synthetic pairs

#: Default blur of :class:`SyntheticPairs`: Gaussian, sigma drawn uniformly in 0.5–3 px.
DEFAULT_BLUR: dict[str, Any] = {"kind": "gaussian", "sigma_px": (0.5, 3.0)}

_BLUR_DEFAULTS: dict[str, dict[str, Any]] = {
    "gaussian": {"sigma_px": (0.5, 3.0)},
    "defocus": {"defocus_um": (2.0, 34.0), "optics": "bbbc006-20x"},
    "motion": {"length_px": (3.0, 21.0), "angle_deg": (0.0, 180.0), "jitter_px": (0.0, 1.0)},
}


def _blur_specs(blur: Any) -> list[dict[str, Any]] | np.ndarray:
    """Validate a blur spec (dict, list of dicts, or a fixed PSF array) and fill defaults."""
    if blur is None:
        blur = DEFAULT_BLUR
    if isinstance(blur, np.ndarray):
        return _psf(blur)
    specs = [blur] if isinstance(blur, Mapping) else list(blur)
    if not specs:
        raise ValueError("blur must not be an empty list")
    out = []
    for spec in specs:
        if not isinstance(spec, Mapping) or "kind" not in spec:
            raise ValueError(f"each blur spec must be a dict with a 'kind', got {spec!r}")
        kind = spec["kind"]
        if kind not in _BLUR_DEFAULTS:
            raise ValueError(f"unknown blur kind {kind!r}; known: {', '.join(_BLUR_DEFAULTS)}")
        unknown = set(spec) - {"kind"} - set(_BLUR_DEFAULTS[kind])
        if unknown:
            raise ValueError(f"unknown keys for blur kind {kind!r}: {sorted(unknown)}")
        full = {"kind": kind, **_BLUR_DEFAULTS[kind], **spec}
        if kind == "defocus":
            full["optics"] = _optics(full["optics"])
        for key, value in full.items():
            if key not in ("kind", "optics"):
                _span(value, key)  # validate early
        out.append(full)
    return out


def _span(value: Any, name: str) -> tuple[float, float]:
    lo, hi = (value, value) if np.isscalar(value) else tuple(value)
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"{name} must be a number or a (lo, hi) range, got {value!r}")
    return lo, hi


def _draw(rng: np.random.Generator, value: Any, name: str, log: bool = False) -> float:
    lo, hi = _span(value, name)
    if lo == hi:
        return lo
    if log:
        if lo <= 0:
            raise ValueError(f"{name} range must be > 0 for log-uniform sampling, got {value!r}")
        return float(np.exp(rng.uniform(math.log(lo), math.log(hi))))
    return float(rng.uniform(lo, hi))


def _noise_spec(noise: Mapping[str, Any] | None) -> dict[str, Any]:
    if noise is None:
        return {"photons": None, "read_noise": 0.0}
    unknown = set(noise) - {"photons", "read_noise"}
    if unknown:
        raise ValueError(f"unknown noise keys {sorted(unknown)}; use 'photons' and 'read_noise'")
    spec = {"photons": noise.get("photons"), "read_noise": noise.get("read_noise", 0.0)}
    if spec["photons"] is not None:
        lo, _ = _span(spec["photons"], "photons")
        if lo <= 0:
            raise ValueError(f"photons must be > 0, got {spec['photons']!r}")
    if _span(spec["read_noise"], "read_noise")[0] < 0:
        raise ValueError(f"read_noise must be >= 0, got {spec['read_noise']!r}")
    return spec


class SyntheticPairs(Dataset):
    """Embedded default training data: random phantom, random blur, optional noise.

    Item ``i`` depends only on ``(seed, i)`` (a ``SeedSequence([seed, i])``), so the data set is
    identical across runs, data-loader workers and shuffling orders. Each item draws a phantom
    kind from ``kinds``, a blur spec from ``blur`` and its parameters from their ranges, renders
    the phantom with a margin of one PSF radius, blurs it and crops the margin away, so borders
    carry real neighbouring content rather than padding.

    Blur specs (``(lo, hi)`` is drawn uniformly, a number is fixed)::

        {"kind": "gaussian", "sigma_px": (0.5, 3.0)}
        {"kind": "defocus", "defocus_um": (2.0, 34.0), "optics": "bbbc006-20x"}  # or an optics dict
        {"kind": "motion", "length_px": (3, 21), "angle_deg": (0, 180), "jitter_px": (0, 1)}

    ``blur`` may be one spec, a list of specs (one chosen per item) or a fixed 2-D PSF array.
    ``noise`` is ``None`` (clean) or ``{"photons": (lo, hi) | number | None, "read_noise": ...}``
    with photons drawn log-uniformly.

    Args:
        n: number of items.
        crop: item size, int or ``(h, w)``.
        kinds: phantom kinds (see :data:`deblurlab.phantoms.PHANTOM_KINDS`).
        blur: blur spec(s) or a PSF; default :data:`DEFAULT_BLUR`.
        noise: noise spec or ``None``.
        seed: non-negative int.
        channels: channels of the returned tensors (grey content repeated, e.g. 3 for RGB nets).

    Items are ``{"blur": (C, h, w), "sharp": (C, h, w), "name": str, "group": str, "meta": dict}``
    with float32 tensors in [0, 1]; ``group`` is the phantom kind; ``meta`` holds only floats and
    strings (``index``, ``kind``, ``blur_kind``, ``sigma_px``, ``defocus_um``, ``length_px``,
    ``angle_deg``, ``jitter_px``, ``psf_rms_px``, ``photons`` (``inf`` = no shot noise),
    ``read_noise``; parameters that do not apply are 0.0), so ``default_collate`` batches it.

    Example:
        >>> ds = SyntheticPairs(4, crop=32, blur={"kind": "motion", "length_px": 9})
        >>> item = ds[0]
        >>> item["blur"].shape, item["meta"]["blur_kind"], item["meta"]["length_px"]
        (torch.Size([1, 32, 32]), 'motion', 9.0)
    """

    def __init__(
        self,
        n: int,
        crop: int | tuple[int, int] = 128,
        kinds: Sequence[str] = PHANTOM_KINDS,
        blur: Mapping[str, Any] | Sequence[Mapping[str, Any]] | np.ndarray | None = None,
        noise: Mapping[str, Any] | None = None,
        seed: int = 0,
        channels: int = 1,
    ) -> None:
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        crop_hw = (crop, crop) if isinstance(crop, (int, np.integer)) else tuple(crop)
        if len(crop_hw) != 2 or any(int(c) != c or c < 1 for c in crop_hw):
            raise ValueError(f"crop must be a positive int or (h, w), got {crop!r}")
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        bad = [k for k in kinds if k not in PHANTOM_KINDS]
        if not kinds or bad:
            raise ValueError(f"kinds must be a non-empty subset of {PHANTOM_KINDS}, got {kinds!r}")
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if isinstance(channels, bool) or int(channels) != channels or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.n = int(n)
        self.crop = (int(crop_hw[0]), int(crop_hw[1]))
        self.kinds = kinds
        self.blur = _blur_specs(blur)
        self.noise = _noise_spec(noise)
        self.seed = int(seed)
        self.channels = int(channels)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        blur = "fixed PSF" if isinstance(self.blur, np.ndarray) else [b["kind"] for b in self.blur]
        return (f"SyntheticPairs(n={self.n}, crop={self.crop}, kinds={list(self.kinds)}, "
                f"blur={blur}, noise={self.noise}, seed={self.seed})")

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or int(index) != index:
            raise TypeError(f"index must be an integer, got {index!r}")
        i = int(index) + (self.n if index < 0 else 0)
        if not 0 <= i < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        return i

    def _draw_psf(self, rng: np.random.Generator, meta: dict[str, Any]) -> np.ndarray:
        if isinstance(self.blur, np.ndarray):
            meta["blur_kind"] = "fixed"
            return self.blur
        spec = self.blur[int(rng.integers(len(self.blur)))]
        kind = meta["blur_kind"] = spec["kind"]
        if kind == "gaussian":
            meta["sigma_px"] = _draw(rng, spec["sigma_px"], "sigma_px")
            return gaussian_psf(meta["sigma_px"])
        if kind == "defocus":
            meta["defocus_um"] = _draw(rng, spec["defocus_um"], "defocus_um")
            return defocus_psf(meta["defocus_um"], **spec["optics"])
        meta["length_px"] = _draw(rng, spec["length_px"], "length_px")
        meta["angle_deg"] = _draw(rng, spec["angle_deg"], "angle_deg")
        meta["jitter_px"] = _draw(rng, spec["jitter_px"], "jitter_px")
        return motion_psf(
            meta["length_px"], meta["angle_deg"], jitter_px=meta["jitter_px"], rng=rng
        )

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Item ``index`` as numpy: ``(blurred, sharp, meta)``, images float32 ``(h, w)``."""
        i = self._index(index)
        rng = np.random.default_rng([self.seed, i])
        meta: dict[str, Any] = {
            "index": float(i), "kind": "", "blur_kind": "", "sigma_px": 0.0, "defocus_um": 0.0,
            "length_px": 0.0, "angle_deg": 0.0, "jitter_px": 0.0, "psf_rms_px": 0.0,
            "photons": math.inf, "read_noise": 0.0,
        }
        kind = meta["kind"] = self.kinds[int(rng.integers(len(self.kinds)))]
        psf = self._draw_psf(rng, meta)
        meta["psf_rms_px"] = psf_rms_radius(psf)
        my, mx = psf.shape[0] // 2, psf.shape[1] // 2
        h, w = self.crop
        phantom = make_phantom(kind, (h + 2 * my, w + 2 * mx), seed=int(rng.integers(2**63)))
        sharp = phantom[my : my + h, mx : mx + w]
        blurred = blur(phantom, psf, mode="reflect")[my : my + h, mx : mx + w]
        photons = self.noise["photons"]
        if photons is not None:
            photons = _draw(rng, photons, "photons", log=True)
            meta["photons"] = photons
        read_noise = _draw(rng, self.noise["read_noise"], "read_noise")
        meta["read_noise"] = read_noise
        if photons is not None or read_noise > 0:
            blurred = add_poisson_gaussian_noise(
                blurred, photons=photons, read_noise=read_noise, rng=rng
            )
        return blurred.astype(np.float32), np.ascontiguousarray(sharp, np.float32), meta

    def __getitem__(self, index: int) -> dict[str, Any]:
        blurred, sharp, meta = self.sample(index)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a))[None].repeat(self.channels, 1, 1)

        i = int(meta["index"])
        return {
            "blur": tensor(blurred),
            "sharp": tensor(sharp),
            "name": f"synthetic-{self.seed}-{i:06d}",
            "group": meta["kind"],
            "meta": meta,
        }


def synthetic_pairs(
    n: int,
    shape: int | tuple[int, int],
    *,
    kinds: Sequence[str] = PHANTOM_KINDS,
    psf: np.ndarray | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    photons: float | tuple[float, float] | None = None,
    read_noise: float | tuple[float, float] = 0.0,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    """``n`` numpy pairs ``(blurred, sharp, info)`` — :class:`SyntheticPairs` without torch.

    Args:
        n: number of pairs.
        shape: image size, int or ``(H, W)``.
        kinds: phantom kinds to draw from.
        psf: a fixed 2-D PSF, or blur spec(s) as in :class:`SyntheticPairs` (default Gaussian).
        photons: expected photons at intensity 1, a ``(lo, hi)`` range, or ``None``.
        read_noise: read-noise standard deviation or range (intensity units).
        seed: non-negative int; pair ``i`` equals ``SyntheticPairs(..., seed=seed).sample(i)``.

    Returns:
        List of ``(blurred, sharp, info)``: float32 ``(H, W)`` images and the meta dict.

    Example:
        >>> from deblurlab.psf import gaussian_psf
        >>> pairs = synthetic_pairs(2, 32, psf=gaussian_psf(1.5), kinds=["grains"])
        >>> pairs[0][0].shape, pairs[0][2]["kind"]
        ((32, 32), 'grains')
    """
    noise = None
    if photons is not None or read_noise != 0:
        noise = {"photons": photons, "read_noise": read_noise}
    ds = SyntheticPairs(n, crop=shape, kinds=kinds, blur=psf, noise=noise, seed=seed)
    return [ds.sample(i) for i in range(len(ds))]
