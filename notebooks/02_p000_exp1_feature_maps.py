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
# # 02 · Paper 000, Experiment 1 — which VGG feature map makes artifacts?
#
# *Krawczyk et al., "Reducing artifact generation when using perceptual loss for image deblurring
# of microscopy data", Methods in Microscopy 2024.*
#
# A **perceptual loss** compares the restored image and the reference not pixel by pixel but
# through the feature maps of a pretrained classifier (VGG19):
# $\mathcal{L}_{VGG} = \frac{1}{C_jH_jW_j}\lVert\phi_j(Y) - \phi_j(f(X))\rVert_2^2$.
# It makes restorations look sharper — and, the paper found, can paint a regular pattern over
# microscopy images: checkerboards at a period of 4 pixels (a peak at **±0.25 cycles/px** in the
# spectrum, "f_A") and "blobs".
#
# **The experiment.** Train the same deblurring network (DHN, a three-level encoder–decoder,
# `deblurlab.models.DHN`) with identical hyper-parameters, once with L1 alone and once with
# $\mathcal{L}_1 + 0.3\,\mathcal{L}_{VGG}$ for each VGG19 layer `conv_1_1` … `conv_3_4`
# (pre-ReLU). Then compare zoomed crops (Fig. 4), spectra (Fig. 5) and line profiles through
# the spectrum (Fig. 6), and measure the artifact as the dB excess of the restored spectrum over
# the sharp reference at ±0.25 cycles/px.
#
# **Paper's finding.** Layers of the first VGG block look like L1; from the second block on, a
# peak at f_A appears (+5 dB over the reference for `conv_2_1`); third-block layers add "blobs".

# %% tags=["parameters"]
PROFILE = "quick"      # "smoke" (tests) | "quick" (CPU, ~8 min) | "paper" (GPU, the paper's schedule)
SEED = 0
DATA_DIR = ""          # folder with the real data sets, "": $DEBLURLAB_DATA (synthetic data if unset)
LAYERS = None          # VGG19 feature maps to sweep, e.g. ["conv_1_1", "conv_2_2"]; None: the profile's choice (below)
ALPHA = 0.3            # weight of the perceptual term (paper: 0.3)
VARIANT = "baseline"   # DHN up/down layers: baseline | resize | smooth | wt (Experiment 3b compares them)
ARTIFACT_FREQ = 0.25   # cycles/px at which the artifact is read (period-4 pattern)
EXAMPLE = 0            # which test crop the figures show

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import metrics, spectra
from deblurlab.experiments import paper000 as P
from deblurlab.models import count_parameters
from deblurlab.plotting import save_figure, save_table, show_images

S = P.settings(PROFILE)
# The paper sweeps all eight layers. On a CPU the quick profile trains one layer per claim of the
# paper — conv_1_2 (first block: "like L1"), conv_2_1 (the f_A peak), conv_3_3 (third block:
# "blobs") — so that notebooks 02–05 together stay under 30 minutes on two cores; set
# LAYERS = list(P.FEATURE_LAYERS) for the full sweep (about 2.5 minutes per extra layer).
PROFILE_LAYERS = {"smoke": ["conv_2_1", "conv_3_3"], "quick": ["conv_1_2", "conv_2_1", "conv_3_3"],
                  "paper": list(P.FEATURE_LAYERS)}
if LAYERS is None:
    LAYERS = PROFILE_LAYERS[PROFILE]
unknown = sorted(set(LAYERS) - set(P.FEATURE_LAYERS))
if unknown:
    raise ValueError(f"unknown LAYERS {unknown}; choose from {P.FEATURE_LAYERS}")
print(f"feature maps swept: {', '.join(LAYERS)}")
data = P.materials_data(seed=SEED)
crops = P.training_crops(data, PROFILE, seed=SEED)
test = P.test_crops(data, PROFILE)
print(f"PROFILE={PROFILE}: DHN width {S['width']}, {S['steps']} steps of batch {S['batch']} × {S['crop']}² crops, lr {S['lr']}")
print(f"data: {data.source}")
print(f"test: {len(test)} crops of {test[0]['sharp'].shape} (most structured window of each) from {len(data.test)} held-out pairs")

# %% [markdown]
# ## 1 · Train one model per loss
#
# `train_run` trains with `deblurlab.train.fit` and keeps a checkpoint per configuration under
# `build/checkpoints/paper000/`; re-running the notebook (or notebooks 03 and 05, which use the
# same models) re-loads finished runs instead of training again. Every run starts from the same
# initial weights and sees the same crops in the same order.

# %%
specs = [P.RunSpec()] + [P.RunSpec(layer=layer, variant=VARIANT, alpha=ALPHA) for layer in LAYERS]
models, histories = {}, {}
for spec in specs:
    models[spec.label], histories[spec.label] = P.train_run(spec, crops, PROFILE, seed=SEED, progress=PROFILE != "smoke")
print(f"{len(models)} models, {count_parameters(next(iter(models.values()))):,} parameters each")

fig, ax = plt.subplots(figsize=(8, 3.5))
for label, history in histories.items():
    log = history.to_dataframe()
    ax.plot(log["step"], log["l1"], label=label, lw=1)
ax.set(xlabel="step", ylabel="L1 term", yscale="log", title="training: the L1 part of each loss")
ax.legend(fontsize=7, ncol=2)
save_figure(fig, "02_training_l1");

# %% [markdown]
# ## 2 · Evaluate on held-out fields
#
# Each model restores the test crops (tiled inference). Per image we record PSNR, SSIM, MS-SSIM,
# a VGG19-feature distance (an LPIPS-like perceptual distance built from the offline VGG19
# weights — **not** LPIPS or DISTS, whose VGG16 backbone is not available offline), and the
# artifact measure: restored minus reference spectrum in dB at ±f_A, averaged over the
# horizontal and vertical centre profiles. Positive = more energy at f_A than the sharp image has.

# %%
table, restored = P.evaluate_runs(models, test, PROFILE, f=ARTIFACT_FREQ)
value_cols = [c for c in ("artifact_db", "ms_ssim", "psnr", "ssim", "vgg_dist") if c in table]
summary = metrics.summarize(table[["model"] + value_cols], by="model")
order = ["blurred"] + [s.label for s in specs]
summary = summary.reindex(order)
save_table(summary, "02_feature_map_sweep");
summary[[c for c in summary.columns if not c.endswith(("_mean", "_std"))]]

# %% [markdown]
# ## 3 · Zoomed crops (Fig. 4)
#
# Two zoom levels of the same test crop. Look for a regular grid (checkerboard) or painted-on
# "blobs" that the sharp reference does not have. The contrast is stretched per row, as in the
# paper, to make faint patterns visible.

# %%
item = test[min(EXAMPLE, len(test) - 1)]
size = min(item["sharp"].shape)
z1 = slice(size // 2 - size // 6, size // 2 + size // 6)
z2 = slice(size // 2 - size // 16, size // 2 + size // 16)
panels = {"blurred": restored["blurred"][EXAMPLE], "sharp": item["sharp"]}
panels.update({label: restored[label][EXAMPLE] for label in models})
lo, hi = np.percentile(item["sharp"][z1, z1], [1, 99])
stretch = lambda a: np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1)  # noqa: E731 — display only
fig = show_images({k: stretch(v[z1, z1]) for k, v in panels.items()}, ncols=6, size=2.6,
                  suptitle=f"{item['name']}: zoom 1")
save_figure(fig, "02_fig4_zoom1");
fig = show_images({k: stretch(v[z2, z2]) for k, v in panels.items()}, ncols=6, size=2.6,
                  suptitle=f"{item['name']}: zoom 2 (higher)")
save_figure(fig, "02_fig4_zoom2");

# %% [markdown]
# ## 4 · Spectra (Fig. 5) and line profiles (Fig. 6)
#
# The centred log-magnitude spectrum $20\log_{10}|F|$ of the crop (frequency axes in cycles/px).
# A period-4 artifact is a set of peaks at ±0.25 on the axes (and on the diagonals for a 2-D
# checkerboard). The line profiles through the centre compare each restoration (colour) with the
# sharp reference (black).

# %%
names = ["sharp"] + list(models)
fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(3.0 * ((len(names) + 1) // 2), 6.2), squeeze=False)
for ax in axes.flat[len(names):]:
    ax.remove()
for ax, name in zip(axes.flat, names):
    spec, fy, fx = spectra.magnitude_spectrum_db(panels[name])
    ax.imshow(spec, cmap="inferno", extent=(fx[0], fx[-1], fy[-1], fy[0]), vmin=np.percentile(spec, 5))
    ax.set_title(name, fontsize=8)
    ax.set_xticks([-0.5, -0.25, 0, 0.25]); ax.set_yticks([-0.5, -0.25, 0, 0.25]); ax.tick_params(labelsize=6)
fig.suptitle("centred magnitude spectra (dB), cycles/px")
fig.tight_layout()
save_figure(fig, "02_fig5_spectra");

shown = [s.label for s in specs if s.layer in (None, "conv_2_1", "conv_3_3")]
fig, axes = plt.subplots(len(shown), 2, figsize=(11, 2.6 * len(shown)), squeeze=False)
ref_spec, fy, fx = spectra.magnitude_spectrum_db(item["sharp"])
ref_prof = spectra.line_profiles(ref_spec, fy, fx)
for row, label in zip(axes, shown):
    prof = spectra.line_profiles(spectra.magnitude_spectrum_db(panels[label])[0], fy, fx)
    for ax, axis in zip(row, ("horizontal", "vertical")):
        ax.plot(*ref_prof[axis], color="black", lw=0.8, label="sharp reference")
        ax.plot(*prof[axis], lw=0.8, label=label)
        for f in (-ARTIFACT_FREQ, ARTIFACT_FREQ):
            ax.axvline(f, color="red", ls=":", lw=0.8)
        ax.set(title=f"{label}: {axis} profile", xlabel="cycles/px", ylabel="dB")
        ax.legend(fontsize=7)
fig.tight_layout()
save_figure(fig, "02_fig6_line_profiles");

# %% [markdown]
# ## 5 · Artifact measure per feature map

# %%
per_model = table.groupby("model", sort=False)["artifact_db"].agg(["mean", "std"]).reindex(order)
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.bar(range(len(per_model)), per_model["mean"], yerr=per_model["std"].fillna(0), color="C0", capsize=3)
ax.axhline(0, color="black", lw=0.8)
ax.set_xticks(range(len(per_model)), [label.replace("L1 + VGG ", "") for label in per_model.index], rotation=30, ha="right")
ax.set(ylabel=f"dB over reference at ±{ARTIFACT_FREQ:g}", title="artifact measure (mean ± std over test crops)")
fig.tight_layout()
save_figure(fig, "02_artifact_per_layer");

l1 = per_model.loc["L1", "mean"]
for label in per_model.index[2:]:
    print(f"{label:28s} {per_model.loc[label, 'mean']:+6.2f} dB  ({per_model.loc[label, 'mean'] - l1:+.2f} dB vs L1 alone)")

# %% [markdown]
# **Questions.**
# 1. Which VGG block is the first to raise the level at ±0.25 above what L1 alone gives? Does
#    that match the paper (second block, +5 dB for `conv_2_1`)?
# 2. Why would a *period-4* pattern come from this network? (Hint: count the stride-2
#    up-sampling layers in the DHN decoder — `deblurlab.models.updown`.)
# 3. The VGG19-feature distance is itself computed from VGG features. Which models should it
#    favour, and does it?
#
# **Task.** Set `ALPHA = 1.0` and re-run: does a stronger perceptual term make the peak larger?
#
# ## How this differs from the paper
#
# * **Data.** FaMM (35,709 light-microscopy images of four materials) is not obtainable offline.
#   The models train on two real materials sets instead — a reflected-light focus series of
#   metal structures on a wafer (field `ix000_iy000`) and registered SEM pairs (groups
#   1-1…7-1) — about 90 training images instead of ~28,000, all converted to grey (the paper
#   uses RGB). The reflected set's other field was meant for testing but is bare wafer (std
#   ≈ 0.01), so `test_crops` leaves it out and the test crops come from SEM group 8-1.
# * **Budget.** `quick` trains a DHN 4× narrower than the paper's (340 k vs 5.4 M parameters)
#   for 300 steps of 64² crops on a CPU, instead of 100 epochs of FaMM at 256² on a GPU, and
#   sweeps three of the eight layers (conv_1_2, conv_2_1, conv_3_3). Whether the artifact
#   appears at all in such short training is exactly what the table above measures;
#   `PROFILE = "paper"` runs the paper's schedule and all eight layers on a GPU.
# * **Metrics.** LPIPS and DISTS need the ImageNet VGG16, which is not available offline; the
#   VGG19-feature distance stands in and is labelled as such.
