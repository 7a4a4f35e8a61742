"""deblurlab benchmarks: ratios measured side by side in one run (``make bench``).

Absolute times on a shared 2-core machine vary from run to run by tens of per cent; ratios of
quantities measured in the same run, one right after the other, are what this script reports
and what the README quotes. Every configuration whose memory is reported runs in a fresh
process (forked from a server that has imported torch, see ``_mp_context``), so peaks do not
mix: the peak is the process's resident-set high-water mark (``VmHWM`` of ``/proc/self/status``,
which includes the ~0.3 GiB of Python + torch, reported separately as the baseline). With
``--device cuda`` every configuration runs in the driver process instead (a fresh process would
set up CUDA again each time) and the peak is ``torch.cuda.max_memory_allocated``, reset between
configurations; those tables go to ``benchmarks/results/cuda/`` and ``RESULTS.md`` shows them
after the CPU ones (``benchmarks/gpu_check.sh`` is the one-call recipe for a lent GPU machine).

Sections (``--only`` picks some; each writes ``<out-dir>/<section>.md``; ``RESULTS.md`` is then
assembled from every section file present, so a section re-run alone updates only its part):

* ``models``    — training-step throughput (images/s; forward + backward + Adam step, L1 loss,
  random data) and peak memory of every registry model at its quick-profile and paper config;
  each model relative to the reference (``small_unet`` quick = 1.00×).
* ``fastpaths`` — the same for ``channels_last``, bf16 autocast, ``torch.compile`` (compile time
  separately) in training, and ``no_grad`` vs ``inference_mode`` etc. in inference; ratios vs the
  eager float32 path of the same model (= 1.00×).
* ``metrics``   — Q and Ω vectorised vs a per-patch NumPy loop (``bench_sharpness.py``); SSIM and
  MS-SSIM on batches (torchmetrics) vs one image at a time (scikit-image / numpy path).
* ``tiled``     — tiled inference of a 2752×2208 (FaMM size) and a 4096×4096 image with NAFNet-w32
  and MIDNet-w32 (random weights): peak RSS; seam error of tiled vs whole-image inference, with
  the models' global average pools and with test-time local statistics (``to_local_stats``).
* ``data``      — crops/s from 16-bit LZW TIFFs through the project's ``PairedFolder`` +
  ``RandomCrops`` + ``DataLoader`` vs the images/s a quick-profile training step consumes.
* ``notebooks`` — wall time of ``scripts/run_notebooks.py --profile smoke`` (only when asked
  for with ``--only notebooks``: it takes minutes and is a CI figure, not a ratio).

Usage::

    make bench                                   # all but notebooks → benchmarks/RESULTS.md
    nice -n 19 env PYTHONPATH=lib python benchmarks/bench.py --quick   # a few minutes → build/bench-quick/
    python benchmarks/bench.py --only tiled --device cuda   # → benchmarks/results/cuda/tiled.md
    python benchmarks/bench.py --only notebooks
    python benchmarks/bench.py --assemble                   # RESULTS.md from the section files

Random weights throughout: throughput and memory do not depend on the values; for the seam error
NAFNet's skip-init scales (β, γ, zero at init, which make every block an identity) are drawn at
random so the blocks — and their global-average-pooling channel attention — actually act.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("models", "fastpaths", "metrics", "tiled", "data", "notebooks")
#: Sections that measure the CPU whatever ``--device`` says (they are not run with ``cuda``).
CPU_ONLY_SECTIONS = ("metrics", "notebooks")
#: Run order of a default ``make bench`` (cheapest first); RESULTS.md keeps the SECTIONS order.
DEFAULT_SECTIONS = ("data", "metrics", "tiled", "fastpaths", "models")
GIB = 1024 ** 3
RESULTS_DIR = REPO / "benchmarks" / "results"


# =============================================================================== helpers


def proc_status_kib(key: str) -> int:
    """``VmHWM`` / ``VmRSS`` of this process in KiB (0 where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def fmt_ratio(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def sync(device: str) -> None:
    import torch
    if device == "cuda":
        torch.cuda.synchronize()


def machine_facts() -> dict[str, str]:
    import torch
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, IndexError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / GIB * 1024:.0f} GiB"
    gpu = "none"
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = (f"{props.name}, {props.total_memory / GIB:.0f} GiB, CUDA {torch.version.cuda}, "
               f"cuDNN {torch.backends.cudnn.version()}")
    return {"date (UTC)": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "CPU": cpu, "cores (os.cpu_count)": str(os.cpu_count()),
            "torch threads": str(torch.get_num_threads()), "RAM": mem,
            "python": platform.python_version(), "torch": torch.__version__,
            "GPU": gpu, "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg())}


_CTX = None


def _mp_context():
    """A fork server that has imported torch and deblurlab once and never run a torch op.

    Every measurement is a fresh process forked from it: peaks do not mix (each child has its
    own high-water mark, starting at the server's ~0.3 GiB), and the children skip the import,
    which on a loaded 2-core machine costs more than many of the measurements. (A plain fork of
    the driver would not do: the driver itself runs torch ops, and GNU OpenMP is not fork-safe.)
    """
    global _CTX
    if _CTX is None:
        import multiprocessing as mp
        _CTX = mp.get_context("forkserver")
        _CTX.set_forkserver_preload(["torch", "numpy", "scipy.ndimage", "deblurlab.models",
                                     "deblurlab.experiments.paper001", "deblurlab.infer",
                                     "deblurlab.losses"])
    return _CTX


def _error(exc: BaseException) -> dict[str, str]:
    """A failed measurement as the tables show it ("failed: Type: first line")."""
    first = str(exc).splitlines()[0][:160] if str(exc) else ""
    return {"error": f"{type(exc).__name__}: {first}"}


def _child(spec: dict[str, Any], conn) -> None:
    try:
        conn.send(WORKERS[spec["kind"]](spec))
    except BaseException as exc:  # reported in the table as "failed: ..."
        conn.send(_error(exc))
    finally:
        conn.close()


def run_inline(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in this process, as ``run_worker`` does for a GPU.

    The CUDA allocator's peak counter is reset first and its cache emptied, so the peak
    (``cuda_peak_kib``) is this configuration's alone; a failure is returned as ``{"error"}``
    like a failed child. There is no timeout here.
    """
    import gc

    import torch
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    try:
        out = WORKERS[spec["kind"]](spec)
    except Exception as exc:  # reported in the table as "failed: ..."
        out = _error(exc)
    out["wall_s"] = time.perf_counter() - t0
    gc.collect()
    return out


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh process (see :func:`_mp_context`); returns its dict.

    On a GPU (``spec["device"] == "cuda"``) it runs in this process (:func:`run_inline`): a
    fresh process would pay CUDA's set-up every time, and the CUDA peak can be reset instead.
    """
    if spec["device"] != "cpu":
        return run_inline(spec)
    ctx = _mp_context()
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(spec, send))
    proc.start()
    send.close()
    out: dict[str, Any] | None = None
    if recv.poll(timeout):
        with contextlib.suppress(EOFError):
            out = recv.recv()
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if out is None:
        timed_out = time.perf_counter() - t0 >= timeout
        out = {"error": f"timeout after {timeout:.0f} s" if timed_out else f"exit {proc.exitcode}"}
    out["wall_s"] = time.perf_counter() - t0
    return out


# =============================================================================== model zoo

#: Registry key → where its quick/paper configuration comes from. ``build(profile)`` returns
#: ``(model, input kind)``; crops and batches are the experiment profile's.
def _zoo() -> dict[str, dict[str, Any]]:
    from deblurlab.experiments import paper000, paper001, paper002, paper003, paper004
    from deblurlab.models import build_model
    from deblurlab.models.dhn import DHN

    nb01 = {"quick": dict(crop=128, batch=8, width=16), "paper": dict(crop=256, batch=16, width=32)}

    def cb(profiles: dict, p: str) -> dict:
        return dict(crop=profiles[p]["crop"], batch=profiles[p]["batch"])

    zoo: dict[str, dict[str, Any]] = {
        "residual_cnn": dict(src="notebook 01", cfg=lambda p: cb(nb01, p),
                             build=lambda p: build_model("residual_cnn", in_ch=1)),
        "small_unet": dict(src="notebook 01", cfg=lambda p: cb(nb01, p),
                           build=lambda p: build_model("small_unet", in_ch=1, width=nb01[p]["width"])),
        "dhn": dict(src="paper000", cfg=lambda p: cb(paper000.PROFILES, p),
                    build=lambda p: DHN(width=paper000.PROFILES[p]["width"], in_ch=1)),
    }
    for name in ("dmphn", "hinet", "restormer", "nafnet", "midnet"):
        zoo[name] = dict(src="paper001", cfg=lambda p: cb(paper001.PROFILES, p),
                         build=lambda p, n=name: paper001.build(n, p))
    for name, key, kind in (("bu", "bu", "burst5"), ("bdu", "bdu_uc", "burst5"),
                            ("fpn_mobilenet", "gan", "stack3")):
        zoo[name] = dict(src=f"paper002 ({key})", cfg=lambda p: cb(paper002.PROFILES, p),
                         build=lambda p, k=key: paper002.build(k, p), kind=kind)
    for name in ("arknet", "xydeblur", "ehnet"):
        zoo[name] = dict(src="paper003", cfg=lambda p: cb(paper003.PROFILES, p),
                         build=lambda p, n=name: paper003.build(n, p))
    for name, key in (("unet", "unet"), ("msunet", "sum_k4"), ("c2f_unet", "cascade_k4"),
                      ("deepdeblur", "deepdeblur"), ("msresnet", "msresnet"), ("ddn", "ddn"),
                      ("rdn", "rdn")):
        zoo[name] = dict(src=f"paper004 ({key})" if key != name else "paper004",
                         cfg=lambda p: cb(paper004.PROFILES, p),
                         build=lambda p, k=key: paper004.build(k, p))
    return zoo


def make_batch(kind: str, batch: int, crop: int, device: str):
    import torch
    g = torch.Generator().manual_seed(0)
    if kind == "burst5":  # 5 grey frames per burst, (B, N, C, H, W)
        x = torch.rand(batch, 5, 1, crop, crop, generator=g)
    elif kind == "stack3":  # DeblurGAN-v2: 3 centre frames as channels
        x = torch.rand(batch, 3, crop, crop, generator=g)
    else:
        x = torch.rand(batch, 1, crop, crop, generator=g)
    y = torch.rand(batch, 1, crop, crop, generator=g)
    return x.to(device), y.to(device)


# =============================================================================== workers


def _peak(device: str) -> dict[str, float]:
    import torch
    out = {"vmhwm_kib": proc_status_kib("VmHWM"), "vmrss_kib": proc_status_kib("VmRSS")}
    if device == "cuda":
        out["cuda_peak_kib"] = torch.cuda.max_memory_allocated() / 1024
    return out


def worker_train(spec: dict[str, Any]) -> dict[str, Any]:
    """Training steps of one model configuration, optionally with fast paths."""
    import torch
    from deblurlab.losses import MultiScaleLoss, l1_loss

    torch.manual_seed(0)
    dev = spec["device"]
    z = _zoo()[spec["model"]]
    cfg = z["cfg"](spec["profile"])
    kind = z.get("kind", "image")
    model = z["build"](spec["profile"]).to(dev).train()
    m = int(getattr(model, "size_multiple", 1))
    base_kib = proc_status_kib("VmRSS")
    crop, batch = int(spec.get("crop") or cfg["crop"]), int(spec.get("batch") or cfg["batch"])
    cl, bf16, comp = spec.get("channels_last"), spec.get("bf16"), spec.get("compile")
    if cl:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if comp else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = MultiScaleLoss(l1_loss)

    def step(x, y) -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=bool(bf16)):
            out = step_model(x)
        preds = [p.float() for p in out] if isinstance(out, (list, tuple)) else out.float()
        loss_fn(preds, y).backward()
        opt.step()

    def batch_of(b: int, c: int):
        x, y = make_batch(kind, b, c, dev)
        if cl and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def timed(x, y) -> float:
        sync(dev)
        t = time.perf_counter()
        step(x, y)
        sync(dev)
        return time.perf_counter() - t

    note = ""
    step_budget = spec.get("step_budget")
    if step_budget:  # shrink too slow configurations: batch first, then crop (stated in the table)
        # Probe one step at batch 1 on a small crop (the first step pays for allocations, so the
        # second is timed) and extrapolate by pixel count — an overestimate, as small crops carry
        # more fixed overhead per pixel; then take the largest crop that fits, and the batch.
        c0 = min(crop, max(m, 64))
        timed(*batch_of(1, c0))
        t0 = timed(*batch_of(1, c0))
        per_px = t0 / (c0 * c0)
        while crop > c0 and per_px * crop * crop > step_budget and (crop // 2) % m == 0:
            crop //= 2
        new_batch = max(1, min(batch, int(step_budget / (per_px * crop * crop))))
        if (crop, new_batch) != (int(cfg["crop"]), batch):
            note = f"paper {cfg['crop']}² × {cfg['batch']} cut to the time budget"
        batch = new_batch
    x, y = batch_of(batch, crop)
    first = timed(x, y)  # warm-up; with torch.compile this is the compile time
    times: list[float] = []
    t_start = time.perf_counter()
    while len(times) < 2 or (time.perf_counter() - t_start < spec["budget"] and len(times) < 50):
        times.append(timed(x, y))
    times.sort()
    med = times[len(times) // 2]
    from deblurlab.models import count_parameters
    return {"crop": crop, "batch": batch, "steps": len(times), "step_s": med,
            "images_per_s": batch / med, "first_step_s": first, "note": note,
            "params": count_parameters(model), "base_kib": base_kib, **_peak(dev)}


def worker_infer(spec: dict[str, Any]) -> dict[str, Any]:
    """Forward passes over a batch of tiles with one inference fast path."""
    import torch

    torch.manual_seed(0)
    dev = spec["device"]
    z = _zoo()[spec["model"]]
    model = z["build"](spec["profile"]).to(dev).eval()
    _activate(model)
    x, _ = make_batch(z.get("kind", "image"), spec["batch"], spec["crop"], dev)
    with torch.no_grad():
        ref = model(x).float()
    cl, bf16, comp, mode = spec.get("channels_last"), spec.get("bf16"), spec.get("compile"), spec["mode"]
    if cl:  # "input": only the input tensor; True: the weights too (what predict does on the CPU)
        x = x.contiguous(memory_format=torch.channels_last)
    if cl is True:
        model = model.to(memory_format=torch.channels_last)
    run = torch.compile(model) if comp else model
    ctx = torch.inference_mode if mode == "inference_mode" else torch.no_grad

    def fwd() -> float:
        sync(dev)
        t = time.perf_counter()
        with ctx(), torch.autocast(dev, dtype=torch.bfloat16, enabled=bool(bf16)):
            y = run(x)
        sync(dev)
        fwd.last = y.float()
        return time.perf_counter() - t

    first = fwd()
    times: list[float] = []
    t_start = time.perf_counter()
    while len(times) < 2 or (time.perf_counter() - t_start < spec["budget"] and len(times) < 50):
        times.append(fwd())
    times.sort()
    med = times[len(times) // 2]
    err = float((fwd.last - ref).abs().max())
    return {"images_per_s": spec["batch"] / med, "first_s": first, "max_abs_vs_fp32": err,
            "steps": len(times), **_peak(dev)}


def _activate(model) -> None:
    """NAFNet/MIDNet start with β = γ = 0 (every block an identity); draw them so blocks act."""
    import torch
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith((".beta", ".gamma")):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))


def _first_batches_only(model, k: int):
    """Wrap ``model``: the real network on the first ``k`` tile batches, then an identity.

    The full image is still cut, blended and accumulated (so the output buffers are the real
    ones); only the network's arithmetic on the later tiles is skipped. The per-batch network
    memory is freed after each batch, so its peak is reached within the first batches. An
    ``nn.Module`` holding the model, so ``predict_tiled`` treats it as it treats the model
    (NHWC weight copies on the CPU, the global-pool check).
    """
    from torch import nn

    class FirstBatchesOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model, self.k, self.calls, self.model_s = model, k, 0, 0.0
            self.size_multiple = getattr(model, "size_multiple", 1)
            if hasattr(model, "local_stats_train_size"):
                self.local_stats_train_size = model.local_stats_train_size

        def forward(self, x):
            self.calls += 1
            if self.calls > self.k:
                return x.clone()
            t = time.perf_counter()
            y = self.model(x)
            self.model_s += time.perf_counter() - t
            return y

    return FirstBatchesOnly()


def worker_tiled(spec: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS of ``predict_tiled`` on an ``H×W`` float32 numpy image."""
    import warnings

    import numpy as np
    import torch
    from deblurlab.experiments import paper001
    from deblurlab.infer import predict_tiled, tile_starts

    torch.manual_seed(0)
    dev = spec["device"]
    model = paper001.build(spec["model"], "paper").to(dev)
    _activate(model)
    if spec.get("train_size"):
        from deblurlab.models.local_stats import to_local_stats
        model = to_local_stats(model, spec["train_size"], inplace=True)
    h, w = spec["size"]
    image = np.random.default_rng(0).random((h, w), dtype=np.float32)
    base_kib = proc_status_kib("VmRSS")
    tile, overlap, bs = spec["tile"], spec["overlap"], spec["batch_size"]
    k = spec.get("model_batches")
    run = _first_batches_only(model, k) if k else model
    t = time.perf_counter()
    with warnings.catch_warnings():  # the global-pool rows warn; the table is about memory
        warnings.simplefilter("ignore", UserWarning)
        out = predict_tiled(run, image, tile=tile, overlap=overlap, batch_size=bs, device=dev)
    wall = time.perf_counter() - t
    n_tiles = len(tile_starts(h, tile, overlap)) * len(tile_starts(w, tile, overlap))
    n_model = min(k * bs, n_tiles) if k else n_tiles
    model_s = run.model_s if k else wall
    return {"n_tiles": n_tiles, "model_tiles": n_model, "wall_s_call": wall,
            "s_per_tile": model_s / max(n_model, 1), "base_kib": base_kib,
            "out_ok": bool(out.shape == (h, w) and np.isfinite(out).all()), **_peak(dev)}


@contextlib.contextmanager
def _no_tf32():
    """Full float32 convolutions and matrix products on a GPU while inside (restored after).

    cuDNN convolutions default to TF32 on Ampere and later; its 10-bit mantissa (rounding of
    up to 2⁻¹¹ ≈ 5e-4 relative per product) would swamp the 1e-4 seam target between two
    evaluations that sum in another order — the seam table is about tiling, not about that.
    """
    import torch
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def worker_seam(spec: dict[str, Any]) -> dict[str, Any]:
    """Max |tiled − whole| for a few overlaps on an ``S×S`` image (TLC when ``train_size``)."""
    with _no_tf32():
        return _seam(spec)


def _seam(spec: dict[str, Any]) -> dict[str, Any]:
    import warnings

    import numpy as np
    import torch
    from deblurlab.infer import predict, predict_tiled
    from deblurlab.models.local_stats import to_local_stats

    torch.manual_seed(0)
    dev = spec["device"]
    z = _zoo()[spec["model"]]
    model = z["build"](spec["profile"]).to(dev)
    _activate(model)
    if spec.get("train_size"):
        model = to_local_stats(model, spec["train_size"], inplace=True)
    s = spec["size"]
    rng = np.random.default_rng(0)
    from scipy import ndimage
    image = ndimage.gaussian_filter(rng.random((s, s)), 2).astype(np.float32)
    image = (image - image.min()) / (image.max() - image.min())
    t = time.perf_counter()
    whole = predict(model, image, device=dev)
    whole_s = time.perf_counter() - t
    res = {"whole_s": whole_s, "residual_std": float((whole - image).std()), "diffs": {}}
    for ov in spec["overlaps"]:
        with warnings.catch_warnings():  # the global-pool rows are the point of the table
            warnings.simplefilter("ignore", UserWarning)
            tiled = predict_tiled(model, image, tile=spec["tile"], overlap=ov,
                                  batch_size=spec.get("batch_size", 4), device=dev)
        res["diffs"][str(ov)] = float(np.abs(tiled - whole).max())
    return res


def worker_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    import torch  # noqa: F401
    import deblurlab.models  # noqa: F401
    return _peak(spec["device"])


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "train": worker_train, "infer": worker_infer, "tiled": worker_tiled, "seam": worker_seam,
    "baseline": worker_baseline}


# =============================================================================== sections


class Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        self.device, self.quick = args.device, args.quick
        self.budget = 1.0 if args.quick else args.budget  # seconds of timed steps per config
        self.timeout = 300 if args.quick else 900
        self.baseline_kib: float | None = None

    def peak_text(self) -> str:
        """How the peak-memory columns were measured, for the section texts."""
        if self.device == "cuda":
            return ("All configurations run one after the other in one process; peak = "
                    "`torch.cuda.max_memory_allocated` of each (tensors on the GPU, reset between "
                    "configurations; the CUDA context and the caching allocator's slack are not "
                    "in it). cuDNN defaults: TF32 convolutions, `cudnn.benchmark` off.")
        return (f"Each configuration runs in a fresh process (forked from a server that has "
                f"imported torch); peak = `VmHWM` of that process (includes the "
                f"~{mib(self.baseline())} MiB that Python + torch + deblurlab take before any "
                f"model exists).")

    def mem(self, r: dict[str, Any]) -> str:
        if "error" in r:
            return "—"
        if self.device == "cuda":
            return f"{r['cuda_peak_kib'] / 1024:.0f} (CUDA)"
        return mib(r["vmhwm_kib"])

    def baseline(self) -> float:
        if self.baseline_kib is None:
            r = run_worker({"kind": "baseline", "device": self.device}, 120)
            self.baseline_kib = r.get("vmhwm_kib", float("nan"))
        return self.baseline_kib


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def section_models(c: Ctx) -> str:
    from deblurlab.models import available_models
    zoo = _zoo()
    missing = sorted(set(available_models()) - set(zoo))
    names = list(zoo) if not c.quick else ["small_unet", "dhn", "nafnet", "midnet", "bu", "unet"]
    rows, ref = [], None
    for name in names:
        for profile in ("quick", "paper"):
            spec = {"kind": "train", "model": name, "profile": profile, "device": c.device,
                    "budget": c.budget}
            if profile == "paper":
                spec["step_budget"] = 1.0 if c.quick else 1.5
            r = run_worker(spec, c.timeout)
            log(f"models {name} {profile}: {r}")
            if name == "small_unet" and profile == "quick" and "error" not in r:
                ref = r["images_per_s"]
            rows.append((name, profile, zoo[name]["src"], r))
    out = ["## Training step: every registry model at its quick and paper configuration", "",
           f"Forward + backward + Adam step, L1 loss (multi-scale models: the per-scale sum), "
           f"random data, float32 eager, device `{c.device}`; median step time over ≥ 2 steps "
           f"and ≥ {c.budget:g} s after one warm-up step. {c.peak_text()} Paper "
           f"configurations whose step at batch 1 exceeds the per-step budget run at a smaller "
           f"crop, and the batch is cut to fit the budget — the crop × batch column says what "
           f"ran (images/s barely depends on the batch on a CPU; peak memory does). "
           f"Ratio: images/s relative to `small_unet` quick in this run.", "",
           "| model | source | profile | params | crop² × batch run | images/s | vs small_unet quick "
           "| peak MiB | note |", "|---|---|---|---|---|---|---|---|---|"]
    for name, profile, src, r in rows:
        if "error" in r:
            out.append(f"| {name} | {src} | {profile} | | | failed | | | {r['error']} |")
            continue
        out.append(f"| {name} | {src} | {profile} | {r['params']:,} | {r['crop']}² × {r['batch']} "
                   f"| {r['images_per_s']:.3g} | {fmt_ratio(r['images_per_s'] / ref if ref else None)} "
                   f"| {c.mem(r)} | {r['note']} |")
    if c.quick:
        out += ["", f"`--quick`: a subset of the models ({', '.join(names)})."]
    if missing:
        out += ["", f"Not in this table (no experiment configuration): {', '.join(missing)}."]
    return "\n".join(out)


def section_fastpaths(c: Ctx) -> str:
    models = [("small_unet", "quick"), ("nafnet", "quick")]
    if c.quick:
        models = models[:1]
    train_variants = [("eager fp32", {}), ("channels_last", {"channels_last": True}),
                      ("bf16 autocast", {"bf16": True}),
                      ("channels_last + bf16", {"channels_last": True, "bf16": True}),
                      ("torch.compile", {"compile": True})]
    infer_variants = [("eager fp32, no_grad", {"mode": "no_grad"}),
                      ("inference_mode", {"mode": "inference_mode"}),
                      ("inference_mode + channels_last", {"mode": "inference_mode", "channels_last": True}),
                      ("inference_mode + bf16 autocast", {"mode": "inference_mode", "bf16": True}),
                      ("inference_mode + torch.compile", {"mode": "inference_mode", "compile": True})]
    out = ["## Fast paths (ratios vs eager float32 of the same model, same run)", "",
           "Training: as in the model table. Inference: forward of a batch of 4 tiles of 256² "
           "(the default `predict_tiled` tile and batch). `torch.compile` uses the default "
           "(inductor) backend; its first call — the compile — is reported separately and not "
           "in the throughput. bf16 autocast: max |output − float32 output| is the accuracy cost.", ""]
    for model, profile in models:
        out += [f"### {model} ({profile} config) — training", "",
                "| path | images/s | vs eager fp32 | first step (s) | peak MiB |", "|---|---|---|---|---|"]
        ref = None
        for label, v in train_variants:
            if v.get("compile") and model != models[0][0]:
                out.append(f"| {label} | not run: compile cost, see {models[0][0]} | | | |")
                continue
            spec = {"kind": "train", "model": model, "profile": profile, "device": c.device,
                    "budget": c.budget, **v}
            r = run_worker(spec, c.timeout)
            log(f"fastpath train {model} {label}: {r}")
            if "error" in r:
                out.append(f"| {label} | failed: {r['error']} | | | |")
                continue
            ref = ref or (r["images_per_s"] if label == "eager fp32" else None)
            out.append(f"| {label} | {r['images_per_s']:.3g} | "
                       f"{fmt_ratio(r['images_per_s'] / ref if ref else None)} | "
                       f"{r['first_step_s']:.1f} | {c.mem(r)} |")
        out += ["", f"### {model} ({profile} config) — inference, 4 × 256²", "",
                "| path | images/s | vs no_grad fp32 | first call (s) | max abs vs fp32 | peak MiB |",
                "|---|---|---|---|---|---|"]
        ref = None
        for label, v in infer_variants:
            if v.get("compile") and model != models[0][0]:
                out.append(f"| {label} | not run: compile cost, see {models[0][0]} | | | | |")
                continue
            spec = {"kind": "infer", "model": model, "profile": profile, "device": c.device,
                    "budget": c.budget, "batch": 4, "crop": 256, **v}
            r = run_worker(spec, c.timeout)
            log(f"fastpath infer {model} {label}: {r}")
            if "error" in r:
                out.append(f"| {label} | failed: {r['error']} | | | | |")
                continue
            ref = ref or (r["images_per_s"] if label.startswith("eager") else None)
            out.append(f"| {label} | {r['images_per_s']:.3g} | "
                       f"{fmt_ratio(r['images_per_s'] / ref if ref else None)} | {r['first_s']:.1f} | "
                       f"{r['max_abs_vs_fp32']:.1e} | {c.mem(r)} |")
        out.append("")
    out += zoo_channels_last(c)
    return "\n".join(out)


def zoo_channels_last(c: Ctx) -> list[str]:
    """Inference with a channels_last input for every image model: does the default pay?"""
    names = ["small_unet", "nafnet"] if c.quick else [
        n for n, z in _zoo().items() if z.get("kind", "image") == "image"]
    configs = [(n, "quick") for n in names] + [("nafnet", "paper"), ("midnet", "paper")]
    out = ["### Inference in channels_last (NHWC) layout, every image model", "",
           "Forward of 4 × 256² under `inference_mode`, ratio vs the same forward in the default "
           "NCHW layout. 'input only': the batch is made `channels_last`; a grey (N, 1, H, W) "
           "tensor is both layouts at once, so the convolutions stay NCHW and nothing changes. "
           "'input + weights': the conv weights are `channels_last` too, which is what `predict` "
           "/ `predict_tiled` now do by default on the CPU (with NHWC copies of the weights "
           "through `torch.func.functional_call`, so the caller's model is not changed). Burst "
           "models (5-D input) are not in the table.", "",
           "| model | profile | NCHW images/s | input only | vs NCHW | input + weights "
           "| vs NCHW | max abs vs NCHW |", "|---|---|---|---|---|---|---|---|"]
    for model, profile in configs:
        res = {}
        for key, cl in (("nchw", None), ("input", "input"), ("both", True)):
            spec = {"kind": "infer", "model": model, "profile": profile, "device": c.device,
                    "budget": c.budget, "batch": 4, "crop": 256, "mode": "inference_mode",
                    "channels_last": cl}
            res[key] = run_worker(spec, c.timeout)
            log(f"zoo channels_last {model} {profile} {key}: {res[key]}")
        if any("error" in r for r in res.values()):
            err = next(r["error"] for r in res.values() if "error" in r)
            out.append(f"| {model} | {profile} | failed: {err} | | | | | |")
            continue
        ref = res["nchw"]["images_per_s"]
        err = max(res["input"]["max_abs_vs_fp32"], res["both"]["max_abs_vs_fp32"])
        out.append(f"| {model} | {profile} | {ref:.3g} | {res['input']['images_per_s']:.3g} | "
                   f"{fmt_ratio(res['input']['images_per_s'] / ref)} | "
                   f"{res['both']['images_per_s']:.3g} | "
                   f"{fmt_ratio(res['both']['images_per_s'] / ref)} | {err:.1e} |")
    return out + [""]


def section_metrics(c: Ctx) -> str:
    import numpy as np
    import torch
    from skimage.metrics import structural_similarity

    from deblurlab.metrics import ms_ssim, ssim

    size = 512
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_sharpness.py"), "--size", str(size),
           "--repeats", "5"]
    env = dict(os.environ, PYTHONPATH=str(REPO / "lib"), OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    sharp = proc.stdout.strip() if proc.returncode == 0 else f"failed: {proc.stderr[-300:]}"
    log("metrics: sharpness done")

    rng = np.random.default_rng(0)
    n, s = (8, 256) if c.quick else (16, 512)
    a = rng.random((n, s, s)).astype(np.float32)
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)
    ta, tb = torch.from_numpy(a)[:, None], torch.from_numpy(b)[:, None]

    def best(fn, k=3):
        t_best, val = math.inf, None
        for _ in range(k):
            t = time.perf_counter()
            val = fn()
            t_best = min(t_best, time.perf_counter() - t)
        return t_best, val

    rows = []
    t_b, v_b = best(lambda: ssim(ta, tb, data_range=1.0))
    t_l, v_l = best(lambda: [structural_similarity(a[i], b[i], data_range=1.0, gaussian_weights=True,
                                                   sigma=1.5, use_sample_covariance=False)
                             for i in range(n)])
    rows.append(("SSIM", "scikit-image `structural_similarity`, one image at a time (float32 in)",
                 t_l, t_b, float(np.abs(np.asarray(v_l) - v_b.numpy()).max())))
    t_b, v_b = best(lambda: ms_ssim(ta, tb, data_range=1.0))
    t_l, v_l = best(lambda: [ms_ssim(a[i], b[i], data_range=1.0) for i in range(n)])
    rows.append(("MS-SSIM", "`deblurlab.metrics.ms_ssim` on one numpy image at a time", t_l, t_b,
                 float(np.abs(np.asarray(v_l) - v_b.numpy()).max())))
    out = ["## Metrics", "", "### Q and Ω: vectorised vs per-patch NumPy loop (target ≥ 20×)", "",
           f"`OMP_NUM_THREADS=1 python benchmarks/bench_sharpness.py --size {size}`:", "", sharp, "",
           f"### SSIM / MS-SSIM on a batch (torchmetrics, `deblurlab.metrics`) vs one image at a time", "",
           f"{n} grey float32 images of {s}², best of 3; {torch.get_num_threads()} torch thread(s).", "",
           "| metric | one at a time | loop (s) | batch (s) | batch speed-up | max abs diff |",
           "|---|---|---|---|---|---|"]
    for name, how, tl, tb_, d in rows:
        out.append(f"| {name} | {how} | {tl:.3f} | {tb_:.3f} | {fmt_ratio(tl / tb_)} | {d:.1e} |")
    return "\n".join(out)


def section_tiled(c: Ctx) -> str:
    sizes = [(2752, 2208), (4096, 4096)]
    gpu = c.device == "cuda"
    k = None if gpu else 1  # tile batches run through the real network (see the text)
    out = ["## Tiled inference: peak memory and seams", "",
           f"`predict_tiled(model, image, tile, overlap, batch_size)` on a float32 numpy image, "
           f"NAFNet-w32 and MIDNet-w32 (paper001 `paper` config, 17.1 M / 17.3 M parameters, "
           f"grey, random weights — memory does not depend on the values); 'TLC(s)' = converted "
           f"by `to_local_stats(model, train_size=s)` (local instead of global average pools, "
           f"see the seam table). "]
    if gpu:
        out[-1] += ("The network runs on every tile; s / tile = the call's wall time ÷ tiles. "
                    "The image, the output and the blending accumulator stay in host memory "
                    "(`out_device='cpu'`, the default); peak = `torch.cuda.max_memory_allocated` "
                    "(tiles, weights and activations on the GPU).")
        out += ["", "| model | image | tile / overlap × batch | tiles | s / tile | CUDA peak (MiB) |",
                "|---|---|---|---|---|---|"]
    else:
        out[-1] += (f"A whole 2752×2208 image is 130 tiles of 256² and each costs "
                    f"seconds on this CPU (s / tile below): to keep `make bench` within its budget the "
                    f"network runs on the first {k} batch(es) and an identity stands in for it on the "
                    f"remaining ones; cutting, blending and the full-size output buffers are real. "
                    f"Per-batch network memory is released after each batch, so the peak is reached in "
                    f"the first batches. Peak = `VmHWM` of a fresh process; 'before' = RSS after loading "
                    f"the model and the image (Python + torch + model + input). Target: ≤ 2 GiB for "
                    f"2752×2208 on the CPU.")
        out += ["", "| model | image | tile / overlap × batch | tiles (network ran on) | s / tile "
                "| RSS before (MiB) | peak (MiB) | peak ≤ 2 GiB |", "|---|---|---|---|---|---|---|---|"]
    configs = [(model, None, 256, 32, 4, size) for model in ("nafnet", "midnet") for size in sizes]
    # the seam-free TLC setting (overlap = 3 × the training crop, see below) needs larger tiles
    configs += [(model, ts, 6 * ts, 3 * ts, 1, sizes[0]) for ts in (64, 256)
                for model in ("nafnet", "midnet")]
    if c.quick:
        configs = [cfg for cfg in configs if cfg[5] == sizes[0]]
    for model, train_size, tile, overlap, bs, (h, w) in configs:
        spec = {"kind": "tiled", "model": model, "size": [h, w], "tile": tile,
                "overlap": overlap, "batch_size": bs, "device": c.device, "model_batches": k,
                "train_size": train_size}
        r = run_worker(spec, c.timeout)
        log(f"tiled {model} tlc={train_size} {h}x{w} tile {tile}: {r}")
        name = model if train_size is None else f"{model} TLC({train_size})"
        cfg = f"{tile} / {overlap} × {bs}"
        if "error" in r:
            out.append(f"| {name} | {h}×{w} | {cfg} | failed: {r['error']} |" + " |" * (2 if gpu else 4))
            continue
        if gpu:
            out.append(f"| {name} | {h}×{w} | {cfg} | {r['n_tiles']} | {r['s_per_tile']:.3f} | "
                       f"{c.mem(r)} |")
            continue
        ok = "yes" if r["vmhwm_kib"] <= 2 * 1024 * 1024 else "**no**"
        out.append(f"| {name} | {h}×{w} | {cfg} | {r['n_tiles']} ({r['model_tiles']}) | "
                   f"{r['s_per_tile']:.2f} | {mib(r['base_kib'])} | {c.mem(r)} | {ok} |")
    s, tile, overlaps = (512, 256, [64, 96, 128]) if c.quick else (1024, 512, [128, 192, 256])
    out += ["", f"### Seam error: tiled vs whole-image inference on a {s}² image", "",
            f"To keep the section short, the comparison uses a {s}² image (smoothed noise in "
            f"[0, 1]), tile {tile}, batch 2, cosine blend. NAFNet/MIDNet with β, γ drawn at "
            f"random (N(0, 0.3²)) so that the blocks act. 'global' = as built: the channel attention (SCA) averages "
            f"each feature map over the whole input, so every tile has other statistics than the "
            f"whole image. 'TLC(s)' = `to_local_stats(model, train_size=s)`: every SCA averages "
            f"a window of 1.5·s full-resolution pixels, and the reference is the converted "
            f"model's own whole-image output. `small_unet` (paper config, width 32, random init) "
            f"for comparison. Target: max abs ≤ 1e-4. TLC(256), the paper's crops, is in the "
            f"next table." + (" On the GPU both use full float32 (TF32 off for this table)."
                              if gpu else ""), "",
            "| model | statistics | std(output − input) | "
            + " | ".join(f"max abs, overlap {o}" for o in overlaps)
            + " |", "|---|---|---|" + "---|" * len(overlaps)]
    rows = [(m, tlc) for m in ("nafnet", "midnet") for tlc in (None, 32, 64)]
    rows.append(("small_unet", None))
    for model, train_size in rows:
        spec = {"kind": "seam", "model": model, "profile": "paper", "size": s, "tile": tile,
                "overlaps": overlaps, "device": c.device, "batch_size": 2,
                "train_size": train_size}
        r = run_worker(spec, c.timeout)
        log(f"seam {model} tlc={train_size}: {r}")
        stats = "—" if model == "small_unet" else (
            "global" if train_size is None else f"TLC({train_size}): window {3 * train_size // 2}")
        if "error" in r:
            out.append(f"| {model} | {stats} | failed: {r['error']} |" + " |" * len(overlaps))
            continue
        out.append(f"| {model} (paper) | {stats} | {r['residual_std']:.3f} | "
                   + " | ".join(f"{r['diffs'][str(o)]:.1e}" for o in overlaps) + " |")
    if not c.quick:
        out += ["", *_seam_paper_crop(c)]
    return "\n".join(out)


def _seam_paper_crop(c: Ctx) -> list[str]:
    """The seam table for TLC(256), the paper's 256² training crops: tiles of 1536²."""
    s, tile, overlaps, ts = 2304, 1536, [384, 768], 256
    out = [f"### Seam error with the paper's crops: TLC({ts}) on a {s}² image", "",
           f"As above, with `to_local_stats(model, train_size={ts})` (windows of "
           f"{3 * ts // 2} pixels), tile {tile}, batch 1: 2 × 2 tiles at both overlaps. "
           f"Overlap {3 * ts} is the 3·s rule (`seam_free_overlap`), {3 * ts // 2} half of it. "
           f"'whole (s)' = the whole-image reference's wall time.", "",
           "| model | whole (s) | " + " | ".join(f"max abs, overlap {o}" for o in overlaps)
           + " |", "|---|---|" + "---|" * len(overlaps)]
    for model in ("nafnet", "midnet"):
        spec = {"kind": "seam", "model": model, "profile": "paper", "size": s, "tile": tile,
                "overlaps": overlaps, "device": c.device, "batch_size": 1, "train_size": ts}
        r = run_worker(spec, c.timeout)
        log(f"seam {model} tlc={ts} {s}²: {r}")
        if "error" in r:
            out.append(f"| {model} TLC({ts}) | failed: {r['error']} |" + " |" * len(overlaps))
            continue
        out.append(f"| {model} TLC({ts}) | {r['whole_s']:.0f} | "
                   + " | ".join(f"{r['diffs'][str(o)]:.1e}" for o in overlaps) + " |")
    return out


def section_data(c: Ctx) -> str:
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from deblurlab.datasets import PairedFolder, RandomCrops
    from deblurlab.io import write_image

    n_img, side = (4, 512) if c.quick else (8, 1024)
    crop, batch = 96, 4  # paper001 quick (NAFNet / MIDNet): the consumer measured below
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("blur", "sharp"):
            (Path(tmp) / sub).mkdir()
        for i in range(n_img):
            for sub in ("blur", "sharp"):
                img = rng.random((side, side)).astype(np.float32)
                write_image(Path(tmp) / sub / f"img{i:02d}.tif", img, dtype="uint16", compression="lzw")
        nbytes = sum(p.stat().st_size for p in Path(tmp).rglob("*.tif"))
        for cache in (False, True):
            pairs = PairedFolder(Path(tmp) / "blur", Path(tmp) / "sharp", cache=cache)
            crops = RandomCrops(pairs, crop, n_per_image=64, channels=1)
            loader = DataLoader(crops, batch_size=batch, shuffle=True, num_workers=0)
            n, t0 = 0, time.perf_counter()
            for b in loader:
                n += b["blur"].shape[0]
                if time.perf_counter() - t0 > max(c.budget, 2.0) and n >= 2 * n_img:
                    break
            rows.append((cache, n / (time.perf_counter() - t0)))
            log(f"data cache={cache}: {rows[-1][1]:.1f} crops/s")
    r = run_worker({"kind": "train", "model": "nafnet", "profile": "quick", "device": c.device,
                    "budget": c.budget}, c.timeout)
    r2 = run_worker({"kind": "train", "model": "small_unet", "profile": "quick", "device": c.device,
                     "budget": c.budget}, c.timeout)
    out = ["## Data loading vs training consumption (target ≥ 10×)", "",
           f"{n_img} blurred/sharp pairs of {side}² 16-bit LZW TIFFs ({nbytes / 2**20:.1f} MiB "
           f"on disk, random content — incompressible, the worst case for LZW) in a temporary "
           f"folder; `PairedFolder` → `RandomCrops({crop}, rot/flip)` → `DataLoader(batch_size="
           f"{batch}, num_workers=0)`: crops/s, each crop a blurred + sharp pair. `cache=False` "
           f"decodes both TIFFs for every crop (the worst case); `cache=True` (the default) "
           f"decodes each file once. Consumption: training images/s of NAFNet quick "
           f"(paper001, crop 96², batch 4) and of `small_unet` quick (the fastest reference), "
           f"measured in this run on `{c.device}`.", "",
           "| loader | crops/s | ÷ NAFNet quick images/s | ÷ small_unet quick images/s |",
           "|---|---|---|---|"]
    for cache, cps in rows:
        a = cps / r["images_per_s"] if "error" not in r else None
        b = cps / r2["images_per_s"] if "error" not in r2 else None
        out.append(f"| `cache={cache}` | {cps:.1f} | {fmt_ratio(a)} | {fmt_ratio(b)} |")
    out += ["", f"Training: NAFNet quick {r.get('images_per_s', float('nan')):.3g} images/s, "
                f"small_unet quick {r2.get('images_per_s', float('nan')):.3g} images/s."]
    return "\n".join(out)


def section_notebooks(c: Ctx) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(REPO / "scripts" / "run_notebooks.py"), "--profile", "smoke",
               "--out", tmp]
        env = dict(os.environ, PYTHONPATH=str(REPO / "lib"))
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        wall = time.perf_counter() - t
        summary = Path(tmp, "SUMMARY.md")
        text = summary.read_text() if summary.exists() else proc.stdout[-2000:]
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    return "\n".join(["## Smoke notebook suite (target ≤ 15 min on 2 cores)", "",
                      f"`python scripts/run_notebooks.py --profile smoke --out <tmp>`: "
                      f"**{wall / 60:.1f} min** wall ({status}), {os.cpu_count()} cores.", "",
                      "<details><summary>per notebook (SUMMARY.md)</summary>", "", text.strip(), "",
                      "</details>"])


SECTION_FNS = {"models": section_models, "fastpaths": section_fastpaths,
               "metrics": section_metrics, "tiled": section_tiled, "data": section_data,
               "notebooks": section_notebooks}


def default_out_dir(device: str, quick: bool) -> Path:
    """Where a run's section files go: CPU and GPU tables never overwrite each other."""
    if quick:
        return REPO / "build" / ("bench-quick" if device == "cpu" else f"bench-quick-{device}")
    return RESULTS_DIR if device == "cpu" else RESULTS_DIR / device


def _rel(p: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(p.resolve().relative_to(REPO))
    return str(p)


def _facts_table(facts: dict[str, str]) -> list[str]:
    return ["| machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in facts.items())]


def assemble(out_dir: Path, results: Path, cmdline: str) -> None:
    """Write ``results`` from the section files in ``out_dir`` (and ``out_dir/cuda``, if any).

    Each directory's ``machine.json`` holds the facts of the machine that measured it, written
    by :func:`main`; the GPU sections follow the CPU ones, each title marked with the GPU.
    """
    def facts_of(d: Path) -> dict[str, str] | None:
        f = d / "machine.json"
        return json.loads(f.read_text()) if f.exists() else None

    parts = ["# deblurlab benchmark results", "",
             f"Assembled from the section files in `{_rel(out_dir)}/` (each ends with the command "
             f"that measured it) by `{cmdline}`; `benchmarks/bench.py` says what each section "
             "measures. Ratios are measured side by side in one run; absolute numbers vary "
             "between runs on a shared machine.", ""]
    facts = facts_of(out_dir)
    if facts:
        parts += _facts_table(facts) + [""]
    gpu_dir = out_dir / "cuda"
    gpu_facts = facts_of(gpu_dir)
    if gpu_facts is None and (facts or {}).get("GPU", "none") == "none":
        parts += ["GPU: not measured — no CUDA device has been lent to this project yet; "
                  "`benchmarks/gpu_check.sh` is the recipe for one (`--device cuda`).", ""]
    for name in SECTIONS:
        p = out_dir / f"{name}.md"
        if p.exists():
            parts += [p.read_text().strip(), ""]
    if gpu_facts is not None:
        gpu = gpu_facts.get("GPU", "GPU").split(",")[0]
        parts += [f"# On the GPU: {gpu}", "", *_facts_table(gpu_facts), ""]
        for name in SECTIONS:
            p = gpu_dir / f"{name}.md"
            if p.exists():
                title, _, rest = p.read_text().strip().partition("\n")  # rest: "\n" + body
                parts += [f"{title} — GPU ({gpu})", rest.rstrip(), ""]
    results.write_text("\n".join(parts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="a few-minute version (fewer models, smaller sizes)")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, help="sections to run (default: all but notebooks)")
    ap.add_argument("--budget", type=float, default=1.5, help="seconds of timed steps per configuration")
    ap.add_argument("--out-dir", type=Path, help="section files (default benchmarks/results, "
                    "--device cuda: benchmarks/results/cuda, --quick: build/bench-quick)")
    ap.add_argument("--assemble", action="store_true",
                    help="measure nothing: rebuild RESULTS.md from the section files")
    args = ap.parse_args(argv)
    cmdline = "python benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.worker:
        spec = json.loads(args.worker)
        print("RESULT " + json.dumps(WORKERS[spec["kind"]](spec)), flush=True)  # for debugging
        return 0
    if args.assemble:
        assemble(RESULTS_DIR, REPO / "benchmarks" / "RESULTS.md", cmdline.strip())
        log(f"wrote {REPO / 'benchmarks' / 'RESULTS.md'}")
        return 0
    sections = args.only or [s for s in DEFAULT_SECTIONS
                             if args.device == "cpu" or s not in CPU_ONLY_SECTIONS]
    if args.device != "cpu" and set(sections) & set(CPU_ONLY_SECTIONS):
        raise SystemExit(f"--device {args.device}: {', '.join(CPU_ONLY_SECTIONS)} measure the CPU only")
    import torch
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False on this machine")
    out_dir = args.out_dir or default_out_dir(args.device, args.quick)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "machine.json").write_text(json.dumps(machine_facts(), indent=1) + "\n")
    ctx = Ctx(args)
    # RESULTS.md is kept current only by the default CPU and GPU runs; others write beside their sections
    official = out_dir == default_out_dir(args.device, False) and not args.quick
    results = REPO / "benchmarks" / "RESULTS.md" if official else out_dir / "RESULTS.md"
    t_all = time.perf_counter()
    for name in sections:
        t = time.perf_counter()
        log(f"section {name} ...")
        text = SECTION_FNS[name](ctx)
        took = time.perf_counter() - t
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (out_dir / f"{name}.md").write_text(
            text + f"\n\n_Section measured {stamp}, {took:.0f} s, device `{args.device}`, "
                   f"`{cmdline.strip()}`._\n")
        log(f"section {name} done in {took:.0f} s")
        if official:  # keep RESULTS.md current after every section
            assemble(RESULTS_DIR, results, cmdline.strip())
    assemble(RESULTS_DIR if official else out_dir, results, cmdline.strip())
    log(f"wrote {results} in {time.perf_counter() - t_all:.0f} s")
    print(results.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
