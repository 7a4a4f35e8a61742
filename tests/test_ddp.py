"""Distributed fit: a real 2-process gloo run under torchrun on localhost vs one process.

One torchrun launch (``tests/ddp_worker.py``) does all the 2-process work; the tests compare its
files with one-process runs made here. Tolerance: DDP sums the two shards' gradients in another
order than one process sums the batch, so weights agree up to float32 rounding, not bit for bit.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import ddp_worker as W
from deblurlab import distributed
from deblurlab.checkpoint import load_file
from deblurlab.train import _EpochSampler, fit, load_weights

REPO = Path(__file__).resolve().parents[1]
TOL = 1e-5

pytestmark = pytest.mark.skipif(not (torch.distributed.is_available()
                                     and torch.distributed.is_gloo_available()),
                                reason="torch.distributed with gloo is not available")


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def torchrun(args: list[str], timeout: float = 600) -> tuple[str, str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node=2 ARGS`` with this
    checkout's ``lib`` first on the path; ``--standalone`` picks a free port itself. Returns
    ``(stdout, stderr)``; on a timeout the whole process group (launcher and workers) is killed."""
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO / "lib"), os.environ.get("PYTHONPATH", "")]))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           *args]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{stdout}\n{stderr[:8000]}")
    # The workers' tracebacks come first in stderr, the launcher's summary last.
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{stdout}\n" \
                                 f"{stderr[:8000]}"
    return stdout, stderr


@pytest.fixture(scope="module")
def single():
    """One-process runs: the uninterrupted reference and a checkpoint at step K."""
    torch.set_num_threads(1)  # module fixtures run before conftest's per-test setting
    model = W.make_model()
    hist = fit(model, W.Crops(), **W.fit_kwargs())
    kw = W.fit_kwargs()
    kw["losses"] = {"l1": W.StopAt(torch.nn.L1Loss(), call=W.K + 1), "mse": torch.nn.MSELoss()}
    return model.state_dict(), hist, kw


@pytest.fixture(scope="module")
def ddp(tmp_path_factory, single):
    """Run tests/ddp_worker.py on 2 processes; returns its output folder, the ranks' reports and
    the launch's stdout."""
    out = tmp_path_factory.mktemp("ddp")
    with pytest.raises(RuntimeError, match="stop"):  # the one-process checkpoint at step K
        fit(W.make_model(), W.Crops(), checkpoint_dir=out / "single_part", **single[2])
    t0 = time.perf_counter()
    stdout, _ = torchrun([str(REPO / "tests" / "ddp_worker.py"), str(out)])
    print(f"torchrun, 2 processes: {time.perf_counter() - t0:.1f} s")
    reports = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    return out, reports, stdout


def test_two_process_run_equals_one_process_run(ddp, single):
    out, reports, _ = ddp
    assert [(r["rank"], r["world_size"], r["backend"]) for r in reports] == \
        [(0, 2, "gloo"), (1, 2, "gloo")]
    ref_state, ref_hist, _ = single
    ddp_state = load_file(out / "ddp_full.pt")
    diff = max_abs_diff(ddp_state, ref_state)
    print(f"2-process vs 1-process weights after {W.N} steps: max abs diff {diff:.3g}")
    assert diff < TOL
    # The weights really moved, so the comparison means something.
    assert max_abs_diff(ref_state, W.make_model().state_dict()) > 100 * TOL

    # Each rank loaded only its contiguous half of every global batch of the one-process order.
    sampler = _EpochSampler(len(W.Crops()), 4, seed=3)
    batches = []
    for _ in range(W.N):
        batches.append(sampler.remaining()[0])
        sampler.advance()
    assert reports[0]["full_seen"] == [i for b in batches for i in b[:2]]
    assert reports[1]["full_seen"] == [i for b in batches for i in b[2:]]

    # Every rank returns the same history: losses averaged over ranks, rank 0's validation.
    rows0, rows1 = reports[0]["full_rows"], reports[1]["full_rows"]
    strip = [{k: v for k, v in r.items() if k != "time"} for r in rows0]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in rows1]
    assert [r["step"] for r in rows0] == ref_hist["step"]
    for col in ("loss", "l1", "mse", "lr", "val_loss", "val_psnr"):
        ours = [r[col] for r in rows0 if col in r]
        assert len(ours) == len(ref_hist[col]) > 0
        assert ours == pytest.approx(ref_hist[col], rel=1e-4, abs=1e-6), col


def test_rank0_alone_writes_checkpoints_and_history(ddp):
    out, reports, _ = ddp
    assert reports[1]["saves"] == []
    full = [s for s in reports[0]["saves"] if f"{os.sep}full{os.sep}" in s]
    # checkpoint_every=K with N = 2K: one periodic and one final save, each with its history.
    assert [Path(s).name for s in full] == ["last.pt", "history"] * 2
    assert sorted(p.name for p in (out / "full").iterdir()) == \
        ["history.csv", "history.json", "last.pt"]

    ckpt = load_file(out / "full" / "last.pt")
    assert ckpt["world_size"] == 2 and ckpt["step"] == W.N and len(ckpt["rng_ranks"]) == 2
    assert not any(k.startswith("module.") for k in ckpt["model"])
    model = load_weights(W.make_model(), out / "full" / "last.pt")  # plain one-process model
    assert max_abs_diff(model.state_dict(), load_file(out / "ddp_full.pt")) == 0

    # Ctrl-C: rank 0 saves the last completed step on its own (no collective that could hang).
    assert all(r["interrupted"] for r in reports)
    ckpt = load_file(out / "interrupted" / "last.pt")
    assert (ckpt["step"], ckpt["world_size"]) == (W.K + 1, 2) and "rng_ranks" not in ckpt
    assert ckpt["history"][-1]["step"] == W.K + 1


def test_resume_across_changed_world_size(ddp, single, tmp_path):
    out, reports, _ = ddp
    ref_state = single[0]
    # 2 processes → step K, then 1 process → step N.
    assert all(r["part_stop"] == "stop" for r in reports)
    part = load_file(out / "part" / "last.pt")
    assert (part["step"], part["world_size"]) == (W.K, 2)
    model = W.make_model()
    hist = fit(model, W.Crops(), checkpoint_dir=out / "part", **W.fit_kwargs())
    diff = max_abs_diff(model.state_dict(), ref_state)
    print(f"2 processes to step {W.K}, 1 process to {W.N}: max abs diff {diff:.3g}")
    assert diff < TOL
    assert hist["step"] == list(range(1, W.N + 1))

    # 2 processes → step K, then 2 processes again → step N: exact, bit for bit.
    diff = max_abs_diff(load_file(out / "ddp_part_resumed.pt"), load_file(out / "ddp_full.pt"))
    print(f"2 processes to step {W.K}, 2 processes to {W.N}: max abs diff {diff:.3g}")
    assert diff == 0

    # 1 process → step K, then 2 processes → step N (done by the worker).
    assert load_file(out / "single_part" / "last.pt")["world_size"] == 1
    diff = max_abs_diff(load_file(out / "ddp_resumed.pt"), ref_state)
    print(f"1 process to step {W.K}, 2 processes to {W.N}: max abs diff {diff:.3g}")
    assert diff < TOL
    assert [r["step"] for r in reports[0]["resumed_rows"]] == list(range(1, W.N + 1))

    # A changed global batch is refused by the usual checkpoint check.
    from deblurlab.checkpoint import CheckpointMismatchError

    with pytest.raises(CheckpointMismatchError, match="batches of 4"):
        fit(W.make_model(), W.Crops(), checkpoint_dir=out / "part",
            **W.fit_kwargs(batch_size=6))


def test_global_batch_not_divisible_by_world_size_is_a_clear_error(ddp):
    _, reports, _ = ddp
    for r in reports:
        assert "batch_size=3 is the global batch" in r["batch_error"]
        assert "divisible by the world size 2" in r["batch_error"]
        assert "use 2 or 4" in r["batch_error"]


def test_not_distributed_is_a_single_process():
    ctx = distributed.init_from_env(device="cpu") if "WORLD_SIZE" not in os.environ else None
    if ctx is not None:
        assert (ctx.rank, ctx.world_size, ctx.backend, ctx.is_main) == (0, 1, None, True)
    assert not distributed.is_distributed()
    assert (distributed.rank(), distributed.world_size()) == (0, 1)
    assert distributed.broadcast_object({"a": 1}) == {"a": 1}
    distributed.barrier()  # no-op


def test_cli_under_torchrun_trains_and_matches_one_process(ddp, tmp_path, monkeypatch, capsys):
    """The README's launch, tiny: the command-line trainer on synthetic data, 2 processes (run
    by the worker) vs ``python scripts/train.py`` in this process."""
    out, _, stdout = ddp
    assert "2 process(es) on cpu (gloo); global batch 4 = 2 per process" in stdout
    assert stdout.count("done: step 3") == 1  # rank 0 alone reports

    monkeypatch.setattr(sys, "argv", ["train.py", *W.CLI_ARGS, "--checkpoint-dir",
                                      str(tmp_path / "one")])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(REPO / "scripts" / "train.py"), run_name="__main__")
    assert exit_.value.code == 0
    assert "1 process(es) on cpu (single process); global batch 4 = 4 per process" in \
        capsys.readouterr().out
    diff = max_abs_diff(load_file(out / "cli" / "residual_cnn.pt"),
                        load_file(tmp_path / "one" / "residual_cnn.pt"))
    print(f"CLI, 2 processes vs 1: max abs diff {diff:.3g}")
    assert diff < TOL


def test_cli_rejects_bad_arguments(capsys):
    from deblurlab import train_cli

    with pytest.raises(SystemExit):
        train_cli.main(["--model", "residual_cnn", "--model-args", "[1]"])
    assert "JSON object" in capsys.readouterr().err
    with pytest.raises(KeyError, match="unknown model 'nafnte'"):
        train_cli.main(["--model", "nafnte", "--steps", "1", "--synthetic", "4"])


def test_sync_bn_without_distributed_only_warns():
    model = W.make_model()
    with pytest.warns(UserWarning, match="sync_bn=True has no effect"):
        fit(model, W.Crops(), **W.fit_kwargs(steps=1, sync_bn=True, val_data=None))
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
