"""The shared paper-000 experiment set-up: run specs and the choice of test crops."""

from __future__ import annotations

import numpy as np
import pytest

from deblurlab.datasets import PairList
from deblurlab.experiments import paper000 as P


def _item(name, image):
    return {"blur": image, "sharp": image, "name": name, "group": name}


def test_test_crops_leave_out_featureless_references_and_pick_the_structured_window(capsys):
    rng = np.random.default_rng(0)
    flat = np.full((160, 160), 0.5, np.float32) + 0.001 * rng.standard_normal((160, 160)).astype(np.float32)
    textured = np.full((160, 160), 0.5, np.float32)
    textured[96:, 96:] = rng.random((64, 64))
    data = P.MaterialsData(train=PairList([]), test=PairList([_item("flat", flat), _item("tex", textured)]),
                           source="test", real=False)
    crops = P.test_crops(data, "smoke")  # smoke: 128-px crops
    assert [c["name"] for c in crops] == ["tex"]
    assert crops[0]["sharp"].shape == (128, 128) and crops[0]["sharp"].std() > 0.1
    assert "left out 1 featureless" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no test image"):
        P.test_crops(P.MaterialsData(PairList([]), PairList([_item("flat", flat)]), "t", False), "smoke")


def test_run_spec_labels_keys_and_validation():
    assert P.RunSpec().label == "L1" and P.RunSpec().key == "l1"
    spec = P.RunSpec(layer="conv_3_3", variant="smooth", freq=True, beta=1e-3)
    assert spec.label == "L1 + VGG conv_3_3 + Smooth + L_f" and spec.key == "vgg-conv_3_3_smooth_lf_b0.001"
    with pytest.raises(ValueError, match="layer"):
        P.RunSpec(layer="conv_9_9")
    with pytest.raises(ValueError, match="variant"):
        P.RunSpec(variant="pixelshuffle")
    with pytest.raises(ValueError, match="PROFILE"):
        P.settings("huge")
