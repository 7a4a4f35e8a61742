"""deblurlab.linearity: R², Spearman rho and monotonicity of a metric over defocus."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deblurlab import linearity as linearity_module
from deblurlab.linearity import linearity_scores, linearity_table


def test_doctests():
    assert doctest.testmod(linearity_module).failed == 0


def test_exact_line_any_scale_and_sign():
    x = np.linspace(0.5, 13.0, 29)
    for a, b in ((0.0, 1.0), (40.0, -2.5), (1e-3, 1e-5)):
        s = linearity_scores(x, a + b * x)
        assert s["r2"] == pytest.approx(1.0, abs=1e-12)
        assert s["spearman_rho"] == pytest.approx(np.sign(b))
        assert s["monotonicity"] == 1.0
        assert s["slope"] == pytest.approx(b)
        assert s["intercept"] == pytest.approx(a, abs=1e-9)
        assert s["direction"] == np.sign(b)
        assert s["n"] == 29


def test_r2_matches_squared_pearson_and_rho_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 40)
    y = np.exp(-0.3 * x) + 0.05 * rng.normal(size=40)
    s = linearity_scores(x, y)
    assert s["r2"] == pytest.approx(stats.pearsonr(x, y)[0] ** 2, rel=1e-10)
    assert s["spearman_rho"] == pytest.approx(stats.spearmanr(x, y)[0], rel=1e-10)


def test_spearman_with_ties_matches_scipy():
    x = np.array([1, 1, 2, 2, 3, 3, 4, 4], float)
    y = np.array([5, 4, 4, 3, 3, 3, 1, 2], float)
    assert linearity_scores(x, y)["spearman_rho"] == pytest.approx(stats.spearmanr(x, y)[0])


def test_monotone_but_curved_is_rho_one_r2_below_one():
    x = np.arange(1.0, 30.0)
    s = linearity_scores(x, -20 * np.log10(x))  # PSNR-like: steep near focus
    assert s["spearman_rho"] == pytest.approx(-1.0)
    assert s["monotonicity"] == 1.0
    assert s["r2"] < 0.9


def test_saturating_curve_scores_lower_than_line():
    x = np.linspace(0, 10, 30)
    line = linearity_scores(x, x)["r2"]
    saturating = linearity_scores(x, 1 - np.exp(-x))["r2"]
    assert saturating < line


def test_monotonicity_counts_steps_against_the_trend():
    x = np.arange(6.0)
    y = np.array([0, 1, 2, 1.5, 4, 5])  # one step of five goes down
    assert linearity_scores(x, y)["monotonicity"] == pytest.approx(4 / 5)
    # a flat step is not monotone
    assert linearity_scores(x, [0, 1, 1, 2, 3, 4])["monotonicity"] == pytest.approx(4 / 5)


def test_monotonicity_within_groups_does_not_interleave_sides():
    # both sides decrease smoothly, but with an offset between sides: interleaved by |x| they
    # would zig-zag; within each side every step goes down.
    d = np.array([-3, -2, -1, 1, 2, 3], float)
    y = np.where(d < 0, 1.0, 0.9) - 0.1 * np.abs(d)
    pooled = linearity_scores(np.abs(d), y)["monotonicity"]
    per_side = linearity_scores(np.abs(d), y, groups=np.sign(d))["monotonicity"]
    assert per_side == 1.0
    assert pooled < 1.0


def test_explicit_direction_overrides_slope():
    x = np.arange(5.0)
    s = linearity_scores(x, x, direction="decreasing")
    assert s["direction"] == -1 and s["monotonicity"] == 0.0
    assert linearity_scores(x, x, direction=1)["monotonicity"] == 1.0
    with pytest.raises(ValueError, match="direction"):
        linearity_scores(x, x, direction="up")


def test_non_finite_points_are_dropped():
    x = np.array([0.0, 1, 2, 3, np.nan])
    y = np.array([np.inf, 30, 25, 20, 10])  # PSNR of the reference with itself is inf
    s = linearity_scores(x, y)
    assert s["n"] == 3
    assert s["r2"] == pytest.approx(1.0)


def test_constant_y_gives_nan_scores_not_an_error():
    s = linearity_scores([1, 2, 3], [0.5, 0.5, 0.5])
    assert np.isnan(s["r2"]) and np.isnan(s["spearman_rho"])
    assert s["monotonicity"] == 0.0


@pytest.mark.parametrize("x, y, kw, match", [
    ([1, 2, 3], [1, 2], {}, "length"),
    ([1], [1], {}, "at least 2"),
    ([1, np.nan], [1, 2], {}, "at least 2"),
    ([2, 2, 2], [1, 2, 3], {}, "constant"),
    ([1, 2, 3], [1, 2, 3], {"groups": [0, 1]}, "groups"),
])
def test_bad_input_raises(x, y, kw, match):
    with pytest.raises(ValueError, match=match):
        linearity_scores(x, y, **kw)


def test_linearity_table_groups_metrics_and_skips_missing():
    d = np.array([-2, -1, 1, 2, 3], float)
    df = pd.DataFrame({"abs_defocus": np.abs(np.r_[d, d]), "side": np.sign(np.r_[d, d]),
                       "series": ["a"] * 5 + ["b"] * 5,
                       "psnr": np.r_[40 - 5 * np.abs(d), 30 - np.abs(d) ** 2],
                       "lpips": np.nan})
    t = linearity_table(df, ["psnr", "ssim", "lpips"], groups="side", directions={"psnr": -1})
    assert list(t.index) == [("a", "psnr"), ("b", "psnr")]
    assert t.loc[("a", "psnr"), "r2"] == pytest.approx(1.0)
    assert t.loc[("b", "psnr"), "r2"] < 1.0
    assert (t["monotonicity"] == 1.0).all()
    assert (t["n"] == 5).all()
    with pytest.raises(ValueError, match="none of the metric"):
        linearity_table(df, ["lpips"])
