"""Paper 002 burst networks (BU, BDU), their losses and BatchNorm adaptation (METHODS §3.2–3.6).

Tiny widths and 32×32 frames only, so every test runs in well under a second on a CPU.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deblurlab.bn_adapt import adapt_batchnorm
from deblurlab.burst_losses import l1_gradient_loss, l1_ssim_loss
from deblurlab.metrics import ssim
from deblurlab.models import count_parameters
from deblurlab.models.burst import BU
from deblurlab.models.dense_burst import BDU, TransitionUp

TINY_BU = dict(enc=(4, 6, 8, 8), dec=(8, 6, 4), head=4)
TINY_BDU = dict(first=4, growth=2, down=(2, 2), bottleneck=2, dropout=0.2)


def _bu(**kw):
    torch.manual_seed(0)
    return BU(**{**TINY_BU, **kw})


def _bdu(**kw):
    torch.manual_seed(0)
    return BDU(**{**TINY_BDU, **kw})


def _randomise_bn(model: nn.Module) -> nn.Module:
    """Non-trivial BN running stats / affine params so eval mode is not near-identity."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


MODELS = {
    "bu": lambda: _bu(),
    "bdu_t": lambda: _bdu(up="transposed"),
    "bdu_uc": lambda: _bdu(up="nearest_conv"),
}


# --------------------------------------------------------------------------------------------
# shapes, frame count, input conventions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_output_shape_for_3_4_5_frames_same_weights(name):
    model = _randomise_bn(MODELS[name]()).eval()
    torch.manual_seed(2)
    for n in (3, 4, 5):
        x = torch.rand(2, n, 1, 32, 32)
        with torch.no_grad():
            y = model(x)
            y4 = model(x.reshape(2, n, 32, 32))
        assert y.shape == (2, 1, 32, 32)
        assert torch.isfinite(y).all()
        # the 4-D convention (frames stacked along channels) is the same computation
        torch.testing.assert_close(y4, y, atol=1e-6, rtol=0)
    assert model.size_multiple == (16 if name == "bu" else 4)


def test_input_validation():
    bu = _bu().eval()
    with pytest.raises(ValueError, match="multiples of 16"):
        bu(torch.rand(1, 3, 1, 24, 32))
    with pytest.raises(ValueError, match="in_ch"):
        bu(torch.rand(1, 3, 2, 32, 32))
    with pytest.raises(ValueError, match="multiple of in_ch"):
        BU(in_ch=2, **TINY_BU)(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="dec needs"):
        BU(enc=(4, 8), dec=(4, 4))
    with pytest.raises(ValueError, match="up must be"):
        BDU(up="bilinear")


def test_width_scale_gives_paper_and_small_widths():
    small = BU(width=0.125)
    assert (small.enc, small.dec, small.head_width) == ((8, 16, 32, 48), (32, 24, 12), 8)


# --------------------------------------------------------------------------------------------
# burst properties
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_permutation_invariance(name):
    model = _randomise_bn(MODELS[name]()).eval()
    torch.manual_seed(3)
    x = torch.rand(2, 5, 1, 32, 32)
    y = model(x)
    for perm in ([4, 2, 0, 3, 1], [1, 0, 2, 3, 4]):
        torch.testing.assert_close(model(x[:, perm]), y, atol=1e-5, rtol=0)
    # ... but the frames do matter: replacing one changes the output
    x2 = x.clone()
    x2[:, 2] = torch.rand(2, 1, 32, 32)
    assert (model(x2) - y).abs().max() > 1e-4


def test_bu_cross_frame_max_of_identical_frames_is_the_frame():
    model = _randomise_bn(_bu()).eval()
    seen = []
    model.merge.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    frame = torch.rand(2, 1, 1, 32, 32)
    y5 = model(frame.expand(-1, 5, -1, -1, -1))
    assert len(seen) == 1 + 3 + 3 + 1   # 3 encoders, bottleneck, 3 decoders, dec0
    for own, out in seen:
        c = own.shape[1]
        torch.testing.assert_close(out[:, c:2 * c], own, atol=0, rtol=0)
    # hence the whole network sees one frame: N identical frames ≡ N = 1
    torch.testing.assert_close(model(frame), y5, atol=1e-5, rtol=0)


def test_bu_cross_frame_max_is_the_elementwise_max():
    model = _bu().eval()
    seen = []
    model.merge.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    model(torch.rand(1, 3, 1, 32, 32))
    own, out = seen[0]
    c = own.shape[1]
    expect = own.reshape(1, 3, c, 32, 32).amax(1, keepdim=True).expand(-1, 3, -1, -1, -1)
    torch.testing.assert_close(out[:, c:], expect.reshape(3, c, 32, 32), atol=0, rtol=0)


@pytest.mark.parametrize("name", list(MODELS))
def test_gradients_reach_first_conv(name):
    model = MODELS[name]().train()
    x = torch.rand(2, 3, 1, 32, 32)
    loss = l1_gradient_loss(model(x), torch.rand(2, 1, 32, 32))
    loss.backward()
    if name == "bu":
        wn = model.enc0[0].parametrizations.weight
        grads = [wn.original0.grad, wn.original1.grad, model.enc0[0].bias.grad]
    else:
        grads = [model.first.weight.grad, model.first.bias.grad]
    for g in grads:
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0


def test_bu_uses_weight_norm_elu_bn_order():
    model = _bu()
    conv, act, bn = model.enc0
    assert hasattr(conv, "parametrizations") and isinstance(act, nn.ELU)
    assert isinstance(bn, nn.BatchNorm2d)
    ups = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(ups) == 4 and all(m.kernel_size == (4, 4) and m.stride == (2, 2) for m in ups)
    # weight norm over the output channels (axis 1 of a transposed conv's weight): one gain each
    assert ups[0].parametrizations.weight.original0.shape == (1, 8, 1, 1)
    assert conv.parametrizations.weight.original0.shape == (4, 1, 1, 1)


# --------------------------------------------------------------------------------------------
# parameter bookkeeping (hand formulas)
# --------------------------------------------------------------------------------------------


def _wn(k, cin, cout):   # weight-normalised conv: weight + gain per out channel + bias
    return k * k * cin * cout + 2 * cout


def _bu_hand(in_ch, out_ch, enc, dec, head):
    bn = lambda c: 2 * c  # noqa: E731
    n = _wn(3, in_ch, enc[0]) + bn(enc[0])
    for cp, c in zip(enc[:-1], enc[1:]):
        n += _wn(1, 2 * cp, c) + bn(c) + _wn(4, c, c) + bn(c)
    cb = enc[-1]
    n += _wn(1, 2 * cb, cb) + _wn(4, cb, cb) + _wn(3, cb, cb) + _wn(4, cb, cb) + 4 * bn(cb)
    for ci, cs, co in zip((cb,) + dec[:-1], enc[::-1][:-1], dec):
        n += _wn(1, 2 * ci + cs, ci) + _wn(3, ci, ci) + _wn(4, ci, co) + 2 * bn(ci) + bn(co)
    n += _wn(3, 2 * dec[-1] + enc[0], dec[-1]) + bn(dec[-1])
    return n + _wn(3, dec[-1], head) + bn(head) + _wn(3, head, out_ch)


def test_bu_parameter_count_matches_hand_formula():
    assert count_parameters(_bu()) == _bu_hand(1, 1, **TINY_BU)
    # paper widths (METHODS §3.2) — the figure quoted in the module docstring
    assert _bu_hand(1, 1, (64, 128, 256, 384), (256, 192, 96), 64) == 16_228_994
    assert count_parameters(BU(width=0.125)) == 256_114


def _dense_block(c, k, n_layers):
    return sum(2 * (c + i * k) + 9 * (c + i * k) * k + k for i in range(n_layers))


def _bdu_hand(in_ch, out_ch, first, growth, down, bottleneck):
    n, c, skips = 9 * in_ch * first + first, first, []
    for L in down:
        n += _dense_block(c, growth, L)
        s = c + L * growth
        n += 2 * 2 * s + 2 * s * s + s           # fuse: BN(2s) + conv1×1 2s→s
        skips.append(s)
        c = s
    n += _dense_block(c, growth, bottleneck)
    new = bottleneck * growth
    for j, (L, s) in enumerate(zip(down[::-1], skips[::-1])):
        n += 9 * new * new + new                 # transition up, both variants
        n += _dense_block(new + s, growth, L)
        new = L * growth if j < len(down) - 1 else new + s + L * growth
    return n + new * out_ch + out_ch


def test_bdu_channel_bookkeeping_tiny_config():
    model = BDU(first=4, growth=2, down=(2,), bottleneck=2, dropout=0.0)
    # by hand: first 40; block 4→8: 82 + 122; fuse 32 + 136; bottleneck 8→+4: 162 + 202;
    # up 4→4: 148; block 12→16: 242 + 282; final 16→1: 17
    assert count_parameters(model) == 40 + 204 + 168 + 364 + 148 + 524 + 17 == 1465
    assert model.skip_channels == (8,)
    assert model.out_features == 16
    assert model.bottleneck.out_channels == 4
    assert model.final.in_channels == 16
    assert count_parameters(_bdu()) == _bdu_hand(1, 1, 4, 2, (2, 2), 2)


def test_bdu_paper_config_channels_and_count():
    model = BDU()
    assert model.skip_channels == (96, 144, 192, 240)
    assert model.out_features == 192
    assert [b.out_channels for b in model.up_blocks] == [48, 48, 48, 192]
    assert count_parameters(model) == _bdu_hand(1, 1, 48, 12, (4, 4, 4, 4), 4) == 1_104_673
    # the recommended CPU config of the module docstring
    assert _bdu_hand(1, 1, 16, 6, (2, 2, 2, 2), 2) == 76_249


def test_transposed_and_nearest_conv_variants():
    t, uc = _bdu(up="transposed"), _bdu(up="nearest_conv")
    ups_t = [m for m in t.modules() if isinstance(m, TransitionUp)]
    ups_uc = [m for m in uc.modules() if isinstance(m, TransitionUp)]
    assert [type(m.conv) for m in ups_t] == [nn.ConvTranspose2d] * 2
    assert [type(m.conv) for m in ups_uc] == [nn.Conv2d] * 2
    # hand formula: each transition up keeps n = bottleneck·k = 4 channels → 9·n² + n = 148
    for m in ups_t + ups_uc:
        assert count_parameters(m) == 9 * 4 * 4 + 4
    # so the totals differ by exactly 0 (the variants differ in operation, not in size) …
    assert count_parameters(t) - count_parameters(uc) == 0
    # … and the same weights give a different image
    uc.load_state_dict(t.state_dict())
    x = torch.rand(1, 3, 1, 32, 32)
    assert (t.eval()(x) - uc.eval()(x)).abs().max() > 1e-4


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def _step(h, w, col):
    y = torch.zeros(1, 1, h, w, dtype=torch.float64)
    y[..., col:] = 1.0
    return y


def test_gradient_loss_of_shifted_step_edge():
    y, pred = _step(32, 32, 16), _step(32, 32, 17)
    # L1: one wrong column of 32 → 1/32; ∂x: edge difference in two columns of 31 → 2/31; ∂y: 0
    assert float(l1_gradient_loss(pred, y)) == pytest.approx(1 / 32 + 2 / 31, abs=1e-12)
    assert float(l1_gradient_loss(pred, y, w_l1=0.0)) == pytest.approx(2 / 31, abs=1e-12)
    assert float(l1_gradient_loss(pred, y, w_dx=0.0)) == pytest.approx(1 / 32, abs=1e-12)
    # transposed: a vertical shift shows up in ∂y only
    yt, pt = y.transpose(-1, -2), pred.transpose(-1, -2)
    assert float(l1_gradient_loss(pt, yt, w_dy=0.5)) == pytest.approx(1 / 32 + 1 / 31, abs=1e-12)
    assert float(l1_gradient_loss(y, y)) == 0.0


def test_gradient_loss_sees_a_constant_offset_only_in_l1():
    y = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    assert float(l1_gradient_loss(y + 0.25, y)) == pytest.approx(0.25, abs=1e-12)


def test_ssim_loss_zero_for_identical_and_matches_metric():
    torch.manual_seed(4)
    y = torch.rand(2, 1, 32, 32)
    assert float(l1_ssim_loss(y, y)) == 0.0
    pred = (y + 0.1 * torch.randn_like(y)).clamp(0, 1)
    loss = l1_ssim_loss(pred, y, w_l1=0.0)
    expect = 1.0 - ssim(pred, y, data_range=1.0).mean()
    assert float(loss) == pytest.approx(float(expect), abs=1e-5)
    l1 = float((pred - y).abs().mean())
    assert float(l1_ssim_loss(pred, y)) == pytest.approx(l1 + float(expect), abs=1e-5)
    assert float(loss) > 0.05


def test_losses_are_differentiable():
    torch.manual_seed(5)
    y = torch.rand(1, 1, 6, 7, dtype=torch.float64)
    p = torch.rand(1, 1, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: l1_gradient_loss(a, y), (p,))
    y = torch.rand(1, 1, 13, 12, dtype=torch.float64)
    p = torch.rand(1, 1, 13, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: l1_ssim_loss(a, y), (p,))
    # and the SSIM loss decreases along its negative gradient
    loss = l1_ssim_loss(p, y)
    (g,) = torch.autograd.grad(loss, p)
    with torch.no_grad():
        assert float(l1_ssim_loss(p - 0.05 * g / g.norm(), y)) < float(loss)


def test_loss_shape_checks():
    with pytest.raises(ValueError):
        l1_gradient_loss(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 9))
    with pytest.raises(ValueError, match="≥ 11"):
        l1_ssim_loss(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))


# --------------------------------------------------------------------------------------------
# BatchNorm adaptation
# --------------------------------------------------------------------------------------------


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.drop = nn.Dropout(0.5)
        self.conv = nn.Conv2d(1, 1, 1)
        self.drop_modes = []

    def forward(self, x):
        self.drop_modes.append(self.drop.training)
        return self.conv(self.drop(self.bn(x)))


def test_adapt_batchnorm_moves_stats_keeps_weights_and_dropout():
    torch.manual_seed(6)
    model = _Toy().train()
    x = 3.0 + 2.0 * torch.randn(4, 1, 16, 16)
    before = {k: v.clone() for k, v in model.named_parameters()}
    out = adapt_batchnorm(model, x, n_passes=20)
    assert out is model
    keep = 0.9**20
    mean, var = float(x.mean()), float(x.var(unbiased=True))
    assert float(model.bn.running_mean) == pytest.approx((1 - keep) * mean, rel=1e-5)
    assert float(model.bn.running_var) == pytest.approx(keep + (1 - keep) * var, rel=1e-5)
    assert int(model.bn.num_batches_tracked) == 20
    for k, v in model.named_parameters():
        assert torch.equal(v, before[k]), k
    assert model.drop_modes == [False] * 20          # dropout off during every pass
    assert not any(m.training for m in model.modules())
    assert model.bn.momentum == 0.1


def test_adapt_batchnorm_reset_gives_cumulative_average_over_cycled_batches():
    torch.manual_seed(7)
    model = _Toy()
    a, b = 1.0 + torch.randn(2, 1, 8, 8), 5.0 + torch.randn(2, 1, 8, 8)
    adapt_batchnorm(model, [(a, "target"), (b, "target")], n_passes=4, reset=True)
    expect = (float(a.mean()) + float(b.mean())) / 2
    assert float(model.bn.running_mean) == pytest.approx(expect, rel=1e-5)
    expect_var = (float(a.var()) + float(b.var())) / 2
    assert float(model.bn.running_var) == pytest.approx(expect_var, rel=1e-5)
    assert model.bn.momentum == 0.1 and not model.training
    with pytest.raises(ValueError, match="no BatchNorm"):
        adapt_batchnorm(nn.Conv2d(1, 1, 1), a)
    with pytest.raises(ValueError, match="yielded nothing"):
        adapt_batchnorm(_Toy(), [])


def test_adapt_batchnorm_on_bdu_changes_only_bn_buffers():
    model = _bdu().train()
    params = {k: v.clone() for k, v in model.named_parameters()}
    bufs = {k: v.clone() for k, v in model.named_buffers() if k.endswith("running_mean")}
    adapt_batchnorm(model, torch.rand(1, 3, 1, 32, 32) * 0.3 + 0.6, n_passes=2)
    assert not any(m.training for m in model.modules())
    assert all(torch.equal(v, params[k]) for k, v in model.named_parameters())
    moved = [k for k, v in model.named_buffers() if k in bufs and not torch.equal(v, bufs[k])]
    assert len(moved) == len(bufs)
    # deterministic afterwards (dropout off, BN frozen)
    x = torch.rand(1, 3, 1, 32, 32)
    torch.testing.assert_close(model(x), model(x), atol=0, rtol=0)
    with torch.no_grad():
        assert math.isfinite(float(model(x).sum()))
