"""Worker for tests/test_ddp.py, started by ``torchrun --standalone --nproc_per_node=2``.

Usage: ``ddp_worker.py OUT`` where ``OUT/single_part/last.pt`` is a one-process checkpoint at
step ``K``. In one launch (starting processes is the slow part) every rank:

1. calls ``fit`` with a global batch not divisible by the world size and records the error;
2. trains ``N`` steps from scratch into ``OUT/full`` (rank 0 saves ``OUT/ddp_full.pt``);
3. trains into ``OUT/part`` with a checkpoint every ``K`` steps and stops at step ``K + 1``,
   then resumes a copy of it (``OUT/part_ddp``) on 2 processes up to ``N``
   (→ ``ddp_part_resumed.pt``);
4. resumes ``OUT/single_part`` (written by one process) up to ``N`` steps (→ ``ddp_resumed.pt``);
5. raises ``KeyboardInterrupt`` in step ``K + 2`` of a run into ``OUT/interrupted``;
6. runs the command-line trainer (``scripts/train.py``'s ``main``) with ``CLI_ARGS`` into
   ``OUT/cli``;

and writes ``OUT/rank<r>.json`` with the error message, the histories and the files it saved
(``atomic_save`` and ``History.save`` are wrapped to record their calls).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

N, K = 8, 4  # steps of a full run; step of the mid-run checkpoint (mid-epoch: 3 batches/epoch)
#: A tiny run of the command-line trainer on the embedded synthetic data.
CLI_ARGS = ["--model", "residual_cnn", "--model-args", '{"width": 4, "depth": 3}', "--synthetic",
            "8", "--crop", "16", "--steps", "3", "--batch-size", "4", "--log-every", "1",
            "--no-progress"]


class Crops(Dataset):
    """Random crops drawn per (seed, epoch, index), as fit's data contract asks."""

    def __init__(self, n: int = 12, size: int = 12) -> None:
        from deblurlab.train import item_rng

        self.item_rng = item_rng
        g = torch.Generator().manual_seed(1234)
        self.sharp = torch.rand(n, 1, 20, 20, generator=g)
        self.blur = F.avg_pool2d(self.sharp, 3, 1, 1, count_include_pad=False)
        self.size, self.epoch, self.seen = size, 0, []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.sharp)

    def __getitem__(self, i: int) -> dict:
        self.seen.append(i)  # which items this process loaded, in order
        y, x = self.item_rng(7, self.epoch, i).integers(0, 20 - self.size + 1, 2)
        s = (slice(None), slice(y, y + self.size), slice(x, x + self.size))
        return {"blur": self.blur[i][s], "sharp": self.sharp[i][s]}


def make_model() -> nn.Module:
    """Tiny conv net without BatchNorm or dropout: DDP must then match one process."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                         nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))


def val_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(99)
    sharp = torch.rand(3, 1, 12, 12, generator=g)
    return F.avg_pool2d(sharp, 3, 1, 1, count_include_pad=False), sharp


def fit_kwargs(**over) -> dict:
    kw = dict(losses={"l1": nn.L1Loss(), "mse": nn.MSELoss()}, weights={"l1": 1.0, "mse": 0.5},
              steps=N, batch_size=4, lr=1e-2, scheduler="cosine", lr_min=1e-4, grad_clip=1.0,
              seed=3, device="cpu", progress=False, log_every=1, checkpoint_every=K,
              val_data=val_data(), val_every=K)
    kw.update(over)
    return kw


class StopAt:
    """Loss that raises ``error`` (default ``RuntimeError("stop")``) on its ``call``-th training
    call (1-based; validation, which runs without autograd, is not counted)."""

    def __init__(self, fn, call: int, error: BaseException | None = None) -> None:
        self.fn, self.call, self.calls = fn, call, 0
        self.error = error or RuntimeError("stop")

    def __call__(self, pred, target):
        if not torch.is_grad_enabled():
            return self.fn(pred, target)
        self.calls += 1
        if self.calls == self.call:
            raise self.error
        return self.fn(pred, target)


def main(out: Path) -> None:
    from deblurlab import distributed
    from deblurlab import train as T

    ctx = distributed.init_from_env()
    saves: list[str] = []
    atomic_save, history_save = T.atomic_save, T.History.save

    def spy_atomic_save(obj, path):
        saves.append(str(path))
        return atomic_save(obj, path)

    def spy_history_save(self, folder):
        saves.append(str(Path(folder) / "history"))
        return history_save(self, folder)

    T.atomic_save, T.History.save = spy_atomic_save, spy_history_save
    report: dict = {"rank": ctx.rank, "world_size": ctx.world_size, "backend": ctx.backend}
    try:
        try:
            T.fit(make_model(), Crops(), **fit_kwargs(batch_size=3, checkpoint_dir=None))
        except ValueError as exc:
            report["batch_error"] = str(exc)

        model, data = make_model(), Crops()
        hist = T.fit(model, data, checkpoint_dir=out / "full", **fit_kwargs())
        report["full_rows"], report["full_seen"] = hist.rows, data.seen
        if ctx.is_main:
            T.save_weights(model, out / "ddp_full.pt")

        kw = fit_kwargs()
        kw["losses"] = {"l1": StopAt(nn.L1Loss(), call=K + 1), "mse": nn.MSELoss()}
        try:
            T.fit(make_model(), Crops(), checkpoint_dir=out / "part", **kw)
        except RuntimeError as exc:
            report["part_stop"] = str(exc)

        # Resume copies: the test resumes OUT/part itself, and inspects OUT/single_part.
        if ctx.is_main:
            shutil.copytree(out / "part", out / "part_ddp")
            shutil.copytree(out / "single_part", out / "resumed")
        distributed.barrier()
        model = make_model()
        T.fit(model, Crops(), checkpoint_dir=out / "part_ddp", **fit_kwargs())
        if ctx.is_main:
            T.save_weights(model, out / "ddp_part_resumed.pt")

        model = make_model()
        hist = T.fit(model, Crops(), checkpoint_dir=out / "resumed", **fit_kwargs())
        report["resumed_rows"] = hist.rows
        if ctx.is_main:
            T.save_weights(model, out / "ddp_resumed.pt")
        report["saves"] = saves

        kw = fit_kwargs()
        kw["losses"] = {"l1": StopAt(nn.L1Loss(), call=K + 2, error=KeyboardInterrupt()),
                        "mse": nn.MSELoss()}
        try:
            T.fit(make_model(), Crops(), checkpoint_dir=out / "interrupted", **kw)
        except KeyboardInterrupt:
            report["interrupted"] = True

        from deblurlab import train_cli

        train_cli.main([*CLI_ARGS, "--checkpoint-dir", str(out / "cli")])  # destroys the group
    finally:
        (out / f"rank{ctx.rank}.json").write_text(json.dumps(report, indent=1))
        distributed.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
