"""Paired blurred/sharp data sets, registration, crops, tiles and group-wise splits.

Every paired data set here yields *items*: plain dicts holding numpy images and their meta::

    {"blur":  float32 (H, W) or (H, W, 3) in [0, 1],
     "sharp": same shape as "blur",
     "name":  str,                 # file stem shared by blur and sharp
     "group": str,                 # source group (tiles of one group must not straddle splits)
     "data_range": (lo, hi),       # source values mapped onto [0, 1] (sharp file's ImageMeta)
     "shift": (dy, dx),            # shift applied to "blur" by registration, (0.0, 0.0) if none
     "valid": (y0, y1, x0, x1)}    # region not touched by the registration's border fill

:class:`RandomCrops`, :class:`CentreCrops` and :class:`Tiles` turn such items into torch samples
``{"blur": (C, h, w), "sharp": (C, h, w), "name", "group"}`` for training and evaluation.
Focus series (one field, many defocus planes) live in :mod:`deblurlab.focus`.

Example (synthetic folders work the same way as the real ``midnet-sem`` set)::

    >>> ds = midnet_sem(grey=True)                      # doctest: +SKIP
    >>> train, val, test = group_split(ds, test=("8-1",), val=("7-1",))  # doctest: +SKIP
    >>> crops = RandomCrops(train, 256, n_per_image=4)  # doctest: +SKIP
    >>> crops[0]["blur"].shape                          # doctest: +SKIP
    torch.Size([1, 256, 256])
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from .arrays import to_grey
from .config import require_data
from .io import read_image

#: File endings read by :class:`PairedFolder` (case-insensitive).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")
#: Source group of a midnet-sem file name: ``"3-1_s002.png"`` → ``"3-1"``.
MIDNET_GROUP = r"^(\d+-\d+)_"

GroupSpec = str | re.Pattern | Callable[[str], str] | None


class RegistrationError(ValueError):
    """Registration found a shift larger than allowed (the pair is probably not the same field)."""


# --------------------------------------------------------------------------- registration


def estimate_shift(
    moving: np.ndarray, reference: np.ndarray, *, upsample_factor: int = 10, refine: int = 1
) -> tuple[float, float]:
    """Sub-pixel shift ``(dy, dx)`` that moves ``moving`` onto ``reference``.

    ``scipy.ndimage.shift(moving, (dy, dx))`` then lines up with ``reference``. Colour images are
    registered on their luminance. A Hann window suppresses the image border (it is not periodic,
    and the wrap-around edge would otherwise pull the peak towards zero shift). The window itself
    biases the peak towards zero by a few % of the shift, so ``refine`` extra rounds re-estimate
    the residual after shifting ``moving`` by the estimate so far.

    Args:
        moving, reference: ``(H, W)`` or ``(H, W, 3)`` images of equal shape.
        upsample_factor: precision is ``1 / upsample_factor`` pixel.
        refine: residual re-estimations (0 = a single pass).

    >>> rng = np.random.default_rng(0)
    >>> ref = ndimage.gaussian_filter(rng.random((64, 64)), 2)
    >>> mov = ndimage.shift(ref, (1.5, -2.0), mode="nearest")
    >>> [round(s, 1) for s in estimate_shift(mov, ref)]
    [-1.5, 2.0]
    """
    a, b = to_grey(moving), to_grey(reference)
    if a.shape != b.shape:
        raise ValueError(f"cannot register images of different shapes {a.shape} and {b.shape}")
    win = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1])).astype(np.float32)
    b = (b - b.mean()) * win
    total = np.zeros(2)
    for _ in range(refine + 1):
        moved = a if not total.any() else ndimage.shift(a, total, order=3, mode="nearest")
        # Plain (un-normalised) cross-correlation: phase normalisation boosts the high
        # frequencies that blur has removed and makes blurred-vs-sharp registration noisy.
        step, _, _ = phase_cross_correlation(b, (moved - moved.mean()) * win,
                                             upsample_factor=upsample_factor, normalization=None)
        total += step
    return float(total[0]), float(total[1])


def apply_shift(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """Shift ``(H, W)`` or ``(H, W, C)`` by ``(dy, dx)`` pixels (cubic spline, edge values repeated).

    The result is clipped to [0, 1] because the cubic spline overshoots at sharp edges.
    """
    arr = np.asarray(image, np.float32)
    full = tuple(shift) + (0.0,) * (arr.ndim - 2)
    out = ndimage.shift(arr, full, order=3, mode="nearest")
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def valid_region(shape: tuple[int, ...], shift: tuple[float, float]) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the pixels that a shift by ``(dy, dx)`` did not fill from the edge."""
    h, w = shape[:2]
    dy, dx = shift
    y0, y1 = math.ceil(max(dy, 0.0)), h - math.ceil(max(-dy, 0.0))
    x0, x1 = math.ceil(max(dx, 0.0)), w - math.ceil(max(-dx, 0.0))
    return y0, y1, x0, x1


def register_pair(
    blur: np.ndarray,
    sharp: np.ndarray,
    *,
    max_shift_px: float = 8,
    upsample_factor: int = 10,
    name: str = "",
) -> tuple[np.ndarray, tuple[float, float]]:
    """Shift ``blur`` onto ``sharp``; return ``(shifted blur, (dy, dx))``.

    The sharp image is never resampled: it is the ground truth. A shift larger than
    ``max_shift_px`` (either axis) raises :class:`RegistrationError` naming the pair.
    """
    dy, dx = estimate_shift(blur, sharp, upsample_factor=upsample_factor)
    if max(abs(dy), abs(dx)) > max_shift_px:
        raise RegistrationError(
            f"registration of {name or 'the pair'} found a shift of ({dy:.1f}, {dx:.1f}) px, more "
            f"than max_shift_px={max_shift_px}; the images may not show the same field "
            f"(raise max_shift_px if the shift is genuine)"
        )
    return apply_shift(blur, (dy, dx)), (dy, dx)


# --------------------------------------------------------------------------- groups


def make_group_fn(group: GroupSpec) -> Callable[[str], str]:
    """Turn a regex (first capture group, else whole match), a callable or ``None`` into a function.

    ``None`` makes every name its own group.

    >>> make_group_fn(MIDNET_GROUP)("3-1_s002")
    '3-1'
    """
    if group is None:
        return lambda name: name
    if callable(group) and not isinstance(group, re.Pattern):
        return group
    pattern = re.compile(group) if isinstance(group, str) else group

    def group_of(name: str) -> str:
        m = pattern.search(name)
        if m is None:
            raise ValueError(f"name {name!r} does not match the group pattern {pattern.pattern!r}")
        return m.group(1) if pattern.groups else m.group(0)

    return group_of


def _norm_exts(extensions: Sequence[str]) -> tuple[str, ...]:
    return tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)


def _list_images(folder: Path, extensions: Sequence[str],
                 key: Callable[[str], str] = lambda stem: stem) -> dict[str, Path]:
    """``{key(stem): path}`` of the images in ``folder``; two files with one key are an error."""
    exts = set(_norm_exts(extensions))
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in exts:
            continue
        try:
            k = key(path.stem)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if k in found:
            raise ValueError(f"two files with the key {k!r} in {folder}: "
                             f"{found[k].name} and {path.name}")
        found[k] = path
    return found


def _strip_ext(name: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> str:
    """``"a.png"`` → ``"a"``; keeps dots that are not an image ending (``"zoff-0.1025um"``)."""
    p = Path(name)
    return p.stem if p.suffix.lower() in _norm_exts(extensions) else p.name


def _short_list(names: Iterable[str], limit: int = 20) -> str:
    names = sorted(names)
    more = f" … and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


class PairedDataset:
    """Base of the paired data sets: ``names``, ``item_group(i)`` and ``groups`` without loading."""

    names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def item_group(self, index: int) -> str:
        raise NotImplementedError

    @property
    def groups(self) -> list[str]:
        """Sorted distinct groups."""
        return sorted({self.item_group(i) for i in range(len(self))})

    def __getitem__(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def _check_index(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {type(self).__name__} of {n} items")
        return index % n


class PairedFolder(PairedDataset):
    """Blurred/sharp image pairs from two folders, matched by file stem.

    Args:
        blur_dir, sharp_dir: folders of images; ``a.png`` in one pairs with ``a.tif`` or ``a.png``
            in the other.
        grey: read as grey ``(H, W)`` (luminance) instead of the file's channels.
        register: shift each blurred image onto its sharp partner (sub-pixel phase correlation).
        max_shift_px: registration refuses larger shifts (:class:`RegistrationError`).
        group: regex (first capture group) or callable giving an item's source group from its
            name; ``None`` = every image its own group.
        match: regex or callable giving the pairing key (the item's name) from a file stem, for
            folders whose names differ beyond a shared key; ``None`` = the whole stem.
        strict: unmatched files raise ``ValueError`` listing them; ``False`` warns and drops them.
        extensions: file endings to read.
        scale: passed to :func:`deblurlab.io.read_image`.
        cache: keep loaded (and registered) items in memory.
        trim: crop both images to the region the registration's border fill did not touch
            (sizes then differ between items by a few pixels).

    Items are dicts (see the module doc). Size mismatches raise ``ValueError`` naming both files.

    >>> ds = PairedFolder("blur", "sharp", group=r"^(\\d+-\\d+)_")  # doctest: +SKIP
    >>> ds.group_of("3-1_s002.png")                                # doctest: +SKIP
    '3-1'
    """

    def __init__(
        self,
        blur_dir: str | Path,
        sharp_dir: str | Path,
        *,
        grey: bool = False,
        register: bool = False,
        max_shift_px: float = 8,
        upsample_factor: int = 10,
        group: GroupSpec = None,
        match: GroupSpec = None,
        strict: bool = True,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        scale: str | float = "dtype",
        cache: bool = True,
        trim: bool = False,
    ) -> None:
        self.blur_dir, self.sharp_dir = Path(blur_dir), Path(sharp_dir)
        for d in (self.blur_dir, self.sharp_dir):
            if not d.is_dir():
                raise FileNotFoundError(f"image folder not found: {d}")
        if self.blur_dir.samefile(self.sharp_dir):
            raise ValueError(f"blur_dir and sharp_dir are the same folder ({self.blur_dir}): "
                             "every image would be paired with itself")
        self.extensions = _norm_exts(extensions)
        blur = _list_images(self.blur_dir, self.extensions, make_group_fn(match))
        sharp = _list_images(self.sharp_dir, self.extensions, make_group_fn(match))
        only_blur, only_sharp = set(blur) - set(sharp), set(sharp) - set(blur)
        if only_blur or only_sharp:
            msg = (f"unmatched images between {self.blur_dir} and {self.sharp_dir}: "
                   f"only in blur: [{_short_list(only_blur)}]; "
                   f"only in sharp: [{_short_list(only_sharp)}]")
            if strict:
                raise ValueError(msg + " (pass strict=False to drop them)")
            warnings.warn(msg + " — dropped", stacklevel=2)
        self.names = sorted(set(blur) & set(sharp))
        if not self.names:
            raise ValueError(f"no matching image pairs in {self.blur_dir} and {self.sharp_dir} "
                             f"(extensions {', '.join(self.extensions)})")
        self._paths = {n: (blur[n], sharp[n]) for n in self.names}
        self._group_fn = make_group_fn(group)
        self._groups = []
        for n in self.names:  # fail early on a bad pattern, naming the file
            try:
                self._groups.append(self.group_of(n))
            except ValueError as exc:
                raise ValueError(f"{blur[n]}: {exc}") from None
        self.grey, self.register, self.scale = grey, register, scale
        self.max_shift_px, self.upsample_factor = max_shift_px, upsample_factor
        self.cache, self.trim = cache, trim
        self._cache: dict[int, dict[str, Any]] = {}

    def group_of(self, name: str) -> str:
        """Source group of a file name or stem (``"3-1_s002.png"`` → ``"3-1"`` for midnet-sem)."""
        return self._group_fn(_strip_ext(name, self.extensions))

    def item_group(self, index: int) -> str:
        return self._groups[self._check_index(index)]

    def paths(self, index: int) -> tuple[Path, Path]:
        """``(blur path, sharp path)`` of item ``index``."""
        return self._paths[self.names[self._check_index(index)]]

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        if index in self._cache:
            return dict(self._cache[index])
        name = self.names[index]
        blur_path, sharp_path = self._paths[name]
        blur, _ = read_image(blur_path, grey=self.grey, scale=self.scale)
        sharp, sharp_meta = read_image(sharp_path, grey=self.grey, scale=self.scale)
        item = make_item(blur, sharp, name=name, group=self._groups[index],
                         data_range=sharp_meta.data_range, register=self.register,
                         max_shift_px=self.max_shift_px, upsample_factor=self.upsample_factor,
                         trim=self.trim, describe=f"{blur_path} and {sharp_path}")
        if self.cache:
            self._cache[index] = item
        return dict(item)

    def __repr__(self) -> str:
        return (f"PairedFolder({str(self.blur_dir)!r}, {str(self.sharp_dir)!r}, "
                f"{len(self)} pairs, {len(self.groups)} groups)")


def _check_pair(blur: np.ndarray, sharp: np.ndarray, what: str) -> None:
    """Blur and sharp must be real-valued ``(H, W[, C])`` images of one shape, all finite.

    Checked once where the arrays enter: a mismatch or NaN found later (in a crop, a loss or the
    registration) would not say which pair is at fault.
    """
    b, s = np.asarray(blur), np.asarray(sharp)
    if b.shape != s.shape:
        raise ValueError(f"size mismatch in {what}: blur {b.shape} vs sharp {s.shape}")
    for key, arr in (("blur", b), ("sharp", s)):
        if arr.ndim not in (2, 3) or arr.dtype.kind not in "biuf":
            raise ValueError(f"{what}: {key} must be a real-valued (H, W) or (H, W, C) image, "
                             f"got {arr.dtype} {arr.shape}")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int(np.count_nonzero(~np.isfinite(arr)))
            raise ValueError(f"{what}: {key} has {bad} NaN/Inf pixel value(s)")


def make_item(
    blur: np.ndarray,
    sharp: np.ndarray,
    *,
    name: str,
    group: str,
    data_range: tuple[float, float] = (0.0, 1.0),
    register: bool = False,
    max_shift_px: float = 8,
    upsample_factor: int = 10,
    trim: bool = False,
    describe: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """Build a paired item dict (module doc), checking the images and optionally registering.

    ``describe`` names the pair in error messages (e.g. both file paths).
    """
    what = describe or f"pair {name!r}"
    _check_pair(blur, sharp, what)
    shift = (0.0, 0.0)
    if register:
        blur, shift = register_pair(blur, sharp, max_shift_px=max_shift_px,
                                    upsample_factor=upsample_factor, name=what)
    valid = valid_region(blur.shape, shift)
    if trim:
        y0, y1, x0, x1 = valid
        blur, sharp = blur[y0:y1, x0:x1], sharp[y0:y1, x0:x1]
        valid = (0, y1 - y0, 0, x1 - x0)
    item = {"blur": blur, "sharp": sharp, "name": name, "group": group,
            "data_range": tuple(data_range), "shift": shift, "valid": valid}
    item.update(extra)
    return item


class PairList(PairedDataset):
    """A paired data set over ready-made items (dicts as in the module doc), e.g. focus pairs.

    Each item's blur and sharp must have one shape and finite values (checked here, once).
    """

    def __init__(self, items: Sequence[Mapping[str, Any]]) -> None:
        self._items = [dict(it) for it in items]
        for it in self._items:
            missing = {"blur", "sharp", "name", "group"} - set(it)
            if missing:
                raise ValueError(f"item {it.get('name', '?')!r} lacks {sorted(missing)}")
            _check_pair(it["blur"], it["sharp"], f"pair {it['name']!r}")
        self.names = [it["name"] for it in self._items]

    def item_group(self, index: int) -> str:
        return self._items[self._check_index(index)]["group"]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return dict(self._items[self._check_index(index)])


class ConcatPairs(PairedDataset):
    """Several paired data sets as one (nothing is loaded until an item is asked for).

    Names are prefixed with the part's ``label`` (``"sem/3-1_s002"``) so they stay unique, and so
    are groups, so that a group split never mixes fields of different sources.

    >>> parts = ConcatPairs(a=PairList([]), b=PairList([]))
    >>> len(parts)
    0
    """

    def __init__(self, **parts: PairedDataset) -> None:
        if not parts:
            raise ValueError("ConcatPairs needs at least one named part, e.g. ConcatPairs(sem=ds)")
        self.parts = dict(parts)
        self._index = [(label, i) for label, ds in self.parts.items() for i in range(len(ds))]
        self.names = [f"{label}/{self.parts[label].names[i]}" for label, i in self._index]

    def item_group(self, index: int) -> str:
        label, i = self._index[self._check_index(index)]
        return f"{label}/{self.parts[label].item_group(i)}"

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        label, i = self._index[index]
        item = dict(self.parts[label][i])
        item["name"], item["group"] = self.names[index], self.item_group(index)
        return item


def midnet_sem(root: str | Path | None = None, **kwargs: Any) -> PairedFolder:
    """The midnet-sem SEM pairs (``DEBLURLAB_DATA/midnet-sem/{blur,sharp}``), grouped by source.

    96 pairs of 512×512 RGBA PNGs with grey content (alpha dropped on reading), groups
    ``1-1`` … ``8-1``, 12 overlapping tiles per group. ``kwargs`` go to :class:`PairedFolder`.

    >>> ds = midnet_sem(grey=True)      # doctest: +SKIP
    >>> len(ds), ds.groups[:2]          # doctest: +SKIP
    (96, ['1-1', '2-1'])
    """
    base = Path(root) if root is not None else require_data("midnet-sem")
    kwargs.setdefault("group", MIDNET_GROUP)
    return PairedFolder(base / "blur", base / "sharp", **kwargs)


# --------------------------------------------------------------------------- splits


class GroupSplit(NamedTuple):
    """Index lists of a group-wise split."""

    train: list[int]
    val: list[int]
    test: list[int]


def split_by_group(
    items_or_names: Any,
    test_groups: Sequence[str] = (),
    val_groups: Sequence[str] = (),
    *,
    group: GroupSpec = MIDNET_GROUP,
) -> GroupSplit:
    """Split indices so that each source group lies wholly in train, val or test.

    Args:
        items_or_names: a data set with ``item_group(i)`` (nothing is loaded), a sequence of item
            dicts with a ``"group"`` key, or a sequence of names (grouped with ``group``).
        test_groups, val_groups: groups held out; every other group is training data.
        group: regex or callable for plain names (default: midnet-sem names).

    Raises ``ValueError`` for a requested group that does not exist or is both val and test.

    >>> split_by_group(["1-1_s001", "1-1_s002", "8-1_s001"], test_groups=["8-1"])
    GroupSplit(train=[0, 1], val=[], test=[2])
    """
    if isinstance(test_groups, str) or isinstance(val_groups, str):
        raise TypeError("test_groups / val_groups take a sequence of group names, e.g. ('8-1',)")
    if hasattr(items_or_names, "item_group"):
        groups = [items_or_names.item_group(i) for i in range(len(items_or_names))]
    else:
        fn = make_group_fn(group)
        groups = [it["group"] if isinstance(it, Mapping) else fn(_strip_ext(str(it)))
                  for it in items_or_names]
    known = set(groups)
    unknown = (set(test_groups) | set(val_groups)) - known
    if unknown:
        raise ValueError(f"unknown group(s) {sorted(unknown)}; available: {sorted(known)}")
    both = set(test_groups) & set(val_groups)
    if both:
        raise ValueError(f"group(s) {sorted(both)} requested for both val and test")
    split = GroupSplit([], [], [])
    for i, g in enumerate(groups):
        part = split.test if g in test_groups else split.val if g in val_groups else split.train
        part.append(i)
    return split


class PairSubset(PairedDataset):
    """Items ``indices`` of a paired data set (keeps ``names`` and groups, unlike torch's Subset)."""

    def __init__(self, base: Any, indices: Sequence[int]) -> None:
        self.base, self.indices = base, [int(i) for i in indices]
        self.names = [base.names[i] for i in self.indices]

    def item_group(self, index: int) -> str:
        return self.base.item_group(self.indices[self._check_index(index)])

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.base[self.indices[self._check_index(index)]]


def group_split(
    dataset: Any, test: Sequence[str] = ("8-1",), val: Sequence[str] = ()
) -> tuple[PairSubset, PairSubset, PairSubset]:
    """``(train, val, test)`` subsets of a paired data set split by whole source groups.

    Split *before* cropping or tiling: tiles of one group then never straddle train and test.
    """
    split = split_by_group(dataset, test_groups=test, val_groups=val)
    return (PairSubset(dataset, split.train), PairSubset(dataset, split.val),
            PairSubset(dataset, split.test))


# --------------------------------------------------------------------------- crops and tiles


def _chw(image: np.ndarray, channels: int | None) -> torch.Tensor:
    """numpy ``(H, W[, C])`` → tensor ``(C, H, W)``; ``channels`` 1 = luminance, 3 = grey repeated."""
    img = np.asarray(image, np.float32)
    if channels == 1:
        img = to_grey(img)
    elif channels == 3 and (img.ndim == 2 or img.shape[-1] == 1):
        img = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=-1)
    elif channels not in (None, 3):
        raise ValueError(f"channels must be None, 1 or 3, got {channels!r}")
    # Always a copy: the base data set may cache the array this crop is a view of.
    return torch.from_numpy(np.moveaxis(img[..., None] if img.ndim == 2 else img, -1, 0).copy())


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _size2(size: int | tuple[int, int], what: str) -> tuple[int, int]:
    """``s`` or ``(h, w)`` (Python or numpy integers) → ``(h, w)``."""
    if _is_int(size):
        h, w = size, size
    elif isinstance(size, (tuple, list)) and len(size) == 2 and all(map(_is_int, size)):
        h, w = size
    else:
        raise TypeError(f"{what} must be an int or a pair (h, w) of ints, got {size!r}")
    if h < 1 or w < 1:
        raise ValueError(f"{what} must be positive, got {size!r}")
    return int(h), int(w)


def _check_fits(item: Mapping[str, Any], size: tuple[int, int], what: str) -> None:
    h, w = item["sharp"].shape[:2]
    if size[0] > h or size[1] > w:
        raise ValueError(f"{what} {size[0]}×{size[1]} is larger than image {item['name']!r} "
                         f"of size {h}×{w}")


def _sample(item: Mapping[str, Any], blur: np.ndarray, sharp: np.ndarray,
            channels: int | None) -> dict[str, Any]:
    return {"blur": _chw(blur, channels), "sharp": _chw(sharp, channels),
            "name": item["name"], "group": item["group"]}


class RandomCrops(torch.utils.data.Dataset):
    """Random aligned crops of paired items with the same rot90/flip applied to blur and sharp.

    Sample ``i`` comes from base item ``i // n_per_image``; its crop position and transform are
    drawn from a generator seeded with ``(seed, epoch, i)``, so a run repeats exactly whatever
    the worker count. Call :meth:`set_epoch` before each epoch for fresh crops (with
    ``persistent_workers=True`` the workers would not see the new epoch).

    Args:
        base: paired data set (items as in the module doc).
        crop: crop size ``s`` or ``(h, w)``; non-square crops only rotate by 0° / 180°.
        n_per_image: crops per base item per epoch.
        augment: random rot90 × flip (8 dihedral transforms).
        channels: ``None`` keeps the images' channels, 1 = grey, 3 = RGB.

    Returns samples ``{"blur": (C, h, w), "sharp": (C, h, w), "name": str, "group": str}``.

    >>> crops = RandomCrops(PairList([{"blur": np.zeros((8, 8), np.float32),
    ...     "sharp": np.ones((8, 8), np.float32), "name": "a", "group": "g"}]), 4)
    >>> crops[0]["blur"].shape
    torch.Size([1, 4, 4])
    """

    def __init__(self, base: Any, crop: int | tuple[int, int], *, n_per_image: int = 1,
                 augment: bool = True, seed: int = 0, channels: int | None = None) -> None:
        if n_per_image < 1:
            raise ValueError(f"n_per_image must be ≥ 1, got {n_per_image}")
        self.base, self.crop = base, _size2(crop, "crop")
        self.n_per_image, self.augment, self.seed = n_per_image, augment, seed
        self.channels, self.epoch = channels, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the crops of ``epoch`` (deterministic per ``(seed, epoch, index)``)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.base) * self.n_per_image

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for RandomCrops of {n} samples")
        index %= n
        item = self.base[index // self.n_per_image]
        _check_fits(item, self.crop, "crop")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        ch, cw = self.crop
        h, w = item["sharp"].shape[:2]
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        blur, sharp = item["blur"][y:y + ch, x:x + cw], item["sharp"][y:y + ch, x:x + cw]
        if self.augment:
            k = int(rng.integers(0, 4)) if ch == cw else 2 * int(rng.integers(0, 2))
            flip = bool(rng.integers(0, 2))
            blur, sharp = (dihedral(a, k, flip) for a in (blur, sharp))
        return _sample(item, blur, sharp, self.channels)


def dihedral(image: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate ``(H, W[, C])`` by ``k``·90° (counter-clockwise), then mirror left-right if ``flip``."""
    out = np.rot90(image, k, axes=(0, 1))
    return np.ascontiguousarray(out[:, ::-1] if flip else out)


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets of tiles covering ``[0, length)``; the last tile is snapped to the end.

    >>> tile_starts(10, 4, 4)
    [0, 4, 6]
    """
    if not 1 <= stride <= tile:
        raise ValueError(f"stride {stride} must be between 1 and the tile length {tile} "
                         "(a longer stride leaves gaps between tiles)")
    if tile > length:
        raise ValueError(f"tile {tile} is longer than the image side {length}")
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


class Tiles(torch.utils.data.Dataset):
    """Regular tiling of every base item for evaluation (the whole image is covered).

    Tiles start every ``stride`` pixels (default: ``tile``, no overlap; at most ``tile``, or the
    tiles would leave gaps); the last row/column is snapped to the border. Base items are loaded
    once at construction to learn their sizes.
    Samples are those of :class:`RandomCrops` plus ``"index"`` (base item), ``"y"`` and ``"x"``.
    """

    def __init__(self, base: Any, tile: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None, *,
                 channels: int | None = None) -> None:
        self.base, self.tile, self.channels = base, _size2(tile, "tile"), channels
        self.stride = _size2(stride, "stride") if stride is not None else self.tile
        if self.stride[0] > self.tile[0] or self.stride[1] > self.tile[1]:
            raise ValueError(f"stride {stride!r} is longer than tile {tile!r}: the tiles would "
                             "leave gaps (use stride ≤ tile)")
        self._index: list[tuple[int, int, int]] = []
        for i in range(len(base)):
            item = base[i]
            _check_fits(item, self.tile, "tile")
            h, w = item["sharp"].shape[:2]
            self._index += [(i, y, x) for y in tile_starts(h, self.tile[0], self.stride[0])
                            for x in tile_starts(w, self.tile[1], self.stride[1])]

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i, y, x = self._index[index]
        item = self.base[i]
        th, tw = self.tile
        sample = _sample(item, item["blur"][y:y + th, x:x + tw], item["sharp"][y:y + th, x:x + tw],
                         self.channels)
        sample.update(index=i, y=y, x=x)
        return sample


class CentreCrops(torch.utils.data.Dataset):
    """One centred ``crop`` per base item (for quick, repeatable evaluation)."""

    def __init__(self, base: Any, crop: int | tuple[int, int], *,
                 channels: int | None = None) -> None:
        self.base, self.crop, self.channels = base, _size2(crop, "crop"), channels

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.base[index]
        _check_fits(item, self.crop, "crop")
        (ch, cw), (h, w) = self.crop, item["sharp"].shape[:2]
        y, x = (h - ch) // 2, (w - cw) // 2
        return _sample(item, item["blur"][y:y + ch, x:x + cw], item["sharp"][y:y + ch, x:x + cw],
                       self.channels)
