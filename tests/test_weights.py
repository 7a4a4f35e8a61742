"""deblurlab.weights: real reference weights, and the lookup/verification paths with stand-ins.

Tests whose names contain ``standin`` use small shape-correct or random files made here in place
of weights that cannot be had offline (torchvision VGG16/VGG19); they exercise the lookup and
checksum code, not the weights themselves.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deblurlab import weights as W
from deblurlab.fetch import ChecksumError, serve_folder, sha256sum

VGG19_SUBSET = "vgg19-imagenet-conv1_1-conv3_4"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty DEBLURLAB_WEIGHTS and TORCH_HOME, downloads off unless a test allows them."""
    wdir, home = tmp_path / "weights", tmp_path / "torch-home"
    wdir.mkdir()
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(wdir))
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv(W.ALLOW_DOWNLOAD_ENV, raising=False)
    monkeypatch.setattr(W, "_VERIFIED", set())
    assert W.hub_checkpoints_dir() == home / "hub" / "checkpoints"
    return wdir, home / "hub" / "checkpoints"


def _standin_entry(tmp_path, name="standin-net", **changes):
    """A small state dict saved to ``tmp_path/<name>.pt`` and a registry-style entry for it."""
    path = tmp_path / f"{name}.pt"
    torch.save({"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.zeros(4)}, path)
    e = W.WeightsEntry(name=name, filename=path.name, url=None, sha256=sha256sum(path),
                       licence="test", preprocessing={"input": "RGB"}, notes="stand-in")
    return path, dataclasses.replace(e, **changes)


# ----------------------------------------------------------------------------- registry


def test_registry_contents():
    names = [e.name for e in W.list_weights()]
    assert names == [VGG19_SUBSET, "lpips-v0.1-vgg-lin", "dists-alpha-beta",
                     "vgg19-torchvision", "vgg16-torchvision", "nafnet-gopro-width32",
                     "hinet-gopro", "restormer-motion-deblurring"]
    assert W.entry(VGG19_SUBSET).sha256.startswith("fe24aa2b")
    assert W.entry(VGG19_SUBSET).preprocessing == {
        "input": "RGB", "scale": 255.0, "offset": 0.0, "mean": [123.68, 116.779, 103.939],
        "std": None}
    vgg16 = W.entry("vgg16-torchvision")
    assert vgg16.url == "https://download.pytorch.org/models/vgg16-397923af.pth"
    assert vgg16.sha256 is None and vgg16.sha256_prefix == "397923af"
    assert W.entry("vgg19-torchvision").url.endswith("/vgg19-dcbb9e9d.pth")
    for e in W.list_weights():  # every entry either downloads or says why it cannot
        assert e.url or "url" in e.notes.lower() or "no direct" in e.notes.lower(), e.name
        # no published checksum is said so, and such a file is never downloaded by deblurlab
        assert e.sha256 or e.sha256_prefix or "checksum" in e.notes, e.name
    for name in ("nafnet-gopro-width32", "hinet-gopro", "restormer-motion-deblurring"):
        assert W.entry(name).state_dict_key == "params"  # BasicSR checkpoints


def test_unknown_name_lists_valid_names():
    with pytest.raises(W.UnknownWeightsError, match=r"'vgg99'.*valid names: vgg19-imagenet"):
        W.locate("vgg99")


def test_preprocessing_lpips_maps_to_its_scaling_layer():
    x = torch.rand(2, 3, 4, 5)
    out = W.entry("lpips-v0.1-vgg-lin").preprocess(x)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    torch.testing.assert_close(out, (x * 2 - 1 - shift) / scale)
    with pytest.raises(ValueError, match=r"RGB batch \(N, 3, H, W\)"):
        W.entry("vgg16-torchvision").preprocess(torch.rand(1, 1, 4, 4))


# ----------------------------------------------------------------------------- real weights


@pytest.mark.realdata
def test_real_vgg19_subset_verifies_and_has_features_0_to_16(real_weights):
    path = real_weights(f"{VGG19_SUBSET}.pth")
    assert W.locate(VGG19_SUBSET) == path
    sd = W.load_state_dict(VGG19_SUBSET)
    channels = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                (256, 256)]
    indices = [0, 2, 5, 7, 10, 12, 14, 16]
    assert sorted(sd) == sorted(f"features.{i}.{p}" for i in indices for p in ("weight", "bias"))
    for i, (cin, cout) in zip(indices, channels):
        assert sd[f"features.{i}.weight"].shape == (cout, cin, 3, 3)
        assert sd[f"features.{i}.bias"].shape == (cout,)
        assert sd[f"features.{i}.weight"].dtype == torch.float32
    assert sd["features.0.weight"].abs().sum() > 0  # real numbers, not an empty template


@pytest.mark.realdata
def test_real_lpips_and_dists_heads(real_weights):
    real_weights("lpips-v0.1-vgg-lin.pth")
    real_weights("dists-alpha-beta.pt")
    lpips = W.load_state_dict("lpips-v0.1-vgg-lin")
    assert {k: tuple(v.shape) for k, v in lpips.items()} == {
        f"lin{i}.model.1.weight": (1, c, 1, 1) for i, c in enumerate([64, 128, 256, 512, 512])}
    dists = W.load_state_dict("dists-alpha-beta")
    assert {k: tuple(v.shape) for k, v in dists.items()} == {
        "alpha": (1, 1475, 1, 1), "beta": (1, 1475, 1, 1)}


# ----------------------------------------------------------------------------- lookup paths


def test_missing_file_error_names_file_folders_and_fix(isolated):
    wdir, hub = isolated
    with pytest.raises(W.WeightsNotFoundError) as info:
        W.load_state_dict("vgg16-torchvision", allow_download=False)
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for part in ("'vgg16-397923af.pth'", str(wdir), str(hub), "Put the file in either folder",
                 "https://download.pytorch.org/models/vgg16-397923af.pth", "allow_download=True",
                 "No random weights"):
        assert part in msg, part


def test_missing_file_without_url_explains_why(isolated, monkeypatch):
    monkeypatch.delenv("DEBLURLAB_WEIGHTS")
    with pytest.raises(W.WeightsNotFoundError, match=r"DEBLURLAB_WEIGHTS \(unset\).*No direct "
                                                     r"download URL exists: .*dists-pytorch"):
        W.locate("dists-alpha-beta", allow_download=True)


def test_standin_with_wrong_checksum_is_refused(isolated):
    wdir, _ = isolated
    torch.save({"lin0.model.1.weight": torch.randn(1, 64, 1, 1)}, wdir / "lpips-v0.1-vgg-lin.pth")
    with pytest.raises(ChecksumError, match=r"lpips-v0.1-vgg-lin.pth'.*expected a78928a0.*got "
                                            r"[0-9a-f]{64}.*need the official file"):
        W.load_state_dict("lpips-v0.1-vgg-lin")


def test_standin_in_hub_cache_fails_torchvision_prefix_check(isolated):
    _, hub = isolated
    hub.mkdir(parents=True)
    torch.save({"features.0.weight": torch.randn(64, 3, 3, 3)}, hub / "vgg16-397923af.pth")
    with pytest.raises(ChecksumError, match="prefix mismatch, expected 397923af"):
        W.locate("vgg16-torchvision")


def test_standin_found_in_hub_cache_with_temp_torch_home(isolated, tmp_path):
    _, hub = isolated
    path, e = _standin_entry(tmp_path)
    hub.mkdir(parents=True)
    path.rename(hub / e.filename)
    assert W.locate(e) == hub / e.filename
    sd = W.load_state_dict(dataclasses.replace(e, sha256=None, sha256_prefix=e.sha256[:8]))
    assert sd["conv.weight"].shape == (4, 3, 3, 3)


def test_standin_weights_dir_wins_over_hub_cache(isolated, tmp_path):
    wdir, hub = isolated
    path, e = _standin_entry(tmp_path)
    hub.mkdir(parents=True)
    (hub / e.filename).write_bytes(b"would fail verification")
    path.rename(wdir / e.filename)
    assert W.locate(e) == wdir / e.filename


def test_standin_download_into_hub_cache(isolated, tmp_path, monkeypatch):
    _, hub = isolated
    path, e = _standin_entry(tmp_path)
    with serve_folder(tmp_path, max_seconds=30) as base:
        e = dataclasses.replace(e, url=f"{base}/{path.name}")
        with pytest.raises(W.WeightsNotFoundError, match="allow_download=True"):
            W.locate(e)  # downloads are off by default
        monkeypatch.setenv(W.ALLOW_DOWNLOAD_ENV, "1")
        got = W.locate(e, progress=False)
        assert got == hub / e.filename and sha256sum(got) == e.sha256
        bad = dataclasses.replace(e, filename="other.pt", sha256="1" * 64)
        with pytest.raises(ChecksumError, match="expected 1111"):
            W.locate(bad, progress=False)
        assert not (hub / "other.pt").exists()


def test_standin_download_failure_is_reported(isolated, tmp_path):
    _, e = _standin_entry(tmp_path)
    e = dataclasses.replace(e, url="http://127.0.0.1:9/standin-net.pt")
    with pytest.raises(W.WeightsNotFoundError, match="Download failed: cannot download http://127"):
        W.locate(e, allow_download=True, progress=False)


def test_standin_that_is_not_a_state_dict(isolated, tmp_path):
    wdir, _ = isolated
    (wdir / "junk.pt").write_bytes(b"not a torch file")
    e = W.WeightsEntry("junk", "junk.pt", None, sha256sum(wdir / "junk.pt"), "test", {}, "stand-in")
    with pytest.raises(ValueError, match="junk.pt' as a torch state dict"):
        W.load_state_dict(e)
    torch.save([torch.zeros(1)], wdir / "list.pt")
    e = dataclasses.replace(e, filename="list.pt", sha256=sha256sum(wdir / "list.pt"))
    with pytest.raises(ValueError, match="list.pt' is not a state dict"):
        W.load_state_dict(e)


def test_entry_without_checksum_is_never_downloaded(isolated, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("download attempted without a checksum")

    monkeypatch.setattr(W, "download", no_download)
    with pytest.raises(W.WeightsNotFoundError, match="No checksum is published"):
        W.locate("restormer-motion-deblurring", allow_download=True)


def test_standin_basicsr_checkpoint_loads_strictly_and_misfits_are_named(isolated, tmp_path):
    wdir, _ = isolated
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(2, 1, 1))
    torch.save({"params": model.state_dict(), "iter": 7}, wdir / "basicsr.pth")
    e = W.WeightsEntry("standin-basicsr", "basicsr.pth", None, None, "test", {}, "stand-in",
                       state_dict_key="params")
    fresh = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(2, 1, 1)).train()
    loaded = W.load_pretrained(fresh, e)
    assert not loaded.training
    assert torch.equal(loaded[0].weight, model[0].weight)
    wider = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Conv2d(4, 1, 1), torch.nn.ReLU(),
                                torch.nn.Conv2d(1, 1, 1))
    before = wider[0].weight.clone()
    with pytest.raises(ValueError, match=r"missing 3.bias, 3.weight; unexpected none; shape "
                                         r"mismatch 0.bias, 0.weight, 1.weight"):
        W.load_pretrained(wider, e)
    assert torch.equal(wider[0].weight, before)  # nothing half-loaded
    torch.save(model.state_dict(), wdir / "plain.pth")  # lacks the 'params' wrapper
    with pytest.raises(ValueError, match="has no 'params' entry"):
        W.load_state_dict(dataclasses.replace(e, filename="plain.pth"))
