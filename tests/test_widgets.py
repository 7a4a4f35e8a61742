"""deblurlab.widgets driven programmatically: sliders, buttons, linked views, 8/16-bit input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deblurlab import widgets as W
from deblurlab.io import write_image
from deblurlab.models import ResidualCNN


def _images(size: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sharp = rng.random((size, size)).astype(np.float32)
    blurred = (sharp + np.roll(sharp, 1, 0) + np.roll(sharp, 1, 1)) / 3
    restored = 0.5 * (sharp + blurred)
    return {"blurred": blurred, "restored": restored, "reference": sharp}


def _crop_shown(fig, panel_index: int) -> np.ndarray:
    """Pixel data of the crop axis ``panel_index`` (0 = first panel, after the overview)."""
    return np.asarray(fig.axes[1 + panel_index].images[0].get_array())


# --------------------------------------------------------------------------- plain functions


def test_zoom_figure_shows_exactly_the_region():
    imgs = _images()
    region = W.Region(x=5, y=9, size=16)
    fig = W.zoom_figure(imgs, region, diff_to="reference")
    for j, img in enumerate(imgs.values()):
        np.testing.assert_array_equal(_crop_shown(fig, j), img[9:25, 5:21])
    # difference row: restored − reference, on one symmetric colour scale
    diff_axes = [ax for ax in fig.axes if ax.get_title() == "restored − reference"]
    assert len(diff_axes) == 1
    np.testing.assert_allclose(diff_axes[0].images[0].get_array(),
                               imgs["restored"][9:25, 5:21] - imgs["reference"][9:25, 5:21])
    lo, hi = diff_axes[0].images[0].get_clim()
    assert lo == -hi and hi > 0


def test_region_for_clamps_and_centres():
    assert W.region_for((100, 200), 4) == W.Region(87, 37, 25)
    assert W.region_for((100, 200), 4, x=500, y=-3) == W.Region(175, 0, 25)
    assert W.region_for((20, 20), 100).size == 8  # never smaller than 8 px
    with pytest.raises(ValueError, match="zoom"):
        W.region_for((10, 10), 0.5)


def test_stretch_limits_linked_vs_per_panel():
    crops = {"a": np.linspace(0, 0.5, 100), "b": np.linspace(0.5, 1.0, 100)}
    linked = W.stretch_limits(crops, (0, 100))
    assert linked["a"] == linked["b"] == (0.0, 1.0)
    per = W.stretch_limits(crops, (0, 100), linked=False)
    assert per["a"] == (0.0, 0.5) and per["b"] == (0.5, 1.0)
    with pytest.raises(ValueError, match="percentiles"):
        W.stretch_limits(crops, (60, 40))


def test_spectrum_figure_marks_the_chosen_frequencies():
    imgs = _images(32)
    fig = W.spectrum_figure(imgs, markers=[0.125])
    marked = {round(float(line.get_xdata()[0]), 4) for ax in fig.axes for line in ax.lines
              if len(set(line.get_xdata())) == 1}
    assert {0.125, -0.125} <= marked and 0.25 not in marked
    titles = [ax.get_title() for ax in fig.axes]
    assert "difference to reference" in titles and "radially averaged PSD" in titles
    # without a reference there is no difference panel
    no_ref = W.spectrum_figure({"blurred": imgs["blurred"], "restored": imgs["restored"]})
    assert not any(ax.get_title().startswith("difference") for ax in no_ref.axes)
    with pytest.raises(ValueError, match="markers"):
        W.spectrum_figure(imgs, markers=[0.7])


def test_metrics_table_scores_against_the_reference():
    imgs = _images(32)
    t = W.metrics_table({**imgs, "copy": imgs["reference"].copy()})
    assert t.loc["copy", "psnr"] == 100.0 and t.loc["copy", "excess_db"] == 0.0
    assert t.loc["restored", "psnr"] > t.loc["blurred", "psnr"]
    assert np.isnan(t.loc["reference", "psnr"]) and t["q"].notna().all()
    alone = W.metrics_table({"blurred": imgs["blurred"]})
    assert alone[["psnr", "ssim", "excess_db"]].isna().all().all() and alone["q"].notna().all()


def test_bad_inputs_are_clear_errors():
    imgs = _images(32)
    with pytest.raises(ValueError, match=r"same shape.*blurred \(32, 32\).*other \(32, 30\)"):
        W.zoom_figure({"blurred": imgs["blurred"], "other": imgs["blurred"][:, :30]})
    with pytest.raises(TypeError, match="dtype bool"):
        W.zoom_figure({"a": imgs["blurred"] > 0.5})
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        W.zoom_figure({"a": np.zeros((2, 32, 32, 5))})
    with pytest.raises(ValueError, match="NaN"):
        W.zoom_figure({"a": np.full((32, 32), np.nan)})
    with pytest.raises(ValueError, match="non-empty"):
        W.ZoomCrops({})
    with pytest.raises(KeyError, match="diff_to"):
        W.zoom_figure(imgs, diff_to="nope")
    with pytest.raises(KeyError, match="reference 'gt'"):
        W.ZoomCrops(imgs, reference="gt")
    zc = W.ZoomCrops(imgs)
    with pytest.raises(ValueError, match="new images"):
        zc.set_images({"a": np.zeros((16, 16))})


# --------------------------------------------------------------------------- ZoomCrops


def test_zoom_widget_contract_and_x_slider_rerenders():
    zc = W.ZoomCrops(_images(), zoom=4)
    assert "deblurlab-zoom-view" in zc.view._dom_classes
    assert "deblurlab-zoom-x" in zc.x._dom_classes and "deblurlab-zoom-y" in zc.y._dom_classes
    assert zc.view.value[:8] == b"\x89PNG\r\n\x1a\n" and zc.view in zc.widget.children
    png, renders = zc.view.value, zc.renders
    zc.x.value = 0
    assert zc.view.value != png and zc.renders == renders + 1
    assert zc.region.x == 0
    shown = _crop_shown(zc.figure(), 0)
    np.testing.assert_array_equal(shown, zc.images["blurred"][zc.region.slices])
    png = zc.view.value
    zc.y.value = 3
    assert zc.view.value != png and zc.region.y == 3


def test_zoom_slider_changes_the_crop_size_and_keeps_its_centre():
    zc = W.ZoomCrops(_images(), zoom=2)  # 32 px crop, centred
    assert zc.region == W.Region(16, 16, 32)
    png = zc.view.value
    zc.zoom.value = 4
    assert zc.region == W.Region(24, 24, 16)  # same centre, half the side
    assert zc.x.max == zc.y.max == 64 - 16
    assert zc.view.value != png
    assert _crop_shown(zc.figure(), 0).shape == (16, 16)


def test_stretch_is_linked_across_panels_and_can_be_unlinked():
    imgs = _images()
    imgs["restored"] = imgs["restored"] * 0.5  # darker panel: per-panel limits differ
    zc = W.ZoomCrops(imgs, zoom=2)
    lims = zc.limits
    assert len(set(lims.values())) == 1
    fig = zc.figure()
    clims = {ax.images[0].get_clim() for ax in fig.axes[1:4]}
    assert len(clims) == 1  # every crop panel drawn with the same grey mapping
    png = zc.view.value
    zc.linked.value = False
    assert len(set(zc.limits.values())) == 3 and zc.view.value != png
    png = zc.view.value
    zc.stretch.value = (10.0, 90.0)
    assert zc.view.value != png
    lo, hi = zc.limits["blurred"]
    crop = imgs["blurred"][zc.region.slices]
    assert lo == pytest.approx(np.percentile(crop, 10))
    assert hi == pytest.approx(np.percentile(crop, 90))


def test_8_and_16_bit_inputs_render_alike():
    rng = np.random.default_rng(1)
    img8 = rng.integers(0, 256, (48, 48)).astype(np.uint8)
    img16 = img8.astype(np.uint16) * 257  # the same grey levels in 16 bit
    a = W.ZoomCrops({"blurred": img8, "reference": img8[::-1].copy()}, zoom=2)
    b = W.ZoomCrops({"blurred": img16, "reference": img16[::-1].copy()}, zoom=2)
    assert a.view.value == b.view.value
    # 12-bit data in a uint16 file: dark in [0, 1], but the percentile stretch still spans it
    img12 = (img8.astype(np.uint16) * 16)
    c = W.ZoomCrops({"blurred": img12, "restored": img12.astype(np.float32) / 65535}, zoom=1)
    lo, hi = c.limits["blurred"]
    assert 0 <= lo < hi <= 4095 / 65535
    assert W.as_unit(img16).max() <= 1.0 and W.as_unit(img16).dtype == np.float32


# --------------------------------------------------------------------------- SpectrumView


def test_spectrum_view_follows_the_zoom_region():
    zc = W.ZoomCrops(_images(), zoom=4)
    sv = W.SpectrumView(zc)
    assert "deblurlab-spectrum-view" in sv.view._dom_classes
    assert sv.region == zc.region
    png = sv.view.value
    zc.x.value = 2
    assert sv.region == zc.region and sv.region.x == 2
    assert sv.view.value != png
    assert "x 2," in sv.figure().subfigs[0]._suptitle.get_text()
    png = sv.view.value
    sv.follow.value = False  # whole image
    assert sv.region is None and sv.view.value != png
    png = sv.view.value
    sv.marker.value = 0.1
    assert sv.view.value != png
    t = sv.table()
    assert list(t.index) == ["blurred", "restored", "reference"]


# --------------------------------------------------------------------------- LossPlayground


@pytest.fixture
def playground():
    torch.manual_seed(0)
    imgs = _images(32)
    crops = (torch.from_numpy(np.stack([imgs["blurred"]] * 4)[:, None, :16, :16].copy()),
             torch.from_numpy(np.stack([imgs["reference"]] * 4)[:, None, :16, :16].copy()))
    zc = W.ZoomCrops(imgs, zoom=2)
    pg = W.LossPlayground(ResidualCNN(width=4, depth=2), crops,
                          {"blurred": imgs["blurred"], "reference": imgs["reference"]},
                          steps=2, lr=1e-3, batch_size=2, zoom=zc, vgg_weights="random-for-tests")
    return pg, zc


def test_run_button_fine_tunes_and_appends_results(playground):
    pg, zc = playground
    base = {k: v.clone() for k, v in pg.model.state_dict().items()}
    pg.sliders["freq"].value = 1e-3
    pg.sliders["edge"].value = 0.1
    png = zc.view.value
    pg.run_button.click()
    pg.wait()
    t = pg.table()
    assert list(t.index) == ["run 1"]
    row = t.loc["run 1"]
    assert row["w_freq"] == pytest.approx(1e-3) and row["w_edge"] == pytest.approx(0.1)
    assert row["w_l1"] == 1.0 and row["w_vgg"] == 0.0 and row["steps_done"] == 2
    assert not row["stopped"] and np.isfinite(row["psnr"]) and np.isfinite(row["q"])
    assert list(zc.images) == ["blurred", "restored", "run 1", "reference"]
    assert zc.view.value != png and pg.progress.value == 2
    assert "run 1" in pg.table_view.value
    # the base model is untouched: each run fine-tunes a copy
    assert all(torch.equal(v, pg.model.state_dict()[k]) for k, v in base.items())

    pg.sliders["edge"].value = 0.0
    pg.sliders["vgg"].value = 0.3
    pg.layer.value = "conv_1_2"
    pg.sliders["q"].value = 0.05
    pg.sliders["ssim"].value = 0.5
    pg.run_button.click()
    pg.wait()
    t = pg.table()
    assert list(t.index) == ["run 1", "run 2"]
    assert t.loc["run 2", "w_vgg"] == pytest.approx(0.3) and t.loc["run 2", "layer"] == "conv_1_2"
    assert t.loc["run 2", "w_edge"] == 0.0 and t.loc["run 1", "w_edge"] == pytest.approx(0.1)
    assert t.loc["run 1", "psnr"] != t.loc["run 2", "psnr"]
    assert list(zc.images) == ["blurred", "restored", "run 1", "run 2", "reference"]


def test_stop_ends_a_run_early(playground):
    pg, _ = playground
    pg.steps.value = 200
    pg.run_button.click()
    pg.stop_button.click()
    pg.wait()
    row = pg.table().iloc[-1]
    assert row["stopped"] and 1 <= row["steps_done"] < 200
    assert not pg.running and not pg.run_button.disabled and pg.stop_button.disabled


def test_blocking_run_and_errors(playground):
    pg, _ = playground
    row = pg.run()  # headless: returns the row, no thread
    assert row["run"] == "run 1" and pg._thread is None
    for s in pg.sliders.values():
        s.value = 0.0
    with pytest.raises(ValueError, match="all loss weights are 0"):
        pg.run()
    assert "error" in pg.status.value and len(pg.results) == 1
    pg.run_button.click()  # in the background the error is shown and kept for wait()
    with pytest.raises(ValueError, match="all loss weights are 0"):
        pg.wait()
    with pytest.raises(KeyError, match="blurred"):
        W.LossPlayground(pg.model, pg.train_data, {"reference": np.zeros((32, 32))})
    with pytest.raises(ValueError, match="unknown loss terms"):
        W.make_loss_terms({"l2": 1.0})


def test_show_displays_static_content_before_the_widget(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    zc = W.ZoomCrops(_images(32))
    zc.show()
    assert isinstance(shown[0], IPython.display.Image) and shown[0].data == zc.view.value
    assert shown[1] is zc.widget
    pg = W.LossPlayground(ResidualCNN(width=4, depth=2), (torch.zeros(2, 1, 16, 16),) * 2,
                          {"blurred": _images(32)["blurred"]}, zoom=zc)
    shown.clear()
    pg.show()
    assert "no runs yet" in shown[0] and shown[1] is pg.widget


# --------------------------------------------------------------------------- folders


def test_load_image_folder_pairs_singles_and_bit_depths(tmp_path):
    rng = np.random.default_rng(0)
    a, b, c = (rng.random((24, 24)).astype(np.float32) for _ in range(3))
    write_image(tmp_path / "one_blur.tif", a, dtype="uint16")
    write_image(tmp_path / "one_sharp.tif", b, dtype="uint16")
    write_image(tmp_path / "two.png", c, dtype="uint8")
    items = W.load_image_folder(tmp_path)
    assert [(it["name"], it["source_dtype"], it["sharp"] is None) for it in items] == [
        ("one", "uint16", False), ("two", "uint8", True)]
    np.testing.assert_allclose(items[0]["blur"], a, atol=1 / 65535)
    np.testing.assert_allclose(items[1]["blur"], c, atol=1 / 255)

    sub = tmp_path / "sub"
    write_image(sub / "blur" / "x.png", a, dtype="uint8")
    write_image(sub / "sharp" / "x.png", b, dtype="uint8")
    (it,) = W.load_image_folder(sub)
    assert it["name"] == "x" and it["sharp"] is not None

    write_image(tmp_path / "lonely_gt.tif", b, dtype="uint16")
    with pytest.raises(ValueError, match="lonely"):
        W.load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        W.load_image_folder(tmp_path / "missing")


def test_doctests():
    import doctest

    assert doctest.testmod(W).failed == 0
