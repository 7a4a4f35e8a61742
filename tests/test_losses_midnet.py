"""Paper 001's losses in deblurlab.losses: EdgeLoss, FrequencyLoss(mode="real_imag"),
midnet_loss_terms (METHODS §2.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from deblurlab.losses import (
    EDGE_TAPS,
    EdgeLoss,
    FrequencyLoss,
    l1_loss,
    midnet_loss_terms,
)
from deblurlab.models.nafnet import MIDNet
from deblurlab.train import fit

# --------------------------------------------------------------------------------------------
# EdgeLoss


def reference_laplacian(img: np.ndarray) -> np.ndarray:
    """MPRNet's Δ for one (H, W) channel, written with scipy in float64."""
    k1 = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
    k = np.outer(k1, k1)
    g = ndimage.convolve(img, k, mode="nearest")  # 'nearest' == replicate padding
    up = np.zeros_like(g)
    up[::2, ::2] = 4.0 * g[::2, ::2]
    return img - ndimage.convolve(up, k, mode="nearest")


def reference_edge_loss(p: np.ndarray, t: np.ndarray, eps: float = 1e-3) -> float:
    d = np.stack([reference_laplacian(p[n, c]) - reference_laplacian(t[n, c])
                  for n in range(p.shape[0]) for c in range(p.shape[1])])
    return float(np.sqrt(d * d + eps * eps).mean())


def test_edge_taps_sum_to_one():
    assert EDGE_TAPS == (0.05, 0.25, 0.4, 0.25, 0.05)
    assert math.isclose(sum(EDGE_TAPS), 1.0)
    k = EdgeLoss().kernel
    assert k.shape == (5, 5) and math.isclose(float(k.sum()), 1.0, rel_tol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3, 17, 22), (1, 1, 16, 16), (1, 5, 9, 8)])
def test_edge_loss_matches_scipy_reference(shape):
    rng = np.random.default_rng(0)
    p, t = rng.random(shape), rng.random(shape)
    loss = EdgeLoss()
    got = loss(torch.from_numpy(p).float(), torch.from_numpy(t).float()).item()
    assert got == pytest.approx(reference_edge_loss(p, t), rel=1e-5)
    lap = loss.laplacian(torch.from_numpy(p).float())
    np.testing.assert_allclose(lap[0, 0].numpy(), reference_laplacian(p[0, 0]), atol=1e-5)
    # float64 path agrees tightly
    got64 = loss(torch.from_numpy(p), torch.from_numpy(t)).item()
    assert got64 == pytest.approx(reference_edge_loss(p, t), rel=1e-10)


def test_edge_loss_other_eps():
    rng = np.random.default_rng(1)
    p, t = rng.random((1, 2, 10, 12)), rng.random((1, 2, 10, 12))
    got = EdgeLoss(eps=0.1)(torch.from_numpy(p), torch.from_numpy(t)).item()
    assert got == pytest.approx(reference_edge_loss(p, t, eps=0.1), rel=1e-10)


def test_edge_loss_of_identical_images_is_eps():
    x = torch.rand(2, 3, 20, 24)
    assert EdgeLoss()(x, x).item() == pytest.approx(1e-3, rel=1e-6)
    assert EdgeLoss(eps=0.5)(x, x).item() == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize("hw", [(12, 12), (11, 9)])
def test_laplacian_of_a_constant_vanishes_except_a_two_pixel_border(hw):
    h, w = hw
    lap = EdgeLoss().laplacian(torch.full((1, 1, h, w), 0.7, dtype=torch.float64))[0, 0]
    border = torch.ones(h, w, dtype=torch.bool)
    border[2:-2, 2:-2] = False
    assert lap[~border].abs().max() < 1e-12
    assert bool((lap[border].abs() > 1e-3).all())  # replicate-padded zero insertion ≠ constant
    assert lap[0, 0].item() == pytest.approx(-1.25 * 0.7)


def test_edge_loss_constant_offset_only_acts_at_the_border():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 24, 20, dtype=torch.float64)
    loss = EdgeLoss()
    offset = loss.laplacian(x + 0.2) - loss.laplacian(x)
    assert offset[..., 2:-2, 2:-2].abs().max() < 1e-12
    assert loss(x + 0.2, x).item() > 10 * loss.eps  # the border makes it non-zero


def test_edge_loss_gradients():
    torch.manual_seed(1)
    pred = torch.rand(2, 3, 12, 12, requires_grad=True)
    target = torch.rand(2, 3, 12, 12)
    EdgeLoss()(pred, target).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert pred.grad.abs().sum() > 0
    p = torch.rand(1, 1, 6, 7, dtype=torch.float64, requires_grad=True)
    t = torch.rand(1, 1, 6, 7, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: EdgeLoss(eps=0.05)(a, t), (p,))


def test_edge_loss_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        EdgeLoss()(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 9))
    with pytest.raises(ValueError, match="H, W ≥ 3"):
        EdgeLoss()(torch.rand(1, 1, 2, 8), torch.rand(1, 1, 2, 8))
    with pytest.raises(ValueError, match="eps"):
        EdgeLoss(eps=0)


def test_edge_loss_follows_the_input_dtype():
    loss = EdgeLoss()
    assert loss.kernel.dtype == torch.float64  # exact taps; cast to the input's dtype per call
    assert "kernel" not in loss.state_dict()  # not persistent
    x = torch.rand(1, 2, 8, 8)
    assert loss(x, x).dtype == torch.float32
    loss.float()  # a buffer moves with .to() / .float()
    assert loss.kernel.dtype == torch.float32
    assert loss(x.double(), x.double()).dtype == torch.float64


# --------------------------------------------------------------------------------------------
# FrequencyLoss(mode="real_imag")


def test_real_imag_known_example():
    p, t = torch.zeros(1, 1, 1, 4), torch.zeros(1, 1, 1, 4)
    p[..., 0] = 1.0  # F(p) = 1, 1, 1, 1
    t[..., 1] = 1.0  # F(t) = 1, −i, −1, i  → ΔF = 0, 1+i, 2, 1−i
    assert FrequencyLoss(mode="real_imag")(p, t).item() == pytest.approx(6 / 8)
    assert FrequencyLoss(mode="real_imag", reduction="sum")(p, t).item() == pytest.approx(6.0)
    assert FrequencyLoss(mode="real_imag", norm="ortho")(p, t).item() == pytest.approx(6 / 16)
    assert FrequencyLoss(mode="complex")(p, t).item() == pytest.approx((2 + 2 * math.sqrt(2)) / 4)
    assert FrequencyLoss(mode="amplitude")(p, t).item() == pytest.approx(0.0, abs=1e-7)


def test_real_imag_matches_stacked_l1_of_full_fft():
    torch.manual_seed(2)
    p, t = torch.rand(2, 3, 8, 6), torch.rand(2, 3, 8, 6)
    fp, ft = torch.fft.fft2(p), torch.fft.fft2(t)
    stacked = torch.nn.functional.l1_loss(torch.stack((fp.real, fp.imag), -1),
                                          torch.stack((ft.real, ft.imag), -1))
    got = FrequencyLoss(mode="real_imag")(p, t)
    torch.testing.assert_close(got, stacked)
    # |Re| + |Im| lies between |z| and √2·|z|
    c = FrequencyLoss()(p, t)
    assert c / 2 <= got <= c / math.sqrt(2) + 1e-6
    # the one-sided rfft2 gives a different number (documented choice: two-sided)
    rp, rt = torch.fft.rfft2(p), torch.fft.rfft2(t)
    one_sided = torch.nn.functional.l1_loss(torch.view_as_real(rp), torch.view_as_real(rt))
    assert not torch.isclose(got, one_sided)


def test_real_imag_gradients_and_bad_mode():
    p = torch.rand(1, 1, 4, 4, requires_grad=True)
    FrequencyLoss(mode="real_imag")(p, torch.zeros(1, 1, 4, 4)).backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="real_imag"):
        FrequencyLoss(mode="realimag")


def test_existing_frequency_modes_unchanged():
    p, t = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    p[0, 0, 0, 0] = 1.0
    t[0, 0, 0, 1] = 1.0
    assert FrequencyLoss()(p, t).item() == 1.0
    assert FrequencyLoss(mode="amplitude")(p, t).item() == 0.0
    assert FrequencyLoss(mode="real_imag")(p, t).item() == 0.5


# --------------------------------------------------------------------------------------------
# midnet_loss_terms


def test_midnet_loss_terms_defaults():
    losses, weights = midnet_loss_terms()
    assert list(losses) == list(weights) == ["l1", "edge", "fft"]
    assert weights == {"l1": 1.0, "edge": 0.05, "fft": 0.01}
    assert losses["l1"] is l1_loss
    assert isinstance(losses["edge"], EdgeLoss) and losses["edge"].eps == 1e-3
    assert isinstance(losses["fft"], FrequencyLoss) and losses["fft"].mode == "complex"
    torch.manual_seed(3)
    p, t = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    total = sum(weights[k] * losses[k](p, t) for k in losses)
    expected = (l1_loss(p, t) + 0.05 * EdgeLoss()(p, t) + 0.01 * FrequencyLoss()(p, t))
    torch.testing.assert_close(total, expected)


def test_midnet_loss_terms_options():
    freq = FrequencyLoss(mode="real_imag")
    losses, weights = midnet_loss_terms(0.1, 0.2, frequency=freq)
    assert losses["fft"] is freq and weights == {"l1": 1.0, "edge": 0.1, "fft": 0.2}
    assert midnet_loss_terms(lambda_edge=0)[1] == {"l1": 1.0, "fft": 0.01}
    assert list(midnet_loss_terms(0, 0)[0]) == ["l1"]
    with pytest.raises(ValueError, match="lambda_edge"):
        midnet_loss_terms(lambda_edge=-1)
    with pytest.raises(ValueError, match="lambda_fft"):
        midnet_loss_terms(lambda_fft=float("nan"))


def test_fit_consumes_midnet_loss_terms():
    torch.manual_seed(4)
    x = torch.rand(4, 1, 16, 16)
    y = x.clamp(0.2, 0.8)
    model = MIDNet(img_channel=1, width=4, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1))
    losses, weights = midnet_loss_terms()
    hist = fit(model, (x, y), losses=losses, weights=weights, steps=2, batch_size=2,
               progress=False, log_every=1, checkpoint_dir=None, device="cpu")
    assert hist["step"] == [1, 2]
    for name in ("l1", "edge", "fft"):
        assert len(hist[name]) == 2 and all(math.isfinite(v) for v in hist[name])
    for row in hist.rows:
        assert row["loss"] == pytest.approx(row["l1"] + 0.05 * row["edge"] + 0.01 * row["fft"],
                                            rel=1e-5)
