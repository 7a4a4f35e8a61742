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
# # 03 · Paper 000, Experiment 2 — do artifacts grow with the blur?
#
# Experiment 1 (notebook 02) asked *which* feature map causes artifacts. This one asks *when*:
# the paper restores a focus series of one field — a sharp image, then the focus moved away in
# 0.455 µm steps — with the `conv_2_1` and `conv_3_3` models and finds that the checkerboard
# and "blob" artifacts become more prominent the more blurred the input is (Fig. 7).
#
# Here the models of notebook 02 (re-loaded from `build/checkpoints`, or trained now if that
# notebook has not run) restore every plane of a real focus series that none of them was trained
# on, and we plot the artifact measure — the dB excess of the restored spectrum over the sharp
# plane at ±0.25 cycles/px — against the focus deviation.

# %% tags=["parameters"]
PROFILE = "quick"      # "smoke" (tests) | "quick" (CPU) | "paper" (GPU)
SEED = 0               # must match notebook 02 to re-use its models
DATA_DIR = ""          # folder with the real data sets, "": $DEBLURLAB_DATA (synthetic data if unset)
LAYERS = ["conv_2_1", "conv_3_3"]  # the feature maps the paper compares in Fig. 7
ALPHA = 0.3
ARTIFACT_FREQ = 0.25
SERIES = "auto"        # "auto" | "reflected-focus" | "dfnn-lightsheet" | "simulated"

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import config, focus, metrics, phantoms, simulate
from deblurlab.arrays import structured_crop_box
from deblurlab.experiments import paper000 as P
from deblurlab.perceptual import artifact_measure
from deblurlab.plotting import save_figure, save_table, show_images

S = P.settings(PROFILE)
max_planes = {"smoke": 3, "quick": None, "paper": None}[PROFILE]
data = P.materials_data(seed=SEED)
crops = P.training_crops(data, PROFILE, seed=SEED)

# %% [markdown]
# ## 1 · The focus series
#
# The default is the reflected-light series, field `ix000_iy000`: the only field with structure
# (the other is bare wafer, reference std ≈ 0.01). **This field was part of the training data**,
# so this notebook measures how the artifacts depend on blur for content the models have seen;
# `SERIES = "dfnn-lightsheet"` repeats it on a real series none of them saw (fluorescence, only
# ±0.75 µm of defocus). Without real data a simulated series of a grain microstructure stands in. Planes are registered onto the in-focus plane and
# ordered by |focus deviation|, as in the paper's Fig. 7. The crop is the most structured window
# of the in-focus plane (the centre of this field is bare wafer), the same for every plane.

# %%
if SERIES not in ("auto", "reflected-focus", "dfnn-lightsheet", "simulated"):
    raise ValueError(f"unknown SERIES {SERIES!r}")
choice = SERIES
if choice == "auto":
    choice = "reflected-focus" if config.data_path("reflected-focus") else "simulated"
if choice == "reflected-focus":
    # The field with structure: the other one is bare wafer (reference std ≈ 0.01), where a dB
    # excess at ±0.25 measures nothing. This field was in the training set (see the note below).
    candidates = [focus.load_reflected_focus(field=f, grey=True) for f in focus.reflected_focus_fields()]
    series = max(candidates, key=lambda fs: float(fs.reference_of(0).std()))
    print(f"field {series.field}: reference std {series.reference_of(0).std():.3f} "
          f"(others: {[round(float(fs.reference_of(0).std()), 3) for fs in candidates if fs is not series]})")
elif choice == "dfnn-lightsheet":
    series = focus.load_dfnn_stack(grey=True).rescaled()
if choice == "simulated":
    sharp = phantoms.make_phantom("grains", (S["eval_crop"] + 64,) * 2, seed=SEED + 7)
    sim = simulate.focus_series(sharp, [0, 2, 4, 6, 8, 10, 14, 18], optics="bbbc006-20x", seed=SEED)
    pairs = [(float(d), p, sim.reference) for d, p in zip(sim.defocus_um[1:], sim.planes[1:])]
    unit = "µm"
else:
    fp = focus.FocusPairs(series, register=True, max_shift_px=16)
    pairs = [(float(fp[i]["defocus"]), fp[i]["blur"], fp[i]["sharp"]) for i in range(len(fp))]
    unit = series.unit
pairs.sort(key=lambda p: abs(p[0]))
if max_planes:
    pairs = [pairs[i] for i in np.unique(np.linspace(0, len(pairs) - 1, max_planes).round().astype(int))]
side = min(S["eval_crop"], *pairs[0][2].shape) // 4 * 4
box = structured_crop_box(pairs[0][2], side)  # most structured window of the in-focus plane, same for all planes
pairs = [(d, b[box], s[box]) for d, b, s in pairs]
print(f"{choice}: {len(pairs)} planes, |deviation| {abs(pairs[0][0]):.2f} … {abs(pairs[-1][0]):.2f} {unit}, crops {side}²")

# %% [markdown]
# ## 2 · Restore every plane with the L1, `conv_2_1` and `conv_3_3` models

# %%
specs = [P.RunSpec()] + [P.RunSpec(layer=layer, alpha=ALPHA) for layer in LAYERS]
models = {s.label: P.train_run(s, crops, PROFILE, seed=SEED, progress=PROFILE != "smoke")[0] for s in specs}
references = [s for _, _, s in pairs]
outputs = {"blurred": [b for _, b, _ in pairs]}
outputs.update({label: [P.restore(m, b, PROFILE) for _, b, _ in pairs] for label, m in models.items()})
rows = []
for label, images in outputs.items():
    art = artifact_measure(images, references, f=ARTIFACT_FREQ)
    for (d, _, ref), image, excess in zip(pairs, images, art["excess_db"]):
        rows.append({"model": label, "deviation": d, "abs_deviation": abs(d), "artifact_db": float(excess),
                     "psnr": metrics.psnr(image, ref, data_range=1.0)})
by_plane = pd.DataFrame(rows)
save_table(by_plane.set_index(["model", "deviation"]).round(3), "03_artifact_vs_blur");

# %% [markdown]
# ## 3 · Image rows as in Fig. 7
#
# Top row: the blurred planes, increasingly out of focus from left to right. Below: the
# restorations of each model. Look at flat regions for a grid pattern, and compare the
# right-most columns with the left-most.

# %%
show_idx = np.unique(np.linspace(0, len(pairs) - 1, min(5, len(pairs))).round().astype(int))
zoom = slice(side // 2 - side // 6, side // 2 + side // 6)
lo, hi = np.percentile(references[0][zoom, zoom], [1, 99])
fig, axes = plt.subplots(len(outputs), len(show_idx), figsize=(2.4 * len(show_idx), 2.5 * len(outputs)), squeeze=False)
for r, (label, images) in enumerate(outputs.items()):
    for c, i in enumerate(show_idx):
        ax = axes[r, c]
        ax.imshow(np.clip((images[i][zoom, zoom] - lo) / max(hi - lo, 1e-6), 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([]); ax.set_yticks([])
        if r == 0:
            ax.set_title(f"{pairs[i][0]:+.2f} {unit}", fontsize=9)
        if c == 0:
            ax.set_ylabel(label, fontsize=8)
fig.tight_layout()
save_figure(fig, "03_fig7_rows");

# %% [markdown]
# ## 4 · Artifact measure and PSNR versus focus deviation

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
for label, part in by_plane.groupby("model", sort=False):
    part = part.sort_values("abs_deviation")
    ax1.plot(part["abs_deviation"], part["artifact_db"], "o-", label=label)
    ax2.plot(part["abs_deviation"], part["psnr"], "o-", label=label)
ax1.axhline(0, color="black", lw=0.8)
ax1.set(xlabel=f"|focus deviation| ({unit})", ylabel=f"dB over sharp at ±{ARTIFACT_FREQ:g}", title="artifact measure")
ax2.set(xlabel=f"|focus deviation| ({unit})", ylabel="PSNR (dB)", title="restoration quality")
ax1.legend(fontsize=8)
fig.tight_layout()
save_figure(fig, "03_artifact_vs_deviation");

# Does the artifact grow with blur? A rank correlation answers without assuming a line.
trend = by_plane.groupby("model", sort=False)[["abs_deviation", "artifact_db"]].corr(method="spearman")
trend = trend.xs("abs_deviation", level=1)["artifact_db"].rename("spearman(|deviation|, artifact dB)")
trend.to_frame()

# %% [markdown]
# **Questions.**
# 1. The blurred input itself has a *negative* excess at ±0.25 (blur removes those
#    frequencies). How does each model move it — towards 0 (the sharp level) or beyond?
# 2. The paper sees artifacts grow with blur. What does the rank correlation above say for our
#    models, and what is different in our setting (training length, data)?
# 3. Change `SERIES` to `"dfnn-lightsheet"` (fluorescence, never seen in training, 0.05 µm
#    steps): are the artifacts a property of the model or of the input?
#
# ## How this differs from the paper
#
# * The paper's series has 30 planes at 0.455 µm steps from a Li-ion battery sample, held out
#   from training; here the reflected-light field has 10 planes between about −46 and +41 µm
#   (much coarser steps, including very strong blur), it was seen in training, and the models
#   are the short CPU runs of notebook 02.
# * Crops are `eval_crop` squares (the most structured window of the in-focus plane), grey,
#   registered to the in-focus plane.
