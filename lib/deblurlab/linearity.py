"""How linear is a metric in defocus? Scores for paper 000's metric-selection experiment (Fig. 8).

Paper 000 (METHODS §1.8) computes PSNR, SSIM, MS-SSIM, LPIPS, DISTS and PieAPP of every plane
of a focus series against the in-focus plane and keeps the metrics whose curve over the focus
deviation is *linear* (MS-SSIM and DISTS). The paper judges this by eye; here three numbers
make it checkable:

* ``r2`` — coefficient of determination of the least-squares line ``y ≈ a + b·x``
  (1 = exactly linear; invariant to the metric's scale and offset, so PSNR in dB and SSIM in
  [0, 1] are comparable);
* ``spearman_rho`` — Spearman rank correlation of ``x`` and ``y`` (±1 = strictly monotone,
  whatever the shape; its sign says whether the metric rises or falls with defocus);
* ``monotonicity`` — fraction of consecutive steps (sorted by ``x``, within each group, e.g.
  each side of focus) in which ``y`` moves in the trend direction (sign of the fitted slope,
  or ``direction``). Steps with no change count as not monotone.

A metric can be perfectly monotone (rho = ±1) and still far from linear (PSNR's steep drop
near focus gives a low R²); a linear but noisy one has high R² and monotonicity below 1.

Example:
    >>> import numpy as np
    >>> x = np.arange(1.0, 9.0)
    >>> s = linearity_scores(x, 1 - 0.1 * x)
    >>> round(s["r2"], 6), s["spearman_rho"], s["monotonicity"], s["direction"]
    (1.0, -1.0, 1.0, -1)
    >>> s = linearity_scores(x, -np.log(x))       # monotone, but curved
    >>> s["spearman_rho"], round(s["r2"], 3)
    (-1.0, 0.919)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = ["linearity_scores", "linearity_table"]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson correlation of the (tie-averaged) ranks; NaN if either is constant."""
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def linearity_scores(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[Any] | np.ndarray | None = None,
    direction: int | str | None = None,
) -> dict[str, float]:
    """R² of a least-squares line, Spearman rho and monotonicity of ``y`` over ``x``.

    Args:
        x: abscissa, e.g. |defocus| (one value per point).
        y: metric values. Points where ``x`` or ``y`` is not finite (PSNR of identical images is
            ``inf``) are left out; ``n`` in the result counts the points used.
        groups: optional label per point; monotonicity is counted along ``x`` *within* each
            group (pass the side of focus, ``np.sign(defocus)``, so that the two sides of a
            two-sided series are not interleaved). R² and rho always use all points.
        direction: the expected trend, ``+1`` / ``"increasing"`` or ``-1`` / ``"decreasing"``;
            ``None`` takes the sign of the fitted slope.

    Returns:
        dict with ``r2``, ``spearman_rho``, ``monotonicity`` (fraction in [0, 1], NaN when there
        is no step), ``slope``, ``intercept``, ``direction`` (+1 or −1) and ``n``. ``r2`` and
        ``spearman_rho`` are NaN when ``y`` is constant.

    Raises:
        ValueError: different lengths, fewer than 2 usable points, constant ``x``, or an
            unknown ``direction``.

    Example:
        >>> linearity_scores([1, 2, 3, 1, 2, 3], [1, 2, 3, 1, 3, 2], groups=[-1, -1, -1, 1, 1, 1])["monotonicity"]
        0.75
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} vs {y.size}")
    g = np.zeros(x.size, dtype=np.int64) if groups is None else np.asarray(groups).reshape(-1)
    if g.size != x.size:
        raise ValueError(f"groups has {g.size} labels for {x.size} points")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, g = x[keep], y[keep], g[keep]
    if x.size < 2:
        raise ValueError(f"need at least 2 finite points, got {x.size}")
    if np.ptp(x) == 0:
        raise ValueError("x is constant: no line can be fitted")

    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")

    if direction is None:
        sign = 1 if slope >= 0 else -1
    elif direction in (1, "increasing"):
        sign = 1
    elif direction in (-1, "decreasing"):
        sign = -1
    else:
        raise ValueError(f"direction must be +1, -1, 'increasing', 'decreasing' or None, "
                         f"got {direction!r}")

    good = steps = 0
    for label in pd.unique(g):
        sel = g == label
        order = np.argsort(x[sel], kind="stable")
        d = np.diff(y[sel][order])
        steps += d.size
        good += int((sign * d > 0).sum())
    return {
        "r2": r2,
        "spearman_rho": _spearman(x, y),
        "monotonicity": good / steps if steps else float("nan"),
        "slope": float(slope),
        "intercept": float(intercept),
        "direction": sign,
        "n": int(x.size),
    }


def linearity_table(
    values: pd.DataFrame,
    metrics: Sequence[str],
    *,
    x: str = "abs_defocus",
    by: str | Sequence[str] = "series",
    groups: str | None = None,
    directions: dict[str, int | str] | None = None,
) -> pd.DataFrame:
    """:func:`linearity_scores` for every metric column and every ``by`` group of a long table.

    Args:
        values: one row per (series, plane), with the ``x`` column and one column per metric.
        metrics: metric columns to score (columns that are missing or all-NaN are skipped).
        x: the abscissa column.
        by: column(s) whose groups are scored separately (e.g. ``"series"``).
        groups: column passed as ``groups`` (e.g. ``"side"``), or ``None``.
        directions: optional expected trend per metric (e.g. ``{"psnr": -1}``).

    Returns:
        DataFrame indexed by ``(*by, "metric")`` with the keys of :func:`linearity_scores`.

    Example:
        >>> df = pd.DataFrame({"series": ["a"] * 4, "abs_defocus": [1, 2, 3, 4],
        ...                    "psnr": [30, 25, 22, 20], "ssim": [0.9, 0.8, 0.7, 0.6]})
        >>> t = linearity_table(df, ["psnr", "ssim"])
        >>> round(float(t.loc[("a", "ssim"), "r2"]), 6), float(t.loc[("a", "psnr"), "spearman_rho"])
        (1.0, -1.0)
    """
    by = [by] if isinstance(by, str) else list(by)
    directions = directions or {}
    rows = []
    for key, part in values.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            if metric not in part or part[metric].isna().all():
                continue
            scores = linearity_scores(part[x], part[metric],
                                      groups=None if groups is None else part[groups],
                                      direction=directions.get(metric))
            rows.append({**dict(zip(by, key)), "metric": metric, **scores})
    if not rows:
        raise ValueError(f"none of the metric columns {list(metrics)} has values")
    return pd.DataFrame(rows).set_index([*by, "metric"])
