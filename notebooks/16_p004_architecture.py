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
# # 16 · Paper 004 — a multi-scale U-Net with head-to-tail cross-scale fusion
#
# Defocus blur in a widefield microscope grows with the distance from focus. Paper 004 (a
# multi-scale U-Net for BBBC006 fluorescence images) argues that the usual multi-scale deblurring
# cascade — Nah et al.'s "coarse-to-fine" network, where each finer scale adds *corrections* to
# an up-sampled coarser result — suits camera shake, not deconvolution:
#
# * **residual cascade** (eq. 2): L̂_K = B_K + N_K(B_K), and L̂_k = B_k + N_k(B_k, ↑L̂_{k+1}):
#   "deblurred = blurred + details", a linear sum of small non-linear corrections;
# * **head-to-tail fusion** (eq. 3–8): each scale predicts the sharp image end to end (no residual
#   to the input), and what passes between scales are *features*: the decoder ("tail") maps of
#   the coarser U-Net enter the encoder ("head") of the finer one, by summation or by
#   concatenation + 3×3 convolution.
#
# Sub-network k (k = 1 full resolution … K coarsest) is a U-Net of depth 5 − k, so all of them
# reach the same bottleneck resolution H/16. Every scale is supervised by its own MSE (eq. 6).
# The paper's equations were lost in extraction; `METHODS.md` §5 reconstructs them from the text
# and the reported parameter counts — the summation totals fit to 0.03 %, and the
# concatenation-minus-summation difference (373,248) exactly.
#
# This notebook draws the architecture, traces the feature maps through it, and builds Table 1's
# parameter column. Notebooks 17 and 18 train the models per defocus distance.

# %% tags=["parameters"]
PROFILE = "quick"     # "smoke" (tests) | "quick" (CPU, minutes) | "paper" (GPU, published sizes)
K = 4                 # number of scales to draw and trace (1-4)
FUSION = "sum"        # "sum" | "concat"
CHANNELS = 3          # image channels for the parameter counts (the paper's counts fit 3)
INPUT_SIZE = 256      # side of the traced input (a multiple of 16)

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import display
from matplotlib.patches import FancyArrowPatch, Rectangle

from deblurlab.experiments import paper004 as P
from deblurlab.models import count_parameters
from deblurlab.models.msunet import CoarseToFineUNet, MultiScaleUNet
from deblurlab.plotting import save_figure, save_table

if not 1 <= K <= 4 or FUSION not in ("sum", "concat") or INPUT_SIZE % 16:
    raise ValueError("K must be 1-4, FUSION 'sum' or 'concat', INPUT_SIZE a multiple of 16")
S = P.settings(PROFILE)
print(f"PROFILE={PROFILE}: U-Net base width {S['width']} (paper 16)")

# %% [markdown]
# ## 1 · The architecture, drawn
#
# Columns are scales (full resolution on the left); each box is one U-Net level, its height the
# channel count, its vertical position the resolution. Grey arrows: a U-Net's own skips (encoder
# → decoder). Coloured arrows: head-to-tail fusion — decoder level j of the coarser net meets
# encoder level j + 1 of the finer net, at the same resolution.

# %%
def draw_architecture(K: int, depth: int = 4, fusion: str = "sum"):
    fig, ax = plt.subplots(figsize=(3.2 * K + 1, 5))
    pos = {}
    for k in range(K):
        d = depth - k
        x0 = k * 3.2
        for j in range(d + 1):
            level = j + k                       # resolution index: H / 2^level
            y = -level
            for side, dx in (("E", 0.0), ("D", 1.6)):
                if side == "D" and j == d:
                    continue
                ax.add_patch(Rectangle((x0 + dx, y - 0.35), 1.0, 0.7, fc="#cfe3f7" if side == "E" else "#f7dccf", ec="k"))
                ax.text(x0 + dx + 0.5, y, f"{side}{j}\n{16 * 2 ** j}ch", ha="center", va="center", fontsize=7)
                pos[(k, side, j)] = (x0 + dx, y)
            if j < d:   # the U-Net's own skip, and its down / up paths
                ax.add_patch(FancyArrowPatch((x0 + 1.0, y), (x0 + 1.6, y), arrowstyle="-|>", mutation_scale=8, color="0.5"))
                ax.add_patch(FancyArrowPatch((x0 + 0.5, y - 0.35), (x0 + 0.5, y - 0.65), arrowstyle="-|>", mutation_scale=8, color="0.5"))
                if j + 1 < d:
                    ax.add_patch(FancyArrowPatch((x0 + 2.1, y - 0.65), (x0 + 2.1, y - 0.35), arrowstyle="-|>", mutation_scale=8, color="0.5"))
                else:
                    ax.add_patch(FancyArrowPatch((x0 + 1.0, y - 1.0), (x0 + 2.1, y - 0.35), arrowstyle="-|>", mutation_scale=8, color="0.5"))
        ax.text(x0 + 1.3, 0.8, f"N{k + 1}: depth {d}\ninput B{k + 1} (H/{2 ** k})", ha="center", fontsize=8)
    for k in range(K - 1):                      # coarser net k+1 → finer net k
        for j in range(depth - k - 1):
            xd, yd = pos[(k + 1, "D", j)]
            xe, ye = pos[(k, "E", j + 1)]
            ax.add_patch(FancyArrowPatch((xd + 0.5, yd - 0.35), (xe + 0.75, ye - 0.35), arrowstyle="-|>", color="C3",
                                         mutation_scale=10, connectionstyle="arc3,rad=-0.35", lw=1.2))
    ax.plot([], [], color="0.5", label="U-Net: down (max-pool), skip, up (transposed conv)")
    ax.plot([], [], color="C3", label=f"head-to-tail: coarser decoder D_j → finer encoder level j+1 ({fusion})")
    ax.legend(loc="lower right", fontsize=8)
    ax.set(xlim=(-0.5, 3.2 * K), ylim=(-depth - 1.4, 1.6), title=f"head-to-tail fusion, K = {K}, {fusion}")
    ax.axis("off")
    return fig


fig = draw_architecture(K, fusion=FUSION)
save_figure(fig, "16_architecture");

# %% [markdown]
# ## 2 · Tracing the feature maps
#
# A forward pass on a random image, recording each sub-network's input and output size. In
# training mode the model returns all K predictions (finest first); in eval mode only L̂₁.

# %%
net = MultiScaleUNet(in_ch=1, K=K, fusion=FUSION, width=S["width"])
x = torch.rand(1, 1, INPUT_SIZE, INPUT_SIZE)
outs = net.train()(x)
trace = pd.DataFrame({"scale k": range(1, K + 1),
                      "sub-network depth": [n.depth for n in net.nets],
                      "input B_k": [f"{INPUT_SIZE >> k}²" for k in range(K)],
                      "bottleneck": [f"{(INPUT_SIZE >> k) >> n.depth}²" for k, n in enumerate(net.nets)],
                      "prediction": [tuple(o.shape[-2:]) for o in outs]})
display(trace)
with torch.no_grad():
    print("eval-mode output:", tuple(net.eval()(x).shape))

# %% [markdown]
# ## 3 · Table 1's parameter column
#
# Counts with 3 channels in and out, base width 16, against the paper. Summation is
# parameter-free, so a K-scale model costs the sum of its U-Nets; concatenation adds one 3×3
# convolution per fused pair. The paper's K = 2 row (1,986,116 for both modes) fits no variant
# of this design and is treated as a table error (METHODS §5.2).

# %%
PAPER = {"unet": 1_942_962, "sum_k2": 1_986_116, "sum_k3": 2_543_478, "sum_k4": 2_569_512,
         "concat_k2": 1_986_116, "concat_k3": 2_543_478, "concat_k4": 2_942_760,
         "deepdeblur": 1_772_740, "ddn": 1_461_124, "msresnet": 4_384_262, "rdn": 811_778}
params = P.parameter_table(channels=CHANNELS)
params["paper"] = pd.array([PAPER.get(k) for k in params.index], dtype="Int64")
params["difference %"] = [round(100 * (n - p) / p, 3) if p else None
                        for n, p in zip(params["parameters"], [PAPER.get(k) for k in params.index])]
params.loc["concat_k4 − sum_k4", ["model", "parameters", "paper"]] = [
    "concatenation − summation, K = 4", params.loc["concat_k4", "parameters"] - params.loc["sum_k4", "parameters"],
    PAPER["concat_k4"] - PAPER["sum_k4"]]
save_table(params, "16_parameters")
params

# %% [markdown]
# ## 4 · Residual cascade vs head-to-tail fusion, in one experiment
#
# With all weights zero, the residual cascade returns its input — it can only *add* to the
# blurred image — while the fused model returns zeros: it has to produce the image itself.
# That is the whole difference in modelling assumption, in two lines.

# %%
cascade, fused = CoarseToFineUNet(1, K=2, width=4), MultiScaleUNet(1, K=2, width=4)
for m in (cascade, fused):
    for p in m.parameters():
        torch.nn.init.zeros_(p)
    m.eval()
x = torch.rand(1, 1, 32, 32)
with torch.no_grad():
    print("cascade(x) == x:", bool(torch.allclose(cascade(x), x)),
          "| fused(x) == 0:", bool(torch.count_nonzero(fused(x)) == 0))
print(f"parameters at K = 4, width 16, {CHANNELS} channels: cascade "
      f"{count_parameters(CoarseToFineUNet(CHANNELS, K=4)):,} (its finer nets take B_k and ↑L̂ as input), "
      f"fusion {count_parameters(MultiScaleUNet(CHANNELS, K=4)):,}")

# %% [markdown]
# **Task.** Set `K = 2` and `FUSION = "concat"`: how many parameters does fusion add, and where
# (section 3)? Check the number against 9·3C·2C summed over the fused levels.
#
# **Question.** Every sub-network reaches the same H/16 bottleneck. What does the coarsest
# sub-network's receptive field cover at full resolution, and why might that matter at 34 µm of
# defocus, where the blur disc is tens of pixels wide?
