"""NAFNet and MIDNet, paper 001's network (deblurlab.models.nafnet)."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import deblurlab.models.nafnet as nafnet_module
from deblurlab.infer import predict
from deblurlab.models import count_parameters
from deblurlab.models.nafnet import (
    AttentionGate,
    LayerNorm2d,
    MIDNet,
    NAFBlock,
    NAFNet,
    SimpleGate,
)

SMALL = {"width": 16, "enc_blk_nums": (1, 1, 1, 2), "dec_blk_nums": (1, 1, 1, 1)}
TINY = {"width": 4, "enc_blk_nums": (1, 2), "dec_blk_nums": (1, 1), "middle_blk_num": 1}

#: (class, width, enc_blk_nums, img_channel) → parameters; middle 1, dec (1, 1, 1, 1).
EXPECTED_COUNTS = {
    (NAFNet, 32, (1, 1, 1, 28), 3): 17_111_907,
    (NAFNet, 32, (1, 1, 1, 28), 1): 17_110_753,
    (NAFNet, 64, (1, 1, 1, 28), 3): 67_888_835,
    (NAFNet, 64, (1, 1, 1, 28), 1): 67_886_529,
    (MIDNet, 32, (1, 1, 1, 28), 3): 17_287_431,
    (MIDNet, 32, (1, 1, 1, 28), 1): 17_286_277,
    (NAFNet, 16, (1, 1, 1, 2), 3): 1_256_115,
    (NAFNet, 16, (1, 1, 1, 2), 1): 1_255_537,
    (MIDNet, 16, (1, 1, 1, 2), 3): 1_300_359,
    (MIDNet, 16, (1, 1, 1, 2), 1): 1_299_781,
    (MIDNet, 64, (1, 1, 1, 28), 3): 68_588_039,
    (NAFNet, 8, (1, 1, 1, 2), 3): 321_499,
    (NAFNet, 8, (1, 1, 1, 2), 1): 321_209,
    (MIDNet, 8, (1, 1, 1, 2), 3): 332_743,
    (MIDNet, 8, (1, 1, 1, 2), 1): 332_453,
}

BLOCK_KEYS = [f"conv{i}.{p}" for i in range(1, 6) for p in ("weight", "bias")] + [
    "sca.1.weight", "sca.1.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
    "beta", "gamma"]


def official_keys(enc, middle, dec) -> set[str]:
    """State-dict keys of the official NAFNet_arch.NAFNet, written out from its structure."""
    keys = {"intro.weight", "intro.bias", "ending.weight", "ending.bias"}
    for i, n in enumerate(enc):
        keys |= {f"encoders.{i}.{j}.{k}" for j in range(n) for k in BLOCK_KEYS}
        keys |= {f"downs.{i}.weight", f"downs.{i}.bias"}
    keys |= {f"middle_blks.{j}.{k}" for j in range(middle) for k in BLOCK_KEYS}
    for i, n in enumerate(dec):
        keys |= {f"decoders.{i}.{j}.{k}" for j in range(n) for k in BLOCK_KEYS}
        keys.add(f"ups.{i}.0.weight")
    return keys


def _perturb_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter (β, γ included) a random nonzero value, so no block is an identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return model


# --------------------------------------------------------------------------------------------
# parameter counts


@pytest.mark.parametrize("key", list(EXPECTED_COUNTS), ids=lambda k: f"{k[0].__name__}-{k[1]}-"
                         f"{len(k[2])}x{sum(k[2])}-ch{k[3]}")
def test_parameter_counts(key):
    cls, width, enc, ch = key
    model = cls(img_channel=ch, width=width, enc_blk_nums=enc)
    assert count_parameters(model) == EXPECTED_COUNTS[key]


def test_nafblock_count_formula_and_gate_totals():
    for c in (4, 32, 256):
        assert count_parameters(NAFBlock(c)) == 7 * c * c + 33 * c
    # gates at width 32, F_int = C: channels 256, 128, 64, 32
    gates = sum(2 * (c * c + c) + c + 1 for c in (256, 128, 64, 32))
    assert gates == 175_524 == 17_287_431 - 17_111_907
    assert 17_111_907 - 17_110_753 == 2 * 9 * 32 * 2 + 2  # grey: intro and ending shrink


def test_midnet_is_nafnet_plus_gates():
    for kwargs in (SMALL, TINY, {**TINY, "width": 6}):
        for f_int, norm in ((None, False), (3, False), (None, True)):
            mid = MIDNet(img_channel=1, gate_f_int=f_int, gate_norm=norm, **kwargs)
            naf = NAFNet(img_channel=1, **kwargs)
            assert len(mid.gates) == len(kwargs["enc_blk_nums"])
            assert [g.channels for g in mid.gates] == naf.decoder_channels()
            n_gates = sum(count_parameters(g) for g in mid.gates)
            assert count_parameters(mid) == count_parameters(naf) + n_gates
            assert n_gates == sum(count_parameters(AttentionGate(c, f_int, norm))
                                  for c in naf.decoder_channels())


# --------------------------------------------------------------------------------------------
# building blocks


def test_layernorm2d_matches_manual_statistics_over_channels():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 4) * 3 + 1
    ln = LayerNorm2d(5)
    assert ln.eps == 1e-6
    assert torch.equal(ln.weight, torch.ones(5)) and torch.equal(ln.bias, torch.zeros(5))
    with torch.no_grad():
        ln.weight.copy_(torch.arange(1.0, 6.0))
        ln.bias.copy_(torch.linspace(-1, 1, 5))
    mu = x.mean(dim=1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=1, keepdim=True)  # biased
    manual = (x - mu) / torch.sqrt(var + 1e-6) * ln.weight.view(1, 5, 1, 1) \
        + ln.bias.view(1, 5, 1, 1)
    torch.testing.assert_close(ln(x), manual)
    # same as torch's layer_norm over the last dim of the channels-last tensor
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (5,), ln.weight, ln.bias, eps=1e-6)
    torch.testing.assert_close(ln(x), ref.permute(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_simple_gate_multiplies_halves():
    x = torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(SimpleGate()(x), x[:, :3] * x[:, 3:])


def test_nafblock_structure_and_skip_init():
    blk = NAFBlock(8)
    assert blk.conv2.groups == 16 and blk.conv2.weight.shape == (16, 1, 3, 3)
    assert isinstance(blk.sca[0], nn.AdaptiveAvgPool2d)
    assert blk.sca[1].weight.shape == (8, 8, 1, 1)
    assert blk.beta.shape == blk.gamma.shape == (1, 8, 1, 1)
    assert not blk.beta.any() and not blk.gamma.any()
    assert isinstance(blk.dropout1, nn.Identity)
    assert isinstance(NAFBlock(8, drop_out_rate=0.1).dropout1, nn.Dropout)
    x = torch.randn(1, 8, 5, 7)
    assert torch.equal(blk(x), x)
    with torch.no_grad():
        blk.beta.fill_(0.5)
    assert not torch.allclose(blk(x), x)


def test_nafblock_matches_hand_written_forward():
    torch.manual_seed(1)
    blk = _perturb_(NAFBlock(4))
    x = torch.randn(2, 4, 6, 5)

    def ln(t, m):
        mu = t.mean(1, keepdim=True)
        s = ((t - mu) ** 2).mean(1, keepdim=True)
        return (t - mu) / (s + 1e-6).sqrt() * m.weight.view(1, -1, 1, 1) + m.bias.view(1, -1, 1, 1)

    t = blk.conv2(blk.conv1(ln(x, blk.norm1)))
    t = t[:, :4] * t[:, 4:]
    t = t * blk.sca[1](t.mean(dim=(2, 3), keepdim=True))
    y = x + blk.conv3(t) * blk.beta
    t = blk.conv4(ln(y, blk.norm2))
    out = y + blk.conv5(t[:, :4] * t[:, 4:]) * blk.gamma
    torch.testing.assert_close(blk(x), out)


def test_attention_gate_output_is_skip_times_coefficients():
    torch.manual_seed(2)
    gate = _perturb_(AttentionGate(32))
    assert count_parameters(gate) == 2 * (32 * 32 + 32) + 32 + 1 == 2_145
    assert count_parameters(AttentionGate(32, norm=True)) == 2_145 + 2 * (2 * 32) + 2
    assert count_parameters(AttentionGate(32, f_int=8)) == 2 * (32 * 8 + 8) + 8 + 1
    x_a, x_b = torch.randn(2, 32, 5, 6), torch.randn(2, 32, 5, 6)
    out = gate(x_a, x_b)
    alpha = gate.coefficients(x_a, x_b)
    assert alpha.shape == (2, 1, 5, 6)
    assert bool(((alpha > 0) & (alpha < 1)).all())
    torch.testing.assert_close(out, x_b * alpha)
    # independent computation from the conv weights
    wa, wb, psi = gate.w_a[0], gate.w_b[0], gate.psi[0]
    q = (torch.einsum("fc,nchw->nfhw", wa.weight[:, :, 0, 0], x_a) + wa.bias.view(1, -1, 1, 1)
         + torch.einsum("fc,nchw->nfhw", wb.weight[:, :, 0, 0], x_b) + wb.bias.view(1, -1, 1, 1))
    a = torch.einsum("of,nfhw->nohw", psi.weight[:, :, 0, 0], q.clamp_min(0)) + psi.bias
    torch.testing.assert_close(out, x_b * torch.sigmoid(a), rtol=1e-5, atol=1e-6)
    # the map does not depend on the channel: out / x_b is the same in every channel
    ratio = out / x_b
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))


def test_attention_gate_norm_variant_and_errors():
    gate = AttentionGate(4, f_int=2, norm=True)
    assert isinstance(gate.w_a[1], nn.BatchNorm2d) and isinstance(gate.psi[1], nn.BatchNorm2d)
    out = gate(torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3))
    assert out.shape == (2, 4, 3, 3)
    with pytest.raises(ValueError, match="x_a and x_b"):
        gate(torch.randn(1, 4, 3, 3), torch.randn(1, 4, 3, 4))
    with pytest.raises(ValueError, match="x_a and x_b"):
        gate(torch.randn(1, 3, 3, 3), torch.randn(1, 3, 3, 3))
    with pytest.raises(ValueError, match="f_int"):
        AttentionGate(4, f_int=0)


# --------------------------------------------------------------------------------------------
# whole network


@pytest.mark.parametrize("cls", [NAFNet, MIDNet])
@pytest.mark.parametrize("shape", [(1, 1, 37, 45), (2, 1, 16, 16), (1, 1, 1, 3)])
def test_shape_preserved_for_any_size(cls, shape):
    model = _perturb_(cls(img_channel=1, **TINY))
    assert model.size_multiple == 1 and model.padder_size == 4
    out = model(torch.rand(*shape))
    assert out.shape == shape and out.dtype == torch.float32


def test_padding_is_zero_right_bottom_then_cropped():
    torch.manual_seed(3)
    model = _perturb_(NAFNet(img_channel=1, **TINY))
    x = torch.rand(1, 1, 13, 10)
    padded = F.pad(x, (0, 2, 0, 3))  # to 16 × 12, zeros right/bottom
    torch.testing.assert_close(model(x), model(padded)[:, :, :13, :10])


def test_rgb_and_predict():
    model = NAFNet(img_channel=3, width=4, enc_blk_nums=(1,), dec_blk_nums=(1,))
    x = torch.rand(1, 3, 9, 11)
    assert predict(model, x).shape == (1, 3, 9, 11)


def test_fresh_nafnet_blocks_are_identities():
    torch.manual_seed(4)
    model = NAFNet(img_channel=1, **TINY)
    blocks = [m for m in model.modules() if isinstance(m, NAFBlock)]
    assert len(blocks) == 1 + 2 + 1 + 1 + 1
    seen = []
    hooks = [b.register_forward_hook(lambda m, i, o: seen.append(torch.equal(i[0], o)))
             for b in blocks]
    x = torch.rand(2, 1, 16, 20)
    out = model(x)
    for h in hooks:
        h.remove()
    assert seen == [True] * len(blocks)
    # with the blocks being identities the network is intro → downs → ups (+skips) → ending
    feats, f = [], model.intro(x)
    for down in model.downs:
        feats.append(f)
        f = down(f)
    for up in model.ups:
        f = up(f) + feats.pop()
    torch.testing.assert_close(out, x + model.ending(f))
    # and with the up-projections zeroed, NAFNet(x) == x + ending(intro(x))
    with torch.no_grad():
        for up in model.ups:
            up[0].weight.zero_()
    torch.testing.assert_close(model(x), x + model.ending(model.intro(x)))


def test_midnet_gates_wire_the_skips():
    torch.manual_seed(5)
    naf = _perturb_(NAFNet(img_channel=1, **TINY))
    mid = MIDNet(img_channel=1, **TINY)
    result = mid.load_state_dict(naf.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(k.startswith("gates.") for k in result.missing_keys)
    x = torch.rand(1, 1, 12, 16)
    with torch.no_grad():
        for g in mid.gates:  # gate wide open: sigmoid ≈ 1 → MIDNet == NAFNet
            g.psi[0].weight.zero_()
            g.psi[0].bias.fill_(40.0)
    torch.testing.assert_close(mid(x), naf(x))
    with torch.no_grad():
        for g in mid.gates:  # gate shut: the skips are dropped
            g.psi[0].bias.fill_(-40.0)
    shut = mid(x)
    assert not torch.allclose(shut, naf(x), atol=1e-3)

    class NoSkip(NAFNet):
        def merge(self, level, x, skip):
            return x + 0 * skip

    no_skip = NoSkip(img_channel=1, **TINY)
    no_skip.load_state_dict(naf.state_dict())
    torch.testing.assert_close(shut, no_skip(x))


def test_state_dict_uses_official_names_and_round_trips():
    model = NAFNet()  # GoPro width-32 config
    sd = model.state_dict()
    assert set(sd) == official_keys((1, 1, 1, 28), 1, (1, 1, 1, 1))
    assert sd["encoders.3.27.conv4.weight"].shape == (512, 256, 1, 1)
    assert sd["middle_blks.0.sca.1.weight"].shape == (512, 512, 1, 1)
    assert sd["ups.0.0.weight"].shape == (1024, 512, 1, 1)
    assert sd["downs.0.weight"].shape == (64, 32, 2, 2)
    assert sd["decoders.3.0.beta"].shape == (1, 32, 1, 1)
    assert sd["encoders.0.0.conv2.weight"].shape == (64, 1, 3, 3)
    assert sd["encoders.0.0.norm1.weight"].shape == (32,)
    # an official-style checkpoint {"params": state_dict} loads strictly into a fresh model
    ckpt = {"params": {k: torch.randn_like(v) for k, v in sd.items()}}
    fresh = NAFNet()
    fresh.load_state_dict(ckpt["params"], strict=True)
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, ckpt["params"][k]), k


def test_midnet_state_dict_round_trips():
    mid = _perturb_(MIDNet(img_channel=1, gate_norm=True, **TINY))
    sd = mid.state_dict()
    assert official_keys(TINY["enc_blk_nums"], 1, TINY["dec_blk_nums"]) < set(sd)
    assert "gates.0.w_a.0.weight" in sd and "gates.1.psi.1.running_mean" in sd
    fresh = MIDNet(img_channel=1, gate_norm=True, **TINY)
    fresh.load_state_dict(sd, strict=True)
    mid.eval(), fresh.eval()
    x = torch.rand(1, 1, 8, 8)
    torch.testing.assert_close(fresh(x), mid(x))


def test_gradients_reach_the_weights():
    model = _perturb_(MIDNet(img_channel=1, **TINY))
    x = torch.rand(2, 1, 9, 10)
    (model(x) - x).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.gates[0].w_a[0].weight.grad.abs().sum() > 0


def test_fresh_model_gradients_flow_through_skip_init():
    model = NAFNet(img_channel=1, **TINY)
    x = torch.rand(2, 1, 8, 8)
    (model(x) - 0.5).square().mean().backward()
    assert model.encoders[0][0].beta.grad.abs().sum() > 0
    assert model.decoders[-1][0].gamma.grad.abs().sum() > 0


def test_input_validation():
    model = NAFNet(img_channel=1, **TINY)
    with pytest.raises(ValueError, match=r"expects \(N, 1, H, W\)"):
        model(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"expects \(N, 1, H, W\)"):
        model(torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="MIDNet expects"):
        MIDNet(img_channel=3, **TINY)(torch.rand(1, 1, 8, 8))


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0}, "width"),
    ({"img_channel": 2.0}, "img_channel"),
    ({"middle_blk_num": -1}, "middle_blk_num"),
    ({"enc_blk_nums": (1, 1), "dec_blk_nums": (1,)}, "same length"),
    ({"enc_blk_nums": (1, -1), "dec_blk_nums": (1, 1)}, r"enc_blk_nums\[1\]"),
    ({"enc_blk_nums": "11", "dec_blk_nums": (1, 1)}, "enc_blk_nums"),
])
def test_bad_configuration_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NAFNet(**kwargs)


def test_bad_block_and_gate_arguments_raise():
    with pytest.raises(ValueError, match="even"):
        NAFBlock(3, dw_expand=1)
    with pytest.raises(ValueError, match="drop_out_rate"):
        NAFBlock(4, drop_out_rate=1.0)
    with pytest.raises(ValueError, match="gate_f_int"):
        MIDNet(img_channel=1, gate_f_int=0, **TINY)


def test_extra_repr_names_configuration():
    r = repr(MIDNet(img_channel=1, gate_f_int=2, **TINY))
    assert "enc_blk_nums=(1, 2)" in r and "gate_f_int=2" in r


def test_doctests():
    assert doctest.testmod(nafnet_module).failed == 0


# --- inference in row strips (large inputs, no autograd) -----------------------------------------

def _acting(model: nn.Module) -> nn.Module:
    """β, γ drawn at random so that every block acts (fresh blocks are identities)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("beta", "gamma")):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return model.eval()


def _strip_models() -> list:
    from deblurlab.models.ehnet import EHNet
    from deblurlab.models.local_stats import to_local_stats

    torch.manual_seed(0)
    naf = _acting(NAFNet(img_channel=1, width=8, enc_blk_nums=(1, 1, 2), dec_blk_nums=(1, 1, 1)))
    mid = _acting(MIDNet(img_channel=1, width=8, enc_blk_nums=(1, 1, 2), dec_blk_nums=(1, 1, 1)))
    eh = _acting(EHNet(img_channel=1, width=8, middle_blk_num=2, enc_blk_nums=(1, 1),
                       dec_blk_nums=(1, 1)))  # ConvBlocks: NAFBlocks with 4× expansion
    return [("nafnet", naf), ("midnet", mid), ("nafnet TLC", to_local_stats(naf, 32)),
            ("midnet TLC", to_local_stats(mid, 32)), ("ehnet", eh)]


@pytest.fixture
def tiny_strips(monkeypatch):
    """Strips of a few rows (and pools of one channel at a time) on small test inputs."""
    import deblurlab.models.local_stats as local_stats

    monkeypatch.setattr(nafnet_module, "STRIP_ELEMENTS", 700)
    monkeypatch.setattr(local_stats, "CHUNK_ELEMENTS", 1)
    calls = {"strips": 0}
    original = NAFBlock._forward_strips

    def counted(self, inp):
        calls["strips"] += 1
        return original(self, inp)

    monkeypatch.setattr(NAFBlock, "_forward_strips", counted)
    return calls


@pytest.mark.parametrize("name, model", _strip_models(), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_strip_inference_gives_the_plain_forward(tiny_strips, name, model):
    from deblurlab.infer import _nhwc_weights, _run

    x = torch.rand(2, 1, 128, 64)  # odd strip counts: 128 rows in strips of 1–5 rows
    x_before = x.clone()
    plain = model(x).detach()  # autograd on: the plain path
    assert tiny_strips["strips"] == 0
    with torch.inference_mode():
        strips = model(x)
        assert tiny_strips["strips"] > 0
        nhwc = _run(model, x, _nhwc_weights(model))  # predict's channels_last path
    assert torch.equal(x, x_before)  # the in-place writes never touch the caller's input
    assert (plain - x).abs().max() > 1e-2  # the blocks act, so the comparison means something
    assert (strips - plain).abs().max() <= 1e-5, name
    assert (nhwc - plain).abs().max() <= 1e-5, name


def test_strips_cover_every_row_even_one_at_a_time(tiny_strips, monkeypatch):
    monkeypatch.setattr(nafnet_module, "STRIP_ELEMENTS", 1)  # one row per strip
    block = _acting(nn.Sequential(NAFBlock(4)))[0]
    x = torch.rand(1, 4, 7, 5)
    plain = block(x).detach()
    with torch.no_grad():
        strips = block(x)
    assert tiny_strips["strips"] == 1
    assert (strips - plain).abs().max() <= 1e-6


def test_strips_only_without_autograd_in_eval_mode(tiny_strips):
    model = _acting(MIDNet(img_channel=1, **TINY))
    x = torch.rand(1, 1, 32, 32, requires_grad=True)
    model(x).square().mean().backward()  # autograd on: no in-place strips in the graph
    assert x.grad is not None and x.grad.abs().max() > 0
    x = x.detach()
    model.train()
    with torch.no_grad():
        model(x)  # training mode (dropout would act)
    assert tiny_strips["strips"] == 0
    model.eval()
    with torch.no_grad():
        model(x)
    assert tiny_strips["strips"] > 0


# Peak RSS of one inference-mode forward in a fresh interpreter, with the strips at their
# default size or made so large that the plain path runs (the method: ``peak_rss_increase`` in
# tests/conftest.py).
_STRIP_PEAK_SCRIPT = r"""
import sys
import deblurlab.models.nafnet as nafnet
from deblurlab.models.local_stats import to_local_stats

if sys.argv[1] == "plain":
    nafnet.STRIP_ELEMENTS = 1 << 62
model = to_local_stats(nafnet.MIDNet(img_channel=1, width=16, enc_blk_nums=(1, 1, 1, 2),
                                     dec_blk_nums=(1, 1, 1, 1)), 64).eval()
x = torch.rand(1, 1, 1024, 1024)
with torch.inference_mode():
    model(x[..., :64, :64])  # warm up kernels and the allocator
    start = start_peak()
    y = model(x)
    peak_increase(start)
"""


def test_strip_inference_needs_far_less_memory(peak_rss_increase):
    # MIDNet-w16 with local statistics on a 1024² grey image: one full-resolution feature map is
    # 16 × 1024² × 4 B = 64 MiB. The plain forward holds about 7 of them at its peak (block
    # input, LN temporaries, the 2× expanded conv outputs, skips; measured 462 MiB), the strip
    # path about 4 (the block input, the gated map, the local means, a skip; measured 272 MiB).
    # A fixed glibc mmap threshold returns every freed buffer at once, so the peak RSS counts
    # live tensors (glibc's adaptive threshold keeps freed strips in its heap: the figures then
    # varied by ±80 MiB between runs).
    env = {"MALLOC_MMAP_THRESHOLD_": "65536"}
    plain, strips = (peak_rss_increase(_STRIP_PEAK_SCRIPT, mode, env=env)
                     for mode in ("plain", "strips"))
    print(f"peak increase: plain {plain:.0f} MiB, strips {strips:.0f} MiB")
    assert plain > 6 * 64
    assert strips < 5 * 64
