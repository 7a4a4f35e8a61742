"""Paper 004's multi-scale U-Net, the residual cascade, the four baselines and the per-scale loss."""

from __future__ import annotations

import pytest
import torch

from deblurlab.losses import MultiScaleLoss, l1_loss, multiscale_mse
from deblurlab.models import build_model, count_parameters
from deblurlab.models.msunet import CoarseToFineUNet, MultiScaleUNet, UNet
from deblurlab.train import fit


def test_parameter_counts_match_the_reconstruction_of_table_1():
    # METHODS §5.2: analytic counts with 3 channels; the paper's are 0.02-0.03 % higher.
    assert count_parameters(UNet(3, 3, depth=4, width=16)) == 1_942_611
    assert count_parameters(MultiScaleUNet(3, K=1)) == 1_942_611
    assert count_parameters(MultiScaleUNet(3, K=3)) == 2_542_777
    assert count_parameters(MultiScaleUNet(3, K=4)) == 2_568_620
    # concatenation adds exactly the paper's 2,942,760 - 2,569,512
    assert count_parameters(MultiScaleUNet(3, K=4, fusion="concat")) - 2_568_620 == 373_248


@pytest.mark.parametrize("name,expected,paper", [
    ("deepdeblur", 1_773_717, 1_772_740), ("ddn", 1_484_166, 1_461_124),
    ("msresnet", 4_445_385, 4_384_262), ("rdn", 808_003, 811_778)])
def test_baselines_are_about_the_papers_sizes(name, expected, paper):
    n = count_parameters(build_model(name, in_ch=3))
    assert n == expected and abs(n - paper) / paper < 0.02


@pytest.mark.parametrize("fusion", ["sum", "concat"])
def test_every_scale_is_predicted_and_the_coarse_net_feeds_the_fine_one(fusion):
    torch.manual_seed(0)
    net = MultiScaleUNet(1, K=3, fusion=fusion, depth=3, width=4)
    x = torch.rand(2, 1, 32, 24)
    outs = net(x)
    assert [tuple(o.shape) for o in outs] == [(2, 1, 32, 24), (2, 1, 16, 12), (2, 1, 8, 6)]
    net.eval()
    with torch.no_grad():
        before = net(x).clone()
        for p in net.nets[2].parameters():  # change only the coarsest sub-network
            p.add_(0.5)
        after = net(x)
    assert after.shape == (2, 1, 32, 24) and not torch.allclose(before, after), \
        "the finest output must depend on the coarser sub-networks (head-to-tail fusion)"


def test_no_residual_to_the_input_but_the_cascade_adds_one():
    x = torch.rand(1, 1, 32, 32)
    fused, cascade = MultiScaleUNet(1, K=2, depth=2, width=4), CoarseToFineUNet(1, K=2, depth=2, width=4)
    for net in (fused, cascade):
        for p in net.parameters():
            torch.nn.init.zeros_(p)
        net.eval()
    with torch.no_grad():
        assert torch.count_nonzero(fused(x)) == 0  # end to end: zero weights give zero output
        assert torch.allclose(cascade(x), x)  # "deblurred = blurred + details"


def test_inputs_are_validated():
    net = MultiScaleUNet(1, K=2, depth=2, width=4)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 1, 30, 32))
    with pytest.raises(ValueError, match="expects"):
        net(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="K must be"):
        MultiScaleUNet(1, K=5, depth=4)
    with pytest.raises(ValueError, match="fusion"):
        MultiScaleUNet(1, fusion="add")


def test_multiscale_loss_compares_each_scale_with_the_shrunk_target():
    t = torch.rand(1, 1, 16, 16)
    exact = [t, torch.nn.functional.interpolate(t, size=(8, 8), mode="bilinear", antialias=True)]
    assert multiscale_mse(exact, t).item() == pytest.approx(0.0, abs=1e-12)
    off = [t + 0.1, exact[1] + 0.2]
    assert multiscale_mse(off, t).item() == pytest.approx(0.01 + 0.04, rel=1e-5)
    assert MultiScaleLoss(l1_loss)(t + 0.5, t).item() == pytest.approx(0.5)


def test_fit_supervises_every_scale_of_a_multiscale_model():
    torch.manual_seed(0)
    x = torch.rand(8, 1, 16, 16)
    net = MultiScaleUNet(1, K=2, depth=2, width=4)
    grads = {}
    hooks = [p.register_hook(lambda g, k=k: grads.__setitem__(k, float(g.abs().sum())))
             for k, p in net.nets[1].head.named_parameters()]
    hist = fit(net, (x, x), losses={"mse": MultiScaleLoss()}, steps=2, batch_size=4,
               progress=False, log_every=1)
    assert len(hist["loss"]) == 2 and not net.training
    assert grads and all(v > 0 for v in grads.values()), "the coarse head gets no gradient"
    for h in hooks:
        h.remove()
    # a plain loss sees only the finest output: the coarse head then gets no gradient
    net2 = MultiScaleUNet(1, K=2, depth=2, width=4)
    fit(net2, (x, x), losses={"l1": l1_loss}, steps=1, batch_size=4, progress=False)
    assert net2.nets[1].head.weight.grad is None or not net2.nets[1].head.weight.grad.any()
