"""Point-spread functions: normalisation, centring, and the physics they must reproduce."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy.special import j1

from deblurlab.psf import (
    OPTICS_PRESETS,
    PRESET_NOTES,
    defocus_blur_radius_um,
    defocus_psf,
    gaussian_psf,
    motion_psf,
    optics_preset,
    pillbox_psf,
    psf_rms_radius,
)

REFLECTED = optics_preset("reflected-20x")
BBBC = optics_preset("bbbc006-20x")


def _moments(p: np.ndarray) -> tuple[float, float, float, float, float]:
    """Centroid (row, col) and central second moments var_row, var_col, cov(col, row)."""
    p = p.astype(np.float64) / p.sum()
    yy, xx = np.indices(p.shape)
    cy, cx = (p * yy).sum(), (p * xx).sum()
    return (cy, cx, (p * (yy - cy) ** 2).sum(), (p * (xx - cx) ** 2).sum(),
            (p * (xx - cx) * (yy - cy)).sum())


BUILDERS = {
    "gaussian": lambda: gaussian_psf(1.7),
    "gaussian-aniso": lambda: gaussian_psf((0.8, 2.5)),
    "pillbox": lambda: pillbox_psf(4.3),
    "defocus-0": lambda: defocus_psf(0.0, **REFLECTED),
    "defocus-5": lambda: defocus_psf(5.0, **REFLECTED),
    "defocus-paraxial": lambda: defocus_psf(-3.0, paraxial=True, **BBBC),
    "motion": lambda: motion_psf(12.5, 30.0),
    "motion-jitter": lambda: motion_psf(15, 100.0, jitter_px=1.5, rng=3),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_psf_is_normalised_odd_square_and_centred(name):
    k = BUILDERS[name]()
    assert k.dtype == np.float32 and k.ndim == 2
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert k.min() >= 0
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    cy, cx, *_ = _moments(k)
    c = k.shape[0] // 2
    assert cy == pytest.approx(c, abs=0.05) and cx == pytest.approx(c, abs=0.05)


def test_gaussian_width_matches_sigma_including_pixel_integration():
    sigma = 2.0
    _, _, vy, vx, _ = _moments(gaussian_psf(sigma))
    # pixel integration adds the variance of a unit box, 1/12
    assert vy == pytest.approx(sigma**2 + 1 / 12, rel=0.01)
    assert vx == pytest.approx(sigma**2 + 1 / 12, rel=0.01)
    _, _, vy, vx, _ = _moments(gaussian_psf((1.0, 3.0)))
    assert vy == pytest.approx(1 + 1 / 12, rel=0.02) and vx == pytest.approx(9 + 1 / 12, rel=0.02)


def test_zero_width_kernels_are_deltas():
    for k in (gaussian_psf(0.0), pillbox_psf(0.0), motion_psf(0.0)):
        assert k.shape == (1, 1) and k[0, 0] == 1.0
    k = gaussian_psf(0.0, size=5)
    assert k[2, 2] == 1.0 and k.sum() == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: gaussian_psf(-1.0),
        lambda: gaussian_psf(1.0, size=4),
        lambda: gaussian_psf((1.0, 2.0, 3.0)),
        lambda: pillbox_psf(float("nan")),
        lambda: motion_psf(-2),
        lambda: motion_psf(20, size=5),
        lambda: defocus_psf(1.0, na=1.2, wavelength_um=0.5, pixel_size_um=0.1),  # NA > n (air)
        lambda: defocus_psf(1.0, na=0.5, wavelength_um=0.0, pixel_size_um=0.1),
        lambda: defocus_psf(1.0, oversample=0, **REFLECTED),
        lambda: defocus_psf(float("inf"), **REFLECTED),
    ],
)
def test_invalid_arguments_raise(call):
    with pytest.raises(ValueError):
        call()


def test_pillbox_area_and_width_match_the_disk():
    r = 6.0
    k = pillbox_psf(r)
    assert k.shape == (13, 13)
    # fully covered pixels hold 1 / area each (edge pixels hold their covered fraction)
    assert 1 / k.max() == pytest.approx(math.pi * r * r, rel=0.02)
    assert np.count_nonzero(k == k.max()) > 0.7 * math.pi * r * r
    # uniform disk: RMS radius r / sqrt(2)
    assert psf_rms_radius(k) == pytest.approx(r / math.sqrt(2), rel=0.03)


def test_in_focus_defocus_psf_is_the_airy_pattern():
    na, lam, px = 0.5, 0.5, 0.02
    k = defocus_psf(0.0, na=na, wavelength_um=lam, pixel_size_um=px, oversample=1).astype(float)
    c = k.shape[0] // 2
    profile = k[c, c:] / k[c, c]
    r_um = np.arange(profile.size) * px
    first_min = r_um[np.argmax(np.diff(profile) > 0)]
    assert first_min == pytest.approx(0.61 * lam / na, rel=0.04)
    v = 2 * np.pi * na / lam * np.maximum(r_um, 1e-12)
    airy = (2 * j1(v) / v) ** 2
    near = r_um < 3 * lam / na
    assert np.abs(profile[near] - airy[near]).max() < 0.01


def test_defocus_psf_widens_monotonically_with_defocus():
    dz = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    rms = [psf_rms_radius(defocus_psf(z, size=101, **REFLECTED)) for z in dz]
    assert all(b > a for a, b in zip(rms, rms[1:])), rms
    # and the kernel grows to hold the blur disk
    assert defocus_psf(8.0, **REFLECTED).shape[0] > defocus_psf(0.0, **REFLECTED).shape[0]


def test_defocus_psf_is_symmetric_in_the_sign_of_defocus():
    np.testing.assert_allclose(defocus_psf(3.0, **BBBC), defocus_psf(-3.0, **BBBC), atol=1e-7)


@pytest.mark.parametrize("dz", [10.0, 20.0, 34.0])
def test_large_defocus_approaches_the_geometric_disk(dz):
    radius_px = defocus_blur_radius_um(dz, na=BBBC["na"]) / BBBC["pixel_size_um"]
    rms = psf_rms_radius(defocus_psf(dz, **BBBC))
    assert rms == pytest.approx(radius_px / math.sqrt(2), rel=0.1)


def test_paraxial_phase_agrees_at_low_na_and_underestimates_blur_at_high_na():
    low = dict(na=0.15, wavelength_um=0.5, pixel_size_um=0.1, size=151)
    exact, parax = defocus_psf(20.0, **low), defocus_psf(20.0, paraxial=True, **low)
    assert np.abs(exact - parax).max() < 0.02 * exact.max()
    high = dict(na=1.2, wavelength_um=0.5, pixel_size_um=0.05, refractive_index=1.515, size=201)
    # geometric radius: exact ∝ tan θ, paraxial ∝ sin θ
    assert psf_rms_radius(defocus_psf(2.0, **high)) > 1.15 * psf_rms_radius(
        defocus_psf(2.0, paraxial=True, **high)
    )


def test_defocus_blur_radius_um_geometry():
    # oil immersion 1.4 / 1.515: tan(asin(0.924)) = 2.418
    assert defocus_blur_radius_um(1.0, na=1.4, refractive_index=1.515) == pytest.approx(
        2.418, rel=1e-3
    )
    assert defocus_blur_radius_um(-10.0, na=0.45) == defocus_blur_radius_um(10.0, na=0.45)
    with pytest.raises(ValueError):
        defocus_blur_radius_um(1.0, na=1.0)


@pytest.mark.parametrize("angle, axis", [(0.0, "x"), (90.0, "y"), (180.0, "x"), (-90.0, "y")])
def test_motion_length_sets_the_extent_along_the_angle(angle, axis):
    length = 21.0
    _, _, vy, vx, _ = _moments(motion_psf(length, angle))
    along, across = (vx, vy) if axis == "x" else (vy, vx)
    # uniform segment: variance L² / 12 (bilinear splatting adds < 0.25 px²)
    assert math.sqrt(12 * along) == pytest.approx(length, abs=0.7)
    assert across < 0.05


def test_motion_angle_rotates_the_kernel():
    # rows grow downwards: 45° runs up-right (col up, row down), 135° up-left
    *_, cov45 = _moments(motion_psf(15, 45))
    *_, cov135 = _moments(motion_psf(15, 135))
    assert cov45 < -5 and cov135 > 5
    np.testing.assert_allclose(motion_psf(15, 30), np.fliplr(motion_psf(15, 150)), atol=1e-6)


def test_motion_sub_pixel_lengths_are_anti_aliased():
    a, b = motion_psf(4.0), motion_psf(4.5)
    assert a.shape == b.shape
    assert psf_rms_radius(b) > psf_rms_radius(a)  # half a pixel longer is visible


def test_motion_jitter_is_seeded_and_bends_the_path():
    a = motion_psf(20, 0, jitter_px=2.0, rng=1)
    b = motion_psf(20, 0, jitter_px=2.0, rng=1)
    c = motion_psf(20, 0, jitter_px=2.0, rng=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)
    _, _, vy, _, _ = _moments(a)
    assert vy > 0.1  # left the straight horizontal line
    np.testing.assert_array_equal(motion_psf(20, 0, jitter_px=0.0, rng=1), motion_psf(20, 0))


def test_optics_presets_are_usable_and_documented():
    for name in OPTICS_PRESETS:
        optics = optics_preset(name)
        assert set(optics) == {"na", "wavelength_um", "pixel_size_um", "refractive_index"}
        assert 0 < optics["na"] < optics["refractive_index"]
        assert name in PRESET_NOTES
        k = defocus_psf(2.0, **optics)
        assert k.sum() == pytest.approx(1.0, abs=1e-5)
    p = optics_preset("bbbc006-20x")
    p["na"] = 99.0  # a copy: the registry is untouched
    assert optics_preset("bbbc006-20x")["na"] == 0.45
    with pytest.raises(KeyError, match="known"):
        optics_preset("nope")


def test_psf_rms_radius():
    assert psf_rms_radius(np.pad(np.ones((1, 1)), 3)) == 0.0
    assert psf_rms_radius(gaussian_psf(3.0)) == pytest.approx(math.sqrt(2 * (9 + 1 / 12)), 1e-3)
    with pytest.raises(ValueError):
        psf_rms_radius(np.zeros((3, 3)))


def test_docstring_examples_run():
    import deblurlab.psf as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
