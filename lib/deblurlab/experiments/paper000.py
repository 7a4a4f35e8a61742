"""Paper 000 — shared set-up of the perceptual-loss artifact experiments (notebooks 02–05).

Krawczyk et al., "Reducing artifact generation when using perceptual loss for image deblurring
of microscopy data for microstructure analysis", Methods in Microscopy 2024. The paper trains a
DHN (:mod:`deblurlab.models.dhn`) on FaMM (35,709 light-microscopy images of four materials,
not obtainable offline) with L1, L1 + 0.3·L_VGG at one VGG19 layer, and variants of the up/down
layers and an extra frequency loss, then reads the period-4 artifact off the spectra.

Every notebook of the series uses the same pieces from here, so that "identical
hyper-parameters" holds by construction:

* :func:`materials_data` — the real pairs that stand in for FaMM (reflected-light focus series of
  a wafer and registered SEM pairs of material microstructure), split by field / source group;
  synthetic microstructures blurred by the defocus simulator when no real data is configured;
* :class:`RunSpec` — one training configuration (feature layer, up/down variant, L_f on/off);
* :func:`train_run` — trains it, or re-loads the finished checkpoint under ``build/`` (a model
  trained in one notebook is reused by the next without training again);
* :func:`restore` / :func:`evaluate_runs` — tiled inference and the per-image table (MS-SSIM,
  PSNR, SSIM, the offline VGG19-feature distance and the artifact measure in dB at ±0.25).

Example:
    >>> spec = RunSpec(layer="conv_2_1", variant="wt", freq=True)
    >>> spec.label, spec.key
    ('L1 + VGG conv_2_1 + WT + L_f', 'vgg-conv_2_1_wt_lf')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import config, focus, infer, metrics
from ..arrays import structured_crop_box, to_numpy, to_tensor
from ..datasets import ConcatPairs, PairedDataset, PairList, RandomCrops, group_split, make_item, midnet_sem
from ..losses import loss_terms
from ..models.dhn import DHN
from ..perceptual import VGGFeatureDistance, artifact_measure
from ..simulate import SyntheticPairs, synthetic_pairs
from ..train import History, fit

#: The feature maps of Experiment 1 (VGG19, pre-ReLU; METHODS §1.4).
FEATURE_LAYERS = ("conv_1_1", "conv_1_2", "conv_2_1", "conv_2_2",
                  "conv_3_1", "conv_3_2", "conv_3_3", "conv_3_4")
VARIANT_LABELS = {"baseline": "", "resize": "Resize", "smooth": "Smooth", "wt": "WT"}

#: Per-profile settings. ``paper`` follows seed §4.1 (Adam 1e-4, batch 32, 256² crops, DHN width
#: 32; 100 FaMM epochs ≈ 89k steps). The CPU profiles use a 4× narrower DHN (341 k instead of
#: 5.4 M parameters), small crops and a few hundred steps with a larger learning rate: enough
#: to learn a visible deblurring, far from convergence — the notebooks say so where it matters.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(width=8, crop=48, batch=2, steps=4, lr=1e-3, eval_crop=128, n_test=2,
                  n_per_image=2, tile=128),
    "quick": dict(width=8, crop=64, batch=8, steps=300, lr=5e-4, eval_crop=384, n_test=8,
                  n_per_image=16, tile=256),
    "paper": dict(width=32, crop=256, batch=32, steps=89_000, lr=1e-4, eval_crop=1024, n_test=None,
                  n_per_image=64, tile=512),
}


def settings(profile: str) -> dict[str, Any]:
    """The settings of ``profile`` (``smoke`` | ``quick`` | ``paper``); unknown → ``ValueError``."""
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {sorted(PROFILES)}, got {profile!r}")
    return dict(PROFILES[profile])


# ------------------------------------------------------------------------------------ data

@dataclass
class MaterialsData:
    """Train/test pairs for the experiments. ``train`` may be a paired data set or, for the
    synthetic fallback, a ready crop data set; ``test`` is always a paired data set."""

    train: PairedDataset | SyntheticPairs
    test: PairedDataset
    source: str
    real: bool


def materials_data(*, seed: int = 0, synthetic_test: int = 8) -> MaterialsData:
    """Real materials pairs standing in for FaMM, split so no field is in train and test.

    * ``reflected-focus`` (reflected-light microscope, metal on a wafer, real focus blur — the
      closest to FaMM): field ``ix000_iy000`` trains, field ``ix000_iy001`` tests; planes are
      registered onto the in-focus plane.
    * ``midnet-sem`` (SEM of microstructures, real blur): groups 1-1 … 7-1 train, 8-1 tests;
      registered (the published pairs are shifted by up to ~22 px).

    Without either, synthetic grains/particles blurred with the diffraction defocus PSF
    (BBBC006-like optics, 2–20 µm) stand in, and ``real`` is ``False``.
    """
    train_parts: dict[str, PairedDataset] = {}
    test_parts: dict[str, PairedDataset] = {}
    notes = []
    if config.data_path("reflected-focus"):
        fields = focus.reflected_focus_fields()
        series = [focus.load_reflected_focus(field=f, grey=True) for f in fields[:2]]
        train_parts["reflected"] = focus.FocusPairs(series[0], register=True, max_shift_px=16)
        if len(series) > 1:
            test_parts["reflected"] = focus.FocusPairs(series[1], register=True, max_shift_px=16)
        notes.append(f"reflected-focus (train field {fields[0]}, test field {fields[1] if len(fields) > 1 else '—'})")
    if config.data_path("midnet-sem"):
        sem = midnet_sem(grey=True, register=True, max_shift_px=32, trim=True)
        train, _, test = group_split(sem, test=("8-1",))
        train_parts["sem"], test_parts["sem"] = train, test
        notes.append("midnet-sem (train groups 1-1…7-1, test 8-1)")
    if train_parts and test_parts:
        return MaterialsData(ConcatPairs(**train_parts), ConcatPairs(**test_parts),
                             "; ".join(notes), real=True)
    blur = {"kind": "defocus", "defocus_um": (2.0, 20.0), "optics": "bbbc006-20x"}
    kinds = ("grains", "particles", "fibres")
    train = SyntheticPairs(512, crop=128, kinds=kinds, blur=blur, seed=seed)
    test_items = [make_item(b, s, name=f"synthetic-{i}", group=f"synthetic-{i}")
                  for i, (b, s, _) in enumerate(synthetic_pairs(synthetic_test, (384, 384), kinds=kinds,
                                                                psf=blur, seed=seed + 1000))]
    return MaterialsData(train, PairList(test_items), "synthetic microstructures (no real data configured)",
                         real=False)


def training_crops(data: MaterialsData, profile: str, *, seed: int = 0):
    """Random ``crop``-sized training crops with rot90/flip augmentation (a torch Dataset)."""
    s = settings(profile)
    if isinstance(data.train, SyntheticPairs):
        return SyntheticPairs(len(data.train), crop=s["crop"], kinds=data.train.kinds,
                              blur=data.train.blur, seed=seed)
    return RandomCrops(data.train, s["crop"], n_per_image=s["n_per_image"], seed=seed)


#: Test crops whose sharp reference has a smaller standard deviation carry no structure for the
#: spectra to measure (the reflected-light test field is bare wafer: std 0.007–0.010); a dB
#: excess over an almost empty reference spectrum says nothing about artifacts.
MIN_TEST_CONTRAST = 0.02


def test_crops(data: MaterialsData, profile: str, *, min_contrast: float = MIN_TEST_CONTRAST,
               eval_crop: int | None = None, n_test: int | None = None
               ) -> list[dict[str, Any]]:
    """``eval_crop`` crops of the test pairs: what every table and figure is computed on.

    The window is the most structured one of the sharp image (:func:`structured_crop_box`), not
    the centre: the centre of the reflected-light test field is bare wafer, whose spectrum holds
    nothing but noise at ±0.25 cycles/px. ``eval_crop`` and ``n_test`` override the profile's.
    """
    s = settings(profile)
    s["eval_crop"] = eval_crop or s["eval_crop"]
    s["n_test"] = n_test or s["n_test"]
    candidates, dropped = [], []
    for i in range(len(data.test)):
        item = data.test[i]
        h, w = item["sharp"].shape[:2]
        size = (min(s["eval_crop"], h) // 4 * 4, min(s["eval_crop"], w) // 4 * 4)
        box = structured_crop_box(item["sharp"], size)
        crop = {"name": item["name"], "blur": item["blur"][box], "sharp": item["sharp"][box],
                "defocus": item.get("defocus", float("nan"))}
        (candidates if crop["sharp"].std() >= min_contrast else dropped).append(crop)
    if dropped:
        print(f"test_crops: left out {len(dropped)} featureless test image(s) (reference std < "
              f"{min_contrast}): {', '.join(sorted({c['name'].split('/')[0] for c in dropped}))}")
    if not candidates:
        raise ValueError(f"no test image has a reference with std ≥ {min_contrast}")
    n = len(candidates) if s["n_test"] is None else min(s["n_test"], len(candidates))
    # Spread the chosen images over the whole remaining test set (sources, defocus values).
    picks = np.unique(np.linspace(0, len(candidates) - 1, n).round().astype(int))
    return [candidates[int(i)] for i in picks]


# ------------------------------------------------------------------------------- training

@dataclass(frozen=True)
class RunSpec:
    """One model of the experiments: L1 [+ α·L_VGG(layer)] [+ β·L_f] with a DHN ``variant``.

    ``layer=None`` is the L1-only baseline. ``alpha`` = 0.3 and ``beta`` = 3e-4 (α/β = 1000, seed
    §5 and METHODS §1.5) are the paper's weights.
    """

    layer: str | None = None
    variant: str = "baseline"
    freq: bool = False
    alpha: float = 0.3
    beta: float = 3e-4

    def __post_init__(self) -> None:
        if self.layer is not None and self.layer not in FEATURE_LAYERS:
            raise ValueError(f"layer must be None or one of {FEATURE_LAYERS}, got {self.layer!r}")
        if self.variant not in VARIANT_LABELS:
            raise ValueError(f"variant must be one of {sorted(VARIANT_LABELS)}, got {self.variant!r}")

    @property
    def label(self) -> str:
        parts = ["L1"]
        if self.layer:
            parts.append(f"VGG {self.layer}")
        if VARIANT_LABELS[self.variant]:
            parts.append(VARIANT_LABELS[self.variant])
        if self.freq:
            parts.append("L_f")
        return " + ".join(parts)

    @property
    def key(self) -> str:
        parts = [f"vgg-{self.layer}" if self.layer else "l1"]
        if self.variant != "baseline":
            parts.append(self.variant)
        if self.freq:
            parts.append("lf")
        if self.layer and self.alpha != 0.3:
            parts.append(f"a{self.alpha:g}")
        if self.freq and self.beta != 3e-4:
            parts.append(f"b{self.beta:g}")
        return "_".join(parts)


def build_dhn(spec: RunSpec, profile: str, *, seed: int = 0) -> DHN:
    """A freshly initialised grey DHN for ``spec``; the same seed gives the same initial weights."""
    config.seed_everything(seed)
    return DHN(variant=spec.variant, width=settings(profile)["width"], in_ch=1)


def train_run(spec: RunSpec, crops, profile: str, *, seed: int = 0, progress: bool = True,
              steps: int | None = None) -> tuple[DHN, History]:
    """Train ``spec`` (or load it when its checkpoint under ``build/`` is already complete).

    Checkpoints live in ``build/checkpoints/paper000/<profile>/seed<seed>/<spec.key>``; an
    interrupted run resumes there. Every spec gets the same data order, seed, optimiser and
    schedule — only the loss terms and the up/down layers differ.
    """
    s = settings(profile)
    model = build_dhn(spec, profile, seed=seed)
    losses, weights = loss_terms(alpha=spec.alpha if spec.layer else 0.0,
                                 beta=spec.beta if spec.freq else 0.0,
                                 layer=spec.layer or "conv_2_1")
    n = steps or s["steps"]
    ckpt = config.build_dir("checkpoints", "paper000", profile, f"seed{seed}", spec.key)
    history = fit(model, crops, losses=losses, weights=weights, steps=n, batch_size=s["batch"],
                  lr=s["lr"], seed=seed, checkpoint_dir=ckpt, checkpoint_every=max(1, n // 4),
                  log_every=max(1, n // 40), progress=progress)
    model.eval()
    return model, history


# ----------------------------------------------------------------------------- evaluation

#: Images up to this many pixels are restored in one pass. Seams from tiling would add energy
#: at the tile period to the very spectra the artifact measure reads, so tiling is kept for
#: images that do not fit (the 2752×2208 FaMM frames of the paper profile).
WHOLE_IMAGE_MAX_PIXELS = 1536 * 1536


def restore(model: torch.nn.Module, image: np.ndarray, profile: str) -> np.ndarray:
    """Deblur a grey ``(H, W)`` image; float32 in [0, 1].

    Whole-image inference up to :data:`WHOLE_IMAGE_MAX_PIXELS`, else tiled with an overlap of a
    quarter tile (the DHN's receptive field is wide: it sees the image at H/4 three times).
    """
    s = settings(profile)
    x = to_tensor(image)
    if image.shape[0] * image.shape[1] <= WHOLE_IMAGE_MAX_PIXELS:
        out = infer.predict(model, x)
    else:
        out = infer.predict_tiled(model, x, tile=s["tile"], overlap=s["tile"] // 4)
    return np.clip(to_numpy(out), 0.0, 1.0)


def evaluate_runs(models: dict[str, torch.nn.Module], items: list[dict[str, Any]], profile: str,
                  *, f: float = 0.25, feature_distance: VGGFeatureDistance | None = None
                  ) -> tuple[pd.DataFrame, dict[str, list[np.ndarray]]]:
    """Restore every test crop with every model and score it.

    Returns ``(table, restored)``: one row per (model, image) with ``psnr``, ``ssim``,
    ``ms_ssim`` (when the crop is ≥ 176 px), ``vgg_dist`` (VGG19-feature distance — *not* LPIPS
    or DISTS) and ``artifact_db`` (dB excess over the reference at ±f, mean of the horizontal and
    vertical profiles); ``restored[label]`` lists the restored crops in item order. The blurred
    input is scored too, under the label ``"blurred"``.
    """
    dist = feature_distance or VGGFeatureDistance()
    rows, restored = [], {}
    outputs = {"blurred": [it["blur"] for it in items]}
    for label, model in models.items():
        outputs[label] = [restore(model, it["blur"], profile) for it in items]
    for label, images in outputs.items():
        restored[label] = images
        art = artifact_measure(images, [it["sharp"] for it in items], f=f)
        for it, image, excess in zip(items, images, art["excess_db"]):
            row = {"model": label, "image": it["name"], "defocus": it["defocus"],
                   "psnr": metrics.psnr(image, it["sharp"], data_range=1.0),
                   "ssim": metrics.ssim(image, it["sharp"], data_range=1.0),
                   "vgg_dist": float(dist(to_tensor(image), to_tensor(it["sharp"]))[0]),
                   "artifact_db": float(excess)}
            if min(image.shape) >= metrics.ms_ssim_min_size():
                row["ms_ssim"] = metrics.ms_ssim(image, it["sharp"], data_range=1.0)
            rows.append(row)
    return pd.DataFrame(rows), restored
