"""HINet and Restormer, paper 001's baselines (deblurlab.models.hinet / .restormer).

Forward passes use tiny configs and ≤ 48×48 inputs; the official-size models are only built to
count parameters and list state-dict keys.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deblurlab.infer import predict
from deblurlab.models import count_parameters
from deblurlab.models.hinet import (DEFAULT_PARAMETERS, GOPRO_CONFIG, GOPRO_PARAMETERS, HINet,
                                    SMALL_CPU_CONFIG as HINET_SMALL, UNetConvBlock)
from deblurlab.models.restormer import (MOTION_DEBLURRING_CONFIG, MOTION_DEBLURRING_PARAMETERS,
                                        SMALL_CPU_CONFIG as RESTORMER_SMALL, Attention,
                                        BiasFree_LayerNorm, Restormer, WithBias_LayerNorm)

TINY_HINET = {"wf": 8, "depth": 3, "hin_position_left": 0, "hin_position_right": 2}
TINY_RESTORMER = {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1}


# --------------------------------------------------------------------------- parameter counting

def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def hinet_count(in_chn: int = 3, wf: int = 64, depth: int = 5, left: int = 0,
                right: int = 4) -> int:
    """HINet parameters by hand, from the architecture description (not from the module)."""
    def block(c_in: int, c_out: int, down: bool, csff: bool, hin: bool) -> int:
        n = conv(c_in, c_out, 1) + conv(c_in, c_out, 3) + conv(c_out, c_out, 3)
        n += 2 * conv(c_out, c_out, 3) if (down and csff) else 0
        n += c_out if hin else 0                       # affine of InstanceNorm2d(c_out / 2)
        n += conv(c_out, c_out, 4, bias=False) if down else 0
        return n

    total = 2 * conv(in_chn, wf, 3)                    # conv_01, conv_02
    prev = wf
    for i in range(depth):
        c, down, hin = wf * 2 ** i, i + 1 < depth, left <= i <= right
        total += block(prev, c, down, False, hin) + block(prev, c, down, True, hin)
        prev = c
    for i in reversed(range(depth - 1)):
        c = wf * 2 ** i
        up = prev * c * 4 + c + block(prev, c, False, False, False)   # ConvTranspose2d + block
        total += 2 * (up + conv(c, c, 3))                              # two stages + skip convs
        prev = c
    total += conv(wf, wf, 3) + conv(wf, in_chn, 3) + conv(in_chn, wf, 3)   # SAM
    return total + conv(2 * wf, wf, 1) + conv(wf, in_chn, 3)                # cat12, last


def restormer_count(inp: int = 3, dim: int = 48, blocks=(4, 6, 6, 8), refinement: int = 4,
                    heads=(1, 2, 4, 8), ffn: float = 2.66, bias_free_ln: bool = False) -> int:
    """Restormer parameters by hand (bias=False), from the architecture description."""
    def tblock(c: int, h: int) -> int:
        hidden = int(c * ffn)
        norms = 2 * (c if bias_free_ln else 2 * c)
        attn = h + c * 3 * c + 3 * c * 9 + c * c
        gdfn = c * 2 * hidden + 2 * hidden * 9 + hidden * c
        return norms + attn + gdfn

    c = dim
    total = inp * c * 9 + 2 * c * inp * 9                                  # patch_embed, output
    total += sum(n * tblock(w, h) for n, w, h in zip(blocks, (c, 2 * c, 4 * c, 8 * c), heads))
    total += blocks[2] * tblock(4 * c, heads[2]) + blocks[1] * tblock(2 * c, heads[1])
    total += (blocks[0] + refinement) * tblock(2 * c, heads[0])            # dec1 + refinement
    total += sum(w * (w // 2) * 9 for w in (c, 2 * c, 4 * c))              # Downsample
    total += sum(w * 2 * w * 9 for w in (8 * c, 4 * c, 2 * c))             # Upsample
    return total + 8 * c * 4 * c + 4 * c * 2 * c                           # reduce_chan 3, 2


@pytest.fixture(scope="module")
def hinet_gopro() -> HINet:
    return HINet(**GOPRO_CONFIG)


@pytest.fixture(scope="module")
def restormer_official() -> Restormer:
    return Restormer(**MOTION_DEBLURRING_CONFIG)


# --------------------------------------------------------------------------------------- HINet

def test_hinet_official_parameter_counts(hinet_gopro):
    assert GOPRO_CONFIG["hin_position_left"] == 3 and GOPRO_CONFIG["hin_position_right"] == 4
    assert count_parameters(hinet_gopro) == GOPRO_PARAMETERS == 88_668_806
    assert hinet_count(left=3, right=4) == 88_668_806
    assert hinet_count() == DEFAULT_PARAMETERS == 88_669_702  # class defaults, HIN 0..4
    assert round(GOPRO_PARAMETERS / 1e6, 2) == 88.67           # HINet paper


@pytest.mark.parametrize("kw", [
    {"wf": 8, "depth": 3, "hin_position_right": 2},
    {"wf": 16, "depth": 4, "hin_position_left": 2, "hin_position_right": 3, "in_chn": 1},
    {"wf": 6, "depth": 2, "hin_position_left": 1, "hin_position_right": 0},   # no HIN
    {"wf": 4, "depth": 1},
])
def test_hinet_counts_match_hand_formula(kw):
    hand = hinet_count(kw.get("in_chn", 3), kw["wf"], kw["depth"],
                       kw.get("hin_position_left", 0), kw.get("hin_position_right", 4))
    assert count_parameters(HINet(**kw)) == hand


def test_hinet_small_config_counts():
    assert count_parameters(HINet(**HINET_SMALL)) == 1_383_462
    assert count_parameters(HINet(in_chn=1, **HINET_SMALL)) == 1_382_018


def test_hinet_official_state_dict_keys(hinet_gopro):
    sd = hinet_gopro.state_dict()
    assert len(sd) == len(list(hinet_gopro.parameters())) == 186   # no buffers at all
    shapes = {
        "conv_01.weight": (64, 3, 3, 3), "conv_02.bias": (64,),
        "down_path_1.0.identity.weight": (64, 64, 1, 1),
        "down_path_1.0.conv_1.weight": (64, 64, 3, 3),
        "down_path_1.0.downsample.weight": (64, 64, 4, 4),
        "down_path_1.3.norm.weight": (256,), "down_path_2.4.norm.bias": (512,),
        "down_path_2.0.csff_enc.weight": (64, 64, 3, 3),
        "down_path_2.3.csff_dec.bias": (512,),
        "up_path_1.0.up.weight": (1024, 512, 2, 2),
        "up_path_2.3.conv_block.conv_2.weight": (64, 64, 3, 3),
        "skip_conv_1.0.weight": (512, 512, 3, 3), "skip_conv_2.3.bias": (64,),
        "sam12.conv1.weight": (64, 64, 3, 3), "sam12.conv2.weight": (3, 64, 3, 3),
        "sam12.conv3.weight": (64, 3, 3, 3), "cat12.weight": (64, 128, 1, 1),
        "last.weight": (3, 64, 3, 3), "last.bias": (3,),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    absent = ["down_path_1.0.norm.weight", "down_path_2.2.norm.weight",   # GoPro: HIN 3..4 only
              "down_path_1.0.csff_enc.weight", "down_path_2.4.csff_enc.weight",
              "down_path_2.4.downsample.weight", "down_path_1.0.downsample.bias"]
    for key in absent:
        assert key not in sd, key


def test_hinet_class_defaults_have_hin_everywhere():
    model = HINet(wf=4, depth=5)   # official class defaults 0..4, tiny width
    assert all(hasattr(b, "norm") for b in model.down_path_1)
    assert all(hasattr(b, "norm") for b in model.down_path_2)
    assert not any(hasattr(up.conv_block, "norm") for up in model.up_path_1)
    gopro_like = HINet(wf=4, depth=5, hin_position_left=3, hin_position_right=4)
    assert [hasattr(b, "norm") for b in gopro_like.down_path_1] == [False] * 3 + [True] * 2


@pytest.mark.parametrize("in_chn", [1, 3])
@pytest.mark.parametrize("size", [(32, 32), (16, 48), (40, 24)])
def test_hinet_shapes(in_chn, size):
    torch.manual_seed(0)
    model = HINet(in_chn=in_chn, wf=8, depth=4, hin_position_right=3)
    assert model.size_multiple == 8
    x = torch.rand(1, in_chn, *size)
    with torch.no_grad():
        y = model(x)
        out_1, out_2 = model(x, return_all=True)
    assert isinstance(y, torch.Tensor) and y.shape == x.shape
    assert out_1.shape == out_2.shape == x.shape
    assert torch.allclose(y, out_2)


def test_hinet_return_all_attribute():
    model = HINet(in_chn=1, **TINY_HINET, return_all=True)
    with torch.no_grad():
        out = model(torch.rand(1, 1, 16, 16))
        single = model(torch.rand(1, 1, 16, 16), return_all=False)
    assert isinstance(out, list) and len(out) == 2
    assert isinstance(single, torch.Tensor)


@pytest.mark.parametrize("size", [(30, 32), (32, 34), (6, 8), (17, 16)])
def test_hinet_rejects_sizes_not_multiple(size):
    model = HINet(in_chn=1, **TINY_HINET)   # size_multiple 4
    with pytest.raises(ValueError, match=r"multiples of 4.*deblurlab\.infer\.predict"):
        model(torch.rand(1, 1, *size))
    with pytest.raises(ValueError, match="expects"):
        model(torch.rand(1, 3, 16, 16))   # wrong channel count


def test_hinet_rejects_single_pixel_hin_level():
    model = HINet(in_chn=1, **TINY_HINET)   # HIN at level 2: a 4×4 input gives 1×1 there
    with pytest.raises(ValueError, match="more than one pixel"):
        model(torch.rand(1, 1, 4, 4))
    assert model(torch.rand(1, 1, 8, 4)).shape == (1, 1, 8, 4)
    no_deep_hin = HINet(in_chn=1, wf=8, depth=3, hin_position_right=1)
    assert no_deep_hin(torch.rand(1, 1, 4, 4)).shape == (1, 1, 4, 4)


def test_hinet_predict_pads():
    model = HINet(in_chn=1, **TINY_HINET)
    out = predict(model, torch.rand(1, 1, 18, 30))
    assert out.shape == (1, 1, 18, 30)


@pytest.mark.parametrize("kw, match", [
    ({"wf": 7}, "wf must be even"),
    ({"wf": 0}, "wf"), ({"depth": 0}, "depth"), ({"in_chn": 0}, "in_chn"),
    ({"relu_slope": -0.1}, "relu_slope"), ({"init": "kaiming"}, "init"),
    ({"hin_position_left": -1}, "hin_position_left"), ({"wf": 4.0}, "wf"),
])
def test_hinet_constructor_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        HINet(**kw)


def test_hinet_odd_wf_allowed_without_hin_at_level_0():
    model = HINet(in_chn=1, wf=5, depth=2, hin_position_left=1, hin_position_right=1)
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_hinet_state_dict_round_trip_strict():
    torch.manual_seed(1)
    a = HINet(**TINY_HINET).eval()
    torch.manual_seed(2)
    b = HINet(**TINY_HINET).eval()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))
        result = b.load_state_dict(a.state_dict(), strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        assert torch.equal(a(x), b(x))
    with pytest.raises(RuntimeError):   # HIN layout must match for strict loading
        HINet(wf=8, depth=3, hin_position_left=1).load_state_dict(a.state_dict(), strict=True)


def test_hinet_gradients_reach_first_layers():
    torch.manual_seed(0)
    model = HINet(in_chn=1, **TINY_HINET)
    out_1, out_2 = model(torch.rand(2, 1, 16, 16), return_all=True)
    ((out_1 - 0.5).abs().mean() + (out_2 - 0.5).abs().mean()).backward()
    for name in ("conv_01", "conv_02"):
        grad = getattr(model, name).weight.grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert model.down_path_1[0].norm.weight.grad.abs().sum() > 0


def test_hinet_global_residual_and_sam_image():
    model = HINet(in_chn=1, **TINY_HINET)
    with torch.no_grad():
        for conv_ in (model.last, model.sam12.conv2):
            conv_.weight.zero_()
            conv_.bias.zero_()
        x = torch.rand(1, 1, 16, 16)
        out_1, out_2 = model(x, return_all=True)
    assert torch.equal(out_2, x) and torch.equal(out_1, x)


def test_hin_normalises_exactly_half_the_channels():
    torch.manual_seed(0)
    block = UNetConvBlock(4, 8, downsample=False, relu_slope=0.2, use_HIN=True)
    assert block.norm.num_features == 4
    x = 3.0 + 2.0 * torch.rand(2, 8, 12, 10)
    y = block.half_instance_norm(x)
    assert y.shape == x.shape
    mean = y[:, :4].mean(dim=(2, 3))
    std = y[:, :4].std(dim=(2, 3), unbiased=False)
    assert mean.abs().max() < 1e-5
    assert (std - 1).abs().max() < 1e-3
    assert torch.equal(y[:, 4:], x[:, 4:])          # second half untouched
    assert x[:, :4].mean() > 2.5                     # (the input half was not zero-mean)


def test_hin_inside_the_network_sees_half_the_channels():
    model = HINet(in_chn=1, **TINY_HINET)
    seen: list[int] = []
    handles = [b.norm.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[1]))
               for b in model.down_path_1]
    with torch.no_grad():
        model(torch.rand(1, 1, 16, 16))
    for h in handles:
        h.remove()
    assert seen == [4, 8, 16]   # wf·2^i / 2 for levels 0, 1, 2


def test_hinet_orthogonal_init():
    model = HINet(in_chn=1, **TINY_HINET, init="orthogonal")
    assert model.cat12.bias.abs().sum() == 0
    w = model.cat12.weight.flatten(1)                # (8, 16): rows orthogonal, norm = gain
    gain = nn.init.calculate_gain("leaky_relu", 0.2)
    assert torch.allclose(w @ w.T, gain ** 2 * torch.eye(8), atol=1e-5)


# ----------------------------------------------------------------------------------- Restormer

def test_restormer_official_parameter_count(restormer_official):
    assert count_parameters(restormer_official) == MOTION_DEBLURRING_PARAMETERS == 26_126_644
    assert restormer_count() == 26_126_644
    assert round(MOTION_DEBLURRING_PARAMETERS / 1e6, 2) == 26.13   # Restormer paper
    assert Restormer().state_dict().keys() == restormer_official.state_dict().keys()


@pytest.mark.parametrize("kw", [
    {"dim": 16, "num_blocks": [1, 1, 1, 2], "num_refinement_blocks": 1},
    {"dim": 8, "num_blocks": [1, 2, 1, 1], "num_refinement_blocks": 0, "inp_channels": 1},
    {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1,
     "LayerNorm_type": "BiasFree", "heads": [2, 2, 4, 4], "ffn_expansion_factor": 2.0},
])
def test_restormer_counts_match_hand_formula(kw):
    hand = restormer_count(kw.get("inp_channels", 3), kw["dim"], kw["num_blocks"],
                           kw["num_refinement_blocks"], kw.get("heads", (1, 2, 4, 8)),
                           kw.get("ffn_expansion_factor", 2.66),
                           kw.get("LayerNorm_type") == "BiasFree")
    assert count_parameters(Restormer(**kw)) == hand


def test_restormer_small_config_counts():
    assert count_parameters(Restormer(**RESTORMER_SMALL)) == 1_006_739
    assert count_parameters(Restormer(inp_channels=1, **RESTORMER_SMALL)) == 1_005_875


def test_restormer_official_state_dict_keys(restormer_official):
    sd = restormer_official.state_dict()
    assert len(sd) == 494
    shapes = {
        "patch_embed.proj.weight": (48, 3, 3, 3),
        "encoder_level1.0.attn.temperature": (1, 1, 1),
        "encoder_level1.0.norm1.body.weight": (48,), "encoder_level1.0.norm1.body.bias": (48,),
        "encoder_level1.0.attn.qkv.weight": (144, 48, 1, 1),
        "encoder_level1.0.attn.qkv_dwconv.weight": (144, 1, 3, 3),
        "encoder_level1.0.attn.project_out.weight": (48, 48, 1, 1),
        "encoder_level1.3.ffn.project_in.weight": (254, 48, 1, 1),   # int(48·2.66) = 127
        "encoder_level1.3.ffn.dwconv.weight": (254, 1, 3, 3),
        "encoder_level1.3.ffn.project_out.weight": (48, 127, 1, 1),
        "down1_2.body.0.weight": (24, 48, 3, 3), "down3_4.body.0.weight": (96, 192, 3, 3),
        "latent.7.attn.temperature": (8, 1, 1),
        "up4_3.body.0.weight": (768, 384, 3, 3), "up2_1.body.0.weight": (192, 96, 3, 3),
        "reduce_chan_level3.weight": (192, 384, 1, 1),
        "reduce_chan_level2.weight": (96, 192, 1, 1),
        "decoder_level3.5.norm2.body.weight": (192,),
        "decoder_level1.3.attn.temperature": (1, 1, 1),
        "decoder_level1.0.attn.qkv.weight": (288, 96, 1, 1),
        "refinement.3.norm2.body.bias": (96,),
        "output.weight": (3, 96, 3, 3),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    for key in ("output.bias", "patch_embed.proj.bias", "skip_conv.weight",
                "latent.8.attn.qkv.weight", "encoder_level1.0.attn.qkv.bias",
                "reduce_chan_level1.weight"):
        assert key not in sd, key


def test_restormer_variants_keys():
    bf = Restormer(LayerNorm_type="BiasFree", **TINY_RESTORMER).state_dict()
    assert "encoder_level1.0.norm1.body.weight" in bf
    assert "encoder_level1.0.norm1.body.bias" not in bf
    dp = Restormer(inp_channels=6, dual_pixel_task=True, **TINY_RESTORMER)
    assert dp.out_channels == 3 and "skip_conv.weight" in dp.state_dict()
    with torch.no_grad():
        assert dp(torch.rand(1, 6, 16, 16)).shape == (1, 3, 16, 16)
    biased = Restormer(bias=True, **TINY_RESTORMER).state_dict()
    assert "output.bias" in biased and "encoder_level1.0.attn.qkv.bias" in biased
    assert "patch_embed.proj.bias" not in biased   # official: patch_embed never has a bias
    assert "down1_2.body.0.bias" not in biased


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(32, 32), (16, 40), (40, 24)])
def test_restormer_shapes(channels, size):
    torch.manual_seed(0)
    model = Restormer(inp_channels=channels, **TINY_RESTORMER)
    assert model.size_multiple == 8 and model.out_channels == channels
    x = torch.rand(1, channels, *size)
    with torch.no_grad():
        assert model(x).shape == x.shape


@pytest.mark.parametrize("size", [(12, 16), (16, 20), (4, 8)])
def test_restormer_rejects_sizes_not_multiple(size):
    model = Restormer(inp_channels=1, **TINY_RESTORMER)
    with pytest.raises(ValueError, match=r"multiples of 8.*deblurlab\.infer\.predict"):
        model(torch.rand(1, 1, *size))
    with pytest.raises(ValueError, match="expects"):
        model(torch.rand(1, 3, 16, 16))


def test_restormer_predict_pads():
    model = Restormer(inp_channels=1, **TINY_RESTORMER)
    assert predict(model, torch.rand(1, 1, 18, 27)).shape == (1, 1, 18, 27)


@pytest.mark.parametrize("kw, match", [
    ({"dim": 7}, "dim must be an even"), ({"dim": 0}, "dim"),
    ({"num_blocks": [1, 1, 1]}, "num_blocks"), ({"num_blocks": [1, 0, 1, 1]}, "num_blocks"),
    ({"heads": [3, 2, 4, 8]}, "heads"), ({"heads": [1, 2, 4, 7]}, "heads"),
    ({"LayerNorm_type": "layernorm"}, "LayerNorm_type"),
    ({"out_channels": 1}, "out_channels == inp_channels"), ({"inp_channels": 0}, "inp_channels"),
    ({"num_refinement_blocks": -1}, "num_refinement_blocks"),
    ({"ffn_expansion_factor": 0.0}, "ffn_expansion_factor"),
])
def test_restormer_constructor_validation(kw, match):
    args = {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1, **kw}
    with pytest.raises(ValueError, match=match):
        Restormer(**args)


def test_restormer_state_dict_round_trip_strict():
    torch.manual_seed(1)
    a = Restormer(**TINY_RESTORMER).eval()
    torch.manual_seed(2)
    b = Restormer(**TINY_RESTORMER).eval()
    with torch.no_grad():   # make the two models differ beyond their (random) conv weights
        for p in a.parameters():
            p.add_(0.01 * torch.randn_like(p))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))
        result = b.load_state_dict(a.state_dict(), strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        assert torch.equal(a(x), b(x))


def test_restormer_gradients_reach_first_layer():
    torch.manual_seed(0)
    model = Restormer(inp_channels=1, **TINY_RESTORMER)
    (model(torch.rand(2, 1, 16, 16)) - 0.5).abs().mean().backward()
    grad = model.patch_embed.proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert model.encoder_level1[0].attn.temperature.grad.abs().sum() > 0


def test_restormer_global_residual():
    model = Restormer(inp_channels=1, **TINY_RESTORMER)
    with torch.no_grad():
        model.output.weight.zero_()
        x = torch.rand(1, 1, 16, 16)
        assert torch.equal(model(x), x)


def test_mdta_attention_map_is_channel_by_channel():
    torch.manual_seed(0)
    attn = Attention(16, num_heads=4, bias=False)
    maps = []
    for size in [(8, 8), (24, 40)]:   # 64 vs 960 pixels, same weights
        x = torch.rand(2, 16, *size)
        with torch.no_grad():
            a = attn.attention_map(x)
            assert attn(x).shape == x.shape
        assert a.shape == (2, 4, 4, 4)   # (N, heads, C/heads, C/heads), independent of H·W
        assert torch.allclose(a.sum(-1), torch.ones(2, 4, 4), atol=1e-6)
        maps.append(a)
    model = Restormer(inp_channels=1, **TINY_RESTORMER)
    with torch.no_grad():   # the same full model on two spatial sizes
        assert model(torch.rand(1, 1, 16, 16)).shape == (1, 1, 16, 16)
        assert model(torch.rand(1, 1, 24, 48)).shape == (1, 1, 24, 48)


def test_mdta_temperature_scales_logits():
    torch.manual_seed(0)
    attn = Attention(8, num_heads=2, bias=False)
    x = torch.rand(1, 8, 8, 8)
    with torch.no_grad():
        attn.temperature.fill_(1e-6)     # ~zero logits → uniform attention
        uniform = attn.attention_map(x)
    assert torch.allclose(uniform, torch.full_like(uniform, 0.25), atol=1e-5)


def test_layernorms_match_reference_over_channels():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    wb, bf = WithBias_LayerNorm(6), BiasFree_LayerNorm(6)
    with torch.no_grad():
        for p in (wb.weight, wb.bias, bf.weight):
            p.copy_(torch.randn(6))
        ref = F.layer_norm(x.permute(0, 2, 3, 1), (6,), wb.weight, wb.bias, eps=1e-5)
        assert torch.allclose(wb(x), ref.permute(0, 3, 1, 2), atol=1e-5)
        t = x.permute(0, 2, 3, 1)   # official BiasFree: x / sqrt(var + eps) · w, no centring
        ref_bf = t / torch.sqrt(t.var(-1, keepdim=True, unbiased=False) + 1e-5) * bf.weight
        assert torch.allclose(bf(x), ref_bf.permute(0, 3, 1, 2), atol=1e-5)


def test_mdta_matches_explicit_transposed_attention():
    """q, k L2-normalised along the pixels; logits = cosine similarity of channels · temperature."""
    torch.manual_seed(0)
    attn = Attention(8, num_heads=2, bias=False)
    with torch.no_grad():
        attn.temperature.copy_(torch.tensor([0.5, 3.0]).view(2, 1, 1))
        x = torch.rand(1, 8, 6, 10)
        q, k, v = attn.qkv_dwconv(attn.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(1, 2, 4, 60) for t in (q, k, v))
        q = q / q.norm(dim=-1, keepdim=True)
        k = k / k.norm(dim=-1, keepdim=True)
        ref = torch.softmax(q @ k.transpose(-2, -1) * attn.temperature, dim=-1)
        assert torch.allclose(attn.attention_map(x), ref, atol=1e-6)
        out = attn.project_out((ref @ v).reshape(1, 8, 6, 10))
        assert torch.allclose(attn(x), out, atol=1e-6)
