"""Paper 002 — shared set-up of the TEM fast-image-stream experiments (notebooks 09–12).

Wieslander, Wählby, Sintorn, "TEM image restoration from fast image streams", PLoS ONE 2021.
A MiniTEM streams 1024² frames with vertical motion blur; 3–5 consecutive frames are fused by a
burst network into one sharp image. The paper compares a burst U-Net (BU, Aittala & Durand) with
DeblurGAN-v2 (Table 1), improves BU with Dense-U-Net blocks and nearest + conv up-sampling
(Table 2), and studies generalisation: BN-statistics adaptation, overfitting to texture and
cross-training between kidney and grid data (Table 3). Spec: ``METHODS.md`` §3.

The real streams (Zenodo 4113244) cannot be downloaded here, so every notebook of the series
trains and tests on **TEM-like bursts simulated** by :mod:`deblurlab.tem` from sharp sources:

* ``"kidney"`` — the paper's kidney-like synthetic image (spots and curved lines) and, when
  ``DEBLURLAB_DATA`` has them, real sharp micrographs (SEM tiles, in-focus light-microscopy
  planes) as "tissue";
* ``"grid"`` — a procedural calibration grid (dark bars around bright cells); crops are drawn
  inside the eroded cell mask as in the paper.

Training and test sources are different images (different seeds / different real files), so a
test burst never shows training content.

Example:
    >>> sorted(MODELS["small"]), RUNS["bdu_uc_ssim"]["loss"]
    (['bdu_t', 'bdu_uc', 'bu', 'gan'], 'l1_ssim')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset

from .. import config, infer, metrics, tem
from ..burst_losses import l1_gradient_loss, l1_ssim_loss
from ..gan import ContentLoss, fit_gan, make_double_gan
from ..models import build_model
from ..train import History, fit

#: Per-profile settings. ``paper``: 128² crops, 3–5 frames, Adam (BU 3e-3, BDU and GAN 1e-3),
#: 2000 epochs in the paper — here ``steps`` at batch 8. CPU profiles: small networks, 64² crops
#: (quick), a few hundred steps — enough to see the networks' characteristic behaviour, not their
#: published numbers.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(size="small", crop=32, batch=2, steps=3, n_train=64, source=160, n_sources=1,
                  test_crop=32, n_test=3, gan_steps=2),
    "quick": dict(size="small", crop=64, batch=4, steps=300, n_train=4800, source=512, n_sources=3,
                  test_source=1024, test_crop=128, n_test=12, gan_steps=300),
    "paper": dict(size="paper", crop=128, batch=8, steps=100_000, n_train=200_000, source=1024,
                  n_sources=8, test_crop=128, n_test=64, gan_steps=100_000),
}

#: Network constructor arguments (grey frames in, grey image out). ``gan`` is the FPN-MobileNetV2
#: generator on 3 frames stacked as channels.
MODELS: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "paper": {
        "bu": ("bu", {}),
        "bdu_t": ("bdu", dict(up="transposed")),
        "bdu_uc": ("bdu", dict(up="nearest_conv")),
        "gan": ("fpn_mobilenet", dict(in_ch=3, out_ch=1, width=128, backbone_width=1.0)),
    },
    "small": {
        "bu": ("bu", dict(width=0.125)),
        "bdu_t": ("bdu", dict(up="transposed", first=16, growth=6, down=(2, 2, 2, 2), bottleneck=2)),
        "bdu_uc": ("bdu", dict(up="nearest_conv", first=16, growth=6, down=(2, 2, 2, 2),
                               bottleneck=2)),
        "gan": ("fpn_mobilenet", dict(in_ch=3, out_ch=1, width=32, backbone_width=0.25)),
    },
}
DISCRIMINATOR_NDF = {"paper": 64, "small": 16}

#: The trained configurations of Tables 1–2: network, loss, learning rate (METHODS §3.4–3.5).
RUNS: dict[str, dict[str, Any]] = {
    "bu": dict(model="bu", loss="l1_gradient", lr=3e-3, label="BU"),
    "bdu_t": dict(model="bdu_t", loss="l1_gradient", lr=1e-3, label="BDU+T"),
    "bdu_uc": dict(model="bdu_uc", loss="l1_gradient", lr=1e-3, label="BDU+UC"),
    "bdu_uc_ssim": dict(model="bdu_uc", loss="l1_ssim", lr=1e-3, label="BDU+UC+SSIM"),
    "gan": dict(model="gan", loss="gan", lr=1e-3, label="DeblurGAN-v2 lite"),
}
LOSSES = {"l1_gradient": l1_gradient_loss, "l1_ssim": l1_ssim_loss}
DATASETS = ("kidney", "grid")
#: What a model can be trained on: each data set, or ``"both"`` pooled (Table 3's third row).
TRAINING_SETS = (*DATASETS, "both")


def settings(profile: str) -> dict[str, Any]:
    """The settings of ``profile`` (a copy); unknown names raise ``ValueError``."""
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {sorted(PROFILES)}, got {profile!r}")
    return dict(PROFILES[profile])


def build(model: str, profile: str, *, seed: int | None = None) -> nn.Module:
    """A freshly initialised network ``model`` (a key of :data:`MODELS`) at the profile's size."""
    size = settings(profile)["size"]
    if model not in MODELS[size]:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS[size])}")
    if seed is not None:
        config.seed_everything(seed)
    name, kwargs = MODELS[size][model]
    return build_model(name, **kwargs)


# ----------------------------------------------------------------------------- data


def sources(dataset: str, profile: str, *, split: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Sharp source images of ``dataset`` ("kidney" | "grid") for ``split`` ("train" | "test").

    Synthetic images use disjoint seeds per split. Real tissue images (kidney only) are split
    by file: every third one is a test source.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    s = settings(profile)
    kind = "kidney" if dataset == "kidney" else "calibration_grid"
    offset = 0 if split == "train" else 1000
    n = s["n_sources"] if split == "train" else 1
    # The grid's cells scale with the image (2-4 across); a 512-px grid can hold no 128-px crop
    # inside one cell, so the quick profile draws its 128-px test crops from a 1024-px source.
    size = s["source"] if split == "train" else s.get("test_source", s["source"])
    out = tem.burst_sources((kind,), n, size, seed=seed + offset)
    if dataset == "kidney" and profile != "smoke":
        real = tem.tissue_sources() or {}
        names = sorted(real)
        keep = [nm for i, nm in enumerate(names) if (i % 3 == 2) == (split == "test")]
        out.update({nm: real[nm] for nm in keep})
    return out


def corners_inside(mask: np.ndarray, crop: int) -> np.ndarray:
    """Top-left corners whose ``crop``×``crop`` window lies entirely inside ``mask``.

    What the paper's erosion (disk of radius 128 px, twice, for 128-px crops at 1024²) is for —
    crops that never show a grid bar — computed exactly for any crop and image size.

    >>> m = np.zeros((6, 6), bool); m[1:5, 1:5] = True
    >>> np.argwhere(corners_inside(m, 3)).tolist()
    [[1, 1], [1, 2], [2, 1], [2, 2]]
    """
    m = np.asarray(mask, bool)
    h, w = m.shape
    ok = np.zeros((h, w), bool)
    if crop > min(h, w):
        return ok
    ii = np.pad(m.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    inside = ii[crop:, crop:] - ii[:-crop, crop:] - ii[crop:, :-crop] + ii[:-crop, :-crop]
    ok[:h - crop + 1, :w - crop + 1] = inside == crop * crop
    return ok


def _masks(dataset: str, images: dict[str, np.ndarray], crop: int) -> list[np.ndarray] | None:
    """Grid data: crop corners whose crop lies inside a cell (no bar in any crop)."""
    if dataset != "grid":
        return None
    lo = tem.CALIBRATION_GRID_SCALING[0] / tem.FULL_SCALE
    return [corners_inside(tem.grid_mask(im, threshold=lo), crop) for im in images.values()]


def training_bursts(dataset: str, profile: str, *, seed: int = 0, frames=(3, 5),
                    n: int | None = None, sim: dict[str, Any] | None = None) -> Dataset:
    """``n`` (default: the profile's ``n_train``) random ``crop``-sized crops of simulated bursts
    of the training sources (3–5 frames), simulated with :func:`burst_kwargs` (``sim``).

    ``"both"`` pools the two data sets, half the crops each, every crop simulated with its own
    data set's settings (the grid's 8-bit window); the items are those of ``"kidney"`` and
    ``"grid"`` with the same seed, so "both" sees a subset of what each single-set model sees.
    """
    s = settings(profile)
    n = s["n_train"] if n is None else n
    if dataset == "both":
        return ConcatDataset([training_bursts(d, profile, seed=seed, frames=frames, n=k, sim=sim)
                              for d, k in zip(DATASETS, (n - n // 2, n // 2))])
    src = sources(dataset, profile, split="train", seed=seed)
    return tem.BurstPairs(src, n=n, crop=s["crop"], frames=frames,
                          masks=_masks(dataset, src, s["crop"]), seed=seed, **burst_kwargs(dataset, sim))


#: The burst-simulation settings a notebook may change (``sim=``), with their defaults
#: (METHODS §3.7): blur length range (px), frame jitter and drift (px), Gaussian noise σ.
SIMULATION_DEFAULTS: dict[str, Any] = dict(blur_length=(10.0, 20.0), jitter_px=0.5, drift_px=1.0,
                                           noise_sigma=0.05)
#: DeblurGAN-v2's adversarial weight (METHODS §3.4), ``train_run(adv_weight=...)`` changes it.
GAN_ADV_WEIGHT = 0.01


def burst_kwargs(dataset: str, sim: dict[str, Any] | None = None) -> dict[str, Any]:
    """Simulation settings of ``dataset``: :data:`SIMULATION_DEFAULTS` updated with ``sim``
    (entries set to ``None`` keep the default); the grid's 8-bit window puts the bars at 0 as in
    the paper.

    >>> burst_kwargs("kidney", {"noise_sigma": 0.1, "blur_length": [5, 8]})["blur_length"]
    (5.0, 8.0)
    """
    kw: dict[str, Any] = dict(SIMULATION_DEFAULTS)
    unknown = sorted(set(sim or {}) - set(SIMULATION_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown simulation settings {unknown}; choose from {sorted(SIMULATION_DEFAULTS)}")
    for key, value in (sim or {}).items():
        if value is None:
            continue
        if key == "blur_length" and not isinstance(value, (int, float)):
            value = tuple(float(v) for v in value)
            if len(value) != 2 or not 0 < value[0] <= value[1]:
                raise ValueError(f"blur_length must be a length or a range (lo, hi) with 0 < lo ≤ hi, "
                                 f"got {sim[key]!r}")
        elif not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{key} must be a number ≥ 0, got {value!r}")
        kw[key] = value
    if dataset == "grid":
        kw["vmin"] = tem.CALIBRATION_GRID_SCALING[0]
    return kw


def _settings_tag(sim: dict[str, Any] | None, adv_weight: float) -> str:
    """Checkpoint-name suffix for settings that differ from the defaults ("" when none do), so a
    model trained on other bursts is never re-loaded in place of the default one."""
    kw, parts = burst_kwargs("kidney", sim), []
    for key, default in SIMULATION_DEFAULTS.items():
        if kw[key] != default:
            v = kw[key]
            parts.append(key.split("_")[0] + ("-".join(f"{x:g}" for x in v) if isinstance(v, tuple) else f"{v:g}"))
    if adv_weight != GAN_ADV_WEIGHT:
        parts.append(f"adv{adv_weight:g}")
    return "".join("_" + p for p in parts)


def test_bursts(dataset: str, profile: str, *, seed: int = 0, frames: int = 5,
                sim: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Held-out test items: ``{"frames": (N, h, w), "sharp": (h, w), "name"}``, from the test
    sources with a fixed seed (the same items for every model and notebook), simulated with
    :func:`burst_kwargs` (``sim``)."""
    s = settings(profile)
    src = sources(dataset, profile, split="test", seed=seed)
    ds = tem.BurstPairs(src, n=s["n_test"], crop=s["test_crop"], frames=frames,
                        masks=_masks(dataset, src, s["test_crop"]), seed=seed + 1000,
                        **burst_kwargs(dataset, sim))
    return [{"frames": it["blur"][:, 0].numpy(), "sharp": it["sharp"][0].numpy(),
             "name": it["name"], "source": it["group"]} for it in (ds[i] for i in range(len(ds)))]


class CentreFrames(Dataset):
    """Burst items as DeblurGAN-v2 sees them: the 3 centre frames as channels ``(3, h, w)``."""

    def __init__(self, base: Dataset, n: int = 3) -> None:
        self.base, self.n = base, n

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = dict(self.base[i])
        item["blur"] = centre_frames(item["blur"][:, 0], self.n)
        item["shifts"] = centre_frames(item["shifts"], self.n)  # equal sizes for collation
        return item


def centre_frames(frames, n: int = 3):
    """The ``n`` frames around the centre of a ``(N, h, w)`` burst (array or tensor)."""
    if frames.shape[0] < n:
        raise ValueError(f"need at least {n} frames, got {frames.shape[0]}")
    start = (frames.shape[0] - n) // 2
    return frames[start:start + n]


# ----------------------------------------------------------------------------- training


def _run_key(run: str, dataset: str, frames) -> str:
    lo, hi = (frames, frames) if isinstance(frames, int) else frames
    return f"{dataset}_{run}_f{lo}-{hi}"


def train_run(run: str, dataset: str, profile: str, *, seed: int = 0, steps: int | None = None,
              frames=(3, 5), progress: bool = True, sim: dict[str, Any] | None = None,
              adv_weight: float = GAN_ADV_WEIGHT) -> tuple[nn.Module, History]:
    """Train configuration ``run`` (a key of :data:`RUNS`) on ``dataset`` (one of
    :data:`TRAINING_SETS`), or re-load it when its checkpoint under
    ``build/checkpoints/paper002/`` is complete; model returned in eval mode. Every data set gets
    the same number of steps, "both" included. ``sim`` changes the burst simulation
    (:func:`burst_kwargs`), ``adv_weight`` the GAN's adversarial weight; settings other than the
    defaults get checkpoints of their own."""
    if run not in RUNS:
        raise ValueError(f"unknown run {run!r}; choose one of {', '.join(RUNS)}")
    if dataset not in TRAINING_SETS:
        raise ValueError(f"dataset must be one of {TRAINING_SETS}, got {dataset!r}")
    s = settings(profile)
    spec = RUNS[run]
    if not isinstance(adv_weight, (int, float)) or not adv_weight >= 0:
        raise ValueError(f"adv_weight must be a number ≥ 0, got {adv_weight!r}")
    data = training_bursts(dataset, profile, seed=seed, frames=frames, sim=sim)
    model = build(spec["model"], profile, seed=seed)
    tag = _settings_tag(sim, adv_weight if spec["loss"] == "gan" else GAN_ADV_WEIGHT)
    ckpt = config.build_dir("checkpoints", "paper002", profile, f"seed{seed}",
                            _run_key(run, dataset, frames) + tag)
    if spec["loss"] == "gan":
        n = steps or s["gan_steps"]
        discriminators = make_double_gan(1, DISCRIMINATOR_NDF[s["size"]])
        history = fit_gan(model, discriminators, CentreFrames(data), steps=n, batch_size=s["batch"],
                          lr=spec["lr"], seed=seed, checkpoint_dir=ckpt,
                          checkpoint_every=max(1, n // 4), log_every=max(1, n // 40),
                          content_loss=ContentLoss(), adv_weight=adv_weight, progress=progress)
    else:
        n = steps or s["steps"]
        history = fit(model, data, losses={spec["loss"]: LOSSES[spec["loss"]]}, steps=n,
                      batch_size=s["batch"], lr=spec["lr"], seed=seed, checkpoint_dir=ckpt,
                      checkpoint_every=max(1, n // 4), log_every=max(1, n // 40),
                      collate_fn=tem.collate_bursts, progress=progress)
    model.eval()
    return model, history


# ----------------------------------------------------------------------------- evaluation


def restore(model: nn.Module, frames: np.ndarray, *, gan: bool = False) -> np.ndarray:
    """Deblur one burst ``(N, h, w)`` → ``(h, w)`` in [0, 1]. Burst networks see all frames
    (stacked frame-major as channels, which they accept); the GAN sees the 3 centre frames."""
    x = centre_frames(frames) if gan else frames
    out = infer.predict(model, torch.from_numpy(np.ascontiguousarray(x, np.float32))[None])
    return np.clip(out[0, 0].numpy(), 0.0, 1.0)


#: PSNR and SSIM (data range 1) per method and test item — :func:`deblurlab.metrics.evaluate_methods`.
evaluate = metrics.evaluate_methods


def no_deblurring(items: list[dict[str, Any]]) -> list[np.ndarray]:
    """The "no deblurring" row: the centre frame of each burst."""
    return [it["frames"][it["frames"].shape[0] // 2] for it in items]


__all__ = ["CentreFrames", "DATASETS", "GAN_ADV_WEIGHT", "SIMULATION_DEFAULTS", "TRAINING_SETS", "MODELS", "PROFILES", "RUNS", "build", "burst_kwargs",
           "centre_frames", "corners_inside", "evaluate", "no_deblurring", "restore", "settings", "sources",
           "test_bursts", "train_run", "training_bursts"]
