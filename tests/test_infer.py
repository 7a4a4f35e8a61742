"""deblurlab.infer: whole-image and tiled prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deblurlab.infer import pad_to_multiple, predict, predict_tiled, tile_starts
from deblurlab.models import ResidualCNN, SmallUNet


def local_model(channels: int = 1) -> nn.Module:
    """Three 3×3 convs: receptive field 7 px (radius 3), well below the overlaps used here."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, channels, 3, padding=1))


class Recorder(nn.Module):
    """Identity that records the input shapes it sees."""

    def __init__(self, size_multiple: int = 1):
        super().__init__()
        self.size_multiple, self.shapes = size_multiple, []

    def forward(self, x):
        self.shapes.append(tuple(x.shape))
        return x.clone()


@pytest.mark.parametrize("blend", ["cosine", "linear", "none"])
@pytest.mark.parametrize("tile, overlap", [(64, 16), (96, 32), (48, 24)])
def test_local_model_tiled_equals_whole_image(blend, tile, overlap):
    model = local_model(3)
    x = torch.rand(2, 3, 301, 457)
    whole = predict(model, x)
    tiled = predict_tiled(model, x, tile=tile, overlap=overlap, blend=blend, batch_size=5)
    diff = (tiled - whole).abs().max().item()
    print(f"local model, tile {tile}, overlap {overlap}, {blend}: max abs diff {diff:g}")
    assert tiled.shape == whole.shape == x.shape
    assert diff <= 1e-5


def test_tiles_with_too_small_a_margin_do_show_seams():
    # Guard against a test that cannot fail: without the zero-weight margin the tile borders
    # leak into the result.
    model = local_model()
    x = torch.rand(1, 1, 150, 150)
    diff = (predict_tiled(model, x, tile=64, overlap=16, margin=0) - predict(model, x)).abs().max()
    assert diff > 1e-4


def test_small_unet_tiled_is_close_to_whole_image():
    torch.manual_seed(0)
    model = SmallUNet(width=8, levels=3, residual=False)
    x = torch.rand(1, 1, 150, 203)
    with torch.no_grad():  # scale the untrained output to a realistic spread (std 0.2)
        model.head.weight *= 0.2 / predict(model, x).std()
        model.head.bias.zero_()
    whole = predict(model, x)
    diffs = {}
    for overlap in (16, 32, 64):
        tiled = predict_tiled(model, x, tile=128, overlap=overlap)
        diffs[overlap] = (tiled - whole).abs().max().item()
    print(f"SmallUNet (output std 0.2) tiled vs whole, max abs diff by overlap: {diffs}")
    assert diffs[16] > diffs[32] > diffs[64]  # receptive field > margin: not exact, but converging
    assert diffs[16] < 1e-2 and diffs[64] < 1e-4


@pytest.mark.parametrize("blend", ["cosine", "linear", "none"])
def test_identity_is_exact(blend):
    x = torch.rand(2, 3, 301, 457)
    y = predict_tiled(nn.Identity(), x, tile=64, overlap=20, blend=blend)
    assert torch.equal(y, x)


def test_tiles_bounded_by_tile_and_batch_size():
    model = Recorder(size_multiple=8)
    x = torch.rand(2, 1, 301, 457)
    y = predict_tiled(model, x, tile=64, overlap=16, batch_size=3)
    assert torch.equal(y, x)
    assert all(s[0] <= 3 and s[-2:] == (64, 64) for s in model.shapes)
    n_tiles = len(tile_starts(304, 64, 16)) * len(tile_starts(464, 64, 16)) * 2
    assert sum(s[0] for s in model.shapes) == n_tiles


def test_image_smaller_than_a_tile_runs_as_one_padded_tile():
    model = Recorder(size_multiple=8)
    x = torch.rand(1, 1, 37, 50)
    y = predict_tiled(model, x, tile=256, overlap=32)
    assert model.shapes == [(1, 1, 40, 56)]  # padded up to the multiple, not to the tile size
    assert torch.equal(y, x)


def test_unet_odd_size_tiled_and_whole():
    torch.manual_seed(0)
    model = SmallUNet(width=4, levels=3)
    x = torch.rand(1, 1, 61, 77)
    whole = predict(model, x)
    assert whole.shape == x.shape
    # matches a manual reflect pad → forward → crop
    padded = torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect")
    with torch.no_grad():
        manual = model(padded)[..., :61, :77]
    assert torch.allclose(whole, manual, atol=1e-6)
    tiled = predict_tiled(model, x, tile=32, overlap=16)
    assert tiled.shape == x.shape and torch.isfinite(tiled).all()


@pytest.mark.parametrize("shape", [(41, 67), (41, 67, 3), (41, 67, 1)])
@pytest.mark.parametrize("fn", [predict, predict_tiled])
def test_numpy_in_numpy_out(shape, fn):
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    out = fn(nn.Identity(), image, **({"tile": 32, "overlap": 8} if fn is predict_tiled else {}))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == shape
    np.testing.assert_array_equal(out, image)


def test_channel_changing_model():
    torch.manual_seed(0)
    model = ResidualCNN(in_ch=1, out_ch=3, width=4, depth=3, residual=False)
    image = np.random.default_rng(0).random((50, 60), dtype=np.float32)
    out = predict_tiled(model, image, tile=32, overlap=16)  # margin 4 ≥ receptive radius 3
    assert out.shape == (50, 60, 3)
    np.testing.assert_allclose(out, predict(model, image), atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(tile=48, overlap=32), "at least 2·overlap"),
    (dict(tile=60, overlap=8, size_multiple=8), "multiple of the model's size_multiple"),
    (dict(tile=64, overlap=16, blend="gauss"), "blend"),
    (dict(tile=64, overlap=16, margin=8), "margin"),
    (dict(tile=64, overlap=-1), "overlap"),
    (dict(tile=64, overlap=16, batch_size=0), "batch_size"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict_tiled(nn.Identity(), torch.rand(1, 1, 70, 70), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        predict_tiled(nn.Identity(), torch.rand(1, 70, 70))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        predict(nn.Identity(), np.zeros((2, 3, 4, 5), np.float32))
    with pytest.raises(TypeError):
        predict(nn.Identity(), [[0.0]])
    with pytest.raises(ValueError, match="must map"):
        predict(nn.Conv2d(1, 1, 3), torch.rand(1, 1, 8, 8))  # no padding: shrinks the image


@pytest.mark.parametrize("run", [predict, lambda m, x: predict_tiled(m, x, tile=16, overlap=4)])
def test_bad_values_are_refused_not_propagated(run):
    model = SmallUNet(width=4, levels=2)
    for image in (np.full((20, 20), 200, np.uint8), np.zeros((20, 20), np.uint16),
                  torch.zeros(1, 1, 20, 20, dtype=torch.int32), np.zeros((20, 20), np.complex64)):
        with pytest.raises(TypeError, match=r"floats in \[0, 1\].*read_image"):
            run(model, image)
    nan = np.zeros((20, 20), np.float32)
    nan[3, 4] = np.nan
    with pytest.raises(ValueError, match="1 NaN / inf"):
        run(model, nan)
    with pytest.raises(ValueError, match=r"channels last.*grey model takes one channel"):
        run(model, np.zeros((1, 20, 20), np.float32))  # channel-first: read as 20 channels
    with pytest.raises(ValueError, match=r"refused a batch of shape \(\d+, 3, "):
        run(model, np.zeros((20, 20, 3), np.float32))  # RGB into a grey model


def test_batch_size_must_be_an_int():
    with pytest.raises(ValueError, match="batch_size must be an int"):
        predict_tiled(nn.Identity(), torch.rand(1, 1, 40, 40), tile=16, overlap=4, batch_size=2.5)
    y = predict_tiled(nn.Identity(), torch.rand(1, 1, 40, 40), tile=16, overlap=4,
                      batch_size=np.int64(3))
    assert y.shape == (1, 1, 40, 40)


def test_training_flag_restored_and_out_device():
    model = local_model()
    model.train()
    y = predict_tiled(model, torch.rand(1, 1, 40, 40), tile=32, overlap=8, out_device="cpu")
    assert model.training and y.device.type == "cpu" and not y.requires_grad


def test_helpers():
    assert tile_starts(10, 4, 1) == [0, 3, 6]
    assert tile_starts(4, 4, 2) == [0]
    assert tile_starts(100, 64, 16) == [0, 36]
    x = torch.arange(5.0).view(1, 1, 1, 5)
    assert pad_to_multiple(x, 8)[0, 0, 0].tolist() == [0, 1, 2, 3, 4, 3, 2, 1]
    # padding longer than the image keeps mirroring, and a 1-pixel side repeats
    assert pad_to_multiple(torch.arange(3.0).view(1, 1, 1, 3), 8)[0, 0, 0].tolist() == \
        [0, 1, 2, 1, 0, 1, 2, 1]
    assert pad_to_multiple(torch.ones(1, 1, 1, 1), 4).shape == (1, 1, 4, 4)


# Peak resident memory of one call, measured in a fresh interpreter (``peak_rss_increase`` in
# conftest.py): the kernel's high-water mark is reset to the current RSS just before the call, so
# the increase is what the call itself allocated at its peak.
_PEAK_SCRIPT = r"""
import sys
import numpy as np
from deblurlab.infer import predict, predict_tiled
from deblurlab.models import SmallUNet

model = SmallUNet(width=16, levels=2)
image = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
fn = sys.argv[1]
kwargs = dict(tile=128, overlap=32, batch_size=2) if fn == "predict_tiled" else {}
f = {"predict": predict, "predict_tiled": predict_tiled}[fn]
f(model, image[:128, :128], **kwargs)  # warm up kernels and the allocator
start = start_peak()
out = f(model, image, **kwargs)
peak_increase(start)
assert out.shape == image.shape
"""


def test_tiled_peak_memory_is_bounded_by_the_output_buffers(peak_rss_increase):
    # 2048² grey image, SmallUNet width 16: the documented 12 bytes per output value (float64
    # accumulator + float32 result) = 48 MiB, plus ≤ 40 MiB for two 128² tiles' activations and
    # allocator slack. Whole-image inference of the same model needs several hundred MiB
    # (16 channels × 2048² × 4 B = 256 MiB per feature map), checked below so that this bound
    # is known to discriminate.
    bound = 12 * 2048 * 2048 / 2**20 + 40
    tiled = peak_rss_increase(_PEAK_SCRIPT, "predict_tiled")
    print(f"predict_tiled peak increase {tiled:.0f} MiB (bound {bound:.0f} MiB)")
    assert tiled <= bound


def test_whole_image_peak_memory_exceeds_the_tiled_bound(peak_rss_increase):
    whole = peak_rss_increase(_PEAK_SCRIPT, "predict")
    print(f"predict (whole image) peak increase {whole:.0f} MiB")
    assert whole > 12 * 2048 * 2048 / 2**20 + 40


@pytest.mark.filterwarnings("ignore:.*global average pool:UserWarning")  # not this test's topic
@pytest.mark.parametrize("source, name", [
    ("paper001", "nafnet"), ("paper001", "restormer"), ("paper001", "hinet"),
    ("paper003", "xydeblur"), ("paper003", "ehnet"), ("paper004", "sum_k4"),
])
def test_channels_last_gives_the_same_output_and_leaves_the_model_alone(source, name):
    import importlib

    exp = importlib.import_module(f"deblurlab.experiments.{source}")
    torch.manual_seed(0)
    model = exp.build(name, "smoke").eval()
    before = {k: (v.clone(), v.is_contiguous()) for k, v in model.state_dict().items()}
    image = np.random.default_rng(0).random((72, 88), dtype=np.float32)
    nchw = predict(model, image, channels_last=False)
    nhwc = predict(model, image, channels_last=True)
    assert np.abs(nhwc - nchw).max() <= 1e-5
    m = getattr(model, "size_multiple", 1)
    tile = -(-48 // m) * m
    tiled = predict_tiled(model, image, tile=tile, overlap=16, channels_last=True)
    assert np.abs(tiled - predict_tiled(model, image, tile=tile, overlap=16,
                                        channels_last=False)).max() <= 1e-5
    for k, v in model.state_dict().items():  # values and layout of the caller's model unchanged
        assert torch.equal(v, before[k][0]) and v.is_contiguous() == before[k][1], k


def test_channels_last_is_the_cpu_default_and_validated():
    from deblurlab.infer import _channels_last

    assert _channels_last(None, torch.device("cpu")) is True
    assert _channels_last(None, torch.device("cuda")) is False
    assert _channels_last(False, torch.device("cpu")) is False
    with pytest.raises(TypeError, match="channels_last"):
        predict(SmallUNet(width=4, levels=2), np.zeros((8, 8), np.float32), channels_last="yes")
