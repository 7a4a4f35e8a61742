"""DeblurGAN-v2 lite (paper 002 baseline): MobileNetV2, FPN generator, discriminators, RaGAN-LS
with history pools, the content loss and fit_gan's exact resumption. Tiny models, ≤ 64 px."""

from __future__ import annotations

import doctest
import os
import random
import signal

import numpy as np
import pytest
import torch
from torch import nn

from deblurlab import gan
from deblurlab import weights as W
from deblurlab.checkpoint import CheckpointMismatchError
from deblurlab.models import count_parameters
from deblurlab.models import deblurgan as deblurgan_module
from deblurlab.models.deblurgan import (
    FPN_SLICES,
    INVERTED_RESIDUAL_SETTING,
    FPNMobileNet,
    FullDiscriminator,
    InvertedResidual,
    MobileNetV2,
    NLayerDiscriminator,
    PatchDiscriminator,
)
from deblurlab.train import item_rng

def test_doctests():
    for module in (deblurgan_module, gan):
        assert doctest.testmod(module).failed == 0, module.__name__


# --------------------------------------------------------------------------- MobileNetV2


def _mobilenet_v2_params_by_hand(in_ch: int = 3) -> int:
    """Parameter count of torchvision's mobilenet_v2().features from the layer table alone.

    conv k×k (no bias) = cin·cout·k²/groups; BatchNorm = 2·channels (weight + bias).
    Block (t, cin → cout): [expand cin·h + 2h if t ≠ 1] + depthwise 9h + 2h + project h·cout +
    2·cout with h = t·cin.
    """
    total = in_ch * 32 * 9 + 2 * 32  # features[0]
    cin = 32
    for t, c, n, _ in INVERTED_RESIDUAL_SETTING:
        for _ in range(n):
            h = t * cin
            total += (cin * h + 2 * h if t != 1 else 0) + 9 * h + 2 * h + h * c + 2 * c
            cin = c
    return total + cin * 1280 + 2 * 1280  # features[18]


def test_mobilenet_v2_parameter_count_matches_torchvision_features():
    assert _mobilenet_v2_params_by_hand() == 2_223_872  # torchvision: 3,504,872 − 1,281,000 (fc)
    m = MobileNetV2(in_ch=3)
    assert m.classifier is None and len(m.features) == 19
    assert count_parameters(m) == 2_223_872
    # with the classifier: torchvision's published total for mobilenet_v2()
    assert count_parameters(MobileNetV2(num_classes=1000)) == 3_504_872
    # torchvision key layout, so its state dicts would load
    keys = m.state_dict().keys()
    for k in ("features.0.0.weight", "features.0.1.running_var", "features.1.conv.0.0.weight",
              "features.1.conv.1.weight", "features.2.conv.0.0.weight",
              "features.2.conv.1.0.weight", "features.2.conv.3.bias", "features.18.0.weight"):
        assert k in keys, k
    assert m.features[1].conv[0][0].groups == 32  # t = 1: depthwise first, no expansion
    assert count_parameters(MobileNetV2(in_ch=1)) == 2_223_872 - 2 * 32 * 9


def test_mobilenet_v2_fpn_slices_strides_and_channels():
    m = MobileNetV2(in_ch=3).eval()
    x = torch.rand(1, 3, 64, 64)
    maps = m.stages(x)
    assert [t.shape[1] for t in maps] == [16, 24, 32, 64, 160] == list(m.stage_channels)
    assert [64 // t.shape[-1] for t in maps] == [2, 4, 8, 16, 32]
    # the same through plain slicing of features, as the official FPN does
    h = x
    for (a, b), ref in zip(FPN_SLICES, maps):
        h = m.features[a:b](h)
        assert torch.equal(h, ref)
    assert MobileNetV2(width_mult=0.25).stage_channels == (8, 8, 8, 16, 40)
    assert MobileNetV2(width_mult=0.5).stage_channels == (8, 16, 16, 32, 80)


def test_inverted_residual_adds_input_only_for_stride_1_same_channels():
    blk = InvertedResidual(8, 8, 1, 6).eval()
    assert blk.use_res_connect
    assert not InvertedResidual(8, 16, 1, 6).use_res_connect
    assert not InvertedResidual(8, 8, 2, 6).use_res_connect
    nn.init.zeros_(blk.conv[-1].weight)  # last BN → 0: the block's branch is zero
    nn.init.zeros_(blk.conv[-1].bias)
    x = torch.randn(1, 8, 6, 6)
    assert torch.equal(blk(x), x)
    acts = [type(mod) for mod in blk.modules() if isinstance(mod, (nn.ReLU6, nn.ReLU))]
    assert acts == [nn.ReLU6, nn.ReLU6]  # expand and depthwise; the projection is linear


# --------------------------------------------------------------------------- generator


def test_generator_shape_range_and_size_multiple():
    torch.manual_seed(0)
    g = FPNMobileNet(in_ch=3, out_ch=1, width=32, backbone_width=0.25)
    assert g.size_multiple == 32 and g.residual_channel == 1
    x = torch.rand(2, 3, 64, 64)
    x[0] = 0.0
    x[1, :, :32] = 1.0  # saturated inputs must stay in range too
    y = g(x)
    assert y.shape == (2, 1, 64, 64)
    assert y.min() >= 0 and y.max() <= 1
    with pytest.raises(ValueError, match="multiples of 32"):
        g(torch.rand(1, 3, 48, 64))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        g(torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match="out_ch"):
        FPNMobileNet(in_ch=3, out_ch=2)


def test_generator_paper_config_parameters_and_forward():
    g = FPNMobileNet(in_ch=3, out_ch=1)  # width 128, MobileNetV2 1.0
    n_backbone = sum(p.numel() for p in g.backbone_parameters())
    assert n_backbone == 1_017_792  # features[0:16] (2,223,872 minus features[16:19])
    assert count_parameters(g) == 2_106_049
    assert g.lateral0.out_channels == 64 and g.lateral4.in_channels == 160
    assert g.smooth[0].in_channels == 256 and g.smooth2[0].out_channels == 32
    assert isinstance(g.td1[1], nn.InstanceNorm2d) and not g.td1[1].track_running_stats
    assert FPNMobileNet(norm="instance_running").td1[1].track_running_stats
    assert g(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)


def test_generator_residual_is_the_centre_frame():
    torch.manual_seed(1)
    g = FPNMobileNet(in_ch=3, out_ch=1, width=16, backbone_width=0.25)
    nn.init.zeros_(g.final.weight)
    nn.init.zeros_(g.final.bias)  # tanh(0) = 0: output = clamp(centre in [−1, 1]) → [0, 1]
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(g(x), x[:, 1:2], rtol=0, atol=1e-6)
    assert (g(x) - x[:, :1]).abs().max() > 0.1  # not another frame
    g3 = FPNMobileNet(in_ch=3, out_ch=3, width=16, backbone_width=0.25)
    nn.init.zeros_(g3.final.weight)
    nn.init.zeros_(g3.final.bias)
    torch.testing.assert_close(g3(x), x, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- discriminators


def test_discriminator_shapes_and_parameter_counts():
    x = torch.rand(2, 1, 64, 64)
    # 4×4 stride 2 pad 2: n → n//2 + 1; stride-1 layers add 1
    assert PatchDiscriminator(ndf=8)(x).shape == (2, 1, 11, 11)  # 64→33→17→9→10→11
    assert FullDiscriminator(ndf=8)(x).shape == (2, 1, 5, 5)  # …→5→3→4→5
    assert FullDiscriminator(ndf=8)(torch.rand(1, 1, 32, 32)).shape == (1, 1, 4, 4)
    assert count_parameters(PatchDiscriminator()) == 2_762_689  # ndf 64, grey input
    assert count_parameters(FullDiscriminator()) == 11_152_321
    assert count_parameters(NLayerDiscriminator(in_ch=3)) == 2_764_737
    d = PatchDiscriminator(ndf=8)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 4
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in d.modules()) == 3


def _grad_support(d: nn.Module, size: int) -> tuple[int, int]:
    """Height and width of the input region one central output score depends on."""
    x = torch.rand(1, 1, size, size, requires_grad=True)
    out = d(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, i, j].backward()
    rows, cols = torch.nonzero(x.grad[0, 0].abs() > 0, as_tuple=True)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def test_patch_discriminator_receptive_field_is_70_px():
    torch.manual_seed(2)
    d = PatchDiscriminator(ndf=4, norm="none")
    assert d.receptive_field == 70
    assert _grad_support(d, 160) == (70, 70)
    # one changed input pixel changes only the scores whose 70-px windows hold it
    x = torch.rand(1, 1, 160, 160)
    x2 = x.clone()
    x2[0, 0, 80, 80] += 1.0
    changed = torch.nonzero((d(x2) - d(x)).abs()[0, 0] > 0)
    extent = changed.max(0).values - changed.min(0).values + 1
    # 70 = 8·8 + 6 at output stride 8: 8 or 9 windows per axis, depending on the alignment
    assert all(e in (8, 9) for e in extent.tolist())
    assert len(changed) == int(extent.prod())
    assert ((changed.float().mean(0) * 8) - 80).abs().max() < 40  # around the changed pixel
    # instance normalisation couples every score to the whole image through its statistics
    assert _grad_support(PatchDiscriminator(ndf=4), 96) == (96, 96)


def test_full_discriminator_receptive_field_is_286_px():
    torch.manual_seed(3)
    d = FullDiscriminator(ndf=2, norm="none")
    assert d.receptive_field == 286
    assert _grad_support(d, 352) == (286, 286)


# --------------------------------------------------------------------------- RaGAN-LS


def _maps(*rows: list[float]) -> torch.Tensor:
    """Batch of (1, 1, len) score maps, one per row."""
    return torch.tensor(rows, dtype=torch.float32)[:, None, None, :]


def test_ragan_ls_loss_values_by_hand():
    crit = gan.RaGANLSLoss(pool_size=2)
    real = _maps([1.0, 3.0]).requires_grad_()
    fake = _maps([-1.0, 0.0])
    # pools now hold this batch: R̄ = 2, F̄ = −0.5
    # L_D = ½[mean((1.5−1)², (3.5−1)²) + mean((−3+1)², (−2+1)²)] = ½[3.25 + 2.5]
    loss_d = crit.d_loss(real, fake)
    assert loss_d.item() == 2.875
    # the pooled means are constants: dL/dr_i = (r_i − F̄ − 1)/2
    loss_d.backward()
    assert real.grad.flatten().tolist() == [0.25, 1.25]
    # L_G = ½[mean((1+0.5+1)², (3+0.5+1)²) + mean((−1−2−1)², (0−2−1)²)] = ½[13.25 + 12.5]
    assert crit.g_loss(real.detach(), fake).item() == 12.875
    # second batch: real pool {[1,3],[0,0]} → R̄ = 1; fake pool {[−1,0],[1,1]} → F̄ = 0.25
    assert crit.d_loss(_maps([0.0, 0.0]), _maps([1.0, 1.0])).item() == 0.5 * (1.25**2 + 1.0)
    # third: the pools (size 2) drop the first batch: R̄ = 1, F̄ = 0.5
    assert crit.d_loss(_maps([2.0, 2.0]), _maps([0.0, 0.0])).item() == 0.5 * (0.5**2 + 0.0)
    assert crit.g_loss(_maps([2.0, 2.0]), _maps([0.0, 0.0])).item() == 0.5 * (2.5**2 + 2.0**2)
    assert gan.ragan_ls_d_loss(_maps([0.5]), _maps([-0.5]), 0.5, -0.5).item() == 0.0


def test_history_pool_is_a_fifo_of_detached_per_image_maps():
    pool = gan.HistoryPool()
    assert pool.size == 50
    with pytest.raises(RuntimeError, match="empty"):
        pool.mean()
    for i in range(58):
        pool.add(torch.full((1, 1, 2, 2), float(i)))
    src = torch.full((2, 1, 2, 2), 100.0, requires_grad=True)
    pool.add(src)  # a batch of 2 adds 2 entries
    assert len(pool) == 50  # entries 10 … 57 and the two 100s
    expected = (sum(range(10, 58)) + 200.0) / 50
    assert pool.mean().item() == pytest.approx(expected, rel=1e-6)
    assert not pool.mean().requires_grad
    with torch.no_grad():
        src.mul_(0)  # the pool holds copies
    assert pool.mean().item() == pytest.approx(expected, rel=1e-6)
    pool.add(torch.zeros(1, 1, 3, 3))  # maps of another size: mean over all elements
    vals = torch.cat([t.flatten() for t in pool.items])
    assert len(vals) == 49 * 4 + 9 and pool.mean().item() == pytest.approx(vals.mean().item())
    clone = gan.HistoryPool()
    clone.load_state_dict(pool.state_dict())
    assert clone.mean().item() == pool.mean().item() and len(clone) == 50
    with pytest.raises(CheckpointMismatchError):
        gan.HistoryPool(10).load_state_dict(pool.state_dict())


class _Scale(nn.Module):
    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * x


def test_double_gan_averages_discriminators_each_with_its_own_pools():
    adv = gan.DoubleGAN({"patch": _Scale(1.0), "full": _Scale(2.0)}, pool_size=50)
    real, fake = _maps([1.0, 3.0]), _maps([-1.0, 0.0])
    c1, c2 = gan.RaGANLSLoss(), gan.RaGANLSLoss()
    ref_d = (c1.d_loss(real, fake) + c2.d_loss(2 * real, 2 * fake)) / 2
    assert adv.d_loss(real, fake).item() == pytest.approx(ref_d.item())
    ref_g = (c1.g_loss(real, fake) + c2.g_loss(2 * real, 2 * fake)) / 2
    assert adv.g_loss(real, fake).item() == pytest.approx(ref_g.item())
    assert adv.criteria["full"].real_pool.mean().item() == 4.0  # pools not shared
    assert adv.criteria["patch"].real_pool.mean().item() == 2.0
    assert list(gan.make_double_gan(ndf=4)) == ["patch", "full"]


def test_linear_decay_schedule():
    f = [gan.linear_decay_factor(s, 10, 4, 1e-4, 1e-7) * 1e-4 for s in range(11)]
    assert f[:5] == [1e-4] * 5
    assert f[10] == pytest.approx(1e-7)
    assert f[7] == pytest.approx(1e-7 + (1e-4 - 1e-7) * 0.5)


# --------------------------------------------------------------------------- content loss


def test_content_loss_weights_and_pixel_space():
    p, t = torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)
    mse = torch.mean((p - t) ** 2)
    assert gan.ContentLoss(perceptual_weight=0)(p, t).item() == pytest.approx(0.5 * mse.item())
    imnet = gan.ContentLoss(perceptual_weight=0, pixel_space="imagenet")(p, t)
    gain = np.mean([1 / s**2 for s in W.TORCHVISION_STD])  # ≈ 19.6
    assert imnet.item() == pytest.approx(0.5 * gain * mse.item(), rel=1e-5)
    loss = gan.ContentLoss(weights="random-for-tests")
    total = loss(p, t)
    assert set(loss.terms) == {"pixel", "vgg"}
    assert loss.perceptual.layers == ("conv_3_3",) and loss.perceptual.vgg.pre_relu
    assert total.item() == pytest.approx(0.5 * loss.terms["pixel"].item()
                                         + 0.006 * loss.terms["vgg"].item(), rel=1e-5)


@pytest.mark.realdata
def test_content_loss_uses_real_vgg19_at_torchvision_scale(real_weights):
    real_weights("vgg19-imagenet-conv1_1-conv3_4.pth")
    loss = gan.ContentLoss()
    assert loss.perceptual.feature_scale == pytest.approx(W.entry(
        "vgg19-imagenet-conv1_1-conv3_4").input_gain)
    assert loss.perceptual.feature_scale == pytest.approx(57.6, abs=0.1)


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """Empty DEBLURLAB_WEIGHTS and TORCH_HOME, downloads off (as tests/test_weights.py)."""
    wdir = tmp_path / "weights"
    wdir.mkdir()
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(wdir))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(W.ALLOW_DOWNLOAD_ENV, raising=False)
    monkeypatch.setattr(W, "_VERIFIED", set())
    return wdir


def test_missing_vgg_weights_raise_a_clear_error(no_weights, tmp_path):
    with pytest.raises(W.WeightsNotFoundError, match="vgg19-imagenet-conv1_1-conv3_4.pth"):
        gan.ContentLoss()
    g, ds = _tiny_models(0)
    with pytest.raises(W.WeightsNotFoundError, match=str(no_weights)):
        gan.fit_gan(g, ds, CropData(), steps=1, batch_size=2, device="cpu", progress=False,
                    checkpoint_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # failed before training, nothing written


# --------------------------------------------------------------------------- fit_gan


class CropData(torch.utils.data.Dataset):
    """6 random 32-px crops of one fixed frame stack; crop position from item_rng."""

    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(123)
        self.frames = torch.rand(3, 48, 48, generator=g)
        self.seed, self.epoch = seed, 0
        self.epochs_seen: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.epochs_seen.append(epoch)

    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        r, c = item_rng(self.seed, self.epoch, i).integers(0, 17, size=2)
        blur = self.frames[:, r:r + 32, c:c + 32]
        return {"blur": blur, "sharp": blur[1:2].clamp(0.2, 0.8)}


class InterruptingData(CropData):
    """Raises KeyboardInterrupt (as Ctrl-C between steps would) at the ``at``-th item fetch."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.calls, self.at = 0, at

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().__getitem__(i)


class SigintInContent(nn.Module):
    """Content loss that sends SIGINT to this process during its ``at``-th call."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.inner = gan.ContentLoss(weights="random-for-tests")
        self.calls, self.at = 0, at

    @property
    def terms(self):
        return self.inner.terms

    def forward(self, p, t):
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return self.inner(p, t)


def _tiny_models(seed: int) -> tuple[nn.Module, dict[str, nn.Module]]:
    torch.manual_seed(seed)
    return (FPNMobileNet(in_ch=3, out_ch=1, width=8, backbone_width=0.25),
            gan.make_double_gan(ndf=4))


def _run_kwargs(**over) -> dict:
    kw = dict(steps=4, batch_size=2, lr=1e-3, lr_decay_start=1, lr_min=1e-5,
              warmup_freeze_backbone_steps=1, seed=5, checkpoint_every=3, progress=False,
              device="cpu", log_every=1, pool_size=3, adv_weight=0.01)
    kw.update(over)
    return kw


def _all_state(g: nn.Module, ds: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    out = {f"G.{k}": v for k, v in g.state_dict().items()}
    for name, d in ds.items():
        out.update({f"{name}.{k}": v for k, v in d.state_dict().items()})
    return out


def _max_abs_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].numel())


@pytest.fixture
def reference_run(tmp_path_factory, _one_torch_thread):
    # function scope, after the one-thread fixture: the reference must run under the same
    # thread count and global state as the interrupted run it is compared with
    g, ds = _tiny_models(0)
    folder = tmp_path_factory.mktemp("ref")
    hist = gan.fit_gan(g, ds, CropData(), checkpoint_dir=folder,
                       content_loss=gan.ContentLoss(weights="random-for-tests"), **_run_kwargs())
    ckpt = torch.load(folder / "last.pt", weights_only=True)
    return _all_state(g, ds), hist, ckpt


def _scramble_global_rng() -> None:
    torch.manual_seed(999)
    random.seed(999)
    np.random.seed(999)


def test_fit_gan_trains_logs_and_checkpoints(reference_run):
    state, hist, ckpt = reference_run
    assert hist["step"] == [1, 2, 3, 4]
    assert set(hist.columns) >= {"loss", "pixel", "vgg", "adv", "d_loss", "lr", "time"}
    assert all(np.isfinite(hist["loss"])) and all(np.isfinite(hist["d_loss"]))
    # lr after each step: constant until step 1, then linear to 1e-5 at step 4
    assert hist["lr"] == pytest.approx([1e-3, 1e-5 + (1e-3 - 1e-5) * 2 / 3,
                                        1e-5 + (1e-3 - 1e-5) / 3, 1e-5])
    assert ckpt["format"] == gan.GAN_CHECKPOINT_FORMAT and ckpt["step"] == 4
    assert set(ckpt["discriminators"]) == {"patch", "full"}
    assert len(ckpt["pools"]["patch"]["fake"]["items"]) == 3  # pool_size 3, 8 images seen
    g, _ = _tiny_models(7)
    gan.load_generator(g, hist.checkpoint_dir / "last.pt")
    assert all(torch.equal(v, state[f"G.{k}"]) for k, v in g.state_dict().items())


def test_fit_gan_frozen_backbone_warmup():
    g, ds = _tiny_models(0)
    before = [p.detach().clone() for p in g.backbone_parameters()]
    head_before = g.final.weight.detach().clone()
    gan.fit_gan(g, ds, CropData(), content_loss=gan.ContentLoss(weights="random-for-tests"),
                **_run_kwargs(steps=1, warmup_freeze_backbone_steps=1, checkpoint_every=None))
    assert all(torch.equal(a, b) for a, b in zip(before, g.backbone_parameters()))
    assert not torch.equal(head_before, g.final.weight)
    assert all(p.requires_grad for p in g.parameters())  # unfrozen again on return


def test_fit_gan_interrupted_at_2_and_resumed_is_bit_identical(reference_run, tmp_path):
    ref_state, ref_hist, _ = reference_run
    g, ds = _tiny_models(0)
    # batch 2: item fetch 5 is the first of step 3 → interrupted with 2 steps done
    with pytest.raises(KeyboardInterrupt):
        gan.fit_gan(g, ds, InterruptingData(at=5), checkpoint_dir=tmp_path,
                    content_loss=gan.ContentLoss(weights="random-for-tests"), **_run_kwargs())
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["step"] == 2 and len(ckpt["history"]) == 2
    # as in a new process: other initial weights, other global RNG state, fresh data object
    _scramble_global_rng()
    g2, ds2 = _tiny_models(42)
    data = CropData()
    hist = gan.fit_gan(g2, ds2, data, checkpoint_dir=tmp_path,
                       content_loss=gan.ContentLoss(weights="random-for-tests"), **_run_kwargs())
    diff = _max_abs_diff(_all_state(g2, ds2), ref_state)
    print(f"fit_gan exact resume: max |Δweight| = {diff:g}")
    assert diff == 0
    assert data.epochs_seen == [0, 1]  # resumed inside epoch 0 (3 batches per epoch)
    assert hist["step"] == [1, 2, 3, 4]
    assert hist["loss"] == ref_hist["loss"] and hist["d_loss"] == ref_hist["d_loss"]
    assert hist["lr"] == ref_hist["lr"]
    with pytest.raises(CheckpointMismatchError, match="steps"):
        gan.fit_gan(g2, ds2, CropData(), checkpoint_dir=tmp_path,
                    content_loss=gan.ContentLoss(weights="random-for-tests"),
                    **_run_kwargs(steps=5))


def test_fit_gan_sigint_inside_a_step_is_deferred_to_its_end(reference_run, tmp_path, python_sigint):
    ref_state, _, _ = reference_run
    g, ds = _tiny_models(0)
    with pytest.raises(KeyboardInterrupt):
        gan.fit_gan(g, ds, CropData(), checkpoint_dir=tmp_path, content_loss=SigintInContent(3),
                    **_run_kwargs())
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 3  # step 3 completed
    _scramble_global_rng()
    g2, ds2 = _tiny_models(1)
    gan.fit_gan(g2, ds2, CropData(), checkpoint_dir=tmp_path,
                content_loss=gan.ContentLoss(weights="random-for-tests"), **_run_kwargs())
    assert _max_abs_diff(_all_state(g2, ds2), ref_state) == 0
