"""Procedural phantoms: determinism, range, variety and real edge content."""

from __future__ import annotations

import doctest
import numpy as np
import pytest

from deblurlab.phantoms import (
    PHANTOM_KINDS,
    calibration_grid,
    fibres,
    grains,
    lines,
    make_phantom,
    particles,
    spots_and_lines,
)

SHAPE = (96, 80)  # non-square on purpose: catches swapped axes


def _gradient_magnitude(img: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(img.astype(np.float64))
    return np.hypot(gx, gy)


def test_kind_list_covers_the_methods_test_images():
    assert {"spots_and_lines", "lines", "crossed_lines", "grains", "calibration_grid"} <= set(
        PHANTOM_KINDS
    )
    assert len(set(PHANTOM_KINDS)) == len(PHANTOM_KINDS)


@pytest.mark.parametrize("kind", PHANTOM_KINDS)
def test_shape_dtype_and_range(kind):
    img = make_phantom(kind, SHAPE, seed=0)
    assert img.shape == SHAPE and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert img.max() - img.min() > 0.3  # real contrast, not a flat field


@pytest.mark.parametrize("kind", PHANTOM_KINDS)
def test_same_seed_same_image_and_different_seeds_differ(kind):
    a = make_phantom(kind, SHAPE, seed=7)
    np.testing.assert_array_equal(a, make_phantom(kind, SHAPE, seed=7))
    assert not np.array_equal(a, make_phantom(kind, SHAPE, seed=8))
    # a Generator works as a seed too, and is deterministic in its own state
    g1 = make_phantom(kind, SHAPE, seed=np.random.default_rng(3))
    g2 = make_phantom(kind, SHAPE, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("kind", PHANTOM_KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_kind_has_sharp_edges(kind, seed):
    mag = _gradient_magnitude(make_phantom(kind, SHAPE, seed=seed))
    assert (mag**2).mean() > 5e-4
    assert (mag > 0.1).mean() > 0.01  # at least 1 % of pixels sit on a strong edge


def test_make_phantom_rejects_unknown_kind_and_bad_shapes():
    with pytest.raises(ValueError, match="unknown phantom kind"):
        make_phantom("nope", 32)
    with pytest.raises(ValueError):
        make_phantom("grains", (0, 32))
    with pytest.raises(ValueError):
        make_phantom("grains", (32, 32, 3))
    assert make_phantom("grains", 40).shape == (40, 40)


def test_grains_have_dark_boundaries_and_several_phases():
    img = grains((128, 128), 20, n_phases=3, boundary_px=2.0, seed=5)
    assert img.min() < 0.15  # etched grooves
    interior = img[_gradient_magnitude(img) < 0.01]
    hist, _ = np.histogram(interior, bins=12, range=(0.2, 1.0))
    assert (hist > 0.02 * interior.size).sum() >= 3  # several distinct grey populations
    no_groove = grains((128, 128), 20, n_phases=3, boundary_px=0.0, seed=5)
    assert no_groove.min() > 0.2


def test_particle_edge_brightening_makes_rims_brighter():
    plain = particles(64, 3, radius_px=12, edge_brightening=0.0, seed=4)
    glow = particles(64, 3, radius_px=12, edge_brightening=1.0, seed=4)
    diff = glow.astype(np.float64) - plain
    assert diff.min() >= -1e-6  # the glow only adds light
    assert diff.max() > 0.2
    with pytest.raises(ValueError):
        particles(64, edge_brightening=1.5)


def test_fibre_width_controls_covered_area():
    thin = fibres(96, 4, width_px=2.0, curvature=0.0, background=0.0, seed=1)
    thick = fibres(96, 4, width_px=8.0, curvature=0.0, background=0.0, seed=1)
    assert (thick > 0.3).mean() > 2.5 * (thin > 0.3).mean()


def test_spots_and_lines_are_brighter_and_darker_than_mid_grey():
    img = spots_and_lines((128, 128), 30, 4, seed=2)
    values, counts = np.unique(np.round(img, 3), return_counts=True)
    assert values[counts.argmax()] == pytest.approx(0.5, abs=1e-3)  # background dominates
    assert (img < 0.4).mean() > 0.01 and (img > 0.6).mean() > 0.01


def test_lines_one_direction_is_constant_along_the_lines():
    horizontal = lines((64, 48), 1, pitch_px=10, width_px=3, angle_deg=0, seed=0)
    assert horizontal.std(axis=1).max() < 1e-6  # each row constant
    assert horizontal.std(axis=0).min() > 0.05
    vertical = lines((64, 48), 1, pitch_px=10, width_px=3, angle_deg=90, seed=0)
    assert vertical.std(axis=0).max() < 1e-6
    crossed = lines((64, 48), 2, pitch_px=10, width_px=3, angle_deg=0, seed=0)
    assert crossed.std(axis=1).max() > 0.05  # the second family breaks the rows
    with pytest.raises(ValueError):
        lines(32, 3)
    with pytest.raises(ValueError):
        lines(32, 1, pitch_px=3, width_px=4)


def test_calibration_grid_is_periodic_with_the_right_line_fraction():
    pitch, width = 12, 3
    g = calibration_grid((96, 96), pitch, width)
    np.testing.assert_allclose(g[:-pitch], g[pitch:], atol=1e-6)
    np.testing.assert_allclose(g[:, :-pitch], g[:, pitch:], atol=1e-6)
    line_fraction = (0.9 - g.mean()) / (0.9 - 0.1)
    assert line_fraction == pytest.approx(1 - (1 - width / pitch) ** 2, abs=0.01)
    with pytest.raises(ValueError):
        calibration_grid(32, 4, 4)


def test_docstring_examples_run():
    import deblurlab.phantoms as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
