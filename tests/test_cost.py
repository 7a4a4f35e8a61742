"""deblurlab.cost: MAC counts against hand counts and a published figure; the cost table."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deblurlab.cost import cost_table, count_macs, model_cost
from deblurlab.models import build_model


def test_macs_of_conv_and_transposed_conv_match_hand_counts():
    conv = nn.Conv2d(2, 4, 3, padding=1)
    assert count_macs(conv, torch.rand(1, 2, 10, 12)) == 4 * 2 * 9 * 10 * 12
    up = nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
    # every input pixel scatters a 4×4 kernel into 2 output channels from 4 input channels
    assert count_macs(up, torch.rand(1, 4, 5, 6)) == 5 * 6 * 4 * 2 * 16
    lin = nn.Linear(8, 3)
    assert count_macs(lin, torch.rand(5, 8)) == 5 * 8 * 3


def test_nafnet_width32_is_about_16_gmacs_at_256_squared():
    # NAFNet's paper: ≈16 GMACs at 256²; every term but the 1×1-pooled SCA scales with pixels,
    # so 64² gives 1/16 of it within a fraction of a per cent.
    net = build_model("nafnet", img_channel=3, width=32, enc_blk_nums=(1, 1, 1, 28))
    macs = count_macs(net, torch.rand(1, 3, 64, 64))
    assert 16e9 / 16 * 0.98 < macs < 16e9 / 16 * 1.02


def test_model_cost_fields_and_train_mode_restored():
    net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Dropout(0.5)).train()
    cost = model_cost(net, size=(8, 8), in_ch=1, repeats=2)
    assert cost["params"] == 30 and cost["macs"] == 3 * 9 * 64
    assert cost["gflops"] == pytest.approx(2 * cost["gmacs"]) and cost["seconds"] > 0
    assert net.training
    assert math.isnan(model_cost(net, size=(8, 8), in_ch=1, repeats=0)["seconds"])
    with pytest.raises(ValueError, match="repeats"):
        model_cost(net, repeats=-1)


def test_cost_table_one_row_per_model():
    table = cost_table({"a": nn.Conv2d(1, 1, 1), "b": nn.Conv2d(1, 2, 3, padding=1)},
                       size=(4, 4), in_ch=1, repeats=0)
    assert list(table.index) == ["a", "b"]
    assert list(table["params"]) == [2, 20]
    assert table.loc["b", "GMACs"] == pytest.approx(2 * 9 * 16 / 1e9)


def test_doctests():
    import doctest

    from deblurlab import cost

    assert doctest.testmod(cost).failed == 0
