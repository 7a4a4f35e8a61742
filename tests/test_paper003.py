"""The shared paper-003 (sharpness loss) experiment set-up: sizes, the two-phase schedule with
its checkpoints, scoring and paired t-tests; the focus-series helper the notebooks share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from deblurlab import focus, metrics, sharpness
from deblurlab.datasets import PairList
from deblurlab.experiments import paper000
from deblurlab.experiments import paper003 as P
from deblurlab.models import count_parameters


def test_profiles_betas_and_validation():
    assert [P.beta_for(m) for m in ("arknet", "xydeblur", "ehnet")] == [0.1, 0.01, 0.1]
    with pytest.raises(ValueError, match="PROFILE"):
        P.settings("huge")
    with pytest.raises(ValueError, match="unknown model"):
        P.build("unet", "smoke")
    for profile in P.PROFILES:  # EHNet's windows need crops that are multiples of 64
        assert P.settings(profile)["crop"] % 64 == 0


def test_paper_sizes_are_the_official_grey_counts():
    assert count_parameters(P.build("arknet", "paper")) == 4_891_216
    assert count_parameters(P.build("xydeblur", "paper")) == 4_917_473
    assert count_parameters(P.build("ehnet", "paper")) == 8_778_193  # 8,779,923 with RGB


@pytest.mark.parametrize("name", list(P.MODEL_LABELS))
def test_small_networks_are_grey_in_grey_out_and_much_smaller(name):
    model = P.build(name, "quick", seed=0).eval()
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert model(x).shape == x.shape
    assert count_parameters(model) < count_parameters(P.build(name, "paper")) / 10


def test_pixel_terms_follow_each_network():
    assert P.pixel_terms("arknet")[1] == {"l1": 1.0}
    losses, weights = P.pixel_terms("ehnet")
    assert weights == {"l1": 1.0, "fft": 0.1} and sorted(losses) == ["fft", "l1"]


def _pairs(n=2, size=64, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        sharp = np.zeros((size, size), np.float32)
        sharp[:, size // 2 + 3:] = 0.8  # an edge inside a patch, so Q sees something anisotropic
        sharp += 0.1 * rng.random((size, size)).astype(np.float32)
        blur = (0.5 * sharp + 0.25).astype(np.float32)
        items.append({"blur": blur, "sharp": sharp, "name": f"p{i}", "group": f"g{i}"})
    return PairList(items)


def test_finetune_starts_from_phase_one_weights_and_logs_q(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    data = paper000.MaterialsData(_pairs(), _pairs(1), "stand-in pairs", real=False)
    crops = P.training_crops(data, "smoke")
    base, h1 = P.train_phi("arknet", crops, "smoke", progress=False)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    fine, h2 = P.finetune_q("arknet", base, crops, "smoke", progress=False)
    # base untouched; the fine-tuned copy moved away from it
    assert all(torch.equal(before[k], v) for k, v in base.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in fine.state_dict().items()
               if v.dtype.is_floating_point)
    assert "q_loss" in h2.to_dataframe() and h2["step"][-1] == P.settings("smoke")["finetune_steps"]
    root = tmp_path / "checkpoints" / "paper003" / "smoke" / "seed0"
    assert (root / "arknet_phi" / "last.pt").is_file() and (root / "arknet_q_beta0.1" / "last.pt").is_file()
    P.finetune_q("arknet", base, crops, "smoke", beta=0.0, progress=False)
    assert (root / "arknet_q_beta0" / "last.pt").is_file()  # the control has its own run
    again, h1b = P.train_phi("arknet", crops, "smoke", progress=False)  # re-loaded, not retrained
    assert h1b["time"][-1] == h1["time"][-1]
    with pytest.raises(ValueError, match="beta"):
        P.finetune_q("arknet", base, crops, "smoke", beta=-1.0)


def test_score_has_every_table_one_column_with_the_expected_anchors():
    items = list(_pairs(2, size=64))
    outputs = {"truth": [it["sharp"] for it in items], "input": [it["blur"] for it in items]}
    table = P.score(outputs, items)
    assert list(table.columns) == ["method", "image", "psnr", "ssim", "q", "j", "omega"]
    truth = table[table["method"] == "truth"]
    inp = table[table["method"] == "input"]
    np.testing.assert_allclose(truth["j"], 1.0, atol=1e-9)  # J = 1 for the ground truth
    np.testing.assert_allclose(inp["j"], 0.0, atol=1e-9)    # J = 0 for the blurry input
    assert (truth["ssim"] > 0.999).all()
    assert table.loc[0, "q"] == pytest.approx(sharpness.metric_q(items[0]["sharp"]))


def test_t_tests_pair_images_by_name():
    per_image = pd.DataFrame({
        "method": ["a"] * 3 + ["b"] * 3, "image": ["x", "y", "z", "z", "y", "x"],
        "psnr": [2.0, 3.0, 4.5, 3.0, 2.0, 1.0], "q": [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]})
    out = P.t_tests(per_image, {"a vs b": ("a", "b")}, columns=("psnr",))
    assert out.loc["a vs b", "Δpsnr"] == pytest.approx(3.5 / 3)  # x: 2−1, y: 3−2, z: 4.5−3
    assert out.loc["a vs b", "n"] == 3
    with pytest.raises(ValueError, match="share 0 images"):
        P.t_tests(per_image.assign(image=["x", "y", "z", "u", "v", "w"]), {"a vs b": ("a", "b")})


def test_evaluate_methods_is_one_row_per_method_and_image():
    ref = np.random.default_rng(0).random((32, 32))
    items = [{"name": "i0", "sharp": ref}]
    df = metrics.evaluate_methods({"same": [ref], "half": [ref * 0.5]}, items)
    assert list(df["method"]) == ["same", "half"] and df.loc[0, "ssim"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2 outputs for 1 test items"):
        metrics.evaluate_methods({"x": [ref, ref]}, items)


def test_available_real_series_names_and_absence(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="unknown focus series"):
        focus.available_real_series(["nope"])
    monkeypatch.setenv("DEBLURLAB_DATA", str(tmp_path))  # an empty data root
    assert focus.available_real_series() == {}


def test_available_real_series_on_real_data(real_data):
    real_data("reflected-focus")
    found = focus.available_real_series(["reflected-focus"])
    assert found and all(name.startswith("reflected ix") for name in found)
    kind, series = next(iter(found.values()))
    assert kind == "reflected light, wafer" and len(series) > 2
