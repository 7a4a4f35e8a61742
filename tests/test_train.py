"""deblurlab.train.fit: weighted losses, exact resumption, interrupts, checkpoints, history."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

import deblurlab.train
from deblurlab.checkpoint import CheckpointMismatchError, DamagedCheckpointError, atomic_save
from deblurlab.models import ResidualCNN
from deblurlab.train import History, evaluate, fit, item_rng, load_weights, psnr, save_weights


class CropData(Dataset):
    """Random crops drawn per (seed, epoch, index), as the data-set contract asks."""

    def __init__(self, n: int = 10, size: int = 12, seed: int = 0, interrupt_at: int | None = None):
        g = torch.Generator().manual_seed(1234)
        self.sharp = torch.rand(n, 1, 20, 20, generator=g)
        self.blur = F.avg_pool2d(self.sharp, 3, 1, 1, count_include_pad=False)
        self.size, self.seed, self.epoch = size, seed, 0
        self.interrupt_at, self.calls, self.epochs_seen = interrupt_at, 0, []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.epochs_seen.append(epoch)

    def __len__(self) -> int:
        return len(self.sharp)

    def __getitem__(self, i: int) -> dict:
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        y, x = item_rng(self.seed, self.epoch, i).integers(0, 20 - self.size + 1, 2)
        s = (slice(None), slice(y, y + self.size), slice(x, x + self.size))
        return {"blur": self.blur[i][s], "sharp": self.sharp[i][s], "name": str(i)}


class InterruptAt:
    """Loss wrapper that raises KeyboardInterrupt on its ``call``-th call (1-based)."""

    def __init__(self, fn, call: int):
        self.fn, self.call, self.calls = fn, call, 0

    def __call__(self, pred, target):
        self.calls += 1
        if self.calls == self.call:
            raise KeyboardInterrupt
        return self.fn(pred, target)


def make_model(seed: int) -> nn.Module:
    """Tiny conv net with dropout, so resumption must also restore the global torch RNG."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.25),
                         nn.Conv2d(4, 1, 3, padding=1))


def run_kwargs(**over) -> dict:
    kw = dict(losses={"l1": nn.L1Loss(), "mse": nn.MSELoss()}, weights={"l1": 1.0, "mse": 0.5},
              steps=12, batch_size=4, lr=1e-2, scheduler="cosine", lr_min=1e-4, grad_clip=1.0,
              seed=3, device="cpu", progress=False, log_every=1, checkpoint_every=5)
    kw.update(over)
    return kw


def max_abs_diff(a: nn.Module, b: nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    diff = max_abs_diff(a, b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa), f"max abs diff {diff:g}"


def scramble_global_rng() -> None:
    torch.manual_seed(999)
    random.seed(999)
    np.random.seed(999)


# --------------------------------------------------------------------------- exact resumption


@pytest.mark.parametrize("k", [5, 6])  # 2 batches per epoch: 5 is mid-epoch, 6 a boundary
def test_interrupted_then_resumed_run_is_bit_identical(tmp_path, k):
    ref_model = make_model(0)
    ref = fit(ref_model, CropData(), checkpoint_dir=tmp_path / "ref", **run_kwargs())

    model = make_model(0)
    kw = run_kwargs()
    kw["losses"] = {"l1": InterruptAt(nn.L1Loss(), call=k + 1), "mse": nn.MSELoss()}
    with pytest.raises(KeyboardInterrupt):
        fit(model, CropData(), checkpoint_dir=tmp_path / "run", **kw)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["step"] == k

    # As in a new process: fresh data object, other initial weights, other global RNG state.
    scramble_global_rng()
    resumed = make_model(42)
    data = CropData()
    hist = fit(resumed, data, checkpoint_dir=tmp_path / "run", **run_kwargs())
    print(f"exact resume (k={k}): max abs diff {max_abs_diff(resumed, ref_model):g}")
    assert_same_weights(resumed, ref_model)
    assert data.epochs_seen[0] == k // 2  # resumed in the epoch it stopped in
    assert hist["step"] == list(range(1, 13))
    assert hist["loss"] == ref["loss"] and hist["lr"] == ref["lr"]


def test_extending_a_finished_run_matches_one_long_run(tmp_path):
    ref = make_model(0)
    fit(ref, CropData(), **run_kwargs(scheduler=None, steps=9))
    part = make_model(0)
    fit(part, CropData(), checkpoint_dir=tmp_path, **run_kwargs(scheduler=None, steps=4))
    scramble_global_rng()
    resumed = make_model(7)
    fit(resumed, CropData(), checkpoint_dir=tmp_path, **run_kwargs(scheduler=None, steps=9))
    assert_same_weights(resumed, ref)


def test_same_seed_same_result_other_seed_differs():
    a, b, c = make_model(0), make_model(0), make_model(0)
    fit(a, CropData(), **run_kwargs(steps=4))
    fit(b, CropData(), **run_kwargs(steps=4))
    fit(c, CropData(), **run_kwargs(steps=4, seed=4))
    assert_same_weights(a, b)
    assert max_abs_diff(a, c) > 0


def test_worker_processes_do_not_change_the_result():
    a, b = make_model(0), make_model(0)
    fit(a, CropData(n=8), **run_kwargs(steps=4))
    fit(b, CropData(n=8), **run_kwargs(steps=4, num_workers=2))
    assert_same_weights(a, b)


# --------------------------------------------------------------------------- interrupts


@pytest.mark.parametrize("source", ["loss", "dataset"])
def test_interrupt_checkpoints_last_completed_step(tmp_path, source):
    k = 3
    kw = run_kwargs(scheduler=None, steps=10, checkpoint_every=100)
    data = CropData()
    if source == "loss":
        kw["losses"] = {"l1": InterruptAt(nn.L1Loss(), call=k + 1), "mse": nn.MSELoss()}
    else:
        data = CropData(interrupt_at=4 * k + 1)  # first item of step k + 1
    model = make_model(0)
    with pytest.raises(KeyboardInterrupt):
        fit(model, data, checkpoint_dir=tmp_path, **kw)

    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["step"] == k
    ref = make_model(0)
    fit(ref, CropData(), **run_kwargs(scheduler=None, steps=k))
    assert_same_weights(model, ref)  # the model in memory keeps its training
    saved = make_model(5)
    saved.load_state_dict(ckpt["model"])
    assert_same_weights(saved, ref)
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["interrupted"] is True
    assert [r["step"] for r in history["rows"]] == list(range(1, k + 1))


def test_interrupt_can_return_history(tmp_path):
    kw = run_kwargs(steps=10)
    kw["losses"] = {"l1": InterruptAt(nn.L1Loss(), call=5), "mse": nn.MSELoss()}
    hist = fit(make_model(0), CropData(), checkpoint_dir=tmp_path, on_interrupt="return", **kw)
    assert hist.interrupted and hist["step"] == [1, 2, 3, 4]
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 4


def test_sigint_during_the_update_is_deferred_until_it_is_complete(tmp_path, python_sigint):
    class SigintAdam(torch.optim.Adam):
        calls = 0

        def step(self, closure=None):
            out = super().step(closure)
            SigintAdam.calls += 1
            if SigintAdam.calls == 3:  # mid-update: scheduler, step counter, RNG still pending
                os.kill(os.getpid(), signal.SIGINT)
            return out

    model = make_model(0)
    with pytest.raises(KeyboardInterrupt):
        fit(model, CropData(), checkpoint_dir=tmp_path,
            **run_kwargs(steps=10, optimizer=lambda params, lr: SigintAdam(params, lr=lr)))
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["step"] == 3
    assert all(s["step"].item() == 3 for s in ckpt["optimizer"]["state"].values())
    ref = make_model(0)
    fit(ref, CropData(), checkpoint_dir=tmp_path / "ref",
        **run_kwargs(steps=10, checkpoint_every=3))
    ref_ckpt = torch.load(tmp_path / "ref" / "last.pt", weights_only=True)  # final, step 10
    assert ref_ckpt["step"] == 10
    assert all(torch.equal(ckpt["model"][k], v) for k, v in _state_after(3).items())


def _state_after(steps: int) -> dict:
    """Weights after ``steps`` steps of the cosine run of 10 steps (stopped by an interrupt)."""
    kw = run_kwargs(steps=10)
    kw["losses"] = {"l1": InterruptAt(nn.L1Loss(), call=steps + 1), "mse": nn.MSELoss()}
    model = make_model(0)
    fit(model, CropData(), on_interrupt="return", **kw)
    return model.state_dict()


# --------------------------------------------------------------------------- checkpoint errors


def test_mismatched_checkpoint_is_an_error_not_a_fresh_start(tmp_path):
    data = CropData()
    kw = dict(losses={"l1": nn.L1Loss()}, steps=2, batch_size=4, progress=False, device="cpu")
    fit(ResidualCNN(width=4, depth=3), data, checkpoint_dir=tmp_path, **kw)
    before = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(CheckpointMismatchError, match="shape mismatches: body.0.weight"):
        fit(ResidualCNN(width=8, depth=3), data, checkpoint_dir=tmp_path, **{**kw, "steps": 4})
    with pytest.raises(CheckpointMismatchError, match="unexpected keys: body.4.weight"):
        fit(ResidualCNN(width=4, depth=2), data, checkpoint_dir=tmp_path, **{**kw, "steps": 4})
    with pytest.raises(CheckpointMismatchError, match="missing keys: body.6.weight"):
        fit(ResidualCNN(width=4, depth=4), data, checkpoint_dir=tmp_path, **{**kw, "steps": 4})
    with pytest.raises(CheckpointMismatchError, match="batches of 4"):
        fit(ResidualCNN(width=4, depth=3), data, checkpoint_dir=tmp_path,
            **{**kw, "steps": 4, "batch_size": 2})
    with pytest.raises(CheckpointMismatchError, match="optimizer"):
        fit(ResidualCNN(width=4, depth=3), data, checkpoint_dir=tmp_path,
            **{**kw, "steps": 4, "optimizer": "sgd"})
    assert (tmp_path / "last.pt").read_bytes() == before
    # resume=False deliberately starts afresh
    fit(ResidualCNN(width=8, depth=3), data, checkpoint_dir=tmp_path, resume=False, **kw)
    state = torch.load(tmp_path / "last.pt", weights_only=True)["model"]
    assert state["body.0.weight"].shape[0] == 8


def test_resume_from_explicit_path_and_missing_path(tmp_path):
    data = CropData()
    kw = dict(losses={"l1": nn.L1Loss()}, batch_size=4, progress=False, device="cpu")
    fit(ResidualCNN(width=4, depth=2), data, steps=3, checkpoint_dir=tmp_path / "a", **kw)
    hist = fit(ResidualCNN(width=4, depth=2), data, steps=5, log_every=1,
               resume=tmp_path / "a" / "last.pt", **kw)
    assert hist["step"] == [3, 4, 5]  # rows of the first run (log_every=10 → only the end) + new
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        fit(ResidualCNN(width=4, depth=2), data, steps=5, resume=tmp_path / "nope.pt", **kw)


def test_cosine_schedule_cannot_be_stretched_on_resume(tmp_path):
    fit(make_model(0), CropData(), checkpoint_dir=tmp_path, **run_kwargs(steps=4))
    with pytest.raises(CheckpointMismatchError, match="over 4 steps"):
        fit(make_model(0), CropData(), checkpoint_dir=tmp_path, **run_kwargs(steps=8))


def flip_tensor_byte(path: Path) -> None:
    """Flip one bit inside the first tensor's data (not a header), as disk damage would."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename)
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len + 2] ^= 0x40
    path.write_bytes(bytes(raw))


DAMAGES = {
    "cut in half": lambda b: b[:len(b) // 2],
    "cut to 200 bytes": lambda b: b[:200],
    "empty": lambda b: b"",
    "random bytes": lambda b: np.random.default_rng(0).bytes(500),
}


@pytest.mark.parametrize("damage", [*DAMAGES, "flipped byte"])
def test_damaged_checkpoint_names_the_file_and_the_fix(tmp_path, damage):
    kw = dict(losses={"l1": nn.L1Loss()}, batch_size=4, progress=False, device="cpu")
    fit(ResidualCNN(width=4, depth=2), CropData(), steps=2, checkpoint_dir=tmp_path, **kw)
    path = tmp_path / "last.pt"
    if damage == "flipped byte":  # torch.load would load it silently: only the zip CRC tells
        flip_tensor_byte(path)
    else:
        path.write_bytes(DAMAGES[damage](path.read_bytes()))
    match = r"last\.pt is damaged or truncated .*resume=False"
    with pytest.raises(DamagedCheckpointError, match=match):
        fit(ResidualCNN(width=4, depth=2), CropData(), steps=4, checkpoint_dir=tmp_path, **kw)
    with pytest.raises(DamagedCheckpointError, match=match):
        load_weights(ResidualCNN(width=4, depth=2), path)
    fit(ResidualCNN(width=4, depth=2), CropData(), steps=4, checkpoint_dir=tmp_path, resume=False,
        **kw)  # the suggested way out works
    assert torch.load(path, weights_only=True)["step"] == 4


def test_checkpoint_with_nan_weights_is_refused(tmp_path):
    kw = dict(losses={"l1": nn.L1Loss()}, batch_size=4, progress=False, device="cpu")
    fit(ResidualCNN(width=4, depth=2), CropData(), steps=2, checkpoint_dir=tmp_path, **kw)
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    ckpt["model"]["body.0.bias"][1] = float("inf")
    atomic_save(ckpt, tmp_path / "last.pt")
    with pytest.raises(DamagedCheckpointError,
                       match=r"last\.pt holds NaN/inf weights in body\.0\.bias"):
        fit(ResidualCNN(width=4, depth=2), CropData(), steps=4, checkpoint_dir=tmp_path, **kw)
    with pytest.raises(DamagedCheckpointError, match=r"last\.pt holds NaN/inf weights"):
        load_weights(ResidualCNN(width=4, depth=2), tmp_path / "last.pt")


# --------------------------------------------------------------------------- non-finite losses


class NanItems(CropData):
    """CropData whose inputs are NaN from the ``bad_from``-th item fetched on (1-based)."""

    def __init__(self, bad_from: int, **kw):
        super().__init__(**kw)
        self.bad_from = bad_from

    def __getitem__(self, i: int) -> dict:
        item = super().__getitem__(i)
        if self.calls >= self.bad_from:
            item["blur"] = item["blur"].clone()
            item["blur"][0, 1, 1] = float("nan")
        return item


@pytest.fixture(params=["each step", "at rows and saves"])
def check_mode(request, monkeypatch):
    """Run fit on the CPU both ways it can read its non-finite-loss flag (the second is what it
    does on an accelerator or under torch.distributed)."""
    if request.param == "at rows and saves":
        monkeypatch.setattr(deblurlab.train, "_check_each_step", lambda device, distributed: False)
    return request.param


def test_nan_batch_stops_at_its_step_and_keeps_the_good_checkpoint(tmp_path, check_mode):
    kw = run_kwargs(scheduler=None, log_every=4, checkpoint_every=1)
    fit(make_model(0), CropData(), checkpoint_dir=tmp_path, **{**kw, "steps": 4})
    # Items are fetched 4 per step: the 1st item of step 6 (the 2nd step of the resumed run) is bad.
    with pytest.raises(FloatingPointError, match=r"at step 6: that step's batch holds NaN/inf "
                                                 r"values \(in its input\); check the data"):
        fit(make_model(0), NanItems(bad_from=5), checkpoint_dir=tmp_path, **{**kw, "steps": 12})
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["step"] == 5  # saved before the bad step, never after it
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    resumed = fit(make_model(0), CropData(), checkpoint_dir=tmp_path, **{**kw, "steps": 12})
    assert resumed["step"] == [4, 8, 12]


def test_nan_found_later_names_the_first_bad_step_and_both_causes(monkeypatch):
    # As on an accelerator: the flag is read at the row of step 4, when step 2's batch is gone.
    monkeypatch.setattr(deblurlab.train, "_check_each_step", lambda device, distributed: False)
    with pytest.raises(FloatingPointError, match=r"at step 2: either that step's batch holds "
                                                 r"NaN/inf values .* or training diverged"):
        fit(make_model(0), NanItems(bad_from=5),
            **run_kwargs(scheduler=None, log_every=4, checkpoint_every=None))


def test_diverged_loss_is_told_apart_from_bad_data(check_mode):
    kw = run_kwargs(scheduler=None, grad_clip=None, optimizer="sgd", lr=float("inf"), log_every=2)
    with pytest.raises(FloatingPointError, match="at step 2 although its batch is finite: training "
                                                 "diverged; lower lr or set grad_clip"):
        fit(make_model(0), CropData(), **kw)


def test_nonfinite_weights_are_never_checkpointed(tmp_path, check_mode):
    class PoisonSGD(torch.optim.SGD):
        calls = 0

        def step(self, closure=None):
            out = super().step(closure)
            PoisonSGD.calls += 1
            if PoisonSGD.calls == 3:  # weights go inf although this step's loss was finite
                with torch.no_grad():
                    self.param_groups[0]["params"][0][0, 0, 0, 0] = float("inf")
            return out

    with pytest.raises(FloatingPointError, match="weights hold NaN/inf after step 3 .*training "
                                                 "diverged.*last.pt was not overwritten"):
        fit(make_model(0), CropData(), checkpoint_dir=tmp_path,
            **run_kwargs(scheduler=None, checkpoint_every=1, log_every=10,
                         optimizer=lambda params, lr: PoisonSGD(params, lr=lr)))
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 2


# --------------------------------------------------------------------------- losses


def test_weighted_loss_sum_and_skipped_zero_terms():
    def const(value):
        return lambda pred, target: pred.mean() * 0 + value

    def never(pred, target):
        raise AssertionError("a weight-0 term must not be computed")

    hist = fit(ResidualCNN(width=4, depth=2), CropData(), steps=2, batch_size=4, log_every=1,
               losses={"a": const(2.0), "b": const(5.0), "c": never},
               weights={"a": 0.5, "b": 3.0, "c": 0.0}, progress=False, device="cpu")
    assert hist["loss"] == [16.0, 16.0]
    assert hist["a"] == [2.0, 2.0] and hist["b"] == [5.0, 5.0]
    assert "c" not in hist.columns

    hist = fit(ResidualCNN(width=4, depth=2), CropData(), steps=3, batch_size=4, log_every=1,
               losses={"l1": nn.L1Loss(), "mse": nn.MSELoss()}, weights={"l1": 0.5, "mse": 3.0},
               progress=False, device="cpu")
    for row in hist.rows:
        assert row["loss"] == pytest.approx(0.5 * row["l1"] + 3.0 * row["mse"], rel=1e-6)


@pytest.mark.parametrize("weights, match", [
    ({"l1": 1.0, "l2": 1.0}, "no loss"),
    ({}, "no weight"),
    ({"l1": 0.0}, "all loss weights are 0"),
    ({"l1": -1.0}, "≥ 0"),
])
def test_bad_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        fit(ResidualCNN(width=4, depth=2), CropData(), losses={"l1": nn.L1Loss()},
            weights=weights, steps=1, progress=False, device="cpu")


def test_reserved_loss_name():
    with pytest.raises(ValueError, match="clashes"):
        fit(ResidualCNN(width=4, depth=2), CropData(), losses={"lr": nn.L1Loss()}, steps=1,
            progress=False, device="cpu")


def test_loss_decreases_on_a_trivial_task():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 16, 16)
    y = 0.5 * x + 0.25
    torch.manual_seed(0)
    model = ResidualCNN(width=8, depth=3)
    hist = fit(model, (x, y), val_data=(x[:4], y[:4]), val_every=20, losses={"mse": nn.MSELoss()},
               steps=80, batch_size=4, lr=3e-3, log_every=10, progress=False, device="cpu")
    assert hist["loss"][-1] < 0.1 * hist["loss"][0]
    assert hist["val_psnr"][-1] > hist["val_psnr"][0] + 5
    assert hist.steps("val_psnr") == [20, 40, 60, 80]


# --------------------------------------------------------------------------- history & files


def test_history_written_as_csv_and_json(tmp_path):
    x = torch.rand(8, 1, 8, 8)
    hist = fit(ResidualCNN(width=4, depth=2), (x, x), val_data=(x[:2], x[:2]), val_every=3,
               losses={"l1": nn.L1Loss()}, metrics={"mae": lambda p, t: (p - t).abs().mean()},
               steps=6, batch_size=4, log_every=2, checkpoint_dir=tmp_path, progress=False,
               device="cpu")
    assert hist["step"] == [2, 3, 4, 6]
    assert hist.steps("val_mae") == [3, 6] and hist.steps("l1") == [2, 4, 6]
    data = json.loads((tmp_path / "history.json").read_text())
    assert data["rows"] == hist.rows and data["interrupted"] is False
    with open(tmp_path / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [2, 3, 4, 6]
    assert list(rows[0]) == ["step", "epoch", "loss", "l1", "lr", "time", "val_loss", "val_mae"]
    assert rows[1]["l1"] == "" and float(rows[1]["val_mae"]) == pytest.approx(hist["val_mae"][0])
    df = hist.to_dataframe()
    assert df.shape == (4, len(hist.columns)) and list(df["step"]) == [2, 3, 4, 6]
    assert History.load(tmp_path).rows == hist.rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "history.json", "last.pt"]


def test_rerunning_a_finished_fit_loads_instead_of_training(tmp_path):
    kw = dict(losses={"l1": nn.L1Loss()}, steps=3, batch_size=4, progress=False, device="cpu",
              checkpoint_dir=tmp_path)
    model = ResidualCNN(width=4, depth=2)
    first = fit(model, CropData(), **kw)
    torch.manual_seed(1)
    again = ResidualCNN(width=4, depth=2)
    second = fit(again, CropData(interrupt_at=1), **kw)  # any data access would interrupt
    assert_same_weights(again, model)
    assert second.rows == first.rows


# --------------------------------------------------------------------------- weights files


def test_save_and_load_weights(tmp_path):
    a, b = ResidualCNN(width=4, depth=3), ResidualCNN(width=4, depth=3)
    path = save_weights(a, tmp_path / "sub" / "w.pt")
    assert max_abs_diff(a, b) > 0
    load_weights(b, path)
    assert_same_weights(a, b)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_weights(b, tmp_path / "missing.pt")
    with pytest.raises(CheckpointMismatchError, match="shape mismatches"):
        load_weights(ResidualCNN(width=8, depth=3), path)


def test_load_weights_from_fit_checkpoint_and_refuses_pickles(tmp_path):
    model = ResidualCNN(width=4, depth=2)
    fit(model, CropData(), losses={"l1": nn.L1Loss()}, steps=2, progress=False, device="cpu",
        checkpoint_dir=tmp_path)
    other = load_weights(ResidualCNN(width=4, depth=2), tmp_path / "last.pt")
    assert_same_weights(other, model)
    atomic_save({"model": History()}, tmp_path / "evil.pt")  # a pickled custom class
    with pytest.raises(CheckpointMismatchError, match="weights_only") as error:
        load_weights(model, tmp_path / "evil.pt")
    assert error.type is CheckpointMismatchError  # unsafe, not damaged: the archive is intact


def test_load_weights_refuses_values_that_are_not_tensors(tmp_path):
    model = ResidualCNN(width=4, depth=2)
    torch.save({k: 1.0 for k in model.state_dict()}, tmp_path / "floats.pt")
    with pytest.raises(CheckpointMismatchError,
                       match=r"floats\.pt does not match ResidualCNN: values that are not "
                             r"tensors: body\.0\.weight \(float\)"):
        load_weights(model, tmp_path / "floats.pt")


# --------------------------------------------------------------------------- inputs & misc


def test_data_validation():
    kw = dict(losses={"l1": nn.L1Loss()}, steps=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="fewer than batch_size"):
        fit(ResidualCNN(width=4, depth=2), CropData(n=3), batch_size=4, **kw)
    with pytest.raises(KeyError, match="input_key"):
        fit(ResidualCNN(width=4, depth=2), CropData(), input_key="noisy", **kw)
    with pytest.raises(TypeError, match="map-style"):
        fit(ResidualCNN(width=4, depth=2), 42, **kw)
    with pytest.raises(ValueError, match="steps"):
        fit(ResidualCNN(width=4, depth=2), CropData(), **{**kw, "steps": -1})


def test_set_epoch_called_each_epoch():
    data = CropData(n=8)
    fit(ResidualCNN(width=4, depth=2), data, losses={"l1": nn.L1Loss()}, steps=5, batch_size=4,
        progress=False, device="cpu")
    assert data.epochs_seen == [0, 1, 2]


def test_amp_on_cpu_warns_and_trains_in_float32():
    with pytest.warns(UserWarning, match="amp"):
        hist = fit(ResidualCNN(width=4, depth=2), CropData(), losses={"l1": nn.L1Loss()},
                   steps=2, amp=True, progress=False, device="cpu")
    assert len(hist["loss"]) == 1


def test_evaluate_and_psnr():
    x = torch.rand(6, 1, 8, 8)
    identity = ResidualCNN(width=4, depth=2)
    nn.init.zeros_(identity.body[-1].weight)
    nn.init.zeros_(identity.body[-1].bias)
    y = (x + 0.1).clamp(0, 1)
    scores = evaluate(identity, (x, y), batch_size=4, losses={"l1": nn.L1Loss()})
    expected = np.mean([psnr(x[i:i + 1], y[i:i + 1]).item() for i in range(6)])
    assert scores["psnr"] == pytest.approx(expected, rel=1e-6)
    assert scores["loss"] == pytest.approx((x - y).abs().mean().item(), rel=1e-5)
    assert psnr(torch.full((1, 1, 2, 2), 0.5), torch.full((1, 1, 2, 2), 0.4)).item() == \
        pytest.approx(20.0, abs=1e-4)


def test_callback_sees_every_step_and_can_stop_early(tmp_path):
    seen = []

    def callback(step, loss):
        seen.append((step, loss))
        return step == 3  # a Stop button pressed during step 3

    hist = fit(ResidualCNN(width=4, depth=2), CropData(), losses={"l1": nn.L1Loss()}, steps=10,
               batch_size=2, progress=False, log_every=5, checkpoint_dir=tmp_path,
               callback=callback)
    assert [s for s, _ in seen] == [1, 2, 3]
    assert all(np.isfinite(v) and v > 0 for _, v in seen)
    assert hist.interrupted
    assert hist["step"] == [3]  # the steps since the last row are logged at the stop
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 3
    # a callback that never stops changes nothing
    a = fit(ResidualCNN(width=4, depth=2), CropData(), losses={"l1": nn.L1Loss()}, steps=4,
            batch_size=2, progress=False, log_every=2, callback=lambda s, v: None)
    b = fit(ResidualCNN(width=4, depth=2), CropData(), losses={"l1": nn.L1Loss()}, steps=4,
            batch_size=2, progress=False, log_every=2)
    assert not a.interrupted and a["loss"] == b["loss"]
