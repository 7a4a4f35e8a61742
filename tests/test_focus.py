"""Focus-series name parsing, loaders and pairs (deblurlab.focus)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy import ndimage

from deblurlab.datasets import RandomCrops, split_by_group
from deblurlab.focus import (
    FocusPairs,
    FocusSeries,
    bbbc006_defocus,
    bbbc006_field,
    bbbc006_pairs,
    bbbc006_plane_for_distance,
    bbbc006_sample_pairs,
    detect_focus_set,
    dfnn_single_reference,
    dfnn_stack_order,
    load_bbbc006,
    load_focus_series,
    parse_bbbc006_plane,
    parse_defocus,
    parse_dfnn_single,
    parse_dfnn_stack,
    parse_reflected,
    parse_sem_defocus,
    parse_smear,
    reflected_focus_fields,
)

SINGLE = "dfnn-lightsheet/microtubules/single"
STACK = "dfnn-lightsheet/microtubules/stack"
STACK_NAME = "cell11G3Dz0p5um_ch0_stack0001_488nm_0004525msec_0007559766msecAbs{:04d}.tif"

# --------------------------------------------------------------------------- names only


def test_parse_dfnn_single_names():
    assert parse_dfnn_single("cell11G3Dz0p5umOffM0p3um.tif") == -0.3
    assert parse_dfnn_single("cell11G3Dz0p5umOffP0p3um") == 0.3
    assert parse_dfnn_single("cell11G3Dz0p5umOffP0p7um.tif") == 0.7
    assert parse_dfnn_single("cell11G3Dz0p5umON.tif") == 0.0
    assert parse_dfnn_single("cell11G3Dz0p5umON(1).tif") == 0.0
    with pytest.raises(ValueError, match="cell11G3Dz0p5um.tif.*not a dfnn-lightsheet single"):
        parse_dfnn_single("cell11G3Dz0p5um.tif")  # the pattern's own "0p5um" is not a defocus


def test_dfnn_single_reference_follows_the_readme():
    on = {"M0p1", "P0p1", "M0p3"}
    for sign in "MP":
        for tenth in range(1, 8):
            tag = f"{sign}0p{tenth}"
            expected = "ON" if tag in on else "ON(1)"
            assert dfnn_single_reference(f"cell11G3Dz0p5umOff{tag}um.tif") == expected, tag
    with pytest.raises(ValueError, match="itself an in-focus reference"):
        dfnn_single_reference("cell11G3Dz0p5umON(1).tif")
    with pytest.raises(ValueError, match=r"no in-focus image to defocus \+0.9"):
        dfnn_single_reference("cell11G3Dz0p5umOffP0p9um.tif")


def test_parse_dfnn_stack_names():
    assert dfnn_stack_order(STACK_NAME.format(36)) == 36
    assert parse_dfnn_stack(STACK_NAME.format(36)) == -0.75  # the ReadMe's worked example
    assert parse_dfnn_stack(STACK_NAME.format(51)) == 0.0
    assert parse_dfnn_stack(STACK_NAME.format(52)) == 0.05
    assert parse_dfnn_stack(STACK_NAME.format(66)) == 0.75
    with pytest.raises(ValueError, match="dfnn-lightsheet stack"):
        parse_dfnn_stack("cell11_Abs36.tif")


def test_parse_reflected_names():
    assert parse_reflected("tile__ix000_iy001_zoff-7.2650um.tiff") == ("ix000_iy001", -7.265)
    assert parse_reflected("tile__ix000_iy000_zoff0um.tiff") == ("ix000_iy000", 0.0)
    assert parse_reflected("tile__ix000_iy000_zoff11.3283um.tiff") == ("ix000_iy000", 11.3283)
    assert parse_reflected("tile__ix000_iy000_zoff-0.1025um") == ("ix000_iy000", -0.1025)
    with pytest.raises(ValueError, match="reflected-focus"):
        parse_reflected("tile_ix000_zoff1um.tiff")


def test_parse_smear_names():
    assert [parse_smear(f"{i}.bmp") for i in (-9, 0, 9)] == [-9, 0, 9]
    with pytest.raises(ValueError, match="'LICENSE' is not a smear-focus name"):
        parse_smear("LICENSE")


def test_bbbc006_names_and_distance_mapping():
    assert parse_bbbc006_plane("BBBC006_v1_images_z_05") == 5
    assert parse_bbbc006_plane("/data/BBBC006_v1_images_z_33/") == 33
    assert bbbc006_field("00_mcf-z-stacks-03212011_a01_s1_w1a571d43d-5554.tif") == "a01_s1_w1"
    assert bbbc006_field("BBBC006_z_aligned__a01__s1__w1_10.png") == "a01_s1_w1"
    assert bbbc006_field("mcf-z-stacks-03212011_p24_s2_w2abc.tif") == "p24_s2_w2"
    assert bbbc006_defocus(17) == 0.0 and bbbc006_defocus(12) == -10.0
    assert bbbc006_defocus(16, reference_plane=16) == 0.0 and bbbc006_defocus(33) == 32.0
    # METHODS §5.3: GT z17, distances 10…34 µm on the lower side → z12, z09, z06, z03, z00.
    assert [bbbc006_plane_for_distance(d) for d in (10, 16, 22, 28, 34)] == [12, 9, 6, 3, 0]
    assert bbbc006_plane_for_distance(10, side="upper") == 22
    assert [abs(bbbc006_defocus(z)) for z in (12, 9, 6, 3, 0)] == [10, 16, 22, 28, 34]
    with pytest.raises(ValueError, match="not a multiple"):
        bbbc006_plane_for_distance(11)
    with pytest.raises(ValueError, match="outside 0…33"):
        bbbc006_plane_for_distance(34, side="upper")
    with pytest.raises(ValueError, match="planes are 0…33"):
        bbbc006_defocus(34)


def test_parse_sem_and_dispatch():
    assert parse_sem_defocus("series_0_def-13324_astx-466_asty219_base.png") == -13.324
    assert parse_sem_defocus("series_0_def-13324_astx-466_asty219_pert5000.png") == -8.324
    assert parse_sem_defocus("series_0_def-13324_astx-466_asty219_pert-5000.png") == -18.324
    assert parse_defocus("cell11G3Dz0p5umOffM0p3um.tif", "dfnn-lightsheet-single") == (-0.3, "µm")
    assert parse_defocus("-4.bmp", "smear-focus") == (-4.0, "step")
    assert parse_defocus("BBBC006_v1_images_z_09/x_a01_s1_w1.tif", "bbbc006") == (-16.0, "µm")
    assert parse_defocus(STACK_NAME.format(40), "dfnn-lightsheet-stack") == (-0.55, "µm")
    with pytest.raises(ValueError, match="unknown naming scheme 'nope'"):
        parse_defocus("a.tif", "nope")


# --------------------------------------------------------------------------- synthetic folders


def _scene(shape=(80, 90), seed=0) -> np.ndarray:
    img = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 2.0)
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def test_focus_series_validates_and_pairs():
    ref, a, b = _scene(seed=0), _scene(seed=1), _scene(seed=2)
    s = FocusSeries([a, b], [-1.0, 2.0], ["a", "b"], {"r": ref}, ["r", "r"], dataset="t", field="f")
    assert len(s) == 2 and s.reference is ref and s.stack().shape == (2, 80, 90)
    with pytest.raises(ValueError, match="differ in shape"):
        FocusSeries([a, b[:10]], [-1.0, 2.0], ["a", "b"], {"r": ref}, ["r", "r"])
    with pytest.raises(ValueError, match=r"unknown reference\(s\) \['q'\]"):
        FocusSeries([a], [1.0], ["a"], {"r": ref}, ["q"])
    pairs = FocusPairs(s)
    item = pairs[1]
    assert item["blur"] is b and item["sharp"] is ref
    assert (item["defocus"], item["unit"], item["group"], item["reference"]) == (2.0, "µm", "t:f", "r")
    assert FocusPairs(s, defocus=[2.0]).names == ["b"]
    assert FocusPairs(s, group="defocus").item_group(0) == "-1µm"
    with pytest.raises(ValueError, match="no plane with defocus"):
        FocusPairs(s, defocus=[5.0])
    blind = FocusSeries([a], [1.0], ["a"], {}, [""], dataset="sem")
    with pytest.raises(ValueError, match="sem .* has no in-focus reference"):
        FocusPairs(blind)
    double = FocusSeries([a], [1.0], ["a"], {"r": ref, "q": ref}, ["q"])
    with pytest.raises(ValueError, match="2 references"):
        double.reference
    bright = s.rescaled(percentile=50)
    assert float(np.median(bright.reference)) == pytest.approx(1.0, abs=0.02)
    assert bright.data_range[1] < s.data_range[1]


def test_smear_folder_is_cropped_to_common_size_and_registered(tmp_path):
    """Planes = differently sized, slightly off-centre windows of one scene."""
    scene = _scene((140, 160), seed=3)
    windows = {0: (10, 12, 100, 120), -2: (13, 10, 96, 118), 3: (8, 15, 106, 124)}
    for step, (y, x, h, w) in windows.items():
        Image.fromarray(np.round(scene[y:y + h, x:x + w] * 255).astype(np.uint8)).save(
            tmp_path / f"{step}.bmp")
    (tmp_path / "LICENSE").write_text("CC0")
    assert detect_focus_set(tmp_path) == "smear-focus"
    s = load_focus_series(tmp_path)
    assert s.unit == "step" and list(s.defocus) == [-2.0, 3.0] and s.names == ["-2.bmp", "3.bmp"]
    assert s.reference.shape == (96, 118) and all(p.shape == (96, 118) for p in s.planes)
    reg = load_focus_series(tmp_path, register=True)
    for raw, aligned in zip(s.planes, reg.planes):
        inner = (slice(8, -8), slice(8, -8))
        assert np.abs(aligned - reg.reference)[inner].mean() < 0.2 * np.abs(raw - s.reference)[inner].mean()


def test_dfnn_single_folder_detection_and_mapping(tmp_path):
    for tag in ("ON", "ON(1)", "OffM0p1um", "OffP0p3um"):
        tifffile.imwrite(tmp_path / f"cell11G3Dz0p5um{tag}.tif", (_scene() * 600).astype(np.uint16))
    (tmp_path / "ReadMe.txt").write_text("naming conventions")
    assert detect_focus_set(tmp_path) == "dfnn-lightsheet-single"
    s = load_focus_series(tmp_path)
    assert list(s.defocus) == [-0.1, 0.3]
    assert s.reference_for == ["cell11G3Dz0p5umON.tif", "cell11G3Dz0p5umON(1).tif"]
    (tmp_path / "cell11G3Dz0p5umON.tif").unlink()
    with pytest.raises(FileNotFoundError, match=r"in-focus image\(s\) \['ON'\] not found"):
        load_focus_series(tmp_path)


def test_bbbc006_layout(tmp_path):
    """Full-set layout: z folders, file names differing in their UUID suffix across folders."""
    for z in range(34):
        d = tmp_path / f"BBBC006_v1_images_z_{z:02d}"
        d.mkdir()
        for field in ("a01_s1", "b02_s2"):
            img = (_scene((24, 32), seed=z) * 4000).astype(np.uint16)
            tifffile.imwrite(d / f"mcf-z-stacks-03212011_{field}_w1{z:04x}-uuid.tif", img)
    assert detect_focus_set(tmp_path) == "bbbc006"
    s = load_bbbc006(tmp_path, field="b02_s2_w1")
    assert len(s) == 33 and s.unit == "µm" and s.field == "b02_s2_w1"
    assert list(s.defocus[:2]) == [-34.0, -32.0] and s.defocus[-1] == 32.0
    assert list(s.references) == ["BBBC006_v1_images_z_17/mcf-z-stacks-03212011_b02_s2_w10011-uuid.tif"]
    assert s.data_range == (0.0, 4095.0)
    np.testing.assert_allclose(s.reference, (_scene((24, 32), seed=17) * 4000).astype(np.uint16) / 4095, atol=1e-6)
    s16 = load_bbbc006(tmp_path, field="a01_s1_w1", reference_plane=16, planes=[6])
    assert list(s16.defocus) == [-20.0]
    with pytest.raises(ValueError, match="unknown BBBC006 field 'z99_s1_w1'"):
        load_bbbc006(tmp_path, field="z99_s1_w1")
    pairs = bbbc006_pairs(tmp_path, 34)
    assert pairs.names == ["a01_s1_w1", "b02_s2_w1"] and pairs.groups == ["a01_s1", "b02_s2"]
    assert pairs.paths(0)[0].parent.name == "BBBC006_v1_images_z_00"
    assert pairs.paths(0)[1].parent.name == "BBBC006_v1_images_z_17"
    assert pairs[1]["blur"].shape == (24, 32)


# --------------------------------------------------------------------------- real data


def test_real_dfnn_single(real_data):
    root = real_data(SINGLE)
    real_data(f"{SINGLE}/cell11G3Dz0p5umON(1).tif")
    s = load_focus_series("dfnn-lightsheet-single")
    assert s.source == root and len(s) == 14 and s.unit == "µm"
    np.testing.assert_allclose(s.defocus, [-0.7, -0.6, -0.5, -0.4, -0.3, -0.2, -0.1,
                                           0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert sorted(s.references) == ["cell11G3Dz0p5umON(1).tif", "cell11G3Dz0p5umON.tif"]
    ref = dict(zip(s.names, s.reference_for))
    assert ref["cell11G3Dz0p5umOffM0p3um.tif"] == "cell11G3Dz0p5umON.tif"
    assert ref["cell11G3Dz0p5umOffP0p3um.tif"] == "cell11G3Dz0p5umON(1).tif"
    assert sum(r == "cell11G3Dz0p5umON.tif" for r in s.reference_for) == 3
    assert s.planes[0].shape == (800, 512) and s.data_range == (0.0, 65535.0)
    pairs = FocusPairs(s.rescaled())
    item = pairs[s.names.index("cell11G3Dz0p5umOffM0p1um.tif")]
    assert item["reference"] == "cell11G3Dz0p5umON.tif" and item["defocus"] == -0.1
    assert 0.5 < float(item["sharp"].max()) <= 1.0  # rescaled from values below ~600/65535


def test_real_dfnn_stack(real_data):
    real_data(f"{STACK}/{STACK_NAME.format(51)}")
    s = load_focus_series("dfnn-lightsheet-stack")
    assert len(s) + len(s.references) == 31
    assert list(s.references) == [STACK_NAME.format(51)]
    np.testing.assert_allclose(s.defocus, [(o - 51) * 0.05 for o in range(36, 67) if o != 51])
    assert s.reference.shape == (800, 512)


def test_real_reflected_focus(real_data):
    real_data("reflected-focus/tile__ix000_iy001_zoff0um.tiff")
    assert reflected_focus_fields() == ["ix000_iy000", "ix000_iy001"]
    s = load_focus_series("reflected-focus", field="ix000_iy001")
    assert len(s) == 10 and s.field == "ix000_iy001"
    assert list(s.references) == ["tile__ix000_iy001_zoff0um.tiff"]
    assert -7.265 in s.defocus and s.defocus.min() == -47.2618 and s.defocus.max() == 44.0256
    assert s.reference.shape == (1200, 1920, 3) and s.data_range == (0.0, 255.0)
    other = load_focus_series("reflected-focus", field="ix000_iy000", grey=True)
    assert len(other) == 10 and other.reference.shape == (1200, 1920)
    assert list(other.references) == ["tile__ix000_iy000_zoff0um.tiff"]
    both = FocusPairs([s, other])
    assert len(both) == 20 and both.groups == ["reflected-focus:ix000_iy000", "reflected-focus:ix000_iy001"]
    split = split_by_group(both, test_groups=["reflected-focus:ix000_iy000"])
    assert len(split.test) == len(split.train) == 10
    with pytest.raises(ValueError, match="unknown reflected-focus field 'ix9'"):
        load_focus_series("reflected-focus", field="ix9")


def test_real_smear_focus(real_data):
    real_data("smear-focus/0.bmp")
    s = load_focus_series("smear-focus", register=True)
    assert len(s) == 18 and s.unit == "step" and "not published" in s.notes
    assert list(s.defocus) == [float(i) for i in range(-9, 10) if i != 0]
    assert list(s.references) == ["0.bmp"]
    assert s.reference.shape == (286, 330)  # smallest plane (-9.bmp) is 286×330
    pairs = FocusPairs(s, register=True)
    shifts = np.array([pairs[i]["shift"] for i in range(len(pairs))])
    assert np.abs(shifts).max() < 1.0  # planes were already registered by the loader
    assert RandomCrops(pairs, 128)[0]["blur"].shape == (1, 128, 128)


def test_real_bbbc006_sample_pair(real_data):
    real_data("bbbc006-samples/in-focus/BBBC006_z_aligned__a01__s1__w1_10.png")
    pairs = bbbc006_sample_pairs()
    assert pairs.names == ["a01_s1_w1"]
    item = pairs[0]
    assert item["blur"].shape == item["sharp"].shape == (520, 696)
    assert item["data_range"] == (0.0, 4095.0) and item["group"] == "a01_s1"
    dy, dx = item["shift"]
    print(f"bbbc006 a01_s1_w1 registration shift (dy, dx) = ({dy:.1f}, {dx:.1f}) px")
    assert 0 < max(abs(dy), abs(dx)) < 3  # a small shift; heavy blur makes it imprecise
    assert bbbc006_sample_pairs(register=False)[0]["shift"] == (0.0, 0.0)


def test_real_sem_defocus_series_has_no_reference(real_data):
    real_data("sem-defocus-series/series_0_def-13324_astx-466_asty219_base.png")
    s = load_focus_series("sem-defocus-series")
    assert list(s.defocus) == [-18.324, -13.324, -8.324] and not s.references
    with pytest.raises(ValueError, match="no in-focus reference"):
        FocusPairs(s)


def test_real_folders_are_detected(real_data):
    for rel, name in [(SINGLE, "dfnn-lightsheet-single"), (STACK, "dfnn-lightsheet-stack"),
                      ("reflected-focus", "reflected-focus"), ("smear-focus", "smear-focus"),
                      ("sem-defocus-series", "sem-defocus-series")]:
        assert detect_focus_set(real_data(rel)) == name
    with pytest.raises(ValueError, match="none of the known focus-series schemes"):
        detect_focus_set(real_data("midnet-sem/blur"))
    with pytest.raises(ValueError, match="neither a focus set"):
        load_focus_series("not-a-set")
