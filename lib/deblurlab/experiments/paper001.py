"""Paper 001 — shared set-up of the MIDNet experiments (notebooks 06–08).

Wang et al., "MIDNet: Deblurring Network for Material Microstructure Images", CMC 79(1), 2024.
MIDNet is NAFNet with attention gates on the skips (:mod:`deblurlab.models.nafnet`) trained with
L = L_d + 0.05·L_e + 0.01·L_f (L1, Laplacian edge loss, FFT loss); the paper retrains DMPHN,
HINet, Restormer and NAFNet on 108 SEM pairs and tests on 12 (Table 2), and ablates the loss
terms (Table 3). Spec: ``METHODS.md`` §2.

What the notebooks share, so that "same data, same loop, same budget" holds by construction:

* :func:`sem_data` — the real SEM pairs of the paper's repository (``midnet-sem``: 96 tiles of
  8 source images), **registered** (the published blurred/sharp tiles are shifted by up to
  ~22 px) and split by source group (tiles of one group overlap): groups 1-1…7-1 train, 8-1
  tests. Without real data, synthetic microstructures with Gaussian blur stand in.
* :data:`MODELS` / :func:`build` — the five networks at the papers' sizes (``paper``) or at small
  CPU sizes (``smoke``/``quick``), all grey in, grey out.
* :data:`LOSS_SETS` / :func:`loss_for` — the four loss combinations of Table 3.
* :func:`train_run` — trains one (model, loss set) with Adam and a cosine schedule 1e-3 → 1e-7
  on augmented random crops, or re-loads it when its checkpoint under ``build/`` is complete.
* :func:`evaluate` — whole-image restoration of the test tiles, PSNR/SSIM per image.

Example:
    >>> RunSpec("midnet", "L_d+L_e+L_f").key, RunSpec("nafnet").label
    ('midnet_L_d+L_e+L_f', 'NAFNet (L_d)')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import config, infer, metrics
from .. import weights as wts
from ..arrays import centre_crop, to_numpy, to_tensor
from ..datasets import PairedDataset, PairList, RandomCrops, group_split, make_item, midnet_sem
from ..losses import l1_loss, midnet_loss_terms
from ..models import build_model
from ..models.local_stats import global_pools, to_local_stats
from ..simulate import SyntheticPairs, synthetic_pairs
from ..train import History, fit

#: Per-profile settings. ``paper`` is seed §4.2 (Adam (0.9, 0.999), cosine 1e-3 → 1e-7 over 200k
#: iterations, 256² crops, rotation + flip; batch not published — 8). The CPU profiles train
#: small versions of each network for a few hundred steps on 96² crops (quick): far from
#: convergence, the same for every model.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(size="small", crop=32, batch=2, steps=3, n_test=2, eval_crop=96,
                  n_per_image=2, lr=1e-3, lr_min=1e-7),
    "quick": dict(size="small", crop=96, batch=4, steps=300, n_test=12, eval_crop=None,
                  n_per_image=16, lr=1e-3, lr_min=1e-7),
    "paper": dict(size="paper", crop=256, batch=8, steps=200_000, n_test=12, eval_crop=None,
                  n_per_image=64, lr=1e-3, lr_min=1e-7),
}

#: Display names in the order of the paper's Table 2.
MODEL_LABELS = {"dmphn": "DMPHN", "hinet": "HINet", "restormer": "Restormer",
                "nafnet": "NAFNet", "midnet": "MIDNet"}

#: Constructor arguments per size. ``paper``: the published GoPro configurations (DMPHN(1-2-4)
#: width 32; HINet wf 64 with HIN in levels 3–4 as in its GoPro option files; Restormer dim 48, blocks 4-6-6-8; NAFNet/MIDNet width 32 with 28
#: blocks at the lowest level). ``small``: the same blocks, narrower and shallower, so that a
#: few hundred steps take minutes on two CPU cores.
MODELS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "dmphn": dict(width=32, levels=3),
        "hinet": dict(wf=64, hin_position_left=3, hin_position_right=4),
        "restormer": dict(dim=48, num_blocks=(4, 6, 6, 8), num_refinement_blocks=4,
                          heads=(1, 2, 4, 8), ffn_expansion_factor=2.66, bias=False),
        "nafnet": dict(width=32, middle_blk_num=1, enc_blk_nums=(1, 1, 1, 28),
                       dec_blk_nums=(1, 1, 1, 1)),
        "midnet": dict(width=32, middle_blk_num=1, enc_blk_nums=(1, 1, 1, 28),
                       dec_blk_nums=(1, 1, 1, 1)),
    },
    "small": {
        "dmphn": dict(width=8, levels=3),
        "hinet": dict(wf=16, depth=4, hin_position_left=2, hin_position_right=3),
        "restormer": dict(dim=16, num_blocks=(1, 1, 1, 2), num_refinement_blocks=1,
                          heads=(1, 2, 4, 8), ffn_expansion_factor=2.66, bias=False),
        "nafnet": dict(width=16, middle_blk_num=1, enc_blk_nums=(1, 1, 1, 2),
                       dec_blk_nums=(1, 1, 1, 1)),
        "midnet": dict(width=16, middle_blk_num=1, enc_blk_nums=(1, 1, 1, 2),
                       dec_blk_nums=(1, 1, 1, 1)),
    },
}

#: Each architecture names its channel arguments differently.
_CHANNEL_ARGS = {"dmphn": ("in_ch",), "hinet": ("in_chn",),
                 "restormer": ("inp_channels", "out_channels"),
                 "nafnet": ("img_channel",), "midnet": ("img_channel",)}

#: Table 3: which terms of L = L_d + λ1·L_e + λ2·L_f are on (λ1 = 0.05, λ2 = 0.01).
LOSS_SETS: dict[str, tuple[bool, bool]] = {
    "L_d": (False, False), "L_d+L_e": (True, False), "L_d+L_f": (False, True),
    "L_d+L_e+L_f": (True, True),
}
LAMBDA_EDGE, LAMBDA_FFT = 0.05, 0.01


def settings(profile: str) -> dict[str, Any]:
    """The settings of ``profile`` (a copy); unknown names raise ``ValueError``."""
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {sorted(PROFILES)}, got {profile!r}")
    return dict(PROFILES[profile])


def build(name: str, profile: str, *, channels: int = 1, seed: int | None = None) -> nn.Module:
    """A freshly initialised ``name`` at the profile's size (``seed`` fixes the init)."""
    if name not in MODEL_LABELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_LABELS)}")
    if seed is not None:
        config.seed_everything(seed)
    kwargs = dict(MODELS[settings(profile)["size"]][name])
    for arg in _CHANNEL_ARGS[name]:
        kwargs[arg] = channels
    return build_model(name, **kwargs)


@dataclass(frozen=True)
class RunSpec:
    """One training run: a network and the loss terms it is trained with.

    Table 2 trains the baselines with the pixel loss L_d (L1) and MIDNet with its full loss;
    Table 3 trains MIDNet with each of :data:`LOSS_SETS`.
    """

    model: str
    loss: str = "L_d"

    def __post_init__(self) -> None:
        if self.model not in MODEL_LABELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODEL_LABELS)}")
        if self.loss not in LOSS_SETS:
            raise ValueError(f"unknown loss set {self.loss!r}; choose one of {', '.join(LOSS_SETS)}")

    @property
    def key(self) -> str:
        return f"{self.model}_{self.loss}"

    @property
    def label(self) -> str:
        return f"{MODEL_LABELS[self.model]} ({self.loss})"


def loss_for(loss: str, *, lambda_edge: float = LAMBDA_EDGE, lambda_fft: float = LAMBDA_FFT):
    """``(losses, weights)`` for :func:`deblurlab.train.fit` of loss set ``loss``."""
    edge, fft = LOSS_SETS[loss]
    if not edge and not fft:
        return {"l1": l1_loss}, {"l1": 1.0}
    return midnet_loss_terms(lambda_edge=lambda_edge if edge else 0.0,
                             lambda_fft=lambda_fft if fft else 0.0)


# ----------------------------------------------------------------------------- data


@dataclass
class SEMData:
    """Training pairs, held-out test pairs and a description; ``real`` is False for synthetic."""

    train: Any
    test: PairedDataset
    description: str
    real: bool


def sem_data(*, seed: int = 0, test_groups: tuple[str, ...] = ("8-1",), register: bool = True,
             synthetic_test: int = 8) -> SEMData:
    """The midnet-sem pairs split by source group (registered by default), or synthetic ones.

    The paper's random 108/12 split of 120 pairs cannot be reproduced (the repository holds 96
    tiles of 8 source images and no test list), and a random split of overlapping tiles would
    test on training pixels, so whole source groups are held out.
    """
    if config.data_path("midnet-sem"):
        sem = midnet_sem(grey=True, register=register, max_shift_px=32, trim=register)
        train, _, test = group_split(sem, test=test_groups)
        return SEMData(train, test, f"midnet-sem, train {sorted(set(train.groups))}, test "
                       f"{list(test_groups)}{', registered' if register else ''}", real=True)
    blur = {"kind": "gaussian", "sigma_px": (1.0, 3.0)}
    train = SyntheticPairs(512, crop=128, blur=blur, seed=seed)
    items = [make_item(b, s, name=f"synthetic-{i}", group=f"synthetic-{i}")
             for i, (b, s, _) in enumerate(synthetic_pairs(synthetic_test, (256, 256), psf=blur,
                                                           seed=seed + 1000))]
    return SEMData(train, PairList(items), "synthetic microstructures, Gaussian blur σ 1–3 px "
                   "(no real data configured)", real=False)


def training_crops(data: SEMData, profile: str, *, seed: int = 0):
    """Random crops with rot90/flip augmentation (paired), ``crop`` pixels square."""
    s = settings(profile)
    if isinstance(data.train, SyntheticPairs):
        return SyntheticPairs(len(data.train), crop=s["crop"], blur=data.train.blur, seed=seed)
    return RandomCrops(data.train, s["crop"], n_per_image=s["n_per_image"], seed=seed)


def test_items(data: SEMData, profile: str) -> list[dict[str, Any]]:
    """The first ``n_test`` held-out pairs (centre-cropped to ``eval_crop`` in smoke)."""
    s = settings(profile)
    n = len(data.test) if s["n_test"] is None else min(s["n_test"], len(data.test))
    items = []
    for i in range(n):
        it = dict(data.test[i])
        if s["eval_crop"]:
            it["blur"] = centre_crop(it["blur"], s["eval_crop"])
            it["sharp"] = centre_crop(it["sharp"], s["eval_crop"])
        items.append(it)
    return items


# ----------------------------------------------------------------------------- training


def train_run(spec: RunSpec, crops, profile: str, *, seed: int = 0, progress: bool = True,
              steps: int | None = None, lambda_edge: float = LAMBDA_EDGE,
              lambda_fft: float = LAMBDA_FFT) -> tuple[nn.Module, History]:
    """Train ``spec`` (or re-load it when its checkpoint is complete); returns the model in
    eval mode and its history (``history["time"][-1]`` = training seconds, summed over
    resumptions).

    Checkpoints: ``build/checkpoints/paper001/<profile>/seed<seed>/<spec.key>`` (loss weights
    other than the paper's are part of the folder name, so a lab member's variant never
    re-loads the paper's run). Every run gets the same seed, data order, optimiser and schedule.
    """
    s = settings(profile)
    model = build(spec.model, profile, seed=seed)
    losses, weights = loss_for(spec.loss, lambda_edge=lambda_edge, lambda_fft=lambda_fft)
    n = steps or s["steps"]
    key = spec.key
    if (lambda_edge, lambda_fft) != (LAMBDA_EDGE, LAMBDA_FFT) and spec.loss != "L_d":
        key += f"_le{lambda_edge:g}_lf{lambda_fft:g}"
    ckpt = config.build_dir("checkpoints", "paper001", profile, f"seed{seed}", key)
    history = fit(model, crops, losses=losses, weights=weights, steps=n, batch_size=s["batch"],
                  lr=s["lr"], optimizer="adam", scheduler="cosine", lr_min=s["lr_min"],
                  seed=seed, checkpoint_dir=ckpt, checkpoint_every=max(1, n // 4),
                  log_every=max(1, n // 40), progress=progress)
    model.eval()
    return model, history


# ----------------------------------------------------------------------------- evaluation


def restore(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """Deblur a grey ``(H, W)`` image in one pass (padded to the model's size multiple)."""
    return np.clip(to_numpy(infer.predict(model, to_tensor(image))), 0.0, 1.0)


#: PSNR and SSIM (data range 1) per method and test item — :func:`deblurlab.metrics.evaluate_methods`.
evaluate = metrics.evaluate_methods


#: Paper 001's Table 1 applies the official GoPro checkpoints without retraining. Registry names
#: (:mod:`deblurlab.weights`); DMPHN's official weights are eight separate pickles per level and
#: are not in the registry.
OFFICIAL_WEIGHTS = {"nafnet": "nafnet-gopro-width32", "hinet": "hinet-gopro",
                    "restormer": "restormer-motion-deblurring"}


def official_available() -> dict[str, bool]:
    """Which official checkpoints are on this machine (found and checksum-valid where known)."""
    found = {}
    for name, weights in OFFICIAL_WEIGHTS.items():
        try:
            wts.locate(weights, allow_download=False)
            found[name] = True
        except wts.WeightsNotFoundError:
            found[name] = False
    return found


#: Official GoPro test configs run NAFNet as ``NAFNetLocal``: test-time local statistics for
#: the 256² training crops (METHODS §2.2).
OFFICIAL_TRAIN_SIZE = 256


def load_official(name: str, *, local_stats: bool = True) -> nn.Module:
    """The paper-size RGB ``name`` with its official GoPro weights, loaded strictly (eval mode).

    NAFNet is converted with :func:`deblurlab.models.local_stats.to_local_stats` for 256² crops,
    as its official GoPro test configs do (``NAFNetLocal``); ``local_stats=False`` keeps the
    global pools. On images up to 384² the two give the same output.

    Raises :class:`deblurlab.weights.WeightsNotFoundError` (saying where to put the file) when
    it is missing — never a randomly initialised model.
    """
    if name not in OFFICIAL_WEIGHTS:
        raise ValueError(f"no official weights for {name!r}; available: {', '.join(OFFICIAL_WEIGHTS)}")
    model = wts.load_pretrained(build(name, "paper", channels=3), OFFICIAL_WEIGHTS[name])
    if local_stats and global_pools(model):
        model = to_local_stats(model, OFFICIAL_TRAIN_SIZE, inplace=True)
    return model


def restore_grey_with_rgb_model(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """Run an RGB model on a grey ``(H, W)`` image (channel replicated), return the channel
    mean — how GoPro-trained checkpoints see the grey SEM tiles."""
    rgb = np.repeat(np.asarray(image, np.float32)[..., None], 3, axis=-1)
    out = to_numpy(infer.predict(model, to_tensor(rgb)))
    return np.clip(out.mean(axis=-1), 0.0, 1.0)


def largest_difference_window(a: np.ndarray, b: np.ndarray, reference: np.ndarray,
                              size: int = 64) -> tuple[int, int]:
    """Top-left ``(y, x)`` of the ``size``² window where ``a`` comes closer to ``reference``
    than ``b`` does (largest drop in mean absolute error) — where to point the red arrow."""
    gain = np.abs(b - reference) - np.abs(a - reference)
    t = torch.from_numpy(np.ascontiguousarray(gain, np.float32))[None, None]
    pooled = torch.nn.functional.avg_pool2d(t, size, stride=max(1, size // 4))[0, 0]
    iy, ix = np.unravel_index(int(pooled.argmax()), tuple(pooled.shape))
    return int(iy * max(1, size // 4)), int(ix * max(1, size // 4))


__all__ = ["LOSS_SETS", "MODELS", "MODEL_LABELS", "OFFICIAL_WEIGHTS", "PROFILES", "RunSpec",
           "SEMData", "build", "evaluate", "largest_difference_window", "load_official",
           "loss_for", "official_available", "restore", "restore_grey_with_rgb_model",
           "sem_data", "settings", "test_items", "train_run", "training_crops"]
