"""The shared paper-001 (MIDNet) experiment set-up: specs, models, training re-use, evaluation,
official-weights handling (with stand-in files named as such)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deblurlab import weights as W
from deblurlab.datasets import PairList
from deblurlab.experiments import paper001 as P
from deblurlab.models import count_parameters
from deblurlab.models.local_stats import global_pools


def test_run_spec_keys_labels_and_validation():
    assert P.RunSpec("midnet", "L_d+L_e+L_f").key == "midnet_L_d+L_e+L_f"
    assert P.RunSpec("hinet").label == "HINet (L_d)"
    with pytest.raises(ValueError, match="unknown model"):
        P.RunSpec("unet")
    with pytest.raises(ValueError, match="unknown loss set"):
        P.RunSpec("midnet", "L_d+L_q")
    with pytest.raises(ValueError, match="PROFILE"):
        P.settings("huge")


@pytest.mark.parametrize("loss, terms, weights", [
    ("L_d", ["l1"], [1.0]),
    ("L_d+L_e", ["l1", "edge"], [1.0, 0.05]),
    ("L_d+L_f", ["l1", "fft"], [1.0, 0.01]),
    ("L_d+L_e+L_f", ["l1", "edge", "fft"], [1.0, 0.05, 0.01]),
])
def test_loss_sets_are_the_rows_of_table_3(loss, terms, weights):
    fns, w = P.loss_for(loss)
    assert sorted(fns) == sorted(terms) and [w[t] for t in terms] == weights


@pytest.mark.parametrize("name", list(P.MODEL_LABELS))
def test_every_small_network_is_grey_in_grey_out_and_smaller_than_paper_size(name):
    model = P.build(name, "quick", seed=0)
    x = torch.rand(1, 1, 32, 48)
    with torch.no_grad():
        assert model(x).shape == x.shape
    assert count_parameters(model) < 2_000_000


def test_same_seed_same_initial_weights():
    a, b = P.build("midnet", "smoke", seed=3), P.build("midnet", "smoke", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_paper_size_parameter_counts_as_published_configs():
    assert count_parameters(P.build("nafnet", "paper", channels=3)) == 17_111_907
    assert count_parameters(P.build("midnet", "paper", channels=3)) == 17_287_431
    assert count_parameters(P.build("dmphn", "paper", channels=3)) == 5_424_393


def _pairs(n=2, size=64, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        sharp = rng.random((size, size)).astype(np.float32)
        blur = (0.5 * sharp + 0.25).astype(np.float32)
        items.append({"blur": blur, "sharp": sharp, "name": f"p{i}", "group": f"g{i}"})
    return PairList(items)


def test_train_run_reloads_a_finished_run_and_separates_other_loss_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    data = P.SEMData(_pairs(), _pairs(1), "stand-in pairs", real=False)
    crops = P.training_crops(data, "smoke")
    spec = P.RunSpec("nafnet", "L_d+L_e")
    model, history = P.train_run(spec, crops, "smoke", progress=False)
    assert not model.training and history["step"][-1] == P.settings("smoke")["steps"]
    folder = tmp_path / "checkpoints" / "paper001" / "smoke" / "seed0" / spec.key
    assert (folder / "last.pt").is_file()
    again, history2 = P.train_run(spec, crops, "smoke", progress=False)
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), again.state_dict().values()))
    assert history2["time"][-1] == history["time"][-1]  # re-loaded, not retrained
    P.train_run(spec, crops, "smoke", progress=False, lambda_edge=0.5)
    assert (folder.parent / f"{spec.key}_le0.5_lf0.01" / "last.pt").is_file()


def test_evaluate_scores_each_method_and_checks_lengths():
    items = [_pairs(1)[0]]
    sharp = items[0]["sharp"]
    noisy = np.clip(sharp + 0.1 * np.random.default_rng(1).standard_normal(sharp.shape), 0, 1)
    table = P.evaluate({"noisy": [noisy], "blurred": [items[0]["blur"]]}, items)
    assert list(table["method"]) == ["noisy", "blurred"]
    mse = np.mean((noisy - sharp) ** 2)
    assert table.loc[0, "psnr"] == pytest.approx(10 * np.log10(1 / mse), abs=1e-3)
    with pytest.raises(ValueError, match="2 outputs for 1 test items"):
        P.evaluate({"x": [noisy, noisy]}, items)


def test_largest_difference_window_finds_where_one_output_is_better():
    ref = np.zeros((128, 128), np.float32)
    a = np.full_like(ref, 0.2)
    b = a.copy()
    b[64:96, 16:48] = 0.8  # b is much worse here, so a gains most around this block
    y, x = P.largest_difference_window(a, b, ref, size=32)
    assert abs(y - 64) <= 8 and abs(x - 16) <= 8


def test_grey_image_through_an_rgb_model_comes_back_grey():
    conv = torch.nn.Conv2d(3, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    image = np.random.default_rng(0).random((20, 30)).astype(np.float32)
    np.testing.assert_allclose(P.restore_grey_with_rgb_model(conv, image), image, atol=1e-6)


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    wdir = tmp_path / "weights"
    wdir.mkdir()
    monkeypatch.setenv("DEBLURLAB_WEIGHTS", str(wdir))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(W.ALLOW_DOWNLOAD_ENV, raising=False)
    monkeypatch.setattr(W, "_VERIFIED", set())
    return wdir


def test_official_weights_missing_is_a_clear_error_never_random_weights(no_weights):
    assert P.official_available() == {"nafnet": False, "hinet": False, "restormer": False}
    with pytest.raises(W.WeightsNotFoundError, match="NAFNet-GoPro-width32.pth"):
        P.load_official("nafnet")
    with pytest.raises(ValueError, match="no official weights for 'dmphn'"):
        P.load_official("dmphn")


def test_standin_official_nafnet_checkpoint_loads_into_the_paper_config(no_weights):
    torch.manual_seed(0)
    reference = P.build("nafnet", "paper", channels=3)
    torch.save({"params": reference.state_dict()}, no_weights / "NAFNet-GoPro-width32.pth")
    assert P.official_available()["nafnet"]
    loaded = P.load_official("nafnet")
    assert all(torch.equal(p, q) for p, q in zip(reference.state_dict().values(), loaded.state_dict().values()))
    # run as the official GoPro test config does: local statistics for 256² crops
    assert global_pools(loaded) == [] and loaded.local_stats_train_size == (256, 256)
    assert len(global_pools(P.load_official("nafnet", local_stats=False))) == 36


def test_doctests():
    import doctest

    assert doctest.testmod(P).failed == 0
