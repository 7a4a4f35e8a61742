"""DMPHN(1-2-4): patch grids, split/merge, wiring against the official code's explicit form."""

import pytest
import torch

from deblurlab.models import count_parameters
from deblurlab.models.dhn import DHN
from deblurlab.models.dmphn import DMPHN, merge_patches, patch_grid, split_patches


def test_patch_grids_alternate_rows_and_columns():
    assert [patch_grid(k) for k in range(1, 6)] == [(1, 1), (2, 1), (2, 2), (4, 2), (4, 4)]
    with pytest.raises(ValueError):
        patch_grid(0)


def test_split_then_merge_is_identity_and_patches_are_the_image_blocks():
    x = torch.arange(2 * 3 * 8 * 12, dtype=torch.float32).reshape(2, 3, 8, 12)
    p = split_patches(x, (2, 2))
    assert p.shape == (8, 3, 4, 6)
    # batch index runs (image, row, col): patch 1 of image 0 is the top-right block
    assert torch.equal(p[1], x[0, :, :4, 6:])
    assert torch.equal(p[4 + 2], x[1, :, 4:, :6])
    assert torch.equal(merge_patches(p, (2, 2)), x)


def _official_1_2_4(model: DMPHN, x: torch.Tensor) -> torch.Tensor:
    """DMPHN_1_2_4.py's forward written out patch by patch (shift as in DHN)."""
    e1, e2, e3 = (lv.encoder for lv in model.levels)
    d1, d2, d3 = (lv.decoder for lv in model.levels)
    b = x - model.shift
    h, w = b.shape[-2:]
    top, bot = b[:, :, : h // 2], b[:, :, h // 2:]
    p1, p2 = top[..., : w // 2], top[..., w // 2:]
    p3, p4 = bot[..., : w // 2], bot[..., w // 2:]
    f3_top = torch.cat((e3(p1), e3(p2)), 3)
    f3_bot = torch.cat((e3(p3), e3(p4)), 3)
    f3 = torch.cat((f3_top, f3_bot), 2)
    r3_top, r3_bot = d3(f3_top), d3(f3_bot)
    f2 = torch.cat((e2(top + r3_top), e2(bot + r3_bot)), 2) + f3
    r2 = d2(f2)
    f1 = e1(b + r2) + f2
    return d1(f1) + model.shift


def test_forward_matches_the_official_patch_by_patch_wiring():
    torch.manual_seed(0)
    model = DMPHN(width=4, in_ch=1).eval()
    x = torch.rand(2, 1, 16, 24)
    with torch.no_grad():
        assert torch.allclose(model(x), _official_1_2_4(model, x), atol=1e-6)


def test_patches_make_it_differ_from_dhn_with_the_same_weights():
    torch.manual_seed(0)
    dmphn = DMPHN(width=4, in_ch=1).eval()
    dhn = DHN(width=4, in_ch=1).eval()
    dhn.load_state_dict(dmphn.state_dict())
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert (dmphn(x) - dhn(x)).abs().max() > 1e-4


def test_parameter_count_equals_dhn_and_size_rules():
    assert count_parameters(DMPHN()) == 5_424_393
    assert DMPHN(width=4, levels=4).size_multiple == 16
    with pytest.raises(ValueError, match="multiple of 8"):
        DMPHN(width=4, in_ch=1)(torch.rand(1, 1, 12, 16))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        DMPHN(width=4, in_ch=1)(torch.rand(1, 3, 16, 16))


def test_four_levels_run_and_gradients_reach_the_coarsest_encoder():
    model = DMPHN(width=4, in_ch=1, levels=4)
    x = torch.rand(1, 1, 32, 16)
    model(x).mean().backward()
    assert model.levels[3].encoder.head.weight.grad.abs().sum() > 0


def test_doctests():
    import doctest

    from deblurlab.models import dmphn

    assert doctest.testmod(dmphn).failed == 0
