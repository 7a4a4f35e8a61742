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
# # 05 · Paper 000, Experiment 3b — can architecture changes or a frequency loss remove the artifacts?
#
# *Krawczyk et al., "Reducing artifact generation when using perceptual loss for image deblurring
# of microscopy data", Methods in Microscopy 2024.*
#
# Notebooks 02 and 03 showed *where* the perceptual-loss artifacts come from (VGG19's second
# block paints a period-4 checkerboard, a peak at **f_A = ±0.25 cycles/px**; the third block
# paints "blobs") and *when* (the more blur, the more artifact). This notebook asks the practical
# question: **can we get rid of them?** The paper tries two kinds of remedy.
#
# 1. **Change the network's "white" layers** — the two ×2 down-samplings per encoder and the two
#    ×2 up-samplings per decoder of the DHN, the classic sources of checkerboards
#    (`deblurlab.models.updown`):
#
#    | variant | down-sampling | up-sampling | from |
#    |---|---|---|---|
#    | baseline | conv 3×3, stride 2 | transposed conv 4×4, stride 2 | DMPHN |
#    | **Resize** | unchanged | nearest-neighbour ×2, then conv 3×3 | Odena et al. 2016 |
#    | **Smooth** | fixed smoothing, then strided conv | transposed conv, then fixed smoothing | Kinoshita & Kiya 2020 |
#    | **WT** | Haar wavelet transform, then conv | conv, then inverse Haar transform | MWCNN, Liu et al. 2018 |
#
# 2. **Add a frequency loss** that penalises differences between the Fourier transforms of the
#    output and the reference, so a spurious peak in the spectrum costs something directly:
#    $\mathcal{L}_f = \operatorname{mean}_{u,v}\,\lvert\mathcal{F}(f(X))(u,v) - \mathcal{F}(Y)(u,v)\rvert$
#    and $\mathcal{L} = \mathcal{L}_1 + \alpha\,\mathcal{L}_{VGG} + \beta\,\mathcal{L}_f$ with
#    α = 0.3, β = 3·10⁻⁴ (the paper's ratio α : β = 1000 : 1; the formula itself was lost in the
#    paper's text, METHODS §1.5 gives the reconstruction used here).
#
# Every combination — feature map `conv_2_1` or `conv_3_3` × four variants × with/without L_f —
# is trained with identical hyper-parameters, plus the L1-only baseline: 17 models.
#
# **Paper's finding (Table 2, Figs. 9–10).** The architecture changes alone do *not* remove the
# artifacts: Resize damps f_A but creates new spectral peaks, Smooth damps the spectrum around f_A
# so strongly that information is lost, WT even *raises* the peak at f_A. Adding L_f evens out the
# spectrum and gives the best results — except Smooth + L_f, whose training became unstable. The
# recommended model is **conv_2_1 + WT + L_f**. Here we check which of these statements hold on
# our data and budget.

# %% tags=["parameters"]
PROFILE = "quick"      # "smoke" (tests) | "quick" (CPU: baseline and WT, 9 models) | "paper" (GPU, all 17)
SEED = 0               # must match notebook 02 to re-use its models
DATA_DIR = ""          # folder with the real data sets, "": $DEBLURLAB_DATA (synthetic data if unset)
LAYERS = ["conv_2_1", "conv_3_3"]              # VGG19 feature maps of the perceptual term (Table 2)
VARIANTS = ["baseline", "resize", "smooth", "wt"]  # DHN up/down layers, "baseline" is the reference
WITH_LF = [False, True]                        # train each model without and with the frequency loss
ALPHA = 0.3            # weight of the perceptual term (paper: 0.3)
BETA = 3e-4            # weight of the frequency loss (paper: ALPHA / 1000)
ARTIFACT_FREQ = 0.25   # cycles/px at which the artifact is read (period-4 pattern, f_A)
EXAMPLE = 0            # which test crop Fig. 9 shows (notebook 02 shows the same one)

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import config, metrics, spectra
from deblurlab.arrays import centre_crop
from deblurlab.experiments import paper000 as P
from deblurlab.io import read_image
from deblurlab.models import count_parameters
from deblurlab.perceptual import VGGFeatureDistance
from deblurlab.plotting import save_figure, save_table, show_images

S = P.settings(PROFILE)  # training / evaluation budget shared by notebooks 02–05
SETTINGS = {
    # variants: which of VARIANTS are trained (None: all of them). smoke and quick train only
    # baseline and WT (9 of the 17 models: WT + L_f is the paper's recommendation) so that
    # notebooks 02–05 stay under 30 minutes on two CPU cores; Resize and Smooth are one edit away
    # ("quick": dict(variants=None), about 2.5 minutes per extra model).
    "smoke": dict(variants=["baseline", "wt"]),
    "quick": dict(variants=["baseline", "wt"]),
    "paper": dict(variants=None),
}
NB = SETTINGS[PROFILE]
variants = [v for v in VARIANTS if NB["variants"] is None or v in NB["variants"]] or list(VARIANTS[:2])
if "baseline" not in variants:  # every comparison below is "variant vs the baseline layers"
    variants = ["baseline"] + variants
if len(variants) < len(VARIANTS):
    print(f"PROFILE={PROFILE}: training only the variants {variants} of {VARIANTS}")


def short(variant, freq):
    """Short model name within one feature map: 'baseline', 'WT + L_f', …"""
    name = P.VARIANT_LABELS[variant] or "baseline"
    return f"{name} + L_f" if freq else name


data = P.materials_data(seed=SEED)
crops = P.training_crops(data, PROFILE, seed=SEED)
test = P.test_crops(data, PROFILE)
print(f"PROFILE={PROFILE}: DHN width {S['width']}, {S['steps']} steps of batch {S['batch']} × {S['crop']}² crops, lr {S['lr']}")
print(f"data: {data.source}")
print(f"test: {len(test)} crops of {test[0]['sharp'].shape} (most structured window of each) from {len(data.test)} held-out pairs")

# %% [markdown]
# ## 1 · Up to seventeen models, one recipe
#
# `P.train_run` gives every configuration the same initial weights (where the layers coincide),
# the same crops in the same order, the same optimiser and schedule; only the loss terms and the
# up/down layers differ. The runs without L_f and with the baseline layers are exactly the models
# of notebook 02 — they are re-loaded from `build/checkpoints/paper000/`, not trained again.
#
# The variants change the number of parameters a little (the WT layers see four sub-bands, the
# Resize up-sampling uses a 3×3 instead of a 4×4 kernel):

# %%
specs = [P.RunSpec()] + [P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA)
                         for layer in LAYERS for variant in variants for freq in WITH_LF]
print(f"{len(specs)} models")
print("parameters per variant:", ", ".join(
    f"{v} {count_parameters(P.build_dhn(P.RunSpec(variant=v), PROFILE, seed=SEED)):,}" for v in variants))

models, histories = {}, {}
for spec in specs:
    models[spec.label], histories[spec.label] = P.train_run(spec, crops, PROFILE, seed=SEED,
                                                            progress=PROFILE != "smoke")
by_label = {spec.label: spec for spec in specs}

# %% [markdown]
# The paper reports that **Smooth + L_f trained unstably**. The curves below show the L1 part of
# every loss during training (solid: without L_f, dashed: with L_f): an unstable run shows up as a
# curve that stalls or climbs while the others fall.

# %%
fig, axes = plt.subplots(1, len(LAYERS), figsize=(6 * len(LAYERS), 3.6), squeeze=False, sharey=True)
l1_log = histories["L1"].to_dataframe()
for ax, layer in zip(axes[0], LAYERS):
    ax.plot(l1_log["step"], l1_log["l1"], color="black", lw=1, label="L1 only")
    for i, variant in enumerate(variants):
        for freq in WITH_LF:
            spec = P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA)
            log = histories[spec.label].to_dataframe()
            ax.plot(log["step"], log["l1"], color=f"C{i}", ls="--" if freq else "-", lw=1,
                    label=short(variant, freq))
    ax.set(xlabel="step", ylabel="L1 term", yscale="log", title=f"VGG {layer}")
    ax.legend(fontsize=7, ncol=2)
fig.suptitle("training: the L1 part of each loss")
fig.tight_layout()
save_figure(fig, "05_training_l1");

final_l1 = pd.Series({label: h.to_dataframe()["l1"].tail(5).mean() for label, h in histories.items()})
ratio = final_l1 / final_l1["L1"]
print("final L1 term relative to the L1-only model (mean of the last logged steps):")
print(ratio.round(2).to_string())

# %% [markdown]
# **How much does each term weigh?** A weight such as α = 0.3 only means something relative to
# the size of the terms it multiplies. The table lists each *weighted* term, averaged over the
# last logged training steps, and the share of the total loss that L_f contributes. A term with a
# share of 10⁻⁶ cannot steer the training, whatever its weight is called.

# %%
balance_rows = []
for spec in specs:
    log = histories[spec.label].to_dataframe().tail(5)
    row = {"model": spec.label, "L1": log["l1"].mean()}
    row["α·L_VGG"] = spec.alpha * log["vgg"].mean() if "vgg" in log and spec.layer else 0.0
    row["β·L_f"] = spec.beta * log["freq"].mean() if "freq" in log and spec.freq else 0.0
    row["β·L_f share"] = row["β·L_f"] / (row["L1"] + row["α·L_VGG"] + row["β·L_f"])
    balance_rows.append(row)
balance = pd.DataFrame(balance_rows).set_index("model")
save_table(balance, "05_loss_balance");
lf_models = balance[balance["β·L_f"] > 0]
if len(lf_models):
    share = lf_models["β·L_f share"]
    print(f"L_f contributes {share.min():.1e} … {share.max():.1e} of the total loss of the L_f models; "
          f"α·L_VGG is {(balance.loc[lf_models.index, 'α·L_VGG'] / balance.loc[lf_models.index, 'L1']).median():.3g}× the L1 term (median)")
    needed = (0.1 / 0.9) * (lf_models["L1"] + lf_models["α·L_VGG"]) / (lf_models["β·L_f"] / BETA)
    print(f"a 10 % share for L_f would need BETA ≈ {needed.median():.2g} (median over these models)")
balance.map(lambda v: f"{v:.3g}")

# %% [markdown]
# ## 2 · Table 2 — image quality and the artifact measure
#
# All models restore the same held-out test crops. The paper scores MS-SSIM (↑) and DISTS (↓).
# DISTS needs an ImageNet VGG16 that is not available offline, so the **VGG19-feature distance**
# (an LPIPS-like distance from the offline VGG19 weights, ↓) stands in — it is *not* DISTS, and
# since it is computed from the same network as the perceptual loss, it is biased towards the
# perceptual-loss models. PSNR (↑) and the **artifact measure** complete the table: the dB excess
# of the restored spectrum over the sharp reference at ±f_A (0 dB: as much energy at f_A as the
# sharp image has). Values are mean ± standard deviation over the test crops; the paper's numbers
# stand beside ours (on FaMM, with real DISTS, so only the *ordering* is comparable). MS-SSIM needs
# crops of at least 176 px; the smoke profile's crops are smaller, so it has no MS-SSIM column.

# %%
feature_distance = VGGFeatureDistance()
table, restored = P.evaluate_runs(models, test, PROFILE, f=ARTIFACT_FREQ, feature_distance=feature_distance)
value_cols = [c for c in ("ms_ssim", "vgg_dist", "psnr", "artifact_db", "ssim") if c in table]
summary = metrics.summarize(table[["model"] + value_cols], by="model")
order = ["blurred"] + [s.label for s in specs]
summary = summary.reindex(order)

PAPER_TABLE2 = {  # Table 2 of the paper (FaMM test set): MS-SSIM and DISTS, mean ± std
    "L1": ("0.958 ± 0.047", "0.162 ± 0.079"),
    "L1 + VGG conv_2_1": ("0.957 ± 0.049", "0.143 ± 0.080"),
    "L1 + VGG conv_2_1 + Resize": ("0.959 ± 0.046", "0.140 ± 0.088"),
    "L1 + VGG conv_2_1 + Resize + L_f": ("0.955 ± 0.050", "0.137 ± 0.075"),
    "L1 + VGG conv_2_1 + Smooth": ("0.958 ± 0.046", "0.134 ± 0.083"),
    "L1 + VGG conv_2_1 + Smooth + L_f": ("0.785 ± 0.100", "0.339 ± 0.050"),
    "L1 + VGG conv_2_1 + WT": ("0.963 ± 0.042", "0.128 ± 0.083"),
    "L1 + VGG conv_2_1 + WT + L_f": ("0.960 ± 0.047", "0.128 ± 0.075"),
    "L1 + VGG conv_3_3": ("0.951 ± 0.053", "0.113 ± 0.072"),
    "L1 + VGG conv_3_3 + Resize": ("0.952 ± 0.052", "0.115 ± 0.072"),
    "L1 + VGG conv_3_3 + Resize + L_f": ("0.952 ± 0.052", "0.117 ± 0.072"),
    "L1 + VGG conv_3_3 + Smooth": ("0.950 ± 0.054", "0.117 ± 0.078"),
    "L1 + VGG conv_3_3 + Smooth + L_f": ("0.532 ± 0.079", "0.467 ± 0.023"),
    "L1 + VGG conv_3_3 + WT": ("0.957 ± 0.048", "0.106 ± 0.069"),
    "L1 + VGG conv_3_3 + WT + L_f": ("0.958 ± 0.046", "0.106 ± 0.069"),
}
summary["paper MS-SSIM"] = [PAPER_TABLE2.get(label, ("—", "—"))[0] for label in summary.index]
summary["paper DISTS"] = [PAPER_TABLE2.get(label, ("—", "—"))[1] for label in summary.index]
save_table(summary, "05_table2");

NAMES = {"ms_ssim": "MS-SSIM ↑", "vgg_dist": "VGG19-feature dist. ↓ (not DISTS)", "psnr": "PSNR (dB) ↑",
         "artifact_db": f"artifact at ±{ARTIFACT_FREQ:g} (dB)", "ssim": "SSIM ↑"}
shown_cols = ["n"] + [c for c in NAMES if c in summary] + ["paper MS-SSIM", "paper DISTS"]
summary[shown_cols].rename(columns=NAMES)

# %% [markdown]
# The paper marks the best model *within* each feature-map group in bold. The same, computed
# here (for the artifact measure "best" means closest to 0 dB — both a peak and a hole at f_A
# are departures from the sharp reference):

# %%
best_rows = []
for layer in LAYERS:
    group = summary.loc[[s.label for s in specs if s.layer == layer]]
    row = {"group": f"VGG {layer}"}
    for col, pick in (("ms_ssim", "max"), ("vgg_dist", "min"), ("psnr", "max"), ("artifact_db", "absmin")):
        if f"{col}_mean" not in group:
            continue
        values = group[f"{col}_mean"]
        label = values.abs().idxmin() if pick == "absmin" else (values.idxmax() if pick == "max" else values.idxmin())
        row[NAMES[col]] = f"{short(by_label[label].variant, by_label[label].freq)}: {values[label]:.4g}"
    best_rows.append(row)
best = pd.DataFrame(best_rows).set_index("group")
save_table(best, "05_best_per_group");
best

# %% [markdown]
# ## 3 · Zoomed crops (Fig. 9)
#
# One test crop, zoomed, restored by every model: rows are the feature maps of the perceptual term
# (blue: `conv_2_1`, red: `conv_3_3`, as in the paper), columns the up/down variant without and
# with L_f. The top row holds the blurred input, the L1-only restoration and the sharp reference.
# Look for a regular grid (checkerboard), painted-on "blobs", and — for Smooth + L_f — distorted
# content. The contrast is stretched the same way in every panel (from the sharp crop) to make
# faint patterns visible.

# %%
EXAMPLE = min(EXAMPLE, len(test) - 1)
item = test[EXAMPLE]
h, w = item["sharp"].shape
side = max(32, min(h, w) // 4)
zoom = (slice(h // 2 - side // 2, h // 2 + side // 2), slice(w // 2 - side // 2, w // 2 + side // 2))
lo, hi = np.percentile(item["sharp"][zoom], [1, 99])
stretch = lambda a: np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1)  # noqa: E731 — display only
columns = [(variant, freq) for variant in variants for freq in WITH_LF]
ROW_COLOURS = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
ncols = max(len(columns), 3)
fig, axes = plt.subplots(1 + len(LAYERS), ncols, figsize=(2.0 * ncols, 2.15 * (1 + len(LAYERS))), squeeze=False)
for ax in axes.flat:
    ax.set_axis_off()
for ax, (title, image) in zip(axes[0], (("blurred", item["blur"]), ("L1", restored["L1"][EXAMPLE]),
                                        ("sharp", item["sharp"]))):
    ax.imshow(stretch(image[zoom]), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=8)
for r, layer in enumerate(LAYERS, start=1):
    colour = ROW_COLOURS[(r - 1) % len(ROW_COLOURS)]
    for c, (variant, freq) in enumerate(columns):
        label = P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA).label
        ax = axes[r, c]
        ax.imshow(stretch(restored[label][EXAMPLE][zoom]), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{layer}\n{short(variant, freq)}", fontsize=8, color=colour)
fig.suptitle(f"{item['name']}: centre {side}×{side} px of the {h}×{w} test crop")
fig.tight_layout()
save_figure(fig, "05_fig9_zoom");

# %% [markdown]
# **Interactive version.** The figure above shows one fixed window. Below, the same test crop in
# `deblurlab.widgets.ZoomCrops`: move the window with `x` / `y`, change `zoom`, and compare the
# L1 model with the first and last model of the `conv_2_1` row against the sharp reference
# (one linked contrast stretch; bottom row: difference to the reference). `SpectrumView` follows
# the window and marks ±f_A: look for the peak there. Run headless, both are drawn once as
# static figures.

# %%
from deblurlab.widgets import LossPlayground, SpectrumView, ZoomCrops

row_specs = [s for s in specs if s.layer == LAYERS[0]]
picked = {"L1": "L1", **{f"{s.layer} {short(s.variant, s.freq)}": s.label
                        for s in dict.fromkeys([row_specs[0], row_specs[-1]])}}
zoom_view = ZoomCrops({"blurred": item["blur"],
                       **{name: restored[label][EXAMPLE] for name, label in picked.items()},
                       "reference": item["sharp"]}, zoom=4)
zoom_view.show()
spectrum_view = SpectrumView(zoom_view, markers=[ARTIFACT_FREQ])
spectrum_view.show()

# %% [markdown]
# **Loss-weight playground.** Start from the L1-only model and fine-tune a copy of it for a few
# steps with your own weights (α = *vgg*, its layer, β = *freq*, and the other terms of the
# library): *Run* adds the result to the zoom and spectrum views above and a row to the table.
#
# **Task.** With *vgg* = 0.3 at `conv_2_1`, does a peak at ±0.25 cycles/px appear after a few
# dozen steps? Which β (*freq*) removes it again — and what does it cost in PSNR?

# %%
playground = LossPlayground(models["L1"], crops, {"blurred": item["blur"], "reference": item["sharp"]},
                            weights={"l1": 1.0, "vgg": ALPHA, "freq": BETA}, layer=LAYERS[0],
                            steps=max(5, min(S["steps"] // 10, 200)), lr=S["lr"], batch_size=S["batch"],
                            zoom=zoom_view, seed=SEED)
playground.show()  # nothing runs until you press Run (headless: the widget is shown, not run)

# %% [markdown]
# ## 4 · Dataset-averaged spectra (Fig. 10)
#
# A single crop's spectrum is noisy. Fig. 10 of the paper averages the power spectral density
# $\mathrm{PSD} = |F|^2/(HW)$ over the whole test set (`spectra.dataset_psd`) and shows it as
# $10\log_{10}$, centred, with frequency axes in cycles/px. A checkerboard of period 4 appears as
# bright points at (±0.25, 0) and (0, ±0.25) — marked by cyan circles. Look also for *new* peaks
# elsewhere (the paper's Resize models) and for dark lines where the spectrum has been damped
# (the paper's Smooth models). All panels share one colour scale, taken from the sharp reference.

# %%
psds = {"sharp": spectra.dataset_psd([it["sharp"] for it in test]),
        "blurred": spectra.dataset_psd(restored["blurred"])}
psds.update({label: spectra.dataset_psd(images) for label, images in restored.items() if label != "blurred"})
psd_db = {label: spectra.to_db(p) for label, p in psds.items()}
fy, fx = spectra.frequency_axis(psd_db["sharp"].shape[0]), spectra.frequency_axis(psd_db["sharp"].shape[1])
vmin, vmax = np.percentile(psd_db["sharp"], [1, 99.9])
extent = (fx[0], fx[-1], fy[-1], fy[0])


def show_psd(ax, label, title, colour="black"):
    im = ax.imshow(psd_db[label], cmap="inferno", extent=extent, vmin=vmin, vmax=vmax)
    f = ARTIFACT_FREQ
    ax.scatter([-f, f, 0, 0], [0, 0, -f, f], s=70, facecolors="none", edgecolors="cyan", lw=0.8)
    ax.set_xticks([-0.5, -0.25, 0, 0.25]); ax.set_yticks([-0.5, -0.25, 0, 0.25]); ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=8, color=colour)
    return im


fig, axes = plt.subplots(1 + len(LAYERS), ncols, figsize=(2.2 * ncols + 1, 2.4 * (1 + len(LAYERS))),
                         squeeze=False, layout="constrained")
for ax in axes.flat:
    ax.set_axis_off()
for ax, label in zip(axes[0], ("sharp", "blurred", "L1")):
    ax.set_axis_on()
    im = show_psd(ax, label, label if label != "sharp" else "sharp (reference)")
for r, layer in enumerate(LAYERS, start=1):
    for c, (variant, freq) in enumerate(columns):
        axes[r, c].set_axis_on()
        label = P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA).label
        show_psd(axes[r, c], label, f"{layer}\n{short(variant, freq)}", ROW_COLOURS[(r - 1) % len(ROW_COLOURS)])
for ax in axes[:, 1:].flat:
    ax.tick_params(labelleft=False)
fig.colorbar(im, ax=axes, shrink=0.6, label="PSD (dB)")
fig.suptitle(f"test-set averaged PSD, 10·log10, cycles/px ({len(test)} crops of {psd_db['sharp'].shape[0]}² px)")
save_figure(fig, "05_fig10_dataset_psd");

# %% [markdown]
# The same spectra as line profiles: the centre row and column of each averaged PSD (dB) *minus*
# that of the sharp reference, averaged over the two axes and plotted for positive frequencies.
# 0 dB means "as much energy as the sharp image"; a bump at the red line is the f_A artifact,
# a bump elsewhere is a new spectral artifact, a dip is damped detail.

# %%
def excess_profile(label):
    """Dataset-PSD excess over the sharp reference (dB), mean of horizontal and vertical profiles."""
    mine = spectra.line_profiles(psd_db[label], fy, fx)
    ref = spectra.line_profiles(psd_db["sharp"], fy, fx)
    f_h, d_h = mine["horizontal"][0], mine["horizontal"][1] - ref["horizontal"][1]
    f_v, d_v = mine["vertical"][0], mine["vertical"][1] - ref["vertical"][1]
    keep_h, keep_v = f_h > 0, f_v > 0
    return f_h[keep_h], 0.5 * (d_h[keep_h] + np.interp(f_h[keep_h], f_v[keep_v], d_v[keep_v]))


fig, axes = plt.subplots(1, len(LAYERS), figsize=(6 * len(LAYERS), 3.6), squeeze=False, sharey=True)
for ax, layer in zip(axes[0], LAYERS):
    ax.plot(*excess_profile("L1"), color="black", lw=1, label="L1 only")
    for i, variant in enumerate(variants):
        for freq in WITH_LF:
            label = P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA).label
            ax.plot(*excess_profile(label), color=f"C{i}", ls="--" if freq else "-", lw=1,
                    label=short(variant, freq))
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(ARTIFACT_FREQ, color="red", ls=":", lw=0.8)
    ax.set(xlabel="cycles/px", ylabel="dB over the sharp reference", title=f"VGG {layer}: averaged PSD profiles")
    ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
save_figure(fig, "05_fig10_profiles");

# %% [markdown]
# **Other spectral peaks.** Beyond f_A, where does a restoration put energy that the sharp image
# does not have? `spectra.find_peaks_db` lists the local maxima of (restored − reference) on the
# horizontal and vertical spectrum profiles of one crop that exceed 3 dB (profiles smoothed over
# 5 bins, frequencies above 0.02 cycles/px). A peak is listed below when it occurs at the same
# frequency (to 0.005 cycles/px) in at least half of the test crops (and in at least two);
# `at f_A` marks the period-4 artifact itself.

# %%
MIN_EXCESS_DB, SMOOTH_BINS = 3.0, 2
min_crops = max(min(2, len(test)), int(np.ceil(len(test) / 2)))
peak_rows = []
for label in ["L1"] + [s.label for s in specs if s.layer]:
    found = []
    for it, image in zip(test, restored[label]):
        peaks = spectra.find_peaks_db(image, it["sharp"], MIN_EXCESS_DB, smooth=SMOOTH_BINS, min_freq=0.02)
        found.append(peaks.assign(image=it["name"]))
    found = pd.concat(found, ignore_index=True)
    if found.empty:
        continue
    found["freq"] = (found["freq"] / 0.005).round() * 0.005
    for (axis, freq), grp in found.groupby(["axis", "freq"]):
        if grp["image"].nunique() >= min_crops:
            peak_rows.append({"model": label, "axis": axis, "freq (cycles/px)": round(freq, 3),
                              "crops": f"{grp['image'].nunique()}/{len(test)}",
                              "mean excess (dB)": round(grp["excess_db"].mean(), 1),
                              "at f_A": abs(freq - ARTIFACT_FREQ) <= 0.006})
peak_table = pd.DataFrame(peak_rows, columns=["model", "axis", "freq (cycles/px)", "crops",
                                              "mean excess (dB)", "at f_A"])
save_table(peak_table, "05_spectral_peaks");
counts = peak_table.groupby("model")["at f_A"].agg(at_fA="sum", total="size").reindex(
    ["L1"] + [s.label for s in specs if s.layer], fill_value=0)
counts["other peaks"] = counts["total"] - counts["at_fA"]
print("consistent peaks ≥ 3 dB per model (at f_A / elsewhere):")
print(counts[["at_fA", "other peaks"]].to_string())
peak_table[~peak_table["at f_A"]].sort_values("mean excess (dB)", ascending=False, ignore_index=True).head(25)

# %% [markdown]
# ## 5 · Did it work here?
#
# The paper's claims, checked against *our* numbers. For each feature map, every variant is
# compared with the baseline layers of the same feature map, per test crop (the same crops, so
# the differences are paired): mean change of the artifact measure ± its standard error. A
# change counts as real only when it is larger than twice its standard error (and than 0.1 dB);
# otherwise it is "no clear change". The last column reads the same number off the dataset-averaged PSD (Fig. 10).

# %%
per_image = table.pivot_table(index="image", columns="model", values="artifact_db")
psd_excess = {}
for label in psd_db:
    if label != "sharp":
        mine = spectra.db_at_frequency(psd_db[label], fy, fx, ARTIFACT_FREQ)
        psd_excess[label] = mine - spectra.db_at_frequency(psd_db["sharp"], fy, fx, ARTIFACT_FREQ)


def verdict(diff):
    mean = diff.mean()
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    if np.isnan(se) or abs(mean) <= max(2 * se, 0.1):
        return mean, se, "no clear change"
    return mean, se, "lower" if mean < 0 else "higher"


rows = []
for layer in LAYERS:
    base = P.RunSpec(layer=layer, alpha=ALPHA, beta=BETA).label
    if base not in per_image:  # WITH_LF without False: no plain baseline to compare with
        continue
    for variant, freq in columns:
        label = P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA).label
        if label == base:
            continue
        mean, se, word = verdict(per_image[label] - per_image[base])
        rows.append({"feature map": layer, "model": short(variant, freq),
                     "artifact (dB)": round(per_image[label].mean(), 2),
                     "baseline layers (dB)": round(per_image[base].mean(), 2),
                     "change (dB)": f"{mean:+.2f} ± {se:.2f}" if not np.isnan(se) else f"{mean:+.2f}",
                     "verdict": word,
                     "change, averaged PSD (dB)": round(psd_excess[label] - psd_excess[base], 2)})
did_it_work = pd.DataFrame(rows)
save_table(did_it_work, "05_did_it_work");
did_it_work

# %%
def said(layer, variant, freq):
    """One computed sentence: how the artifact of this model compares with the baseline layers."""
    base = P.RunSpec(layer=layer, alpha=ALPHA, beta=BETA).label
    label = P.RunSpec(layer=layer, variant=variant, freq=freq, alpha=ALPHA, beta=BETA).label
    mean, se, word = verdict(per_image[label] - per_image[base])
    change = {"lower": "lowers", "higher": "raises", "no clear change": "does not clearly change"}[word]
    return (f"{layer} + {short(variant, freq)} {change} the ±{ARTIFACT_FREQ:g} excess "
            f"({per_image[label].mean():+.2f} dB vs {per_image[base].mean():+.2f} dB, "
            f"paired change {mean:+.2f} dB over {len(per_image)} crops)")


l1_art = per_image["L1"].mean()
print(f"L1 only: {l1_art:+.2f} dB at ±{ARTIFACT_FREQ:g} (mean over {len(per_image)} test crops)")
for layer in LAYERS:
    base = P.RunSpec(layer=layer, alpha=ALPHA, beta=BETA).label
    if base not in per_image:
        continue
    print(f"\n{base}: {per_image[base].mean():+.2f} dB ({per_image[base].mean() - l1_art:+.2f} dB vs L1 only)")
    for variant, freq in columns:
        if (variant, freq) != ("baseline", False):
            print("  " + said(layer, variant, freq))
    if True in WITH_LF and False in WITH_LF:
        for variant in variants:
            on = P.RunSpec(layer=layer, variant=variant, freq=True, alpha=ALPHA, beta=BETA).label
            off = P.RunSpec(layer=layer, variant=variant, freq=False, alpha=ALPHA, beta=BETA).label
            mean, se, word = verdict(per_image[on] - per_image[off])
            print(f"  adding L_f to {short(variant, False)}: {mean:+.2f} dB ({word})")
if "ms_ssim_mean" in summary or "vgg_dist_mean" in summary:
    key = "ms_ssim_mean" if "ms_ssim_mean" in summary else "psnr_mean"
    candidates = summary.drop(index=["blurred"])
    print(f"\nhighest {key.replace('_mean', '')}: {candidates[key].idxmax()} ({candidates[key].max():.4g}); "
          f"lowest VGG19-feature distance: {candidates['vgg_dist_mean'].idxmin()} "
          f"({candidates['vgg_dist_mean'].min():.4g}); the paper recommends L1 + VGG conv_2_1 + WT + L_f")

# %% [markdown]
# ## 6 · Transfer check on natural images (paper SM 3)
#
# The paper's supplement shows that the artifacts also appear with *motion* blur on natural
# images (GoPro) and that conv_2_1 + WT + L_f reduces them there too. The paper retrained on
# GoPro; we have two GoPro pairs only, so we apply the *microscopy-trained* models as they are to
# grey centre crops of the pairs. That is no deblurring benchmark (the models never saw motion blur
# or natural scenes) — it asks whether a model's tendency to paint energy at f_A travels with it
# to a new domain: L1 only, the plain conv_2_1 model, and conv_2_1 + WT + L_f.

# %%
gopro_dir = config.data_path("gopro-pairs")
transfer_specs = [P.RunSpec(), P.RunSpec(layer="conv_2_1", alpha=ALPHA, beta=BETA),
                  P.RunSpec(layer="conv_2_1", variant="wt", freq=True, alpha=ALPHA, beta=BETA)]
if gopro_dir is None:
    print("GoPro pairs not found ($DEBLURLAB_DATA/gopro-pairs) — the transfer check is skipped.")
else:
    gopro = []
    gsize = min(S["eval_crop"], 720) // 4 * 4  # the frames are 1280×720
    for blur_path in sorted(gopro_dir.glob("*_blur*.png")):
        sharp_path = blur_path.with_name(blur_path.name.replace("_blur", "_sharp"))
        if sharp_path.exists():
            gopro.append({"name": blur_path.stem.replace("_blur", ""), "defocus": float("nan"),
                          "blur": centre_crop(read_image(blur_path, grey=True)[0], gsize),
                          "sharp": centre_crop(read_image(sharp_path, grey=True)[0], gsize)})
    transfer_models = {}
    for spec in transfer_specs:  # trained above when in LAYERS/VARIANTS; else trained (or re-loaded) now
        if spec.label in models:
            transfer_models[spec.label] = models[spec.label]
        else:
            transfer_models[spec.label] = P.train_run(spec, crops, PROFILE, seed=SEED, progress=False)[0]
    gopro_table, gopro_restored = P.evaluate_runs(transfer_models, gopro, PROFILE, f=ARTIFACT_FREQ,
                                                  feature_distance=feature_distance)
    gopro_cols = [c for c in ("psnr", "artifact_db", "ms_ssim", "vgg_dist") if c in gopro_table]
    gopro_summary = gopro_table.pivot_table(index="model", columns="image", values=gopro_cols, sort=False)
    gopro_summary = gopro_summary.reindex(["blurred"] + list(transfer_models))
    save_table(gopro_summary, "05_gopro_transfer")
    g = gopro[0]
    gz = (slice(gsize // 2 - gsize // 6, gsize // 2 + gsize // 6),) * 2
    panels = {"blurred": g["blur"][gz]}
    panels.update({label: gopro_restored[label][0][gz] for label in transfer_models})
    panels["sharp"] = g["sharp"][gz]
    fig = show_images(panels, ncols=len(panels), size=2.6, suptitle=f"GoPro {g['name']}: centre crop, microscopy-trained models")
    save_figure(fig, "05_gopro_transfer");
    base_art = gopro_table[gopro_table["model"] == transfer_specs[1].label]["artifact_db"].mean()
    best_art = gopro_table[gopro_table["model"] == transfer_specs[2].label]["artifact_db"].mean()
    print(f"GoPro ({len(gopro)} pairs, {gsize}² grey crops): artifact at ±{ARTIFACT_FREQ:g} "
          f"conv_2_1 {base_art:+.2f} dB → conv_2_1 + WT + L_f {best_art:+.2f} dB ({best_art - base_art:+.2f} dB)")
    display(gopro_summary.round(3))

# %% [markdown]
# **Questions.** (1 and 3 need the Resize and Smooth models, which `smoke` and `quick` skip to
# keep notebooks 02–05 short on a CPU: run `PROFILE = "paper"` on a GPU, or set
# `SETTINGS["quick"] = dict(variants=None)` in the cell after the parameters and re-run.)
# 1. Which variant lowers the excess at f_A the most, and what does it cost in MS-SSIM / PSNR? Does
#    the averaged spectrum (Fig. 10) of that model show peaks *elsewhere* — the paper's complaint
#    about Resize?
# 2. The paper found that WT alone *raises* the f_A peak and that L_f brings it down. Does the
#    "Did it work here?" table agree? If not, is the difference larger than its standard error?
# 3. Look at the training curves of the Smooth + L_f models. Is there any sign of the unstable
#    training the paper reports? Our Smooth layers use gain-normalised kernels
#    (`DHN(smooth_gain="normalised")`); the paper's reference code does not normalise — why could
#    an un-normalised kernel (DC gain 4 after each down-sampling) destabilise training?
# 4. The VGG19-feature distance rewards the perceptual-loss models. Which model would you pick
#    from the table alone, and which after looking at Fig. 9? Why might they differ?
#
# **Task.** The loss-balance table (section 1) shows how much L_f actually contributes. Set `BETA`
# to the value printed there for a 10 % share, `VARIANTS = ["baseline", "wt"]`, and re-run (the
# runs get new checkpoint names, so nothing is overwritten): does a frequency loss that really
# counts remove the f_A peak, and what happens to PSNR and to the VGG19-feature distance?
#
# ## How this differs from the paper
#
# * **Data.** FaMM (35,709 light-microscopy images) is not obtainable offline; the models train on
#   a real reflected-light focus series and registered SEM pairs (about 90 grey training images;
#   the paper uses RGB), or on synthetic microstructures when no real data is configured. The
#   test set is a handful of held-out crops, so standard deviations and standard errors are large.
# * **Budget.** `quick` trains a DHN 4× narrower than the paper's for 300 steps of 64² crops on a
#   CPU (the paper: 100 FaMM epochs at 256² on a GPU), and only the baseline and WT variants —
#   the Resize and Smooth rows of Table 2 need `"quick": dict(variants=None)` or the paper
#   profile; `smoke` trains 4 steps. Far from convergence, the artifacts — which the paper sees after
#   full training — may be weak or absent, and any ranking here is provisional. `PROFILE = "paper"`
#   runs the paper's schedule on a GPU.
# * **Frequency loss.** The paper's L_f formula was lost in extraction; we use the mean modulus of
#   the complex FFT difference with β = α/1000 (METHODS §1.5). A different reading (amplitude
#   only, sum instead of mean, another FFT normalisation, another VGG input scaling) changes the
#   effective weight of L_f by orders of magnitude — the loss-balance table shows what it is
#   here, and a verdict on L_f means little when its share is negligible.
# * **Smooth layers.** Order d = 1 with gain-normalised kernels (METHODS §1.3); the paper does not
#   state d, and the reference kernels are un-normalised.
# * **Metrics.** DISTS (and LPIPS) need the ImageNet VGG16, which is not available offline; the
#   VGG19-feature distance stands in and is labelled as such. The artifact measure and the
#   peak table are our quantitative reading of the paper's qualitative Fig. 10.
# * **Transfer (SM 3).** The paper retrains on GoPro; we only apply the microscopy models to two
#   GoPro pairs.
