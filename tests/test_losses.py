"""deblurlab.losses: pixel, perceptual (VGG19) and frequency losses, and the composite of paper 000.

Perceptual-loss tests that need the real VGG19 subset skip naming the file when it is absent;
the rest use ``weights="random-for-tests"`` or no VGG at all.
"""

from __future__ import annotations

import doctest
import math

import pytest
import torch
import torch.nn.functional as F

import deblurlab.losses as losses_module
from deblurlab import weights as W
from deblurlab.losses import (
    CompositeLoss,
    FrequencyLoss,
    PerceptualLoss,
    charbonnier,
    l1_loss,
    loss_terms,
    mse_loss,
)
from deblurlab.models import ResidualCNN
from deblurlab.models.vgg import VGGFeatures
from deblurlab.train import fit

VGG19_FILE = "vgg19-imagenet-conv1_1-conv3_4.pth"



@pytest.fixture
def real_vgg19(real_weights):
    real_weights(VGG19_FILE)


def _pair(shape=(2, 3, 8, 8), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g), torch.rand(shape, generator=g)


# ----------------------------------------------------------------------------- pixel losses


def test_pixel_losses():
    p, t = torch.full((1, 1, 2, 2), 0.5), torch.zeros(1, 1, 2, 2)
    assert l1_loss(p, t).item() == 0.5
    assert mse_loss(p, t).item() == 0.25
    assert math.isclose(charbonnier(p, t, eps=1e-3).item(), math.sqrt(0.25 + 1e-6), rel_tol=1e-6)
    assert math.isclose(charbonnier(t, t).item(), 1e-3, rel_tol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        l1_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))


# ----------------------------------------------------------------------------- frequency loss


def test_frequency_loss_zero_for_identical_positive_otherwise():
    p, t = _pair()
    for mode in ("complex", "amplitude"):
        assert FrequencyLoss(mode=mode)(p, p).item() == 0.0
        assert FrequencyLoss(mode=mode)(p, t).item() > 0


def test_frequency_loss_complex_at_least_amplitude():
    for seed in range(3):
        p, t = _pair(seed=seed)
        assert FrequencyLoss("complex")(p, t) >= FrequencyLoss("amplitude")(p, t)


def test_frequency_loss_hand_computed():
    # A delta's FFT is 1 at every frequency: |F(p) − F(0)| = 1 → mean 1, sum 4 (2×2).
    p, zero = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    p[0, 0, 0, 0] = 1.0
    assert FrequencyLoss()(p, zero).item() == 1.0
    assert FrequencyLoss(reduction="sum")(p, zero).item() == 4.0
    # Shifting the delta by one column: F(t)(u, v) = exp(−iπv) = (1, −1) per row.
    # Complex: |1 − 1| = 0, |1 − (−1)| = 2 → mean 1. Amplitudes are equal → 0.
    t = torch.zeros(1, 1, 2, 2)
    t[0, 0, 0, 1] = 1.0
    assert FrequencyLoss("complex")(p, t).item() == 1.0
    assert FrequencyLoss("amplitude")(p, t).item() == 0.0
    # 1-D by hand on a 1×4 row: x = (1, 2, 0, 0) → X = (3, 1−2i, −1, 1+2i); y = 0
    x = torch.tensor([[[[1.0, 2.0, 0.0, 0.0]]]])
    expected = (3 + math.sqrt(5) + 1 + math.sqrt(5)) / 4
    assert math.isclose(FrequencyLoss()(x, torch.zeros_like(x)).item(), expected, rel_tol=1e-6)


def test_frequency_loss_norm_options_scale():
    p, t = _pair((2, 1, 8, 12))
    hw = 8 * 12
    back = FrequencyLoss(norm="backward")(p, t)
    assert torch.allclose(FrequencyLoss(norm="ortho")(p, t), back / math.sqrt(hw))
    assert torch.allclose(FrequencyLoss(norm="forward")(p, t), back / hw)
    assert torch.allclose(FrequencyLoss(reduction="sum")(p, t), back * p.numel())
    with pytest.raises(ValueError, match="norm"):
        FrequencyLoss(norm="unitary")
    with pytest.raises(ValueError, match="mode"):
        FrequencyLoss(mode="phase")
    with pytest.raises(ValueError, match="reduction"):
        FrequencyLoss(reduction="none")


def test_frequency_loss_gradient_and_per_channel():
    p, t = _pair((1, 2, 8, 8))
    p.requires_grad_(True)
    FrequencyLoss()(p, t).backward()
    assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    # per-channel transform: the loss of a 2-channel pair is the mean of the single channels
    both = FrequencyLoss()(p.detach(), t)
    single = [FrequencyLoss()(p.detach()[:, c:c + 1], t[:, c:c + 1]) for c in range(2)]
    assert torch.allclose(both, torch.stack(single).mean())


# ----------------------------------------------------------------------------- perceptual loss


def test_perceptual_loss_random_weights_definition():
    loss = PerceptualLoss("conv_1_2", weights="random-for-tests")
    p, t = _pair((1, 1, 16, 16))
    ref = VGGFeatures(weights="random-for-tests", layers=("conv_1_2",))
    expected = F.mse_loss(ref(p)["conv_1_2"], ref(t)["conv_1_2"])
    assert torch.allclose(loss(p, t), expected)


def test_perceptual_loss_zero_for_identical_and_gradients(real_vgg19):
    loss = PerceptualLoss("conv_2_1")
    p, t = _pair((2, 1, 32, 32))
    assert loss(t, t).item() == 0.0
    p.requires_grad_(True)
    t.requires_grad_(True)
    value = loss(p, t)
    assert value.item() > 0
    value.backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert t.grad is None  # target features are computed without gradient
    assert all(q.grad is None and not q.requires_grad for q in loss.parameters())
    assert not loss.vgg.training


def test_perceptual_loss_is_mean_of_pre_relu_squared_feature_difference(real_vgg19):
    loss = PerceptualLoss("conv_2_1")
    p, t = _pair((1, 1, 32, 32))
    fp, ft = loss.vgg(p)["conv_2_1"], loss.vgg(t)["conv_2_1"]
    assert fp.min() < 0  # pre-ReLU
    c, h, w = fp.shape[1:]
    assert torch.allclose(loss(p, t), ((fp - ft) ** 2).sum() / (c * h * w) / loss.feature_scale**2)


# ----------------------------------------------------------------------------- composite


def test_composite_equals_sum_of_parts(real_vgg19):
    p, t = _pair((1, 1, 32, 32))
    comp = CompositeLoss(alpha=0.3, beta=3e-4, layer="conv_2_1")
    total = comp(p, t)
    parts = l1_loss(p, t) + 0.3 * PerceptualLoss("conv_2_1")(p, t) + 3e-4 * FrequencyLoss()(p, t)
    assert torch.allclose(total, parts)
    assert set(comp.last) == {"l1", "vgg", "freq", "total"}
    assert math.isclose(comp.last["total"], total.item(), rel_tol=1e-6)
    assert math.isclose(comp.last["l1"] + 0.3 * comp.last["vgg"] + 3e-4 * comp.last["freq"],
                        comp.last["total"], rel_tol=1e-5)


def test_composite_alpha_zero_builds_no_vgg(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(tmp_path))  # no VGG file reachable
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    comp = CompositeLoss(alpha=0.0, beta=1e-3)
    assert comp.perceptual is None
    p, t = _pair((1, 1, 8, 8))
    assert torch.allclose(comp(p, t), l1_loss(p, t) + 1e-3 * FrequencyLoss()(p, t))
    only_l1 = CompositeLoss(alpha=0.0, beta=0.0)
    assert only_l1.frequency is None and set(only_l1.last) == set()
    assert torch.allclose(only_l1(p, t), l1_loss(p, t)) and set(only_l1.last) == {"l1", "total"}
    with pytest.raises(W.WeightsNotFoundError, match=VGG19_FILE):
        CompositeLoss(alpha=0.3)  # a needed VGG is never replaced by random weights
    with pytest.raises(ValueError, match="alpha"):
        CompositeLoss(alpha=-1.0)


def test_loss_terms_shape_and_validation(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(tmp_path))
    losses, weights = loss_terms(alpha=0.0, beta=3e-4)
    assert set(losses) == {"l1", "freq"} and weights == {"l1": 1.0, "freq": 3e-4}
    amp = FrequencyLoss(mode="amplitude")
    losses, _ = loss_terms(alpha=0.0, beta=1e-3, frequency=amp)
    assert losses["freq"] is amp
    with pytest.raises(ValueError, match="beta"):
        loss_terms(beta=float("nan"))


def test_loss_terms_train_two_steps_with_fit(real_vgg19):
    losses, weights = loss_terms(alpha=0.3, beta=3e-4, layer="conv_2_1")
    assert set(losses) == {"l1", "vgg", "freq"}
    assert weights == {"l1": 1.0, "vgg": 0.3, "freq": 3e-4}
    g = torch.Generator().manual_seed(0)
    sharp = torch.rand(4, 1, 32, 32, generator=g)
    blurred = F.avg_pool2d(sharp, 3, 1, 1, count_include_pad=False)
    model = ResidualCNN(width=4, depth=2)
    before = [q.detach().clone() for q in model.parameters()]
    history = fit(model, (blurred, sharp), losses=losses, weights=weights, steps=2, batch_size=2,
                  lr=1e-3, device="cpu", progress=False, log_every=1, checkpoint_dir=None)
    assert len(history) == 2
    for name in ("l1", "vgg", "freq"):
        assert all(math.isfinite(v) and v > 0 for v in history[name])
    row = history.to_dataframe().iloc[0]
    assert math.isclose(row["loss"], row["l1"] + 0.3 * row["vgg"] + 3e-4 * row["freq"],
                        rel_tol=1e-4)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(q.grad is None for q in losses["vgg"].parameters())


def test_doctests():
    assert doctest.testmod(losses_module).failed == 0


def test_perceptual_loss_is_on_the_torchvision_scale_by_default(real_vgg19):
    """The offline VGG19 takes 0..255 input: raw features make α·L_VGG ~10⁴× the L1 term."""
    pred, target = _pair((1, 1, 32, 32))
    scaled = PerceptualLoss("conv_2_1")
    raw = PerceptualLoss("conv_2_1", feature_scale=1.0)
    gain = W.entry("vgg19-imagenet-conv1_1-conv3_4").input_gain
    assert gain == pytest.approx(255 * (0.229 + 0.224 + 0.225) / 3)
    assert scaled.feature_scale == pytest.approx(gain)
    assert scaled(pred, target).item() == pytest.approx(raw(pred, target).item() / gain**2, rel=1e-5)
    with pytest.raises(ValueError, match="positive"):
        PerceptualLoss("conv_2_1", feature_scale=0.0)


def test_torchvision_weights_have_unit_input_gain():
    assert W.entry("vgg19-torchvision").input_gain == pytest.approx(1.0)
