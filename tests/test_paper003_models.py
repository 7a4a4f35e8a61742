"""Paper 003's networks ARKNet, XY-Deblur, EHNet (deblurlab.models.arknet/xydeblur/ehnet)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import deblurlab.models.arknet as arknet_module
import deblurlab.models.ehnet as ehnet_module
import deblurlab.models.xydeblur as xydeblur_module
from deblurlab.infer import predict
from deblurlab.models import count_parameters
from deblurlab.models.arknet import ARKNet, keras_init_
from deblurlab.models.ehnet import (
    MHTA,
    MWSA,
    AdaptiveGate,
    ConvBlock,
    Downsample,
    EHNet,
    TFBlock,
    Upsample,
)
from deblurlab.models.nafnet import NAFBlock
from deblurlab.models.xydeblur import XYDeblur, rot, rot_inv

ARK_TINY = {"widths": (4, 8, 16), "convs_per_block": 2}  # size_multiple 4
XY_TINY = {"width": 8, "num_res": 1}
EH_TINY = {"width": 8, "enc_blk_nums": (1,), "middle_blk_num": 2, "dec_blk_nums": (1,)}  # 32
EH_SMALL = {"width": 16, "enc_blk_nums": (1, 1), "middle_blk_num": 2, "dec_blk_nums": (1, 1)}

#: (factory, kwargs) → parameters. The official counts come from METHODS §4.7; the RGB ARKNet,
#: grey EHNet and small-config counts are this implementation's (documented in the modules).
EXPECTED_COUNTS = [
    ("ARKNet official grey", ARKNet, {}, 4_891_216),
    ("ARKNet official RGB", ARKNet, {"in_ch": 3}, 4_891_536),
    ("ARKNet small grey", ARKNet, {"widths": (8, 16, 32, 64, 128)}, 1_224_744),
    ("XYDeblur official RGB", XYDeblur, {}, 4_918_627),
    ("XYDeblur official grey", XYDeblur, {"in_ch": 1}, 4_917_473),
    ("XYDeblur small grey", XYDeblur, {"in_ch": 1, "width": 16, "num_res": 2}, 455_025),
    ("EHNet official RGB", EHNet, {}, 8_779_923),
    ("EHNet official grey", EHNet, {"img_channel": 1}, 8_778_193),
    ("EHNet small grey", EHNet, {"img_channel": 1, **EH_SMALL}, 267_801),
]


def _perturb_(model: nn.Module, seed: int = 0, scale: float = 0.2) -> nn.Module:
    """Random nonzero values for every parameter (zero-initialised scales included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g))
    return model


# --------------------------------------------------------------------------------------------
# parameter counts


@pytest.mark.parametrize("name,cls,kwargs,expected", EXPECTED_COUNTS,
                         ids=[c[0] for c in EXPECTED_COUNTS])
def test_parameter_counts(name, cls, kwargs, expected):
    assert count_parameters(cls(**kwargs)) == expected


def test_count_differences_follow_the_first_and_last_convs():
    # grey vs RGB: first conv 2·9·w weights; last conv 2·9·w weights + 2 biases (none in ARKNet,
    # whose output conv is 1×1 without bias)
    assert 4_918_627 - 4_917_473 == 2 * 9 * 32 + 2 * 9 * 32 + 2
    assert 8_779_923 - 8_778_193 == 2 * 9 * 48 + 2 * 9 * 48 + 2
    assert 4_891_536 - 4_891_216 == 2 * 9 * 16 + 2 * 16
    # Keras' count_params() would add the BatchNorm moving statistics (non-trainable)
    model = ARKNet()
    moving = sum(m.running_mean.numel() + m.running_var.numel()
                 for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert moving == 7_360
    assert count_parameters(model) + moving == 4_898_576
    assert count_parameters(model, trainable_only=True) == 4_891_216


# --------------------------------------------------------------------------------------------
# official parameter names


def _xy_official_keys(n: int = 6) -> set[str]:
    """Keys of Seowon-Ji/XYDeblur models/XYDeblur.py, written out from its structure."""
    wb = ("weight", "bias")

    def res(prefix: str) -> set[str]:
        return {f"{prefix}.main.{a}.main.0.{p}" for a in (0, 1) for p in wb}

    keys: set[str] = set()
    for e in (1, 2, 3):
        keys |= {f"Encoder{e}.layers.0.main.0.{p}" for p in wb}
        for j in range(1, n + 1):
            keys |= res(f"Encoder{e}.layers.{j}")
    for d in (1, 2, 3):
        for j in range(n):
            keys |= res(f"Decoder1_{d}.layers.{j}")
    for d in (1, 2):
        keys |= {f"Decoder1_{d}.layers.{n}.main.0.{p}" for p in wb}
    keys |= {f"{m}.main.0.{p}" for m in ("Decoder1_4", "Convs1_1", "Convs1_2") for p in wb}
    return keys


_NAF = [f"conv{i}.{p}" for i in range(1, 6) for p in ("weight", "bias")] + [
    "sca.1.weight", "sca.1.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
    "beta", "gamma"]
_TF = [f"{c}.{p}" for c in ("conv1", "conv2a", "conv2b", "conv3", "conv4", "conv5", "norm1",
                            "norm2", "sg.norm") for p in ("weight", "bias")] + [
    "C_attn.temperature", "C_attn.qkv_dwconv.weight", "C_attn.project_out.weight",
    "S_attn.dw.weight", "S_attn.out.weight", "alpha", "beta", "gamma"]


def _eh_official_keys(enc=(6, 6), middle=12, dec=(6, 10)) -> set[str]:
    """Keys of the official EHNet.py, written out from its structure."""
    keys = {"intro.weight", "intro.bias", "ending.weight", "ending.bias"}
    for i, n in enumerate(enc):
        keys |= {f"encoders.{i}.{j}.{k}" for j in range(n) for k in _NAF}
        keys.add(f"downs.{i}.body.1.weight")
    keys |= {f"middle_blks.{j}.{k}" for j in range(middle // 2) for k in _NAF}
    keys |= {f"middle_blks.{j}.{k}" for j in range(middle // 2, middle) for k in _TF}
    for i, n in enumerate(dec):
        keys.add(f"ups.{i}.body.1.weight")
        keys |= {f"fuses.{i}.att_channel.{k}" for k in _TF}
        keys |= {f"fuses.{i}.{c}.{p}" for c in ("conv", "conv2") for p in ("weight", "bias")}
        keys |= {f"decoders.{i}.{j}.{k}" for j in range(n) for k in _TF}
    return keys


def test_xydeblur_official_state_dict_keys_and_shapes():
    sd = XYDeblur().state_dict()
    assert set(sd) == _xy_official_keys()
    shapes = {
        "Encoder1.layers.0.main.0.weight": (32, 3, 3, 3),
        "Encoder2.layers.0.main.0.weight": (64, 32, 3, 3),  # stride-2 conv
        "Encoder3.layers.6.main.1.main.0.weight": (128, 128, 3, 3),
        "Decoder1_1.layers.6.main.0.weight": (128, 64, 4, 4),  # ConvTranspose2d (in, out, k, k)
        "Decoder1_2.layers.6.main.0.bias": (32,),
        "Convs1_1.main.0.weight": (64, 128, 1, 1),
        "Convs1_2.main.0.weight": (32, 64, 1, 1),
        "Decoder1_4.main.0.weight": (3, 32, 3, 3),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    assert isinstance(XYDeblur().Decoder1_1.layers[6].main[0], nn.ConvTranspose2d)
    grey = XYDeblur(in_ch=1).state_dict()
    assert grey["Encoder1.layers.0.main.0.weight"].shape == (32, 1, 3, 3)
    assert grey["Decoder1_4.main.0.bias"].shape == (1,)


def test_ehnet_official_state_dict_keys_and_shapes():
    sd = EHNet().state_dict()
    assert set(sd) == _eh_official_keys()
    shapes = {
        "intro.weight": (48, 3, 3, 3),
        "encoders.0.0.conv1.weight": (192, 48, 1, 1),  # ConvBlock DW_Expand 4
        "encoders.1.5.conv2.weight": (384, 1, 3, 3),
        "encoders.0.0.sca.1.weight": (96, 96, 1, 1),
        "downs.0.body.1.weight": (96, 48, 3, 3),
        "downs.1.body.1.weight": (192, 96, 3, 3),
        "middle_blks.6.C_attn.temperature": (8, 1, 1),
        "middle_blks.6.C_attn.qkv_dwconv.weight": (576, 1, 3, 3),
        "middle_blks.6.S_attn.dw.weight": (576, 1, 3, 3),
        "middle_blks.11.S_attn.out.weight": (192, 288, 1, 1),
        "middle_blks.11.conv2b.weight": (384, 1, 3, 3),
        "middle_blks.11.sg.norm.weight": (192,),
        "ups.0.body.1.weight": (96, 192, 3, 3),
        "fuses.0.conv.weight": (192, 192, 1, 1),
        "fuses.0.att_channel.alpha": (1, 192, 1, 1),
        "fuses.1.att_channel.conv1.weight": (192, 96, 1, 1),
        "decoders.0.5.conv5.weight": (96, 96, 1, 1),
        "decoders.1.9.conv2a.weight": (48, 48, 1, 1),
        "ending.weight": (3, 48, 3, 3),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key


def test_arknet_parameter_names_and_shapes():
    model = ARKNet()
    sd = model.state_dict()
    shapes = {
        "encoders.0.0.conv.weight": (16, 1, 3, 3),
        "encoders.0.4.bn.running_var": (16,),
        "encoders.3.1.conv.weight": (128, 128, 3, 3),
        "bridge.0.conv.weight": (256, 128, 3, 3),
        "bridge.4.bn.weight": (256,),
        "ups.0.weight": (256, 128, 2, 2),
        "ups.0.bias": (128,),
        "ups.3.weight": (32, 16, 2, 2),
        "decoders.0.0.conv.weight": (128, 256, 3, 3),
        "decoders.3.0.conv.weight": (16, 32, 3, 3),
        "output.weight": (1, 16, 1, 1),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    assert not any(k.endswith("conv.bias") for k in sd) and "output.bias" not in sd
    assert [len(b) for b in (*model.encoders, model.bridge, *model.decoders)] == [5] * 9
    assert sum(isinstance(m, nn.Conv2d) and not isinstance(m, nn.ConvTranspose2d)
               for m in model.modules()) == 9 * 5 + 1


# --------------------------------------------------------------------------------------------
# shapes, sizes and errors

SHAPE_CASES = [
    (ARKNet, dict(ARK_TINY), 1, [(4, 4), (8, 12), (12, 8)]),
    (ARKNet, dict(ARK_TINY, in_ch=3), 3, [(8, 4)]),
    (XYDeblur, dict(XY_TINY, in_ch=1), 1, [(4, 4), (8, 12), (16, 4)]),
    (XYDeblur, dict(XY_TINY), 3, [(8, 12)]),
    (EHNet, dict(EH_TINY, img_channel=1), 1, [(32, 32), (32, 64), (64, 32)]),
    (EHNet, dict(EH_TINY), 3, [(32, 64)]),
]


@pytest.mark.parametrize("cls,kwargs,ch,sizes", SHAPE_CASES,
                         ids=[f"{c[0].__name__}-ch{c[2]}" for c in SHAPE_CASES])
def test_output_shape_is_preserved(cls, kwargs, ch, sizes):
    torch.manual_seed(0)
    model = cls(**kwargs)
    assert all(s[0] % model.size_multiple == 0 and s[1] % model.size_multiple == 0
               for s in sizes)
    for h, w in sizes:
        y = model(torch.rand(2, ch, h, w))
        assert y.shape == (2, ch, h, w) and y.dtype == torch.float32
        assert torch.isfinite(y).all()


def test_size_multiples():
    assert ARKNet.size_multiple == ARKNet().size_multiple == 16
    assert ARKNet(**ARK_TINY).size_multiple == 4
    assert XYDeblur.size_multiple == XYDeblur(**XY_TINY).size_multiple == 4
    assert EHNet.size_multiple == 64 and EHNet(**EH_SMALL).size_multiple == 64
    assert EHNet(**EH_TINY).size_multiple == 32
    assert EHNet(**EH_TINY, window_sizes=(4, 6)).size_multiple == 2 * 12


@pytest.mark.parametrize("model,bad_sizes", [
    (ARKNet(**ARK_TINY), [(6, 8), (8, 10), (3, 3)]),
    (XYDeblur(in_ch=1, **XY_TINY), [(6, 8), (8, 2), (5, 5)]),
    (EHNet(img_channel=1, **EH_TINY), [(16, 32), (32, 48), (36, 36)]),
], ids=["ARKNet", "XYDeblur", "EHNet"])
def test_disallowed_sizes_raise(model, bad_sizes):
    for h, w in bad_sizes:
        with pytest.raises(ValueError, match="multiples of"):
            model(torch.rand(1, 1, h, w))


@pytest.mark.parametrize("model,ch", [(ARKNet(**ARK_TINY), 1), (XYDeblur(in_ch=1, **XY_TINY), 1),
                                      (EHNet(img_channel=1, **EH_TINY), 1),
                                      (XYDeblur(**XY_TINY), 3)],
                         ids=["ARKNet", "XYDeblur-grey", "EHNet", "XYDeblur-rgb"])
def test_wrong_channels_or_rank_raise(model, ch):
    size = 32
    for bad in (torch.rand(1, ch + 1, size, size), torch.rand(ch, size, size)):
        with pytest.raises(ValueError, match="expects"):
            model(bad)


@pytest.mark.parametrize("factory,match", [
    (lambda: ARKNet(in_ch=0), "in_ch"),
    (lambda: ARKNet(widths=(16,)), "widths"),
    (lambda: ARKNet(widths="abc"), "widths"),
    (lambda: ARKNet(widths=(16, 0)), r"widths\[1\]"),
    (lambda: ARKNet(convs_per_block=0), "convs_per_block"),
    (lambda: ARKNet(init="he"), "init"),
    (lambda: XYDeblur(in_ch=True), "in_ch"),
    (lambda: XYDeblur(width=15), "even"),
    (lambda: XYDeblur(num_res=-1), "num_res"),
    (lambda: EHNet(img_channel=0), "img_channel"),
    (lambda: EHNet(width=20), "multiple of num_heads"),
    (lambda: EHNet(middle_blk_num=3), "even"),
    (lambda: EHNet(enc_blk_nums=(6, 6), dec_blk_nums=(6,)), "same length"),
    (lambda: EHNet(enc_blk_nums=(), dec_blk_nums=()), "same length"),
    (lambda: EHNet(window_sizes=(4, 7)), "even"),
    (lambda: EHNet(window_sizes=()), "window_sizes"),
    (lambda: EHNet(enc_blk_nums=(1, -1)), r"enc_blk_nums\[1\]"),
])
def test_bad_configuration_raises(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_predict_pads_to_the_size_multiple():
    model = EHNet(img_channel=1, **EH_TINY)
    out = predict(model, np.random.default_rng(0).random((21, 37), dtype=np.float32))
    assert out.shape == (21, 37)


# --------------------------------------------------------------------------------------------
# state dicts and gradients

ROUND_TRIP = [
    ("ARKNet", lambda: ARKNet(**ARK_TINY), (2, 1, 8, 12)),
    ("XYDeblur", lambda: XYDeblur(in_ch=1, **XY_TINY), (2, 1, 8, 12)),
    ("EHNet", lambda: EHNet(img_channel=1, **EH_TINY), (1, 1, 32, 64)),
]


@pytest.mark.parametrize("name,factory,shape", ROUND_TRIP, ids=[r[0] for r in ROUND_TRIP])
def test_state_dict_round_trip_strict(name, factory, shape):
    torch.manual_seed(0)
    a = _perturb_(factory(), seed=1)
    torch.manual_seed(1)
    b = factory()
    x = torch.rand(shape)
    a.eval(), b.eval()
    assert not torch.allclose(a(x), b(x))
    result = b.load_state_dict(a.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


@pytest.mark.parametrize("name,factory,shape,first", [
    (*ROUND_TRIP[0], "encoders.0.0.conv.weight"),
    (*ROUND_TRIP[1], "Encoder1.layers.0.main.0.weight"),
    (*ROUND_TRIP[2], "intro.weight"),
], ids=[r[0] for r in ROUND_TRIP])
def test_gradients_reach_the_first_layer(name, factory, shape, first):
    torch.manual_seed(0)
    model = factory()
    x, y = torch.rand(shape), torch.rand(shape)
    F.l1_loss(model(x), y).backward()
    grads = dict(model.named_parameters())
    g = grads[first].grad
    assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


# --------------------------------------------------------------------------------------------
# ARKNet specifics


def test_arknet_keras_layers_and_global_residual():
    model = ARKNet(**ARK_TINY)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.eps == 1e-3 and m.momentum == 0.01 for m in bns)
    gelus = [m for m in model.modules() if isinstance(m, nn.GELU)]
    assert len(gelus) == len(bns) and all(g.approximate == "none" for g in gelus)
    ups = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert all(u.kernel_size == (2, 2) and u.stride == (2, 2) and u.bias is not None
               for u in ups)
    # the network predicts a residual: a zero output conv gives the identity
    with torch.no_grad():
        model.output.weight.zero_()
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(model(x), x)


def test_arknet_keras_init_statistics():
    torch.manual_seed(0)
    model = ARKNet()
    w = model.bridge[1].conv.weight  # 256·256·9 weights, fan_in 2304
    std = math.sqrt(2 / 2304)
    assert abs(w.std().item() / std - 1) < 0.02  # Keras' truncation correction keeps σ
    assert w.abs().max().item() <= 2 * std / 0.87962566103423978 + 1e-6
    t = model.ups[0]
    limit = math.sqrt(6 / ((256 + 128) * 4))
    assert t.weight.abs().max().item() <= limit and t.weight.std().item() > 0.5 * limit / 3**0.5
    assert not t.bias.any()
    torch.manual_seed(0)
    plain = ARKNet(init="torch")
    assert not torch.equal(plain.bridge[1].conv.weight, keras_init_(ARKNet(init="torch"))
                           .bridge[1].conv.weight)


def test_arknet_matches_hand_written_forward():
    """Keras wiring: decoder input = concat([transposed-conv output, skip]) (upsampled first)."""
    torch.manual_seed(0)
    model = _perturb_(ARKNet(**ARK_TINY), scale=0.3).eval()
    x = torch.rand(2, 1, 8, 12)
    s1 = model.encoders[0](x)
    s2 = model.encoders[1](F.max_pool2d(s1, 2))
    b = model.bridge(F.max_pool2d(s2, 2))
    d = model.decoders[0](torch.cat([model.ups[0](b), s2], 1))
    d = model.decoders[1](torch.cat([model.ups[1](d), s1], 1))
    torch.testing.assert_close(model(x), model.output(d) + x)


def test_arknet_max_pools_between_levels():
    model = ARKNet(**ARK_TINY).eval()
    seen = []
    model.pool.register_forward_hook(lambda m, i, o: seen.append((tuple(i[0].shape),
                                                                  tuple(o.shape))))
    model(torch.rand(1, 1, 8, 12))
    assert seen == [((1, 4, 8, 12), (1, 4, 4, 6)), ((1, 8, 4, 6), (1, 8, 2, 3))]


# --------------------------------------------------------------------------------------------
# XY-Deblur specifics


def test_rotation_is_rot90_and_invertible():
    x = torch.rand(2, 3, 4, 6)
    assert torch.equal(rot(x), torch.rot90(x, 1, (2, 3)))
    assert torch.equal(rot_inv(x), torch.rot90(x, -1, (2, 3)))
    assert torch.equal(rot_inv(rot(x)), x) and torch.equal(rot(rot_inv(x)), x)


def test_xydeblur_branches_share_one_decoder():
    torch.manual_seed(0)
    model = _perturb_(XYDeblur(in_ch=1, **XY_TINY), scale=0.1)
    x = torch.rand(2, 1, 8, 12)
    r1, r2, out = model.forward_branches(x)
    torch.testing.assert_close(out, r1 + r2 + x, rtol=0, atol=0)
    torch.testing.assert_close(model(x), out, rtol=0, atol=0)
    assert not torch.allclose(r1, r2)
    # independent re-computation from the official wiring, with torch.rot90 for the rotation
    e1 = model.Encoder1(x)
    e2 = model.Encoder2(e1)
    z = model.Encoder3(e2)

    def decode(z, e2, e1):
        d = model.Convs1_1(torch.cat([model.Decoder1_1(z), e2], 1))
        d = model.Convs1_2(torch.cat([model.Decoder1_2(d), e1], 1))
        return model.Decoder1_4(model.Decoder1_3(d))

    def r(t, k):
        return torch.rot90(t, k, (2, 3))

    torch.testing.assert_close(r1, decode(z, e2, e1))
    torch.testing.assert_close(r2, r(decode(r(z, 1), r(e2, 1), r(e1, 1)), -1))
    # one set of decoder weights serves both branches: a shift of the last bias moves both
    with torch.no_grad():
        model.Decoder1_4.main[0].bias += 0.25
    r1b, r2b, outb = model.forward_branches(x)
    torch.testing.assert_close(r1b, r1 + 0.25)
    torch.testing.assert_close(r2b, r2 + 0.25)
    torch.testing.assert_close(outb, out + 0.5)


def test_xydeblur_rotated_branch_trains_the_shared_decoder():
    torch.manual_seed(0)
    model = XYDeblur(in_ch=1, **XY_TINY)
    _, r2, _ = model.forward_branches(torch.rand(1, 1, 8, 8))
    r2.square().mean().backward()
    for name in ("Decoder1_1", "Decoder1_2", "Decoder1_3", "Decoder1_4", "Convs1_1", "Encoder1"):
        assert all(p.grad is not None and p.grad.abs().sum() > 0
                   for p in getattr(model, name).parameters()), name
    # the decoder is stored once: encoder + one decoder = all parameters
    enc = sum(count_parameters(getattr(model, f"Encoder{i}")) for i in (1, 2, 3))
    dec = sum(count_parameters(getattr(model, n)) for n in (
        "Decoder1_1", "Decoder1_2", "Decoder1_3", "Decoder1_4", "Convs1_1", "Convs1_2"))
    assert enc + dec == count_parameters(model)
    official = XYDeblur()
    assert sum(count_parameters(getattr(official, f"Encoder{i}")) for i in (1, 2, 3)) \
        == 2_418_368
    assert count_parameters(official) - 2_418_368 == 2_500_259


# --------------------------------------------------------------------------------------------
# EHNet specifics


def test_ehnet_composition():
    model = EHNet()
    assert [type(b) for b in model.middle_blks] == [ConvBlock] * 6 + [TFBlock] * 6
    assert [len(e) for e in model.encoders] == [6, 6]
    assert all(type(b) is ConvBlock for e in model.encoders for b in e)
    assert [len(d) for d in model.decoders] == [6, 10]
    assert all(type(b) is TFBlock for d in model.decoders for b in d)
    assert [d[0].conv3.out_channels for d in model.decoders] == [96, 48]
    assert [f.att_channel.conv3.out_channels for f in model.fuses] == [192, 96]
    for down in model.downs:
        assert isinstance(down, Downsample) and down.body[0].mode == "bilinear"
        assert down.body[0].scale_factor == 0.5 and down.body[1].bias is None
    for up in model.ups:
        assert isinstance(up, Upsample) and up.body[0].scale_factor == 2
        assert up.body[1].bias is None
    blk = model.decoders[1][0]
    assert blk.conv2b.groups == 48 and blk.conv2b.out_channels == 96
    assert blk.C_attn.num_heads == 8 and blk.S_attn.window_sizes == (4, 8, 16)
    assert blk.S_attn.dw.groups == 48 and blk.S_attn.dw.bias is None


def test_ehnet_matches_hand_written_forward():
    """Official wiring, including Fuse's concat order [upsampled, skip] and half-sum."""
    torch.manual_seed(0)
    model = _perturb_(EHNet(img_channel=1, **EH_TINY), scale=0.1)
    x = torch.rand(1, 1, 32, 64)
    s = model.encoders[0](model.intro(x))
    h = model.middle_blks(model.downs[0](s))
    fuse = model.fuses[0]
    u = model.ups[0](h)
    f = fuse.conv2(fuse.att_channel(fuse.conv(torch.cat([u, s], 1))))
    out = model.ending(model.decoders[0](f[:, :8] + f[:, 8:])) + x
    torch.testing.assert_close(model(x), out)
    assert not torch.allclose(fuse(u, s), fuse(s, u))


def test_convblock_is_nafblock_with_expansion_4():
    torch.manual_seed(0)
    a = _perturb_(ConvBlock(8))
    b = NAFBlock(8, dw_expand=4, ffn_expand=4)
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(a(x), b(x))


def test_adaptive_gate():
    torch.manual_seed(0)
    gate = _perturb_(AdaptiveGate(3))
    z = torch.randn(2, 6, 4, 5)
    z2 = z[:, 3:]
    mu = z2.mean(1, keepdim=True)
    ln = (z2 - mu) / ((z2 - mu).square().mean(1, keepdim=True) + 1e-6).sqrt()
    ln = ln * gate.norm.weight.view(1, 3, 1, 1) + gate.norm.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(gate(z), z[:, :3] * torch.tanh(ln))


def test_tfblock_one_shared_gate_and_zero_initialised_attention():
    torch.manual_seed(0)
    blk = TFBlock(16, window_sizes=(4, 8))
    assert sum(isinstance(m, AdaptiveGate) for m in blk.modules()) == 1
    calls = []
    blk.sg.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    for name in ("alpha", "beta", "gamma"):
        p = getattr(blk, name)
        assert p.shape == (1, 16, 1, 1) and not p.any()
    x = torch.randn(2, 16, 8, 8)
    y0 = blk(x)
    assert len(calls) == 2  # local branch and FFN
    # α = β = 0: the attention modules do not reach the output
    _perturb_(blk.C_attn, seed=3), _perturb_(blk.S_attn, seed=4)
    torch.testing.assert_close(blk(x), y0)
    with torch.no_grad():
        blk.beta.fill_(1.0)
    y_beta = blk(x)
    assert not torch.allclose(y_beta, y0)
    with torch.no_grad():
        blk.beta.zero_(), blk.alpha.fill_(1.0)
    assert not torch.allclose(blk(x), y0)


def test_tfblock_matches_hand_written_forward():
    torch.manual_seed(0)
    blk = _perturb_(TFBlock(8, window_sizes=(2, 4)), scale=0.3)
    x = torch.randn(1, 8, 8, 4)

    def ln(t, m):
        mu = t.mean(1, keepdim=True)
        s = (t - mu).square().mean(1, keepdim=True)
        return (t - mu) / (s + 1e-6).sqrt() * m.weight.view(1, -1, 1, 1) + m.bias.view(1, -1, 1, 1)

    def gate(t):
        return t[:, :8] * torch.tanh(ln(t[:, 8:], blk.sg.norm))

    t = blk.conv1(ln(x, blk.norm1))
    x1, x2 = t[:, :8], t[:, 8:]
    x1 = blk.conv3(gate(blk.conv2b(blk.conv2a(x1))))
    x1 = x1 + _mhta_reference(blk.C_attn, x1) * blk.alpha
    y = x + x1 + _mwsa_reference(blk.S_attn, x2) * blk.beta
    out = y + blk.conv5(gate(blk.conv4(ln(y, blk.norm2)))) * blk.gamma
    torch.testing.assert_close(blk(x), out, rtol=1e-5, atol=1e-5)


def _mhta_reference(m: MHTA, x: torch.Tensor) -> torch.Tensor:
    """Head-by-head channel attention, written independently of MHTA.forward."""
    b, c, h, w = x.shape
    q, k, v = m.qkv_dwconv(x).flatten(2).chunk(3, dim=1)  # (b, c, h·w) each
    d = c // m.num_heads
    outs = []
    for i in range(m.num_heads):
        sl = slice(i * d, (i + 1) * d)
        qh = q[:, sl] / q[:, sl].norm(dim=-1, keepdim=True).clamp_min(1e-12)
        kh = k[:, sl] / k[:, sl].norm(dim=-1, keepdim=True).clamp_min(1e-12)
        attn = torch.softmax(torch.einsum("bin,bjn->bij", qh, kh) * m.temperature[i], dim=-1)
        assert attn.shape == (b, d, d)  # c/heads × c/heads, independent of the image size
        outs.append(torch.einsum("bij,bjn->bin", attn, v[:, sl]))
    return m.project_out(torch.cat(outs, 1).reshape(b, c, h, w))


def _mwsa_reference(m: MWSA, x: torch.Tensor) -> torch.Tensor:
    """Window-by-window loop, written independently of MWSA.forward."""
    b, _, h, w = x.shape
    c, half = m.channels, m.channels // 2
    feats = m.dw(x)
    outs = []
    for g, ws in enumerate(m.window_sizes):
        s = ws // 2 if m.shift else 0
        t = torch.roll(feats[:, g * c:(g + 1) * c], (-s, -s), (2, 3))
        y = torch.zeros(b, half, h, w)
        for i in range(0, h, ws):
            for j in range(0, w, ws):
                win = t[:, :, i:i + ws, j:j + ws].reshape(b, c, ws * ws)
                q, v = win[:, :half].transpose(1, 2), win[:, half:].transpose(1, 2)
                a = torch.softmax(q @ q.transpose(1, 2), dim=-1)  # q is its own key, no scale
                y[:, :, i:i + ws, j:j + ws] = (a @ v).transpose(1, 2).reshape(b, half, ws, ws)
        outs.append(torch.roll(y, (s, s), (2, 3)))
    return m.out(torch.cat(outs, 1))


def test_mhta_matches_reference():
    torch.manual_seed(0)
    m = _perturb_(MHTA(16, num_heads=8), scale=0.5)
    assert m.temperature.shape == (8, 1, 1)
    assert torch.equal(MHTA(16).temperature, torch.ones(8, 1, 1))
    for shape in ((2, 16, 5, 7), (1, 16, 12, 3)):
        x = torch.randn(shape)
        torch.testing.assert_close(m(x), _mhta_reference(m, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shift", [True, False])
def test_mwsa_matches_reference(shift):
    torch.manual_seed(0)
    m = _perturb_(MWSA(6, window_sizes=(2, 4, 8), shift=shift), scale=0.5)
    assert m.dw.out_channels == 18 and m.out.in_channels == 9
    x = torch.randn(2, 6, 8, 16)
    torch.testing.assert_close(m(x), _mwsa_reference(m, x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="window size 8"):
        m(torch.randn(1, 6, 8, 12))


@pytest.mark.parametrize("shift,support", [(True, {5, 6, 7, 0, 1, 2}), (False, {0, 1, 2, 3, 4})])
def test_mwsa_windows_are_local_and_cyclically_shifted(shift, support):
    """Output pixel (1, 1) sees one 4×4 window (rows 6,7,0,1 when rolled by −2; rows 0–3
    unshifted) widened by the depthwise 3×3 conv's (zero-padded) halo."""
    torch.manual_seed(0)
    m = MWSA(4, window_sizes=(4,), shift=shift)
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    m(x)[..., 1, 1].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    rows = {int(i) for i in torch.nonzero(g.sum(1) > 0).flatten()}
    cols = {int(i) for i in torch.nonzero(g.sum(0) > 0).flatten()}
    assert rows == support and cols == support


# --------------------------------------------------------------------------------------------
# doctests


@pytest.mark.parametrize("module", [arknet_module, xydeblur_module, ehnet_module],
                         ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
