"""deblurlab.perceptual: LPIPS, DISTS, the VGG19-feature distance and the artifact measure.

The torchvision VGG16 backbone of LPIPS/DISTS (``vgg16-397923af.pth``) is not available offline.
Tests whose names contain ``standin`` therefore load a shape-correct **random stand-in** VGG16
state dict written to a temporary folder (file ``vgg16-standin-random.pth``) together with the
*real* LPIPS heads / DISTS α-β files: they exercise the loading and scoring code, not the
pretrained backbone. Where ``torchmetrics`` is installed, the stand-in scores are also compared
with torchmetrics' independent LPIPS/DISTS ports fed the same stand-in backbone. Tests of the
real backbone skip with "needs vgg16-397923af.pth (not available offline)".
"""

from __future__ import annotations

import dataclasses
import doctest
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import deblurlab.perceptual as perceptual_module
from deblurlab import weights as W
from deblurlab.fetch import sha256sum
from deblurlab.perceptual import DISTS, LPIPS, VGGFeatureDistance, artifact_measure
from deblurlab.phantoms import make_phantom
from deblurlab.psf import gaussian_psf
from deblurlab.simulate import blur
from deblurlab.spectra import excess_db

VGG19_FILE = "vgg19-imagenet-conv1_1-conv3_4.pth"
VGG16_FILE = "vgg16-397923af.pth"
LPIPS_FILE = "lpips-v0.1-vgg-lin.pth"
DISTS_FILE = "dists-alpha-beta.pt"
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M")


# ----------------------------------------------------------------------------- helpers/fixtures


def _img(kind="grains", seed=0, size=64, sigma=0.0, rgb=False):
    x = make_phantom(kind, size, seed=seed)
    if sigma > 0:
        x = blur(x, gaussian_psf(sigma))
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]
    return t.repeat(1, 3, 1, 1) if rgb else t


def _blur_series(sigmas=(0.6, 1.2, 2.5), kind="grains"):
    ref = _img(kind)
    return ref, [_img(kind, sigma=s) for s in sigmas]


def _torchvision_like_vgg16(sd):
    """A torchvision-layout ``vgg16().features`` (in-place ReLUs) holding ``sd``'s weights."""
    layers, cin = [], 3
    for v in _VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    seq = nn.Sequential(*layers)
    seq.load_state_dict({k[len("features."):]: v for k, v in sd.items()
                         if k.startswith("features.")})
    return seq.eval()



@pytest.fixture(scope="module")
def vgg16_standin(tmp_path_factory):
    """Random, shape-correct stand-in for vgg16-397923af.pth (He-initialised, seeded)."""
    g = torch.Generator().manual_seed(1234)
    sd, cin, idx = {}, 3, 0
    for v in _VGG16_CFG:
        if v == "M":
            idx += 1
            continue
        std = (2.0 / (cin * 9)) ** 0.5
        sd[f"features.{idx}.weight"] = torch.randn(v, cin, 3, 3, generator=g) * std
        sd[f"features.{idx}.bias"] = torch.randn(v, generator=g) * 0.01
        cin, idx = v, idx + 2
    sd["classifier.0.weight"] = torch.zeros(4, 4)  # a full torchvision file has these too
    folder = tmp_path_factory.mktemp("standin")
    path = folder / "vgg16-standin-random.pth"
    torch.save(sd, path)
    entry = dataclasses.replace(W.entry("vgg16-torchvision"), name="vgg16-standin-random",
                                filename=path.name, url=None, sha256=sha256sum(path),
                                sha256_prefix=None, notes="random stand-in for tests")
    return path, entry, sd


@pytest.fixture
def standin_dir(vgg16_standin, real_weights, tmp_path, monkeypatch):
    """DEBLURLAB_WEIGHTS = a folder with the stand-in VGG16 and the *real* LPIPS/DISTS heads."""
    path, entry, sd = vgg16_standin
    for name in (LPIPS_FILE, DISTS_FILE):
        shutil.copy(real_weights(name), tmp_path / name)
    (tmp_path / path.name).symlink_to(path)
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(W.ALLOW_DOWNLOAD_ENV, raising=False)
    return entry, sd


@pytest.fixture
def real_vgg16(real_weights):
    try:
        real_weights(VGG16_FILE)
    except pytest.skip.Exception:
        pytest.skip(f"needs {VGG16_FILE} (not available offline)")
    for name in (LPIPS_FILE, DISTS_FILE):
        real_weights(name)


# ----------------------------------------------------------------------------- VGG19 distance


def test_vgg_feature_distance_real(real_weights):
    real_weights(VGG19_FILE)
    d = VGGFeatureDistance()
    assert "not LPIPS" in d.name
    ref, blurred = _blur_series()
    assert d(ref, ref).tolist() == [0.0]
    scores = [d(ref, b).item() for b in blurred]
    assert 0 < scores[0] < scores[1] < scores[2] <= 4
    batch = d(torch.cat([ref, ref]), torch.cat(blurred[:2]))
    assert batch.shape == (2,) and torch.allclose(batch, torch.tensor(scores[:2]), rtol=1e-5)
    # grey is scored as its replicated RGB image; no gradients are tracked
    rgb = d(ref.repeat(1, 3, 1, 1), blurred[0].repeat(1, 3, 1, 1))
    assert torch.allclose(d(ref, blurred[0]), rgb)
    assert not d(ref, blurred[0]).requires_grad


def test_vgg_feature_distance_definition_random_weights():
    d = VGGFeatureDistance(layers=("conv_1_2", "conv_2_2"), weights="random-for-tests")
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    fx, fy = d.vgg(x), d.vgg(y)

    def unit(f):
        return f / (f.norm(dim=1, keepdim=True) + 1e-10)

    manual = sum(((unit(fx[k]) - unit(fy[k])) ** 2).sum(1).mean((1, 2)) for k in fx) / 2
    assert torch.allclose(d(x, y), manual, rtol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        d(x, y[:, :, :8])


# ----------------------------------------------------------------------------- LPIPS


def test_lpips_real_heads_keys_and_shapes(real_weights):
    sd = torch.load(real_weights(LPIPS_FILE), weights_only=True, map_location="cpu")
    assert {k: tuple(v.shape) for k, v in sd.items()} == {
        "lin0.model.1.weight": (1, 64, 1, 1), "lin1.model.1.weight": (1, 128, 1, 1),
        "lin2.model.1.weight": (1, 256, 1, 1), "lin3.model.1.weight": (1, 512, 1, 1),
        "lin4.model.1.weight": (1, 512, 1, 1)}
    assert all((v >= 0).all() for v in sd.values())  # LPIPS heads are clamped non-negative


def test_lpips_standin_runs_and_grows_with_blur(standin_dir):
    entry, _ = standin_dir
    metric = LPIPS(backbone=entry)
    ref, blurred = _blur_series()
    same = metric(torch.cat([ref, ref]), torch.cat([ref, ref]))
    assert same.shape == (2,) and same.abs().max() < 1e-6
    scores = [metric(ref, b).item() for b in blurred]
    assert 0 < scores[0] < scores[1] < scores[2]
    parent = nn.Sequential(metric)
    parent.train()
    assert not metric.training and not metric.vgg.training


def test_lpips_standin_matches_torchmetrics_port(standin_dir, monkeypatch):
    tm_lpips = pytest.importorskip("torchmetrics.functional.image.lpips")
    entry, sd = standin_dir
    monkeypatch.setattr(tm_lpips, "_get_tv_model_features",
                        lambda net, pretrained=False: _torchvision_like_vgg16(sd))
    reference = tm_lpips._LPIPS(pretrained=True, net="vgg").eval()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 48, 48, generator=g), torch.rand(2, 3, 48, 48, generator=g)
    ours = LPIPS(backbone=entry)(x, y)
    with torch.no_grad():
        theirs = reference(x, y, normalize=True).flatten()
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_lpips_missing_backbone_is_an_error_never_random(real_weights, tmp_path, monkeypatch):
    shutil.copy(real_weights(LPIPS_FILE), tmp_path / LPIPS_FILE)
    shutil.copy(real_weights(DISTS_FILE), tmp_path / DISTS_FILE)
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(W.ALLOW_DOWNLOAD_ENV, raising=False)
    with pytest.raises(W.WeightsNotFoundError, match=VGG16_FILE):
        LPIPS()
    with pytest.raises(W.WeightsNotFoundError, match=VGG16_FILE):
        DISTS()
    with pytest.raises(ValueError, match="only the VGG16"):
        LPIPS(net="alex")


# ----------------------------------------------------------------------------- DISTS


def test_dists_standin_runs_and_grows_with_blur(standin_dir):
    entry, _ = standin_dir
    metric = DISTS(backbone=entry)
    assert torch.isclose(metric.alpha.sum() + metric.beta.sum(), torch.tensor(1.0))
    assert metric.alpha.numel() == 1475
    ref, blurred = _blur_series()
    same = metric(torch.cat([ref, ref]), torch.cat([ref, ref]))
    assert same.shape == (2,) and same.abs().max() < 1e-5
    scores = [metric(ref, b).item() for b in blurred]
    assert 0 < scores[0] < scores[1] < scores[2] < 1
    assert metric(ref, blurred[0]).shape == (1,)


def test_dists_standin_matches_torchmetrics_port(standin_dir, monkeypatch):
    tm_dists = pytest.importorskip("torchmetrics.functional.image.dists")
    entry, sd = standin_dir
    monkeypatch.setattr(tm_dists, "_TORCHVISION_AVAILABLE", True)
    monkeypatch.setattr(tm_dists, "vgg16",
                        lambda weights=None: SimpleNamespace(features=_torchvision_like_vgg16(sd)),
                        raising=False)
    monkeypatch.setattr(tm_dists, "VGG16_Weights", SimpleNamespace(DEFAULT=None), raising=False)
    reference = tm_dists.DISTSNetwork(load_weights=True).eval()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    ours = DISTS(backbone=entry)(x, y)
    theirs = reference(x, y).flatten()
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- real backbone


def test_lpips_real_backbone(real_vgg16):
    metric = LPIPS()
    ref, blurred = _blur_series()
    scores = [metric(ref, b).item() for b in blurred]
    assert metric(ref, ref).abs().item() < 1e-6
    assert 0 < scores[0] < scores[1] < scores[2] < 1.5


def test_dists_real_backbone(real_vgg16):
    metric = DISTS()
    ref, blurred = _blur_series()
    scores = [metric(ref, b).item() for b in blurred]
    assert metric(ref, ref).abs().item() < 1e-5
    assert 0 < scores[0] < scores[1] < scores[2] < 1


# ----------------------------------------------------------------------------- artifact measure


def _period4(size=32, n=2, amp=0.2, seed=0):
    ref = np.random.default_rng(seed).random((n, size, size))
    pattern = amp * np.cos(np.pi / 2 * np.arange(size))[None, None, :]  # period 4 along x
    return ref + pattern, ref


def test_artifact_measure_detects_period4_and_reuses_excess_db():
    out, ref = _period4()
    df = artifact_measure(out, ref)
    assert isinstance(df, pd.DataFrame) and len(df) == 2 and df.index.name == "image"
    assert list(df.columns) == ["excess_db", "horizontal_db", "vertical_db", "horizontal_neg",
                                "horizontal_pos", "vertical_neg", "vertical_pos"]
    assert (df["horizontal_db"] > 3).all() and np.allclose(df["vertical_db"], 0, atol=1e-9)
    ex = excess_db(out[1], ref[1])
    assert np.isclose(df.loc[1, "excess_db"], ex.db)
    assert np.isclose(df.loc[1, "horizontal_pos"], ex.sides["horizontal_pos"])
    assert np.isclose(df.attrs["mean_excess_db"], df["excess_db"].mean())
    assert df.attrs["psd_excess_db"] > 1 and df.attrs["f"] == 0.25
    same = artifact_measure(ref, ref)
    assert np.allclose(same[["excess_db", "horizontal_db", "vertical_db"]], 0)


def test_artifact_measure_torch_numpy_and_lists_agree():
    out, ref = _period4(n=3)
    df_np = artifact_measure(out, ref)
    t_out = torch.from_numpy(out)[:, None].float()
    t_ref = torch.from_numpy(ref)[:, None].float()
    df_t = artifact_measure(t_out.requires_grad_(True), t_ref)
    assert np.allclose(df_np.to_numpy(), df_t.to_numpy(), atol=1e-3)
    df_rgb = artifact_measure(t_out.repeat(1, 3, 1, 1), t_ref.repeat(1, 3, 1, 1))
    assert np.allclose(df_rgb["horizontal_db"], df_t["horizontal_db"], atol=1e-3)
    df_list = artifact_measure([out[0], out[1][:28, :28]], [ref[0], ref[1][:28, :28]])
    assert len(df_list) == 2 and np.isfinite(df_list.attrs["psd_excess_db"])
    with pytest.raises(ValueError, match="images"):
        artifact_measure(out, ref[:2])


def test_doctests():
    assert doctest.testmod(perceptual_module).failed == 0
