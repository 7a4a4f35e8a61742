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
# # 08 · Paper 001 (MIDNet) — what each loss term does (Table 3)
#
# MIDNet is trained with $\mathcal{L} = \mathcal{L}_d + \lambda_1\mathcal{L}_e + \lambda_2\mathcal{L}_f$
# ($\lambda_1 = 0.05$, $\lambda_2 = 0.01$). The paper's ablation (Table 3, PSNR dB / SSIM):
#
# | $\mathcal{L}_d$ | $\mathcal{L}_e$ | $\mathcal{L}_f$ | PSNR | SSIM |
# |---|---|---|---|---|
# | ✓ | | | 34.22 | 0.939 |
# | ✓ | ✓ | | 35.00 | 0.945 |
# | ✓ | | ✓ | 35.12 | 0.945 |
# | ✓ | ✓ | ✓ | 35.26 | 0.946 |
#
# Here the same MIDNet is trained four times — same seed, data order, schedule and steps — with
# each combination. The first row also answers a question the paper leaves open: with the pixel
# loss alone, do the **attention gates** help? (compare with NAFNet trained with $\mathcal{L}_d$
# in notebook 07.)
#
# **The terms.** $\mathcal{L}_e$ compares Laplacians (image minus its blurred, down- and
# up-sampled copy: the band-pass "edge" layer of a Laplacian pyramid) with a Charbonnier
# penalty, so it weighs errors at edges more than L1 does. $\mathcal{L}_f$ is the mean modulus
# of the difference of the 2-D spectra; by Parseval it is close to a scaled pixel error, but an
# L1 in the frequency domain spreads its gradient evenly over frequencies, so the weak,
# high-frequency parts of the spectrum — where blur removes energy — are not drowned out.

# %% tags=["parameters"]
PROFILE = "quick"        # "smoke" (tests) | "quick" (laptop CPU) | "paper" (GPU)
SEED = 0
DATA_DIR = ""            # folder with the real data sets, "": $DEBLURLAB_DATA
LOSS_SETS = ["L_d", "L_d+L_e", "L_d+L_f", "L_d+L_e+L_f"]   # rows of Table 3
LAMBDA_EDGE = 0.05       # λ1
LAMBDA_FFT = 0.01        # λ2
STEPS = 0                # training steps per run, 0: the profile's (same as notebook 07)
TEST_GROUPS = ["8-1"]
COMPARE_NAFNET = True    # add NAFNet (L_d) from notebook 07 (trained here if not yet)

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import config, metrics, spectra
from deblurlab.experiments import paper001 as p1
from deblurlab.plotting import save_figure, save_table

S = p1.settings(PROFILE)
unknown = set(LOSS_SETS) - set(p1.LOSS_SETS)
if unknown:
    raise ValueError(f"unknown loss sets {sorted(unknown)}; choose from {list(p1.LOSS_SETS)}")
steps = STEPS or S["steps"]
print(f"PROFILE={PROFILE}  {steps} steps per run; λ1 = {LAMBDA_EDGE}, λ2 = {LAMBDA_FFT}")

# %%
data = p1.sem_data(seed=SEED, test_groups=tuple(TEST_GROUPS))
crops = p1.training_crops(data, PROFILE, seed=SEED)
items = p1.test_items(data, PROFILE)
print(data.description)

# %% [markdown]
# ## 1 · How large is each term?
#
# Before training: the three terms on a batch of crops with the blurred crop as the "restoration"
# (what an untrained residual network returns). The weights λ decide how much each term pulls —
# a weighted term 100× smaller than L1 steers little.

# %%
batch = torch.stack([crops[i]["blur"] for i in range(8)]), torch.stack([crops[i]["sharp"] for i in range(8)])
losses, weights = p1.loss_for("L_d+L_e+L_f", lambda_edge=LAMBDA_EDGE, lambda_fft=LAMBDA_FFT)
magnitudes = pd.DataFrame({name: {"value": float(fn(*batch)), "weight": weights[name],
                                  "weighted": weights[name] * float(fn(*batch))}
                           for name, fn in losses.items()}).T
magnitudes["share of total"] = magnitudes["weighted"] / magnitudes["weighted"].sum()
save_table(magnitudes, "08_loss_magnitudes")
magnitudes.round(4)

# %% [markdown]
# ## 2 · Four trainings
#
# The run with all three terms is the MIDNet of notebook 07 (re-loaded from its checkpoint when
# that notebook ran first with the same profile and seed).

# %%
models, histories = {}, {}
for loss in LOSS_SETS:
    spec = p1.RunSpec("midnet", loss)
    models[loss], histories[loss] = p1.train_run(spec, crops, PROFILE, seed=SEED, steps=steps,
                                                 lambda_edge=LAMBDA_EDGE, lambda_fft=LAMBDA_FFT)
    print(f"{spec.label}: {histories[loss]['time'][-1]:.0f} s training")
if COMPARE_NAFNET:
    models["NAFNet (L_d)"], histories["NAFNet (L_d)"] = p1.train_run(
        p1.RunSpec("nafnet", "L_d"), crops, PROFILE, seed=SEED, steps=steps)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for loss, h in histories.items():
    log = h.to_dataframe()
    axes[0].plot(log["step"], log["l1"], label=loss)
    for term, ls in (("edge", "--"), ("fft", ":")):
        if term in log:
            axes[1].plot(log["step"], log[term], ls, label=f"{loss}: {term}")
axes[0].set(xlabel="step", ylabel="L1 (training crops)", yscale="log", title="pixel term")
axes[1].set(xlabel="step", ylabel="unweighted value", yscale="log", title="edge and FFT terms")
for ax in axes:
    ax.legend(fontsize=7)
fig.tight_layout()
save_figure(fig, "08_training_terms");

# %% [markdown]
# ## 3 · Table 3 on the held-out group

# %%
outputs = {"blurred": [it["blur"] for it in items]}
for label, model in models.items():
    outputs[label] = [p1.restore(model, it["blur"]) for it in items]
per_image = p1.evaluate(outputs, items)
table3 = metrics.summarize(per_image.drop(columns="image"), by="method").loc[list(outputs)]
PAPER_TABLE3 = pd.DataFrame({"paper PSNR": [34.22, 35.00, 35.12, 35.26],
                             "paper SSIM": [0.939, 0.945, 0.945, 0.946]},
                            index=["L_d", "L_d+L_e", "L_d+L_f", "L_d+L_e+L_f"])
table3 = table3.join(PAPER_TABLE3)
table3["training seconds"] = [np.nan] + [histories[k]["time"][-1] for k in models]
save_table(table3, f"08_table3_{PROFILE}")
save_table(per_image, f"08_table3_per_image_{PROFILE}")
table3[["psnr", "ssim", "paper PSNR", "paper SSIM", "training seconds"]]

# %%
pv = per_image.pivot(index="image", columns="method", values="psnr")
deltas = pd.DataFrame({f"{k} − L_d": pv[k] - pv["L_d"] for k in models if k != "L_d" and "L_d" in pv})
if not deltas.empty:
    summary = deltas.agg(["mean", "std", "min", "max"]).T
    summary["images better"] = (deltas > 0).sum().astype(str) + f"/{len(deltas)}"
    save_table(summary, f"08_psnr_gain_over_L_d_{PROFILE}")
    print("PSNR change per test image against the L_d-only run (dB); paper: +0.78, +0.90, +1.04")
    display(summary.round(3))

# %% [markdown]
# ## 4 · Where in the spectrum do the terms act?
#
# Radially averaged power spectra of the restorations divided by the reference's (0 dB = the
# reference's power at that frequency). Blur shows as a fall at high frequency; a loss that
# restores high frequencies lifts the curve towards 0 dB, and overshoot above 0 dB is ringing or
# noise.

# %%
fig, ax = plt.subplots(figsize=(7, 3.6))
NBINS = 32  # the test tiles differ in size after registration: fixed rings make them comparable
freqs = spectra.radial_psd(items[0]["sharp"], nbins=NBINS)[0]
ref = np.mean([spectra.radial_psd(it["sharp"], nbins=NBINS)[1] for it in items], axis=0)
for label, images in outputs.items():
    psd = np.mean([spectra.radial_psd(im, nbins=NBINS)[1] for im in images], axis=0)
    ax.plot(freqs, 10 * np.log10(psd / ref), label=label)
ax.axhline(0, color="k", lw=0.7)
ax.set(xlabel="spatial frequency (cycles/px)", ylabel="power / reference (dB)",
       title="radially averaged PSD relative to the sharp reference")
ax.legend(fontsize=8)
save_figure(fig, "08_relative_psd");

# %% [markdown]
# ## 5 · Try other weights
#
# The four trainings fix λ1 and λ2 at the paper's values. Here you can move them: the zoom view
# shows one test tile restored by the first and the last loss set (move it with `x` / `y`), the
# spectrum view the same window, and the playground fine-tunes a copy of the `L_d` model for a few
# steps with the weights on its sliders (*edge* = λ1, *freq* = λ2, plus the library's other terms).
# Each *Run* adds its restoration to the views and a row to the table. Run headless, the views
# are drawn once and nothing is fine-tuned.
#
# **Task.** Give *edge* ten times the paper's weight. Does the difference map show sharper edges,
# or ringing beside them? Compare the row's PSNR with the `L_d` row of Table 3.

# %%
from deblurlab.widgets import LossPlayground, SpectrumView, ZoomCrops

it = items[0]
first, last = list(models)[0], list(models)[-1]
zoom_view = ZoomCrops({"blurred": it["blur"], first: outputs[first][0],
                       **({last: outputs[last][0]} if last != first else {}),
                       "reference": it["sharp"]}, zoom=4)
zoom_view.show()
spectrum_view = SpectrumView(zoom_view)
spectrum_view.show()
playground = LossPlayground(models[first], crops, {"blurred": it["blur"], "reference": it["sharp"]},
                            weights={"l1": 1.0, "edge": LAMBDA_EDGE, "freq": LAMBDA_FFT},
                            steps=max(5, min(steps // 10, 200)), lr=S["lr"], batch_size=S["batch"],
                            zoom=zoom_view, seed=SEED)
playground.show()  # nothing runs until you press Run

# %% [markdown]
# ## Questions
#
# 1. In section 1, what fraction of the total loss do the edge and FFT terms carry at the
#    paper's λ? How would you choose λ so each term carries a similar share — and is that what
#    you want?
# 2. Does any term lift the high-frequency end of the relative PSD? Does that show up in PSNR,
#    in SSIM, in neither?
# 3. Compare `L_d` (MIDNet, gates) with `NAFNet (L_d)` (no gates): is the difference larger than
#    the spread between seeds? Rerun both with `SEED = 1` to find out.
#
# **How this differs from the paper.** Same caveats as notebook 07: small networks, a few hundred
# CPU steps, registered tiles of one held-out source image. The paper's gains are 0.8–1.0 dB
# after 200k iterations; at `quick` scale the differences between loss sets may be within the
# noise of a single seed — the per-image table shows whether they are consistent.
