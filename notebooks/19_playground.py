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
# # 19 · Playground — your own images, zoom crops, spectra and loss weights
#
# A notebook for lab members who bring their own micrographs. Point `DATA_FOLDER` at a folder,
# run all cells, and you get
#
# 1. a small network trained briefly on your pairs (or on the embedded synthetic pairs),
# 2. **zoom crops** — blurred / restored / reference side by side at a region you move with the
#    `x`, `y` and `zoom` sliders, with one contrast stretch for all panels and a difference map,
# 3. **spectra** of the same crop — log-magnitude spectrum, radially averaged PSD, line profiles
#    with markers at ±0.25 cycles/px (where paper 000's perceptual-loss artifacts sit) and the
#    difference to the reference in dB,
# 4. a **loss-weight playground** — sliders for L1, the VGG perceptual term (and its layer),
#    the frequency loss L_f, the edge loss, the sharpness term −β·Q and 1 − SSIM; *Run* fine-tunes
#    a copy of the network for a few steps and adds the result to the views and to a table, so
#    you can compare settings side by side.
#
# **Your folder** (TIFF or PNG, 8 or 16 bit, grey or RGB — RGB is turned into luminance):
#
# | layout | example | meaning |
# |---|---|---|
# | two sub-folders `blur/` and `sharp/` | `blur/cell1.tif` + `sharp/cell1.tif` | pairs, matched by file name |
# | one folder, name suffixes | `cell1_blur.tif` + `cell1_sharp.tif` (also `_blurred`, `_ref`, `_gt`, `-blur`, …) | pairs |
# | one folder, no suffix | `cell2.tif` | a single blurred image without reference |
#
# Single blurred images are restored and shown (blurred vs restored, spectra, the no-reference
# sharpness Q); metrics that need a reference are left empty. The network always trains on
# *pairs*: yours if the folder has any, otherwise the embedded synthetic pairs.
#
# Without a front end (papermill, `make run`) every view is also drawn as a static figure above
# its widget, and nothing waits for input.

# %% tags=["parameters"]
PROFILE = "quick"      # "smoke" (tests, seconds) | "quick" (a laptop, minutes) | "paper" (GPU)
DATA_FOLDER = ""       # your images (layouts above); "": embedded synthetic demo pairs (8- and 16-bit files)
IMAGE = 0              # which image of the folder the views show (sorted by name)
MODEL = "residual_cnn" # a name of deblurlab.models.available_models() (residual_cnn starts near identity)
MODEL_KWARGS = None    # dict of arguments for MODEL; None: a small default per profile (small_unet, residual_cnn)
CHECKPOINT = ""        # weights for MODEL (.pt from deblurlab.train); "": train STEPS steps here
STEPS = None           # pre-training steps (None: by profile)
FINETUNE_STEPS = None  # steps of each playground run (None: by profile)
LR = 1e-3              # learning rate of the pre-training
FINETUNE_LR = 1e-4     # learning rate of the playground runs
# initial slider values of the playground (0 switches a term off)
L1 = 1.0               # L1 pixel loss
VGG = 0.0              # VGG19 perceptual loss (paper 000: 0.3; needs the VGG19 weights in DEBLURLAB_WEIGHTS)
VGG_LAYER = "conv_2_1" # VGG19 feature map of the perceptual loss
FREQ = 0.0             # frequency loss L_f (paper 000: 3e-4, paper 001: 0.01)
EDGE = 0.0             # edge loss L_e (paper 001: 0.05)
Q = 0.0                # β of the sharpness term −β·Q (paper 003: 0.01–0.1)
SSIM = 0.0             # 1 − SSIM (paper 002's BDU+UC+SSIM: 1)
ZOOM = 3.0             # initial zoom factor of the crop view
SEED = 0

# %%
import time

import numpy as np
from IPython.display import display

from deblurlab import config
from deblurlab.arrays import centre_crop
from deblurlab.checkpoint import load_weights
from deblurlab.infer import predict
from deblurlab.io import write_image
from deblurlab.losses import l1_loss
from deblurlab.models import available_models, build_model, count_parameters
from deblurlab.plotting import save_figure, save_table
from deblurlab.simulate import synthetic_pairs
from deblurlab.train import fit
from deblurlab.widgets import (LossPlayground, SpectrumView, ZoomCrops, cache_crops,
                               load_image_folder, metrics_table)

T0 = time.perf_counter()
SETTINGS = {
    # view: side of the shown image (larger images are centre-cropped for the views);
    # crop / n_crops: the cached training crops; width: of the default small networks
    "smoke": dict(view=96, crop=48, n_crops=16, steps=20, finetune=3, width=8, demo=96),
    "quick": dict(view=384, crop=64, n_crops=256, steps=400, finetune=40, width=16, demo=256),
    "paper": dict(view=1024, crop=128, n_crops=2048, steps=5000, finetune=200, width=32, demo=512),
}
S = SETTINGS[PROFILE]
steps = S["steps"] if STEPS is None else int(STEPS)
finetune_steps = S["finetune"] if FINETUNE_STEPS is None else int(FINETUNE_STEPS)
_ = config.seed_everything(SEED)

# %% [markdown]
# ## 1 · Load the images
#
# Without `DATA_FOLDER` the notebook writes a small demo folder first — two synthetic pairs, one
# as **16-bit TIFF** and one as **8-bit PNG**, plus a single blurred 16-bit image without
# reference — and then reads it exactly as it would read yours, so the whole path is exercised.

# %%
if DATA_FOLDER:
    folder = DATA_FOLDER
else:
    folder = config.build_dir("playground_demo")
    demo = synthetic_pairs(3, S["demo"], seed=SEED, read_noise=0.005)
    write_image(folder / "demo1_blur.tif", demo[0][0], dtype="uint16")
    write_image(folder / "demo1_sharp.tif", demo[0][1], dtype="uint16")
    write_image(folder / "demo2_blur.png", demo[1][0], dtype="uint8")
    write_image(folder / "demo2_sharp.png", demo[1][1], dtype="uint8")
    write_image(folder / "demo3.tif", demo[2][0], dtype="uint16")  # no reference
    print(f"no DATA_FOLDER: wrote the synthetic demo images to {folder}")

items = load_image_folder(folder)
for i, it in enumerate(items):
    ref = "with reference" if it["sharp"] is not None else "no reference"
    print(f"[{i}] {it['name']}: {it['blur'].shape}, {it['source_dtype']} (range {it['data_range']}), {ref}")
if not 0 <= IMAGE < len(items):
    raise ValueError(f"IMAGE={IMAGE}, but the folder has {len(items)} images (0 … {len(items) - 1})")
pairs = [(it["blur"], it["sharp"]) for it in items if it["sharp"] is not None]

# %% [markdown]
# ## 2 · A network to play with
#
# The playground fine-tunes *a copy* of this network. Give `CHECKPOINT` to start from weights
# you trained elsewhere; otherwise it is trained here for `STEPS` steps on random crops of the
# pairs (cached in memory, also used by the playground). That is a short training: the restored
# image shows what a few hundred steps do, not what a converged model does.

# %%
train_pairs = pairs
if not train_pairs or min(min(b.shape) for b, _ in train_pairs) < S["crop"]:
    print("no pairs large enough in the folder: training on embedded synthetic pairs instead")
    train_pairs = [(b, s) for b, s, _ in synthetic_pairs(8, 2 * S["crop"], seed=SEED + 1)]
crops = cache_crops(train_pairs, S["crop"], S["n_crops"], seed=SEED)

kwargs = dict(MODEL_KWARGS) if MODEL_KWARGS else {"small_unet": dict(width=S["width"], levels=2),
                                "residual_cnn": dict(width=S["width"], depth=6)}.get(MODEL, {})
if MODEL not in available_models():
    raise KeyError(f"MODEL={MODEL!r} is not registered; choose one of {available_models()}")
model = build_model(MODEL, **kwargs)
print(f"{MODEL}({kwargs}): {count_parameters(model):,} parameters; {len(crops[0])} cached crops of {S['crop']}²")
if CHECKPOINT:
    load_weights(model, CHECKPOINT)
    print(f"weights from {CHECKPOINT}")
else:
    history = fit(model, crops, losses={"l1": l1_loss},
                  steps=steps, lr=LR, batch_size=4, seed=SEED, progress=PROFILE != "smoke",
                  log_every=max(1, steps // 10))
    print(f"trained {steps} steps with L1 in {history['time'][-1]:.1f} s; last loss {history['loss'][-1]:.4f}")

# %% [markdown]
# ## 3 · Zoom crops
#
# Move the region with `x` / `y`, magnify with `zoom`. The contrast stretch maps the chosen
# percentiles of the crops to black and white — *linked* means one mapping for all panels, so
# a grey level means the same in each (unlink it to see faint detail in every panel on its own).
# The bottom row is each panel minus the reference: red where it is brighter, blue where darker.
#
# **Task.** Find a region where the restoration invents structure that is not in the reference
# (red/blue texture in flat areas). Does the blurred image show the same structure?

# %%
shown = items[IMAGE]
blurred = shown["blur"]
if max(blurred.shape) > S["view"]:
    print(f"{shown['name']} is {blurred.shape}: the views show its central {S['view']}² px")
    blurred = centre_crop(blurred, min(S["view"], *blurred.shape))
restored = np.clip(predict(model, blurred), 0, 1)
panels = {"blurred": blurred, f"restored ({MODEL})": restored}
if shown["sharp"] is not None:
    panels["reference"] = centre_crop(shown["sharp"], blurred.shape)
else:
    print(f"{shown['name']} has no reference: only blurred and restored are shown, no difference map")

display(metrics_table(panels).round(4))
zoom = ZoomCrops(panels, zoom=ZOOM)
save_figure(zoom.figure(), "19_playground_zoom")
zoom.show()

# %% [markdown]
# ## 4 · Spectra of the same crop
#
# The view follows the zoom region (untick *crop of the zoom view* for the whole image). A
# network that paints a period-4 pattern shows peaks at the dashed ±0.25 cycles/px markers; the
# right-hand plot reads them directly as dB above the reference.
#
# **Question.** Blur removes high frequencies: where does the blurred curve leave the reference
# in the radial PSD, and how much of that gap does the restoration close?

# %%
spectrum = SpectrumView(zoom)
save_figure(spectrum.figure(), "19_playground_spectra")
spectrum.show()

# %% [markdown]
# ## 5 · Loss-weight playground
#
# Set the weights, press **Run**: a copy of the network above is fine-tuned for `steps` steps on
# the cached crops (progress bar; **Stop** ends it after the current step), the restored image
# appears in the zoom and spectrum views above as `run k`, and a row is added to the table below.
# Every run starts from the same network, so the rows compare settings, not training time.
#
# Things to try (DL@MBL style):
#
# * **Task.** Raise *vgg* to 0.3 with layer `conv_2_1`, then `conv_3_3`. Which one puts a peak at
#   ±0.25 cycles/px (paper 000)? Then add *freq* (3e-4): does the peak shrink?
# * **Task.** Increase *q* (the −β·Q sharpness term of paper 003) step by step. Q rises — does
#   PSNR follow, and what do the crops look like when β is too large?
# * **Question.** *edge* and *ssim* both reward structure. Which of them changes the difference
#   map more on your images?
#
# Under papermill one short run is made with the parameters' weights, so the table is not empty.

# %%
scored = {"blurred": blurred, **({"reference": panels["reference"]} if "reference" in panels else {})}
playground = LossPlayground(
    model, crops, scored,
    weights={"l1": L1, "vgg": VGG, "freq": FREQ, "edge": EDGE, "q": Q, "ssim": SSIM},
    layer=VGG_LAYER, steps=finetune_steps, lr=FINETUNE_LR, batch_size=4, zoom=zoom, seed=SEED)
playground.run()  # one blocking run with the parameters above (headless-safe, never waits)
save_table(playground.table(), "19_playground_runs")
playground.show()

# %%
print(f"notebook ran in {time.perf_counter() - T0:.1f} s (PROFILE={PROFILE})")
