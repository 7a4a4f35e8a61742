"""Paper 000's interchangeable down/up-sampling layers (deblurlab.models.updown)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from torch import nn

from deblurlab.models import count_parameters
from deblurlab.models.updown import (
    VARIANTS,
    FixedSmoothing,
    HaarDWT,
    HaarIWT,
    SmoothDown,
    SmoothUp,
    StridedConvDown,
    TransposedConvUp,
    make_down,
    make_up,
    smoothing_kernel,
)


# ------------------------------------------------------------------------------ Haar transform


@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 1, 2, 2), (1, 2, 10, 4)])
def test_dwt_matches_pywavelets(shape):
    """Exact correspondence with ``pywt.dwt2(x, "haar")`` = (cA, (cH, cV, cD)).

    LL = cA, HL = −cV, LH = −cH, HH = cD. pywt's Haar high-pass is (x[2i] − x[2i+1])/√2 (even
    minus odd), ours is odd minus even, hence the signs; pywt's "horizontal detail" cH is the
    high-pass along rows, i.e. our LH, hence the swap of names.
    """
    pywt = pytest.importorskip("pywt")
    x = np.random.default_rng(0).random(shape)
    c_a, (c_h, c_v, c_d) = pywt.dwt2(x, "haar")  # transforms the last two axes
    ll, hl, lh, hh = np.split(HaarDWT()(torch.from_numpy(x)).numpy(), 4, axis=1)
    np.testing.assert_allclose(ll, c_a, atol=1e-12)
    np.testing.assert_allclose(hl, -c_v, atol=1e-12)
    np.testing.assert_allclose(lh, -c_h, atol=1e-12)
    np.testing.assert_allclose(hh, c_d, atol=1e-12)


def test_dwt_polyphase_definition_and_channel_order():
    x = torch.tensor([[1.0, 2.0], [3.0, 5.0]]).reshape(1, 1, 2, 2)  # a=1, c=2, b=3, d=5 (×½)
    a, c, b, d = 0.5, 1.0, 1.5, 2.5
    expected = [a + b + c + d, -a - b + c + d, -a + b - c + d, a - b - c + d]
    assert HaarDWT()(x).flatten().tolist() == pytest.approx(expected)
    # Two channels → groups [LL(c0), LL(c1), HL(c0), HL(c1), …].
    y = HaarDWT()(torch.cat([x, 2 * x], dim=1))
    assert y.shape == (1, 8, 1, 1)
    assert y[0, :, 0, 0].tolist() == pytest.approx([e * s for e in expected for s in (1, 2)])


def test_haar_round_trips_are_identity_and_orthonormal():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 12, 18, generator=g)
    dwt, iwt = HaarDWT(), HaarIWT()
    assert torch.allclose(iwt(dwt(x)), x, atol=1e-6)
    z = torch.randn(2, 12, 5, 7, generator=g)
    assert torch.allclose(dwt(iwt(z)), z, atol=1e-6)
    assert torch.allclose(dwt(x).square().sum(), x.square().sum(), rtol=1e-5)  # Parseval


def test_haar_gradcheck():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 2, 4, 6, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(HaarDWT(), (x,))
    z = torch.rand(1, 8, 2, 3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(HaarIWT(), (z,))


def test_haar_errors():
    with pytest.raises(ValueError, match="even H and W"):
        HaarDWT()(torch.rand(1, 1, 5, 4))
    with pytest.raises(ValueError, match="even H and W"):
        HaarDWT()(torch.rand(1, 1, 4, 7))
    with pytest.raises(ValueError, match="divisible by 4"):
        HaarIWT()(torch.rand(1, 6, 4, 4))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        HaarDWT()(torch.rand(4, 4))


# ------------------------------------------------------------------------------ smoothing


def test_smoothing_kernels_values_and_sums():
    assert torch.equal(smoothing_kernel(0), torch.ones(2, 2))
    assert torch.equal(smoothing_kernel(1), torch.outer(torch.tensor([1.0, 2, 1]),
                                                        torch.tensor([1.0, 2, 1])))
    assert torch.equal(smoothing_kernel(2), torch.outer(torch.tensor([1.0, 3, 3, 1]),
                                                        torch.tensor([1.0, 3, 3, 1])))
    for d in range(4):
        k = smoothing_kernel(d)
        assert k.shape == (d + 2, d + 2) and k.dtype == torch.float32
        assert float(k.sum()) == 4 ** (d + 1)
    with pytest.raises(ValueError, match="order"):
        smoothing_kernel(-1)


def _dc_gain(layer: FixedSmoothing) -> float:
    y = layer(torch.ones(1, layer.channels, 12, 12))
    return float(y[0, 0, 6, 6])  # interior: padding plays no role


@pytest.mark.parametrize("order", [0, 1, 2])
def test_smoothing_dc_gains_for_both_gain_modes(order):
    raw = 4.0 ** (order + 1)
    down_n = SmoothDown(2, 4, order=order).smooth
    down_r = SmoothDown(2, 4, order=order, gain="raw").smooth
    up_n = SmoothUp(4, 2, order=order).smooth
    up_r = SmoothUp(4, 2, order=order, gain="raw").smooth
    assert _dc_gain(down_n) == pytest.approx(1.0)
    assert _dc_gain(up_n) == pytest.approx(4.0)
    assert _dc_gain(down_r) == pytest.approx(raw)
    assert _dc_gain(up_r) == pytest.approx(raw)
    assert float(down_n.kernel[0].sum()) == pytest.approx(1.0)
    assert float(up_n.kernel[1].sum()) == pytest.approx(4.0)
    assert torch.equal(down_r.kernel[0, 0], smoothing_kernel(order))
    with pytest.raises(ValueError, match="gain"):
        SmoothDown(2, 4, gain="unit")


@pytest.mark.parametrize("order", [0, 1, 2])
def test_smoothing_is_depthwise_with_asymmetric_same_padding(order):
    k = order + 2
    layer = FixedSmoothing(2, order=order, dc_gain=None)
    x = torch.zeros(1, 2, 9, 9)
    x[0, 1, 4, 4] = 1.0  # impulse in channel 1 only
    y = layer(x)
    assert y.shape == x.shape
    assert torch.count_nonzero(y[0, 0]) == 0  # channels do not mix
    lo = 4 - (k - 1) // 2  # left/top pad k//2 → the response spans [i − (k−1)//2, i + k//2]
    expected = torch.zeros(9, 9)
    expected[lo:lo + k, lo:lo + k] = smoothing_kernel(order).flip(0, 1)
    assert torch.equal(y[0, 1], expected)


def test_hold_kernel_removes_the_checkerboard():
    """Order 0 already zeroes the Nyquist frequency, the checkerboard's (Kinoshita & Kiya)."""
    i = torch.arange(8)
    checker = ((-1.0) ** (i[:, None] + i[None, :])).reshape(1, 1, 8, 8)
    for order in (0, 1, 2):
        y = FixedSmoothing(1, order=order)(checker)
        assert y[..., 2:-2, 2:-2].abs().max() < 1e-6


def test_smoothing_layers_are_not_trainable():
    for layer in (SmoothDown(4, 8), SmoothUp(8, 4), FixedSmoothing(3)):
        names = [n for n, _ in layer.named_parameters()]
        assert not any("smooth" in n or "kernel" in n for n in names), names
        assert any(n.endswith("kernel") for n, _ in layer.named_buffers())
    assert count_parameters(SmoothDown(4, 8)) == count_parameters(StridedConvDown(4, 8))
    assert count_parameters(SmoothUp(8, 4)) == count_parameters(TransposedConvUp(8, 4))
    layer = SmoothDown(4, 8)
    before = layer.smooth.kernel.clone()
    opt = torch.optim.SGD(layer.parameters(), lr=1.0)
    layer(torch.rand(1, 4, 8, 8)).sum().backward()
    opt.step()
    assert torch.equal(layer.smooth.kernel, before)


def test_smoothing_kernel_travels_with_the_state_dict_and_must_match():
    raw, norm = SmoothDown(2, 4, gain="raw"), SmoothDown(2, 4)
    assert "smooth.kernel" in raw.state_dict()
    SmoothDown(2, 4, gain="raw").load_state_dict(raw.state_dict())  # same config: fine
    with pytest.raises(RuntimeError, match="smoothing order/gain"):
        norm.load_state_dict(raw.state_dict())


# ------------------------------------------------------------------------------ factories


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_output_shapes(variant):
    x = torch.rand(2, 4, 16, 12)
    y = make_down(variant, 4, 8)(x)
    assert y.shape == (2, 8, 8, 6)
    assert make_up(variant, 8, 4)(y).shape == (2, 4, 16, 12)
    assert make_up(variant, 3, 5)(torch.rand(1, 3, 5, 7)).shape == (1, 5, 10, 14)


def test_variant_parameter_counts():
    c = 4  # down C→2C, up 2C→C
    counts = {v: (count_parameters(make_down(v, c, 2 * c)), count_parameters(make_up(v, 2 * c, c)))
              for v in VARIANTS}
    assert counts["baseline"] == (18 * c * c + 2 * c, 32 * c * c + c)
    assert counts["smooth"] == counts["baseline"]
    assert counts["resize"] == (18 * c * c + 2 * c, 18 * c * c + c)
    assert counts["wt"] == (72 * c * c + 2 * c, 72 * c * c + 4 * c)


def test_smooth_options_and_variant_spelling():
    layer = make_down("Smooth", 2, 4, order=2, gain="raw")
    assert isinstance(layer, SmoothDown) and layer.smooth.kernel.shape == (2, 1, 4, 4)
    assert isinstance(make_up(" baseline ", 4, 2), TransposedConvUp)


def test_unknown_variant_and_options_errors():
    with pytest.raises(ValueError, match="unknown down-sampling variant 'bilinear'.*baseline"):
        make_down("bilinear", 4, 8)
    with pytest.raises(ValueError, match="unknown up-sampling variant"):
        make_up("pixelshuffle", 8, 4)
    with pytest.raises(TypeError, match="unexpected option"):
        make_up("wt", 8, 4, order=1)
    with pytest.raises(ValueError, match="c_out"):
        make_down("baseline", 4, 0)


def test_layers_pass_gradients_to_input():
    for variant in VARIANTS:
        net = nn.Sequential(make_down(variant, 2, 4), make_up(variant, 4, 2))
        x = torch.rand(1, 2, 8, 8, requires_grad=True)
        net(x).square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0, variant


def test_docstring_examples_run():
    import deblurlab.models.updown as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
