"""Multi-process training with PyTorch's own engine: ``torchrun`` + DistributedDataParallel.

``torchrun`` starts one process per GPU (or several CPU processes) and tells each who it is
through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``). :func:`init_from_env` reads them and initialises ``torch.distributed``; after
that, :func:`deblurlab.train.fit` notices the process group and trains data-parallel on its own
(see the "Distributed training" part of its module doc). Without those variables everything
here is a no-op, so one script runs unchanged with ``python`` and with ``torchrun``::

    from deblurlab import distributed
    ctx = distributed.init_from_env()     # rank 0 of 1 when not started by torchrun
    history = fit(model, data, ..., device=ctx.device)
    distributed.cleanup()

Backend: NCCL when CUDA is available (one GPU per process, ``cuda:LOCAL_RANK``), gloo on CPU.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["DistContext", "barrier", "broadcast_object", "cleanup", "context", "init_from_env",
           "is_distributed", "is_main_process", "rank", "world_size"]

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: ``rank`` of ``world_size`` processes, ``local_rank`` on its node,
    the ``device`` it trains on and the ``backend`` (``None`` when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes checkpoints and logs."""
        return self.rank == 0


def _env_int(name: str) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer; "
                         f"start the script with torchrun (which sets {', '.join(_ENV)})") from None


def init_from_env(backend: str | None = None, device: str | None = None,
                  timeout_s: float = 1800) -> DistContext:
    """Initialise ``torch.distributed`` from torchrun's environment variables.

    Args:
        backend: ``"nccl"`` or ``"gloo"``; default NCCL when CUDA is available, else gloo.
        device: ``"cpu"`` forces CPU training (gloo) on a GPU machine; default
            ``cuda:LOCAL_RANK`` when CUDA is available, else ``cpu``.
        timeout_s: how long a collective waits for the other ranks before failing.

    Returns:
        The :class:`DistContext`. Without ``WORLD_SIZE`` in the environment (a plain
        ``python script.py``) nothing is initialised and rank 0 of 1 on the default device is
        returned. Calling it again after initialisation returns the same context.

    Raises:
        ValueError: malformed variables, or NCCL asked for without CUDA.
    """
    if device is not None and device not in ("cpu", "cuda"):
        raise ValueError(f"device must be None, 'cpu' or 'cuda', got {device!r}")
    use_cuda = torch.cuda.is_available() if device is None else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available")
    if "WORLD_SIZE" not in os.environ:
        dev = torch.device("cuda" if use_cuda else "cpu")
        return DistContext(device=dev)
    rank_, world, local = (_env_int(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if not (world >= 1 and 0 <= rank_ < world and local >= 0):
        raise ValueError(f"inconsistent torchrun variables RANK={rank_}, WORLD_SIZE={world}, "
                         f"LOCAL_RANK={local}")
    backend = backend or ("nccl" if use_cuda else "gloo")
    if backend == "nccl" and not use_cuda:
        raise ValueError("backend='nccl' needs CUDA; use backend='gloo' for CPU processes")
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK={local} but this node has {torch.cuda.device_count()} "
                             f"GPUs; start at most that many processes per node "
                             f"(--nproc_per_node)")
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)  # NCCL collectives and pinned memory go to this GPU
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank_, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s),
                                **({"device_id": dev} if dev.type == "cuda" else {}))
    return DistContext(rank=rank_, world_size=world, local_rank=local, device=dev,
                       backend=dist.get_backend())


def context() -> DistContext:
    """The :class:`DistContext` of an already initialised process group (rank 0 of 1 if none)."""
    if not is_distributed():
        return DistContext()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = dist.get_backend()
    dev = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" \
        else torch.device("cpu")
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local,
                       device=dev, backend=backend)


def is_distributed() -> bool:
    """True when ``torch.distributed`` is available and a process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0 (and in a plain single process)."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank gets here (no-op when not distributed)."""
    if not is_distributed():
        return
    if dist.get_backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` from rank ``src`` on every rank (pickled; for small things such as a checkpoint
    dict or a row of scores). Identity when not distributed."""
    if not is_distributed():
        return obj
    box = [obj if rank() == src else None]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def cleanup() -> None:
    """Destroy the process group if one is initialised (call at the end of a script)."""
    if is_distributed():
        dist.destroy_process_group()
