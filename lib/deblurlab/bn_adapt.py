"""BatchNorm statistics adaptation to a new image domain (METHODS §3.6, paper 002 Fig. 8).

A network trained on real TEM bursts meets synthetic images with other intensity statistics.
Wieslander et al. re-estimate only the BatchNorm running mean / variance on the new data before
evaluating: BN layers in train mode, ≈ 20 forward passes without gradients and without an
optimiser step, then eval mode. :func:`adapt_batchnorm` does exactly that and nothing else:

* every other module stays in eval mode during the passes — dropout is off, so the statistics
  are those the eval-mode network will see;
* no parameter changes (γ, β, conv weights untouched); only the buffers ``running_mean``,
  ``running_var`` and ``num_batches_tracked`` of BN layers with ``track_running_stats`` move;
* at the end the whole model is in eval mode and every BN layer has its original momentum.

Update rule: PyTorch's, ``r ← (1 − m)·r + m·batch_stat`` with each layer's own momentum ``m``
(0.1 by default, as in the paper), so after n passes over data with constant statistics the old
value keeps a weight ``(1 − m)^n`` (0.12 for n = 20). ``reset=True`` starts from mean 0 / var 1
and, unless a momentum is given, uses PyTorch's cumulative average (``momentum=None`` on the
layer), so the result is the plain average of the per-batch statistics of the n passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import cycle, islice
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def _input_of(batch: Any) -> Any:
    """A batch as yielded by a loader → the model input (first element of a tuple/list)."""
    if isinstance(batch, (tuple, list)):
        if not batch:
            raise ValueError("adapt_batchnorm: empty batch tuple")
        return batch[0]
    return batch


def adapt_batchnorm(model: nn.Module, batches: Tensor | Iterable[Any], n_passes: int = 20,
                    momentum: float | None = None, reset: bool = False) -> nn.Module:
    """Re-estimate BatchNorm running statistics of ``model`` on ``batches``; return ``model``.

    Args:
        model: any module; its BN layers (``nn.BatchNorm1d/2d/3d``, ``SyncBatchNorm``) with
            ``track_running_stats=True`` are adapted in place.
        batches: one input tensor (used for every pass) or an iterable of inputs (e.g. a list
            or a ``DataLoader``; tuples/lists yield their first element, e.g. ``(blurry,
            sharp)``). An iterable is re-iterated (cycled) if it has fewer than ``n_passes``
            batches. Tensors are moved to the device of the model's first parameter.
        n_passes: number of forward passes (≈ 20 in the paper).
        momentum: ``None`` (default) keeps every layer's own momentum (PyTorch's 0.1) — note:
            *not* PyTorch's meaning of ``None``; a float overrides it during adaptation.
        reset: reset the running statistics first (mean 0, var 1, counter 0); without an
            explicit ``momentum`` the passes are then combined as a cumulative average.

    Returns:
        ``model``, in eval mode.

    Raises:
        ValueError: ``n_passes < 1``, no BN layer that tracks running stats, or no batches.
    """
    if n_passes < 1:
        raise ValueError(f"adapt_batchnorm: n_passes must be ≥ 1, got {n_passes}")
    if momentum is not None and not 0.0 < float(momentum) <= 1.0:
        raise ValueError(f"adapt_batchnorm: momentum must be in (0, 1] or None, got {momentum}")
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bns:
        raise ValueError("adapt_batchnorm: the model has no BatchNorm layer with running stats")

    if isinstance(batches, Tensor):
        stream: Iterable[Any] = [batches] * n_passes
    else:
        stream = islice(cycle(batches), n_passes)   # cycle() stores the first round itself
    param = next(model.parameters(), None)
    device = param.device if param is not None else None

    saved = [m.momentum for m in bns]
    model.eval()
    try:
        for m in bns:
            if reset:
                m.reset_running_stats()
            if momentum is not None:
                m.momentum = float(momentum)
            elif reset:
                m.momentum = None            # PyTorch: cumulative moving average
            m.train()
        done = 0
        with torch.no_grad():
            for batch in stream:
                x = _input_of(batch)
                if isinstance(x, Tensor) and device is not None:
                    x = x.to(device)
                model(x)
                done += 1
        if done == 0:
            raise ValueError("adapt_batchnorm: batches yielded nothing")
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.eval()
    return model


__all__ = ["adapt_batchnorm"]
