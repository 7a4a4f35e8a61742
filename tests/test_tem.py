"""deblurlab.tem: TEM-like burst simulation, paper-002 data preparation, ECC registration."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from scipy import ndimage

from deblurlab import phantoms
from deblurlab import tem as tem_module
from deblurlab.datasets import RegistrationError, estimate_shift
from deblurlab.simulate import blur
from deblurlab.tem import (
    CALIBRATION_GRID_SCALING,
    FULL_SCALE,
    TEM_KINDS,
    BurstPairs,
    burst_sources,
    collate_bursts,
    ecc_register,
    erode_mask,
    grid_mask,
    load_tem_streams,
    random_crops_in_mask,
    register_burst,
    regular_tiles,
    simulate_burst,
    synthetic_tem_image,
    tissue_sources,
    to_8bit,
)


def test_doctests():
    result = doctest.testmod(tem_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 20


# ----------------------------------------------------------------------------- synthetic images


def _orientation_shares(img: np.ndarray, bins: int = 36) -> tuple[np.ndarray, float]:
    """Gradient energy per orientation bin (mod 180°, sums to 1) and the structure-tensor
    coherence (1 = a single orientation, |cos Δ| for two equal families Δ apart)."""
    img = img.astype(np.float64)
    gy = ndimage.gaussian_filter(img, 1.5, order=(1, 0))
    gx = ndimage.gaussian_filter(img, 1.5, order=(0, 1))
    mag2 = gy**2 + gx**2
    theta = np.arctan2(gy, gx) % np.pi
    hist, _ = np.histogram(np.degrees(theta), bins=bins, range=(0, 180), weights=mag2)
    coherence = abs((mag2 * np.exp(2j * theta)).sum()) / mag2.sum()
    return hist / hist.sum(), float(coherence)


def _peak_share(shares: np.ndarray, centre: int, half_width: int = 2) -> float:
    idx = (np.arange(centre - half_width, centre + half_width + 1)) % len(shares)
    return float(shares[idx].sum())


@pytest.mark.parametrize("kind", TEM_KINDS)
def test_synthetic_images_range_shape_and_repeatability(kind):
    a = synthetic_tem_image(kind, (96, 80), seed=3)
    assert a.shape == (96, 80) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0 and a.std() > 0.02
    np.testing.assert_array_equal(a, synthetic_tem_image(kind, (96, 80), seed=3))
    assert not np.array_equal(a, synthetic_tem_image(kind, (96, 80), seed=4))


def test_synthetic_image_rejects_unknown_kind_and_bad_shape():
    with pytest.raises(ValueError, match=r"unknown TEM image kind 'tissue'.*kidney"):
        synthetic_tem_image("tissue")
    with pytest.raises(ValueError, match="shape"):
        synthetic_tem_image("kidney", (0, 10))


def test_kidney_spots_and_lines_on_mid_grey():
    img = synthetic_tem_image("kidney", 256, seed=0)
    assert np.mean(np.abs(img - 0.5) < 1e-3) > 0.4           # mid-grey background dominates
    bright, _ = ndimage.label(img > 0.6)
    dark, _ = ndimage.label(img < 0.4)
    assert bright.max() >= 2 and dark.max() >= 2               # bright and dark structures


def test_lines_have_one_orientation_grid2_two():
    for seed in range(4):
        s1, c1 = _orientation_shares(synthetic_tem_image("lines", 128, seed=seed))
        assert _peak_share(s1, int(s1.argmax())) > 0.9 and c1 > 0.95, (seed, c1)
        s2, c2 = _orientation_shares(synthetic_tem_image("grid2", 128, seed=seed))
        first = int(s2.argmax())
        rest = s2.copy()
        rest[(np.arange(first - 8, first + 9)) % len(rest)] = 0   # >= 45° from the first
        second = int(rest.argmax())
        p1, p2 = _peak_share(s2, first), _peak_share(s2, second)
        assert 0.2 < min(p1, p2) and max(p1, p2) < 0.6 and c2 < 0.75, (seed, p1, p2, c2)


def test_calibration_grid_bars_become_zero_after_scaling():
    img = synthetic_tem_image("calibration_grid", 256, seed=1)
    b = simulate_burst(img, 1, noise_sigma=0.0, drift_px=0.0, vmin=CALIBRATION_GRID_SCALING[0],
                       vmax=CALIBRATION_GRID_SCALING[1])
    zero = b["sharp"] == 0
    assert 0.1 < zero.mean() < 0.6                              # the bars, exactly 0
    cells, n_cells = ndimage.label(grid_mask(b["sharp"]))
    sizes = np.bincount(cells.ravel())[1:]
    assert n_cells >= 2 and (sizes > 0.03 * img.size).sum() >= 2   # several large square cells
    interior = ndimage.binary_erosion(~zero, iterations=2)          # off the anti-aliased edge
    assert b["sharp"][interior].min() > 0.3                        # cells stay clearly bright


# ----------------------------------------------------------------------------- burst simulation


def test_burst_frames_carry_the_true_shifts():
    sharp = synthetic_tem_image("kidney", 128, seed=5)
    # without blur and noise the frames are exactly the shifted image
    exact = simulate_burst(sharp, 4, blur_length=0, jitter_px=0, noise_sigma=0, drift_px=2.0,
                           seed=1)
    y0, y1, x0, x1 = exact["valid"]
    for f, s in zip(exact["frames"], exact["shifts"]):
        assert np.abs(s).max() <= 2.0 and np.abs(s - np.round(s)).max() > 0.01  # sub-pixel
        expect = ndimage.shift(exact["sharp"], s, order=3, mode="reflect")
        assert np.abs(f - expect)[y0:y1, x0:x1].max() < 2.5 / 255
        est = estimate_shift(f, exact["sharp"])                  # shift that undoes s
        assert np.abs(np.add(est, s)).max() < 0.1
    # with the default blur and noise, correlation still finds the drift within 0.5 px
    b = simulate_burst(sharp, 5, drift_px=2.0, seed=2)
    for f, s in zip(b["frames"], b["shifts"]):
        assert np.abs(np.add(estimate_shift(f, b["sharp"]), s)).max() < 0.5


def test_burst_is_repeatable_and_validates_arguments():
    sharp = synthetic_tem_image("grid2", 64, seed=0)
    a, b = simulate_burst(sharp, 3, seed=7), simulate_burst(sharp, 3, seed=7)
    np.testing.assert_array_equal(a["frames"], b["frames"])
    assert not np.array_equal(a["frames"], simulate_burst(sharp, 3, seed=8)["frames"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        simulate_burst(sharp * 2 + 0.5, 3)
    with pytest.raises(ValueError, match="vmin < vmax"):
        simulate_burst(sharp, 3, vmin=5000, vmax=4000)
    with pytest.raises(ValueError, match="n_frames"):
        simulate_burst(sharp, 0)
    with pytest.raises(ValueError, match="blur_length"):
        simulate_burst(sharp, 2, blur_length=(20, 10))


def test_motion_blur_is_vertical():
    vertical = phantoms.lines(128, 1, pitch_px=16, width_px=3, angle_deg=90, background=0.3,
                              line_value=0.9)
    horizontal = phantoms.lines(128, 1, pitch_px=16, width_px=3, angle_deg=0, background=0.3,
                                line_value=0.9)
    kw = dict(blur_length=15, jitter_px=0.0, noise_sigma=0.0, drift_px=0.0)
    bv = simulate_burst(vertical, 1, **kw)
    bh = simulate_burst(horizontal, 1, **kw)
    # vertical lines (only horizontal gradients) pass unchanged; horizontal lines are smeared
    assert np.abs(bv["frames"][0] - bv["sharp"]).max() <= 1.5 / 255
    assert bh["frames"][0].std() < 0.3 * bh["sharp"].std()
    # on 2-D content: the vertical-derivative energy (horizontal edges) drops far more than the
    # horizontal one; blurring along angle 0 instead swaps the roles (control)
    def energy_ratios(frame: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
        return tuple(float((np.diff(frame, axis=a) ** 2).sum() / (np.diff(ref, axis=a) ** 2).sum())
                     for a in (0, 1))

    for kind in ("calibration_grid", "kidney"):
        sharp = synthetic_tem_image(kind, 128, seed=2)
        for angle in (90.0, 0.0):
            b = simulate_burst(sharp, 2, blur_length=15, noise_sigma=0.0, drift_px=0.0,
                               angle_deg=angle, seed=0)
            for f in b["frames"]:
                along, across = energy_ratios(f, b["sharp"])[:: 1 if angle == 90 else -1]
                assert along < 0.12 and along < 0.4 * across, (kind, angle, along, across)
    # the (slightly curved) kernels are tall and thin, of the drawn length
    b = simulate_burst(sharp[:32, :32], 5, blur_length=(10, 20), jitter_px=0.5, seed=3)
    for k, length in zip(b["kernels"], b["lengths"]):
        rows = np.nonzero(k.sum(axis=1) > 1e-4)[0]
        cols = np.nonzero(k.sum(axis=0) > 1e-4)[0]
        assert 10 <= length <= 20
        assert abs((rows[-1] - rows[0]) - length) <= 4 and (cols[-1] - cols[0]) <= 4


def test_noise_level_matches_sigma():
    flat = np.full((128, 128), 0.5, np.float32)
    b = simulate_burst(flat, 4, noise_sigma=0.05, drift_px=0.5, seed=0)
    resid = b["frames"] - b["clean"]
    assert abs(resid.std() - 0.05) < 0.003 and abs(resid.mean()) < 0.003
    shot = simulate_burst(flat, 4, noise_sigma=0.0, photons=100, seed=0)
    assert abs((shot["frames"] - shot["clean"]).std() - np.sqrt(0.5 / 100)) < 0.004
    clean = simulate_burst(flat, 2, noise_sigma=0.0, seed=0)
    assert np.abs(clean["frames"] - 0.5).max() <= 0.5 / 255 + 1e-6   # only 8-bit rounding
    # a narrower 8-bit window stretches the noise by 65535 / (vmax - vmin)
    vmin, vmax = 0.25 * FULL_SCALE, 0.75 * FULL_SCALE
    wide = simulate_burst(flat, 4, noise_sigma=0.02, vmin=vmin, vmax=vmax, seed=0)
    assert abs((wide["frames"] - wide["clean"]).std() - 0.04) < 0.004
    assert wide["params"]["noise_sigma_out"] == pytest.approx(0.04)


def test_8bit_scaling_clips_at_vmin_vmax():
    counts = np.array([0, 999, 1000, 2000, 3000, 3001, 65535], np.uint16)
    assert to_8bit(counts, 1000, 3000).tolist() == [0, 0, 0, 128, 255, 255, 255]
    assert to_8bit(counts).dtype == np.uint8
    with pytest.raises(ValueError, match="vmin < vmax"):
        to_8bit(counts, 3000, 3000)
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (16, 1))
    vmin, vmax = 0.2 * FULL_SCALE, 0.8 * FULL_SCALE
    b = simulate_burst(ramp, 2, noise_sigma=0.0, drift_px=0.0, blur_length=0, jitter_px=0,
                       vmin=vmin, vmax=vmax)
    lo, hi, mid = ramp < 0.199, ramp > 0.801, (ramp > 0.21) & (ramp < 0.79)
    assert (b["sharp"][lo] == 0).all() and (b["sharp"][hi] == 1).all()
    assert (b["frames"][:, lo] == 0).all() and (b["frames"][:, hi] == 1).all()
    expect = (ramp[mid] - 0.2) / 0.6
    assert np.abs(b["sharp"][mid] - expect).max() <= 0.5 / 255 + 1e-3
    assert set(np.unique(np.round(b["frames"] * 255, 4))) <= set(range(256))


# ----------------------------------------------------------------------------- preparation


def test_grid_mask_threshold():
    img = np.array([[0.0, 0.1], [0.5, 0.0]], np.float32)
    assert grid_mask(img).tolist() == [[False, True], [True, False]]
    assert grid_mask(img, 0.2).tolist() == [[False, False], [True, False]]
    assert grid_mask((img * 255).astype(np.uint8)).tolist() == [[False, True], [True, False]]


def test_erosion_shrinks_mask_by_radius():
    mask = np.zeros((80, 80), bool)
    mask[10:70, 10:70] = True                                   # 60×60 square
    for radius, iterations in ((4, 1), (4, 2), (7, 2)):
        out = erode_mask(mask, radius=radius, iterations=iterations)
        ys, xs = np.nonzero(out)
        shrink = radius * iterations
        assert (ys.min(), ys.max(), xs.min(), xs.max()) == (
            10 + shrink, 69 - shrink, 10 + shrink, 69 - shrink)
    # a thin bar: pixels closer than the radius disappear, the rest survives
    bar = np.ones((60, 60), bool)
    bar[:, 30] = False
    out = erode_mask(bar, radius=5, iterations=1)
    assert not out[:, 25:36].any() and out[:, :25].all() and out[:, 36:].all()
    # border_value=0 also erodes from the image edge
    edge = erode_mask(np.ones((40, 40), bool), radius=3, iterations=2, border_value=0)
    assert np.nonzero(edge.any(axis=1))[0].tolist() == list(range(6, 34))
    assert erode_mask(np.ones((40, 40), bool), radius=3).all()
    with pytest.raises(ValueError, match="radius"):
        erode_mask(mask, radius=-1)


def _bar_mask(shape=(160, 160)) -> np.ndarray:
    m = np.ones(shape, bool)
    m[70:82, :] = False                                          # a horizontal grid bar
    m[:, 100:108] = False                                        # and a vertical one
    return m


def test_random_crops_top_left_in_eroded_mask():
    mask = _bar_mask()
    img = np.arange(mask.size, dtype=np.float32).reshape(mask.shape)
    burst = np.stack([img, img + 1, img + 2])
    radius, size = 12, 16                                        # 2·12 >= 16·√2
    eroded = erode_mask(mask, radius=radius, iterations=2)
    (crops_img, crops_burst), pos = random_crops_in_mask([img, burst], eroded, size, 50, seed=3)
    assert crops_img.shape == (50, size, size) and crops_burst.shape == (50, 3, size, size)
    assert eroded[pos[:, 0], pos[:, 1]].all()
    for (y, x), c, cb in zip(pos, crops_img, crops_burst):
        np.testing.assert_array_equal(c, img[y:y + size, x:x + size])
        np.testing.assert_array_equal(cb[2], c + 2)
        assert mask[y:y + size, x:x + size].all()               # the whole crop avoids the bars
    again, pos2 = random_crops_in_mask(img, eroded, size, 50, seed=3)
    np.testing.assert_array_equal(pos, pos2)
    with pytest.raises(ValueError, match="no pixel of the mask"):
        random_crops_in_mask(img, np.zeros_like(mask), size, 1)


def test_regular_tiles_avoid_mask_zero_and_bottom_half():
    mask = _bar_mask((256, 256))
    img = np.random.default_rng(0).random((256, 256)).astype(np.float32)
    tiles, pos = regular_tiles(img, mask, 32)
    assert len(pos) > 0 and tiles.shape == (len(pos), 32, 32)
    assert (pos % 32 == 0).all() and (pos[:, 0] + 32 <= 128).all()    # top half only
    for (y, x), t in zip(pos, tiles):
        assert mask[y:y + 32, x:x + 32].all()
        np.testing.assert_array_equal(t, img[y:y + 32, x:x + 32])
    _, pos_all = regular_tiles(img, mask, 32, drop_bottom_half=False)
    assert len(pos_all) > len(pos) and (pos_all[:, 0] >= 128).any()
    n_free = sum(mask[y:y + 32, x:x + 32].all() for y in range(0, 256, 32)
                 for x in range(0, 256, 32))
    assert len(pos_all) == n_free
    assert len({tuple(p) for p in pos_all}) == len(pos_all)        # no duplicates / overlaps


# ----------------------------------------------------------------------------- ECC registration


def test_ecc_registration_error_on_bursts_with_known_subpixel_shifts():
    """The registration itself: frames with known sub-pixel drift, straight kernels, σ = 0.05,
    registered (translation ECC) onto a template blurred like the frames."""
    errors = []
    for seed in range(4):
        sharp = synthetic_tem_image("calibration_grid", 128, seed=seed)
        # full 16-bit window: no clipping, so blurring the scaled sharp image is exact
        b = simulate_burst(sharp, 5, blur_length=15, jitter_px=0.0, drift_px=1.5,
                           noise_sigma=0.05, seed=100 + seed)
        template = blur(b["sharp"], b["kernels"][0])
        reg = register_burst(b["frames"], template)
        errors.append(np.abs(reg["shifts"] - b["shifts"]))
    err = np.concatenate(errors)
    assert err.shape == (20, 2)
    assert err.max() < 0.1, err.max()
    assert err.mean() < 0.03, err.mean()


def test_ecc_against_sharp_template_paper_setting():
    """Frames onto the sharp image (as the paper registers stream frames onto the HQ image):
    exact across the motion, a blur-limited ~0.1-0.2 px along it (straight kernels)."""
    errors = []
    for seed in range(4):
        sharp = synthetic_tem_image("kidney", 192, seed=seed)
        b = simulate_burst(sharp, 5, blur_length=15, jitter_px=0.0, drift_px=1.5,
                           noise_sigma=0.05, seed=100 + seed)
        reg = register_burst(b["frames"], b["sharp"])
        errors.append(reg["shifts"] - b["shifts"])
    err = np.abs(np.concatenate(errors))
    assert err[:, 1].max() < 0.1, err[:, 1].max()                # x: across the motion
    assert err[:, 0].max() < 0.25, err[:, 0].max()               # y: along the motion
    assert err[:, 0].mean() < 0.08


def test_ecc_uses_initial_offset_and_returns_aligned_frame():
    rng = np.random.default_rng(1)
    tpl = ndimage.gaussian_filter(rng.random((128, 128)), 2.5).astype(np.float32)
    true = (6.3, -5.6)
    frame = ndimage.shift(tpl, true, order=3, mode="nearest")
    reg, (dy, dx) = ecc_register(tpl, frame, init_shift=(6.0, -6.0))
    assert abs(dy - true[0]) < 0.05 and abs(dx - true[1]) < 0.05
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(reg[inner] - tpl[inner]).mean() < 0.01
    assert np.abs(frame[inner] - tpl[inner]).mean() > 5 * np.abs(reg[inner] - tpl[inner]).mean()
    with pytest.raises(RegistrationError, match="max_shift_px"):
        ecc_register(tpl, frame, init_shift=(6.0, -6.0), max_shift_px=0.1)


def test_ecc_failure_raises_a_clear_error_naming_the_frame():
    tpl = synthetic_tem_image("kidney", 64, seed=0)
    flat = np.full((64, 64), 0.3, np.float32)
    with pytest.raises(RegistrationError, match=r"ECC registration of frame 7 did not converge"):
        ecc_register(tpl, flat, name="frame 7")
    frames = np.stack([tpl, flat])
    with pytest.raises(RegistrationError, match=r"frame 1 did not converge"):
        register_burst(frames, tpl)
    with pytest.raises(ValueError, match="differ in shape"):
        ecc_register(tpl, tpl[:32])


def test_register_burst_valid_box_is_the_intersection():
    sharp = synthetic_tem_image("kidney", 128, seed=4)
    b = simulate_burst(sharp, 3, blur_length=0, jitter_px=0, noise_sigma=0.0, drift_px=2.5,
                       seed=5)
    reg = register_burst(b["frames"], b["sharp"], init_shifts=np.round(b["shifts"]))
    y0, y1, x0, x1 = reg["valid"]
    dy, dx = reg["shifts"][:, 0], reg["shifts"][:, 1]
    assert y0 == int(np.ceil(max(0, -dy.min()))) and 128 - y1 == int(np.ceil(max(0, dy.max())))
    assert x0 == int(np.ceil(max(0, -dx.min()))) and 128 - x1 == int(np.ceil(max(0, dx.max())))
    inside = reg["frames"][:, y0:y1, x0:x1]
    assert np.abs(inside - b["sharp"][y0:y1, x0:x1]).mean() < 0.01
    outside = np.ones((128, 128), bool)
    outside[y0:y1, x0:x1] = False
    assert (reg["frames"][:, outside] == 0).any()               # border fill is outside the box


# ----------------------------------------------------------------------------- data set


def test_burst_pairs_reproducible_and_varied():
    src = burst_sources(("kidney", "grid2"), 1, 96, seed=0)
    ds = BurstPairs(src, n=6, crop=32, frames=(3, 5), seed=11, noise_sigma=0.05)
    a, b = ds[2], BurstPairs(src, n=6, crop=32, frames=(3, 5), seed=11, noise_sigma=0.05)[2]
    assert torch.equal(a["blur"], b["blur"]) and torch.equal(a["sharp"], b["sharp"])
    assert a["blur"].dtype == torch.float32 and a["blur"].shape[1:] == (1, 32, 32)
    assert a["sharp"].shape == (1, 32, 32) and a["shifts"].shape == (a["blur"].shape[0], 2)
    assert a["group"] in src and a["name"] == "burst-11-000002"
    items = [ds[i] for i in range(len(ds))]
    assert all(3 <= it["blur"].shape[0] <= 5 for it in items)
    assert len({it["blur"].shape[0] for it in items}) > 1           # N drawn per item
    assert not torch.equal(items[0]["sharp"], items[1]["sharp"])
    other = BurstPairs(src, n=6, crop=32, frames=(3, 5), seed=12, noise_sigma=0.05)[2]
    assert not torch.equal(other["sharp"], a["sharp"]) or not torch.equal(
        other["blur"][:1], a["blur"][:1])
    # the sharp crop is the scaled source at the recorded position
    y, x = a["meta"]["y"], a["meta"]["x"]
    expect = to_8bit(np.round(src[a["group"]][y:y + 32, x:x + 32] * FULL_SCALE)) / 255
    np.testing.assert_allclose(a["sharp"][0].numpy(), expect, atol=1e-6)
    with pytest.raises(IndexError):
        ds[6]


def test_burst_pairs_fixed_frames_masks_and_collate():
    src = {"grid": synthetic_tem_image("calibration_grid", 256, seed=0)}
    mask = erode_mask(grid_mask(src["grid"], 0.15), radius=12, iterations=2)  # 24 >= 16·√2
    ds = BurstPairs(src, n=4, crop=16, frames=4, masks=[mask], seed=0,
                    vmin=CALIBRATION_GRID_SCALING[0])
    for i in range(len(ds)):
        it = ds[i]
        assert it["blur"].shape == (4, 1, 16, 16)
        assert mask[it["meta"]["y"], it["meta"]["x"]]
        assert (it["sharp"] > 0).all()                            # no grid bar in the crop
    loader = torch.utils.data.DataLoader(ds, batch_size=2)          # fixed N: default collate
    assert next(iter(loader))["blur"].shape == (2, 4, 1, 16, 16)
    var = BurstPairs(burst_sources(("kidney",), 1, 96), n=8, crop=32, frames=(3, 5), seed=1)
    batch = collate_bursts([var[i] for i in range(8)])
    n_min = min(var[i]["blur"].shape[0] for i in range(8))
    assert batch["blur"].shape == (8, n_min, 1, 32, 32)
    assert batch["sharp"].shape == (8, 1, 32, 32) and batch["shifts"].shape == (8, n_min, 2)
    with pytest.raises(ValueError, match="smaller than crop"):
        BurstPairs(src, n=1, crop=250)
    with pytest.raises(ValueError, match="unknown simulate_burst argument"):
        BurstPairs(src, n=1, crop=16, sigma=0.1)


# ----------------------------------------------------------------------------- real data


def test_load_tem_streams_wrong_folder_lists_what_it_found(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.tif").write_bytes(b"x")
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(FileNotFoundError, match=r"no split folders train/val/test.*"
                                                r"found: images/, images/a.tif, readme.txt"):
        load_tem_streams(tmp_path)
    with pytest.raises(FileNotFoundError, match="TEM stream folder not found"):
        load_tem_streams(tmp_path / "missing")
    (tmp_path / "Train" / "empty").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="hold no"):
        load_tem_streams(tmp_path)


def test_load_tem_streams_assumed_layout(tmp_path):
    root = tmp_path / "TrainTestVal"
    for split in ("Train", "Val", "Test"):
        for sample in ("Kidney", "Grid"):
            folder = root / split / sample / "seq1"
            folder.mkdir(parents=True)
            for name in ("hq_000.tif", "frame_000.tif", "notes.txt"):
                (folder / name).write_bytes(b"x")
    index = load_tem_streams(tmp_path)
    assert sorted(index) == ["test", "train", "val"]
    assert sorted(index["train"]) == ["grid", "kidney"]
    assert [p.name for p in index["val"]["kidney"]] == ["frame_000.tif", "hq_000.tif"]


def test_load_tem_streams_without_data_root(monkeypatch):
    monkeypatch.delenv("DEBLURLAB_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="catalog fetch tem-fast-streams"):
        load_tem_streams()


def test_tissue_sources_absent_gives_none_and_a_message(tmp_path):
    with pytest.warns(UserWarning, match="no real 'tissue' images found"):
        assert tissue_sources(tmp_path) is None


@pytest.mark.realdata
def test_tissue_sources_from_reference_data(real_data):
    root = real_data("midnet-sem").parent
    real_data("dfnn-lightsheet/microtubules/single")
    src = tissue_sources(root, sets=("midnet-sem", "dfnn-lightsheet"))
    assert src is not None
    midnet = [k for k in src if k.startswith("midnet-sem/")]
    dfnn = [k for k in src if k.startswith("dfnn-lightsheet/")]
    assert len(midnet) == 8 and len(dfnn) == 2 and len(src) == 10
    for img in src.values():
        assert img.ndim == 2 and img.dtype == np.float32
        assert 0 <= img.min() and img.max() <= 1 and img.std() > 0.01


@pytest.mark.realdata
def test_tissue_sources_reflected_in_focus_planes(real_data):
    root = real_data("reflected-focus/tile__ix000_iy000_zoff0um.tiff").parents[1]
    src = tissue_sources(root, sets="reflected-focus")
    assert sorted(src) == ["reflected-focus/ix000_iy000", "reflected-focus/ix000_iy001"]
    assert all(img.ndim == 2 and 0 <= img.min() and img.max() <= 1 for img in src.values())
    with pytest.raises(ValueError, match="subset"):
        tissue_sources(root, sets=("famm",))
