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
# # 06 · Paper 001 (MIDNet) — a tour of the real SEM pairs
#
# Wang et al., *MIDNet: Deblurring Network for Material Microstructure Images* (CMC 2024), train
# and test on pairs of SEM micrographs of the same field: one blurred (focus, astigmatism or
# vibration gone wrong while imaging) and one sharp, taken by an operator who repeated the shot
# until it was good. Blur here is *real*, not simulated — there is no known kernel.
#
# The paper's repository publishes the pairs as 512×512 tiles: 8 source images (groups `1-1` …
# `8-1`), 12 **overlapping** tiles each — 96 pairs here (the paper speaks of 120, split at random
# 108 / 12; that split cannot be reproduced). This notebook looks at what the networks of
# notebooks 07 and 08 will be given:
#
# 1. the pairs themselves, and how far blurred and sharp tiles are *shifted* against each other;
# 2. the blurry-vs-sharp PSNR / SSIM over the set — the paper reports **21.64 dB / 0.577** for
#    its test split (Table 1, "Blurry") — as published and after registration;
# 3. why we split by source group and keep the images grey.

# %% tags=["parameters"]
PROFILE = "quick"        # "smoke" (tests) | "quick" (laptop) | "paper" (same as quick here: no training)
DATA_DIR = ""            # folder with the real data sets, "": $DEBLURLAB_DATA
TEST_GROUPS = ["8-1"]    # source groups held out as the test split in notebooks 07-08
PAIR = 0                 # which pair the viewer shows first
MAX_SHIFT_PX = 32        # registration refuses larger shifts (the pair would not show one field)

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import config, metrics
from deblurlab.datasets import midnet_sem
from deblurlab.experiments import paper001
from deblurlab.plotting import save_figure, save_table, show_images

N_PAIRS = {"smoke": 6, "quick": None, "paper": None}
if PROFILE not in N_PAIRS:
    raise ValueError(f"PROFILE must be one of {sorted(N_PAIRS)}, got {PROFILE!r}")
real = config.data_path("midnet-sem") is not None
print(f"PROFILE={PROFILE}  data: {'midnet-sem (real SEM pairs)' if real else 'none configured'}")

# %% [markdown]
# ## 1 · The pairs
#
# The PNGs are RGBA with grey content (the alpha channel is constant and dropped on reading).
# We read them as grey float32 in [0, 1]; the data range of the 8-bit source is recorded.

# %%
if real:
    published = midnet_sem(grey=True)
    registered = midnet_sem(grey=True, register=True, max_shift_px=MAX_SHIFT_PX, trim=True)
    n = len(published) if N_PAIRS[PROFILE] is None else min(N_PAIRS[PROFILE], len(published))
    # an even spread over the groups when only a few pairs are looked at
    take = np.linspace(0, len(published) - 1, n).round().astype(int)
    first = published[int(take[0])]
    print(f"{len(published)} pairs, groups {sorted(set(published.groups))}; "
          f"looking at {n}; tile {first['sharp'].shape}, {first['sharp'].dtype}, data range {first['data_range']}")
else:
    print("No midnet-sem data: set DEBLURLAB_DATA (or DATA_DIR) to a folder holding midnet-sem/ "
          "(see data/README.md). The rest of the notebook shows synthetic stand-ins.")
    data = paper001.sem_data()
    take = np.arange(min(4, len(data.test)))

# %% [markdown]
# ## 2 · Blurred and sharp tiles are not aligned
#
# Between the blurred and the sharp shot the stage or the beam moved. Phase correlation
# (`deblurlab.datasets.estimate_shift`, sub-pixel) finds the shift of each blurred tile onto its
# sharp partner; `register=True` applies it and trims both images to the region they share.

# %%
rows = []
if real:
    for i in take:
        pub, reg = published[int(i)], registered[int(i)]
        dy, dx = reg["shift"]
        rows.append({"pair": pub["name"], "group": published.item_group(int(i)),
                     "dy": dy, "dx": dx,
                     "psnr_published": metrics.psnr(pub["blur"], pub["sharp"], data_range=1.0),
                     "ssim_published": metrics.ssim(pub["blur"], pub["sharp"], data_range=1.0),
                     "psnr_registered": metrics.psnr(reg["blur"], reg["sharp"], data_range=1.0),
                     "ssim_registered": metrics.ssim(reg["blur"], reg["sharp"], data_range=1.0)})
else:
    for i in take:
        it = data.test[int(i)]
        rows.append({"pair": it["name"], "group": it["group"], "dy": 0.0, "dx": 0.0,
                     "psnr_published": metrics.psnr(it["blur"], it["sharp"], data_range=1.0),
                     "ssim_published": metrics.ssim(it["blur"], it["sharp"], data_range=1.0),
                     "psnr_registered": np.nan, "ssim_registered": np.nan})
pairs = pd.DataFrame(rows)
save_table(pairs, "06_pairs")
shift = np.hypot(pairs["dy"], pairs["dx"])
print(f"shift |(dy, dx)|: median {shift.median():.1f} px, max {shift.max():.1f} px over {len(pairs)} pairs")
pairs.head(12)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].scatter(pairs["dx"], pairs["dy"], c=pd.factorize(pairs["group"])[0], cmap="tab10")
axes[0].axhline(0, color="k", lw=0.5)
axes[0].axvline(0, color="k", lw=0.5)
axes[0].set(xlabel="dx (px)", ylabel="dy (px)", title="shift of each blurred tile (colour = group)")
axes[1].plot(pairs["psnr_published"], pairs["psnr_registered"], "o")
lims = [pairs[["psnr_published", "psnr_registered"]].min().min() - 0.5,
        pairs[["psnr_published", "psnr_registered"]].max().max() + 0.5]
if np.all(np.isfinite(lims)):
    axes[1].plot(lims, lims, "k--", lw=0.8)
axes[1].set(xlabel="PSNR as published (dB)", ylabel="PSNR registered (dB)",
            title="blurry vs sharp, before / after registration")
fig.tight_layout()
save_figure(fig, "06_shifts_and_psnr");

# %% [markdown]
# ### Pair viewer
#
# Blurred, sharp, and the difference before and after registration (grey = 0). A shift shows as
# doubled edges in the first difference; after registration what remains is the blur itself.
# In JupyterLab the slider picks the pair; a headless run draws pair `PAIR`.

# %%
def pair_figure(index: int):
    if real:
        pub, reg = published[int(index)], registered[int(index)]
        images = {"blurred": pub["blur"], "sharp": pub["sharp"],
                  "blurred − sharp (as published)": 0.5 + (pub["blur"] - pub["sharp"]),
                  f"registered (shift {reg['shift'][0]:+.1f}, {reg['shift'][1]:+.1f})":
                      0.5 + (reg["blur"] - reg["sharp"])}
        title = f"{pub['name']} (group {published.item_group(int(index))})"
    else:
        it = data.test[int(index) % len(data.test)]
        images = {"blurred": it["blur"], "sharp": it["sharp"], "blurred − sharp": 0.5 + it["blur"] - it["sharp"]}
        title = it["name"]
    return show_images(images, size=3.0, suptitle=title)


fig = pair_figure(PAIR)
save_figure(fig, "06_pair_viewer");

# %%
try:  # interactive only where a front end renders widgets; a headless run never waits here
    import ipywidgets as widgets
    from IPython.display import display

    from deblurlab.widgets import figure_png

    n_items = len(published) if real else len(data.test)
    pair_slider = widgets.IntSlider(value=PAIR, min=0, max=n_items - 1, description="pair",
                                    continuous_update=False)
    pair_view = widgets.Image(format="png")

    def draw_pair(change=None) -> None:
        """Redraw the viewer for the slider's pair (a PNG, whatever the matplotlib backend)."""
        fig = pair_figure(pair_slider.value)
        pair_view.value = figure_png(fig)
        plt.close(fig)  # shown through the widget only, not a second time inline

    pair_slider.observe(draw_pair, names="value")
    draw_pair()
    display(widgets.VBox([pair_slider, pair_view]))
except ImportError:
    print("ipywidgets not installed: the static viewer above is all there is")

# %% [markdown]
# ## 3 · Blurry vs sharp over the set — and the paper's 21.64 dB / 0.577
#
# PSNR with MAX = 1 on [0, 1] images equals the paper's MAX = 255 on the 8-bit PNGs.

# %%
pairs["split"] = np.where(pairs["group"].isin(TEST_GROUPS), "test " + "+".join(TEST_GROUPS), "train")
cols = ["psnr_published", "ssim_published", "psnr_registered", "ssim_registered"]
by_split = pairs.groupby("split")[cols].agg(["mean", "std"]).round(3)
overall = pairs[cols].agg(["mean", "std"]).round(3)
save_table(by_split, "06_blurry_vs_sharp_by_split")
save_table(pairs.groupby("group")[cols].mean().round(3), "06_blurry_vs_sharp_by_group")
print("paper (Table 1, 'Blurry', its random 12-pair test split): PSNR 21.64 dB, SSIM 0.577")
print(f"here, all {len(pairs)} pairs: PSNR {overall.loc['mean', 'psnr_published']:.2f} ± "
      f"{overall.loc['std', 'psnr_published']:.2f} dB as published, "
      f"{overall.loc['mean', 'psnr_registered']:.2f} ± {overall.loc['std', 'psnr_registered']:.2f} dB registered")
by_split

# %%
fig, ax = plt.subplots(figsize=(8, 3.4))
per_group = pairs.groupby("group")[["psnr_published", "psnr_registered"]].mean()
per_group.plot.bar(ax=ax, rot=0)
ax.axhline(21.64, color="r", ls="--", lw=1, label="paper: blurry test split 21.64 dB")
ax.set(ylabel="PSNR blurry vs sharp (dB)", title="per source group")
ax.legend(loc="lower right", fontsize=8)
save_figure(fig, "06_psnr_by_group");

# %% [markdown]
# ## 4 · What this means for notebooks 07 and 08
#
# * **Register first.** With shifts of tens of pixels a network is asked to learn a different
#   translation for every pair, which it cannot; PSNR against an unregistered reference also
#   penalises a perfect deblurring. Notebooks 07–08 train and test on registered pairs, so
#   their numbers are *not* comparable one to one with the paper's (which does not say whether
#   it registered) — compare methods within a table, not across papers.
# * **Split by source group.** The 12 tiles of a group overlap; a random tile split (as the
#   paper's 108 / 12) would test on pixels seen in training. Group `8-1` is the test split.
# * **Grey.** The tiles are grey in RGB clothes (R = G = B almost everywhere); the networks take
#   one channel. Official GoPro checkpoints expect RGB — notebook 07 replicates the channel for
#   them.
#
# **Questions.**
# 1. Which groups are hardest (lowest blurry PSNR)? Look at their tiles in the viewer: is the
#    blur stronger, or is there more fine structure to lose?
# 2. Registration raises the blurry-vs-sharp PSNR. Why is a PSNR gain over the *unregistered*
#    input not a deblurring result?
# 3. The paper "adjusted" its images to 256×256. If that meant down-sampling the 512² tiles by
#    two, what would it do to the blur width in pixels, and to PSNR?
