"""DeblurGAN-v2 training: RaGAN-LS losses with history pools, the "double GAN", the content loss
and :func:`fit_gan`, a resumable GAN training loop (paper 002 baseline; METHODS §3.8).

Reference: Kupyn et al., ICCV 2019, official code ``VITA-Group/DeblurGANv2`` (``train.py``,
``adversarial_trainer.py``, ``models/losses.py``, ``schedulers.py``).

RaGAN-LS (repo ``RelativisticDiscLossLS``)
------------------------------------------
With ``D(·)`` a discriminator's score map and ``R̄``, ``F̄`` the means held by its *real* and
*fake* history pools::

    L_D = ½ [ mean (D(real) − F̄ − 1)² + mean (D(fake) − R̄ + 1)² ]
    L_G = ½ [ mean (D(real) − F̄ + 1)² + mean (D(fake) − R̄ − 1)² ]

**What is pooled** (:class:`HistoryPool`, the repo's ``ImagePool(50)``): the discriminator's
*output score maps*, detached, one entry per image (``(1, h', w')`` each), not images. Every
discriminator step first appends this batch's ``D(fake)`` maps to the fake pool and ``D(real)``
maps to the real pool (FIFO, the oldest entries drop out beyond 50 images), then uses the means
over *all elements of all pooled maps* as ``F̄`` and ``R̄`` — so the current batch is included.
The generator step that follows only reads the pools (its ``D`` is the just-updated one, the
pools still hold the pre-update scores). The repo's ``query`` would subsample when the pool
holds more than ``sample_size`` entries, but ``sample_size == pool_size``, so it never does:
the pool mean is deterministic. The means are constants for back-propagation (detached).
Each discriminator has its own pair of pools (the repo deep-copies the criterion).

Double GAN and generator loss
-----------------------------
``L_adv`` and the discriminator loss are the means over the PatchGAN and the full discriminator
(:class:`DoubleGAN`). Generator loss (:class:`ContentLoss` + adversarial term)::

    L_G_total = 0.5 · MSE(ŷ, y) + 0.006 · MSE(φ(ŷ), φ(y)) + λ_adv · L_adv

with φ the VGG19 ``conv3_3`` map before its ReLU (torchvision index 14), via
:class:`deblurlab.losses.PerceptualLoss` ("vgg19-imagenet-conv1_1-conv3_4" from the weights
registry, ``DEBLURLAB_WEIGHTS``; a missing file raises
:class:`~deblurlab.weights.WeightsNotFoundError`, never a random VGG). Grey images are
replicated to RGB by the VGG wrapper. Feature scale: ``PerceptualLoss``'s default, features
divided by the file's ``input_gain`` (≈ 57.6 for this Caffe-origin 0..255 file), i.e. the
torchvision ``(x − mean)/std`` convention the repo's ``models.vgg19(pretrained=True)`` used, so
0.006 keeps its meaning. λ_adv = 0.01 (paper; the repo config uses 0.001). As in the repo's
``_update_d``, the discriminators are trained on ``λ_adv · L_D`` (``scale_d_loss``; with Adam this
mostly rescales ε). The pixel MSE is on [0, 1] images; the repo computes it after ImageNet
normalisation of the first batch item (batch 1 in its config), which makes it ≈ 19.6 × larger —
``ContentLoss(pixel_space="imagenet")`` reproduces that.

Step order (repo ``train.py``): ``fake = G(x)``; D step on ``λ·L_D(real, fake.detach())``; G step
on the content loss + ``λ·L_G`` with the updated discriminators. Adam (β 0.9, 0.999) for G and
one Adam for both discriminators; learning rate constant, then linear decay to ``lr_min``
(:func:`linear_decay_factor`), applied per *step* here (per epoch in the repo).

Resumption
----------
:func:`fit_gan` follows :func:`deblurlab.train.fit`'s conventions and reuses its pieces: the
same per-epoch permutation sampler (so the data order is that of ``fit`` for the same seed and
batch size), :func:`~deblurlab.train.item_rng` for per-item randomness in data sets,
:class:`~deblurlab.train.History`, atomic ``last.pt`` checkpoints loaded with
``weights_only=True``, and the captured global RNG states. A checkpoint holds the generator,
discriminators, both optimisers and schedulers, the history pools, the sampler and RNG states and
the history; a run interrupted at step ``k`` and resumed ends bit-identical (on the CPU) to an
uninterrupted one. Each training step (G forward through both updates) is shielded from SIGINT,
so Ctrl-C lands between steps; a ``KeyboardInterrupt`` raised from *inside* a step by other code
leaves the models half-updated, so then no checkpoint is written (the last one on disk stays).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torch.utils.data._utils.collate import default_collate

from .checkpoint import (
    CheckpointMismatchError,
    atomic_save,
    capture_rng_state,
    check_state_dict,
    load_file,
    restore_rng_state,
    resume_path,
)
from .config import default_device, seed_everything
from .losses import DEFAULT_VGG_WEIGHTS, PerceptualLoss
from .models.deblurgan import FullDiscriminator, PatchDiscriminator
from .train import (
    LAST_CHECKPOINT,
    History,
    _as_dataset,
    _EpochSampler,
    _metric_fns,
    _positive_int,
    _ShieldSigint,
    _split_batch,
    evaluate,
)
from .weights import TORCHVISION_STD

#: Marker stored in checkpoints written by :func:`fit_gan`.
GAN_CHECKPOINT_FORMAT = "deblurlab.fit_gan/1"
#: torchvision's ImageNet mean (for ``ContentLoss(pixel_space="imagenet")``).
IMAGENET_MEAN = (0.485, 0.456, 0.406)

__all__ = ["GAN_CHECKPOINT_FORMAT", "ContentLoss", "DoubleGAN", "HistoryPool", "RaGANLSLoss",
           "fit_gan", "linear_decay_factor", "load_generator", "make_double_gan",
           "ragan_ls_d_loss", "ragan_ls_g_loss"]


# --------------------------------------------------------------------------- RaGAN-LS


def ragan_ls_d_loss(d_real: Tensor, d_fake: Tensor, mean_real: Tensor | float,
                    mean_fake: Tensor | float) -> Tensor:
    """``½[mean (d_real − mean_fake − 1)² + mean (d_fake − mean_real + 1)²]``.

    >>> t = torch.tensor
    >>> ragan_ls_d_loss(t([0.5]), t([-0.5]), 0.5, -0.5).item()  # real − F̄ = 1, fake − R̄ = −1
    0.0
    """
    return (torch.mean((d_real - mean_fake - 1) ** 2)
            + torch.mean((d_fake - mean_real + 1) ** 2)) / 2


def ragan_ls_g_loss(d_real: Tensor, d_fake: Tensor, mean_real: Tensor | float,
                    mean_fake: Tensor | float) -> Tensor:
    """``½[mean (d_real − mean_fake + 1)² + mean (d_fake − mean_real − 1)²]``.

    >>> t = torch.tensor
    >>> ragan_ls_g_loss(t([0.5]), t([-0.5]), 0.5, -0.5).item()  # (1 + 1)² on both sides
    4.0
    """
    return (torch.mean((d_real - mean_fake + 1) ** 2)
            + torch.mean((d_fake - mean_real - 1) ** 2)) / 2


class HistoryPool:
    """FIFO of the last ``size`` per-image discriminator score maps (the repo's ``ImagePool``).

    :meth:`add` appends each image's map of a batch ``(B, 1, h, w)`` (detached copies),
    dropping the oldest beyond ``size``; :meth:`mean` is the mean over all elements of all
    held maps (maps of different sizes are allowed; the repo would fail on them).

    >>> pool = HistoryPool(2)
    >>> pool.add(torch.zeros(1, 1, 2, 2)); pool.add(torch.ones(2, 1, 1, 1))
    >>> len(pool), pool.mean().item()   # the zeros map was pushed out
    (2, 1.0)
    """

    def __init__(self, size: int = 50) -> None:
        self.size = _positive_int(size, "pool size")
        self.items: deque[Tensor] = deque()

    def __len__(self) -> int:
        return len(self.items)

    def add(self, scores: Tensor) -> None:
        """Append the maps of a batch ``(B, …)`` one image at a time (detached copies)."""
        for item in scores.detach():
            self.items.append(item.clone())
            if len(self.items) > self.size:
                self.items.popleft()

    def mean(self) -> Tensor:
        """Mean over every element of every held map (a 0-d tensor, no gradient)."""
        if not self.items:
            raise RuntimeError("the history pool is empty: a discriminator step (which fills it) "
                               "must come before the generator's adversarial loss")
        dev = self.items[-1].device
        return torch.cat([t.reshape(-1).to(dev) for t in self.items]).mean()

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "items": [t.cpu() for t in self.items]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if int(state["size"]) != self.size:
            raise CheckpointMismatchError(f"history pool of size {state['size']} in the "
                                          f"checkpoint, {self.size} in this run")
        self.items = deque(t.clone() for t in state["items"])


class RaGANLSLoss:
    """RaGAN-LS for one discriminator with its own real and fake :class:`HistoryPool` (module
    doc). Works on score maps: call :meth:`d_loss` (fills the pools) before :meth:`g_loss`.

    >>> crit = RaGANLSLoss()
    >>> d_real, d_fake = torch.full((1, 1, 2, 2), 0.5), torch.full((1, 1, 2, 2), -0.5)
    >>> crit.d_loss(d_real, d_fake).item(), crit.g_loss(d_real, d_fake).item()
    (0.0, 4.0)
    """

    def __init__(self, pool_size: int = 50) -> None:
        self.real_pool, self.fake_pool = HistoryPool(pool_size), HistoryPool(pool_size)

    def d_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        self.fake_pool.add(d_fake)
        self.real_pool.add(d_real)
        return ragan_ls_d_loss(d_real, d_fake, self.real_pool.mean(), self.fake_pool.mean())

    def g_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return ragan_ls_g_loss(d_real, d_fake, self.real_pool.mean(), self.fake_pool.mean())

    def state_dict(self) -> dict[str, Any]:
        return {"real": self.real_pool.state_dict(), "fake": self.fake_pool.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.real_pool.load_state_dict(state["real"])
        self.fake_pool.load_state_dict(state["fake"])


def make_double_gan(in_ch: int = 1, ndf: int = 64, norm: str = "instance") -> dict[str, nn.Module]:
    """``{"patch": PatchDiscriminator, "full": FullDiscriminator}`` (the repo's "double_gan")."""
    return {"patch": PatchDiscriminator(in_ch, ndf, norm),
            "full": FullDiscriminator(in_ch, ndf, norm)}


def _as_discriminators(discriminators: Any) -> dict[str, nn.Module]:
    if isinstance(discriminators, nn.Module) and not isinstance(
            discriminators, (nn.ModuleDict, nn.ModuleList)):
        return {"d": discriminators}
    if isinstance(discriminators, (Mapping, nn.ModuleDict)):
        out = dict(discriminators.items())
    elif isinstance(discriminators, Sequence) or isinstance(discriminators, nn.ModuleList):
        out = {f"d{i}": d for i, d in enumerate(discriminators)}
    else:
        raise TypeError(f"discriminators must be a module, a sequence or a mapping of modules, "
                        f"got {type(discriminators).__name__}")
    if not out or not all(isinstance(d, nn.Module) for d in out.values()):
        raise TypeError("discriminators must hold at least one nn.Module, and only modules")
    return out


class DoubleGAN(nn.Module):
    """Adversarial losses averaged over several discriminators, each with its own RaGAN-LS
    criterion and pools (the repo's ``DoubleAdversarialTrainer``).

    Args:
        discriminators: ``{name: module}`` (e.g. :func:`make_double_gan`), a sequence, or one
            module.
        pool_size: history pool length per discriminator and side (50).

    ``last_scores`` holds each discriminator's latest ``(D(real), D(fake))`` means (floats are
    not computed unless read).
    """

    def __init__(self, discriminators: Any, pool_size: int = 50) -> None:
        super().__init__()
        self.nets = nn.ModuleDict(_as_discriminators(discriminators))
        self.criteria = {name: RaGANLSLoss(pool_size) for name in self.nets}

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """Mean over discriminators of ``L_D`` (``fake`` is detached here); fills the pools."""
        fake = fake.detach()
        losses = []
        for name, net in self.nets.items():
            d_fake = net(fake)
            d_real = net(real)
            losses.append(self.criteria[name].d_loss(d_real, d_fake))
        return torch.stack(losses).mean()

    def g_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """Mean over discriminators of ``L_G``; gradients flow to ``fake`` only."""
        losses = []
        for name, net in self.nets.items():
            d_fake = net(fake)
            with torch.no_grad():
                d_real = net(real)
            losses.append(self.criteria[name].g_loss(d_real, d_fake))
        return torch.stack(losses).mean()

    def pool_state(self) -> dict[str, Any]:
        return {name: c.state_dict() for name, c in self.criteria.items()}

    def load_pool_state(self, state: Mapping[str, Any]) -> None:
        if set(state) != set(self.criteria):
            raise CheckpointMismatchError(f"checkpoint pools are for discriminators "
                                          f"{sorted(state)}, this run has {sorted(self.criteria)}")
        for name, c in self.criteria.items():
            c.load_state_dict(state[name])


# --------------------------------------------------------------------------- content loss


class ContentLoss(nn.Module):
    """DeblurGAN-v2 content loss ``pixel_weight·MSE + perceptual_weight·MSE(φ_conv3_3)``.

    Args:
        pixel_weight, perceptual_weight: 0.5 and 0.006 (repo ``PerceptualLoss.get_loss``).
        layer: VGG19 layer (pre-ReLU ``conv_3_3`` = torchvision index 14).
        weights: VGG19 weights (registry name; ``"random-for-tests"`` only for tests).
        feature_scale: see :class:`deblurlab.losses.PerceptualLoss` (default: the file's
            ``input_gain``, torchvision-equivalent scale).
        pixel_space: ``"unit"`` — MSE of the [0, 1] images (default); ``"imagenet"`` — MSE
            after grey → RGB and ``(x − mean)/std`` (the repo's effective pixel term, ≈ 19.6 ×).

    After a call, :attr:`terms` holds the detached unweighted ``{"pixel", "vgg"}`` values.

    Shapes:
        pred, target: ``(N, 1 or 3, H, W)`` in [0, 1]; output scalar.
    """

    def __init__(self, pixel_weight: float = 0.5, perceptual_weight: float = 0.006, *,
                 layer: str = "conv_3_3", weights: Any = DEFAULT_VGG_WEIGHTS,
                 feature_scale: float | None = None, pixel_space: str = "unit") -> None:
        super().__init__()
        if pixel_space not in ("unit", "imagenet"):
            raise ValueError(f"pixel_space must be 'unit' or 'imagenet', got {pixel_space!r}")
        for name, v in (("pixel_weight", pixel_weight), ("perceptual_weight", perceptual_weight)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {v!r}")
        self.pixel_weight, self.perceptual_weight = float(pixel_weight), float(perceptual_weight)
        self.pixel_space = pixel_space
        self.perceptual = (PerceptualLoss(layer, weights, feature_scale=feature_scale)
                           if self.perceptual_weight > 0 else None)
        self.terms: dict[str, Tensor] = {}

    def _pixel(self, pred: Tensor, target: Tensor) -> Tensor:
        if self.pixel_space == "unit":
            return F.mse_loss(pred, target)
        mean = pred.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = pred.new_tensor(TORCHVISION_STD).view(1, 3, 1, 1)
        rgb = lambda t: (t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t)  # noqa: E731
        return F.mse_loss((rgb(pred) - mean) / std, (rgb(target) - mean) / std)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
        pixel = self._pixel(pred, target)
        total = self.pixel_weight * pixel
        self.terms = {"pixel": pixel.detach()}
        if self.perceptual is not None:
            vgg = self.perceptual(pred, target)
            total = total + self.perceptual_weight * vgg
            self.terms["vgg"] = vgg.detach()
        return total

    def extra_repr(self) -> str:
        return (f"pixel_weight={self.pixel_weight}, perceptual_weight={self.perceptual_weight}, "
                f"pixel_space={self.pixel_space!r}")


# --------------------------------------------------------------------------- schedule


def linear_decay_factor(step: int, steps: int, decay_start: int, lr: float,
                        lr_min: float) -> float:
    """LR multiplier after ``step`` optimizer steps: 1 before ``decay_start``, then linear from
    ``lr`` to ``lr_min`` at ``steps`` (the repo's ``LinearDecay``, counted in steps).

    >>> [round(linear_decay_factor(s, 4, 2, 1e-4, 0.0), 3) for s in range(5)]
    [1.0, 1.0, 1.0, 0.5, 0.0]
    """
    if step < decay_start or steps <= decay_start:
        return 1.0
    frac = min(1.0, (step - decay_start) / (steps - decay_start))
    return (lr_min + (lr - lr_min) * (1.0 - frac)) / lr


# --------------------------------------------------------------------------- weights


def load_generator(generator: nn.Module, path: str | Path,
                   map_location: str | torch.device = "cpu") -> nn.Module:
    """Load the generator weights of a :func:`fit_gan` checkpoint (or a plain state dict)."""
    state = load_file(path, map_location)
    if isinstance(state, Mapping) and state.get("format") == GAN_CHECKPOINT_FORMAT:
        state = state["model"]
    if not isinstance(state, Mapping):
        raise CheckpointMismatchError(f"{path} holds no state dict")
    check_state_dict(generator, state, str(path))
    generator.load_state_dict(state)
    return generator


# --------------------------------------------------------------------------- training


def _backbone_params(generator: nn.Module) -> list[nn.Parameter]:
    fn = getattr(generator, "backbone_parameters", None)
    if fn is None:
        raise ValueError("warmup_freeze_backbone_steps > 0 needs a generator with a "
                         "backbone_parameters() method (e.g. FPNMobileNet)")
    return list(fn())


def _set_requires_grad(params: Iterator[nn.Parameter] | list[nn.Parameter], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def fit_gan(
    generator: nn.Module,
    discriminators: Any,
    train_data: Any,
    *,
    steps: int,
    batch_size: int = 1,
    lr: float = 1e-4,
    lr_decay_start: int | None = None,
    lr_min: float = 1e-7,
    warmup_freeze_backbone_steps: int = 0,
    seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = 100,
    resume: bool | str | Path = True,
    progress: bool = True,
    content_loss: Callable[[Tensor, Tensor], Tensor] | None = None,
    adv_weight: float = 0.01,
    scale_d_loss: bool = True,
    pool_size: int = 50,
    device: torch.device | str | None = None,
    log_every: int = 10,
    val_data: Any = None,
    val_every: int | None = None,
    val_batch_size: int = 1,
    metrics: Any = None,
    num_workers: int = 0,
    input_key: str = "blur",
    target_key: str = "sharp",
    on_interrupt: str = "raise",
) -> History:
    """Train a DeblurGAN-v2 generator against its discriminators; resumable and repeatable.

    Per step (module doc): ``fake = G(x)``; Adam step of the discriminators on
    ``λ_adv·L_D`` (``L_D`` without λ when ``scale_d_loss=False``); Adam step of G on
    ``content_loss(fake, y) + λ_adv·L_adv``. Both learning rates follow
    :func:`linear_decay_factor`.

    Args:
        generator: ``(B, C_in, h, w)`` in [0, 1] → ``(B, C_out, h, w)`` shaped like the targets
            (e.g. :class:`~deblurlab.models.deblurgan.FPNMobileNet`). Left in eval mode.
        discriminators: ``{name: module}`` (e.g. :func:`make_double_gan`), a sequence, or one
            module; the adversarial loss is their mean.
        train_data: as for :func:`deblurlab.train.fit` — items ``{"blur": (C_in, h, w),
            "sharp": (C_out, h, w)}`` (or pairs / a tensor pair); per-item randomness from
            :func:`~deblurlab.train.item_rng`.
        steps: total steps (each = one D and one G update), counted across resumptions.
        batch_size: items per step (1 in the repo).
        lr: Adam learning rate of G and D (repo 1e-4; Wieslander 1e-3).
        lr_decay_start: step where the linear decay starts (default ``steps // 4``: epoch 50 of
            200 in the repo).
        lr_min: final learning rate (1e-7).
        warmup_freeze_backbone_steps: the generator's ``backbone_parameters()`` get no updates
            for this many steps (repo: 3 epochs). Frozen parameters get no gradient and Adam
            skips them; the repo instead builds a new G optimizer and scheduler at unfreezing.
        seed: seeds Python/NumPy/torch and the data order.
        checkpoint_dir: ``last.pt``, ``history.json``/``.csv`` go there; ``None`` saves nothing.
        checkpoint_every: also save every this many steps (always at the end / on interrupt).
        resume: ``True`` continues from ``checkpoint_dir/last.pt`` when present, a path from
            that file, ``False`` starts afresh.
        progress: tqdm progress bar.
        content_loss: ``fn(pred, target) → scalar``; default :class:`ContentLoss` (0.5·MSE +
            0.006·VGG19 conv3_3 with the real weights — a missing file raises
            :class:`~deblurlab.weights.WeightsNotFoundError`). Its ``terms`` dict, when present,
            is logged.
        adv_weight: λ_adv (0.01 paper, 0.001 repo config).
        scale_d_loss: train D on ``λ_adv·L_D`` as the repo does.
        pool_size: history pool length (50).
        device: default :func:`deblurlab.config.default_device`.
        log_every: steps per history row (means since the previous row).
        val_data, val_every, val_batch_size, metrics: optional validation with
            :func:`deblurlab.train.evaluate` (default PSNR) every ``val_every`` steps
            (default ``steps // 10``) and at the end; rows get ``val_<metric>``.
        num_workers, input_key, target_key, on_interrupt: as for :func:`~deblurlab.train.fit`.

    Returns:
        :class:`~deblurlab.train.History` with columns ``loss`` (G total), ``pixel``, ``vgg``,
        ``adv`` (unweighted ``L_adv``), ``d_loss`` (unweighted mean ``L_D``), ``lr``, ``time``.
    """
    steps = _positive_int(steps, "steps", allow_zero=True)
    batch_size = _positive_int(batch_size, "batch_size")
    log_every = _positive_int(log_every, "log_every")
    num_workers = _positive_int(num_workers, "num_workers", allow_zero=True)
    pool_size = _positive_int(pool_size, "pool_size")
    warmup = _positive_int(warmup_freeze_backbone_steps, "warmup_freeze_backbone_steps",
                           allow_zero=True)
    if checkpoint_every is not None:
        checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
    decay_start = steps // 4 if lr_decay_start is None else _positive_int(
        lr_decay_start, "lr_decay_start", allow_zero=True)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(lr_min, (int, float)) and 0 <= lr_min <= lr):
        raise ValueError(f"lr_min must be a number in [0, lr], got {lr_min!r}")
    if not (isinstance(adv_weight, (int, float)) and math.isfinite(adv_weight) and adv_weight >= 0):
        raise ValueError(f"adv_weight must be a finite number ≥ 0, got {adv_weight!r}")
    if on_interrupt not in ("raise", "return"):
        raise ValueError(f"on_interrupt must be 'raise' or 'return', got {on_interrupt!r}")
    train_set = _as_dataset(train_data, "train_data")
    if len(train_set) < batch_size:
        raise ValueError(f"train_data has {len(train_set)} items, fewer than batch_size "
                         f"{batch_size}")
    metric_fns = _metric_fns(metrics)
    if val_data is not None:
        val_data = _as_dataset(val_data, "val_data")
        val_every = max(1, steps // 10) if val_every is None else _positive_int(
            val_every, "val_every")
    backbone = _backbone_params(generator) if warmup > 0 else []
    if content_loss is None:
        content_loss = ContentLoss()  # real VGG19 weights; raises if the file is missing

    device = torch.device(device) if device is not None else default_device()
    adversary = DoubleGAN(discriminators, pool_size)
    generator.to(device)
    adversary.to(device)
    if isinstance(content_loss, nn.Module):
        content_loss.to(device)
    seed_everything(seed)
    sampler = _EpochSampler(len(train_set), batch_size, seed)
    g_params = list(generator.parameters())
    d_params = list(adversary.nets.parameters())
    if not g_params or not d_params:
        raise ValueError("generator and discriminators need trainable parameters")
    opt_g = torch.optim.Adam(g_params, lr=lr)
    opt_d = torch.optim.Adam(d_params, lr=lr)
    factor = lambda s: linear_decay_factor(s, steps, decay_start, lr, lr_min)  # noqa: E731
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, factor)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, factor)
    config = {"steps": steps, "batch_size": batch_size, "seed": seed, "lr": float(lr),
              "lr_min": float(lr_min), "lr_decay_start": decay_start, "warmup": warmup,
              "adv_weight": float(adv_weight), "scale_d_loss": bool(scale_d_loss),
              "pool_size": pool_size, "discriminators": list(adversary.nets)}

    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    ckpt_path = folder / LAST_CHECKPOINT if folder is not None else None
    history = History(checkpoint_dir=folder)
    step = 0
    resume_from = resume_path(resume, ckpt_path)
    rng_state = capture_rng_state(cuda=device.type == "cuda")
    if resume_from is not None:
        ckpt = load_file(resume_from)
        _check_gan_checkpoint(ckpt, config, resume_from)
        check_state_dict(generator, ckpt["model"], f"checkpoint {resume_from} (generator)")
        generator.load_state_dict(ckpt["model"])
        for name, net in adversary.nets.items():
            check_state_dict(net, ckpt["discriminators"][name],
                             f"checkpoint {resume_from} (discriminator {name!r})")
            net.load_state_dict(ckpt["discriminators"][name])
        opt_g.load_state_dict(ckpt["optimizer_g"])
        opt_d.load_state_dict(ckpt["optimizer_d"])
        sched_g.load_state_dict(ckpt["scheduler_g"])
        sched_d.load_state_dict(ckpt["scheduler_d"])
        adversary.load_pool_state(ckpt["pools"])
        sampler.load_state_dict(ckpt["sampler"])
        step, history.rows, rng_state = int(ckpt["step"]), list(ckpt["history"]), ckpt["rng"]
        if step > steps:
            warnings.warn(f"checkpoint {resume_from} is at step {step}, beyond steps={steps}; "
                          "its weights are loaded and no training happens", stacklevel=2)

    def save_checkpoint() -> None:
        if ckpt_path is None:
            return
        atomic_save({
            "format": GAN_CHECKPOINT_FORMAT, "step": step, "epoch": sampler.epoch,
            "model": generator.state_dict(),
            "discriminators": {n: d.state_dict() for n, d in adversary.nets.items()},
            "optimizer_g": opt_g.state_dict(), "optimizer_d": opt_d.state_dict(),
            "scheduler_g": sched_g.state_dict(), "scheduler_d": sched_d.state_dict(),
            "pools": adversary.pool_state(), "sampler": sampler.state_dict(), "rng": rng_state,
            "history": history.rows, "config": config,
        }, ckpt_path)
        history.save(folder)

    from tqdm.auto import tqdm

    bar = tqdm(total=steps, initial=min(step, steps), disable=not progress, desc="fit_gan",
               unit="step", dynamic_ncols=True)
    time_offset = float(history.rows[-1]["time"]) if history.rows else 0.0
    t_start = time.perf_counter()
    sums: dict[str, Tensor] = {}
    n_summed = 0
    in_step = False
    restore_rng_state(rng_state)  # last, so nothing draws on the global RNGs before step 1
    generator.train()
    adversary.train()
    try:
        while step < steps:
            if hasattr(train_set, "set_epoch"):
                train_set.set_epoch(sampler.epoch)
            loader = DataLoader(
                train_set, batch_sampler=sampler.remaining(), num_workers=num_workers,
                collate_fn=default_collate, pin_memory=device.type == "cuda",
                generator=torch.Generator().manual_seed(seed + sampler.epoch))
            for batch in loader:
                x, y = _split_batch(batch, input_key, target_key)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with _ShieldSigint():
                    in_step = True
                    _set_requires_grad(backbone, step >= warmup)
                    fake = generator(x)
                    if fake.shape != y.shape:
                        raise ValueError(f"generator output {tuple(fake.shape)} does not match "
                                         f"the target {tuple(y.shape)}")
                    # discriminator step
                    _set_requires_grad(d_params, True)
                    opt_d.zero_grad(set_to_none=True)
                    loss_d = adversary.d_loss(y, fake)
                    (adv_weight * loss_d if scale_d_loss else loss_d).backward()
                    opt_d.step()
                    # generator step, against the updated discriminators
                    _set_requires_grad(d_params, False)
                    opt_g.zero_grad(set_to_none=True)
                    loss_content = content_loss(fake, y)
                    loss_adv = adversary.g_loss(y, fake)
                    loss_g = loss_content + adv_weight * loss_adv
                    loss_g.backward()
                    opt_g.step()
                    sched_g.step()
                    sched_d.step()
                    sampler.advance()
                    step += 1
                    rng_state = capture_rng_state(cuda=device.type == "cuda")
                    in_step = False
                values = {"loss": loss_g, **getattr(content_loss, "terms", {}),
                          "adv": loss_adv, "d_loss": loss_d}
                for name, v in values.items():
                    sums[name] = sums.get(name, 0) + v.detach()
                n_summed += 1
                bar.update(1)

                row: dict[str, Any] = {}
                if step % log_every == 0 or step == steps:
                    row.update({k: float(v) / n_summed for k, v in sums.items()})
                    sums, n_summed = {}, 0
                    if not math.isfinite(row["loss"]):
                        raise FloatingPointError(f"generator loss is {row['loss']} at step "
                                                 f"{step}; lower lr")
                    bar.set_postfix(loss=f"{row['loss']:.4g}", d=f"{row['d_loss']:.3g}")
                if val_data is not None and (step % val_every == 0 or step == steps):
                    scores = evaluate(generator, val_data, metrics=metric_fns,
                                      batch_size=val_batch_size, device=device,
                                      num_workers=num_workers, input_key=input_key,
                                      target_key=target_key)
                    generator.train()
                    row.update({f"val_{k}": v for k, v in scores.items()})
                if row:
                    history.rows.append({
                        "step": step, "epoch": round(step / sampler.per_epoch, 4), **row,
                        "lr": float(opt_g.param_groups[0]["lr"]),
                        "time": round(time_offset + time.perf_counter() - t_start, 3)})
                if checkpoint_every is not None and step % checkpoint_every == 0 and step < steps:
                    save_checkpoint()
                if step >= steps:
                    break
        save_checkpoint()
    except KeyboardInterrupt:
        history.interrupted = True
        if in_step:
            warnings.warn(f"interrupted inside step {step + 1} (after a partial update): no "
                          "checkpoint written for it; the last one on disk stays valid",
                          stacklevel=2)
        else:
            save_checkpoint()
        if on_interrupt == "raise":
            raise
    finally:
        bar.close()
        _set_requires_grad(backbone, True)
        _set_requires_grad(d_params, True)
        generator.eval()
        adversary.eval()
    return history


def _check_gan_checkpoint(ckpt: Any, config: Mapping[str, Any], path: Path) -> None:
    """Refuse checkpoints not from :func:`fit_gan` or that this run could not continue."""
    if not isinstance(ckpt, Mapping) or ckpt.get("format") != GAN_CHECKPOINT_FORMAT:
        raise CheckpointMismatchError(
            f"{path} is not a deblurlab.gan.fit_gan checkpoint (for plain generator weights use "
            "load_generator)")
    old = ckpt["config"]
    for key in ("steps", "lr_decay_start", "lr", "lr_min", "warmup", "discriminators",
                "pool_size"):
        if old[key] != config[key]:
            raise CheckpointMismatchError(
                f"checkpoint {path} used {key}={old[key]!r}, this run {key}={config[key]!r}; "
                "the run cannot continue with another schedule or set-up. Use the same "
                "setting, or resume=False / another checkpoint_dir to start afresh")
