"""deblurlab.io: reading real and synthetic files, scaling, errors, exact round trips."""

from __future__ import annotations

import io as std_io
import re
import warnings

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from deblurlab.arrays import to_grey
from deblurlab.io import ImageMeta, ImageReadError, read_image, read_stack, write_image

RNG = np.random.default_rng(1234)


def _raises_naming(path, match: str):
    """pytest.raises for ImageReadError whose message names ``path`` and matches ``match``."""
    return pytest.raises(ImageReadError, match=rf"'{re.escape(str(path))}'.*{match}")


# ----------------------------------------------------------------------------- real files


@pytest.mark.realdata
def test_midnet_png_rgba_drops_alpha_and_keeps_rgb(real_data):
    path = real_data("midnet-sem/blur/1-1_s001.png")
    image, meta = read_image(path)
    raw = np.asarray(Image.open(path))
    assert raw.shape == (512, 512, 4)  # the file really is RGBA
    assert image.shape == (512, 512, 3) and image.dtype == np.float32
    assert meta == ImageMeta(str(path), "uint8", (0.0, 255.0), 3, (512, 512, 3), 1)
    np.testing.assert_array_equal(image, raw[..., :3].astype(np.float32) / 255)
    grey, gmeta = read_image(path, grey=True)
    assert grey.shape == (512, 512) and gmeta.channels == 1
    np.testing.assert_allclose(grey, to_grey(image), atol=1e-6)


@pytest.mark.realdata
def test_dfnn_uint16_tiff(real_data):
    path = real_data("dfnn-lightsheet/microtubules/single/cell11G3Dz0p5umON.tif")
    image, meta = read_image(path)
    raw = tifffile.imread(path)
    assert raw.dtype == np.uint16
    assert image.shape == (800, 512) and meta.channels == 1 and meta.pages == 1
    assert meta.source_dtype == "uint16" and meta.data_range == (0.0, 65535.0)
    np.testing.assert_allclose(image, raw / 65535.0, rtol=1e-6)
    # min-max scaling spans the full [0, 1] and records the source extremes
    mm, mmeta = read_image(path, scale="minmax")
    assert mm.min() == 0.0 and mm.max() == 1.0
    assert mmeta.data_range == (float(raw.min()), float(raw.max()))


@pytest.mark.realdata
def test_reflected_focus_lzw_rgb_tiff(real_data):
    path = real_data("reflected-focus/tile__ix000_iy000_zoff0um.tiff")
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.LZW
        raw = tif.pages[0].asarray()
    image, meta = read_image(path)
    assert image.shape == (1200, 1920, 3) and meta.channels == 3
    np.testing.assert_array_equal(image[::97, ::89], raw[::97, ::89].astype(np.float32) / 255)


@pytest.mark.realdata
def test_smear_focus_bmp_named_file_with_grey_palette_reads_grey(real_data):
    # "0.bmp" is really a palette PNG with an all-grey palette: content decides, grey result.
    path = real_data("smear-focus/0.bmp")
    image, meta = read_image(path)
    expected = np.asarray(Image.open(path).convert("L"), np.float32) / 255
    assert image.shape == expected.shape == (307, 352) and meta.channels == 1
    np.testing.assert_array_equal(image, expected)


@pytest.mark.realdata
def test_bbbc006_uint16_tiff_with_12bit_scale(real_data):
    path = real_data("bbbc006-samples/defocused/"
                     "00_mcf-z-stacks-03212011_a01_s1_w1a571d43d-5554-47fd-bb54-5db68290e5a7.tif")
    raw = tifffile.imread(path)
    image, meta = read_image(path, scale=4095)
    assert raw.dtype == np.uint16 and raw.max() <= 4095  # 12-bit data stored in 16 bit
    assert image.shape == (520, 696) and meta.data_range == (0.0, 4095.0)
    np.testing.assert_allclose(image, raw / 4095.0, rtol=1e-6)


@pytest.mark.realdata
def test_real_files_with_misleading_extensions(real_data):
    bmp_named_png = real_data("sem-defocus-series/series_0_def-13324_astx-466_asty219_base.png")
    tiff_named_png = real_data("bbbc006-samples/in-focus/BBBC006_z_aligned__a01__s1__w1_10.png")
    assert bmp_named_png.read_bytes()[:2] == b"BM"
    image, meta = read_image(bmp_named_png)
    assert image.shape == (768, 1024) and meta.source_dtype == "uint8"
    image, meta = read_image(tiff_named_png)
    assert image.shape == (520, 696) and meta.source_dtype == "uint16"


# ----------------------------------------------------------------------------- scaling


@pytest.mark.parametrize(
    "values, range_",
    [
        (np.array([[0, 128], [255, 7]], np.uint8), (0.0, 255.0)),
        (np.array([[0, 1], [65535, 300]], np.uint16), (0.0, 65535.0)),
        (np.array([[0, 1], [2**32 - 1, 5]], np.uint32), (0.0, 2.0**32 - 1)),
        (np.array([[0, 10], [32767, 3]], np.int16), (0.0, 32767.0)),
        (np.array([[-5, 10], [32767, 3]], np.int16), (-32768.0, 32767.0)),
        (np.array([[0.0, 0.25], [1.0, 0.5]], np.float32), (0.0, 1.0)),
        (np.array([[-2.0, 0.0], [6.0, 2.0]], np.float32), (-2.0, 6.0)),  # min-max
        (np.array([[0.0, 0.5], [1.0, 0.25]], np.float64), (0.0, 1.0)),
    ],
    ids=lambda v: str(getattr(v, "dtype", "")),
)
def test_dtype_scaling(tmp_path, values, range_):
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, values)
    image, meta = read_image(path)
    lo, hi = range_
    assert meta.source_dtype == str(values.dtype) and meta.data_range == range_
    assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 1
    np.testing.assert_allclose(image, (values.astype(np.float64) - lo) / (hi - lo), rtol=1e-6)


def test_bool_tiff_maps_to_0_and_1(tmp_path):
    path = tmp_path / "mask.tif"
    tifffile.imwrite(path, np.array([[True, False], [False, True]]))
    image, meta = read_image(path)
    np.testing.assert_array_equal(image, [[1, 0], [0, 1]])
    assert meta.data_range == (0.0, 1.0)


def test_numeric_scale_clips_above_with_warning(tmp_path):
    path = tmp_path / "12bit.tif"
    tifffile.imwrite(path, np.array([[0, 4095], [2048, 5000]], np.uint16))
    with pytest.warns(UserWarning, match="1 sample"):
        image, meta = read_image(path, scale=4095)
    assert meta.data_range == (0.0, 4095.0)
    np.testing.assert_allclose(image, [[0, 1], [2048 / 4095, 1]], rtol=1e-6)


@pytest.mark.parametrize("bad", ["auto", 0, -1, float("nan"), True])
def test_bad_scale_argument(tmp_path, bad):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="scale must be"):
        read_image(path, scale=bad)


def test_constant_float_image_outside_unit_range(tmp_path):
    path = tmp_path / "flat.tif"
    tifffile.imwrite(path, np.full((3, 3), 7.0, np.float32))
    image, meta = read_image(path)
    assert (image == 0).all() and meta.data_range == (7.0, 8.0)


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize("compression", [None, "lzw", "zlib", "zstd"])
def test_tiff_compressions_decode_exactly(tmp_path, compression):
    raw = RNG.integers(0, 65536, (33, 47), dtype=np.uint16)
    path = tmp_path / "c.tif"
    tifffile.imwrite(path, raw, compression=compression)
    image, _ = read_image(path)
    np.testing.assert_array_equal(np.rint(image.astype(np.float64) * 65535), raw)


def test_multipage_tiff_pages_and_stack(tmp_path):
    raw = RNG.integers(0, 256, (3, 10, 12), dtype=np.uint8)
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, raw, photometric="minisblack")
    page1, meta = read_image(path, page=1)
    assert meta.pages == 3 and meta.shape == (10, 12)
    np.testing.assert_array_equal(page1, raw[1] / np.float32(255))
    with _raises_naming(path, "page 3 out of range: the file has 3"):
        read_image(path, page=3)
    with _raises_naming(path, "page -1 out of range"):
        read_image(path, page=-1)
    stack, smeta = read_stack(path)
    assert stack.shape == (3, 10, 12) and smeta.pages == 3 and smeta.channels == 1
    np.testing.assert_array_equal(stack, raw / np.float32(255))


def test_stack_minmax_uses_one_range_for_all_pages(tmp_path):
    path = tmp_path / "focus.tif"
    pages = np.array([np.full((2, 2), 100), np.full((2, 2), 300)], np.uint16)
    tifffile.imwrite(path, pages, photometric="minisblack")
    stack, meta = read_stack(path, scale="minmax")
    assert meta.data_range == (100.0, 300.0)
    np.testing.assert_array_equal(stack[:, 0, 0], [0.0, 1.0])  # pages keep their order


def test_rgb_stack_to_grey(tmp_path):
    path = tmp_path / "rgb.tif"
    raw = RNG.integers(0, 256, (2, 5, 6, 3), dtype=np.uint8)
    tifffile.imwrite(path, raw, photometric="rgb")
    stack, meta = read_stack(path, grey=True)
    assert stack.shape == (2, 5, 6) and meta.channels == 1
    np.testing.assert_allclose(stack[1], to_grey(raw[1] / np.float32(255)), atol=1e-6)


def test_planar_rgba_tiff_moves_channels_last_and_drops_alpha(tmp_path):
    raw = RNG.integers(0, 256, (4, 5, 6), dtype=np.uint8)  # S, Y, X
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, raw, photometric="rgb", planarconfig="separate",
                     extrasamples=["unassalpha"])
    image, meta = read_image(path)
    assert image.shape == (5, 6, 3) and meta.channels == 3
    np.testing.assert_array_equal(image, np.moveaxis(raw[:3], 0, -1) / np.float32(255))


def test_png_variants(tmp_path):
    grey16 = RNG.integers(0, 65536, (7, 9), dtype=np.uint16)
    rgb16 = RNG.integers(0, 65536, (7, 9, 3), dtype=np.uint16)
    (tmp_path / "g16.png").write_bytes(imagecodecs.png_encode(grey16))
    (tmp_path / "rgb16.png").write_bytes(imagecodecs.png_encode(rgb16))
    image, meta = read_image(tmp_path / "g16.png")
    assert meta.source_dtype == "uint16" and image.shape == (7, 9)
    np.testing.assert_array_equal(np.rint(image * 65535.0), grey16)
    image, meta = read_image(tmp_path / "rgb16.png")  # Pillow would cut this to 8 bit
    assert meta.source_dtype == "uint16" and image.shape == (7, 9, 3)
    np.testing.assert_array_equal(np.rint(image * 65535.0), rgb16)


def test_grey_content_rgb_png_stays_rgb_unless_grey(tmp_path):
    g = RNG.integers(0, 256, (6, 8), dtype=np.uint8)
    Image.fromarray(np.stack([g, g, g, np.full_like(g, 255)], -1), "RGBA").save(tmp_path / "a.png")
    Image.fromarray(np.stack([g, np.full_like(g, 90)], -1), "LA").save(tmp_path / "la.png")
    image, meta = read_image(tmp_path / "a.png")
    assert image.shape == (6, 8, 3) and meta.channels == 3
    image, meta = read_image(tmp_path / "a.png", grey=True)
    assert image.shape == (6, 8)
    np.testing.assert_allclose(image, g / np.float32(255), atol=1e-6)
    image, meta = read_image(tmp_path / "la.png")  # grey + alpha → grey
    np.testing.assert_array_equal(image, g / np.float32(255))


def test_colour_palette_png_gives_rgb(tmp_path):
    palette_image = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    palette_image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette_image.save(tmp_path / "p.png")
    image, meta = read_image(tmp_path / "p.png")
    assert meta.channels == 3
    np.testing.assert_array_equal(image[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(image[0, 1], [0, 0, 1])


def test_bmp_and_jpeg_via_pillow(tmp_path):
    # smooth picture, so the lossy JPEG stays close to it
    yy, xx = np.mgrid[0:16, 0:24]
    rgb = np.stack([xx * 10, yy * 15, np.full_like(xx, 128)], -1).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.bmp")
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=95)
    image, meta = read_image(tmp_path / "a.bmp")
    np.testing.assert_array_equal(image, rgb / np.float32(255))
    image, meta = read_image(tmp_path / "a.jpg")
    assert image.shape == (16, 24, 3) and meta.source_dtype == "uint8"
    assert np.abs(image - rgb / 255.0).mean() < 0.02  # lossy, but the same picture
    with _raises_naming(tmp_path / "a.bmp", "page 1 out of range"):
        read_image(tmp_path / "a.bmp", page=1)


# ----------------------------------------------------------------------------- errors


def test_missing_and_empty_files(tmp_path):
    with _raises_naming(tmp_path / "nope.tif", "file not found"):
        read_image(tmp_path / "nope.tif")
    (tmp_path / "empty.png").write_bytes(b"")
    with _raises_naming(tmp_path / "empty.png", r"empty \(0 bytes\)"):
        read_image(tmp_path / "empty.png")
    with _raises_naming(tmp_path, "not a regular file"):
        read_image(tmp_path)


@pytest.mark.parametrize("compression", [None, "lzw"])
def test_truncated_tiff(tmp_path, compression):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, RNG.integers(0, 65536, (64, 64), dtype=np.uint16),
                     compression=compression)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with _raises_naming(path, "truncated"):
        read_image(path)


def _write_pages_in_a_loop(path, pages):
    with tifffile.TiffWriter(path) as tw:
        for page in pages:
            tw.write(page, photometric="minisblack")


@pytest.mark.parametrize("write", ["imwrite", "imwrite-zlib", "bigtiff", "loop"])
@pytest.mark.parametrize("keep", [0.5, 0.7, 0.9])
def test_truncated_multipage_tiff_loses_no_page_silently(tmp_path, write, keep):
    # tifffile only logs a bad next-page offset and reads the pages before it.
    path = tmp_path / "stack.tif"
    pages = RNG.integers(0, 65536, (3, 32, 32), dtype=np.uint16)
    if write == "loop":
        _write_pages_in_a_loop(path, pages)
    else:
        tifffile.imwrite(path, pages, photometric="minisblack", bigtiff=write == "bigtiff",
                         compression="zlib" if write == "imwrite-zlib" else None)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with _raises_naming(path, "truncated"):
        read_stack(path)
    with _raises_naming(path, "truncated"):
        read_image(path, page=2)
    with _raises_naming(path, "truncated"):  # the file is damaged even if page 0 is whole
        read_image(path, page=0)


def test_truncated_png_and_bmp(tmp_path):
    rgb = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for name in ("cut.png", "cut.bmp"):
        buf = std_io.BytesIO()
        Image.fromarray(rgb).save(buf, format=name[-3:].upper())
        (tmp_path / name).write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        with _raises_naming(tmp_path / name, "truncated"):
            read_image(tmp_path / name)


def test_corrupt_and_unsupported_files(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"II*\x00" + b"\xff" * 40)
    with _raises_naming(tmp_path / "bad.tif", "corrupt"):
        read_image(tmp_path / "bad.tif")
    (tmp_path / "text.png").write_bytes(b"this is not an image")
    with _raises_naming(tmp_path / "text.png", "not a valid PNG"):
        read_image(tmp_path / "text.png")
    (tmp_path / "data.xyz").write_bytes(b"\x00\x01\x02\x03")
    with _raises_naming(tmp_path / "data.xyz", "unsupported file type '.xyz'"):
        read_image(tmp_path / "data.xyz")


def test_complex_and_non_finite_data_refused(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", np.ones((4, 4), np.complex64))
    with _raises_naming(tmp_path / "c.tif", "unsupported sample type complex64"):
        read_image(tmp_path / "c.tif")
    for bad in (np.nan, np.inf):
        data = np.zeros((4, 4), np.float32)
        data[1, 2] = bad
        tifffile.imwrite(tmp_path / "nf.tif", data)
        with _raises_naming(tmp_path / "nf.tif", "1 NaN/Inf sample"):
            read_image(tmp_path / "nf.tif")


def test_grey_refused_for_two_channel_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "2ch.tif", np.zeros((4, 5, 2), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    image, meta = read_image(tmp_path / "2ch.tif")
    assert image.shape == (4, 5, 2) and meta.channels == 2
    with _raises_naming(tmp_path / "2ch.tif", "grey=True needs 1 or 3 channels"):
        read_image(tmp_path / "2ch.tif", grey=True)


# ----------------------------------------------------------------------------- writing


def test_uint16_tiff_round_trip_is_exact(tmp_path):
    raw = RNG.integers(0, 65536, (40, 50), dtype=np.uint16)
    raw[0, :2] = (0, 65535)
    first = write_image(tmp_path / "a" / "b" / "raw.tif", raw, compression="zlib")  # makes folders
    image, meta = read_image(first)
    second = write_image(tmp_path / "again.tif", image)  # float [0, 1] → uint16
    back = tifffile.imread(second)
    assert back.dtype == np.uint16 and meta.data_range == (0.0, 65535.0)
    assert back.tobytes() == raw.tobytes()


def test_png_round_trips_8_and_16_bit(tmp_path):
    rgb8 = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    grey16 = RNG.integers(0, 65536, (9, 11), dtype=np.uint16)
    image, meta = read_image(write_image(tmp_path / "c.png", rgb8, dtype="uint8"))
    assert meta.source_dtype == "uint8"
    np.testing.assert_array_equal(np.rint(image * 255.0), rgb8)
    image, meta = read_image(write_image(tmp_path / "g.png", grey16, dtype="uint16"))
    assert meta.source_dtype == "uint16"
    np.testing.assert_array_equal(np.rint(image * 65535.0), grey16)


def test_write_clips_and_rounds(tmp_path):
    image = np.array([[-0.2, 0.5], [1.3, 1 / 255 * 0.49]], np.float32)
    with pytest.warns(UserWarning, match="50.0% of the pixel values"):  # 2 of 4 clipped
        out = tifffile.imread(write_image(tmp_path / "c.tif", image, dtype="uint8"))
    np.testing.assert_array_equal(out, [[0, 128], [255, 0]])
    with pytest.warns(UserWarning, match="clipped"):
        f32 = tifffile.imread(write_image(tmp_path / "f.tif", image, dtype="float32"))
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, np.clip(image, 0, 1))


@pytest.mark.parametrize(
    "image, dtype, match",
    [
        (np.linspace(2, 1000, 256).reshape(16, 16), "uint16", "100.0% of the pixel.*max 1000"),
        (np.linspace(0, 255, 256, dtype=np.float32).reshape(16, 16), "uint8", "divide 0–255"),
        (np.pad(np.full((1, 1), 1.6), ((0, 15), (0, 15))), "uint16", r"0\.4% .*max 1\.6"),
        (np.pad(np.full((1, 1), -0.6), ((0, 15), (0, 15))), "float32", r"min -0\.6"),
    ],
    ids=["x1000", "0-255", "one-far-above", "one-far-below"],
)
def test_write_warns_when_clipping_changes_the_image(tmp_path, image, dtype, match):
    path = tmp_path / "w.tif"
    with pytest.warns(UserWarning, match=rf"write_image\('{re.escape(str(path))}'\).*{match}"):
        write_image(path, image, dtype=dtype)
    assert path.exists()  # clipping is documented: a warning, not an error


def test_write_slight_overshoot_of_few_pixels_is_clipped_quietly(tmp_path):
    image = np.full((16, 16), 0.5, np.float32)
    image[0, 0], image[1, 1] = 1.3, -0.1  # 2 of 256 pixels (< 1 %), less than 0.5 outside
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tifffile.imread(write_image(tmp_path / "q.tif", image, dtype="uint8"))
    assert out[0, 0] == 255 and out[1, 1] == 0


def test_write_with_data_range_restores_source_units(tmp_path):
    raw = np.array([[0, 4095], [100, 2000]], np.uint16)
    tifffile.imwrite(tmp_path / "src.tif", raw)
    image, meta = read_image(tmp_path / "src.tif", scale=4095)
    out = write_image(tmp_path / "dst.tif", image, data_range=meta.data_range)
    np.testing.assert_array_equal(tifffile.imread(out), raw)


def test_write_uint8_array_as_uint16_rescales(tmp_path):
    out = write_image(tmp_path / "u.tif", np.array([[0, 255], [1, 128]], np.uint8))
    np.testing.assert_array_equal(tifffile.imread(out), [[0, 65535], [257, 128 * 257]])


def test_write_rgba_png_keeps_alpha_in_file(tmp_path):
    rgba = RNG.random((5, 6, 4)).astype(np.float32)
    out = write_image(tmp_path / "a.png", rgba, dtype="uint8")
    assert np.asarray(Image.open(out)).shape == (5, 6, 4)
    assert read_image(out)[0].shape == (5, 6, 3)


@pytest.mark.parametrize(
    "name, image, kwargs, match",
    [
        ("x.tif", np.array([[0.0, np.nan]]), {}, "NaN or Inf"),
        ("x.jpg", np.zeros((2, 2)), {}, "unsupported extension '.jpg'"),
        ("x.tif", np.zeros((2, 2)), {"dtype": "int16"}, "dtype must be"),
        ("x.png", np.zeros((2, 2)), {"dtype": "float32"}, "PNG holds uint8 or uint16"),
        ("x.png", np.zeros((2, 2)), {"compression": "zlib"}, "TIFF only"),
        ("x.tif", np.zeros((2, 2)), {"compression": "no-such-codec"}, "compression='no-such"),
        ("x.tif", np.zeros((2, 2, 5)), {}, r"got \(2, 2, 5\)"),
        ("x.tif", np.zeros((2, 2), np.int32), {}, "dtype int32 not supported"),
        ("x.tif", np.zeros((2, 2)), {"data_range": (5, 5)}, "lo < hi"),
        ("x.tif", np.zeros((2, 2)), {"data_range": 255}, r"data_range must be a pair.*got 255"),
        ("x.tif", np.zeros((2, 2)), {"data_range": (0, 1, 2)}, r"data_range must be a pair"),
        ("x.tif", np.zeros((2, 2)), {"data_range": (0, np.nan)}, r"data_range .*finite"),
        ("x.tif", np.zeros((2, 2)), {"data_range": ("0", "1")}, r"data_range must be a pair"),
        ("x.tif", np.zeros((2, 2)), {"data_range": (0, 1000), "dtype": "uint8"},
         r"data_range \(0, 1000\) does not fit uint8 \[0, 255\]"),
        ("x.tif", np.zeros((2, 2)), {"data_range": (-100, 100)}, r"does not fit uint16"),
    ],
)
def test_write_refuses_bad_input(tmp_path, name, image, kwargs, match):
    with pytest.raises(ValueError, match=rf"write_image\('{re.escape(str(tmp_path / name))}'\).*{match}"):
        write_image(tmp_path / name, image, **kwargs)
    assert not (tmp_path / name).exists()
    assert not list(tmp_path.glob("*.part"))  # no temporary left behind
