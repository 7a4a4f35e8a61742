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
# # 04 · Paper 000, Experiment 3a — which metric is linear in defocus?
#
# Before paper 000 compares its deblurring models (Experiment 3), it picks the metrics to
# compare them with. Its test: take a focus series — a sharp image of a graphite anode, then the
# focus moved away in 0.455 µm steps, 30 images — compute PSNR, SSIM, MS-SSIM, LPIPS, DISTS
# and PieAPP of every plane against the sharp one, and plot each against the focus deviation
# (Fig. 8). *"A reliable metric must have a linear progression over the increasing focus
# deviation."* The paper's verdict, by eye:
#
# * PSNR drops steeply ("exponentially") at small deviations, then roughly linearly;
# * SSIM drops slowly at first, then linearly;
# * **MS-SSIM** is the most linear of the pixel-based metrics;
# * **DISTS** is the most linear of the perceptual metrics; LPIPS flattens and saturates;
#   PieAPP peaks at medium deviation and falls again.
#
# The paper then evaluates with MS-SSIM and DISTS. This notebook repeats the test on every
# focus series we have, and replaces "by eye" with three numbers per metric and series
# (`deblurlab.linearity.linearity_scores`):
#
# * **R²** of a least-squares line through (|defocus|, metric) — 1 means exactly linear;
# * **Spearman ρ** — ±1 means strictly monotone, whatever the curve's shape;
# * **monotonicity** — the fraction of steps (ordered by |defocus|, each side of focus
#   separately) in which the metric gets *worse*.
#
# **The series.** The real ones under `$DEBLURLAB_DATA` — light-sheet fluorescence
# (`dfnn-lightsheet`, 30 planes, 0.05 µm steps, ±0.75 µm), reflected light on a wafer
# (`reflected-focus`, two fields of 10 planes, up to ±47 µm) and a brightfield smear
# (`smear-focus`, 18 planes, ±9 focus *steps* of unpublished size) — and a **simulated** series
# built like the paper's: 29 planes in 0.455 µm steps through a 20×/0.5 objective, noise-free.
# Without real data, the simulated series is the only one.
#
# **The metrics.** PSNR, SSIM and MS-SSIM (grey, data range 1, METHODS §6) and a
# **VGG19-feature distance** — an LPIPS-*like* distance with no learned weights, built on the
# VGG19 layers available offline. It is *not* LPIPS and not DISTS: its numbers must not be
# compared with published ones. LPIPS and DISTS themselves need the torchvision VGG16 backbone
# (`vgg16-397923af.pth`); where it is present they are computed too, otherwise the notebook says
# so and skips them. PieAPP is not implemented in `deblurlab`.
#
# **Running it.** Edit only the `parameters` cell. `"smoke"` (tests) uses 192-px crops and at
# most 5 planes per series, `"quick"` 384-px crops and every plane, `"paper"` whole images.

# %% tags=["parameters"]
PROFILE = "quick"         # "smoke" (tests, < 1 min) | "quick" (laptop, minutes) | "paper" (whole images)
SEED = 0                  # seed of the simulated object
DATA_DIR = ""             # folder with the real data sets, "": $DEBLURLAB_DATA (simulated series only if unset)
REAL_SERIES = ["dfnn-lightsheet", "reflected-focus", "smear-focus"]  # real series used when present
REGISTER = False          # shift every real plane onto its reference before scoring (the paper does not)
MAX_SHIFT_PX = 16         # registration refuses larger shifts
MIN_CONTRAST = 0.02       # a reference crop with a smaller std is flagged as having no structure
PHANTOM = "grains"        # simulated object, a kind from deblurlab.phantoms.PHANTOM_KINDS
OPTICS = "reflected-20x"  # simulated optics, the paper's 20x/0.5 objective (deblurlab.psf.OPTICS_PRESETS)
STEP_UM = 0.455           # simulated focus step in µm, as in the paper
N_STEPS = 29              # simulated defocused planes, 1 to N_STEPS steps from focus (paper: 29 plus the sharp one)
VGG_LAYERS = ["conv_1_2", "conv_2_2", "conv_3_4"]  # VGG19 layers of the feature distance

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.lines import Line2D

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import config, focus, metrics, phantoms, simulate
from deblurlab.arrays import centre_crop, to_grey, to_tensor
from deblurlab.datasets import register_pair
from deblurlab.linearity import linearity_table
from deblurlab.perceptual import DISTS, LPIPS, VGGFeatureDistance
from deblurlab.plotting import save_figure, save_table
from deblurlab.weights import WeightsNotFoundError

SETTINGS = {
    # size: side of the centre crops scored (None = whole images). MS-SSIM needs ≥ 176 px.
    # max_planes: planes kept per series, spread evenly over it (None = all).
    # threads: torch CPU threads (None = torch's default). The smoke run shares the CPU with other
    # tests; on small crops one thread is nearly as fast and never fights them for cores.
    "smoke": dict(size=192, max_planes=5, threads=1),
    "quick": dict(size=384, max_planes=None, threads=None),
    "paper": dict(size=None, max_planes=None, threads=None),
}
if PROFILE not in SETTINGS:
    raise ValueError(f"PROFILE must be one of {sorted(SETTINGS)}, got {PROFILE!r}")
S = SETTINGS[PROFILE]
SIM_SIZE = S["size"] or 1024  # the simulated object needs a concrete size
torch.manual_seed(SEED)
if S["threads"]:
    torch.set_num_threads(S["threads"])
t_start = time.perf_counter()


def subsample(n_planes, n):
    """Indices of at most ``n`` planes spread evenly over the series (all when ``n`` is None)."""
    idx = np.arange(n_planes)
    return idx if n is None or n_planes <= n else np.unique(np.linspace(0, n_planes - 1, n).round().astype(int))


def grey_crop(image):
    """Grey centre crop of side S["size"] (or the image's own side when that is smaller)."""
    grey = to_grey(image)
    if S["size"] is None:
        return grey
    return centre_crop(grey, (min(S["size"], grey.shape[0]), min(S["size"], grey.shape[1])))


print(f"PROFILE={PROFILE}, crops: {S['size'] or 'whole images'}, planes per series: {S['max_planes'] or 'all'}")
print(f"real data: {config.data_root()}" if config.data_root() else
      "real data: none configured — the simulated focus series is the only input")

# %% [markdown]
# ## 1 · The metrics
#
# Every metric compares a defocused plane with the in-focus reference, both as grey images in
# [0, 1]. PSNR, SSIM and MS-SSIM are *similarities* (higher = closer to the reference); the
# feature distances are *distances* (lower = closer). The arrow in each label says which way is
# better. We try to build LPIPS and DISTS; without their VGG16 backbone they raise
# `WeightsNotFoundError`, which we report instead of substituting anything.

# %%
# name → (label, function(plane, reference) → float, expected trend with growing defocus)
METRICS = {
    "psnr": ("PSNR (dB) ↑", lambda a, b: metrics.psnr(a, b, data_range=1.0), -1),
    "ssim": ("SSIM ↑", lambda a, b: float(metrics.ssim(a, b, data_range=1.0)), -1),
    "ms_ssim": ("MS-SSIM ↑", lambda a, b: float(metrics.ms_ssim(a, b, data_range=1.0)), -1),
}


def as_score(module):
    """Wrap a perceptual metric module ((N, C, H, W) tensors → (N,)) as plane, reference → float."""
    return lambda a, b: float(module(to_tensor(a), to_tensor(b))[0])


skipped = {}
for key, label, build in (
    ("vgg19_dist", "VGG19-feature dist. ↓\n(not LPIPS/DISTS)", lambda: VGGFeatureDistance(layers=VGG_LAYERS)),
    ("lpips", "LPIPS (VGG16) ↓", LPIPS),
    ("dists", "DISTS ↓", DISTS),
):
    try:
        METRICS[key] = (label, as_score(build()), +1)
    except WeightsNotFoundError as err:
        skipped[key] = str(err)
skipped["pieapp"] = ("PieAPP is not implemented in deblurlab (its trained network is a download "
                     "from its authors that is not available here)")
for key, reason in skipped.items():
    print(f"{key}: skipped — {reason}\n")
print("metrics computed:", ", ".join(METRICS))

# %% [markdown]
# ## 2 · The focus series
#
# Each series is a list of (signed defocus, plane, reference) triples, reduced to grey centre
# crops. Real series keep both sides of focus: planes *above* focus (+) and *below* (−) are
# drawn with different markers later, because optics, bleaching and drift need not treat the two
# sides alike. The paper's axis is the one-sided deviation |defocus|, and so is ours.
#
# * **simulated** — a `PHANTOM` microstructure imaged through the `OPTICS` preset
#   (`deblurlab.simulate.focus_series`: scalar-diffraction defocus PSF), planes at
#   1…`N_STEPS` × `STEP_UM`, no noise: any curvature is the metric's, not the data's;
# * **dfnn-lightsheet** — intensities fill only a small part of the 16-bit range, so every
#   image is divided by one common factor (`FocusSeries.rescaled`);
# * **reflected-focus** — both fields, each against its own `zoff0um` plane;
# * **smear-focus** — defocus in focus *steps* (their size in µm is not published).
#
# `REGISTER = True` shifts each real plane onto its reference first (refocusing can move the
# image: notebook 00 found the SEM pairs of paper 001 shifted by up to ~22 px, and the
# fluorescence focus pair shifted too). The paper does not mention registration.

# %%
def real_entries(fs):
    """(defocus, grey crop of the plane, grey crop of its reference) for the kept planes of a FocusSeries."""
    out = []
    for i in subsample(len(fs), S["max_planes"]):
        plane, ref = to_grey(fs.planes[i]), to_grey(fs.reference_of(int(i)))
        if REGISTER:
            plane, _ = register_pair(plane, ref, max_shift_px=MAX_SHIFT_PX, name=f"{fs.dataset} {fs.names[i]}")
        out.append((float(fs.defocus[i]), grey_crop(plane), grey_crop(ref)))
    return out


series = {}  # name → dict(unit, entries, kind)
dz_all = STEP_UM * np.arange(1, N_STEPS + 1)
dz_sim = dz_all[subsample(len(dz_all), S["max_planes"])]
sim_object = phantoms.make_phantom(PHANTOM, (SIM_SIZE, SIM_SIZE), seed=SEED)
sim = simulate.focus_series(sim_object, dz_sim, optics=OPTICS, seed=SEED)  # noise-free
sim_ref = grey_crop(sim.reference)
series["simulated"] = dict(unit="µm", kind=f"simulated {PHANTOM}, {OPTICS}, noise-free",
                           entries=[(float(d), grey_crop(p), sim_ref) for d, p in sim])

for name, (kind, fs) in focus.available_real_series(REAL_SERIES).items():
    series[name] = dict(unit=fs.unit, kind=kind, entries=real_entries(fs))
fs = None  # drop the full-size images; only the crops are kept
if len(series) == 1:
    print("no real focus series under the data root — the simulated series is the only input")

rows = []
for name, s in series.items():
    d = np.array([e[0] for e in s["entries"]])
    ref = s["entries"][0][2]
    rows.append({"series": name, "kind": s["kind"], "planes": len(d), "unit": s["unit"],
                 "|defocus| min": np.abs(d).min(), "|defocus| max": np.abs(d).max(),
                 "below / above focus": f"{(d < 0).sum()} / {(d > 0).sum()}",
                 "crop (px)": "×".join(map(str, ref.shape)),
                 "reference contrast (std)": float(ref.std()),
                 "structured": bool(ref.std() >= MIN_CONTRAST)})
series_table = pd.DataFrame(rows).set_index("series").round(4)
flat = series_table.index[~series_table["structured"]].tolist()
if flat:
    print(f"no structure to lose (reference std < {MIN_CONTRAST:g}): {', '.join(flat)} — "
          "their scores measure noise and illumination, not blur")
save_table(series_table, "04_series");
series_table

# %% [markdown]
# Look at the contrast column before trusting any curve: it is the standard deviation of the
# reference crop, a rough measure of how much *structure* there is to lose. A field with almost
# no structure (an empty patch of wafer, for instance) cannot tell metrics apart — every plane
# looks like every other, and what the metrics measure is noise and illumination drift. Series
# below `MIN_CONTRAST` are flagged (`structured = False`) and drawn faint in section 6.
#
# Each row below shows the reference and planes at increasing |defocus|. Every row is
# displayed with one grey range (the reference's 0.5–99.5 % percentiles), so the loss of
# contrast is visible; the contrast of the wafer and smear crops is stretched a lot by this.

# %%
n_show = 4
fig, axes = plt.subplots(len(series), n_show + 1, figsize=(2.3 * (n_show + 1), 2.45 * len(series)), squeeze=False)
for row, (name, s) in zip(axes, series.items()):
    entries = sorted(s["entries"], key=lambda e: abs(e[0]))
    pick = subsample(len(entries), n_show)
    ref = entries[0][2]
    lo, hi = np.percentile(ref, [0.5, 99.5])
    shown = [("reference", ref)] + [(f"{entries[i][0]:+.3g} {s['unit']}", entries[i][1]) for i in pick]
    for ax, (title, image) in zip(row, shown):
        ax.imshow(image, cmap="gray", vmin=lo, vmax=max(hi, lo + 1e-6))
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in row[len(shown):]:
        ax.set_axis_off()
    row[0].set_ylabel(name, fontsize=9)
fig.suptitle("focus series: reference and planes at growing |defocus| (grey centre crops)")
fig.tight_layout()
save_figure(fig, "04_focus_series");

# %% [markdown]
# ## 3 · Every metric for every plane
#
# One row per (series, plane). PSNR of a plane that equals its reference would be infinite; no
# plane here is the reference itself.

# %%
t0 = time.perf_counter()
rows = []
for name, s in series.items():
    for d, plane, ref in s["entries"]:
        row = {"series": name, "unit": s["unit"], "defocus": d, "abs_defocus": abs(d),
               "side": "+" if d > 0 else "−"}
        for key, (_, fn, _) in METRICS.items():
            row[key] = fn(plane, ref)
        rows.append(row)
values = pd.DataFrame(rows)
print(f"{len(values)} planes × {len(METRICS)} metrics in {time.perf_counter() - t0:.1f} s")
save_table(values.set_index(["series", "defocus"]).round(5), "04_metric_values");
values.groupby("series", sort=False)[list(METRICS)].agg(["min", "max"]).round(3)

# %% [markdown]
# ## 4 · Fig. 8 for every series
#
# One row per series, one column per metric, metric value against |defocus|. Filled circles are
# planes above focus (+), open triangles planes below (−); the dashed line is the least-squares
# line through all points of the panel, and its R² is printed in the corner. A metric the paper
# would call "linear" has its points on the dashed line.

# %%
KEYS = list(METRICS)
DIRECTIONS = {k: METRICS[k][2] for k in KEYS}
scores = linearity_table(values, KEYS, x="abs_defocus", by="series", groups="side", directions=DIRECTIONS)

names = list(series)
fig, axes = plt.subplots(len(names), len(KEYS), figsize=(3.1 * len(KEYS), 2.5 * len(names)), squeeze=False)
for r, name in enumerate(names):
    part = values[values["series"] == name]
    unit = series[name]["unit"]
    for c, key in enumerate(KEYS):
        ax = axes[r, c]
        for side, marker, face in (("+", "o", "C0"), ("−", "v", "none")):
            sub = part[part["side"] == side]
            ax.plot(sub["abs_defocus"], sub[key], marker, mfc=face, mec="C0", ms=4.5, ls="none")
        sc = scores.loc[(name, key)]
        xs = np.array([part["abs_defocus"].min(), part["abs_defocus"].max()])
        ax.plot(xs, sc["intercept"] + sc["slope"] * xs, "--", color="0.45", lw=1)
        falling = sc["slope"] < 0  # put the label in the corner the line leaves free
        ax.text(0.97, 0.95 if falling else 0.05, f"R² {sc['r2']:.2f}\nρ {sc['spearman_rho']:+.2f}",
                transform=ax.transAxes, ha="right", va="top" if falling else "bottom", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="0.8", alpha=0.85))
        ax.tick_params(labelsize=7)
        ax.set_xlabel(f"|defocus| ({unit})", fontsize=8)
        if r == 0:
            ax.set_title(METRICS[key][0], fontsize=9)
        if c == 0:
            flag = "" if series_table.loc[name, "structured"] else "\n(no structure)"
            ax.set_ylabel(name + flag, fontsize=9, fontweight="bold")
handles = [Line2D([], [], marker="o", color="C0", ls="none", label="above focus (+)"),
           Line2D([], [], marker="v", mfc="none", mec="C0", ls="none", label="below focus (−)"),
           Line2D([], [], ls="--", color="0.45", label="least-squares line")]
if not (values["side"] == "−").any():
    handles.pop(1)
fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, 1.0))
fig.tight_layout(rect=(0, 0, 1, 0.975))
save_figure(fig, "04_fig8_grid");

# %% [markdown]
# **Question.** Find the PSNR panel of the simulated series. Why does PSNR drop so steeply
# ("exponentially", in the paper's words) at small defocus and then flatten? *Hint:* for a
# small blur radius $r \propto |\Delta z|$, the error image is roughly $r^2$ times the image's
# second derivative, so $\mathrm{MSE} \propto \Delta z^2$ … and PSNR is $-10\log_{10}$ of the
# MSE. What curve does that give? Plot PSNR against $\log_{10}|\Delta z|$ to check.

# %% [markdown]
# ## 5 · Linearity scores
#
# The table holds, per series and metric, R² of the dashed line, Spearman ρ and the
# monotonicity (fraction of steps along |defocus|, each side of focus separately, in which the
# metric gets worse: PSNR/SSIM/MS-SSIM fall, distances rise), with the number of planes `n`.
# R² is unchanged by the metric's scale and offset, so PSNR in dB and SSIM in [0, 1] are
# comparable. Note the difference: PSNR can be perfectly monotone (|ρ| = 1) and still far from
# linear.

# %%
linearity = scores[["r2", "spearman_rho", "monotonicity", "n"]].round(3)
linearity["structured"] = [bool(series_table.loc[name, "structured"]) for name in linearity.index.get_level_values("series")]
save_table(linearity, "04_linearity_scores")
r2 = linearity["r2"].unstack("metric")[KEYS].reindex(names)
save_table(r2, "04_linearity_r2")
for name in names:
    best = r2.loc[name].astype(float)
    pixel = best[[k for k in ("psnr", "ssim", "ms_ssim") if k in best]].idxmax()
    note = "" if series_table.loc[name, "structured"] else "   (no structure: not meaningful)"
    print(f"{name:>24}: most linear overall {best.idxmax()}, among PSNR/SSIM/MS-SSIM {pixel}{note}")
display(r2.style.format("{:.3f}").background_gradient(cmap="Greens", vmin=0, vmax=1, axis=None))
linearity

# %% [markdown]
# ## 6 · All series on one scale
#
# Each curve is normalised so that 0 is the best value the metric takes in its series and 1 the
# worst, and |defocus| runs from 0 (the plane nearest focus) to 1 (the farthest). On these axes
# a perfectly linear metric follows the diagonal; a curve above it changes early and then
# saturates (like PSNR), one below it changes late. This makes series with different units
# comparable. Where both sides of focus have a plane at the same |defocus|, their mean is drawn;
# series without structure are drawn faint.

# %%
fig, axes = plt.subplots(1, len(KEYS), figsize=(3.2 * len(KEYS), 3.3), squeeze=False, sharey=True)
for ax, key in zip(axes[0], KEYS):
    for j, name in enumerate(names):
        part = values[values["series"] == name].sort_values("abs_defocus")
        y = part[key].to_numpy(float)
        span = np.ptp(y) or 1.0
        worse = (y.max() - y) / span if DIRECTIONS[key] < 0 else (y - y.min()) / span
        ad = part["abs_defocus"]
        x = (ad - ad.min()) / (ad.max() - ad.min())
        # the mean over the two sides where both exist, to keep one line per series
        curve = pd.Series(worse, index=x.round(6).to_numpy()).groupby(level=0).mean()
        structured = bool(series_table.loc[name, "structured"])
        ax.plot(curve.index, curve.to_numpy(), "o-", ms=3, lw=1.5 if structured else 0.8,
                alpha=1.0 if structured else 0.35, color=f"C{j}",
                label=name if structured else f"{name} (no structure)")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":")
    ax.set(title=METRICS[key][0].split("\n")[0], xlabel="|defocus|, nearest 0 … farthest 1",
           xlim=(-0.02, 1.02), ylim=(-0.05, 1.05))
axes[0, 0].set_ylabel("0 best … 1 worst value in the series")
handles, labels = axes[0, 0].get_legend_handles_labels()
handles.append(Line2D([], [], color="black", lw=0.8, ls=":"))
labels.append("linear")
fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
fig.tight_layout(rect=(0, 0.07 * (1 + (len(labels) - 1) // 6), 1, 1))
save_figure(fig, "04_linearity_overlay");

# %% [markdown]
# **What to look for.**
#
# * **Simulated series** (the cleanest test: one object, a known PSF, no noise, no drift). Compare
#   PSNR, SSIM and MS-SSIM with the paper's description. Does MS-SSIM come out as the most
#   linear pixel metric here as well?
# * **dfnn-lightsheet** covers only ±0.75 µm with a 1.1-NA objective — about one depth of
#   field ($n\lambda/\mathrm{NA}^2 \approx 0.57$ µm). The planes are also noisy: two
#   acquisitions of the *same* focus would not reach PSNR 40 dB. Where does the noise floor show
#   up in the curves?
# * **reflected-focus** has only 10 planes per field, unevenly spaced, and most of each image is
#   bare wafer. Check the reference contrast in the series table: if a field's crop holds
#   (almost) no structure, its scores say nothing about the metrics.
# * **smear-focus** has two sides of different shape: is "0.bmp" really the best focus? Look at
#   the ±1 and ±2 steps.
#
# **What the `quick` run showed when this was written** (384-px crops, every plane; the printed
# summary of section 5 and the tables are the numbers of *your* run — check them against this).
#
# * On the **simulated** series the paper's description comes back almost word for word: PSNR
#   falls steeply over the first steps and then only creeps down (a low R² although it is
#   strictly monotone); SSIM falls steeply and then *stops* falling (not even monotone);
#   **MS-SSIM is the most linear**; the VGG19-feature distance is S-shaped and saturates — the
#   behaviour the paper reports for LPIPS.
# * On the real series with structure, MS-SSIM has the highest R² of the pixel metrics on the
#   wafer field and the smear; on the light-sheet stack every metric is nearly linear, because
#   ±0.75 µm is about one depth of field and the curves have not yet started to bend.
# * The empty wafer field gives R² and ρ near 0 for SSIM and MS-SSIM: not a property of the
#   metrics, but of a field with nothing to blur.
#
# **Questions.**
# 1. SSIM compares local means, contrasts and correlations in an 11×11 Gaussian window. Why can
#    it stop falling once the blur is much wider than that window (look at the simulated
#    series)? Why does MS-SSIM, which repeats the comparison on 2×, 4×, 8×, 16× down-sampled
#    images, keep falling for longer?
# 2. R² rewards a straight line, Spearman ρ any monotone curve. For choosing an *evaluation*
#    metric, which property matters more, and why does the paper ask for linearity at all?
#    (Think of averaging a metric over test images blurred by different amounts.)
# 3. The VGG19-feature distance is not LPIPS: it has no learned channel weights and stops at
#    conv3_4. Is it more or less linear than MS-SSIM here? Would you expect LPIPS to behave the
#    same (the paper says it saturates)?
# 4. On a two-sided series, why might the + and − sides give different values at the same
#    |defocus|? Name two physical reasons and one acquisition reason.
#
# **Tasks.**
# * Set `REGISTER = True`. Which series change, and does their linearity improve?
# * Set `PHANTOM = "calibration_grid"` and then `"particles"`: does the ranking of the metrics on
#   the simulated series depend on the image content?
# * With network access, set the environment variable `DEBLURLAB_ALLOW_DOWNLOAD=1` before
#   starting Jupyter: `deblurlab` then fetches the VGG16 backbone, LPIPS and DISTS columns
#   appear, and you can check the paper's claim that DISTS is linear and LPIPS saturates.

# %%
print(f"notebook body ran in {time.perf_counter() - t_start:.0f} s")

# %% [markdown]
# ## How this differs from the paper
#
# * **Data.** The paper uses one 30-image brightfield series of a graphite anode (20×/0.5,
#   0.455 µm steps, one side of focus). That series is not published. We use a simulated series
#   with the same step and objective (object and wavelength assumed, incoherent imaging,
#   no noise) and three real series of other samples, step sizes and ranges, two-sided.
# * **Metrics.** PieAPP is missing (not implemented). LPIPS and DISTS need the VGG16 backbone
#   (`vgg16-397923af.pth`), which is not available offline; without it they are skipped and the
#   unlearned **VGG19-feature distance** stands in — it is neither LPIPS nor DISTS, and its values
#   are not comparable with the literature. Where LPIPS runs, it is the VGG16 variant (the `lpips`
#   package's default is AlexNet; the paper does not say which it used), and DISTS does not
#   resize images to a 256-px short side as the DISTS authors' example does.
# * **Images.** Grey images, centre crops in `smoke`/`quick` (the paper: whole images, colour not
#   stated); data range 1 after scaling each series to [0, 1].
# * **Judgement.** The paper judges linearity by eye on the plots; we also report R², Spearman ρ
#   and monotonicity, fitted against |defocus| with both sides of focus pooled.
