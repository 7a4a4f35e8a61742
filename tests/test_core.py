"""config, arrays, plotting, classical.fit_gaussian_psf and the notebook runner's CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from deblurlab import config
from deblurlab.arrays import centre_crop, to_grey, to_numpy, to_tensor
from deblurlab.classical import fit_gaussian_psf
from deblurlab.plotting import save_figure, save_table, show_images
from deblurlab.psf import gaussian_psf
from deblurlab.simulate import blur

REPO = Path(__file__).resolve().parents[1]


def test_data_root_unset_or_missing_gives_none(monkeypatch, tmp_path):
    monkeypatch.delenv("DEBLURLAB_DATA", raising=False)
    assert config.data_root() is None and config.data_path("midnet-sem") is None
    monkeypatch.setenv("DEBLURLAB_DATA", str(tmp_path / "nope"))
    assert config.data_root() is None


def test_require_data_names_the_variable_and_path(monkeypatch, tmp_path):
    monkeypatch.setenv("DEBLURLAB_DATA", str(tmp_path))
    (tmp_path / "here").mkdir()
    assert config.require_data("here") == tmp_path / "here"
    with pytest.raises(FileNotFoundError, match="DEBLURLAB_DATA") as err:
        config.require_data("missing-set")
    assert "missing-set" in str(err.value)


def test_seed_everything_repeats_torch_and_numpy():
    config.seed_everything(3)
    a = (torch.rand(3), np.random.rand(3))
    config.seed_everything(3)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_tensor_round_trip_grey_and_rgb():
    grey = np.random.default_rng(0).random((5, 7), dtype=np.float32)
    rgb = np.random.default_rng(1).random((5, 7, 3), dtype=np.float32)
    assert to_tensor(grey).shape == (1, 1, 5, 7)
    assert np.array_equal(to_numpy(to_tensor(grey)), grey)
    assert np.array_equal(to_numpy(to_tensor(rgb)), rgb)
    with pytest.raises(ValueError, match="shape"):
        to_tensor(np.zeros((1, 2, 3, 4)))
    assert np.allclose(to_grey(np.ones((2, 2, 3), np.float32)), 1.0)


def test_centre_crop_is_centred_and_refuses_oversize():
    image = np.arange(36).reshape(6, 6)
    assert centre_crop(image, 2).tolist() == [[14, 15], [20, 21]]
    assert centre_crop(image, None) is image
    with pytest.raises(ValueError, match="larger than the image"):
        centre_crop(image, 7)


def test_figures_and_tables_go_to_the_build_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    fig = show_images({"a": np.zeros((8, 8)), "b": np.ones((8, 8, 3))})
    path = save_figure(fig, "my figure/1")
    assert path.parent == tmp_path / "figures" and path.stat().st_size > 0
    csv = save_table(pd.DataFrame({"psnr": [20.0]}), "t")
    assert csv.exists() and (tmp_path / "tables" / "t.md").read_text().startswith("|")


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_fit_gaussian_psf_recovers_width_gain_and_offset(sigma):
    sharp = np.random.default_rng(0).random((96, 96)).astype(np.float32)
    blurred = 0.8 * blur(sharp, gaussian_psf(sigma)) + 0.05
    psf, info = fit_gaussian_psf(blurred, sharp)
    assert info["sigma_px"] == pytest.approx(sigma)
    assert info["gain"] == pytest.approx(0.8, abs=1e-3) and info["offset"] == pytest.approx(0.05, abs=1e-3)
    assert psf.sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="same shape|one shape"):
        fit_gaussian_psf(blurred[:10], sharp)


def test_runner_rejects_unknown_profile_and_empty_selection():
    cmd = [sys.executable, str(REPO / "scripts" / "run_notebooks.py")]
    bad = subprocess.run(cmd + ["--profile", "huge"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    none = subprocess.run(cmd + ["--profile", "smoke", "--only", "no-such-notebook", "--out",
                                 "/tmp/deblurlab-runner-test"], capture_output=True, text=True)
    assert none.returncode == 2 and "no notebooks matched" in none.stderr


def test_structured_crop_box_finds_the_textured_window_and_refuses_oversize():
    from deblurlab.arrays import structured_crop_box

    image = np.full((64, 96), 0.5, np.float32)
    image[40:64, 64:96] = np.random.default_rng(0).random((24, 32))  # texture in one corner
    ys, xs = structured_crop_box(image, 32)
    assert (ys.stop - ys.start, xs.stop - xs.start) == (32, 32)
    assert ys.start >= 32 and xs.start >= 48  # the window covers the textured corner
    flat = np.zeros((10, 10), np.float32)
    assert structured_crop_box(flat, 4) == (slice(3, 7), slice(3, 7))  # ties → the centre
    with pytest.raises(ValueError, match="larger than the image"):
        structured_crop_box(flat, 11)
