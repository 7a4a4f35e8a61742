#!/usr/bin/env python
"""Train a registry model; runs as ``python scripts/train.py`` or under ``torchrun``.

A thin launcher for :mod:`deblurlab.train_cli` (``--help`` lists the options)::

    torchrun --standalone --nproc_per_node=4 scripts/train.py --model nafnet \\
        --model-args '{"img_channel": 1, "width": 16}' --data /data/midnet-sem --batch-size 16
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import deblurlab  # noqa: F401  (installed, or on PYTHONPATH)
except ImportError:  # a plain checkout: use its lib/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from deblurlab.train_cli import main

if __name__ == "__main__":
    sys.exit(main())
