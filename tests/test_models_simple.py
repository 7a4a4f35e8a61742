"""ResidualCNN, SmallUNet and the model registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deblurlab.models import (
    ResidualCNN,
    SmallUNet,
    available_models,
    build_model,
    count_parameters,
    register_model,
)


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def test_residual_cnn_parameter_count_by_hand():
    # defaults: 1 → 32, six 32 → 32, 32 → 1, all 3×3 with bias
    assert count_parameters(ResidualCNN()) == (9 * 32 + 32) + 6 * (9 * 32 * 32 + 32) + (9 * 32 + 1)
    assert count_parameters(ResidualCNN()) == 56097
    small = ResidualCNN(in_ch=3, width=8, depth=2)
    assert count_parameters(small) == (9 * 3 * 8 + 8) + (9 * 8 * 3 + 3)


def test_small_unet_parameter_count_by_hand():
    def double(a, b):
        return conv_params(a, b, 3) + conv_params(b, b, 3)

    expected = (
        double(1, 16) + double(16, 32) + double(32, 64)          # encoders
        + double(64, 128)                                        # bottleneck
        + conv_params(128, 64, 2) + double(128, 64)              # deepest decoder
        + conv_params(64, 32, 2) + double(64, 32)
        + conv_params(32, 16, 2) + double(32, 16)
        + conv_params(16, 1, 1)                                  # head
    )
    assert expected == 481745
    assert count_parameters(SmallUNet()) == expected


def test_count_parameters_trainable_only_and_shared():
    model = ResidualCNN(width=4, depth=2)
    total = count_parameters(model)
    model.body[0].weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == total - 9 * 4
    assert count_parameters(model) == total
    shared = nn.Sequential(model.body[0], model.body[0])
    assert count_parameters(shared) == 9 * 4 + 4


def test_size_multiple():
    assert ResidualCNN().size_multiple == 1
    assert SmallUNet(levels=3).size_multiple == 8
    assert SmallUNet(levels=2).size_multiple == 4


@pytest.mark.parametrize("make", [lambda: ResidualCNN(in_ch=3, width=8, depth=3),
                                  lambda: SmallUNet(in_ch=3, width=4, levels=2)])
def test_shapes_and_gradients(make):
    torch.manual_seed(0)
    model = make()
    x = torch.rand(2, 3, 16, 24, requires_grad=True)
    y = model(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    y.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("cls", [ResidualCNN, SmallUNet])
def test_residual_adds_input(cls):
    torch.manual_seed(0)
    model = cls(in_ch=1, width=4, residual=True)
    last = model.body[-1] if cls is ResidualCNN else model.head
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    x = torch.rand(1, 1, 16, 16)
    assert torch.equal(model(x), x)  # zero body → identity
    plain = cls(in_ch=1, width=4, residual=False)
    plain.load_state_dict(model.state_dict())
    assert torch.equal(plain(x), torch.zeros_like(x))


def test_channel_change_needs_residual_false():
    with pytest.raises(ValueError, match="residual=False"):
        ResidualCNN(in_ch=1, out_ch=3)
    with pytest.raises(ValueError, match="residual=False"):
        SmallUNet(in_ch=3, out_ch=1)
    cnn = ResidualCNN(in_ch=1, out_ch=3, width=4, residual=False)
    assert cnn(torch.rand(1, 1, 8, 8)).shape[1] == 3
    assert SmallUNet(in_ch=3, out_ch=1, width=4, levels=1, residual=False)(
        torch.rand(1, 3, 8, 8)).shape[1] == 1


def test_unet_rejects_non_multiple_sizes():
    with pytest.raises(ValueError, match="multiples of 8"):
        SmallUNet(width=4)(torch.rand(1, 1, 20, 24))


@pytest.mark.parametrize("kwargs", [dict(depth=1), dict(width=0), dict(in_ch=0)])
def test_residual_cnn_validates(kwargs):
    with pytest.raises(ValueError):
        ResidualCNN(**kwargs)


def test_unet_validates():
    with pytest.raises(ValueError, match="levels"):
        SmallUNet(levels=0)


def test_residual_cnn_is_local():
    # depth 3 → receptive field 7×7: a change at one pixel moves outputs within 3 px only
    torch.manual_seed(0)
    model = ResidualCNN(width=4, depth=3, residual=False)
    x = torch.rand(1, 1, 21, 21)
    x2 = x.clone()
    x2[0, 0, 10, 10] += 1
    changed = (model(x2) - model(x)).abs()[0, 0] > 0
    ys, xs = torch.nonzero(changed, as_tuple=True)
    assert ys.min() >= 7 and ys.max() <= 13 and xs.min() >= 7 and xs.max() <= 13


def test_build_model_registry():
    assert {"residual_cnn", "small_unet"} <= set(available_models())
    model = build_model("Small-UNet", width=4, levels=2)
    assert isinstance(model, SmallUNet) and model.size_multiple == 4
    assert isinstance(build_model("residual_cnn", width=4, depth=2), ResidualCNN)


def test_build_model_errors():
    with pytest.raises(KeyError, match="small_unet"):
        build_model("small_unt")
    with pytest.raises(TypeError, match="residual_cnn"):
        build_model("residual_cnn", levels=3)


def test_register_model():
    register_model("test_identity_model", lambda **kw: nn.Identity())
    assert isinstance(build_model("test_identity_model"), nn.Identity)
    with pytest.raises(ValueError, match="already registered"):
        register_model("test_identity_model", lambda: nn.Identity())
    register_model("test_identity_model", "torch.nn:Identity", overwrite=True)
    assert isinstance(build_model("test_identity_model"), nn.Identity)
    with pytest.raises(TypeError):
        register_model("test_bad", 42)
