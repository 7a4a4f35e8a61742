"""The one training loop behind every notebook: :func:`fit`.

Repeatability and exact resumption
----------------------------------
``fit`` seeds Python, NumPy and torch from ``seed`` and draws the data order from its own
``torch.Generator``: each epoch is a fresh permutation of the data set, cut into batches of
``batch_size`` (an incomplete last batch is dropped). A checkpoint stores the model, optimizer,
scheduler, grad scaler, step, epoch, the generator state at the start of the epoch with the
position inside it, the global RNG states and the history. Resuming from it therefore continues
*exactly*: on the CPU, a run interrupted at step ``k`` and resumed ends with the same weights,
bit for bit, as an uninterrupted one. (On CUDA some kernels are not deterministic, so resumed
runs agree only statistically.) Hyper-parameters such as the learning rate come from the
checkpoint's optimizer state when resuming, and the first history row after a resume averages
only the steps run since.

Contract for data sets. ``train_data`` is a map-style data set (``__len__``, ``__getitem__``)
whose items are dicts holding ``input_key`` / ``target_key`` (default ``"blur"`` / ``"sharp"``)
or ``(input, target)`` pairs of float32 ``(C, H, W)`` tensors in [0, 1]; a pair of tensors
``(inputs, targets)`` shaped ``(N, C, H, W)`` is accepted too. Any randomness of an item (crop
position, flips) must be a function of ``(seed, epoch, index)`` only — e.g.
``np.random.default_rng([seed, epoch, index])`` (see :func:`item_rng`) — never of the global RNGs,
which worker processes and resumption do not reproduce. ``fit`` calls ``train_data.set_epoch(e)``
(when the method exists) before each epoch, including the epoch it resumes in.
:class:`deblurlab.datasets.RandomCrops` follows this contract.

Interrupting
------------
With ``checkpoint_dir`` set, a ``KeyboardInterrupt`` (Ctrl-C, the notebook's stop button) saves
``last.pt`` and the history at the last *completed* step, then is re-raised so that the notebook
or script stops there (``on_interrupt="return"`` returns the :class:`History` with
``interrupted=True`` instead). The model in memory keeps its trained weights, and calling ``fit``
again with the same arguments continues where it stopped. Parameter updates are shielded from
SIGINT, so a checkpoint never holds a half-applied optimizer step. Without ``checkpoint_dir``
nothing is written, but the model in memory still holds the weights of the last completed step.

Non-finite losses
-----------------
A NaN or infinite loss stops ``fit`` with ``FloatingPointError`` naming the first step it
happened at and, where the batch of that step is at hand, whether it held NaN/inf values (bad
data) or not (divergence). Each step's loss is checked on the device, without a host sync; the
result is read every step on the CPU, elsewhere at each history row and before each save, so no
row or checkpoint follows a bad step. A checkpoint whose weights hold NaN/inf is never written
(the last good ``last.pt`` stays) nor loaded. With ``amp`` the grad scaler skips steps with
non-finite losses itself, so only the weights are checked.

Distributed training (torchrun, DistributedDataParallel)
--------------------------------------------------------
When ``torch.distributed`` is initialised (``torchrun`` and
:func:`deblurlab.distributed.init_from_env`), ``fit`` trains data-parallel: it wraps the model in
``DistributedDataParallel`` and every rank takes its contiguous share of each *global* batch —
``batch_size`` is the global batch, split into ``batch_size / world_size`` items per rank (it must
divide evenly). The global data order is the same seeded permutation as in one process, so step
``t`` sees exactly the same items whatever the number of processes. DDP averages the ranks'
gradients; each loss is a mean over the local batch, so the average equals the gradient of the mean
over the global batch and the weights follow the one-process run up to floating-point rounding —
provided the losses are means over equally sized shards and the model draws no random numbers and
has no BatchNorm. Caveats:

* BatchNorm normalises with the statistics of each rank's own shard unless ``sync_bn=True``
  (converts to ``nn.SyncBatchNorm``, CUDA only), so with BatchNorm a run differs from the
  one-process run with the same global batch.
* Random layers (dropout) draw from each rank's own global RNGs, seeded from ``(seed, rank)``
  (rank 0 uses ``seed`` itself): the run is repeatable, but not equal to the one-process run.
* Rank 0 alone writes ``last.pt`` and the history files and shows the progress bar; the other
  ranks wait at a barrier after each save, so when ``fit`` returns on any rank the files exist.
  History rows hold the loss averaged over all ranks, on every rank.
* Validation runs on rank 0 only (on the unwrapped model, its whole ``val_data``) and its scores
  are sent to the others, so the numbers do not depend on the number of processes.
* Checkpoints hold the unwrapped model's ``state_dict`` (no ``module.`` prefix) — they load in
  one-process code — plus ``world_size`` and each rank's RNG state. Rank 0 reads the checkpoint
  and sends it to the others, so only rank 0 needs to see ``checkpoint_dir`` (multi-node runs
  without a shared file system resume too). A run may resume with another number of processes:
  the sampler state counts global batches, so it stays valid as long as ``batch_size`` (global)
  is unchanged; a changed ``batch_size`` is refused by the usual checkpoint check.
* Ctrl-C under torchrun: rank 0 saves ``last.pt`` at its last completed step when it sees the
  ``KeyboardInterrupt`` (no collective is involved, so it cannot hang); the last periodic
  checkpoint is the fallback when the launcher terminates the workers first.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data._utils.collate import default_collate

from .checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointMismatchError,
    atomic_save,
    capture_rng_state,
    check_finite_state,
    check_state_dict,
    load_file,
    load_weights,
    nonfinite_parameters,
    restore_rng_state,
    resume_path,
    save_weights,
)
from . import distributed as _dist
from .config import default_device, seed_everything
from .infer import predict

LossFn = Callable[[Tensor, Tensor], Tensor]
MetricFn = Callable[[Tensor, Tensor], "Tensor | float"]

#: Columns every history row may hold besides the loss terms and ``val_*`` entries.
RESERVED_COLUMNS = ("step", "epoch", "loss", "lr", "time")
LAST_CHECKPOINT = "last.pt"
#: ``bad_step`` value meaning "every loss so far was finite" (``min`` keeps the first bad step).
_NO_BAD_STEP = 2 ** 62
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"

__all__ = ["CheckpointMismatchError", "History", "evaluate", "fit", "item_rng", "load_weights",
           "psnr", "save_weights"]


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator a data set should use for item ``index`` in ``epoch`` (see module doc).

    >>> float(item_rng(0, 1, 2).random()) == float(item_rng(0, 1, 2).random())
    True
    """
    return np.random.default_rng([seed, epoch, index])


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """Batch mean of per-image PSNR in dB, ``data_range = 1`` (``pred`` clamped to [0, 1]).

    Args:
        pred, target: ``(N, C, H, W)`` tensors.

    >>> round(float(psnr(torch.full((1, 1, 4, 4), 0.1), torch.zeros(1, 1, 4, 4))), 3)
    20.0
    """
    mse = (pred.clamp(0, 1) - target).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return (-10 * torch.log10(mse)).mean()


# --------------------------------------------------------------------------- history


@dataclass
class History:
    """Rows logged by :func:`fit`: ``step``, ``epoch``, ``loss``, each loss term, ``lr``, ``time``
    (seconds of training, summed over resumptions) and, at validation steps, ``val_loss`` and
    ``val_<metric>``.

    ``history["loss"]`` lists a column's values (rows lacking it are skipped),
    ``history.steps("val_psnr")`` the matching steps.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    checkpoint_dir: Path | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column: str) -> list[Any]:
        return [r[column] for r in self.rows if column in r]

    def steps(self, column: str) -> list[int]:
        """Steps of the rows that hold ``column``."""
        return [r["step"] for r in self.rows if column in r]

    @property
    def columns(self) -> list[str]:
        """Column names: step, epoch, loss, the loss terms, lr, time, then ``val_*`` columns."""
        seen: dict[str, None] = {}
        for r in self.rows:
            seen.update(dict.fromkeys(r))
        head = [c for c in ("step", "epoch", "loss") if c in seen]
        tail = [c for c in ("lr", "time") if c in seen]
        val = [c for c in seen if c.startswith("val_")]
        return head + [c for c in seen if c not in head + tail + val] + tail + val

    def to_dataframe(self):
        """The rows as a ``pandas.DataFrame`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``history.json`` and ``history.csv`` into ``folder`` (atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = folder / HISTORY_JSON, folder / HISTORY_CSV
        tmp_json = paths[0].with_name(f".{HISTORY_JSON}.tmp")
        tmp_json.write_text(json.dumps({"rows": self.rows, "interrupted": self.interrupted},
                                       indent=1))
        tmp_json.replace(paths[0])
        tmp_csv = paths[1].with_name(f".{HISTORY_CSV}.tmp")
        with open(tmp_csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)
        tmp_csv.replace(paths[1])
        return paths

    @classmethod
    def load(cls, folder: str | Path) -> History:
        """Read ``history.json`` written by :meth:`save`."""
        folder = Path(folder)
        data = json.loads((folder / HISTORY_JSON).read_text())
        return cls(rows=data["rows"], interrupted=data.get("interrupted", False),
                   checkpoint_dir=folder)


# --------------------------------------------------------------------------- data


class _PairDataset(Dataset):
    """``(inputs, targets)`` tensors ``(N, C, H, W)`` as a data set of ``(input, target)`` items."""

    def __init__(self, inputs: Any, targets: Any) -> None:
        self.inputs, self.targets = (_as_images(torch.as_tensor(t)) for t in (inputs, targets))
        if len(self.inputs) != len(self.targets):
            raise ValueError(f"inputs and targets differ in length: {len(self.inputs)} vs "
                             f"{len(self.targets)}")

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.inputs[i], self.targets[i]


def _as_dataset(data: Any, what: str) -> Any:
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(
            isinstance(t, (Tensor, np.ndarray)) for t in data):
        return _PairDataset(*data)
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        raise TypeError(f"{what} must be a map-style data set or a pair of tensors "
                        f"(inputs, targets), got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError(f"{what} is empty")
    return data


def _as_images(t: Tensor, allow_bursts: bool = False) -> Tensor:
    """Batch of images ``(N, C, H, W)`` (grey ``(N, H, W)`` gets a channel); with
    ``allow_bursts`` also bursts of frames ``(N, frames, C, H, W)``, for burst networks."""
    t = t.float()
    if t.ndim == 3:  # a batch of grey (H, W) images
        t = t.unsqueeze(1)
    if t.ndim != 4 and not (allow_bursts and t.ndim == 5):
        what = "(N, C, H, W) or bursts (N, frames, C, H, W)" if allow_bursts else "(N, C, H, W)"
        raise ValueError(f"expected images batched as {what}, got shape {tuple(t.shape)}")
    return t


def _split_batch(batch: Any, input_key: str, target_key: str) -> tuple[Tensor, Tensor]:
    if isinstance(batch, Mapping):
        missing = [k for k in (input_key, target_key) if k not in batch]
        if missing:
            raise KeyError(f"data items lack {missing}; they have {sorted(batch)} — set "
                           f"input_key / target_key")
        x, y = batch[input_key], batch[target_key]
    elif isinstance(batch, Sequence) and len(batch) >= 2:
        x, y = batch[0], batch[1]
    else:
        raise TypeError(f"data items must be dicts or (input, target) pairs, got {type(batch)}")
    return _as_images(torch.as_tensor(x), allow_bursts=True), _as_images(torch.as_tensor(y))


class _EpochSampler:
    """Batches of per-epoch permutations drawn from one generator; resumable mid-epoch.

    State: the generator state at the start of the current epoch, the epoch and the number of
    batches of it already used. Reloading redraws the same permutation and skips those batches.
    """

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.per_epoch = n // batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.batch = 0, 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.epoch_state = self.generator.get_state()
        self.perm = torch.randperm(self.n, generator=self.generator).tolist()

    def remaining(self) -> list[list[int]]:
        b = self.batch_size
        return [self.perm[k * b:(k + 1) * b] for k in range(self.batch, self.per_epoch)]

    def advance(self) -> None:
        self.batch += 1
        if self.batch == self.per_epoch:
            self.epoch, self.batch = self.epoch + 1, 0
            self._start_epoch()

    def state_dict(self) -> dict[str, Any]:
        return {"epoch_state": self.epoch_state, "epoch": self.epoch, "batch": self.batch,
                "n": self.n, "batch_size": self.batch_size}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if (state["n"], state["batch_size"]) != (self.n, self.batch_size):
            raise CheckpointMismatchError(
                f"the checkpoint was written for {state['n']} training items in batches of "
                f"{state['batch_size']}, this run has {self.n} items in batches of "
                f"{self.batch_size}; it could not continue the same data order. Use the same "
                f"data and batch_size, or resume=False / another checkpoint_dir to start afresh")
        self.generator.set_state(state["epoch_state"])
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self._start_epoch()


class _ShieldSigint:
    """Delay SIGINT until the block ends (main thread only), then raise ``KeyboardInterrupt``.

    Used around the parameter update so a checkpoint never sees half an optimizer step.
    """

    def __enter__(self) -> _ShieldSigint:
        self.received, self.previous = False, None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            # None: a handler installed outside Python; SIG_IGN: SIGINT is ignored anyway.
            if previous is not None and previous is not signal.SIG_IGN:
                self.previous = previous
                signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        self.received = True

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            if self.received and exc[0] is None:
                raise KeyboardInterrupt


# --------------------------------------------------------------------------- set-up helpers


def _loss_terms(losses: Mapping[str, LossFn],
                weights: Mapping[str, float] | None) -> list[tuple[str, LossFn, float]]:
    if not losses:
        raise ValueError("losses must name at least one loss, e.g. {'l1': torch.nn.L1Loss()}")
    weights = dict.fromkeys(losses, 1.0) if weights is None else dict(weights)
    unknown = sorted(set(weights) - set(losses))
    if unknown:
        raise ValueError(f"weights has keys with no loss: {unknown}; losses are {sorted(losses)}")
    unweighted = sorted(set(losses) - set(weights))
    if unweighted:
        raise ValueError(f"losses {unweighted} have no weight; give each a weight (0 disables)")
    for name, fn in losses.items():
        if name in RESERVED_COLUMNS or name.startswith("val_"):
            raise ValueError(f"loss name {name!r} clashes with a history column; rename it")
        if not callable(fn):
            raise TypeError(f"loss {name!r} is not callable")
        w = weights[name]
        if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"weight of {name!r} must be a finite number ≥ 0, got {w!r}")
    terms = [(name, fn, float(weights[name])) for name, fn in losses.items() if weights[name] > 0]
    if not terms:
        raise ValueError("all loss weights are 0; nothing to train on")
    return terms


def _metric_fns(metrics: MetricFn | Mapping[str, MetricFn] | None) -> dict[str, MetricFn]:
    if metrics is None:
        return {"psnr": psnr}
    if callable(metrics):
        return {getattr(metrics, "__name__", "metric").strip("_<>") or "metric": metrics}
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metric {name!r} is not callable")
    return dict(metrics)


def _make_optimizer(model: nn.Module, optimizer: str | Callable, lr: float,
                    weight_decay: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if callable(optimizer):
        opt = optimizer(params, lr)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"the optimizer factory returned {type(opt).__name__}, "
                            f"not a torch.optim.Optimizer")
        return opt
    name = str(optimizer).lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adam', 'adamw', 'sgd' or a factory (params, lr) → "
                     f"Optimizer, got {optimizer!r}")


def _make_scheduler(opt: torch.optim.Optimizer, scheduler: str | None, steps: int,
                    lr_min: float) -> torch.optim.lr_scheduler.LRScheduler | None:
    if scheduler is None:
        return None
    if scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1), eta_min=lr_min)
    raise ValueError(f"scheduler must be None or 'cosine', got {scheduler!r}")


def _positive_int(value: Any, name: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            value < (0 if allow_zero else 1):
        bound = "≥ 0" if allow_zero else "≥ 1"
        raise ValueError(f"{name} must be an int {bound}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- evaluation


def evaluate(
    model: nn.Module,
    data: Any,
    *,
    metrics: MetricFn | Mapping[str, MetricFn] | None = None,
    losses: Mapping[str, LossFn] | None = None,
    weights: Mapping[str, float] | None = None,
    batch_size: int = 1,
    device: torch.device | str | None = None,
    num_workers: int = 0,
    input_key: str = "blur",
    target_key: str = "sharp",
) -> dict[str, float]:
    """Average metrics (and the weighted loss) of ``model`` over ``data``.

    Each batch is predicted whole with :func:`deblurlab.infer.predict` (padded to the model's
    ``size_multiple``). Metric functions return the batch mean; results are averaged weighted by
    batch size, i.e. over images.

    Args:
        model: the network; run in eval mode under ``torch.inference_mode``.
        data: as ``train_data`` of :func:`fit`; items of different sizes need ``batch_size=1``.
        metrics: ``fn(pred, target)`` or ``{name: fn}``; default ``{"psnr": psnr}``.
        losses, weights: when given, the result also holds ``"loss"``.

    Returns:
        ``{"loss": …, "<metric>": …}`` as floats.

    >>> from deblurlab.models import ResidualCNN
    >>> x = torch.rand(4, 1, 8, 8)
    >>> sorted(evaluate(ResidualCNN(width=4, depth=2), (x, x)))
    ['psnr']
    """
    data = _as_dataset(data, "data")
    fns = _metric_fns(metrics)
    terms = _loss_terms(losses, weights) if losses else []
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    # A private generator keeps the DataLoader from drawing on the global RNG.
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=default_collate, generator=torch.Generator().manual_seed(0))
    sums: dict[str, float] = {}
    count = 0
    for batch in loader:
        x, y = _split_batch(batch, input_key, target_key)
        y = y.to(device)
        pred = predict(model, x, device=device, out_device=device)
        if pred.shape != y.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(y.shape)} differ")
        k = x.shape[0]
        with torch.inference_mode():
            values = {"loss": sum(w * float(fn(pred, y)) for _, fn, w in terms)} if terms else {}
            values.update({name: float(fn(pred, y)) for name, fn in fns.items()})
        for name, v in values.items():
            sums[name] = sums.get(name, 0.0) + v * k
        count += k
    return {name: s / count for name, s in sums.items()}


# --------------------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train_data: Any,
    *,
    losses: Mapping[str, LossFn],
    weights: Mapping[str, float] | None = None,
    steps: int,
    batch_size: int = 4,
    lr: float = 1e-3,
    optimizer: str | Callable[[list[nn.Parameter], float], torch.optim.Optimizer] = "adam",
    weight_decay: float = 0.0,
    scheduler: str | None = None,
    lr_min: float = 0.0,
    val_data: Any = None,
    val_every: int | None = None,
    val_batch_size: int = 1,
    metrics: MetricFn | Mapping[str, MetricFn] | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    amp: bool = False,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = 100,
    resume: bool | str | Path = True,
    log_every: int = 10,
    progress: bool = True,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    grad_clip: float | None = None,
    input_key: str = "blur",
    target_key: str = "sharp",
    on_interrupt: str = "raise",
    sync_bn: bool = False,
    ddp_options: Mapping[str, Any] | None = None,
    callback: Callable[[int, float], bool | None] | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimizer steps on ``train_data``; resumable and repeatable.

    The loss is ``Σ weights[name] · losses[name](pred, target)``; terms with weight 0 are not
    computed. Every ``log_every`` steps a history row records the mean since the previous row of
    the total loss and of each (unweighted) term, the learning rate and the elapsed time.

    Args:
        model: maps ``(N, C, H, W)`` inputs to predictions shaped like the targets. Moved to
            ``device``; left there in eval mode when ``fit`` returns. A multi-scale model may
            return the list ``[finest, coarser, …]`` in training mode (finest shaped like the
            target): losses with ``multiscale = True`` (e.g.
            :class:`deblurlab.losses.MultiScaleLoss`) get the list, the others the finest.
        train_data: map-style data set or ``(inputs, targets)`` tensors (module doc: contract).
        losses: ``{name: fn(pred, target) → scalar tensor}``.
        weights: ``{name: weight ≥ 0}`` with exactly the keys of ``losses`` (default: all 1).
        steps: total optimizer steps, counted across resumptions.
        batch_size: items per step; must not exceed the data set size. Under
            ``torch.distributed`` the *global* batch, a multiple of the world size.
        lr: learning rate (peak, with a scheduler).
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9) or ``factory(params, lr)``.
        weight_decay: for the named optimizers.
        scheduler: ``None`` (constant) or ``"cosine"`` (from ``lr`` to ``lr_min`` over ``steps``).
        val_data: evaluated with :func:`evaluate` every ``val_every`` steps (default ``steps //
            10``) and at the end; rows get ``val_loss`` and ``val_<metric>``.
        val_batch_size: batch size for validation (1 allows images of different sizes).
        metrics: ``fn(pred, target)`` or ``{name: fn}`` for validation; default PSNR
            (``data_range = 1``).
        seed: seeds Python/NumPy/torch and the data order.
        device: default :func:`deblurlab.config.default_device` (under ``torch.distributed``:
            ``cuda:LOCAL_RANK`` with NCCL, else ``cpu``).
        amp: mixed precision (float16 autocast + GradScaler) on CUDA; ignored with a warning
            elsewhere.
        checkpoint_dir: where ``last.pt``, ``history.json`` and ``history.csv`` go; ``None``
            saves nothing.
        checkpoint_every: save every this many steps (also at the end and on interrupt).
        resume: ``True`` continues from ``checkpoint_dir/last.pt`` when it exists, a path
            continues from that file, ``False`` starts afresh (overwriting ``last.pt``). A
            checkpoint that does not fit the model or data raises
            :class:`~deblurlab.checkpoint.CheckpointMismatchError`. If it already reached
            ``steps``, its weights are loaded and no training happens.
        log_every: steps per history row.
        progress: show a tqdm progress bar.
        num_workers: DataLoader worker processes.
        collate_fn: how items become a batch (default ``default_collate``; e.g.
            :func:`deblurlab.tem.collate_bursts` for bursts of different frame counts).
        grad_clip: clip the global gradient norm to this value.
        input_key, target_key: item keys of input and target.
        on_interrupt: ``"raise"`` (save, then re-raise ``KeyboardInterrupt``) or ``"return"``
            (save, then return the history with ``interrupted=True``).
        sync_bn: under ``torch.distributed``, convert the model's BatchNorm layers to
            ``nn.SyncBatchNorm`` (in place; CUDA only) so they normalise over the global batch.
        ddp_options: extra keyword arguments for ``DistributedDataParallel`` (e.g.
            ``{"find_unused_parameters": True}``); used only under ``torch.distributed``.
        callback: optional ``callback(step, loss) → stop`` called after every optimizer step
            with the step count and that step's total loss (e.g. to drive a progress bar). A
            true return ends training after that step, like an interrupt with
            ``on_interrupt="return"``: the pending history row is logged, a checkpoint saved and
            the history returned with ``interrupted=True``. ``None`` (default) changes nothing. Under
            ``torch.distributed`` rank 0's answer counts (it is sent to every rank).

    Returns:
        :class:`History` of all rows, including those of earlier, resumed runs.

    Raises:
        FloatingPointError: a loss or the weights became NaN/inf (module doc: non-finite losses).

    Example::

        >>> from deblurlab.models import ResidualCNN
        >>> x = torch.rand(8, 1, 16, 16)
        >>> hist = fit(ResidualCNN(width=4, depth=3), (x, x.clamp(0.2, 0.8)),
        ...            losses={"l1": torch.nn.L1Loss()}, steps=4, batch_size=4, progress=False,
        ...            log_every=2)
        >>> hist["step"]
        [2, 4]
    """
    steps = _positive_int(steps, "steps", allow_zero=True)
    batch_size = _positive_int(batch_size, "batch_size")
    log_every = _positive_int(log_every, "log_every")
    num_workers = _positive_int(num_workers, "num_workers", allow_zero=True)
    if checkpoint_every is not None:
        checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be positive or None, got {grad_clip!r}")
    if on_interrupt not in ("raise", "return"):
        raise ValueError(f"on_interrupt must be 'raise' or 'return', got {on_interrupt!r}")
    terms = _loss_terms(losses, weights)
    metric_fns = _metric_fns(metrics)
    train_set = _as_dataset(train_data, "train_data")
    if len(train_set) < batch_size:
        raise ValueError(f"train_data has {len(train_set)} items, fewer than batch_size "
                         f"{batch_size}; lower batch_size or add data (e.g. more crops per image)")
    if val_data is not None:
        val_data = _as_dataset(val_data, "val_data")
        val_every = max(1, steps // 10) if val_every is None else \
            _positive_int(val_every, "val_every")

    distributed = _dist.is_distributed()
    rank, world = _dist.rank(), _dist.world_size()
    if isinstance(model, nn.parallel.DistributedDataParallel):
        raise TypeError("pass the plain model, not a DistributedDataParallel wrapper: under "
                        "torch.distributed fit wraps it itself (checkpoints hold the plain one)")
    if batch_size % world:
        lower, upper = batch_size // world * world, (batch_size // world + 1) * world
        raise ValueError(
            f"batch_size={batch_size} is the global batch and must be divisible by the world "
            f"size {world} (each of the {world} processes takes an equal share); use "
            f"{' or '.join(str(b) for b in (lower, upper) if b > 0)}")
    if distributed:
        device = _ddp_device(device)
    else:
        device = torch.device(device) if device is not None else default_device()
        if sync_bn:
            warnings.warn("sync_bn=True has no effect without torch.distributed", stacklevel=2)
    use_amp = bool(amp) and device.type == "cuda"
    if amp and not use_amp:
        warnings.warn(f"amp=True is only used on CUDA; training in float32 on {device}",
                      stacklevel=2)
    if distributed and sync_bn:
        if device.type != "cuda":
            raise ValueError("sync_bn=True needs CUDA (nn.SyncBatchNorm has no CPU kernel); on "
                             "CPU, BatchNorm statistics stay per process")
        if nn.SyncBatchNorm.convert_sync_batchnorm(model) is not model:
            raise ValueError("sync_bn=True cannot convert a model that is itself a BatchNorm "
                             "layer; wrap it in a container")
    model.to(device)
    # Rank 0 draws exactly what a one-process run draws; other ranks get their own streams so
    # that random layers (dropout) are not identical copies across the shards.
    seed_everything(seed if rank == 0 else int(np.random.SeedSequence([seed, rank])
                                                .generate_state(1)[0]))
    sampler = _EpochSampler(len(train_set), batch_size, seed)
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    sched = _make_scheduler(opt, scheduler, steps, lr_min)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    opt_name = optimizer if isinstance(optimizer, str) else getattr(optimizer, "__name__", "custom")
    config = {"steps": steps, "batch_size": batch_size, "seed": seed, "optimizer": str(opt_name),
              "scheduler": scheduler, "lr": float(lr), "lr_min": float(lr_min),
              "losses": {name: w for name, _, w in terms}, "amp": use_amp}

    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    ckpt_path = folder / LAST_CHECKPOINT if folder is not None else None
    history = History(checkpoint_dir=folder)
    step = 0

    def read_checkpoint() -> tuple[Path | None, Any]:
        resume_from = resume_path(resume, ckpt_path)
        return resume_from, (load_file(resume_from) if resume_from is not None else None)

    if distributed:
        # Rank 0 reads and sends, so every rank resumes from the same file (or none) even when
        # the other nodes cannot see checkpoint_dir.
        resume_from, ckpt = _read_on_rank0(read_checkpoint)
    else:
        resume_from, ckpt = read_checkpoint()
    rng_state = capture_rng_state(cuda=device.type == "cuda")
    if resume_from is not None:
        _check_checkpoint(ckpt, config, resume_from)
        check_state_dict(model, ckpt["model"], f"checkpoint {resume_from}")
        check_finite_state(model, ckpt["model"], f"checkpoint {resume_from}")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if sched is not None:
            sched.load_state_dict(ckpt["scheduler"])
        if ckpt["scaler"]:
            scaler.load_state_dict(ckpt["scaler"])
        sampler.load_state_dict(ckpt["sampler"])
        step, history.rows, rng_state = int(ckpt["step"]), list(ckpt["history"]), ckpt["rng"]
        rank_states = ckpt.get("rng_ranks")
        if rank_states is not None and len(rank_states) == world:
            rng_state = rank_states[rank]
        elif rank > 0:
            # Other world size: rank 0 continues the saved stream, the others start fresh ones.
            seed_everything(int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0]))
            rng_state = capture_rng_state(cuda=device.type == "cuda")
        if step > steps and rank == 0:
            warnings.warn(f"checkpoint {resume_from} is at step {step}, beyond steps={steps}; "
                          f"its weights are loaded and no training happens", stacklevel=2)

    net: nn.Module = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        # After the resume load: DDP broadcasts rank 0's parameters and buffers on creation.
        net = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            **dict(ddp_options or {}))

    # First step whose loss was not finite. It stays on the device so that recording it costs
    # no host sync per step; check_finite reads it (every step, or at rows and saves).
    bad_step = torch.full((), _NO_BAD_STEP, dtype=torch.long, device=device)
    check_each_step = _check_each_step(device, distributed)
    last_batch: tuple[Tensor, Tensor] | None = None

    def check_finite(collective: bool = True, weights: bool = False) -> None:
        """Raise ``FloatingPointError`` if a loss so far (or, with ``weights``, a parameter) is
        NaN/inf; with ``collective`` all ranks take part and agree."""
        first = bad_step.clone()
        if distributed and collective:  # a NaN in one rank's shard leaves the others finite
            torch.distributed.all_reduce(first, op=torch.distributed.ReduceOp.MIN)
        first = int(first)
        if first != _NO_BAD_STEP:
            batch = last_batch if first == step and not distributed else None
            message = _nonfinite_loss_message(first, batch)
        elif weights and (bad := nonfinite_parameters(model)):
            message = (f"the weights hold NaN/inf after step {step} ({', '.join(bad[:4])}"
                       f"{' …' if len(bad) > 4 else ''}) although every loss was finite: "
                       f"training diverged; lower lr or set grad_clip")
        else:
            return
        if ckpt_path is not None and ckpt_path.exists():
            message += f"; {ckpt_path} was not overwritten"
        raise FloatingPointError(message)

    def save_checkpoint(collective: bool = True) -> None:
        """Rank 0 writes; with ``collective`` all ranks take part (RNG gather, barrier)."""
        if ckpt_path is None:
            return
        if collective or rank == 0:  # never replace the last good checkpoint by a NaN one
            check_finite(collective=collective, weights=True)
        rank_states = None
        if distributed and collective:
            rank_states = [None] * world
            torch.distributed.all_gather_object(rank_states, rng_state)
        if rank == 0:
            state = {
                "format": CHECKPOINT_FORMAT, "step": step, "epoch": sampler.epoch,
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else None,
                "scaler": scaler.state_dict(), "sampler": sampler.state_dict(), "rng": rng_state,
                "history": history.rows, "config": config, "world_size": world,
            }
            if rank_states is not None:
                state["rng_ranks"] = rank_states
            atomic_save(state, ckpt_path)
            history.save(folder)
        if distributed and collective:
            _dist.barrier()  # nobody reads or returns before the file is complete

    from tqdm.auto import tqdm

    bar = tqdm(total=steps, initial=min(step, steps), disable=not progress or rank != 0,
               desc="fit", unit="step", dynamic_ncols=True)
    time_offset = float(history.rows[-1]["time"]) if history.rows else 0.0
    t_start = time.perf_counter()
    sums: dict[str, Tensor] = {}
    n_summed = 0
    # Restored last so that nothing after it draws on the global RNGs before the first step.
    restore_rng_state(rng_state)
    net.train()
    share = batch_size // world
    stop = False
    try:
        while step < steps and not stop:
            if hasattr(train_set, "set_epoch"):
                train_set.set_epoch(sampler.epoch)
            batches = sampler.remaining()
            if distributed:  # this rank's contiguous share of each global batch
                batches = [b[rank * share:(rank + 1) * share] for b in batches]
            loader = DataLoader(
                train_set, batch_sampler=batches, num_workers=num_workers,
                collate_fn=collate_fn or default_collate, pin_memory=device.type == "cuda",
                generator=torch.Generator().manual_seed(seed + sampler.epoch))
            for batch in loader:
                x, y = _split_batch(batch, input_key, target_key)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                last_batch = (x, y)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                    out = net(x)
                # A multi-scale model returns [finest, coarser, ...] in training mode: losses
                # marked ``multiscale`` see the list, the others the finest prediction.
                preds = [p.float() for p in out] if isinstance(out, (list, tuple)) \
                    else [out.float()]
                if preds[0].shape != y.shape:
                    raise ValueError(f"model output {tuple(preds[0].shape)} does not match the "
                                     f"target {tuple(y.shape)}")
                values = {name: fn(preds if getattr(fn, "multiscale", False) else preds[0], y)
                          for name, fn, _ in terms}
                total = sum(w * values[name] for name, _, w in terms)
                scaler.scale(total).backward()
                with _ShieldSigint():
                    if grad_clip is not None:
                        scaler.unscale_(opt)
                        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                    scaler.step(opt)
                    scaler.update()
                    if sched is not None:
                        sched.step()
                    sampler.advance()
                    step += 1
                    rng_state = capture_rng_state(cuda=device.type == "cuda")
                if not use_amp:  # with amp the grad scaler skips non-finite steps itself
                    bad_step.masked_fill_(~torch.isfinite(total.detach()).all() &
                                          (bad_step == _NO_BAD_STEP), step)
                for name, v in (("loss", total), *values.items()):
                    sums[name] = sums.get(name, 0) + v.detach()
                n_summed += 1
                bar.update(1)
                # An early stop (e.g. a Stop button) still logs the steps since the last row.
                if callback is not None:
                    stop = bool(callback(step, float(total.detach())))
                    if distributed:  # every rank must leave the loop at the same step
                        stop = bool(_dist.broadcast_object(stop))
                    history.interrupted = history.interrupted or stop

                row: dict[str, Any] = {}
                log_now = step % log_every == 0 or step == steps or stop
                if check_each_step or log_now:
                    check_finite()  # before this step's row, validation or checkpoint
                if log_now:
                    if distributed:  # the mean over all ranks, identical on every rank
                        means = torch.stack([v.float() for v in sums.values()]) / n_summed
                        torch.distributed.all_reduce(means)
                        row.update(zip(sums, (means / world).tolist()))
                    else:
                        row.update({k: float(v) / n_summed for k, v in sums.items()})
                    sums, n_summed = {}, 0
                    bar.set_postfix(loss=f"{row['loss']:.4g}")
                if val_data is not None and (step % val_every == 0 or step == steps):
                    scores = None
                    if rank == 0:
                        scores = evaluate(model, val_data, metrics=metric_fns,
                                          losses=dict((n, f) for n, f, _ in terms),
                                          weights={n: w for n, _, w in terms},
                                          batch_size=val_batch_size, device=device,
                                          num_workers=num_workers, input_key=input_key,
                                          target_key=target_key)
                        model.train()
                    if distributed:
                        scores = _dist.broadcast_object(scores)
                    row.update({f"val_{k}": v for k, v in scores.items()})
                if row:
                    history.rows.append({
                        "step": step, "epoch": round(step / sampler.per_epoch, 4), **row,
                        "lr": float(opt.param_groups[0]["lr"]),
                        "time": round(time_offset + time.perf_counter() - t_start, 3)})
                if checkpoint_every is not None and step % checkpoint_every == 0 and step < steps:
                    save_checkpoint()
                if step >= steps or stop:
                    break
        save_checkpoint()
    except KeyboardInterrupt:
        history.interrupted = True
        # The other ranks may be stopped already: no collective (rank 0 writes alone).
        save_checkpoint(collective=False)
        if on_interrupt == "raise":
            raise
    finally:
        bar.close()
        model.eval()
    return history


def _check_each_step(device: torch.device, distributed: bool) -> bool:
    """Whether ``fit`` reads its non-finite-loss flag every step rather than only at history rows
    and saves: on the CPU the read is free; on an accelerator it would stall the queue each
    step, and under torch.distributed the ranks would have to read it together."""
    return device.type == "cpu" and not distributed


def _nonfinite_loss_message(step: int, batch: tuple[Tensor, Tensor] | None) -> str:
    """Why the loss of ``step`` is NaN/inf; ``batch`` (that step's, when at hand) is only
    inspected here, after the fact, to tell bad data from divergence."""
    head = f"the loss is NaN/inf at step {step}"
    if batch is None:
        return (f"{head}: either that step's batch holds NaN/inf values (check the data) or "
                f"training diverged (lower lr or set grad_clip)")
    bad = [name for name, t in zip(("input", "target"), batch) if not torch.isfinite(t).all()]
    if bad:
        return (f"{head}: that step's batch holds NaN/inf values (in its {' and '.join(bad)}); "
                f"check the data")
    return f"{head} although its batch is finite: training diverged; lower lr or set grad_clip"


def _ddp_device(device: torch.device | str | None) -> torch.device:
    """The device of this rank: ``device`` (a bare ``"cuda"`` → this rank's GPU) or the
    process group's default; refuses a CPU device with NCCL."""
    ctx = _dist.context()
    dev = ctx.device if device is None else torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    if ctx.backend == "nccl" and dev.type != "cuda":
        raise ValueError(f"the process group uses NCCL, which needs CUDA tensors, but "
                         f"device={dev}; use the GPU or initialise with backend='gloo'")
    return dev


def _read_on_rank0(read: Callable[[], tuple[Path | None, Any]]) -> tuple[Path | None, Any]:
    """``read()`` on rank 0, its result (or its error) on every rank."""
    result: tuple[Any, ...] | None = None
    error: BaseException | None = None
    if _dist.rank() == 0:
        try:
            result = ("ok", *read())
        except Exception as exc:  # sent as text: every rank must fail, not wait forever
            error = exc
            result = ("error", f"{type(exc).__name__}: {exc}")
    result = _dist.broadcast_object(result)
    if error is not None:
        raise error
    if result[0] == "error":
        raise RuntimeError(f"rank 0 could not read the checkpoint: {result[1]}")
    return result[1], result[2]


def _check_checkpoint(ckpt: Any, config: Mapping[str, Any], path: Path) -> None:
    """Refuse checkpoints that are not from :func:`fit` or that this run could not continue."""
    if not isinstance(ckpt, Mapping) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointMismatchError(
            f"{path} is not a deblurlab.train.fit checkpoint (for plain weights use load_weights)")
    old = ckpt["config"]
    for key in ("optimizer", "scheduler"):
        if old[key] != config[key]:
            raise CheckpointMismatchError(
                f"checkpoint {path} used {key}={old[key]!r}, this run {key}={config[key]!r}; "
                f"use the same setting, or resume=False / another checkpoint_dir to start afresh")
    if config["scheduler"] is not None and old["steps"] != config["steps"]:
        raise CheckpointMismatchError(
            f"checkpoint {path} follows a {config['scheduler']} schedule over {old['steps']} "
            f"steps, this run asks for {config['steps']}; the schedule cannot be stretched")
