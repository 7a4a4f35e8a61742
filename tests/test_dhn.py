"""DHN, paper 000's network (deblurlab.models.dhn)."""

from __future__ import annotations

import doctest
import math

import pytest
import torch
from torch import nn

from deblurlab.infer import predict
from deblurlab.models import build_model, count_parameters
from deblurlab.models.dhn import DHN, DHNDecoder, DHNEncoder
from deblurlab.models.updown import VARIANTS, smoothing_kernel


#: (variant, width, in_ch) → total parameters, 3 levels, out_ch = in_ch.
EXPECTED_COUNTS = {
    ("baseline", 32, 3): 5_424_393, ("resize", 32, 3): 5_209_353,
    ("smooth", 32, 3): 5_424_393, ("wt", 32, 3): 6_869_097,
    ("baseline", 16, 3): 1_358_985, ("resize", 16, 3): 1_305_225,
    ("smooth", 16, 3): 1_358_985, ("wt", 16, 3): 1_720_377,
    ("baseline", 8, 3): 341_193, ("resize", 8, 3): 327_753,
    ("smooth", 8, 3): 341_193, ("wt", 8, 3): 431_649,
    ("baseline", 32, 1): 5_420_931, ("resize", 32, 1): 5_205_891,
    ("smooth", 32, 1): 5_420_931, ("wt", 32, 1): 6_865_635,
    ("baseline", 16, 1): 1_357_251, ("resize", 16, 1): 1_303_491,
    ("smooth", 16, 1): 1_357_251, ("wt", 16, 1): 1_718_643,
}


def conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def ru(c: int) -> int:
    return 2 * conv(c, c, 3)


def test_baseline_parameter_count_matches_methods():
    model = DHN()
    assert count_parameters(model) == 5_424_393
    assert len(model.levels) == model.num_levels == 3
    for level in model.levels:
        assert count_parameters(level.encoder) == 868_288
        assert count_parameters(level.decoder) == 939_843
        assert count_parameters(level) == 1_808_131
    # by hand, from METHODS §1.2
    enc = (conv(3, 32, 3) + 2 * ru(32) + conv(32, 64, 3) + 2 * ru(64)
           + conv(64, 128, 3) + 2 * ru(128))
    dec = (2 * ru(128) + conv(128, 64, 4) + 2 * ru(64) + conv(64, 32, 4)
           + 2 * ru(32) + conv(32, 3, 3))
    assert (enc, dec) == (868_288, 939_843)


def test_variant_level_counts_at_width_32():
    per_level = {"resize": (868_288, 868_163), "smooth": (868_288, 939_843),
                 "wt": (1_144_768, 1_144_931)}
    for variant, (n_enc, n_dec) in per_level.items():
        assert count_parameters(DHNEncoder(3, 32, variant)) == n_enc
        assert count_parameters(DHNDecoder(3, 32, variant)) == n_dec


@pytest.mark.parametrize("key", sorted(EXPECTED_COUNTS), ids=lambda k: f"{k[0]}-w{k[1]}-c{k[2]}")
def test_parameter_counts_of_every_variant(key):
    variant, width, in_ch = key
    with torch.device("meta"):  # counts only: no memory, no init cost
        model = DHN(variant, width=width, in_ch=in_ch, init="torch")
    assert count_parameters(model) == EXPECTED_COUNTS[key]


def test_smooth_has_same_parameters_as_baseline_plus_buffers():
    model = DHN("smooth", width=8)
    assert count_parameters(model) == count_parameters(DHN(width=8)) == 341_193
    kernels = [b for n, b in model.named_buffers() if n.endswith("kernel")]
    assert len(kernels) == 3 * 4  # 2 down + 2 up per level
    assert not any(p.requires_grad is False for p in model.parameters())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (1, 1, 48, 80)])
def test_forward_shapes(variant, shape):
    model = DHN(variant, width=8, in_ch=shape[1])
    with torch.no_grad():
        y = model(torch.rand(shape))
    assert y.shape == shape and y.dtype == torch.float32


@pytest.mark.parametrize("variant", VARIANTS)
def test_untrained_output_is_sane(variant):
    torch.manual_seed(0)
    model = DHN(variant)  # full width 32, DMPHN init
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        y = model(x)
    assert torch.isfinite(y).all()
    assert -1.0 < float(y.min()) and float(y.max()) < 2.0
    assert abs(float(y.mean()) - 0.5) < 0.3  # near the shift, not blown up


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradient_reaches_every_trainable_parameter(variant):
    torch.manual_seed(0)
    model = DHN(variant, width=4, in_ch=1)
    model(torch.rand(2, 1, 16, 16)).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_wiring_follows_methods_1_2():
    """F3 = Enc3(B); R3 = Dec3(F3); F2 = Enc2(B+R3)+F3; R2 = Dec2(F2); F1 = Enc1(B+R2)+F2."""
    torch.manual_seed(0)
    model = DHN(width=4, in_ch=1)
    x = torch.rand(1, 1, 16, 24)
    (e1, d1), (e2, d2), (e3, d3) = ((lv.encoder, lv.decoder) for lv in model.levels)
    b = x - 0.5
    f3 = e3(b)
    f2 = e2(b + d3(f3)) + f3
    f1 = e1(b + d2(f2)) + f2
    with torch.no_grad():
        assert torch.allclose(model(x), d1(f1) + 0.5, atol=1e-6)


def test_shift_keeps_the_api_in_unit_range():
    torch.manual_seed(0)
    shifted = DHN(width=4, in_ch=1)
    plain = DHN(width=4, in_ch=1, shift=0.0)
    plain.load_state_dict(shifted.state_dict())
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(shifted(x), plain(x - 0.5) + 0.5, atol=1e-6)


def test_dmphn_init():
    torch.manual_seed(0)
    model = DHN("smooth", width=16)
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(float(m.bias.detach().abs().sum()) == 0 for m in convs)
    big = model.levels[0].encoder.stage3[0].body[0]  # 64 → 64, 3×3
    std = float(big.weight.detach().std())
    assert std == pytest.approx(0.5 * math.sqrt(2 / (9 * 64)), rel=0.05)
    up = model.levels[0].decoder.up2.deconv  # ConvTranspose 64 → 32, 4×4: n = 16·32
    std = float(up.weight.detach().std())
    assert std == pytest.approx(0.5 * math.sqrt(2 / (16 * 32)), rel=0.05)
    # the fixed smoothing buffers are untouched by the init
    kernel = model.levels[0].decoder.up2.smooth.kernel[0, 0]
    assert torch.allclose(kernel, smoothing_kernel(1) * 4 / 16)
    default = DHN(width=4, init="torch")
    assert any(float(m.bias.detach().abs().sum()) > 0 for m in default.modules()
               if isinstance(m, nn.Conv2d))


def test_registry_builds_dhn():
    model = build_model("dhn", variant="wt", width=4, in_ch=1)
    assert isinstance(model, DHN) and model.variant == "wt" and model.size_multiple == 4
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_smooth_raw_gain_builds_and_runs():
    model = DHN("smooth", width=4, in_ch=1, smooth_gain="raw", smooth_order=2)
    kernel = model.levels[1].encoder.down1.smooth.kernel
    assert kernel.shape == (4, 1, 4, 4) and float(kernel[0].sum()) == 64.0
    with torch.no_grad():
        assert torch.isfinite(model(torch.rand(1, 1, 16, 16))).all()


def test_size_and_channel_errors_and_predict_pads():
    model = DHN(width=4, in_ch=1)
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.rand(1, 1, 30, 32))
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.rand(1, 1, 33, 35))
    with pytest.raises(ValueError, match=r"expects \(N, 1, H, W\)"):
        model(torch.rand(1, 3, 32, 32))
    assert predict(model, torch.rand(1, 1, 33, 35)).shape == (1, 1, 33, 35)


def test_other_configurations():
    model = DHN(width=4, in_ch=1, out_ch=3)  # only the last decoder maps to out_ch
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 3, 8, 8)
    assert count_parameters(model.levels[1].decoder) < count_parameters(model.levels[0].decoder)
    single = DHN(width=4, levels=1)
    assert len(single.levels) == 1 and single(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    for bad in ({"variant": "bilinear"}, {"levels": 0}, {"width": 0},
                {"smooth_gain": "unit"}, {"init": "xavier"}):
        with pytest.raises(ValueError):
            DHN(**bad)
    assert "variant='wt'" in repr(DHN("wt", width=4, levels=1))


def test_docstring_examples_run():
    import deblurlab.models.dhn as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
