"""Read and write microscopy images as float32 arrays in [0, 1], keeping the source range.

Formats: TIFF (8/16/32-bit integer and float, single- and multi-page, any compression that
``tifffile`` + ``imagecodecs`` decode, e.g. LZW, deflate, zstd), PNG (8/16-bit grey, RGB,
palette, with or without alpha), BMP and JPEG. The format is taken from the file's *content*
(magic bytes), not its extension: real data sets ship PNGs named ``.bmp`` and TIFFs named
``.png``.

Every failure is an :class:`ImageReadError` that names the file.

Example
-------
>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> tmp = Path(tempfile.mkdtemp())
>>> raw = np.array([[0, 4095], [1000, 2048]], np.uint16)
>>> _ = write_image(tmp / "a.tif", raw, compression="zlib")
>>> img, meta = read_image(tmp / "a.tif")
>>> img.dtype, meta.source_dtype, meta.data_range
(dtype('float32'), 'uint16', (0.0, 65535.0))
>>> img12, meta12 = read_image(tmp / "a.tif", scale=4095)   # 12-bit data stored in uint16
>>> float(img12[0, 1]), meta12.data_range
(1.0, (0.0, 4095.0))
"""

from __future__ import annotations

import numbers
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deblurlab.arrays import to_grey

__all__ = ["ImageMeta", "ImageReadError", "read_image", "read_stack", "write_image"]


@dataclass(frozen=True)
class ImageMeta:
    """What :func:`read_image` / :func:`read_stack` knew about the file before scaling.

    Attributes
    ----------
    path : str or None
        The file read.
    source_dtype : str
        Sample type in the file, e.g. ``"uint8"``, ``"uint16"``, ``"float32"``.
    data_range : tuple of float
        Source values mapped to 0 and 1 (``(0, 65535)`` for uint16 with ``scale="dtype"``).
        ``source = lo + image * (hi - lo)`` undoes the scaling; pass it to
        :func:`write_image` to write the original units back.
    channels : int
        Channels of the returned array (1 for grey).
    shape : tuple of int
        Shape of the returned array.
    pages : int
        Pages (IFDs) in the file; 1 for non-TIFF formats.
    """

    path: str | None
    source_dtype: str
    data_range: tuple[float, float]
    channels: int
    shape: tuple[int, ...]
    pages: int = 1


class ImageReadError(ValueError):
    """An image file could not be read; the message always names the file."""

    def __init__(self, path: str | os.PathLike | None, reason: str):
        self.path = None if path is None else str(path)
        super().__init__(f"cannot read image '{self.path}': {reason}")


# Magic bytes decide the format; extensions only explain a bad header.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
    (b"\xff\xd8\xff", "jpeg"),
)
_EXTENSIONS = {".tif": "tiff", ".tiff": "tiff", ".png": "png", ".bmp": "bmp",
               ".jpg": "jpeg", ".jpeg": "jpeg"}
_SCALES = ("dtype", "minmax")
# write_image warns above this fraction of clipped pixels, or this far outside [0, 1].
_CLIP_WARN_FRACTION = 0.01
_CLIP_WARN_MARGIN = 0.5


def read_image(
    path: str | os.PathLike,
    *,
    grey: bool = False,
    page: int = 0,
    scale: str | float = "dtype",
) -> tuple[np.ndarray, ImageMeta]:
    """Read one image (one page of a TIFF) as float32 in [0, 1].

    Parameters
    ----------
    path : str or PathLike
        TIFF, PNG, BMP or JPEG file.
    grey : bool
        Return luminance ``(H, W)`` (BT.601, :func:`deblurlab.arrays.to_grey`) for colour files.
        Without it, grey-looking RGB files stay ``(H, W, 3)``; alpha is always dropped.
    page : int
        TIFF page, ``0 <= page < pages``.
    scale : {"dtype", "minmax"} or float
        ``"dtype"``: integers are divided by their type's maximum (``(0, 65535)`` for uint16);
        floats already in [0, 1] are kept, other floats are min-max scaled.
        ``"minmax"``: always min-max scale. A number ``s > 0``: divide by ``s`` (e.g. 4095 for
        12-bit data in uint16); values above ``s`` are clipped with a warning.

    Returns
    -------
    image : np.ndarray
        float32, ``(H, W)`` or ``(H, W, C)``, values in [0, 1].
    meta : ImageMeta
        Source dtype and range, channels, shape, page count.

    Raises
    ------
    ImageReadError
        Missing, empty, truncated, corrupt or unsupported file; NaN/Inf samples; bad ``page``.
    """
    path = Path(path)
    _check_scale(scale, path)
    fmt = _sniff(path)
    if fmt == "tiff":
        raw, pages = _read_tiff(path, [page])
        raw = raw[0]
    else:
        if page != 0:
            raise ImageReadError(path, f"page {page} out of range: a {fmt.upper()} file has 1 page")
        raw, pages = _read_single(path, fmt), 1
    image, data_range = _scale(raw, scale, path)
    image = _maybe_grey(image, grey, path)
    return image, _meta(path, raw.dtype, data_range, image, pages, stacked=False)


def read_stack(
    path: str | os.PathLike,
    *,
    grey: bool = False,
    scale: str | float = "dtype",
) -> tuple[np.ndarray, ImageMeta]:
    """Read every page of a file as one float32 stack ``(P, H, W)`` or ``(P, H, W, C)``.

    Scaling (see :func:`read_image`) uses one range for the whole stack, so relative
    intensities between pages (e.g. planes of a focus series) are preserved. Non-TIFF files
    give ``P = 1``. All pages must have the same shape and sample type.

    >>> import tempfile, numpy as np, tifffile
    >>> p = Path(tempfile.mkdtemp()) / "s.tif"
    >>> tifffile.imwrite(p, np.arange(24, dtype=np.uint8).reshape(2, 3, 4), photometric="minisblack")
    >>> stack, meta = read_stack(p)
    >>> stack.shape, meta.pages
    ((2, 3, 4), 2)
    """
    path = Path(path)
    _check_scale(scale, path)
    fmt = _sniff(path)
    if fmt == "tiff":
        raw, pages = _read_tiff(path, None)
    else:
        raw, pages = _read_single(path, fmt)[None], 1
    stack, data_range = _scale(raw, scale, path)
    if grey:
        stack = np.stack([_maybe_grey(p, True, path) for p in stack])
    return stack, _meta(path, raw.dtype, data_range, stack, pages, stacked=True)


def write_image(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    dtype: str = "uint16",
    compression: str | None = None,
    data_range: tuple[float, float] | None = None,
) -> Path:
    """Write an image as TIFF (uint8/uint16/float32) or PNG (uint8/uint16).

    Parameters
    ----------
    path : str or PathLike
        Output file; the format comes from the extension (``.tif``/``.tiff`` or ``.png``).
        Parent folders are created; the file is written to a temporary name then renamed.
    image : np.ndarray
        ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``. Floats are taken as [0, 1]
        and clipped (with a ``UserWarning`` when over 1 % of the pixels, or any pixel by more
        than 0.5, lies outside); unsigned integers and bools are first divided by their type's
        maximum.
    dtype : {"uint8", "uint16", "float32"}
        Sample type in the file.
    compression : str or None
        TIFF compression understood by ``tifffile`` (``"zlib"``, ``"lzw"``, ``"zstd"``...).
        PNG is always deflate-compressed, so it must be None there.
    data_range : tuple of float, optional
        Values ``(lo, hi)`` written for 0 and 1, finite, ``lo < hi`` and inside ``dtype``'s
        range: default ``(0, dtype max)`` for integers, ``(0, 1)`` for float32. Passing
        ``meta.data_range`` from :func:`read_image` restores source units.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        Unsupported extension/dtype/shape, NaN or Inf values, bad ``data_range``, compression
        the writer rejects.

    A uint16 array written and read back gives the same values, and writing the float image
    that :func:`read_image` returns reproduces them exactly:

    >>> import tempfile, tifffile
    >>> raw = np.random.default_rng(0).integers(0, 65536, (8, 8), dtype=np.uint16)
    >>> p = write_image(Path(tempfile.mkdtemp()) / "r.tif", raw)
    >>> img, _ = read_image(p)
    >>> q = write_image(p.with_name("r2.tif"), img)
    >>> bool((tifffile.imread(q) == raw).all())
    True
    """
    path = Path(path)
    where = f"write_image('{path}')"
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt not in ("tiff", "png"):
        raise ValueError(f"{where}: unsupported extension '{path.suffix}'; use .tif, .tiff or .png")
    if dtype not in ("uint8", "uint16", "float32"):
        raise ValueError(f"{where}: dtype must be 'uint8', 'uint16' or 'float32', got {dtype!r}")
    if fmt == "png" and dtype == "float32":
        raise ValueError(f"{where}: PNG holds uint8 or uint16 only; write float32 as .tif")
    if fmt == "png" and compression is not None:
        raise ValueError(f"{where}: compression applies to TIFF only (PNG is always deflate)")

    out = _to_output(np.asarray(image), dtype, data_range, where)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == "png":
            import imagecodecs

            tmp.write_bytes(imagecodecs.png_encode(out))
        else:
            import tifffile

            photometric = "rgb" if out.ndim == 3 else "minisblack"
            extrasamples = ("unassalpha",) if out.ndim == 3 and out.shape[-1] == 4 else None
            try:
                tifffile.imwrite(tmp, out, photometric=photometric, extrasamples=extrasamples,
                                 compression=compression, metadata=None)
            except (ValueError, KeyError, TypeError, NotImplementedError) as exc:
                raise ValueError(f"{where}: compression={compression!r} failed: {exc}") from exc
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------------- reading


def _sniff(path: Path) -> str:
    """Format from magic bytes; raise for missing, empty or unrecognised files."""
    if not path.exists():
        raise ImageReadError(path, "file not found")
    if not path.is_file():
        raise ImageReadError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise ImageReadError(path, "file is empty (0 bytes)")
    with path.open("rb") as fh:
        head = fh.read(16)
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    expected = _EXTENSIONS.get(path.suffix.lower())
    if expected is None:
        raise ImageReadError(
            path, f"unsupported file type '{path.suffix}' (supported: TIFF, PNG, BMP, JPEG)")
    raise ImageReadError(path, f"not a valid {expected.upper()} file (unrecognised header)")


def _read_tiff(path: Path, pages: list[int] | None) -> tuple[np.ndarray, int]:
    """Pages ``pages`` (all when None) stacked ``(P, H, W[, C])``, plus the file's page count."""
    import tifffile

    size = path.stat().st_size
    _check_ifd_chain(path, size)
    try:
        with tifffile.TiffFile(path) as tif:
            n = len(tif.pages)
            if n == 0:
                raise ImageReadError(path, "corrupt TIFF: no readable page (bad header or IFD offset)")
            wanted = range(n) if pages is None else pages
            # Pages are usually stored in order, so a cut-off file shows in the last page even
            # when only an earlier one is asked for.
            _check_page_extent(tif.pages[n - 1], size, path)
            arrays = []
            for i in wanted:
                if not isinstance(i, (int, np.integer)) or not 0 <= i < n:
                    raise ImageReadError(path, f"page {i} out of range: the file has {n} page(s)")
                arrays.append(_tiff_page(tif.pages[int(i)], size, path))
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile/imagecodecs raise many types for corrupt data
        raise ImageReadError(path, f"corrupt or unsupported TIFF ({type(exc).__name__}: {exc})") from exc
    first = arrays[0]
    for i, arr in enumerate(arrays[1:], 1):
        if arr.shape != first.shape or arr.dtype != first.dtype:
            raise ImageReadError(
                path, f"page {i} is {arr.shape} {arr.dtype}, page 0 is {first.shape} {first.dtype}; "
                "read pages one at a time with read_image(page=...)")
    return np.stack(arrays), n


def _check_ifd_chain(path: Path, size: int) -> None:
    """Raise if the chain of page directories (IFDs) runs past the end of the file.

    tifffile stops at a next-page offset beyond the end with only a log message, so a cut-off
    multi-page file would otherwise read as a shorter, valid one and lose its last pages.
    """
    with path.open("rb") as fh:
        head = fh.read(16)
        order = "<" if head[:2] == b"II" else ">"
        if head[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: 8-byte offsets and tag counts
            first_at, count_fmt, offset_fmt, tag_size = 8, "Q", "Q", 20
        else:
            first_at, count_fmt, offset_fmt, tag_size = 4, "H", "I", 12
        count_size, offset_size = struct.calcsize(count_fmt), struct.calcsize(offset_fmt)
        if len(head) < first_at + offset_size:
            raise ImageReadError(path, f"file is truncated: it ends inside the TIFF header "
                                       f"({size} bytes)")
        offset = struct.unpack(order + offset_fmt, head[first_at:first_at + offset_size])[0]
        seen: set[int] = set()
        while offset and offset not in seen:  # a loop is left to tifffile to report
            page = len(seen)
            seen.add(offset)
            if offset + count_size > size:
                raise ImageReadError(
                    path, f"corrupt or truncated TIFF: the directory of page {page} starts at byte "
                    f"{offset}, past the end of the file ({size} bytes)")
            fh.seek(offset)
            count = struct.unpack(order + count_fmt, fh.read(count_size))[0]
            end = offset + count_size + count * tag_size + offset_size
            if end > size:
                raise ImageReadError(
                    path, f"corrupt or truncated TIFF: the directory of page {page} ends at byte "
                    f"{end}, past the end of the file ({size} bytes)")
            fh.seek(end - offset_size)
            offset = struct.unpack(order + offset_fmt, fh.read(offset_size))[0]


def _check_page_extent(page, file_size: int, path: Path) -> None:
    """Raise if a page's image data lies past the end of the file."""
    # A cut-off file still parses (IFDs sit at the start) but its strips point past the end;
    # tifffile would then return partly empty data instead of failing.
    ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts) if c]
    if ends and max(ends) > file_size:
        raise ImageReadError(
            path, f"file is truncated: image data ends at byte {max(ends)}, file has {file_size}")


def _tiff_page(page, file_size: int, path: Path) -> np.ndarray:
    """One TIFF page as ``(H, W)`` or ``(H, W, C)``, alpha and extra samples dropped."""
    import tifffile

    _check_page_extent(page, file_size, path)
    arr = page.asarray()
    axes = page.axes
    if arr.ndim == 3 and axes.startswith("S"):  # planar configuration "separate"
        arr = np.moveaxis(arr, 0, -1)
    elif arr.ndim == 3 and not axes.endswith("S"):
        raise ImageReadError(path, f"unsupported page layout (axes {axes!r}, shape {arr.shape})")
    elif arr.ndim not in (2, 3):
        raise ImageReadError(path, f"unsupported page layout (axes {axes!r}, shape {arr.shape})")
    if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
        return _palette_to_image(np.moveaxis(np.asarray(page.colormap)[:, arr], 0, -1))
    # Extra samples sit last; alpha (associated or not) is dropped, unspecified ones are data
    # (e.g. a second fluorescence channel).
    alpha = [s for s in page.extrasamples if int(s) in (1, 2)]
    if arr.ndim == 3 and alpha:
        arr = arr[..., : arr.shape[-1] - len(alpha)]
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
    return arr


def _read_single(path: Path, fmt: str) -> np.ndarray:
    """PNG (imagecodecs: keeps 16-bit colour) or BMP/JPEG (Pillow) as ``(H, W[, C])``."""
    data = path.read_bytes()
    try:
        if fmt == "png":
            import imagecodecs

            arr = imagecodecs.png_decode(data)
            palette = len(data) > 25 and data[25] == 3  # IHDR colour type 3 = palette
        else:
            from PIL import Image

            with Image.open(path) as im:
                im.load()  # decodes now, so truncation surfaces here
                palette = im.mode == "P"
                if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
                    im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
                elif im.mode == "1":
                    im = im.convert("L")
                arr = np.asarray(im)
    except Exception as exc:
        raise ImageReadError(path, f"corrupt or truncated {fmt.upper()} ({type(exc).__name__}: {exc})") from exc
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # grey+alpha, RGBA
        arr = arr[..., :-1]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return _palette_to_image(arr) if palette else arr


def _palette_to_image(rgb: np.ndarray) -> np.ndarray:
    """A palette is a storage detail: an all-grey palette gives a grey image."""
    if rgb.ndim == 3 and rgb.shape[-1] >= 3 and (rgb[..., 0] == rgb[..., 1]).all() and (
        rgb[..., 0] == rgb[..., 2]
    ).all():
        return np.ascontiguousarray(rgb[..., 0])
    return rgb


# --------------------------------------------------------------------------------- scaling


def _check_scale(scale: str | float, path: Path) -> None:
    if isinstance(scale, str):
        if scale not in _SCALES:
            raise ValueError(f"scale must be 'dtype', 'minmax' or a number > 0, got {scale!r} "
                             f"(reading '{path}')")
    elif isinstance(scale, bool) or not np.isscalar(scale) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be 'dtype', 'minmax' or a number > 0, got {scale!r} "
                         f"(reading '{path}')")


def _scale(raw: np.ndarray, scale: str | float, path: Path) -> tuple[np.ndarray, tuple[float, float]]:
    """Map source values to float32 [0, 1]; return the source values that map to 0 and 1."""
    kind = raw.dtype.kind
    if kind not in "uifb":
        raise ImageReadError(path, f"unsupported sample type {raw.dtype} (need integer, float or bool)")
    if raw.size == 0:
        raise ImageReadError(path, f"image has no pixels (shape {raw.shape})")
    if kind == "f" and not np.isfinite(raw).all():
        bad = int((~np.isfinite(raw)).sum())
        raise ImageReadError(path, f"{bad} NaN/Inf sample(s) in floating-point data")
    data = raw.astype(np.float64)
    lo_data, hi_data = float(data.min()), float(data.max())

    if isinstance(scale, str) and scale == "dtype":
        if kind == "b":
            lo, hi = 0.0, 1.0
        elif kind in "ui":
            info = np.iinfo(raw.dtype)
            # Signed data that never goes negative (common for cameras) keeps 0 → 0.
            lo, hi = (0.0, float(info.max)) if lo_data >= 0 else (float(info.min), float(info.max))
        elif lo_data >= 0.0 and hi_data <= 1.0:
            lo, hi = 0.0, 1.0
        else:
            lo, hi = lo_data, hi_data
    elif isinstance(scale, str):  # "minmax"
        lo, hi = lo_data, hi_data
    else:
        lo, hi = 0.0, float(scale)

    # A constant image has no range: it maps to 0 with a unit-wide range recorded.
    span = hi - lo if hi > lo else 1.0
    out = (data - lo) / span
    if not isinstance(scale, str):
        over = np.count_nonzero((out < 0) | (out > 1))
        if over:
            warnings.warn(f"'{path}': {over} sample(s) outside [0, {scale:g}] clipped to [0, 1]",
                          stacklevel=3)
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out, (lo, lo + span)


def _maybe_grey(image: np.ndarray, grey: bool, path: Path) -> np.ndarray:
    if not grey or image.ndim == 2:
        return image
    if image.shape[-1] != 3:
        raise ImageReadError(path, f"grey=True needs 1 or 3 channels, the file has {image.shape[-1]}")
    return to_grey(image)


def _meta(path: Path, dtype: np.dtype, data_range: tuple[float, float], image: np.ndarray,
          pages: int, *, stacked: bool) -> ImageMeta:
    spatial_ndim = image.ndim - (1 if stacked else 0)
    channels = image.shape[-1] if spatial_ndim == 3 else 1
    return ImageMeta(path=str(path), source_dtype=str(dtype), data_range=data_range,
                     channels=int(channels), shape=tuple(image.shape), pages=int(pages))


# --------------------------------------------------------------------------------- writing


def _to_output(image: np.ndarray, dtype: str, data_range: tuple[float, float] | None,
               where: str) -> np.ndarray:
    """Float [0, 1] (or unsigned/bool) ``image`` → ``dtype`` array spanning ``data_range``."""
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(f"{where}: image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                         f"got {image.shape}")
    if image.size == 0:
        raise ValueError(f"{where}: image is empty (shape {image.shape})")
    kind = image.dtype.kind
    if kind == "f":
        if not np.isfinite(image).all():
            raise ValueError(f"{where}: image contains NaN or Inf")
        unit = image.astype(np.float64)
    elif kind == "u":
        unit = image.astype(np.float64) / np.iinfo(image.dtype).max
    elif kind == "b":
        unit = image.astype(np.float64)
    else:
        raise ValueError(f"{where}: image dtype {image.dtype} not supported "
                         "(float in [0, 1], unsigned integer or bool)")

    target = np.dtype(dtype)
    if data_range is None:
        lo, hi = (0.0, float(np.iinfo(target).max)) if target.kind == "u" else (0.0, 1.0)
    else:
        lo, hi = _check_data_range(data_range, target, where)
    if kind == "f":
        _warn_if_clipping(unit, where)
    # float64 keeps k/65535 → k exact, so uint16 data round-trips through read_image.
    values = lo + np.clip(unit, 0.0, 1.0) * (hi - lo)
    if target.kind == "u":
        info = np.iinfo(target)
        values = np.clip(np.rint(values), info.min, info.max)
    return np.ascontiguousarray(values.astype(target))


def _check_data_range(data_range: object, target: np.dtype, where: str) -> tuple[float, float]:
    """``(lo, hi)`` as floats: finite, ``lo < hi`` and inside ``target``'s range."""
    ok = (isinstance(data_range, (tuple, list, np.ndarray)) and len(data_range) == 2
          and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in data_range))
    if ok:
        lo, hi = float(data_range[0]), float(data_range[1])
        ok = bool(np.isfinite(lo) and np.isfinite(hi) and lo < hi)
    if not ok:
        raise ValueError(f"{where}: data_range must be a pair (lo, hi) of finite numbers with "
                         f"lo < hi, got {data_range!r}")
    # Out-of-range values would be clipped in the file: the written units would be wrong.
    info = np.iinfo(target) if target.kind == "u" else np.finfo(target)
    if lo < info.min or hi > info.max:
        raise ValueError(f"{where}: data_range {data_range!r} does not fit {target} "
                         f"[{info.min:g}, {info.max:g}]; pick another dtype or data_range")
    return lo, hi


def _warn_if_clipping(unit: np.ndarray, where: str) -> None:
    """Warn when clipping to [0, 1] visibly changes the image (e.g. a 0–255 float image)."""
    clipped = np.count_nonzero((unit < 0.0) | (unit > 1.0)) / unit.size
    lo, hi = float(unit.min()), float(unit.max())
    if clipped > _CLIP_WARN_FRACTION or lo < -_CLIP_WARN_MARGIN or hi > 1.0 + _CLIP_WARN_MARGIN:
        warnings.warn(
            f"{where}: {clipped:.1%} of the pixel values lie outside [0, 1] (min {lo:.4g}, "
            f"max {hi:.4g}) and are clipped; scale float images to [0, 1] first (e.g. divide "
            "0–255 data by 255); data_range then sets the values written for 0 and 1",
            UserWarning, stacklevel=4)
