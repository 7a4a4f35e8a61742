"""deblurlab.models.vgg: plain-torch VGG feature stacks loaded from the weights registry.

Tests that load the real VGG19 subset (``vgg19-imagenet-conv1_1-conv3_4.pth``) skip naming the
file when ``DEBLURLAB_WEIGHTS`` lacks it; the others use the explicit ``"random-for-tests"``
weights.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import deblurlab.models.vgg as vgg_module
from deblurlab import weights as W
from deblurlab.models.vgg import (
    RANDOM_FOR_TESTS,
    VGG16_LAYERS,
    VGG_LAYERS,
    L2Pool2d,
    VGGFeatures,
    layer_index,
)
from deblurlab.phantoms import make_phantom
from deblurlab.psf import gaussian_psf
from deblurlab.simulate import blur

VGG19_FILE = "vgg19-imagenet-conv1_1-conv3_4.pth"



@pytest.fixture
def real_vgg19(real_weights):
    real_weights(VGG19_FILE)  # skip (naming the file) when it is absent


def _img(kind: str = "grains", seed: int = 0, size: int = 64, sigma: float = 0.0) -> torch.Tensor:
    x = make_phantom(kind, size, seed=seed)
    if sigma > 0:
        x = blur(x, gaussian_psf(sigma))
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]


# ----------------------------------------------------------------------------- layer tables


def test_layer_tables_match_methods_and_torchvision():
    # METHODS §1.4 table
    assert {k: VGG_LAYERS[k] for k in list(VGG_LAYERS)[:8]} == {
        "conv_1_1": 0, "conv_1_2": 2, "conv_2_1": 5, "conv_2_2": 7,
        "conv_3_1": 10, "conv_3_2": 12, "conv_3_3": 14, "conv_3_4": 16}
    assert len(VGG_LAYERS) == 16 and VGG_LAYERS["conv_5_4"] == 34
    # torchvision vgg16().features: relu1_2=3, relu2_2=8, relu3_3=15, relu4_3=22, relu5_3=29
    assert [layer_index(f"relu_{b}", "vgg16") for b in ("1_2", "2_2", "3_3", "4_3", "5_3")] == [
        3, 8, 15, 22, 29]
    assert len(VGG16_LAYERS) == 13 and VGG16_LAYERS["conv_5_3"] == 28
    assert layer_index("conv_2_1", pre_relu=False) == 6
    with pytest.raises(ValueError, match="conv_3_4"):
        layer_index("conv_3_4", "vgg16")  # VGG16 has three convs in block 3
    with pytest.raises(ValueError, match="unknown"):
        layer_index("pool_1")


def test_weights_none_is_refused_and_random_needs_explicit_name():
    with pytest.raises(ValueError, match="never builds random weights"):
        VGGFeatures(weights=None)
    a = VGGFeatures(weights=RANDOM_FOR_TESTS, layers=("conv_1_1",))
    b = VGGFeatures(weights=RANDOM_FOR_TESTS, layers=("conv_1_1",))
    assert torch.equal(a.features[0].weight, b.features[0].weight)  # seeded, not global RNG
    assert a.weights_entry is None and "random-for-tests" in repr(a)


def test_missing_weights_file_raises_naming_it(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(empty))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(W.ALLOW_DOWNLOAD_ENV, raising=False)
    with pytest.raises(W.WeightsNotFoundError, match=VGG19_FILE):
        VGGFeatures(layers=("conv_2_1",))


def test_arch_mismatch_and_bad_options():
    with pytest.raises(ValueError, match="vgg19"):
        VGGFeatures("vgg16", weights="vgg19-imagenet-conv1_1-conv3_4")
    with pytest.raises(ValueError, match="arch"):
        VGGFeatures("vgg11", weights=RANDOM_FOR_TESTS)
    with pytest.raises(ValueError, match="pool"):
        VGGFeatures(weights=RANDOM_FOR_TESTS, pool="avg")
    with pytest.raises(ValueError, match="expected images"):
        VGGFeatures(weights=RANDOM_FOR_TESTS, layers=("conv_1_1",))(torch.rand(1, 2, 8, 8))


# ----------------------------------------------------------------------------- real VGG19 subset


def test_real_weights_load_exactly_and_shapes(real_vgg19):
    vgg = VGGFeatures(layers=("conv_1_1", "conv_2_1", "conv_3_3"))
    assert len(vgg.features) == 15  # truncated after features.14
    sd = W.load_state_dict("vgg19-imagenet-conv1_1-conv3_4")
    for i in (0, 2, 5, 7, 10, 12, 14):
        assert torch.equal(vgg.features[i].weight, sd[f"features.{i}.weight"])
        assert torch.equal(vgg.features[i].bias, sd[f"features.{i}.bias"])
    out = vgg(torch.rand(2, 1, 64, 64))
    assert list(out) == ["conv_1_1", "conv_2_1", "conv_3_3"]
    assert tuple(out["conv_1_1"].shape) == (2, 64, 64, 64)
    assert tuple(out["conv_2_1"].shape) == (2, 128, 32, 32)
    assert tuple(out["conv_3_3"].shape) == (2, 256, 16, 16)


def test_preprocessing_is_the_files(real_vgg19):
    vgg = VGGFeatures(layers=("conv_1_1",))
    x = torch.rand(1, 1, 4, 4)
    got = vgg.prepare(x)
    mean = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1)
    assert torch.allclose(got, 255 * x.expand(-1, 3, -1, -1) - mean)
    # grey input is the same as the replicated RGB image
    out_grey = vgg(x)["conv_1_1"]
    out_rgb = vgg(x.repeat(1, 3, 1, 1))["conv_1_1"]
    assert torch.allclose(out_grey, out_rgb)


def test_frozen_and_eval_survives_parent_train(real_vgg19):
    vgg = VGGFeatures(layers=("conv_2_1",))
    parent = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), vgg)
    parent.train()
    assert parent[0].training and not vgg.training
    assert not any(m.training for m in vgg.modules())
    assert all(not p.requires_grad for p in vgg.parameters())
    # gradients still reach the input
    x = torch.rand(1, 1, 16, 16, requires_grad=True)
    vgg(x)["conv_2_1"].square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_pre_relu_has_negatives_post_relu_does_not(real_vgg19):
    x = _img()
    pre = VGGFeatures(layers=("conv_2_1", "relu_2_1"))(x)
    post = VGGFeatures(layers=("conv_2_1",), pre_relu=False)(x)["conv_2_1"]
    assert pre["conv_2_1"].min() < 0
    assert post.min() >= 0
    assert torch.equal(post, F.relu(pre["conv_2_1"]))
    assert torch.equal(pre["relu_2_1"], post)  # relu_i_j is post-ReLU whatever pre_relu says
    # the ReLU is not in-place: the pre-ReLU map survives the forward pass
    assert (pre["conv_2_1"] < 0).any()


def test_deeper_than_file_error_names_last_layer(real_vgg19):
    with pytest.raises(ValueError, match=r"conv_4_1.*'vgg19-imagenet-conv1_1-conv3_4\.pth'.*"
                                         r"last layer is conv_3_4"):
        VGGFeatures(layers=("conv_2_1", "conv_4_1"))


def test_sanity_blurred_copy_closer_than_unrelated_image(real_vgg19):
    vgg = VGGFeatures(layers=("conv_1_2", "conv_2_2", "conv_3_3"))
    a, a_blur = _img("grains", 0), _img("grains", 0, sigma=0.7)
    b = _img("fibres", 1)
    fa, fab, fb = vgg(a), vgg(a_blur), vgg(b)
    for k in fa:
        near = F.mse_loss(fa[k], fab[k])
        far = F.mse_loss(fa[k], fb[k])
        assert near < 0.5 * far, k


def test_vgg16_standin_loads_from_entry(tmp_path, monkeypatch):
    """A shape-correct random stand-in for vgg16-397923af.pth, loaded through a WeightsEntry."""
    import dataclasses

    from deblurlab.fetch import sha256sum

    ref = VGGFeatures("vgg16", weights=RANDOM_FOR_TESTS, layers=("relu_2_2",))
    sd = {f"features.{k}": v for k, v in ref.features.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # extra keys of a full file are ignored
    path = tmp_path / "vgg16-standin-random.pth"
    torch.save(sd, path)
    e = dataclasses.replace(W.entry("vgg16-torchvision"), name="vgg16-standin-random",
                            filename=path.name, url=None, sha256=sha256sum(path),
                            sha256_prefix=None)
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(tmp_path))
    vgg = VGGFeatures("vgg16", weights=e, layers=("relu_2_2",), pool="l2")
    assert isinstance(vgg.features[4], L2Pool2d)
    assert torch.equal(vgg.features[7].weight, ref.features[7].weight)
    assert tuple(vgg(torch.rand(1, 3, 32, 32))["relu_2_2"].shape) == (1, 128, 16, 16)
    # torchvision preprocessing comes with the entry
    x = torch.full((1, 3, 1, 1), 0.5)
    assert torch.allclose(vgg.prepare(x).flatten(),
                          (0.5 - torch.tensor([0.485, 0.456, 0.406])) /
                          torch.tensor([0.229, 0.224, 0.225]))
    # truncated VGG16 file: asking deeper names the last layer it holds
    torch.save({k: v for k, v in sd.items() if k.startswith("features.")}, path)
    e2 = dataclasses.replace(e, sha256=sha256sum(path))
    with pytest.raises(ValueError, match="last layer is conv_2_2"):
        VGGFeatures("vgg16", weights=e2, layers=("conv_3_1",))


def test_l2pool_matches_hann_definition():
    x = torch.rand(1, 2, 6, 6)
    w = torch.tensor([0.5, 1.0, 0.5])
    k = torch.outer(w, w) / 4
    manual = torch.sqrt(F.conv2d(F.pad(x * x, (1, 1, 1, 1)), k.expand(2, 1, 3, 3), stride=2,
                                 groups=2) + 1e-12)
    assert torch.allclose(L2Pool2d()(x), manual)
    assert L2Pool2d().state_dict() == {}


def test_doctests():
    assert doctest.testmod(vgg_module).failed == 0
