# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 14 · Paper 003 — does Q fall with defocus on real microscope focus series?
#
# Paper 003 uses the Zhu–Milanfar sharpness **Q** as a training signal for *defocus* deblurring:
# the loss `L_φ − β·Q` pushes the network's output towards higher Q. That only makes sense if Q
# really measures focus — if it falls steadily as an image goes out of focus, whatever the
# content. The paper shows Q on natural images; here we ask the same of real microscope focus
# series, where the sharp plane and the defocus of every other plane are known:
#
# * `dfnn-lightsheet` — light-sheet fluorescence, 30 planes, ±0.75 µm in 0.05 µm steps;
# * `reflected-focus` — reflected light on a wafer, two fields, up to ±47 µm;
# * `smear-focus` — a brightfield smear, ±9 focus steps.
#
# Without real data a simulated series (a grain microstructure through a 20×/0.5 objective,
# 0.455 µm steps, noise-free) stands in. For every plane we compute
#
# * **Q** of the plane alone (no reference; 8×8 patches, [0, 1] intensities),
# * **PSNR** and **Ω** of the plane against the in-focus plane of its series,
#
# and score each against |defocus| with `deblurlab.linearity.linearity_scores`: Spearman ρ
# (−1 = strictly falling), the fraction of steps in which the value falls as expected
# (monotonicity, counted on each side of focus separately) and R² of a straight line.
#
# **Running it.** No training. `smoke` scores 192-px crops of at most 5 planes per series,
# `quick` 384-px crops of every plane, `paper` whole images.

# %% tags=["parameters"]
PROFILE = "quick"     # "smoke" (tests) | "quick" (laptop, about a minute) | "paper" (whole images)
DATA_DIR = ""         # folder with the real data sets, "": $DEBLURLAB_DATA (simulated series only if unset)
REAL_SERIES = ["dfnn-lightsheet", "reflected-focus", "smear-focus"]  # real series used when present
Q_PATCH = 8           # patch size of Q (Zhu–Milanfar: 8)
MIN_CONTRAST = 0.02   # a reference crop with a smaller std has no structure to lose: flagged
SEED = 0              # seed of the simulated object

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import focus, metrics, phantoms, sharpness, simulate
from deblurlab.arrays import centre_crop, to_grey
from deblurlab.linearity import linearity_scores
from deblurlab.plotting import save_figure, save_table

SETTINGS = {"smoke": dict(size=192, max_planes=5), "quick": dict(size=384, max_planes=None),
            "paper": dict(size=None, max_planes=None)}
if PROFILE not in SETTINGS:
    raise ValueError(f"PROFILE must be one of {sorted(SETTINGS)}, got {PROFILE!r}")
S = SETTINGS[PROFILE]


def crop(image):
    """Grey centre crop of side S["size"] (whole image for `paper`), cut to a multiple of 16 for Ω."""
    grey = to_grey(image)
    h, w = grey.shape if S["size"] is None else (min(S["size"], grey.shape[0]), min(S["size"], grey.shape[1]))
    return centre_crop(grey, (h // 16 * 16, w // 16 * 16))


def kept(n):
    """Indices of at most max_planes planes spread evenly over a series of n."""
    m = S["max_planes"]
    return np.arange(n) if m is None or n <= m else np.unique(np.linspace(0, n - 1, m).round().astype(int))


series = {}  # name → (kind, unit, [(defocus, plane crop, reference crop)])
sim_object = phantoms.make_phantom("grains", (S["size"] or 768,) * 2, seed=SEED)
sim = simulate.focus_series(sim_object, 0.455 * np.arange(1, 30)[kept(29)], optics="reflected-20x", seed=SEED)
series["simulated"] = ("simulated grains, 20×/0.5, noise-free", "µm",
                       [(float(d), crop(p), crop(sim.reference)) for d, p in sim])
for name, (kind, fs) in focus.available_real_series(REAL_SERIES).items():
    series[name] = (kind, fs.unit, [(float(fs.defocus[i]), crop(fs.planes[i]), crop(fs.reference_of(int(i))))
                                    for i in kept(len(fs))])
print("series:", ", ".join(f"{n} ({len(e)} planes)" for n, (_, _, e) in series.items()))

# %% [markdown]
# ## 1 · Q, PSNR and Ω of every plane
#
# The in-focus reference itself gets its own Q too (defocus 0): it is the value every plane is
# compared with in the plots.

# %%
rows = []
for name, (kind, unit, entries) in series.items():
    ref = entries[0][2]
    rows.append({"series": name, "defocus": 0.0, "unit": unit, "q": sharpness.metric_q(ref, patch=Q_PATCH),
                 "psnr": np.nan, "omega": np.nan, "ref_std": float(ref.std())})
    for d, plane, ref in entries:
        rows.append({"series": name, "defocus": d, "unit": unit,
                     "q": sharpness.metric_q(plane, patch=Q_PATCH),
                     "psnr": metrics.psnr(plane, ref, data_range=1.0),
                     "omega": sharpness.omega(plane, ref), "ref_std": float(ref.std())})
planes = pd.DataFrame(rows)
planes["abs_defocus"] = planes["defocus"].abs()
save_table(planes.round(5), "14_q_per_plane")
planes.groupby("series", sort=False)[["q", "psnr", "omega"]].agg(["min", "max"]).round(3)

# %% [markdown]
# ## 2 · Q, PSNR and Ω against |defocus|
#
# Filled markers: planes above focus (+), open markers: below (−). A focus measure should fall
# on both sides.

# %%
names = list(series)
fig, axes = plt.subplots(3, len(names), figsize=(3.4 * len(names), 8), squeeze=False)
for j, name in enumerate(names):
    g = planes[planes["series"] == name]
    for i, (col, label) in enumerate([("q", f"Q ({Q_PATCH}×{Q_PATCH})"), ("psnr", "PSNR (dB)"), ("omega", "Ω")]):
        ax = axes[i, j]
        for side, fill in ((1, True), (-1, False)):
            s = g[np.sign(g["defocus"]) == side].sort_values("abs_defocus")
            ax.plot(s["abs_defocus"], s[col], "o-", ms=4, lw=1, color="C0" if side > 0 else "C1",
                    mfc=None if fill else "none", label="above" if side > 0 else "below")
        if col == "q":
            ax.axhline(g.loc[g["defocus"] == 0, "q"].iloc[0], color="k", ls=":", lw=1, label="in focus")
        ax.set(ylabel=label)
        if i == 0:
            ax.set_title(f"{name}\n({series[name][0]})", fontsize=9)
        if i == 2:
            ax.set_xlabel(f"|defocus| ({series[name][1]})")
axes[0, 0].legend(fontsize=7)
save_figure(fig, "14_q_vs_defocus");

# %% [markdown]
# ## 3 · Is each curve monotone?
#
# Expected direction: all three fall with |defocus|. `falling steps` is the fraction of steps
# (ordered by |defocus| on each side of focus) in which the value falls — 1 is perfectly
# monotone.

# %%
score_rows = []
for name in names:
    g = planes[(planes["series"] == name) & (planes["defocus"] != 0)]
    for col in ("q", "psnr", "omega"):
        sc = linearity_scores(g["abs_defocus"], g[col], groups=np.sign(g["defocus"]), direction=-1)
        score_rows.append({"series": name, "metric": col, "spearman_rho": sc["spearman_rho"],
                           "falling steps": sc["monotonicity"], "r2": sc["r2"], "n": sc["n"],
                           "structured": bool(g["ref_std"].iloc[0] >= MIN_CONTRAST)})
scores = pd.DataFrame(score_rows)
save_table(scores.round(3), "14_monotonicity")
scores.pivot_table(index="series", columns="metric", values=["spearman_rho", "falling steps"], sort=False).round(3)

# %% [markdown]
# ## 4 · Reading the result
#
# * Q needs no reference, so it is the only one of the three that a microscope could use while
#   focusing. Where ρ(Q) is close to −1 and nearly every step falls, Q is a usable focus
#   measure on that kind of image.
# * Q counts only *anisotropic* patches (edges, lines). On an almost empty field (low reference
#   contrast, flagged `structured = False`) noise decides which patches pass the anisotropy test,
#   and Q follows the noise, not the focus.
# * PSNR and Ω compare with the in-focus plane and so also see drift and illumination changes
#   between planes (the planes here are not registered).
#
# **Task.** Set `Q_PATCH = 16`. Does Q become more or less monotone on the fluorescence stack,
# whose structures (microtubules) are a few pixels wide?
#
# **Question.** The loss of notebook 15 maximises Q of the network's output. From the curves
# above, how much Q would a perfect restoration of a plane at the largest defocus gain — and is
# that gain larger than the differences between series with different content?
#
# **Where this differs from the paper.** The paper reports Q on natural-image deblurring sets
# (DPDD, RealDOF, ARK), not on focus series; this notebook is the check that Q means "in focus"
# on the microscope data the other notebooks use.
