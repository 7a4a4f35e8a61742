"""Paper 004 — shared set-up of the multi-scale U-Net experiments (notebooks 16–18).

Multi-scale U-Net with head-to-tail cross-scale fusion for defocus deblurring, one model per
defocus distance, PSNR/SSIM per distance (Table 1: ablation over K and fusion mode; Table 2:
comparison with four baselines). Spec: ``METHODS.md`` §5; the networks are
:mod:`deblurlab.models.msunet`, :mod:`deblurlab.models.deepdeblur` and :mod:`deblurlab.models.rdn`.

BBBC006 (the paper's data) is not available here, so two stand-ins are used, each split so that
no image region is in both train and test:

* ``"synthetic"`` — a BBBC006-like stack: nucleus-like particle phantoms imaged by the
  diffraction defocus model of :func:`deblurlab.simulate.focus_series` with the ``bbbc006-20x``
  optics at the paper's distances 10, 16, 22, 28, 34 µm; the in-focus plane (diffraction-limited,
  same noise) is the ground truth. Train and test phantoms have different seeds.
* ``"dfnn"`` — the real light-sheet stack of ``dfnn-lightsheet`` (microtubules, 31 planes,
  defocus (order − 51)·0.05 µm): one field, so the rows are split — the top 3/4 trains, the
  bottom 1/4 tests; both planes at ±distance are used. Distances 0.15 … 0.75 µm.

Training follows the paper's recipe (Adam β1 = 0.9, per-scale MSE of eq. 6 through
:class:`deblurlab.losses.MultiScaleLoss`, every model of a table with the same budget), with the
``paper`` profile at lr 0.01, batch 8, 27,000 steps (80 epochs of 2,700 tiles) and CPU profiles
scaled down (narrow networks, 64² crops, a few hundred steps, cosine schedule).

Example:
    >>> settings("quick")["distances"]["synthetic"]
    (10.0, 16.0, 22.0, 28.0, 34.0)
    >>> sorted(TABLE1_MODELS)[:3]
    ['concat_k2', 'concat_k3', 'concat_k4']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from .. import config, focus, infer, metrics
from ..arrays import to_numpy, to_tensor
from ..datasets import PairList, RandomCrops
from ..losses import MultiScaleLoss, mse_loss
from ..models import build_model, count_parameters
from ..phantoms import make_phantom
from ..simulate import focus_series
from ..train import History, fit

DATASETS = ("synthetic", "dfnn")
DATASET_LABELS = {"synthetic": "BBBC006-like synthetic stack (µm)",
                  "dfnn": "dfnn-lightsheet stack, real (µm)"}
#: The paper's distances (BBBC006, µm) and the real stack's (its planes are 0.05 µm apart).
SYNTHETIC_DISTANCES_UM = (10.0, 16.0, 22.0, 28.0, 34.0)
DFNN_DISTANCES_UM = (0.15, 0.3, 0.45, 0.6, 0.75)

#: Per-profile settings. ``width``: the U-Nets' base width (paper 16); ``baselines``: "paper"
#: (about the paper's parameter counts) or "small"; ``n_sources``/``source``: synthetic phantoms
#: per split and their side; ``n_test``: synthetic test phantoms; ``budgets``: the longer
#: ``(steps, crop)`` budgets of notebook 17's budget check (the paper profile is the long run).
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(width=4, baselines="small", crop=32, batch=2, steps=2, lr=2e-3,
                  scheduler="cosine", n_per_image=4, n_sources=2, source=128, n_test=1,
                  distances={"synthetic": (34.0,), "dfnn": (0.75,)}, budgets=[(3, 32)]),
    "quick": dict(width=8, baselines="small", crop=64, batch=4, steps=200, lr=2e-3,
                  scheduler="cosine", n_per_image=32, n_sources=6, source=256, n_test=2,
                  distances={"synthetic": SYNTHETIC_DISTANCES_UM, "dfnn": (0.15, 0.45, 0.75)},
                  budgets=[(1000, 128)]),
    "paper": dict(width=16, baselines="paper", crop=256, batch=8, steps=27_000, lr=1e-2,
                  scheduler=None, n_per_image=64, n_sources=64, source=512, n_test=16,
                  distances={"synthetic": SYNTHETIC_DISTANCES_UM, "dfnn": DFNN_DISTANCES_UM},
                  budgets=[]),
}

#: Row labels of Table 1 (ablation) and Table 2 (comparison), in the paper's order.
TABLE1_MODELS = {"unet": "U-Net (K = 1)", "sum_k2": "Summation K = 2",
                 "sum_k3": "Summation K = 3", "sum_k4": "Summation K = 4",
                 "concat_k2": "Concatenation K = 2", "concat_k3": "Concatenation K = 3",
                 "concat_k4": "Concatenation K = 4"}
TABLE2_MODELS = {"deepdeblur": "Nah et al. (DeepDeblur)", "ddn": "Liu et al. (decoupled ResNet)",
                 "msresnet": "Na et al. (multi-scale ResNet)", "rdn": "Zhao et al. (RDN)",
                 "cascade_k4": "Residual cascade K = 4 (eq. 2)",
                 "sum_k4": "Ours, summation K = 4", "concat_k4": "Ours, concatenation K = 4"}
MODEL_LABELS = {**TABLE1_MODELS, **TABLE2_MODELS}

#: Baseline sizes: "paper" ≈ the paper's counts (3 channels: 1,773,717 / 1,484,166 / 4,445,385
#: / 808,003 vs 1,772,740 / 1,461,124 / 4,384,262 / 811,778); "small" for the CPU profiles.
BASELINES: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {"deepdeblur": {}, "ddn": {}, "msresnet": {}, "rdn": {}},
    "small": {"deepdeblur": dict(width=16, n_res=2), "ddn": dict(width=16, n_res=3),
              "msresnet": dict(width=16, n_res=3), "rdn": dict(G0=16, G=16, D=4, C=3)},
}

#: Noise of the synthetic stack: photons at intensity 1 and read noise (both planes and GT).
SYNTHETIC_NOISE = dict(photons=1000.0, read_noise=0.005)
#: Rows of the dfnn stack that train (the rest test), and its test window (multiple of 16).
DFNN_TRAIN_FRACTION = 0.75


def settings(profile: str) -> dict[str, Any]:
    """The settings of ``profile`` (a copy); unknown names raise ``ValueError``."""
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {sorted(PROFILES)}, got {profile!r}")
    return dict(PROFILES[profile])


def build(name: str, profile: str, *, channels: int = 1, seed: int | None = None) -> nn.Module:
    """A freshly initialised ``name`` (a key of :data:`MODEL_LABELS`) at the profile's size."""
    if name not in MODEL_LABELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_LABELS)}")
    s = settings(profile)
    if seed is not None:
        config.seed_everything(seed)
    unet = dict(in_ch=channels, width=s["width"], depth=4)
    if name == "unet":
        return build_model("msunet", K=1, **unet)
    if name.startswith(("sum_k", "concat_k")):
        mode, k = name.split("_k")
        return build_model("msunet", K=int(k), fusion=mode, **unet)
    if name.startswith("cascade_k"):
        return build_model("c2f_unet", K=int(name.split("_k")[1]), **unet)
    return build_model(name, in_ch=channels, **BASELINES[s["baselines"]][name])


def parameter_table(channels: int = 3, width: int = 16) -> pd.DataFrame:
    """Parameters of every model at the paper's size with ``channels`` in and out."""
    rows = []
    for name, label in MODEL_LABELS.items():
        if name in BASELINES["paper"]:
            model = build_model(name, in_ch=channels)
        else:
            model = build(name, "paper", channels=channels)
        rows.append({"model": label, "key": name, "parameters": count_parameters(model)})
    return pd.DataFrame(rows).drop_duplicates("key").set_index("key")


# ----------------------------------------------------------------------------- data


def _check(dataset: str, split: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def distances(dataset: str, profile: str) -> tuple[float, ...]:
    """The defocus distances (µm) the profile trains one model for."""
    _check(dataset, "train")
    return tuple(settings(profile)["distances"][dataset])


def synthetic_pairs(distance_um: float, profile: str, *, split: str, seed: int = 0) -> PairList:
    """BBBC006-like (plane at ``distance_um``, in-focus plane) pairs of particle phantoms.

    Train and test phantoms come from disjoint seeds; the noise of each plane is seeded too, so
    every model of a table sees the same pairs.
    """
    _check("synthetic", split)
    s = settings(profile)
    n = s["n_sources"] if split == "train" else s["n_test"]
    base = seed * 10_000 + (0 if split == "train" else 5_000)
    items = []
    for i in range(n):
        sharp = make_phantom("particles", s["source"], seed=base + i)
        series = focus_series(sharp, [distance_um], optics="bbbc006-20x", seed=base + i,
                              **SYNTHETIC_NOISE)
        items.append({"blur": series.planes[0], "sharp": series.reference,
                      "name": f"{split}{i:02d}@{distance_um:g}um", "group": f"{split}{i:02d}",
                      "distance": float(distance_um)})
    return PairList(items)


def dfnn_pairs(distance_um: float, *, split: str) -> PairList:
    """Real (plane at ±``distance_um``, in-focus plane) pairs of the dfnn-lightsheet stack, the
    rows of ``split`` only (top 3/4 train, bottom 1/4 test, cut to multiples of 16)."""
    _check("dfnn", split)
    series = focus.load_dfnn_stack(grey=True).rescaled()
    pick = np.flatnonzero(np.isclose(np.abs(series.defocus), distance_um, atol=1e-6))
    if pick.size == 0:
        have = sorted({round(abs(float(d)), 3) for d in series.defocus})
        raise ValueError(f"dfnn-lightsheet stack has no plane at ±{distance_um} µm; it has {have}")
    items = []
    for i in pick:
        blur, sharp = series.planes[i], series.reference_of(i)
        h, w = blur.shape[:2]
        cut = int(round(h * DFNN_TRAIN_FRACTION))
        rows = slice(0, cut) if split == "train" else slice(cut, h)
        b, t = blur[rows], sharp[rows]
        hh, ww = b.shape[0] // 16 * 16, b.shape[1] // 16 * 16
        items.append({"blur": b[:hh, :ww], "sharp": t[:hh, :ww], "group": split,
                      "name": f"{split}@{float(series.defocus[i]):+.2f}um",
                      "distance": float(distance_um)})
    return PairList(items)


def pairs(dataset: str, distance_um: float, profile: str, *, split: str, seed: int = 0) -> PairList:
    """Train or test pairs of ``dataset`` at one distance."""
    _check(dataset, split)
    if dataset == "synthetic":
        return synthetic_pairs(distance_um, profile, split=split, seed=seed)
    return dfnn_pairs(distance_um, split=split)


def available_datasets() -> tuple[str, ...]:
    """``("synthetic", "dfnn")`` when the real stack is configured, else ``("synthetic",)``."""
    return DATASETS if config.data_path("dfnn-lightsheet") else ("synthetic",)


# ----------------------------------------------------------------------------- training


def _ckpt(profile: str, seed: int, dataset: str, distance: float, name: str, budget: str = ""):
    return config.build_dir("checkpoints", "paper004", profile + budget, f"seed{seed}",
                            f"{dataset}_{distance:g}um", name)


def train_run(name: str, dataset: str, distance_um: float, profile: str, *, seed: int = 0,
              train: PairList | None = None, progress: bool = True, steps: int | None = None,
              crop: int | None = None) -> tuple[nn.Module, History]:
    """Train ``name`` for one distance with the per-scale MSE (eq. 6), or re-load its finished
    checkpoint (notebook 18 re-uses notebook 17's models). Returns the model in eval mode.

    ``steps`` / ``crop`` override the profile's budget (notebook 17's budget check); such runs
    keep their checkpoints apart, under ``<profile>_<steps>steps_<crop>px``.
    """
    s = settings(profile)
    budget = ""
    if steps is not None or crop is not None:
        s["steps"] = _positive(steps if steps is not None else s["steps"], "steps")
        s["crop"] = _positive(crop if crop is not None else s["crop"], "crop")
        budget = f"_{s['steps']}steps_{s['crop']}px"
    train = train if train is not None else pairs(dataset, distance_um, profile, split="train",
                                                  seed=seed)
    crops = RandomCrops(train, s["crop"], n_per_image=s["n_per_image"], seed=seed)
    model = build(name, profile, seed=seed)
    n = s["steps"]
    history = fit(model, crops, losses={"mse": MultiScaleLoss(mse_loss)}, steps=n,
                  batch_size=s["batch"], lr=s["lr"], optimizer="adam", scheduler=s["scheduler"],
                  lr_min=s["lr"] / 100, seed=seed,
                  checkpoint_dir=_ckpt(profile, seed, dataset, distance_um, name, budget),
                  checkpoint_every=max(1, n // 4), log_every=max(1, n // 25), progress=progress)
    model.eval()
    return model, history


def _positive(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def budget_check(models: list[str], dataset: str, distance_um: float, profile: str, *,
                 budgets: list[tuple[int, int]], seed: int = 0,
                 progress: bool = True) -> pd.DataFrame:
    """PSNR/SSIM of ``models`` at one distance for several training budgets.

    ``budgets``: ``(steps, crop)`` pairs; the profile's own budget is always included first.
    Returns one row per (budget, method, image), with ``steps`` and ``crop`` columns and the
    blurred input as method ``"input"``. Answers "is the ranking a matter of training time?".
    """
    s = settings(profile)
    train = pairs(dataset, distance_um, profile, split="train", seed=seed)
    test = pairs(dataset, distance_um, profile, split="test", seed=seed)
    items = [test[i] for i in range(len(test))]
    plan = [(s["steps"], s["crop"])] + [b for b in budgets if tuple(b) != (s["steps"], s["crop"])]
    tables = []
    for steps, crop in plan:
        outputs = {"input": [it["blur"] for it in items]}
        for name in models:
            own = (steps, crop) == (s["steps"], s["crop"])
            model, _ = train_run(name, dataset, distance_um, profile, seed=seed, train=train,
                                 progress=progress, steps=None if own else steps,
                                 crop=None if own else crop)
            outputs[name] = [restore(model, it["blur"]) for it in items]
        tables.append(evaluate(outputs, items, distance_um).assign(steps=steps, crop=crop))
    return pd.concat(tables, ignore_index=True)


def restore(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """Deblur a grey ``(H, W)`` image in one pass (padded to the model's size multiple)."""
    return np.clip(to_numpy(infer.predict(model, to_tensor(image))), 0.0, 1.0)


def evaluate(outputs: dict[str, list[np.ndarray]], items: PairList | list[dict[str, Any]],
             distance_um: float) -> pd.DataFrame:
    """Per (method, image) PSNR and SSIM (data range 1) with a ``distance`` column."""
    items = [items[i] for i in range(len(items))]
    return metrics.evaluate_methods(outputs, items).assign(distance=float(distance_um))


def run_models(models: list[str], dataset: str, profile: str, *, seed: int = 0,
               progress: bool = True, distances_um: Sequence[float] | None = None,
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict[float, Any]]:
    """Train (or re-load) every model of ``models`` at every distance of ``dataset`` (the
    profile's, or ``distances_um``) and score it on that distance's test pairs, next to the
    blurred input.

    Returns ``(per_image, seconds, examples)``: the PSNR/SSIM table per (method, image,
    distance); training seconds per (model, distance); and per distance the test items with
    every method's restorations (``{"items": [...], "outputs": {method: [...]}}``) for figures.
    """
    unknown = sorted(set(models) - set(MODEL_LABELS))
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {sorted(MODEL_LABELS)}")
    chosen = distances(dataset, profile) if distances_um is None else tuple(map(float, distances_um))
    if not chosen or not all(math.isfinite(d) and d > 0 for d in chosen):
        raise ValueError(f"distances_um must be positive distances in µm, got {distances_um!r}")
    tables, seconds, examples = [], [], {}
    for d in chosen:
        train = pairs(dataset, d, profile, split="train", seed=seed)
        test = pairs(dataset, d, profile, split="test", seed=seed)
        items = [test[i] for i in range(len(test))]
        outputs = {"input": [it["blur"] for it in items]}
        for name in models:
            model, history = train_run(name, dataset, d, profile, seed=seed, train=train,
                                       progress=progress)
            outputs[name] = [restore(model, it["blur"]) for it in items]
            seconds.append({"model": name, "distance": d, "seconds": history["time"][-1]})
        tables.append(evaluate(outputs, items, d))
        examples[d] = {"items": items, "outputs": outputs}
    return pd.concat(tables, ignore_index=True), pd.DataFrame(seconds), examples


def per_distance_table(per_image: pd.DataFrame, labels: dict[str, str] | None = None
                       ) -> pd.DataFrame:
    """The paper's layout: one row per (method, metric), one column per distance (means over
    the test images), methods in the order they first appear."""
    order = list(dict.fromkeys(per_image["method"]))
    mean = per_image.groupby(["method", "distance"])[["psnr", "ssim"]].mean()
    rows = []
    for m in order:
        for metric in ("psnr", "ssim"):
            row = {"method": (labels or {}).get(m, m), "metric": metric.upper()}
            for d in sorted(per_image["distance"].unique(), reverse=True):
                row[f"{d:g}"] = float(mean.loc[(m, d), metric])
            rows.append(row)
    return pd.DataFrame(rows).set_index(["method", "metric"])


__all__ = ["BASELINES", "DATASETS", "DATASET_LABELS", "DFNN_DISTANCES_UM", "MODEL_LABELS",
           "PROFILES", "SYNTHETIC_DISTANCES_UM", "TABLE1_MODELS", "TABLE2_MODELS",
           "available_datasets", "budget_check", "build", "dfnn_pairs", "distances", "evaluate", "pairs",
           "parameter_table", "per_distance_table", "restore", "run_models", "settings", "synthetic_pairs",
           "train_run"]
