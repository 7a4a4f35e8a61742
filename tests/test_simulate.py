"""Degradations, simulated focus series and the embedded synthetic training pairs."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torch.utils.data._utils.collate import default_collate

from deblurlab.phantoms import make_phantom
from deblurlab.psf import defocus_psf, gaussian_psf, motion_psf, optics_preset
from deblurlab.simulate import (
    SimulatedFocusSeries,
    SyntheticPairs,
    add_poisson_gaussian_noise,
    blur,
    degrade,
    focus_series,
    synthetic_pairs,
)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return make_phantom("grains", (72, 88), seed=1)


def _grad_energy(img: np.ndarray) -> float:
    gy, gx = np.gradient(np.asarray(img, np.float64))
    return float((gx**2 + gy**2).mean())


# ---------------------------------------------------------------------------------- blur


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge", "constant", "wrap"])
def test_delta_psf_is_identity(image, mode):
    delta = np.zeros((5, 5), np.float32)
    delta[2, 2] = 1
    np.testing.assert_allclose(blur(image, delta, mode=mode), image, atol=1e-6)
    rgb = np.stack([image, 1 - image, image**2], axis=-1)
    np.testing.assert_allclose(blur(rgb, delta, mode=mode), rgb, atol=1e-6)


@pytest.mark.parametrize(
    "psf",
    [gaussian_psf(2.0), motion_psf(11, 30, jitter_px=1, rng=0),
     defocus_psf(10, **optics_preset("bbbc006-20x"))],
    ids=["gaussian", "motion", "defocus"],
)
def test_blur_preserves_the_mean(image, psf):
    wrapped = blur(image, psf, mode="wrap")  # circular convolution: exact
    assert wrapped.mean() == pytest.approx(image.mean(), abs=1e-5)
    reflected = blur(image, psf)  # borders only approximately
    assert reflected.mean() == pytest.approx(image.mean(), abs=0.02)
    assert wrapped.shape == image.shape and wrapped.dtype == np.float32
    assert _grad_energy(wrapped) < 0.8 * _grad_energy(image)


def test_blur_convolves_rather_than_correlates(image):
    # all mass one pixel right of the centre: a point source must move right
    k = np.zeros((3, 3))
    k[1, 2] = 1.0
    np.testing.assert_allclose(blur(image, k, mode="wrap"), np.roll(image, 1, axis=1), atol=1e-6)
    k = np.zeros((3, 3))
    k[0, 1] = 1.0  # one pixel up
    np.testing.assert_allclose(blur(image, k, mode="wrap"), np.roll(image, -1, axis=0), atol=1e-6)


def test_blur_colour_is_per_channel_and_handles_even_and_large_kernels(image):
    rgb = np.stack([image, 1 - image, image**2], axis=-1)
    psf = gaussian_psf(1.5)
    out = blur(rgb, psf)
    assert out.shape == rgb.shape
    for c in range(3):
        np.testing.assert_allclose(out[..., c], blur(rgb[..., c], psf), atol=1e-6)
    assert blur(image, np.full((4, 4), 1 / 16)).shape == image.shape
    huge = gaussian_psf(30.0)  # kernel larger than the image
    assert huge.shape[0] > image.shape[0]
    out = blur(image, huge)
    assert out.shape == image.shape and np.isfinite(out).all()


def test_blur_validates_inputs(image):
    with pytest.raises(ValueError):
        blur(image, gaussian_psf(1), mode="mirror")
    with pytest.raises(ValueError):
        blur(image[None, None], gaussian_psf(1))
    with pytest.raises(ValueError):
        blur(image, np.ones(3))
    with pytest.raises(ValueError):
        blur(np.full((4, 4), np.nan), gaussian_psf(1))


# --------------------------------------------------------------------------------- noise


@pytest.mark.parametrize("level", [0.2, 0.5, 0.8])
def test_noise_variance_matches_the_poisson_gaussian_model(level):
    photons, read_noise = 100.0, 0.02
    x = np.full((256, 256), level, np.float32)
    y = add_poisson_gaussian_noise(x, photons=photons, read_noise=read_noise, rng=1)
    expected = level / photons + read_noise**2
    assert y.var() == pytest.approx(expected, rel=0.05)
    assert y.mean() == pytest.approx(level, abs=4 * math.sqrt(expected / x.size))


def test_noise_shot_only_read_only_and_none():
    x = np.full((200, 200), 0.4, np.float32)
    shot = add_poisson_gaussian_noise(x, photons=50, rng=0)
    assert shot.var() == pytest.approx(0.4 / 50, rel=0.06)
    # counts are integers: values sit on the 1 / photons lattice
    np.testing.assert_allclose(shot * 50, np.round(shot * 50), atol=1e-4)
    read = add_poisson_gaussian_noise(x, photons=None, read_noise=0.05, rng=0)
    assert read.std() == pytest.approx(0.05, rel=0.05)
    np.testing.assert_array_equal(add_poisson_gaussian_noise(x, photons=None), x)


def test_noise_is_clipped_seeded_and_validated():
    x = np.linspace(0, 1, 4096, dtype=np.float32).reshape(64, 64)
    a = add_poisson_gaussian_noise(x, photons=5, read_noise=0.1, rng=3)
    assert a.min() >= 0 and a.max() <= 1 and a.dtype == np.float32
    again = add_poisson_gaussian_noise(x, photons=5, read_noise=0.1, rng=3)
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, add_poisson_gaussian_noise(x, photons=5, read_noise=0.1, rng=4))
    for bad in ({"photons": 0}, {"photons": -3}, {"photons": None, "read_noise": -0.1}):
        with pytest.raises(ValueError):
            add_poisson_gaussian_noise(x, **bad)


def test_degrade_is_blur_then_noise(image):
    psf = gaussian_psf(1.2)
    np.testing.assert_allclose(degrade(image, psf), blur(image, psf), atol=1e-7)
    noisy = degrade(image, psf, photons=200, read_noise=0.01, rng=5)
    expected = add_poisson_gaussian_noise(blur(image, psf), photons=200, read_noise=0.01, rng=5)
    np.testing.assert_array_equal(noisy, expected)


# -------------------------------------------------------------------------- focus series


def test_focus_series_blur_grows_with_defocus(image):
    dz = [-34.0, -16.0, 0.0, 10.0, 22.0, 34.0]
    s = focus_series(image, dz, optics="bbbc006-20x")
    assert isinstance(s, SimulatedFocusSeries)
    assert s.planes.shape == (len(dz), *image.shape) and s.planes.dtype == np.float32
    np.testing.assert_array_equal(s.defocus_um, dz)
    energy = {z: _grad_energy(p) for z, p in s}
    ordered = [energy[z] for z in (0.0, 10.0, 22.0, 34.0)]
    assert all(b < a for a, b in zip(ordered, ordered[1:])), ordered
    assert energy[-16.0] < energy[0.0] and energy[-34.0] == pytest.approx(energy[34.0], rel=1e-6)
    # the in-focus reference is diffraction-limited: slightly softer than the object itself
    assert _grad_energy(s.reference) < _grad_energy(image)
    np.testing.assert_allclose(s.reference, s.plane(0.0), atol=1e-6)
    assert s.psf(10.0).sum() == pytest.approx(1.0, abs=1e-5)


def test_focus_series_noise_is_seeded_and_optics_validated(image):
    kw = dict(optics=optics_preset("reflected-20x"), photons=300, read_noise=0.01)
    a = focus_series(image, [0, 2, 4], seed=1, **kw)
    b = focus_series(image, [0, 2, 4], seed=1, **kw)
    c = focus_series(image, [0, 2, 4], seed=2, **kw)
    np.testing.assert_array_equal(a.planes, b.planes)
    assert not np.array_equal(a.planes, c.planes)
    with pytest.raises(ValueError, match="optics"):
        focus_series(image, [1.0], optics={"na": 0.5, "wavelength_um": 0.5})
    with pytest.raises(ValueError):
        focus_series(image, [], optics="bbbc006-20x")
    with pytest.raises(KeyError):
        focus_series(image, [1.0], optics="no-such-microscope")


# ------------------------------------------------------------------------ synthetic pairs


def test_synthetic_pairs_are_deterministic_by_index():
    blur_specs = [{"kind": "gaussian"}, {"kind": "motion"}, {"kind": "defocus"}]
    noise = {"photons": (50, 500), "read_noise": (0.0, 0.02)}
    ds = SyntheticPairs(12, crop=40, blur=blur_specs, noise=noise, seed=3)
    late_first = ds[7]  # before any other index: order must not matter
    for i in range(8):
        ds[i]
    again = SyntheticPairs(12, crop=40, blur=blur_specs, noise=noise, seed=3)[7]
    for item in (ds[7], again):
        torch.testing.assert_close(item["blur"], late_first["blur"], rtol=0, atol=0)
        torch.testing.assert_close(item["sharp"], late_first["sharp"], rtol=0, atol=0)
        assert item["meta"] == late_first["meta"]
    other_seed = SyntheticPairs(12, crop=40, blur=blur_specs, noise=noise, seed=4)[7]
    assert not torch.equal(other_seed["sharp"], late_first["sharp"])
    assert not torch.equal(ds[6]["sharp"], ds[7]["sharp"])
    torch.testing.assert_close(ds[-1]["blur"], ds[11]["blur"], rtol=0, atol=0)


def test_synthetic_items_have_the_documented_layout_and_are_blurrier():
    ds = SyntheticPairs(6, crop=(32, 48), blur={"kind": "gaussian", "sigma_px": (1.5, 2.5)})
    for i in range(len(ds)):
        item = ds[i]
        for key in ("blur", "sharp"):
            t = item[key]
            assert t.shape == (1, 32, 48) and t.dtype == torch.float32
            assert 0 <= t.min() and t.max() <= 1
        meta = item["meta"]
        assert all(isinstance(v, (float, str)) for v in meta.values())
        assert meta["blur_kind"] == "gaussian" and 1.5 <= meta["sigma_px"] <= 2.5
        assert item["group"] == meta["kind"] and meta["photons"] == math.inf
        assert _grad_energy(item["blur"][0].numpy()) < _grad_energy(item["sharp"][0].numpy())
    with pytest.raises(IndexError):
        ds[6]


def test_synthetic_items_collate_into_batches():
    ds = SyntheticPairs(5, crop=24, blur=[{"kind": "motion"}, {"kind": "gaussian"}],
                        noise={"photons": 200.0}, channels=3)
    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert batch["blur"].shape == (5, 3, 24, 24)
    assert torch.equal(batch["blur"][:, 0], batch["blur"][:, 1])  # grey repeated
    assert batch["meta"]["psf_rms_px"].shape == (5,)
    assert len(batch["meta"]["kind"]) == 5 and len(batch["name"]) == 5
    default_collate([ds[0], ds[1]])


def test_synthetic_blur_parameters_follow_the_spec():
    fixed = SyntheticPairs(3, crop=32, blur={"kind": "motion", "length_px": 9, "angle_deg": 90,
                                             "jitter_px": 0})
    for i in range(3):
        meta = fixed[i]["meta"]
        assert (meta["length_px"], meta["angle_deg"], meta["jitter_px"]) == (9.0, 90.0, 0.0)
    defocus = SyntheticPairs(4, crop=32, blur={"kind": "defocus", "defocus_um": (20, 30),
                                               "optics": "bbbc006-20x"})
    for i in range(4):
        meta = defocus[i]["meta"]
        assert 20 <= meta["defocus_um"] <= 30 and meta["psf_rms_px"] > 10
    psf = gaussian_psf(1.0)
    arr = SyntheticPairs(2, crop=32, blur=psf)
    assert arr[0]["meta"]["blur_kind"] == "fixed"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"blur": {"kind": "lens"}},
        {"blur": {"kind": "gaussian", "sigma": 2}},  # typo of sigma_px
        {"blur": {"kind": "gaussian", "sigma_px": (3, 1)}},
        {"blur": []},
        {"noise": {"photons": 0}},
        {"noise": {"gain": 2}},
        {"kinds": ["nope"]},
        {"crop": 0},
        {"seed": -1},
    ],
)
def test_synthetic_pairs_reject_bad_specs(kwargs):
    with pytest.raises(ValueError):
        SyntheticPairs(2, **{"crop": 16, **kwargs})


def test_synthetic_pairs_function_matches_the_dataset():
    pairs = synthetic_pairs(3, 32, kinds=["fibres", "grains"], photons=100.0, seed=9)
    ds = SyntheticPairs(3, crop=32, kinds=["fibres", "grains"], noise={"photons": 100.0}, seed=9)
    for i, (blurred, sharp, info) in enumerate(pairs):
        b, s, m = ds.sample(i)
        np.testing.assert_array_equal(blurred, b)
        np.testing.assert_array_equal(sharp, s)
        assert info == m and info["kind"] in ("fibres", "grains")
        assert blurred.shape == sharp.shape == (32, 32)


def test_docstring_examples_run():
    import deblurlab.simulate as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
