"""What a model costs: parameters, multiply–accumulates at a given input size, inference time.

Papers disagree on what "FLOPs" means: most deblurring papers (NAFNet, HINet, Restormer, MIDNet)
print **multiply–accumulates** (MACs) under the name FLOPs, while one MAC is two floating-point
operations. :func:`model_cost` reports both, counted by torch's own
:class:`torch.utils.flop_counter.FlopCounterMode` (convolutions, transposed convolutions,
matrix products and attention; element-wise work such as activations, norms and additions is not
counted, as in the usual counters), so ``gmacs`` is the column to compare with the papers.

Inference time is the median of ``repeats`` timed forward passes after ``warmup`` passes, under
``torch.inference_mode`` on the given device, batch 1. It depends on the machine and its load —
compare rows measured in the same run, not across runs.

>>> import torch
>>> cost = model_cost(torch.nn.Conv2d(1, 8, 3, padding=1), size=(16, 16), in_ch=1, repeats=1)
>>> cost["params"], cost["macs"]   # 8·1·9 + 8 weights; 8·9 MACs per output pixel × 256 pixels
(80, 18432)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .models import count_parameters

__all__ = ["cost_table", "count_macs", "model_cost"]


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply–accumulates of one forward pass of ``model`` on ``x`` (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return counter.get_total_flops() // 2


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_cost(model: nn.Module, *, size: tuple[int, int] = (256, 256), in_ch: int = 3,
               repeats: int = 5, warmup: int = 1,
               device: torch.device | str | None = None) -> dict[str, Any]:
    """Parameters, MACs and inference time of ``model`` on one ``(1, in_ch, *size)`` input.

    Args:
        model: the network (put in eval mode for the measurement, restored afterwards).
        size: input ``(H, W)``; the papers use 256×256.
        in_ch: input channels.
        repeats: timed forward passes (median reported); 0 skips timing (``seconds`` = NaN).
        warmup: untimed passes first (allocations, lazy initialisation).
        device: where to run (default: where the model's parameters are).

    Returns:
        ``{"params", "macs", "gmacs", "gflops", "seconds"}`` — ``gflops = 2·gmacs``.
    """
    if repeats < 0 or warmup < 0:
        raise ValueError(f"repeats and warmup must be ≥ 0, got {repeats}, {warmup}")
    first = next(model.parameters(), None)
    dev = torch.device(device) if device is not None else (
        first.device if first is not None else torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        x = torch.rand(1, in_ch, *size, device=dev)
        macs = count_macs(model, x)
        times = []
        with torch.inference_mode():
            for i in range(warmup + repeats):
                _sync(dev)
                start = time.perf_counter()
                model(x)
                _sync(dev)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return {"params": count_parameters(model), "macs": macs, "gmacs": macs / 1e9,
            "gflops": 2 * macs / 1e9,
            "seconds": statistics.median(times) if times else float("nan")}


def cost_table(models: Mapping[str, nn.Module], **kwargs: Any):
    """:func:`model_cost` for each named model, as a pandas DataFrame (one row per model).

    Columns: ``params (M)``, ``GMACs``, ``GFLOPs``, ``seconds``; ``kwargs`` go to
    :func:`model_cost` (size, in_ch, repeats, device).
    """
    import pandas as pd

    rows = []
    for name, model in models.items():
        c = model_cost(model, **kwargs)
        rows.append({"model": name, "params": c["params"], "params (M)": c["params"] / 1e6,
                     "GMACs": c["gmacs"], "GFLOPs": c["gflops"], "seconds": c["seconds"]})
    return pd.DataFrame(rows).set_index("model")
