"""Paper 004's experiment set-up: profiles, per-distance data, training re-use, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deblurlab.experiments import paper004 as P
from deblurlab.models import count_parameters
from deblurlab.train import History


def test_settings_and_names():
    assert set(P.PROFILES) == {"smoke", "quick", "paper"}
    assert P.settings("paper")["width"] == 16 and P.settings("paper")["lr"] == 1e-2
    assert P.distances("synthetic", "paper") == (10.0, 16.0, 22.0, 28.0, 34.0)
    with pytest.raises(ValueError, match="PROFILE"):
        P.settings("fast")
    with pytest.raises(ValueError, match="unknown model"):
        P.build("unet3", "smoke")
    with pytest.raises(ValueError, match="dataset"):
        P.distances("bbbc", "smoke")


def test_paper_sizes_in_the_parameter_table():
    t = P.parameter_table(channels=3)
    assert t.loc["unet", "parameters"] == 1_942_611
    assert t.loc["sum_k4", "parameters"] == 2_568_620
    assert t.loc["concat_k4", "parameters"] - t.loc["sum_k4", "parameters"] == 373_248
    assert t.loc["rdn", "parameters"] == 808_003
    # the profile's models are what the names say
    assert P.build("concat_k3", "smoke").K == 3 and P.build("concat_k3", "smoke").fusion == "concat"
    assert count_parameters(P.build("unet", "quick")) < count_parameters(P.build("sum_k4", "quick"))


def test_synthetic_pairs_differ_between_splits_and_blur_grows_with_distance():
    train = P.synthetic_pairs(10, "smoke", split="train")
    test = P.synthetic_pairs(10, "smoke", split="test")
    assert len(train) == 2 and len(test) == 1
    assert not np.allclose(train[0]["sharp"], test[0]["sharp"])
    far = P.synthetic_pairs(34, "smoke", split="test")
    err = lambda it: float(np.mean((it["blur"] - it["sharp"]) ** 2))  # noqa: E731
    assert err(far[0]) > err(test[0]), "34 µm must be blurrier than 10 µm"
    np.testing.assert_allclose(far[0]["sharp"], test[0]["sharp"], atol=1e-6)  # same GT plane


def test_dfnn_rows_do_not_overlap(real_data):
    real_data("dfnn-lightsheet/microtubules/stack")
    train = P.dfnn_pairs(0.3, split="train")
    test = P.dfnn_pairs(0.3, split="test")
    assert train.names == ["train@-0.30um", "train@+0.30um"]
    h_train, h_test = train[0]["blur"].shape[0], test[0]["blur"].shape[0]
    assert h_train % 16 == 0 and h_test % 16 == 0 and h_train + h_test <= 800
    with pytest.raises(ValueError, match="no plane at"):
        P.dfnn_pairs(0.33, split="test")


def test_run_models_trains_once_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    monkeypatch.setitem(P.PROFILES, "smoke", {**P.PROFILES["smoke"], "distances": {"synthetic": (22.0,), "dfnn": (0.15,)}})
    per_image, seconds, examples = P.run_models(["unet", "sum_k2"], "synthetic", "smoke", progress=False)
    assert list(dict.fromkeys(per_image["method"])) == ["input", "unet", "sum_k2"]
    assert set(per_image["distance"]) == {22.0} and list(examples) == [22.0]
    assert (tmp_path / "checkpoints" / "paper004" / "smoke" / "seed0" / "synthetic_22um" / "sum_k2" / "last.pt").is_file()
    again, seconds2, _ = P.run_models(["sum_k2"], "synthetic", "smoke", progress=False)
    first = seconds.set_index("model").loc["sum_k2", "seconds"]
    assert seconds2["seconds"].iloc[0] == first, "a finished run must be re-loaded, not retrained"
    pd.testing.assert_frame_equal(again[again.method == "sum_k2"].reset_index(drop=True),
                                  per_image[per_image.method == "sum_k2"].reset_index(drop=True))
    with pytest.raises(ValueError, match="unknown models"):
        P.run_models(["resnet"], "synthetic", "smoke")
    # the notebooks' DISTANCES knob: other distances than the profile's, each its own checkpoint
    chosen, _, ex = P.run_models(["unet"], "synthetic", "smoke", progress=False, distances_um=[16])
    assert set(chosen["distance"]) == {16.0} and list(ex) == [16.0]
    assert (tmp_path / "checkpoints" / "paper004" / "smoke" / "seed0" / "synthetic_16um" / "unet" / "last.pt").is_file()
    for bad in ([], [0.0], [float("nan")]):
        with pytest.raises(ValueError, match="distances_um"):
            P.run_models(["unet"], "synthetic", "smoke", distances_um=bad)


def test_per_distance_table_layout():
    df = pd.DataFrame({"method": ["input", "input", "m", "m"], "image": ["a", "b", "a", "b"],
                       "psnr": [20.0, 22.0, 30.0, 32.0], "ssim": [0.5, 0.7, 0.9, 0.9],
                       "distance": [10.0, 34.0, 10.0, 34.0]})
    t = P.per_distance_table(df, {"m": "Model"})
    assert list(t.columns) == ["34", "10"]  # far to near, as in the paper
    assert t.loc[("Model", "PSNR"), "10"] == 30.0 and t.loc[("input", "SSIM"), "34"] == 0.7


def test_budget_check_trains_each_budget_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    table = P.budget_check(["unet"], "synthetic", 34.0, "smoke", budgets=[(3, 32), (2, 32)],
                           progress=False)
    # the profile's own budget (2 steps, 32 px) comes first and is not repeated
    assert sorted(set(zip(table["steps"], table["crop"]))) == [(2, 32), (3, 32)]
    assert set(table["method"]) == {"input", "unet"}
    runs = tmp_path / "checkpoints" / "paper004"
    assert (runs / "smoke" / "seed0" / "synthetic_34um" / "unet" / "last.pt").is_file()
    longer = runs / "smoke_3steps_32px" / "seed0" / "synthetic_34um" / "unet"
    assert History.load(longer)["step"][-1] == 3
    # the longer run trains other weights than the short one, so its scores differ
    psnr = table[table.method == "unet"].groupby("steps")["psnr"].mean()
    assert psnr.loc[2] != psnr.loc[3]
    input_psnr = table[table.method == "input"].groupby("steps")["psnr"].mean()
    assert input_psnr.loc[2] == input_psnr.loc[3]


def test_train_run_rejects_a_bad_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        P.train_run("unet", "synthetic", 34.0, "smoke", steps=0, progress=False)
