"""Where data, weights and outputs live, plus seeding and device choice.

Real data and pretrained weights are *not* part of the repository. They are found through two
environment variables:

``DEBLURLAB_DATA``
    folder holding the data sets, one sub-folder per catalog entry (e.g. ``midnet-sem``).
``DEBLURLAB_WEIGHTS``
    folder holding pretrained weight files named as in the weights registry.

When a variable is unset the notebooks fall back to the embedded synthetic data
(:mod:`deblurlab.phantoms`, :mod:`deblurlab.simulate`) and say so.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

DATA_ENV = "DEBLURLAB_DATA"
WEIGHTS_ENV = "DEBLURLAB_WEIGHTS"
BUILD_ENV = "DEBLURLAB_BUILD"

#: Repository root (``lib/deblurlab/config.py`` → two levels up from ``lib``).
REPO_ROOT = Path(__file__).resolve().parents[2]


def _dir_from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


def data_root() -> Path | None:
    """The real-data root from ``DEBLURLAB_DATA``, or ``None`` when unset or not a folder."""
    return _dir_from_env(DATA_ENV)


def weights_dir() -> Path | None:
    """The weights folder from ``DEBLURLAB_WEIGHTS``, or ``None`` when unset or not a folder."""
    return _dir_from_env(WEIGHTS_ENV)


def data_path(*parts: str) -> Path | None:
    """``DEBLURLAB_DATA/<parts>`` if it exists, else ``None`` (callers then use synthetic data).

    >>> data_path("surely-not-a-dataset") is None
    True
    """
    root = data_root()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None


def require_data(*parts: str) -> Path:
    """Like :func:`data_path` but raise a ``FileNotFoundError`` that says what to set."""
    path = data_path(*parts)
    if path is None:
        rel = "/".join(parts)
        root = data_root()
        where = f"{root}/{rel}" if root else f"$${DATA_ENV}/{rel} ({DATA_ENV} is not set)"
        raise FileNotFoundError(
            f"real data not found: {where}. Point {DATA_ENV} at a folder that holds '{rel}' "
            f"(see data/README.md), or use the synthetic data in deblurlab.phantoms."
        )
    return path


def build_dir(*parts: str) -> Path:
    """Output folder for executed notebooks, figures and tables (created on demand).

    ``DEBLURLAB_BUILD`` overrides the default ``<repo>/build``.
    """
    base = Path(os.environ.get(BUILD_ENV, "") or REPO_ROOT / "build")
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way.

    Repeatable runs need this *and* deterministic data order; :func:`deblurlab.train.fit`
    calls it for you.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def default_device(prefer: str | None = None) -> torch.device:
    """``cuda`` if available, then ``mps``, else ``cpu``; ``prefer`` forces a choice."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
