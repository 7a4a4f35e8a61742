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
# # 11 · Paper 002 — improving the burst network: Dense U-Net, "transition up", SSIM loss (Table 2)
#
# After Table 1 (notebook 10) the paper keeps the burst network and asks **which changes make
# its restorations better and remove its grid-like pattern?** Three steps, each added to the
# previous one:
#
# 1. **BDU+T** — the per-frame U-Net of BU is replaced by a *Dense U-Net* (FC-DenseNet /
#    "Tiramisu", Jégou et al. 2017), still up-sampling with transposed convolutions;
# 2. **BDU+UC** — the transposed convolutions are replaced by a "transition up" of
#    nearest-neighbour ×2 up-sampling followed by a convolution (Odena et al., Distill 2016);
# 3. **BDU+UC+SSIM** — the gradient term of the loss is replaced by an SSIM term.
#
# Published (Table 2, SSIM / PSNR dB, mean ± std over the test tiles, 5 frames per burst):
#
# | configuration | kidney SSIM | kidney PSNR | grid SSIM | grid PSNR |
# |---|---|---|---|---|
# | no deblurring | 0.77 ± 0.051 | 29.29 ± 2.71 | 0.56 ± 0.071 | 21.58 ± 0.94 |
# | BU | 0.85 ± 0.045 | 31.98 ± 3.61 | 0.89 ± 0.036 | 28.23 ± 1.69 |
# | BDU+T | 0.86 ± 0.045 | 32.65 ± 2.66 | 0.90 ± 0.027 | 29.22 ± 1.40 |
# | BDU+UC | 0.85 ± 0.047 | 33.22 ± 2.52 | 0.90 ± 0.022 | 28.92 ± 1.38 |
# | BDU+UC+SSIM | 0.87 ± 0.048 | 33.17 ± 2.02 | 0.90 ± 0.025 | 29.10 ± 1.42 |
#
# The differences between the three BDU rows are small next to the standard deviations; the
# paper's main argument for BDU+UC(+SSIM) is visual (its Fig 7: BU and BDU+T show a grid-like
# pattern, BDU+UC a "wobbly" texture, BDU+UC+SSIM neither). The paper trains with 3–5 frames per
# burst and evaluates with 5; here every network is also evaluated with **3 frames** — not a
# column of the paper — to see how much the extra frames are worth. We also look for the grid
# pattern where it must show up if it is there: in the Fourier spectrum, at the periods of the
# up-sampling layers.

# %% tags=["parameters"]
PROFILE = "quick"        # "smoke" (tests) | "quick" (laptop CPU, small networks) | "paper" (GPU, full size)
SEED = 0
DATA_DIR = ""            # real data sets ("tissue" sources for the kidney set), "": $DEBLURLAB_DATA
DATASET = "kidney"       # "kidney" | "grid"
RUNS = ["bu", "bdu_t", "bdu_uc", "bdu_uc_ssim"]  # keys of deblurlab.experiments.paper002.RUNS
STEPS = 0                # training steps per network, 0: the profile's
EVAL_FRAMES = [3, 5]     # frames per test burst (the paper evaluates with 5)
BLUR_LENGTH = [10.0, 20.0]  # motion-blur length range (px) of the simulated bursts (notebook 09's default)
NOISE_SIGMA = 0.05         # Gaussian noise σ of the simulated frames (notebook 09's default)

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import metrics, spectra
from deblurlab.experiments import paper002 as p2
from deblurlab.models import count_parameters
from deblurlab.models.dense_burst import TransitionUp
from deblurlab.plotting import save_figure, save_table, show_images

S = p2.settings(PROFILE)
SIM = dict(blur_length=BLUR_LENGTH, noise_sigma=NOISE_SIGMA)  # burst simulation (p2.burst_kwargs)
print("burst simulation:", p2.burst_kwargs("kidney", SIM))  # also fails early on a bad value
unknown = [r for r in RUNS if r not in p2.RUNS or r == "gan"]
if unknown:
    raise ValueError(f"unknown runs {unknown}; choose from {[r for r in p2.RUNS if r != 'gan']}")
if DATASET not in p2.DATASETS:
    raise ValueError(f"DATASET must be one of {p2.DATASETS}, got {DATASET!r}")
if not EVAL_FRAMES or any(int(n) != n or n < 1 for n in EVAL_FRAMES):
    raise ValueError(f"EVAL_FRAMES must be positive frame counts, got {EVAL_FRAMES}")
LABELS = {r: p2.RUNS[r]["label"] for r in RUNS}
steps = STEPS or S["steps"]
print(f"PROFILE={PROFILE}  data={DATASET}: {steps} steps per network, batch {S['batch']}, "
      f"{S['crop']}² training crops of 3–5 frames; {S['n_test']} test tiles of {S['test_crop']}², "
      f"evaluated with {EVAL_FRAMES} frames")

# %% [markdown]
# ## 1 · What changes between the variants
#
# | run | per-frame network | up-sampling | loss | Adam lr |
# |---|---|---|---|---|
# | BU | U-Net (ELU, BN, weight norm), cross-frame max after every block | transposed conv 4×4, stride 2 | L1 + L1 of ∂x, ∂y | 3·10⁻³ |
# | BDU+T | Dense U-Net: 4 + 4 dense blocks, cross-frame max after each encoder block | transposed conv 3×3, stride 2 | L1 + L1 of ∂x, ∂y | 10⁻³ |
# | BDU+UC | same | nearest ×2 → conv 3×3 | L1 + L1 of ∂x, ∂y | 10⁻³ |
# | BDU+UC+SSIM | same | nearest ×2 → conv 3×3 | L1 + (1 − SSIM) | 10⁻³ |
#
# **Dense blocks.** Inside a block every layer (BN → ReLU → conv 3×3 → dropout) sees the
# concatenation of the block input and of *all* earlier layers' outputs and adds only `k`
# ("growth rate") new maps. Features are re-used instead of re-computed, so a Dense U-Net has far
# fewer parameters than a U-Net of similar depth (below).
#
# **Why transposed convolutions draw grids.** A transposed convolution with stride 2 writes each
# input pixel's kernel into the output at steps of 2. With a 3×3 kernel, output pixels on even
# rows/columns receive contributions from a different number of kernel taps than those on odd
# ones (uneven overlap): even a constant input comes out as a period-2 pattern — a checkerboard,
# energy at **0.5 cycles/px**. Stacking two such layers gives period 4 (**0.25 cycles/px**), three
# period 8, and so on. Training can learn kernels that cancel the pattern, but nothing forces it
# to. Nearest ×2 followed by a convolution treats every output pixel alike, so it has no built-in
# period. (BU's 4×4 kernel overlaps evenly at stride 2, but the kernel weights themselves can still
# differ between the four output phases.) The cell below feeds a constant image through the two
# `TransitionUp` layers of `deblurlab.models.dense_burst` with all weights set to 1.

# %%
def up_demo(mode, n_layers, size=16, border=4):
    """A constant image through ``n_layers`` ×2 up-samplings with all weights 1 (border cut off)."""
    x = torch.ones(1, 1, size, size)
    layer = TransitionUp(1, mode)
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
        layer.conv.bias.zero_()
        for _ in range(n_layers):
            x = layer(x)
    return x[0, 0, border:-border, border:-border].numpy()  # away from the zero-padded border


inner = {f"{mode}, {n} layer{'s' * (n > 1)}": up_demo(mode, n)
         for mode in ("transposed", "nearest_conv") for n in (1, 2)}
rows = []
for name, im in inner.items():
    spec, fy, fx = spectra.magnitude_spectrum_db(im - im.mean())
    prof = spectra.line_profiles(spec, fy, fx)["horizontal"]
    rows.append({"layers": name, "distinct values": len(np.unique(im.round(6))),
                 **{f"dB at {f} cycles/px": float(prof[1][np.argmin(np.abs(prof[0] - f))])
                    for f in (0.25, -0.5)}})
display(pd.DataFrame(rows).set_index("layers").round(1))
fig = show_images({k: v / v.max() for k, v in inner.items()}, size=2.4,
                  suptitle="constant input, all weights 1 (centre of the output)")
save_figure(fig, "11_upsampling_demo");

# %% [markdown]
# (−160 dB is the floor of `magnitude_spectrum_db`: no energy at all.) One transposed layer puts
# energy at 0.5 cycles/px only, two layers also at 0.25; nearest + conv leaves a constant image
# constant. Those are the frequencies to measure in section 4.
#
# Network sizes as this profile builds them (`paper`: the published widths). BDU+T and BDU+UC
# have *identical* parameter counts: a 3×3 transposed conv n → n and a 3×3 conv n → n both hold
# 9n² + n weights — the variants differ in how the output is formed, not in size. BDU+UC+SSIM is
# the BDU+UC network with another loss.

# %%
sizes = pd.DataFrame([{
    "run": LABELS[r], "network": p2.RUNS[r]["model"], "loss": p2.RUNS[r]["loss"], "lr": p2.RUNS[r]["lr"],
    "parameters": count_parameters(p2.build(p2.RUNS[r]["model"], PROFILE))} for r in RUNS]).set_index("run")
save_table(sizes, f"11_networks_{S['size']}")
sizes

# %% [markdown]
# ## 2 · Training — same data, seed and budget
#
# Every run sees the same simulated training bursts (3–5 frames, one random count per batch) in
# the same order, from the same seed; the BDU variants also start from the same initial weights
# (the BU network is another architecture). Finished runs are re-loaded from
# `build/checkpoints/paper002/` — the BU run is the one notebook 10 trained, when it exists.

# %%
models, histories = {}, {}
for run in RUNS:
    models[run], histories[run] = p2.train_run(run, DATASET, PROFILE, seed=SEED, steps=STEPS or None, sim=SIM)
    print(f"{LABELS[run]:12s} {histories[run]['time'][-1]:7.1f} s training")
train_time = pd.Series({LABELS[r]: histories[r]["time"][-1] for r in RUNS}, name="training seconds")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for run, h in histories.items():
    log = h.to_dataframe()
    ax.plot(log["step"], log["loss"], label=f"{LABELS[run]} ({p2.RUNS[run]['loss']})")
ax.set(xlabel="step", ylabel="training loss", yscale="log",
       title="training loss (the SSIM run optimises a different loss: not comparable)")
ax.legend(fontsize=8)
save_figure(fig, "11_training_curves");

# %% [markdown]
# ## 3 · Table 2 — and 3 versus 5 frames
#
# The test bursts are simulated from sources none of the networks saw. With 3 frames the test
# set holds **the same scenes** (the same sharp tiles, from the same seed) but its frames are a
# new simulation — new blur lengths, drift and noise, not the first three of the 5-frame bursts.
# "No deblurring" is the centre frame of each burst, so its 3- and 5-frame rows differ only by
# that re-simulation.

# %%
tables, per_images, outputs_by_n, items_by_n = [], [], {}, {}
for n in EVAL_FRAMES:
    items = p2.test_bursts(DATASET, PROFILE, seed=SEED, frames=n, sim=SIM)
    outputs = {"no deblurring": p2.no_deblurring(items)}
    for run in RUNS:
        outputs[LABELS[run]] = [p2.restore(models[run], it["frames"]) for it in items]
    per_image = p2.evaluate(outputs, items)
    table = metrics.summarize(per_image.drop(columns="image"), by="method").loc[list(outputs)]
    table.insert(0, "frames", n)
    tables.append(table)
    per_images.append(per_image.assign(frames=n))
    outputs_by_n[n], items_by_n[n] = outputs, items
table2 = pd.concat(tables)
table2["training seconds"] = [train_time.get(m, np.nan) for m in table2.index]

PAPER_TABLE2 = {  # Table 2 of the paper, SSIM / PSNR mean ± std, evaluated with 5 frames
    "kidney": {"no deblurring": ("0.77 ± 0.051", "29.29 ± 2.71"), "BU": ("0.85 ± 0.045", "31.98 ± 3.61"),
               "BDU+T": ("0.86 ± 0.045", "32.65 ± 2.66"), "BDU+UC": ("0.85 ± 0.047", "33.22 ± 2.52"),
               "BDU+UC+SSIM": ("0.87 ± 0.048", "33.17 ± 2.02")},
    "grid": {"no deblurring": ("0.56 ± 0.071", "21.58 ± 0.94"), "BU": ("0.89 ± 0.036", "28.23 ± 1.69"),
             "BDU+T": ("0.90 ± 0.027", "29.22 ± 1.40"), "BDU+UC": ("0.90 ± 0.022", "28.92 ± 1.38"),
             "BDU+UC+SSIM": ("0.90 ± 0.025", "29.10 ± 1.42")},
}[DATASET]
is5 = table2["frames"] == 5
table2["paper SSIM (5 frames)"] = [PAPER_TABLE2[m][0] if f5 else "" for m, f5 in zip(table2.index, is5)]
table2["paper PSNR (5 frames)"] = [PAPER_TABLE2[m][1] if f5 else "" for m, f5 in zip(table2.index, is5)]
save_table(table2, f"11_table2_{PROFILE}")
save_table(pd.concat(per_images, ignore_index=True), f"11_table2_per_image_{PROFILE}")
table2[["frames", "n", "ssim", "psnr", "training seconds", "paper SSIM (5 frames)", "paper PSNR (5 frames)"]]

# %% [markdown]
# ### What do the extra frames buy?
#
# Per scene (the sharp tiles are the same in both test sets), the 5-frame result minus the
# 3-frame result, mean ± std over the tiles. For "no deblurring" this is pure re-simulation
# noise — the yardstick for the network rows.

# %%
if {3, 5} <= set(EVAL_FRAMES):
    pi = pd.concat(per_images, ignore_index=True)  # tile names are the same in both test sets
    pv = pi.pivot_table(index=["method", "image"], columns="frames", values=["psnr", "ssim"])
    gain = pd.DataFrame({"ΔPSNR 5 − 3 (dB)": pv["psnr"][5] - pv["psnr"][3],
                         "ΔSSIM 5 − 3": pv["ssim"][5] - pv["ssim"][3]}).reset_index()
    frame_gain = metrics.summarize(gain.drop(columns="image"), by="method").loc[list(outputs_by_n[5])]
    save_table(frame_gain, f"11_frames_5_minus_3_{PROFILE}")
    display(frame_gain[["n", "ΔPSNR 5 − 3 (dB)", "ΔSSIM 5 − 3"]])
else:
    print("EVAL_FRAMES does not hold both 3 and 5: frame comparison skipped")

# %% [markdown]
# ### Did each step help *here*?
#
# Each variant minus the one before it, per test tile (paired, same tiles), with the number of
# tiles on which the step helped — at the largest frame count evaluated.

# %%
n_main = max(EVAL_FRAMES)
pi = per_images[EVAL_FRAMES.index(n_main)].pivot(index="image", columns="method", values=["psnr", "ssim"])
order = [LABELS[r] for r in ("bu", "bdu_t", "bdu_uc", "bdu_uc_ssim") if r in RUNS]
steps_rows = []
for before, after in zip(order[:-1], order[1:]):
    d_psnr = pi["psnr"][after] - pi["psnr"][before]
    d_ssim = pi["ssim"][after] - pi["ssim"][before]
    steps_rows.append({"step": f"{before} → {after}", "ΔPSNR (dB)": d_psnr.mean(), "std": d_psnr.std(),
                       "helped on": f"{(d_psnr > 0).sum()}/{len(d_psnr)}", "ΔSSIM": d_ssim.mean()})
if steps_rows:
    step_table = pd.DataFrame(steps_rows).set_index("step")
    save_table(step_table, f"11_steps_{PROFILE}")
    display(step_table.round(4))

# %% [markdown]
# ## 4 · Spectrum evidence — is there a grid, and at which period?
#
# For every restored tile we take the centred log-magnitude spectrum
# (`spectra.magnitude_spectrum_db`, no window, as in the paper series) and subtract that of its
# sharp reference; the mean over the tiles is the **relative spectrum**: 0 dB = the restoration
# has the reference's energy at that frequency, > 0 dB = added energy, < 0 dB = missing (blur).
# A grid pattern is a *narrow* peak, so next to the value at ±f we report it **above its
# neighbourhood** (the median of the bins 2–5 positions away on the same line) — a broad lift of
# all high frequencies (noise) is not a grid. Lines: the centre row (horizontal frequencies), the
# centre column (vertical frequencies; the motion blur is vertical) and the diagonal (fy = fx, where
# a checkerboard's (0.5, 0.5) lies). +0.5 cycles/px is not on an even-length axis, so "0.5"
# reads the −0.5 bin only.

# %%
FREQS = (0.125, 0.25, 0.5)   # periods 8, 4 and 2 px
PEAK_DB = 3.0                 # a bin counts as a peak when it stands this far above its neighbours
WINDOW = None                 # None (paper) or "hann"

items5 = items_by_n[n_main]
outputs5 = outputs_by_n[n_main]
methods = [m for m in outputs5 if m != "no deblurring"]


def relative_spectra(images, refs):
    """Per tile: spectrum of the restoration minus spectrum of the reference (dB)."""
    rel = [spectra.magnitude_spectrum_db(im, window=WINDOW)[0] - spectra.magnitude_spectrum_db(ref, window=WINDOW)[0]
           for im, ref in zip(images, refs)]
    _, fy, fx = spectra.magnitude_spectrum_db(refs[0])
    return np.stack(rel), fy, fx


def lines(rel, fy, fx):
    prof = spectra.line_profiles(rel, fy, fx)
    return {"horizontal": prof["horizontal"], "vertical": prof["vertical"], "diagonal": (fx, np.diagonal(rel))}


def read_peak(freqs, values, f):
    """Mean value at the exact bins ±f, and that value minus the median of bins 2–5 away."""
    idx = [int(np.argmin(np.abs(freqs - s * f))) for s in (-1, 1)]
    idx = sorted({i for i in idx if np.isclose(abs(freqs[i]), f)})
    near = [j for i in idx for d in (2, 3, 4, 5) for j in (i - d, i + d) if 0 <= j < len(freqs)]
    value = float(np.mean(values[idx]))
    return value, value - float(np.median(values[near]))


refs = [it["sharp"] for it in items5]
rel_mean, rows = {}, []
for method, images in outputs5.items():
    rel, fy, fx = relative_spectra(images, refs)
    rel_mean[method] = rel.mean(axis=0)
    for axis, (freqs, _) in lines(rel_mean[method], fy, fx).items():
        for f in FREQS:
            per_tile = [read_peak(freqs, lines(r, fy, fx)[axis][1], f) for r in rel]
            value, peak = read_peak(freqs, lines(rel_mean[method], fy, fx)[axis][1], f)
            rows.append({"method": method, "line": axis, "f (cycles/px)": f, "dB vs reference": value,
                         "std over tiles": float(np.std([v for v, _ in per_tile], ddof=1)) if len(rel) > 1 else np.nan,
                         "peak above neighbours (dB)": peak,
                         "tiles with peak": f"{sum(p >= PEAK_DB for _, p in per_tile)}/{len(rel)}"})
spectrum_table = pd.DataFrame(rows).set_index(["method", "line", "f (cycles/px)"])
save_table(spectrum_table, f"11_spectrum_{PROFILE}")
spectrum_table.round(2)

# %% [markdown]
# A single spectrum bin of a single tile is noisy (several dB), so "tiles with peak" reaches a
# few out of twelve by chance — the "no deblurring" rows, which contain no up-sampling at all, show
# how many. The verdict below therefore reads the *mean* relative spectrum only, with
# "no deblurring" as the control — and reports only what the numbers show (a peak ≥ `PEAK_DB`
# above its neighbours):

# %%
peak = spectrum_table["peak above neighbours (dB)"].unstack("method")  # (line, f) × method
for method in ["no deblurring", *methods]:
    found = peak[method][peak[method] >= PEAK_DB]
    if np.mean([im.std() for im in outputs5[method]]) < 1e-3:
        print(f"{method:13s} output (almost) constant — undertrained? nothing to read in its spectrum")
    elif found.empty:
        print(f"{method:13s} no peak ≥ {PEAK_DB} dB above its neighbours at {FREQS} cycles/px on any line")
    else:
        where = ", ".join(f"{line} {f} ({p:+.1f} dB)" for (line, f), p in found.items())
        print(f"{method:13s} peaks at: {where}")
if {"BDU+T", "BDU+UC"} <= set(methods):
    diff = (peak["BDU+T"] - peak["BDU+UC"]).rename("BDU+T − BDU+UC peak (dB)").to_frame()
    save_table(diff, f"11_spectrum_t_minus_uc_{PROFILE}")
    display(diff.round(2))

# %%
lim = float(np.clip(np.nanpercentile(np.abs(np.stack([rel_mean[m] for m in methods])), 99), 3.0, 30.0))
fig, axes = plt.subplots(1, len(methods) + 1, figsize=(3.2 * (len(methods) + 1), 3.4), squeeze=False)
for ax, m in zip(axes[0], ["no deblurring", *methods]):
    imh = ax.imshow(rel_mean[m], cmap="RdBu_r", vmin=-lim, vmax=lim,
                    extent=[fx[0], fx[-1], fy[-1], fy[0]])
    ax.set_title(m, fontsize=9)
    ax.set(xlabel="fx (cycles/px)")
axes[0][0].set_ylabel("fy (cycles/px)")
fig.colorbar(imh, ax=axes[0].tolist(), shrink=0.8, label="dB vs reference")
fig.suptitle(f"mean relative log-magnitude spectrum, {n_main} frames")
save_figure(fig, "11_relative_spectra");

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
for ax, axis in zip(axes, ("horizontal", "vertical", "diagonal")):
    for m in ["no deblurring", *methods]:
        freqs, values = lines(rel_mean[m], fy, fx)[axis]
        emphasis = m in ("BDU+T", "BDU+UC")
        ax.plot(freqs, values, label=m, lw=1.4 if emphasis else 0.8, alpha=1.0 if emphasis else 0.6)
    for f in FREQS:
        for s in (-1, 1):
            ax.axvline(s * f, color="grey", ls=":", lw=0.8)
    ax.axhline(0, color="k", lw=0.7)
    ax.set(xlabel="cycles/px" + (" (fy = fx)" if axis == "diagonal" else ""), ylabel="dB vs reference",
           title=f"{axis} line")
axes[0].legend(fontsize=8)
fig.suptitle("line profiles of the mean relative spectrum (dotted: ±0.125, ±0.25, ±0.5)")
fig.tight_layout()
save_figure(fig, "11_relative_spectrum_lines");

# %% [markdown]
# ## 5 · Image crops
#
# A whole test tile per row (5 frames), then the centre of the first tile enlarged, where
# pixel-level patterns are visible.

# %%
for k in range(min(2, len(items5))):
    panels = {"no deblurring": outputs5["no deblurring"][k]}
    panels.update({m: outputs5[m][k] for m in methods})
    panels["sharp"] = items5[k]["sharp"]
    fig = show_images(panels, size=2.6, suptitle=f"{DATASET}: test burst {items5[k]['name']} ({n_main} frames)")
    save_figure(fig, f"11_examples_{k}")

side = max(16, S["test_crop"] // 4)
c0 = (S["test_crop"] - side) // 2
box = (slice(c0, c0 + side), slice(c0, c0 + side))
panels = {"no deblurring": outputs5["no deblurring"][0][box]}
panels.update({m: outputs5[m][0][box] for m in methods})
panels["sharp"] = items5[0]["sharp"][box]
fig = show_images(panels, size=2.6, suptitle=f"centre {side}×{side} px of {items5[0]['name']}, enlarged")
save_figure(fig, "11_examples_zoom");

# %% [markdown]
# ## Questions
#
# 1. Order the four runs by PSNR and by SSIM, here and in the paper. The paper's BDU differences
#    are smaller than its standard deviations — are ours? Use the paired "did each step help"
#    table: how many tiles does a step need to win before you believe it?
# 2. BDU+UC+SSIM is trained on (1 − SSIM) and evaluated with SSIM. The paper itself warns that
#    its SSIM gain may come from that. Which metric would you add to judge it fairly?
# 3. Does BDU+T show a peak at 0.25 or 0.5 cycles/px in *this* training budget? Re-run with
#    `STEPS` ×4: does a peak appear, grow or get trained away? Does BU's even-overlap 4×4 kernel
#    behave differently from BDU+T's 3×3?
# 4. How much do two extra frames buy, compared with the architecture changes? Is that
#    consistent with what a burst network is supposed to exploit?
# 5. Switch `DATASET = "grid"`. The paper finds the grid network learns the grid texture (Fig 8):
#    which lines of the relative spectrum change?
#
# **How this differs from the paper.** Simulated TEM-like bursts (vertical motion blur of random
# length, drift, Gaussian noise, 8-bit window) from synthetic and other microscopy sources,
# instead of registered MiniTEM streams with real HQ references; small networks (`quick`: BU at
# 1/8 width, BDU with first conv 16, growth 6, 2-layer dense blocks; the paper: 48 / 12 /
# 4 layers) trained for a few hundred CPU steps of batch 4 on 64² crops instead of 2000 epochs
# on 128² crops; no validation-based epoch selection and no learning-rate decay for BU; one seed.
# The 3-frame evaluation is an addition (the paper evaluates with 5 frames only). The numbers
# are not comparable with the paper's; the *direction* of each change and the spectrum evidence
# are what to compare. With one seed, how large run-to-run noise is remains unknown here: re-run
# with `SEED = 1` before reading much into differences of a few tenths of a dB.
