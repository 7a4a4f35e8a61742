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
# # 01 · A first deblurring network, end to end
#
# Notebook 00 showed what blur is and what classical deconvolution recovers. Here we train a small
# convolutional network to undo blur, using the same pieces every later notebook uses:
#
# 1. **data** — paired blurred/sharp crops, split by *source group* so that no field appears in
#    both training and test (real SEM pairs when available, synthetic pairs otherwise);
# 2. **training** — `deblurlab.train.fit`: a weighted sum of named losses, seeds, a progress bar,
#    checkpoints, and exact resume after an interruption;
# 3. **inference** — `deblurlab.infer.predict_tiled`: whole images processed tile by tile so that
#    memory stays bounded, with overlaps blended so that no seams appear;
# 4. **evaluation** — PSNR / SSIM against the sharp reference, next to the blurred input and the
#    Wiener baseline, and the restored images written as 16-bit TIFF.
#
# The network is deliberately small (a three-level U-Net) so that the `quick` profile trains in
# minutes on a laptop CPU. The papers' architectures come in the following notebooks.

# %% tags=["parameters"]
PROFILE = "quick"            # "smoke" (tests, < 1 min) | "quick" (laptop, minutes) | "paper" (GPU)
SEED = 0
DATA_DIR = ""                # folder with the real data sets, "": $DEBLURLAB_DATA
DATASET = "auto"             # "auto" (midnet-sem if present, else synthetic) | "midnet-sem" | "synthetic"
TEST_GROUPS = ["8-1"]        # midnet-sem source groups held out for testing (never trained on)
VAL_GROUPS = ["7-1"]         # groups used for validation during training
REGISTER = True              # shift each blurred SEM image onto its sharp partner (they are off by up to ~22 px)
MODEL = "small_unet"         # any name from deblurlab.models.available_models()
LOSS_WEIGHTS = {"l1": 1.0, "mse": 0.0}  # weighted sum of named losses, 0 switches a term off
LR = 1e-3
SYNTHETIC_SIGMA_PX = [1.0, 3.0]  # Gaussian blur range of the synthetic pairs (pixels)
TILE = 256                   # tiled inference: tile side (a multiple of the model's size_multiple)
OVERLAP = 128                # tiled inference: overlap between tiles (must cover the receptive field)
RESUME = True                # continue from build/checkpoints/01_first_network/last.pt if it exists

# %%
import os
import shutil
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import classical, config, infer, io, metrics
from deblurlab.arrays import to_numpy, to_tensor
from deblurlab.datasets import RandomCrops, group_split, midnet_sem
from deblurlab.models import available_models, build_model, count_parameters
from deblurlab.plotting import save_figure, save_table, show_images
from deblurlab.psf import gaussian_psf
from deblurlab.simulate import SyntheticPairs
from deblurlab.train import fit, load_weights

SETTINGS = {
    "smoke": dict(steps=40, crop=64, batch=4, width=8, n_test=2, tile=128, check_resume=True),  # overlap capped at tile/4
    "quick": dict(steps=1500, crop=128, batch=8, width=16, n_test=12, tile=TILE, check_resume=False),
    "paper": dict(steps=20000, crop=256, batch=16, width=32, n_test=12, tile=TILE, check_resume=False),
}
if PROFILE not in SETTINGS:
    raise ValueError(f"PROFILE must be one of {sorted(SETTINGS)}, got {PROFILE!r}")
S = SETTINGS[PROFILE]
OVERLAP = min(OVERLAP, S["tile"] // 4) if PROFILE == "smoke" else OVERLAP
config.seed_everything(SEED)
device = config.default_device()
use_sem = DATASET == "midnet-sem" or (DATASET == "auto" and config.data_path("midnet-sem") is not None)
if DATASET not in ("auto", "midnet-sem", "synthetic"):
    raise ValueError(f"DATASET must be 'auto', 'midnet-sem' or 'synthetic', got {DATASET!r}")
print(f"PROFILE={PROFILE}  device={device}  data={'midnet-sem (real SEM pairs)' if use_sem else 'synthetic pairs'}")

# %% [markdown]
# ## 1 · Data: split by source group, then random crops
#
# The SEM set has 12 *overlapping* tiles per source field. A random split would put
# near-identical pixels in training and test and overstate the result, so whole groups are
# held out (`TEST_GROUPS`, `VAL_GROUPS`). Training sees random crops with random 90° rotations and
# flips (the same transform on blurred and sharp); the crop positions depend only on
# (seed, epoch, index), which is what makes a resumed run repeat exactly.
#
# The published SEM pairs are not aligned: blurred and sharp tiles are shifted by up to ~22 px
# (notebook 00, section 2). A network cannot learn a different random shift per image, so the
# pairs are registered first (`REGISTER`) and cropped to the region both images cover.
#
# Without real data, synthetic pairs stand in: procedural microstructures blurred by a Gaussian
# PSF of known width, so the Wiener baseline can use the true PSF.

# %%
if use_sem:
    pairs = midnet_sem(grey=True, register=REGISTER, max_shift_px=32, trim=REGISTER)
    train_set, val_set, test_set = group_split(pairs, test=tuple(TEST_GROUPS), val=tuple(VAL_GROUPS))
    train_crops = RandomCrops(train_set, S["crop"], n_per_image=8, seed=SEED)
    val_crops = RandomCrops(val_set, S["crop"], n_per_image=1, augment=False, seed=SEED)
    test_items = [test_set[i] for i in range(min(S["n_test"], len(test_set)))]
    print(f"train {len(train_set)} images ({sorted(set(train_set.groups))}), "
          f"val {len(val_set)}, test {len(test_set)} ({TEST_GROUPS})")
else:
    blur_spec = {"kind": "gaussian", "sigma_px": tuple(SYNTHETIC_SIGMA_PX)}
    train_crops = SyntheticPairs(512, crop=S["crop"], blur=blur_spec, seed=SEED)
    val_crops = SyntheticPairs(16, crop=S["crop"], blur=blur_spec, seed=SEED + 1)
    test_source = SyntheticPairs(S["n_test"], crop=256, blur=blur_spec, seed=SEED + 2)
    test_items = []
    for i in range(len(test_source)):
        blurred, sharp, meta = test_source.sample(i)
        test_items.append({"blur": blurred, "sharp": sharp, "name": f"synthetic-{i}",
                           "psf": gaussian_psf(meta["sigma_px"])})
example = train_crops[0]
fig = show_images({"training crop: blurred": example["blur"][0].numpy(),
                   "training crop: sharp": example["sharp"][0].numpy()}, size=3)
save_figure(fig, "01_training_crop");

# %% [markdown]
# ## 2 · The model
#
# A three-level U-Net (`deblurlab.models.SmallUNet`): two 3×3 convolutions per level, max-pool
# down, transposed-convolution up, skip connections, and a residual connection so the network
# learns the *correction* to the blurred input. `size_multiple` tells inference how to pad.

# %%
model = build_model(MODEL, in_ch=1, width=S["width"]) if MODEL == "small_unet" else build_model(MODEL, in_ch=1)
print(f"{MODEL}: {count_parameters(model):,} parameters, size_multiple={getattr(model, 'size_multiple', 1)}")
print("other models:", ", ".join(available_models()))

# %% [markdown]
# ## 3 · Training with checkpoints — and an interruption
#
# `fit` minimises $\sum_k w_k \, \mathcal{L}_k$ over the terms in `LOSS_WEIGHTS` and writes
# `last.pt` (model, optimiser, data order, random-number states) every `checkpoint_every` steps
# and when you press *stop*. Calling `fit` again with the same folder continues where it stopped.
#
# To show this, training is split in two calls: the first stops half-way (as if you had
# interrupted it), the second resumes to the end. In the `smoke` profile the notebook also trains
# the same model once without interruption and compares the weights: they are identical.

# %%
LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}
unknown = set(LOSS_WEIGHTS) - set(LOSSES)
if unknown:
    raise ValueError(f"unknown loss terms {sorted(unknown)}; available: {sorted(LOSSES)}")
ckpt_dir = config.build_dir("checkpoints", "01_first_network", PROFILE)
if not RESUME:
    shutil.rmtree(ckpt_dir, ignore_errors=True)
fit_args = dict(losses=LOSSES, weights=LOSS_WEIGHTS, batch_size=S["batch"], lr=LR, seed=SEED,
                val_data=val_crops, val_every=max(1, S["steps"] // 10), checkpoint_dir=ckpt_dir,
                checkpoint_every=max(1, S["steps"] // 20), device=device, log_every=max(1, S["steps"] // 50))
t0 = time.perf_counter()
fit(model, train_crops, steps=S["steps"] // 2, **fit_args)          # "interrupted" half-way
history = fit(model, train_crops, steps=S["steps"], **fit_args)      # resumes from last.pt
train_seconds = time.perf_counter() - t0
print(f"trained {S['steps']} steps in {train_seconds:.0f} s (both calls; a finished run re-loads instantly)")

if S["check_resume"]:
    reference = build_model(MODEL, in_ch=1, width=S["width"]) if MODEL == "small_unet" else build_model(MODEL, in_ch=1)
    fit(reference, train_crops, steps=S["steps"], **{**fit_args, "checkpoint_dir": None, "val_data": None})
    diff = max((a - b).abs().max().item() for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    print(f"interrupted + resumed vs uninterrupted: max |Δweight| = {diff:.3g}")

# %%
log = history.to_dataframe()
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(log["step"], log["loss"], label="training loss")
if "val_psnr" in log:
    ax2 = ax.twinx()
    val = log.dropna(subset=["val_psnr"])
    ax2.plot(val["step"], val["val_psnr"], "o-", color="C1", label="validation PSNR (dB)")
    ax2.set_ylabel("PSNR (dB)")
ax.set(xlabel="step", ylabel="loss", yscale="log", title="training history")
fig.legend(loc="upper right")
save_figure(fig, "01_training_history");

# %% [markdown]
# ## 4 · Tiled inference on whole images
#
# Real micrographs are often larger than memory allows for one forward pass (FaMM images are
# 2752×2208). `predict_tiled` cuts the image into overlapping tiles, runs them in small batches,
# and blends the overlaps with a smooth weight. Where the whole image does fit we can check the
# tiling: the difference to whole-image inference should be negligible — *if* the overlap covers
# the network's receptive field. A U-Net's receptive field is large (every max-pool doubles it),
# so we measure the seam error for several overlaps first.

# %%
model.eval()
image = to_tensor(test_items[0]["blur"])
seams = {}
for overlap in sorted({16, 32, 64, OVERLAP} | ({96, 128} if S["tile"] >= 256 else set())):
    if 2 * overlap < S["tile"]:
        diff = infer.predict_tiled(model, image, tile=S["tile"], overlap=overlap) - infer.predict(model, image)
        seams[overlap] = {"max |tiled − whole|": diff.abs().max().item(), "mean |tiled − whole|": diff.abs().mean().item()}
seam_table = pd.DataFrame(seams).T.rename_axis(f"overlap (tile {S['tile']})")
save_table(seam_table, "01_seam_error_vs_overlap");
display(seam_table)
t0 = time.perf_counter()
whole = infer.predict(model, image)
t_whole = time.perf_counter() - t0
t0 = time.perf_counter()
tiled = infer.predict_tiled(model, image, tile=S["tile"], overlap=OVERLAP)
t_tiled = time.perf_counter() - t0
seam_error = (whole - tiled).abs().max().item()
print(f"image {tuple(image.shape[-2:])}, tile {S['tile']}, overlap {OVERLAP}: "
      f"max |tiled − whole| = {seam_error:.2e}  ({t_tiled:.2f} s tiled vs {t_whole:.2f} s whole)")

# %% [markdown]
# Two things `predict` and `predict_tiled` do for you. On the CPU they run the convolutions in
# `channels_last` (NHWC) memory layout, which `benchmarks/RESULTS.md` measured 1.2–2.4× faster
# for every model here, with the same values up to float rounding (`channels_last=False`
# switches it off). And they warn when a model averages over the *whole* input (NAFNet's
# channel attention): then every tile has its own statistics and no overlap removes the
# difference — convert such a model with `deblurlab.models.local_stats.to_local_stats` first
# (notebook 07).

# %% [markdown]
# ## 5 · Evaluation against the blurred input and the classical baselines
#
# Wiener deconvolution needs a PSF. For synthetic pairs we know it; for the real SEM pairs we
# *calibrate* a Gaussian on each test pair (`classical.fit_gaussian_psf`, which looks at the sharp
# reference — an advantage the network does not get).

# %%
restored_dir = config.build_dir("restored", "01_first_network")
rows, examples = [], {}
for item in test_items:
    blurred, sharp = item["blur"], item["sharp"]
    psf = item.get("psf")
    if psf is None:
        psf, _ = classical.fit_gaussian_psf(blurred, sharp)
    outputs = {
        "blurred": blurred,
        "Wiener": classical.wiener(blurred, psf),
        "Richardson–Lucy": classical.richardson_lucy(blurred, psf, iterations=30),
        MODEL: np.clip(to_numpy(infer.predict_tiled(model, to_tensor(blurred), tile=S["tile"], overlap=OVERLAP)), 0, 1),
    }
    io.write_image(restored_dir / f"{item['name']}.tif", outputs[MODEL], dtype="uint16")
    for method, out in outputs.items():
        rows.append({"image": item["name"], "method": method,
                     "psnr": metrics.psnr(out, sharp, data_range=1.0),
                     "ssim": metrics.ssim(out, sharp, data_range=1.0)})
    examples.setdefault("first", {**outputs, "sharp": sharp})
per_image = pd.DataFrame(rows)
summary = metrics.summarize(per_image.drop(columns="image"), by="method")
save_table(summary, "01_test_metrics");
summary

# %%
crop = slice(96, 224)
fig = show_images({k: v[crop, crop] for k, v in examples["first"].items()}, size=3.2,
                  suptitle=f"test image {test_items[0]['name']} (128×128 crop)")
save_figure(fig, "01_test_crops");

back, meta = io.read_image(restored_dir / f"{test_items[0]['name']}.tif")
print(f"restored images written as 16-bit TIFF to {restored_dir}; read back: dtype {meta.source_dtype}, "
      f"data range {meta.data_range}, max round-off {np.abs(back - examples['first'][MODEL]).max():.1e}")

# %% [markdown]
# **Questions.**
# 1. Does the network beat the classical baselines here? On which images, and by how much?
#    Set `REGISTER = False`, retrain (`RESUME = False`): what happens to the network's PSNR?
# 2. Set `LOSS_WEIGHTS = {"l1": 0.0, "mse": 1.0}` and retrain (`RESUME = False`). PSNR is a
#    function of MSE — does the MSE-trained model win on PSNR? What happens to fine detail?
# 3. The seam-error table shows the error falling as the overlap grows. Estimate the U-Net's
#    receptive field from its architecture (`deblurlab.models.simple`): does the overlap at which
#    the error becomes negligible match?
#
# **How this differs from a paper setting.** The `quick` profile trains a 0.1-M-parameter U-Net for
# 1,500 steps on 128-px grey crops of 72 training tiles on a CPU; the papers train networks 30–200×
# larger for 10⁵+ steps on GPUs. Expect a clear gain over the blurred input, not state-of-the-art
# numbers.
