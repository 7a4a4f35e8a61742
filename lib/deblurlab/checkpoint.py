"""Saving and loading weights and training checkpoints safely.

* Files are written atomically (temporary file in the same folder, then ``os.replace``), so an
  interrupted save never leaves a truncated ``last.pt`` behind.
* Files are read with ``torch.load(weights_only=True)``: they may hold only tensors and plain
  containers of numbers and strings, never pickled objects. RNG states are therefore stored as
  tensors and lists (:func:`capture_rng_state`).
* A state dict that does not fit the model raises :class:`CheckpointMismatchError` naming the
  missing, unexpected and mis-shaped entries; nothing is ever silently left at random weights.
* A damaged file (truncated, emptied, a flipped byte) or weights holding NaN/inf raise
  :class:`DamagedCheckpointError` naming the file. ``torch.save`` writes a zip archive whose
  CRCs ``torch.load`` never checks, so :func:`load_file` checks them itself.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

#: Marker stored in checkpoints written by :func:`deblurlab.train.fit`.
CHECKPOINT_FORMAT = "deblurlab.fit/1"


class CheckpointMismatchError(ValueError):
    """A checkpoint or weight file does not match the model (or the run) it is loaded into."""


class DamagedCheckpointError(CheckpointMismatchError):
    """A checkpoint or weight file is damaged (truncated, corrupted) or holds NaN/inf weights."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj, path)`` via a temporary file and ``os.replace`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_file(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with clear errors for missing, damaged or unsafe
    files: the one place where checkpoints and weight files are read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight/checkpoint file not found: {path}")
    is_zip = zipfile.is_zipfile(path)  # what torch.save writes; False when cut short
    if is_zip:
        damage = _zip_damage(path)
        if damage is not None:
            raise DamagedCheckpointError(_damaged_message(path, damage))
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if not is_zip:  # garbage fails in the unpickler too; an intact archive cannot
            raise DamagedCheckpointError(_damaged_message(path, _not_zip(exc))) from exc
        raise CheckpointMismatchError(
            f"{path} holds objects that weights_only loading refuses (only tensors and plain "
            f"containers are allowed): {exc}") from exc
    except PermissionError:
        raise
    except Exception as exc:
        # An intact archive failing (e.g. CUDA tensors without CUDA) is not damage: keep the error.
        if is_zip:
            raise
        raise DamagedCheckpointError(_damaged_message(path, _not_zip(exc))) from exc


def _zip_damage(path: Path) -> str | None:
    """Why the zip archive ``path`` is damaged (a member's CRC, a broken header), else ``None``."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        return _describe(exc)
    return None if bad is None else f"CRC check failed for {bad}"


def _describe(exc: BaseException) -> str:
    """Exception type and the first sentence of its message (torch's run to paragraphs)."""
    lines = str(exc).strip().splitlines()
    first = lines[0].split(". ")[0][:120] if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _not_zip(exc: BaseException) -> str:
    return f"not a complete zip archive as torch.save writes; torch.load: {_describe(exc)}"


def _damaged_message(path: Path, detail: str) -> str:
    return (f"{path} is damaged or truncated and cannot be loaded ({detail}). Delete it and "
            f"start afresh (fit: resume=False), or load an earlier copy if one is kept")


def resume_path(resume: bool | str | Path | None, last: Path | None) -> Path | None:
    """The checkpoint a run resumes from: ``last`` when ``resume is True`` and it exists, the
    file ``resume`` names (which must exist), or ``None`` (``False``/``None``: start fresh)."""
    if resume is True:
        return last if last is not None and last.exists() else None
    if resume in (False, None):
        return None
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint not found: {path}")
    return path


def check_state_dict(model: nn.Module, state: Mapping[str, Any],
                     source: str = "state dict") -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` has the model's keys and shapes."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    # torch's own load_state_dict fails on these with an unhelpful message
    not_tensors = [f"{k} ({type(state[k]).__name__})" for k in own
                   if k in state and not isinstance(state[k], torch.Tensor)]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}" for k, v in own.items()
              if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != v.shape]
    if missing or unexpected or not_tensors or shapes:
        parts = []
        for label, items in (("missing keys", missing), ("unexpected keys", unexpected),
                             ("values that are not tensors", not_tensors),
                             ("shape mismatches", shapes)):
            if items:
                more = f" … (+{len(items) - 8} more)" if len(items) > 8 else ""
                parts.append(f"{label}: {', '.join(items[:8])}{more}")
        raise CheckpointMismatchError(
            f"{source} does not match {type(model).__name__}: " + "; ".join(parts))


def nonfinite_parameters(model: nn.Module, state: Mapping[str, Any] | None = None) -> list[str]:
    """Names of ``model``'s parameters holding NaN or ±inf, in ``state`` when given, else in the
    model. Buffers are not checked: some (attention masks) hold ±inf by design."""
    source = dict(model.named_parameters()) if state is None else state
    tensors = {name: source[name] for name, _ in model.named_parameters()
               if isinstance(source.get(name), torch.Tensor) and source[name].is_floating_point()}
    if not tensors:
        return []
    # One host sync for all tensors rather than one each (they share a device).
    device = next(iter(tensors.values())).device
    finite = torch.stack([torch.isfinite(t).all().to(device) for t in tensors.values()]).tolist()
    return [name for name, ok in zip(tensors, finite) if not ok]


def check_finite_state(model: nn.Module, state: Mapping[str, Any], source: str) -> None:
    """Raise :class:`DamagedCheckpointError` if ``state`` holds NaN/inf in a parameter of ``model``
    (a checkpoint saved after training diverged would otherwise load silently)."""
    bad = nonfinite_parameters(model, state)
    if bad:
        more = f" … (+{len(bad) - 8} more)" if len(bad) > 8 else ""
        raise DamagedCheckpointError(
            f"{source} holds NaN/inf weights in {', '.join(bad[:8])}{more}: it was saved after "
            f"training diverged. Use an earlier checkpoint, or start afresh (fit: resume=False)")


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Atomically save ``model.state_dict()`` to ``path``; returns the path."""
    return atomic_save(model.state_dict(), path)


def load_weights(model: nn.Module, path: str | Path,
                 map_location: str | torch.device = "cpu") -> nn.Module:
    """Load weights saved by :func:`save_weights` (or a :func:`deblurlab.train.fit` checkpoint).

    Raises ``FileNotFoundError`` for a missing file, :class:`CheckpointMismatchError` when
    keys or shapes differ and :class:`DamagedCheckpointError` for a damaged file or NaN/inf
    weights. Returns the model.
    """
    state = load_file(path, map_location)
    if isinstance(state, Mapping) and state.get("format") == CHECKPOINT_FORMAT:
        state = state["model"]
    if not isinstance(state, Mapping):
        raise CheckpointMismatchError(
            f"{path} does not hold a state dict (got {type(state).__name__})")
    check_state_dict(model, state, str(path))
    check_finite_state(model, state, str(path))
    model.load_state_dict(state)
    return model


def capture_rng_state(cuda: bool = False) -> dict[str, Any]:
    """Python, NumPy and torch (and optionally CUDA) global RNG states as tensors and lists."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
    }
    if cuda and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
