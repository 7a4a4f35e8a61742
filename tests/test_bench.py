"""The benchmark harness (``benchmarks/bench.py``): where results go, how the tables are put
together, and its GPU path, whose tables are checked here with canned measurements since
neither this machine nor CI has a GPU. The measurements themselves are not timed in tests."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("deblurlab_bench", REPO / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_and_gpu_results_never_share_a_folder(bench):
    cpu, gpu = bench.default_out_dir("cpu", False), bench.default_out_dir("cuda", False)
    assert cpu == REPO / "benchmarks" / "results"
    assert gpu == cpu / "cuda"
    assert bench.default_out_dir("cpu", True) != bench.default_out_dir("cuda", True)


def _write_run(folder: Path, gpu: str, sections: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    (folder / "machine.json").write_text(json.dumps({"CPU": "test cpu", "GPU": gpu}))
    for name, body in sections.items():
        (folder / f"{name}.md").write_text(body)


def test_assemble_shows_gpu_tables_after_the_cpu_ones(bench, tmp_path):
    results = tmp_path / "RESULTS.md"
    _write_run(tmp_path / "r", "none", {"models": "## Training step\n\n| cpu table |",
                                        "data": "## Data loading\n\n| cpu data |"})
    bench.assemble(tmp_path / "r", results, "bench --assemble")
    text = results.read_text()
    assert "GPU: not measured" in text and "# On the GPU" not in text
    assert text.index("## Training step") < text.index("## Data loading")  # SECTIONS order

    _write_run(tmp_path / "r" / "cuda", "NVIDIA H200, 140 GiB, CUDA 13.0",
               {"models": "## Training step\n\n| gpu table |"})
    bench.assemble(tmp_path / "r", results, "bench --assemble")
    text = results.read_text()
    assert "GPU: not measured" not in text
    gpu_part = text[text.index("# On the GPU: NVIDIA H200"):]
    assert "## Training step — GPU (NVIDIA H200)\n\n| gpu table |" in gpu_part
    assert "| GPU | NVIDIA H200, 140 GiB, CUDA 13.0 |" in gpu_part
    assert "| cpu table |" in text[:text.index("# On the GPU")]


def test_run_inline_measures_in_this_process_and_reports_failures(bench):
    spec = {"kind": "train", "model": "small_unet", "profile": "quick", "device": "cpu",
            "budget": 0.0, "crop": 32, "batch": 2}
    r = bench.run_inline(spec)
    assert "error" not in r, r
    assert (r["crop"], r["batch"], r["steps"]) == (32, 2, 2)
    assert r["images_per_s"] > 0 and r["params"] > 0
    bad = bench.run_inline(dict(spec, model="no_such_model"))
    assert bad["error"].startswith("KeyError") and bad["wall_s"] >= 0


def test_no_tf32_turns_tf32_off_and_restores_it(bench):
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    with bench._no_tf32():
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before


def test_cpu_only_sections_are_refused_on_the_gpu(bench):
    with pytest.raises(SystemExit, match="metrics, notebooks measure the CPU only"):
        bench.main(["--device", "cuda", "--only", "metrics"])


def _canned(spec: dict) -> dict:
    """What a GPU measurement returns (``run_inline`` on CUDA): no host peak, a CUDA peak."""
    peak = {"cuda_peak_kib": 3 * 1024 * 1024, "wall_s": 0.1}
    if spec["kind"] == "train":
        return {"crop": 64, "batch": 4, "steps": 9, "step_s": 0.01, "images_per_s": 400.0,
                "first_step_s": 0.5, "note": "", "params": 1000, "base_kib": 0, **peak}
    if spec["kind"] == "infer":
        return {"images_per_s": 900.0, "first_s": 0.2, "max_abs_vs_fp32": 1e-3, "steps": 9, **peak}
    if spec["kind"] == "tiled":
        return {"n_tiles": 130, "model_tiles": 130, "wall_s_call": 1.3, "s_per_tile": 0.01,
                "base_kib": 0, "out_ok": True, **peak}
    if spec["kind"] == "seam":
        return {"whole_s": 0.2, "residual_std": 0.1, **peak,
                "diffs": {str(o): 1e-6 for o in spec["overlaps"]}}
    raise AssertionError(spec)


@pytest.mark.parametrize("section", ["models", "fastpaths", "tiled"])
def test_gpu_tables_report_cuda_peaks_not_host_memory(bench, monkeypatch, section):
    specs: list[dict] = []

    def fake_run_worker(spec, timeout):
        specs.append(spec)
        return _canned(spec)

    monkeypatch.setattr(bench, "run_worker", fake_run_worker)
    ctx = bench.Ctx(argparse.Namespace(device="cuda", quick=False, budget=0.5))
    text = bench.SECTION_FNS[section](ctx)
    assert specs and all(s["device"] == "cuda" for s in specs)
    assert "VmHWM" not in text and "≤ 2 GiB |" not in text  # CPU wording and CPU target
    assert "3072 (CUDA)" in text
    assert "failed" not in text
    if section == "tiled":  # on the GPU the network runs on every tile
        assert all(s.get("model_batches") is None for s in specs if s["kind"] == "tiled")
        assert "| CUDA peak (MiB) |" in text and "TF32 off" in text


def test_gpu_recipe_runs_its_plan_and_reports_each_section(tmp_path):
    """``benchmarks/gpu_check.sh`` is what a lent GPU machine runs, in one call: check its plan,
    output files and failure report here with the CPU and one short section."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHON=sys.executable, DEVICE="cpu", OUT=str(tmp_path),
               SECTIONS="data:240 metrics:1", BENCH_ARGS="--quick --budget 0.1")
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert "gpu_check: section data done" in proc.stdout, proc.stdout + proc.stderr
    assert "gpu_check: section metrics FAILED (exit 124" in proc.stdout  # over its 1 s
    assert proc.returncode == 1  # a failed section fails the call
    assert {p.name for p in tmp_path.iterdir()} == {"data.md", "machine.json", "RESULTS.md", "log.txt"}
    assert "## Data loading" in (tmp_path / "RESULTS.md").read_text()
