"""Test-time local statistics (TLC): the pool, the converter and what it buys tiled inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deblurlab.infer import predict, predict_tiled
from deblurlab.models import SmallUNet
from deblurlab.models.ehnet import EHNet
from deblurlab.models.local_stats import (LocalAvgPool2d, global_pools, seam_free_overlap,
                                          to_local_stats)
from deblurlab.models.nafnet import MIDNet, NAFNet


def _active(net: nn.Module, seed: int = 1) -> nn.Module:
    """Draw β, γ (0 at init, where every NAFBlock is the identity) so that the blocks act."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith((".beta", ".gamma")):
                p.copy_(torch.randn(p.shape, generator=g))
    return net.eval()


def _scene(h: int, w: int) -> np.ndarray:
    """Noise on steps: local means differ from the global one, as in a real micrograph."""
    yy, xx = np.mgrid[0:h, 0:w]
    noise = np.random.default_rng(0).random((h, w))
    return np.clip(0.5 * noise + 0.5 * (xx > w // 2) + 0.2 * (yy > h // 2), 0, 1).astype(np.float32)


def _small(cls=NAFNet) -> nn.Module:
    torch.manual_seed(0)
    return _active(cls(img_channel=1, width=4, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1)))


def _brute_force(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Valid stride-1 box means, then replicate padding (half before, half after)."""
    h, w = x.shape[-2:]
    out = F.avg_pool2d(x.double(), (kh, kw), stride=1).float()
    ph, pw = h - out.shape[-2], w - out.shape[-1]
    return F.pad(out, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")


@pytest.mark.parametrize("kernel", [1, 2, 3, (4, 7), (9, 2)])
def test_local_pool_is_the_box_mean_with_replicated_borders(kernel):
    x = torch.rand(2, 3, 11, 13)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    got = LocalAvgPool2d(kernel)(x)
    assert got.shape == x.shape and got.dtype == x.dtype
    torch.testing.assert_close(got, _brute_force(x, *k), atol=1e-6, rtol=0)


def test_local_pool_of_a_window_as_large_as_the_input_is_the_global_mean():
    x = torch.rand(1, 2, 5, 6)
    torch.testing.assert_close(LocalAvgPool2d((5, 6))(x), nn.AdaptiveAvgPool2d(1)(x))
    torch.testing.assert_close(LocalAvgPool2d(40)(x), nn.AdaptiveAvgPool2d(1)(x))


def test_local_pool_one_axis_clipped_stays_local_along_the_other():
    x = torch.rand(1, 1, 4, 20)
    torch.testing.assert_close(LocalAvgPool2d((10, 3))(x), _brute_force(x, 4, 3), atol=1e-6,
                               rtol=0)


def test_local_pool_keeps_precision_on_a_large_map():
    # An integral image in float32 over 4 M pixels of mean 0.5 loses whole digits; float64 does
    # not: the result is the direct box mean up to float32 rounding (2 ulp at 0.5).
    x = torch.full((1, 1, 2048, 2048), 0.5) + 1e-3 * torch.rand(1, 1, 2048, 2048)
    ref = F.avg_pool2d(x, 3, stride=1)
    y = LocalAvgPool2d(3)(x)
    assert float((y[..., 1:-1, 1:-1] - ref).abs().max()) <= 2.4e-7
    s = F.pad(x.cumsum(-1).cumsum(-2), (1, 0, 1, 0))  # the same in float32
    naive = (s[..., 3:, 3:] - s[..., :-3, 3:] - s[..., 3:, :-3] + s[..., :-3, :-3]) / 9
    assert float((naive - ref).abs().max()) > 1e-3


def test_local_pool_in_channel_chunks_gives_the_same_means(monkeypatch):
    import deblurlab.models.local_stats as local_stats

    x = torch.rand(2, 7, 40, 33)
    pool = LocalAvgPool2d((9, 6))
    whole = pool(x)  # autograd on: one integral image for all channels
    monkeypatch.setattr(local_stats, "CHUNK_ELEMENTS", 2 * 41 * 34 * 3)  # 3 channels at a time
    with torch.inference_mode():
        chunked = pool(x)
    assert torch.equal(chunked, whole)


@pytest.mark.parametrize("bad", [0, -1, (3,), (2, 0), 2.5, True, "3"])
def test_local_pool_refuses_bad_kernels(bad):
    with pytest.raises(ValueError, match="kernel_size"):
        LocalAvgPool2d(bad)


def test_local_pool_refuses_non_4d_input():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        LocalAvgPool2d(3)(torch.rand(3, 8, 8))


@pytest.mark.parametrize("cls", [NAFNet, MIDNet])
def test_conversion_leaves_the_output_at_the_training_size_unchanged(cls):
    net = _small(cls)
    local = to_local_stats(net, train_size=24)
    assert global_pools(local) == [] and len(global_pools(net)) == 5  # original untouched
    x = torch.rand(2, 1, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(local(x), net(x), atol=1e-6, rtol=0)
        big = torch.from_numpy(_scene(96, 96))[None, None]
        assert float((local(big) - net(big)).abs().max()) > 1e-3  # larger inputs: local means


def test_window_sizes_follow_the_feature_size_at_each_level():
    local = to_local_stats(_small(), train_size=(32, 16), scale=2.0)
    kernels = {name: mod.kernel_size for name, mod in local.named_modules()
               if isinstance(mod, LocalAvgPool2d)}
    # level 0 (32×16), level 1 (16×8), middle at level 2 (8×4); × 2
    assert kernels["encoders.0.0.sca.0"] == (64, 32)
    assert kernels["encoders.1.0.sca.0"] == (32, 16)
    assert kernels["middle_blks.0.sca.0"] == (16, 8)
    assert kernels["decoders.1.0.sca.0"] == (64, 32)


def test_conversion_in_place_and_training_mode():
    net = _small().train()
    same = to_local_stats(net, train_size=16, inplace=True)
    assert same is net and global_pools(net) == [] and net.training


def test_conversion_refuses_models_without_a_global_pool_and_bad_arguments():
    with pytest.raises(ValueError, match="no global average pool"):
        to_local_stats(SmallUNet(width=4, levels=2), train_size=32)
    for bad in (0, (8,), 3.0):
        with pytest.raises(ValueError, match="train_size"):
            to_local_stats(_small(), train_size=bad)
    for bad in (0.5, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            to_local_stats(_small(), train_size=16, scale=bad)
    ehnet = EHNet()
    with pytest.raises(ValueError, match="size_multiple"):
        to_local_stats(ehnet, train_size=ehnet.size_multiple + 1)


def test_conversion_of_a_half_precision_model():
    net = _small().half()
    local = to_local_stats(net, train_size=16)
    assert global_pools(local) == [] and next(local.parameters()).dtype == torch.float16


def test_converted_model_depends_on_a_bounded_neighbourhood_only():
    net = _small()
    local = to_local_stats(net, train_size=16)  # windows of 24 full-resolution pixels
    x = torch.from_numpy(_scene(192, 192))[None, None]
    y = x.clone()
    y[..., :32, :32] = 1 - y[..., :32, :32]  # change one corner
    with torch.no_grad():
        far_global = (net(x) - net(y))[..., 128:, 128:].abs().max()
        far_local = (local(x) - local(y))[..., 128:, 128:].abs().max()
    assert float(far_global) > 1e-5  # a global mean carries the corner everywhere
    assert float(far_local) == 0.0


def test_tiles_of_a_converted_model_match_the_whole_image():
    net = _small()
    image = _scene(192, 256)
    with pytest.warns(UserWarning, match="global average pool"):
        plain = np.abs(predict_tiled(net, image, tile=128, overlap=64) - predict(net, image)).max()
    local = to_local_stats(net, train_size=16)  # windows of 24 px; overlap ≈ 2.7 windows
    tiled = predict_tiled(local, image, tile=128, overlap=64)
    assert np.abs(tiled - predict(local, image)).max() <= 1e-4
    assert plain > 1e-3  # without the conversion every tile has its own statistics


def test_tiling_a_model_with_global_pools_warns_and_points_to_the_fix(recwarn):
    image = np.random.default_rng(0).random((80, 80), dtype=np.float32)
    with pytest.warns(UserWarning, match="to_local_stats"):
        predict_tiled(_small(), image, tile=48, overlap=16)
    recwarn.clear()
    predict_tiled(_small(), image[:40, :40], tile=48, overlap=16)  # one tile = whole image
    assert not [w for w in recwarn if "to_local_stats" in str(w.message)]


def test_tiling_a_converted_model_checks_the_overlap(recwarn):
    image = np.random.default_rng(0).random((160, 160), dtype=np.float32)
    local = to_local_stats(_small(), train_size=16)
    assert seam_free_overlap(local) == 48 and seam_free_overlap(_small()) is None
    with pytest.warns(UserWarning, match=r"overlap ≥ 48"):
        predict_tiled(local, image, tile=48, overlap=16)
    recwarn.clear()
    predict_tiled(local, image, tile=96, overlap=48)
    assert not recwarn.list  # converted, enough overlap: nothing to say


def test_doctests():
    import doctest

    from deblurlab import infer
    from deblurlab.models import local_stats

    for module in (local_stats, infer):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
