"""Shared fixtures.

Real data and weights come from ``DEBLURLAB_DATA`` / ``DEBLURLAB_WEIGHTS``. When they are unset
and a ``../shared`` folder sits beside the repository (the CI layout), the tests point the
variables there. A test that needs a real file it cannot find skips and names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
_SHARED = REPO.parent / "shared"

if not os.environ.get("DEBLURLAB_DATA") and (_SHARED / "data").is_dir():
    os.environ["DEBLURLAB_DATA"] = str(_SHARED / "data")
if not os.environ.get("DEBLURLAB_WEIGHTS") and (_SHARED / "weights").is_dir():
    os.environ["DEBLURLAB_WEIGHTS"] = str(_SHARED / "weights")
# Matplotlib must never try to open a window during tests.
os.environ.setdefault("MPLBACKEND", "Agg")


def _need(env: str, rel: str) -> Path:
    root = os.environ.get(env, "")
    path = Path(root) / rel if root else None
    if path is None or not path.exists():
        where = f"{root}/{rel}" if root else f"${env}/{rel} ({env} unset)"
        pytest.skip(f"needs the real file {where}")
    return path


@pytest.fixture
def real_data():
    """``real_data("midnet-sem/blur/1-1_s001.png")`` → path, or skip naming the missing file."""
    return lambda rel: _need("DEBLURLAB_DATA", rel)


@pytest.fixture
def real_weights():
    """``real_weights("vgg19-imagenet-conv1_1-conv3_4.pth")`` → path, or skip naming it."""
    return lambda rel: _need("DEBLURLAB_WEIGHTS", rel)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread per test: the tests' tensors are tiny, and on a 2-core machine with
    anything else running, two OpenMP threads make small convolutions ~100× slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler for the test's duration.

    A process started in the background by a non-interactive shell (``cmd &``, nohup) inherits
    SIGINT as *ignored*, and Python then installs no handler: a test that sends itself SIGINT
    to check how training defers it would see nothing happen. Interactive runs and CI have the
    default handler; this makes the test independent of how pytest was launched.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


# Put before every peak-memory script: ``start_peak()`` resets the kernel's high-water mark to the
# current RSS (``clear_refs`` 5) and returns that RSS; ``peak_increase(start)`` prints what the
# process reached above it since, in KiB.
_PEAK_PRELUDE = r"""
import torch

def _kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

def start_peak():
    before = _kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return before

def peak_increase(start):
    print(_kib("VmHWM") - start)

torch.set_num_threads(1)
torch.manual_seed(0)
"""


def _peak_rss_increase_mib(script: str, *args: str, env: dict[str, str] | None = None) -> float:
    """Run ``python -c script *args`` in a fresh interpreter (``lib/`` importable, ``env`` added,
    one torch thread, seed 0) and return the last number it prints, in KiB, as MiB. The script
    brackets the call it measures with ``start = start_peak()`` and ``peak_increase(start)``
    (defined for it). Skips where ``/proc`` cannot reset the peak."""
    import subprocess
    import sys

    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak RSS")
    lib = str(REPO / "lib")
    full_env = dict(os.environ, PYTHONPATH=lib + os.pathsep + os.environ.get("PYTHONPATH", ""),
                    **(env or {}))
    proc = subprocess.run([sys.executable, "-c", _PEAK_PRELUDE + script, *args],
                          capture_output=True, text=True, env=full_env, timeout=300)
    if proc.returncode != 0 and "clear_refs" in proc.stderr:
        pytest.skip(f"cannot reset the peak RSS here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024


@pytest.fixture
def peak_rss_increase():
    """``peak_rss_increase(script, *args, env=None)`` → MiB (see ``_peak_rss_increase_mib``)."""
    return _peak_rss_increase_mib
