"""deblurlab.spectra: axes, peaks of known signals, Parseval, radial PSD, artifact measure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from deblurlab import spectra as S
from deblurlab.arrays import to_grey


def _smooth_image(shape=(128, 128), seed=0):
    rng = np.random.default_rng(seed)
    img = gaussian_filter(rng.random(shape), 2.0)
    return (img - img.min()) / (img.max() - img.min())


def _period4_artifact(shape, amp=0.01):
    """Period-4 pattern with energy on both axes (±0.25, 0), (0, ±0.25) and the diagonals."""
    s = np.array([1.0, 1.0, -1.0, -1.0])
    sy = np.resize(s, shape[0])[:, None]
    sx = np.resize(s, shape[1])[None, :]
    return amp * (sx + sy + sx * sy)


def test_frequency_axis():
    expected = [-0.5, -0.375, -0.25, -0.125, 0, 0.125, 0.25, 0.375]
    np.testing.assert_array_equal(S.frequency_axis(8), expected)
    odd = S.frequency_axis(5)
    assert odd[2] == 0 and np.isclose(odd[-1], 0.4)
    with pytest.raises(ValueError):
        S.frequency_axis(0)


@pytest.mark.parametrize("direction", ["horizontal", "vertical"])
def test_cosine_at_quarter_frequency_peaks_exactly_at_pm_025(direction):
    h, w = 64, 96
    y, x = np.mgrid[:h, :w]
    coord = x if direction == "horizontal" else y
    amp = 0.3
    img = 0.5 + amp * np.cos(2 * np.pi * 0.25 * coord)
    spec, fy, fx = S.magnitude_spectrum_db(img)
    assert spec.shape == (h, w) and fy.shape == (h,) and fx.shape == (w,)
    spec_no_dc = spec.copy()
    spec_no_dc[h // 2, w // 2] = -np.inf
    top2 = np.argsort(spec_no_dc.ravel())[-2:]
    iy, ix = np.unravel_index(top2, spec.shape)
    if direction == "horizontal":
        assert sorted(fx[ix].tolist()) == [-0.25, 0.25] and set(fy[iy].tolist()) == {0.0}
    else:
        assert sorted(fy[iy].tolist()) == [-0.25, 0.25] and set(fx[ix].tolist()) == {0.0}
    # |F| at the peak = amp·H·W/2; DC = 0.5·H·W
    expected = 20 * np.log10(amp * h * w / 2)
    on_axis = S.db_at_frequency(spec, fy, fx, 0.25, axis=direction)
    assert on_axis == pytest.approx(expected, abs=1e-6)
    assert spec[h // 2, w // 2] == pytest.approx(20 * np.log10(0.5 * h * w), abs=1e-6)
    other = "vertical" if direction == "horizontal" else "horizontal"
    off_axis = S.db_at_frequency(spec, fy, fx, 0.25, axis=other)
    assert off_axis < -100  # only eps there
    both = S.db_at_frequency(spec, fy, fx, 0.25, axis="both")
    assert both == pytest.approx(0.5 * (expected + off_axis))


def test_line_profiles_are_centre_row_and_column():
    for shape in [(16, 12), (15, 17)]:
        img = np.random.default_rng(1).random(shape)
        spec, fy, fx = S.magnitude_spectrum_db(img)
        prof = S.line_profiles(spec, fy, fx)
        f_h, row = prof["horizontal"]
        f_v, col = prof["vertical"]
        np.testing.assert_array_equal(f_h, fx)
        np.testing.assert_array_equal(f_v, fy)
        np.testing.assert_array_equal(row, spec[shape[0] // 2])
        np.testing.assert_array_equal(col, spec[:, shape[1] // 2])
        assert fy[shape[0] // 2] == 0 and fx[shape[1] // 2] == 0
    with pytest.raises(ValueError, match="does not match"):
        S.line_profiles(spec, fx, fy)


def test_psd_parseval_and_window():
    rng = np.random.default_rng(2)
    img = rng.random((48, 40))
    p = S.psd(img)
    assert p.shape == img.shape
    assert p.sum() == pytest.approx((img**2).sum(), rel=1e-10)
    assert p[24, 20] == pytest.approx(img.sum() ** 2 / img.size, rel=1e-10)  # DC at the centre
    hann = np.outer(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(48) / 48),
                    0.5 - 0.5 * np.cos(2 * np.pi * np.arange(40) / 40))
    assert S.psd(img, window="hann").sum() == pytest.approx(((img * hann) ** 2).sum(), rel=1e-10)
    rgb = rng.random((16, 16, 3)).astype(np.float32)
    assert S.psd(rgb).sum() == pytest.approx((to_grey(rgb).astype(np.float64) ** 2).sum(), rel=1e-6)
    np.testing.assert_allclose(S.to_db(np.array([1.0, 10.0, 1000.0])), [0, 10, 30], atol=1e-9)


def test_radial_psd_of_white_noise_is_flat_and_of_smooth_noise_falls():
    rng = np.random.default_rng(3)
    sigma = 0.5
    freqs, values = S.radial_psd(sigma * rng.standard_normal((128, 128)), nbins=16)
    assert freqs.shape == values.shape == (16,)
    np.testing.assert_allclose(freqs, (np.arange(16) + 0.5) / 32)
    assert np.all(np.abs(values / sigma**2 - 1) < 0.15)
    assert np.mean(values) == pytest.approx(sigma**2, rel=0.05)
    _, smooth = S.radial_psd(gaussian_filter(rng.standard_normal((128, 128)), 2.0), nbins=16)
    assert np.all(np.diff(smooth[1:]) < 0)
    assert smooth[-1] < 1e-3 * smooth[1]


def test_radial_average_bins():
    ones = np.ones((32, 32))
    f, v = S.radial_average(ones)
    assert len(f) == 16 and np.all(v == 1.0)  # corners beyond 0.5 left out, no empty ring
    f, v = S.radial_average(ones, nbins=200)
    assert np.isnan(v).any()  # finer than the grid → empty rings are NaN, not 0


def test_excess_db_of_period4_artifact():
    ref = _smooth_image()
    restored = ref + _period4_artifact(ref.shape)
    ex = S.excess_db(restored, ref)
    assert ex.f == 0.25 and ex.axis == "both"
    assert set(ex.sides) == {"horizontal_neg", "horizontal_pos", "vertical_neg", "vertical_pos"}
    assert all(v > 3.0 for v in ex.sides.values())
    assert float(ex) == pytest.approx(np.mean(list(ex.sides.values())))
    # a real image has a Hermitian spectrum: both sides agree
    assert ex.sides["horizontal_neg"] == pytest.approx(ex.sides["horizontal_pos"])
    for k, v in ex.sides.items():
        assert v == pytest.approx(ex.restored_db[k] - ex.reference_db[k])
    same = S.excess_db(ref, ref)
    assert same.db == 0.0 and all(v == 0.0 for v in same.sides.values())
    # nothing at a frequency the artifact does not touch
    assert abs(S.excess_db(restored, ref, f=0.125).db) < 0.5
    vertical = S.excess_db(restored, ref, axis="vertical")
    assert set(vertical.sides) == {"vertical_neg", "vertical_pos"}


def test_find_peaks_db():
    ref = _smooth_image(seed=4)
    restored = ref + _period4_artifact(ref.shape)
    peaks = S.find_peaks_db(restored, ref, min_excess_db=3)
    assert list(peaks.columns) == ["axis", "freq", "excess_db", "restored_db", "reference_db"]
    quarter = peaks[np.isclose(peaks["freq"], 0.25)]
    assert set(quarter["axis"]) == {"horizontal", "vertical"}
    assert (quarter["excess_db"] >= 3).all()
    assert (peaks["freq"] > 0).all()
    assert peaks["excess_db"].is_monotonic_decreasing
    assert len(S.find_peaks_db(ref, ref)) == 0
    assert len(S.find_peaks_db(restored, ref, min_excess_db=200)) == 0


def test_dataset_psd_cropping_and_average():
    rng = np.random.default_rng(5)
    a, b = rng.random((40, 50)), rng.random((36, 64))
    avg = S.dataset_psd([a, b], crop=1024)
    assert avg.shape == (36, 36)  # smaller than the default 1024: the smallest side wins
    ca, cb = a[2:38, 7:43], b[:, 14:50]
    np.testing.assert_allclose(avg, 0.5 * (S.psd(ca) + S.psd(cb)), rtol=1e-12)
    assert S.dataset_psd([a, b], crop=16).shape == (16, 16)
    with pytest.raises(ValueError, match="differ in size"):
        S.dataset_psd([a, b], crop=None)
    same = S.dataset_psd([a, a[::-1]], crop=None)
    np.testing.assert_allclose(same, 0.5 * (S.psd(a) + S.psd(a[::-1])), rtol=1e-12)
    rgb = rng.random((20, 20, 3)).astype(np.float32)
    np.testing.assert_allclose(S.dataset_psd([rgb]), S.psd(to_grey(rgb)), rtol=1e-6)
    with pytest.raises(ValueError, match="no images"):
        S.dataset_psd([])


def test_validation():
    img = _smooth_image((32, 32))
    bad = img.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        S.magnitude_spectrum_db(bad)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        S.psd(np.zeros((2, 8, 8, 1)))
    with pytest.raises(TypeError, match="dtype"):
        S.psd(np.zeros((8, 8), dtype=complex))
    with pytest.raises(ValueError, match="window"):
        S.psd(img, window="hamming")
    with pytest.raises(ValueError, match="shape mismatch"):
        S.excess_db(img, img[:, :30])
    spec, fy, fx = S.magnitude_spectrum_db(img)
    with pytest.raises(ValueError, match="axis"):
        S.db_at_frequency(spec, fy, fx, 0.25, axis="diagonal")
    with pytest.raises(ValueError, match="f must be"):
        S.db_at_frequency(spec, fy, fx, 0.75)
