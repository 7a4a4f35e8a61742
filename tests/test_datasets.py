"""Paired folders, registration, crops, tiles and group splits (deblurlab.datasets)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from scipy import ndimage

from deblurlab.datasets import (
    MIDNET_GROUP,
    CentreCrops,
    PairList,
    PairedFolder,
    RandomCrops,
    RegistrationError,
    Tiles,
    apply_shift,
    dihedral,
    estimate_shift,
    group_split,
    make_item,
    midnet_sem,
    split_by_group,
    tile_starts,
)


def _texture(shape=(64, 80), seed=0, sigma=1.5) -> np.ndarray:
    img = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), sigma)
    img = (img - img.min()) / (img.max() - img.min())
    return img.astype(np.float32)


def _png(path: Path, img: np.ndarray) -> None:
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(path)


def _tif(path: Path, img: np.ndarray) -> None:
    tifffile.imwrite(path, np.round(img * 65535).astype(np.uint16))


@pytest.fixture
def pair_dirs(tmp_path):
    blur, sharp = tmp_path / "blur", tmp_path / "sharp"
    blur.mkdir(), sharp.mkdir()
    for i, name in enumerate(["1-1_s001", "1-1_s002", "2-1_s001", "3-1_s001"]):
        img = _texture(seed=i)
        _png(blur / f"{name}.png", img * 0.5)
        _tif(sharp / f"{name}.tif", img)  # other format: pairs match by stem
    return blur, sharp


# --------------------------------------------------------------------------- PairedFolder


def test_paired_folder_matches_by_stem_and_groups(pair_dirs):
    ds = PairedFolder(*pair_dirs, group=MIDNET_GROUP)
    assert ds.names == ["1-1_s001", "1-1_s002", "2-1_s001", "3-1_s001"]
    assert ds.groups == ["1-1", "2-1", "3-1"]
    assert ds.group_of("3-1_s002.png") == "3-1"
    item = ds[1]
    assert item["name"] == "1-1_s002" and item["group"] == "1-1"
    assert item["blur"].shape == item["sharp"].shape == (64, 80)
    assert item["blur"].dtype == np.float32
    np.testing.assert_allclose(item["sharp"], _texture(seed=1), atol=1e-4)
    np.testing.assert_allclose(item["blur"], _texture(seed=1) * 0.5, atol=3e-3)
    assert item["data_range"] == (0.0, 65535.0)  # from the sharp (uint16 TIFF) file
    assert item["shift"] == (0.0, 0.0)
    with pytest.raises(IndexError, match="out of range"):
        ds[4]


def test_unmatched_files_are_listed_or_dropped(pair_dirs):
    blur, sharp = pair_dirs
    _png(blur / "9-9_only_blur.png", _texture())
    _tif(sharp / "8-8_only_sharp.tif", _texture())
    with pytest.raises(ValueError, match=r"only in blur: \[9-9_only_blur\].*only in sharp: \[8-8_only_sharp\]"):
        PairedFolder(blur, sharp)
    with pytest.warns(UserWarning, match="9-9_only_blur"):
        ds = PairedFolder(blur, sharp, strict=False)
    assert len(ds) == 4 and "9-9_only_blur" not in ds.names


def test_size_mismatch_names_both_files_and_shapes(pair_dirs):
    blur, sharp = pair_dirs
    _png(blur / "2-1_s001.png", _texture((60, 80)))
    ds = PairedFolder(blur, sharp)
    with pytest.raises(ValueError) as err:
        ds[ds.names.index("2-1_s001")]
    msg = str(err.value)
    assert "2-1_s001.png" in msg and "2-1_s001.tif" in msg
    assert "(60, 80)" in msg and "(64, 80)" in msg


def test_folder_errors(pair_dirs, tmp_path):
    blur, sharp = pair_dirs
    with pytest.raises(FileNotFoundError, match="nowhere"):
        PairedFolder(blur, tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"1-1_s001\.png.*does not match the group pattern"):
        PairedFolder(blur, sharp, group=r"^(\d+)_x")
    _tif(blur / "1-1_s001.tif", _texture())
    with pytest.raises(ValueError, match=r"two files with the key '1-1_s001'.*1-1_s001\.png"):
        PairedFolder(blur, sharp)
    empty, empty2 = tmp_path / "empty", tmp_path / "empty2"
    empty.mkdir(), empty2.mkdir()
    with pytest.raises(ValueError, match="no matching image pairs"):
        PairedFolder(empty, empty2)


def test_same_folder_twice_is_refused(pair_dirs):
    blur, _ = pair_dirs
    with pytest.raises(ValueError, match=rf"same folder \({re.escape(str(blur))}\).*with itself"):
        PairedFolder(blur, blur)
    with pytest.raises(ValueError, match="same folder"):  # another spelling of the same path
        PairedFolder(blur, blur / ".." / blur.name)


def test_match_key_pairs_files_with_different_names(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    _png(tmp_path / "a" / "x_a01_s1_w1-uuid1.png", _texture(seed=3))
    _png(tmp_path / "b" / "y_a01_s1_w1-uuid2.png", _texture(seed=3))
    ds = PairedFolder(tmp_path / "a", tmp_path / "b", match=r"_(a\d\d_s\d_w\d)")
    assert ds.names == ["a01_s1_w1"]
    assert ds.paths(0)[1].name == "y_a01_s1_w1-uuid2.png"


def _item(blur, sharp, name="p1"):
    return {"blur": blur, "sharp": sharp, "name": name, "group": "g"}


def test_pair_list_refuses_mismatched_shapes():
    # RandomCrops sizes the window from the sharp image: blur would come out cut short.
    with pytest.raises(ValueError, match=r"in pair 'p1': blur \(16, 16\) vs sharp \(20, 20\)"):
        PairList([_item(np.zeros((16, 16), np.float32), np.zeros((20, 20), np.float32))])
    with pytest.raises(ValueError, match=r"pair 'p1'.*\(16, 16\) vs sharp \(16, 16, 3\)"):
        PairList([_item(np.zeros((16, 16), np.float32), np.zeros((16, 16, 3), np.float32))])
    with pytest.raises(ValueError, match=r"pair 'p1': blur must be a real-valued .* \(16,\)"):
        PairList([_item(np.zeros(16, np.float32), np.zeros(16, np.float32))])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_images_are_refused_naming_the_pair(bad):
    ok = _texture((32, 32))
    nan = ok.copy()
    nan[3, 4] = bad
    with pytest.raises(ValueError, match=r"pair 'p1': sharp has 1 NaN/Inf"):
        PairList([_item(ok, ok, "p0"), _item(ok, nan)])
    with pytest.raises(ValueError, match=r"pair 'p1': blur has 1 NaN/Inf"):
        make_item(nan, ok, name="p1", group="g")
    with pytest.raises(ValueError, match=r"a\.tif and b\.tif: blur has 1 NaN/Inf"):
        make_item(nan, ok, name="p1", group="g", register=True, describe="a.tif and b.tif")


# --------------------------------------------------------------------------- registration


def test_estimate_shift_sign_convention():
    ref = _texture((96, 96), seed=5, sigma=2.0)
    moved = ndimage.shift(ref, (2.0, -3.0), order=3, mode="nearest")
    dy, dx = estimate_shift(moved, ref)
    assert abs(dy + 2.0) < 0.15 and abs(dx - 3.0) < 0.15


def test_registration_recovers_subpixel_shift_of_blurred_image(tmp_path):
    """Blurred copy displaced by (1.27, -2.64) px (off the 0.1 px grid); report the error."""
    sharp = _texture((128, 128), seed=7, sigma=2.0)
    true = np.array([1.27, -2.64])
    blurred = ndimage.gaussian_filter(sharp, 3.0)
    moved = ndimage.shift(blurred, true, order=3, mode="nearest")
    noisy = np.clip(moved + np.random.default_rng(0).normal(0, 0.005, moved.shape), 0, 1)
    (tmp_path / "b").mkdir(), (tmp_path / "s").mkdir()
    _tif(tmp_path / "b" / "p.tif", noisy)
    _tif(tmp_path / "s" / "p.tif", sharp)
    item = PairedFolder(tmp_path / "b", tmp_path / "s", register=True)[0]
    err = np.abs(np.array(item["shift"]) + true)
    print(f"registration error (dy, dx) = ({err[0]:.3f}, {err[1]:.3f}) px")
    assert err.max() < 0.15
    # After registration the blurred image lines up with the blurred ground truth.
    y0, y1, x0, x1 = item["valid"]
    assert (y0, x0) == (0, 3) and (y1, x1) == (126, 128)
    before = np.abs(noisy - blurred)[8:-8, 8:-8].mean()
    after = np.abs(item["blur"] - blurred)[8:-8, 8:-8].mean()
    assert after < 0.25 * before
    np.testing.assert_array_equal(item["sharp"], PairedFolder(tmp_path / "b", tmp_path / "s")[0]["sharp"])


def test_registration_refuses_large_shift(tmp_path):
    sharp = _texture((96, 96), seed=2, sigma=2.0)
    (tmp_path / "b").mkdir(), (tmp_path / "s").mkdir()
    _tif(tmp_path / "b" / "far.tif", ndimage.shift(sharp, (0, 6), mode="nearest"))
    _tif(tmp_path / "s" / "far.tif", sharp)
    ds = PairedFolder(tmp_path / "b", tmp_path / "s", register=True, max_shift_px=3)
    with pytest.raises(RegistrationError, match=r"far\.tif.*max_shift_px=3"):
        ds[0]
    assert PairedFolder(tmp_path / "b", tmp_path / "s", register=True, max_shift_px=8)[0]["shift"][1] == pytest.approx(-6, abs=0.2)


def test_trim_crops_to_valid_region(tmp_path):
    sharp = _texture((96, 96), seed=4, sigma=2.0)
    (tmp_path / "b").mkdir(), (tmp_path / "s").mkdir()
    _tif(tmp_path / "b" / "t.tif", ndimage.shift(sharp, (-2.4, 1.3), mode="nearest"))
    _tif(tmp_path / "s" / "t.tif", sharp)
    item = PairedFolder(tmp_path / "b", tmp_path / "s", register=True, trim=True)[0]
    # Registration shifts by (+2.4, -1.3): rows 0-2 and the last 2 columns were edge-filled.
    assert item["blur"].shape == item["sharp"].shape == (93, 94)
    assert item["valid"] == (0, 93, 0, 94)
    np.testing.assert_allclose(item["sharp"], sharp[3:, :94], atol=1e-4)


def test_apply_shift_keeps_range_and_channels():
    rgb = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    out = apply_shift(rgb, (1.5, -0.5))
    assert out.shape == rgb.shape and out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(apply_shift(rgb, (0.0, 0.0)), rgb, atol=1e-5)


# --------------------------------------------------------------------------- crops and tiles


def _coded_items(n=2, shape=(40, 50)) -> PairList:
    """Items whose sharp pixels are unique codes and whose blur is a fixed function of sharp."""
    h, w = shape
    items = []
    for i in range(n):
        sharp = (np.arange(h * w, dtype=np.float32).reshape(h, w) + i * h * w) / (n * h * w)
        items.append({"blur": 0.5 * sharp + 0.25, "sharp": sharp, "name": f"im{i}", "group": f"g{i}"})
    return PairList(items)


def _locate(crop: np.ndarray, source: np.ndarray) -> tuple[int, bool, int, int]:
    """The dihedral transform and window of ``source`` that ``crop`` is, or fail."""
    h, w = source.shape
    for k in range(4):
        for flip in (False, True):
            # Invert: undo the flip, then rotate back.
            undone = np.rot90(crop[:, ::-1] if flip else crop, -k)
            code = int(round(undone[0, 0] * source.size))  # coded as index / size in _coded_items
            y, x = divmod(code % source.size, w)
            ch, cw = undone.shape
            if y + ch <= h and x + cw <= w and np.array_equal(undone, source[y:y + ch, x:x + cw]):
                return k, flip, y, x
    raise AssertionError("crop is not a dihedral transform of a window of the source")


def test_random_crops_are_aligned_and_augmented_identically():
    base = _coded_items(n=1)
    crops = RandomCrops(base, 16, n_per_image=64, seed=3)
    transforms = set()
    for i in range(len(crops)):
        s = crops[i]
        assert s["blur"].shape == s["sharp"].shape == (1, 16, 16)
        assert s["name"] == "im0" and s["group"] == "g0"
        sharp, blur = s["sharp"][0].numpy(), s["blur"][0].numpy()
        np.testing.assert_allclose(blur, 0.5 * sharp + 0.25, atol=1e-6)  # same transform on both
        k, flip, _, _ = _locate(sharp, base[0]["sharp"])
        transforms.add((k, flip))
    assert len(transforms) >= 6  # the 8 dihedral transforms all occur


def test_random_crops_without_augment_are_plain_windows():
    base = _coded_items(n=1)
    crops = RandomCrops(base, (8, 12), n_per_image=20, augment=False)
    for i in range(len(crops)):
        k, flip, *_ = _locate(crops[i]["sharp"][0].numpy(), base[0]["sharp"])
        assert (k, flip) == (0, False)


def test_random_crops_are_deterministic_per_seed_epoch_index():
    base = _coded_items()
    a, b = RandomCrops(base, 16, n_per_image=5, seed=1), RandomCrops(base, 16, n_per_image=5, seed=1)
    first = [a[i]["sharp"] for i in range(len(a))]
    assert all(torch.equal(x, b[i]["sharp"]) for i, x in enumerate(first))
    assert torch.equal(a[7]["sharp"], first[7])  # repeat access, same sample
    a.set_epoch(1)
    changed = sum(not torch.equal(a[i]["sharp"], first[i]) for i in range(len(a)))
    assert changed >= 8
    a.set_epoch(0)
    assert all(torch.equal(a[i]["sharp"], first[i]) for i in range(len(a)))
    c = RandomCrops(base, 16, n_per_image=5, seed=2)
    assert sum(not torch.equal(c[i]["sharp"], first[i]) for i in range(len(c))) >= 8
    # Sample index → base item: first n_per_image from item 0.
    assert [a[i]["name"] for i in range(len(a))] == ["im0"] * 5 + ["im1"] * 5


def test_random_crops_through_dataloader_repeat_exactly():
    base = _coded_items()
    runs = []
    for _ in range(2):
        crops = RandomCrops(base, 8, n_per_image=4, seed=0)
        loader = torch.utils.data.DataLoader(
            crops, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))
        runs.append(torch.cat([batch["sharp"] for batch in loader]))
    assert runs[0].shape == (8, 1, 8, 8)
    assert torch.equal(runs[0], runs[1])


def test_crop_larger_than_image_is_a_clear_error():
    crops = RandomCrops(_coded_items(shape=(40, 50)), 48)
    with pytest.raises(ValueError, match=r"crop 48×48 is larger than image 'im0' of size 40×50"):
        crops[0]
    with pytest.raises(ValueError, match="larger than image 'im0'"):
        CentreCrops(_coded_items(), (41, 10))[0]
    with pytest.raises(ValueError, match="tile 64×64 is larger than image 'im0'"):
        Tiles(_coded_items(), 64)
    with pytest.raises(ValueError, match="crop must be positive"):
        RandomCrops(_coded_items(), 0)


def test_crop_and_tile_sizes_take_ints_or_pairs_of_ints():
    base = _coded_items(n=1)
    assert RandomCrops(base, np.int64(8))[0]["blur"].shape == (1, 8, 8)
    assert CentreCrops(base, (np.int32(6), 10))[0]["sharp"].shape == (1, 6, 10)
    assert Tiles(base, [20, 25])[0]["sharp"].shape == (1, 20, 25)
    for bad in (8.0, (8, 8, 8), "8", True, (8, 8.5)):
        msg = rf"crop must be an int or a pair \(h, w\) of ints, got {re.escape(repr(bad))}"
        with pytest.raises(TypeError, match=msg):
            RandomCrops(base, bad)
    with pytest.raises(TypeError, match="tile must be an int or a pair"):
        Tiles(base, 4.0)


def test_tiles_refuse_a_stride_longer_than_the_tile():
    # A longer stride would leave untiled pixels between tiles.
    with pytest.raises(ValueError, match="stride 6 is longer than tile 4: the tiles would leave"):
        Tiles(_coded_items(), 4, stride=6)
    with pytest.raises(ValueError, match=r"stride \(4, 5\) is longer than tile \(4, 4\)"):
        Tiles(_coded_items(), (4, 4), stride=(4, 5))
    with pytest.raises(ValueError, match="stride 6 must be between 1 and the tile length 4"):
        tile_starts(10, 4, 6)
    assert len(Tiles(_coded_items(n=1, shape=(8, 8)), 4, stride=(2, 4))) == 3 * 2


def test_channel_conversion():
    rgb = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    base = PairList([{"blur": rgb, "sharp": rgb, "name": "c", "group": "c"}])
    assert RandomCrops(base, 8)[0]["blur"].shape == (3, 8, 8)
    grey = RandomCrops(base, 8, channels=1, augment=False)[0]["sharp"]
    assert grey.shape == (1, 8, 8)
    assert float(grey.max()) <= 1.0
    g = PairList([{"blur": rgb[..., 0], "sharp": rgb[..., 0], "name": "g", "group": "g"}])
    s = CentreCrops(g, 8, channels=3)[0]["sharp"]
    assert s.shape == (3, 8, 8) and torch.equal(s[0], s[2])
    with pytest.raises(ValueError, match="channels must be"):
        CentreCrops(g, 8, channels=2)[0]


def test_tiles_cover_the_image_and_centre_crop_is_centred():
    assert tile_starts(10, 4, 4) == [0, 4, 6]
    assert tile_starts(8, 4, 2) == [0, 2, 4]
    base = _coded_items(n=2, shape=(40, 50))
    tiles = Tiles(base, 16, stride=12)
    per_image = len(tile_starts(40, 16, 12)) * len(tile_starts(50, 16, 12))
    assert len(tiles) == 2 * per_image == 2 * 3 * 4  # rows 0, 12, 24; columns 0, 12, 24, 34
    covered = np.zeros((40, 50), bool)
    for i in range(len(tiles)):
        t = tiles[i]
        if t["index"] == 0:
            src = base[0]["sharp"][t["y"]:t["y"] + 16, t["x"]:t["x"] + 16]
            np.testing.assert_array_equal(t["sharp"][0].numpy(), src)
            covered[t["y"]:t["y"] + 16, t["x"]:t["x"] + 16] = True
        assert t["group"] == f"g{t['index']}"
    assert covered.all()
    c = CentreCrops(base, (10, 20))[1]
    np.testing.assert_array_equal(c["sharp"][0].numpy(), base[1]["sharp"][15:25, 15:35])


# --------------------------------------------------------------------------- splits


def test_split_by_group_on_synthetic_names():
    names = [f"{g}_s{i:03d}.png" for g in ("1-1", "2-1", "3-1", "4-1") for i in range(3)]
    split = split_by_group(names, test_groups=["4-1"], val_groups=["2-1"])
    assert split.test == [9, 10, 11] and split.val == [3, 4, 5]
    assert split.train == [0, 1, 2, 6, 7, 8]
    assert sorted(split.train + split.val + split.test) == list(range(12))
    items = [{"group": n[:3]} for n in names]
    assert split_by_group(items, test_groups=["4-1"]).test == [9, 10, 11]
    custom = split_by_group(["a.1", "b.1", "a.2"], test_groups=["a"], group=lambda n: n[0])
    assert custom.test == [0, 2]
    with pytest.raises(ValueError, match=r"unknown group\(s\) \['9-1'\]; available: \['1-1'"):
        split_by_group(names, test_groups=["9-1"])
    with pytest.raises(ValueError, match="both val and test"):
        split_by_group(names, test_groups=["1-1"], val_groups=["1-1"])
    with pytest.raises(TypeError, match="sequence of group names"):
        split_by_group(names, test_groups="1-1")


def test_group_split_keeps_tiles_of_a_group_together(pair_dirs):
    ds = PairedFolder(*pair_dirs, group=MIDNET_GROUP)
    train, val, test = group_split(ds, test=("1-1",), val=("3-1",))
    assert test.names == ["1-1_s001", "1-1_s002"] and val.names == ["3-1_s001"]
    assert train.names == ["2-1_s001"]
    groups = {}
    for name, sub in (("train", train), ("val", val), ("test", test)):
        tiles = Tiles(sub, 32, 16)
        groups[name] = {tiles[i]["group"] for i in range(len(tiles))}
    assert groups == {"train": {"2-1"}, "val": {"3-1"}, "test": {"1-1"}}
    assert torch.equal(RandomCrops(test, 16, seed=0)[1]["sharp"], RandomCrops(ds, 16, seed=0)[1]["sharp"])


# --------------------------------------------------------------------------- real data


def test_midnet_sem_pairs_and_group_split(real_data):
    root = real_data("midnet-sem")
    real_data("midnet-sem/blur/1-1_s001.png")
    ds = midnet_sem(root, grey=True)
    assert len(ds) == 96
    assert ds.groups == [f"{g}-1" for g in range(1, 9)]
    assert all(sum(ds.item_group(i) == g for i in range(len(ds))) == 12 for g in ds.groups)
    item = ds[0]
    assert item["name"] == "1-1_s001" and item["group"] == "1-1"
    assert item["blur"].shape == item["sharp"].shape == (512, 512)
    assert item["data_range"] == (0.0, 255.0)
    assert not np.array_equal(item["blur"], item["sharp"])
    rgb = midnet_sem(root)[95]
    assert rgb["blur"].shape == (512, 512, 3) and rgb["name"] == "8-1_s012"

    train, val, test = group_split(ds, test=("8-1",), val=("7-1",))
    assert (len(train), len(val), len(test)) == (72, 12, 12)
    split = split_by_group(ds.names, test_groups=["8-1"], val_groups=["7-1"])
    assert [ds.names[i] for i in split.test] == test.names
    train_groups = {train.item_group(i) for i in range(len(train))}
    test_groups = {test.item_group(i) for i in range(len(test))}
    assert test_groups == {"8-1"} and train_groups.isdisjoint(test_groups | {"7-1"})
    # Tiles built on the test subset never carry a training group.
    tiles = Tiles(PairList([test[0], test[11]]), 256)
    assert len(tiles) == 8 and {tiles[i]["group"] for i in range(len(tiles))} == {"8-1"}
    with pytest.raises(ValueError, match=re.escape("unknown group(s) ['9-1']")):
        group_split(ds, test=("9-1",))


def test_dihedral_matches_numpy():
    a = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(dihedral(a, 1, False), np.rot90(a))
    np.testing.assert_array_equal(dihedral(a, 0, True), a[:, ::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dihedral(np.zeros((4, 4, 3)), 3, True).shape == (4, 4, 3)


def test_samples_do_not_alias_cached_images(pair_dirs):
    ds = PairedFolder(*pair_dirs)
    before = ds[0]["sharp"].copy()
    sample = RandomCrops(ds, (64, 80), augment=False)[0]  # full image: a crop that is no copy
    sample["sharp"].add_(1.0)
    CentreCrops(ds, (64, 80))[0]["blur"].zero_()
    np.testing.assert_array_equal(ds[0]["sharp"], before)
    assert ds[0]["blur"].max() > 0


def test_concat_pairs_prefixes_names_and_groups_and_keeps_items():
    from deblurlab.datasets import ConcatPairs, PairList, split_by_group

    img = np.zeros((8, 8), np.float32)
    a = PairList([{"blur": img, "sharp": img, "name": "x", "group": "g1"}])
    b = PairList([{"blur": img + 1, "sharp": img, "name": "x", "group": "g1"},
                  {"blur": img, "sharp": img, "name": "y", "group": "g2"}])
    both = ConcatPairs(sem=a, focus=b)
    assert len(both) == 3 and both.names == ["sem/x", "focus/x", "focus/y"]
    assert both.groups == ["focus/g1", "focus/g2", "sem/g1"]
    assert both[1]["blur"][0, 0] == 1 and both[1]["group"] == "focus/g1"
    with pytest.raises(ValueError, match="at least one"):
        ConcatPairs()
