"""Real focus series (one field imaged at many defocus distances) and their paired data sets.

A :class:`FocusSeries` holds the defocused planes of one field, their signed defocus, and the
in-focus reference image(s). Loaders exist for every focus set under ``DEBLURLAB_DATA``:

==========================  =====================================================  ========
name                        folder / layout                                        unit
==========================  =====================================================  ========
``dfnn-lightsheet-single``  ``dfnn-lightsheet/microtubules/single``: ``…ON``,      µm
                            ``…ON(1)``, 14 planes ``…OffM0p3um`` (−0.3) …
``dfnn-lightsheet-stack``   ``dfnn-lightsheet/microtubules/stack``: 31 planes      µm
                            ``…Abs0036``; defocus (order − 51)·0.05, order 51 ref
``reflected-focus``         ``tile__ix000_iy001_zoff-7.2650um.tiff``, 2 fields,    µm
                            ``zoff0um`` is each field's reference
``smear-focus``             ``-9.bmp`` … ``9.bmp``, ``0.bmp`` best focus           step
``bbbc006``                 full BBBC006: ``BBBC006_v1_images_z_00`` … ``_33``     µm
``sem-defocus-series``      3 SEM planes, none sharp (no reference, not pairable)  µm
==========================  =====================================================  ========

The parsers (``parse_*``) work on names alone, so their behaviour is testable without the data.

>>> parse_dfnn_single("cell11G3Dz0p5umOffM0p3um.tif")
-0.3
>>> series = load_focus_series("dfnn-lightsheet-single")   # doctest: +SKIP
>>> pairs = FocusPairs(series, register=True)              # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import data_path, require_data
from .datasets import (IMAGE_EXTENSIONS, PairedDataset, PairedFolder, PairList, _strip_ext,
                       make_item, register_pair)
from .io import read_image

# --------------------------------------------------------------------------- name parsers

_DFNN_OFF = re.compile(r"Off(?P<sign>[MP])(?P<int>\d+)p(?P<frac>\d+)um$")
_DFNN_ON = re.compile(r"ON(?:\(\d+\))?$")
_DFNN_ORDER = re.compile(r"Abs(?P<order>\d{4})$")
_REFLECTED = re.compile(r"tile__ix(?P<ix>\d+)_iy(?P<iy>\d+)_zoff(?P<z>[-+]?\d+(?:\.\d+)?)um$")
_SMEAR = re.compile(r"^(?P<step>[-+]?\d+)$")
_BBBC_PLANE = re.compile(r"BBBC006_v1_images_z_(?P<z>\d+)$")
_BBBC_FIELD = re.compile(r"_+(?P<well>[a-p]\d{2})_+(?P<site>s\d+)_+(?P<ch>w\d)")
_SEM = re.compile(r"^(?P<field>.+?)_def(?P<base>[-+]?\d+)_.*_(?:base|pert(?P<pert>[-+]?\d+))$")

#: dfnn single: defocus values (µm) imaged against ``ON``; all others against ``ON(1)``
#: (upstream ReadMe: ON was re-acquired as ON(1) part-way through the experiment).
DFNN_ON_PLANES = (-0.1, 0.1, -0.3)
DFNN_ON1_PLANES = (-0.2, 0.2, 0.3, -0.4, 0.4, -0.5, 0.5, -0.6, 0.6, -0.7, 0.7)
DFNN_STACK_IN_FOCUS = 51
DFNN_STACK_STEP_UM = 0.05
#: BBBC006: the paper (METHODS §5.3) takes z17 as ground truth; BBBC names z16 the autofocus plane.
BBBC006_REFERENCE_PLANE = 17
BBBC006_STEP_UM = 2.0
BBBC006_PLANES = 34


def _stem(name: str | Path) -> str:
    return _strip_ext(Path(name).name)


def _match(pattern: re.Pattern, name: str | Path, what: str) -> re.Match:
    m = pattern.search(_stem(name))
    if m is None:
        raise ValueError(f"{str(name)!r} is not a {what} name "
                         f"(expected pattern {pattern.pattern!r})")
    return m


def parse_dfnn_single(name: str | Path) -> float:
    """Signed defocus (µm) of a dfnn single-shot name: ``…OffM0p3um`` → −0.3, ``…ON(1)`` → 0."""
    if _DFNN_ON.search(_stem(name)):
        return 0.0
    m = _match(_DFNN_OFF, name, "dfnn-lightsheet single")
    value = float(f"{m['int']}.{m['frac']}")
    return -value if m["sign"] == "M" else value


def dfnn_single_reference(name: str | Path) -> str:
    """Which in-focus image (``"ON"`` or ``"ON(1)"``) the upstream ReadMe assigns to a plane."""
    d = round(parse_dfnn_single(name), 3)
    if d == 0.0:
        raise ValueError(f"{str(name)!r} is itself an in-focus reference")
    if d in DFNN_ON_PLANES:
        return "ON"
    if d in DFNN_ON1_PLANES:
        return "ON(1)"
    raise ValueError(f"the dfnn ReadMe assigns no in-focus image to defocus {d:+g} µm ({name})")


def dfnn_stack_order(name: str | Path) -> int:
    """Position in the original z stack: ``…msecAbs0036`` → 36."""
    return int(_match(_DFNN_ORDER, name, "dfnn-lightsheet stack")["order"])


def parse_dfnn_stack(name: str | Path, *, in_focus_order: int = DFNN_STACK_IN_FOCUS,
                     step_um: float = DFNN_STACK_STEP_UM) -> float:
    """Signed defocus (µm) = (order − 51)·0.05: ``…Abs0036`` → −0.75.

    The upstream ReadMe writes "(51-order)*dz" but computes "(36-51)*0.05 = -0.75"; the worked
    example (and the shared data README) fix the sign used here.
    """
    return round((dfnn_stack_order(name) - in_focus_order) * step_um, 6)


def parse_reflected(name: str | Path) -> tuple[str, float]:
    """``(field, z offset µm)``: ``tile__ix000_iy001_zoff-7.2650um.tiff`` → ``("ix000_iy001", -7.265)``."""
    m = _match(_REFLECTED, name, "reflected-focus")
    return f"ix{m['ix']}_iy{m['iy']}", float(m["z"])


def parse_smear(name: str | Path) -> int:
    """Focus step of a smear-focus name: ``-9.bmp`` → −9 (step size in µm is not published)."""
    return int(_match(_SMEAR, name, "smear-focus")["step"])


def parse_bbbc006_plane(folder: str | Path) -> int:
    """z plane of a BBBC006 folder: ``BBBC006_v1_images_z_05`` → 5."""
    return int(_match(_BBBC_PLANE, Path(folder).name, "BBBC006 plane folder")["z"])


def bbbc006_field(name: str | Path) -> str:
    """Field and channel of a BBBC006 file: ``…_a01_s1_w1a571….tif`` or ``…__a01__s1__w1_10`` → ``a01_s1_w1``."""
    m = _match(_BBBC_FIELD, name, "BBBC006 file")
    return f"{m['well']}_{m['site']}_{m['ch']}"


def bbbc006_defocus(z: int, *, reference_plane: int = BBBC006_REFERENCE_PLANE,
                    step_um: float = BBBC006_STEP_UM) -> float:
    """Signed defocus (µm) of plane ``z``: (z − reference)·2 µm. The paper's "distance" is its |·|."""
    if not 0 <= z < BBBC006_PLANES:
        raise ValueError(f"BBBC006 planes are 0…{BBBC006_PLANES - 1}, got z={z}")
    return (z - reference_plane) * step_um


def bbbc006_plane_for_distance(distance_um: float, *,
                               reference_plane: int = BBBC006_REFERENCE_PLANE,
                               step_um: float = BBBC006_STEP_UM, side: str = "lower") -> int:
    """Input plane for a paper distance: 10/16/22/28/34 µm → z12/z09/z06/z03/z00 (lower side of z17)."""
    steps = distance_um / step_um
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"distance {distance_um} µm is not a multiple of the "
                         f"{step_um} µm z step")
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    z = reference_plane + (-1 if side == "lower" else 1) * int(round(steps))
    if not 0 <= z < BBBC006_PLANES:
        raise ValueError(f"distance {distance_um} µm on the {side} side of z{reference_plane} "
                         f"gives z{z}, outside 0…{BBBC006_PLANES - 1}")
    return z


def parse_sem_defocus(name: str | Path) -> float:
    """Absolute defocus (µm) of a sem-defocus-series name (nm in the name): base −13.324, ±5."""
    m = _match(_SEM, name, "sem-defocus-series")
    return (int(m["base"]) + int(m["pert"] or 0)) / 1000.0


#: scheme → name parser returning ``(signed defocus, unit)``.
PARSERS: dict[str, Callable[[str], tuple[float, str]]] = {
    "dfnn-lightsheet-single": lambda n: (parse_dfnn_single(n), "µm"),
    "dfnn-lightsheet-stack": lambda n: (parse_dfnn_stack(n), "µm"),
    "reflected-focus": lambda n: (parse_reflected(n)[1], "µm"),
    "smear-focus": lambda n: (float(parse_smear(n)), "step"),
    "bbbc006": lambda n: (bbbc006_defocus(parse_bbbc006_plane(Path(n).parent.name or n)), "µm"),
    "sem-defocus-series": lambda n: (parse_sem_defocus(n), "µm"),
}


def parse_defocus(name: str | Path, scheme: str) -> tuple[float, str]:
    """``(signed defocus, unit)`` of a file name under a naming ``scheme`` (a key of :data:`PARSERS`).

    For ``"bbbc006"`` pass the plane folder (or ``folder/file``).

    >>> parse_defocus("tile__ix000_iy001_zoff-7.2650um.tiff", "reflected-focus")
    (-7.265, 'µm')
    """
    if scheme not in PARSERS:
        raise ValueError(f"unknown naming scheme {scheme!r}; known: {sorted(PARSERS)}")
    return PARSERS[scheme](str(name))


# --------------------------------------------------------------------------- series


@dataclass
class FocusSeries:
    """Defocused planes of one field plus the in-focus reference(s).

    Attributes:
        planes: defocused images, float32 ``(H, W)`` or ``(H, W, 3)`` in [0, 1], sorted by defocus.
        defocus: ``(P,)`` signed defocus of each plane in ``unit`` (µm, or ``"step"``).
        names: file name (relative to ``source``) of each plane.
        references: ``{file name: in-focus image}`` (empty for a series without a sharp plane).
        reference_for: per plane, the key in ``references`` that is its ground truth.
        unit, dataset, field, source: unit of ``defocus``, data-set name, field id, folder.
        data_range: source values mapped onto [0, 1] (shared by all planes).
        notes: caveats (e.g. unknown step size).
    """

    planes: list[np.ndarray]
    defocus: np.ndarray
    names: list[str]
    references: dict[str, np.ndarray]
    reference_for: list[str]
    unit: str = "µm"
    dataset: str = ""
    field: str = ""
    source: Path | None = None
    data_range: tuple[float, float] = (0.0, 1.0)
    notes: str = ""

    def __post_init__(self) -> None:
        self.defocus = np.asarray(self.defocus, np.float64)
        n = len(self.planes)
        if not (len(self.defocus) == len(self.names) == len(self.reference_for) == n):
            raise ValueError(f"{self.dataset}: planes, defocus, names and reference_for differ in "
                             f"length ({n}, {len(self.defocus)}, {len(self.names)}, "
                             f"{len(self.reference_for)})")
        bad = {r for r in self.reference_for if r and r not in self.references}
        if bad:
            raise ValueError(f"{self.dataset}: unknown reference(s) {sorted(bad)}")
        shapes = {a.shape for a in list(self.planes) + list(self.references.values())}
        if len(shapes) > 1:
            raise ValueError(f"{self.dataset} {self.field}: images differ in shape "
                             f"{sorted(shapes)}")

    def __len__(self) -> int:
        return len(self.planes)

    @property
    def reference(self) -> np.ndarray:
        """The in-focus reference when there is exactly one (else see :meth:`reference_of`)."""
        if len(self.references) != 1:
            raise ValueError(f"{self.dataset} has {len(self.references)} references "
                             f"({', '.join(self.references) or 'none'}); use reference_of(i)")
        return next(iter(self.references.values()))

    def reference_of(self, index: int) -> np.ndarray:
        """Ground truth of plane ``index``."""
        key = self.reference_for[index]
        if not key:
            raise ValueError(f"{self.dataset}: plane {self.names[index]} has no in-focus reference")
        return self.references[key]

    def stack(self) -> np.ndarray:
        """Planes as one array ``(P, H, W[, C])``."""
        return np.stack(self.planes)

    def rescaled(self, percentile: float = 99.9) -> FocusSeries:
        """Copy with every image divided by one factor: the ``percentile`` of the references.

        Dim data (dfnn: uint16 values below ~600) then fill [0, 1]; one common factor keeps the
        intensity relation between planes and reference. Values above 1 are clipped.
        """
        pool = list(self.references.values()) or self.planes
        factor = float(np.percentile(np.concatenate([a.ravel() for a in pool]), percentile))
        if factor <= 0:
            raise ValueError(f"{self.dataset}: the references are black; cannot rescale")
        scale = lambda a: np.clip(a / factor, 0, 1).astype(np.float32)  # noqa: E731
        lo, hi = self.data_range
        return replace(self, planes=[scale(a) for a in self.planes],
                       references={k: scale(v) for k, v in self.references.items()},
                       data_range=(lo, lo + (hi - lo) * factor))


def _files(folder: Path, pattern: str) -> list[Path]:
    files = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not files:
        raise FileNotFoundError(f"no files matching {pattern!r} in {folder}")
    return files


def _root(root: str | Path | None, *default: str) -> Path:
    path = Path(root) if root is not None else require_data(*default)
    if not path.is_dir():
        raise FileNotFoundError(f"focus-series folder not found: {path}")
    return path


def _series(dataset: str, root: Path, entries: list[tuple[float, str, np.ndarray, str]],
            references: dict[str, np.ndarray], meta: Any, **kw: Any) -> FocusSeries:
    entries.sort(key=lambda e: (e[0], e[1]))
    return FocusSeries(planes=[e[2] for e in entries], defocus=[e[0] for e in entries],
                       names=[e[1] for e in entries], references=references,
                       reference_for=[e[3] for e in entries], dataset=dataset, source=root,
                       data_range=tuple(meta.data_range) if meta else (0.0, 1.0), **kw)


def load_dfnn_single(root: str | Path | None = None, *, grey: bool = False,
                     scale: str | float = "dtype") -> FocusSeries:
    """dfnn-lightsheet single-shot set: 14 planes ±0.1…±0.7 µm, references ``ON`` and ``ON(1)``.

    Each plane gets the reference the upstream ReadMe assigns (:func:`dfnn_single_reference`).
    Images are uint16 800×512 with values below ~600: see :meth:`FocusSeries.rescaled`.
    """
    root = _root(root, "dfnn-lightsheet", "microtubules", "single")
    refs: dict[str, np.ndarray] = {}
    tags: dict[str, str] = {}
    entries, meta = [], None
    for path in _files(root, "*.tif"):
        d = parse_dfnn_single(path.name)
        img, meta = read_image(path, grey=grey, scale=scale)
        if d == 0.0:
            refs[path.name] = img
            tags[_DFNN_ON.search(path.stem)[0]] = path.name
        else:
            entries.append((d, path.name, img, dfnn_single_reference(path.name)))
    missing = {e[3] for e in entries} - set(tags)
    if missing:
        raise FileNotFoundError(f"{root}: in-focus image(s) {sorted(missing)} not found")
    entries = [(d, n, img, tags[t]) for d, n, img, t in entries]
    return _series("dfnn-lightsheet-single", root, entries, refs, meta, field="cell11")


def load_dfnn_stack(root: str | Path | None = None, *, grey: bool = False,
                    scale: str | float = "dtype", in_focus_order: int = DFNN_STACK_IN_FOCUS,
                    step_um: float = DFNN_STACK_STEP_UM) -> FocusSeries:
    """dfnn-lightsheet z stack: 31 planes (orders 36…66), defocus (order − 51)·0.05 µm, ref order 51."""
    root = _root(root, "dfnn-lightsheet", "microtubules", "stack")
    refs: dict[str, np.ndarray] = {}
    entries, meta = [], None
    for path in _files(root, "*.tif"):
        d = parse_dfnn_stack(path.name, in_focus_order=in_focus_order, step_um=step_um)
        img, meta = read_image(path, grey=grey, scale=scale)
        if dfnn_stack_order(path.name) == in_focus_order:
            refs[path.name] = img
        else:
            entries.append((d, path.name, img, ""))
    if len(refs) != 1:
        raise FileNotFoundError(f"{root}: expected one in-focus plane (order {in_focus_order}), "
                                f"found {len(refs)}")
    ref = next(iter(refs))
    entries = [(d, n, img, ref) for d, n, img, _ in entries]
    return _series("dfnn-lightsheet-stack", root, entries, refs, meta, field="cell11")


def reflected_focus_fields(root: str | Path | None = None) -> list[str]:
    """Fields (``"ix000_iy000"``, …) of the reflected-focus folder."""
    root = _root(root, "reflected-focus")
    return sorted({parse_reflected(p.name)[0] for p in _files(root, "tile__*.tif*")})


def load_reflected_focus(root: str | Path | None = None, *, field: str | None = None,
                         grey: bool = False, scale: str | float = "dtype") -> FocusSeries:
    """One field of reflected-focus (RGB uint8 1920×1200): 10 planes, reference ``zoff0um``.

    ``field=None`` takes the first field (:func:`reflected_focus_fields`). An RGB field holds
    ~300 MB as float32; ``grey=True`` needs a third.
    """
    root = _root(root, "reflected-focus")
    fields = reflected_focus_fields(root)
    field = fields[0] if field is None else field
    if field not in fields:
        raise ValueError(f"unknown reflected-focus field {field!r}; available: {fields}")
    refs: dict[str, np.ndarray] = {}
    entries, meta = [], None
    for path in _files(root, "tile__*.tif*"):
        f, z = parse_reflected(path.name)
        if f != field:
            continue
        img, meta = read_image(path, grey=grey, scale=scale)
        if z == 0.0:
            refs[path.name] = img
        else:
            entries.append((z, path.name, img, ""))
    if len(refs) != 1:
        raise FileNotFoundError(f"{root}: field {field} needs one zoff0um reference, "
                                f"found {len(refs)}")
    ref = next(iter(refs))
    entries = [(d, n, img, ref) for d, n, img, _ in entries]
    return _series("reflected-focus", root, entries, refs, meta, field=field)


def _centre_crop(image: np.ndarray, h: int, w: int) -> np.ndarray:
    y, x = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[y:y + h, x:x + w]


def load_smear_focus(root: str | Path | None = None, *, grey: bool = False,
                     scale: str | float = "dtype", register: bool = False,
                     max_shift_px: float = 8) -> FocusSeries:
    """smear-focus: 18 planes ``-9``…``9`` around ``0.bmp`` (best focus), unit "step".

    The planes differ by up to ~30 px in size; all are centre-cropped to the common size (the
    crops then agree to ~2 px). ``register=True`` also shifts each plane onto ``0.bmp``.
    """
    root = _root(root, "smear-focus")
    raw, meta = [], None
    for path in _files(root, "*.bmp"):
        img, meta = read_image(path, grey=grey, scale=scale)
        raw.append((parse_smear(path.name), path.name, img))
    h = min(img.shape[0] for *_, img in raw)
    w = min(img.shape[1] for *_, img in raw)
    refs = {n: _centre_crop(img, h, w) for s, n, img in raw if s == 0}
    if len(refs) != 1:
        raise FileNotFoundError(f"{root}: expected one best-focus plane 0.bmp, found {len(refs)}")
    ref_name, ref = next(iter(refs.items()))
    entries = []
    for s, n, img in raw:
        if s == 0:
            continue
        plane = _centre_crop(img, h, w)
        if register:
            plane, _ = register_pair(plane, ref, max_shift_px=max_shift_px, name=f"{root / n}")
        entries.append((float(s), n, plane, ref_name))
    return _series("smear-focus", root, entries, refs, meta, unit="step", field="smear",
                   notes="focus step size in µm is not published; defocus is in steps")


def _bbbc006_planes(root: Path) -> dict[int, Path]:
    planes = {}
    for d in sorted(root.iterdir()):
        if d.is_dir() and _BBBC_PLANE.search(d.name):
            planes[parse_bbbc006_plane(d.name)] = d
    if not planes:
        raise FileNotFoundError(f"{root}: no BBBC006_v1_images_z_XX folders (get BBBC006 from "
                                f"https://bbbc.broadinstitute.org/BBBC006)")
    return planes


def _bbbc006_root(root: str | Path | None) -> Path:
    if root is not None:
        return _root(root)
    return require_data("bbbc006")  # the catalog's folder name


def bbbc006_fields(root: str | Path | None = None, *,
                   reference_plane: int = BBBC006_REFERENCE_PLANE) -> list[str]:
    """Field ids (``"a01_s1_w1"``, …) present in the reference plane's folder."""
    root = _bbbc006_root(root)
    planes = _bbbc006_planes(root)
    if reference_plane not in planes:
        raise FileNotFoundError(f"{root}: reference plane folder z_{reference_plane:02d} missing")
    return sorted(bbbc006_field(p.name) for p in _files(planes[reference_plane], "*.tif"))


def load_bbbc006(root: str | Path | None = None, *, field: str | None = None,
                 reference_plane: int = BBBC006_REFERENCE_PLANE, step_um: float = BBBC006_STEP_UM,
                 planes: Sequence[int] | None = None, scale: str | float = 4095.0) -> FocusSeries:
    """One field of the full BBBC006 set: planes z00…z33 around ``reference_plane`` (default 17).

    Defocus = (z − reference)·2 µm (METHODS §5.3). Files are matched across plane folders by
    their field id (well, site, channel), read as 12-bit data (``scale=4095``).
    """
    root = _bbbc006_root(root)
    folders = _bbbc006_planes(root)
    fields = bbbc006_fields(root, reference_plane=reference_plane)
    field = fields[0] if field is None else field
    if field not in fields:
        raise ValueError(f"unknown BBBC006 field {field!r}; e.g. {fields[:5]}")
    wanted = sorted(folders) if planes is None else list(planes)
    refs: dict[str, np.ndarray] = {}
    entries, meta = [], None
    for z in sorted(set(wanted) | {reference_plane}):
        if z not in folders:
            raise FileNotFoundError(f"{root}: plane folder BBBC006_v1_images_z_{z:02d} missing")
        hits = [p for p in _files(folders[z], "*.tif") if bbbc006_field(p.name) == field]
        if len(hits) != 1:
            raise FileNotFoundError(f"{folders[z]}: expected one file of field {field}, "
                                    f"found {len(hits)}")
        img, meta = read_image(hits[0], grey=True, scale=scale)
        name = f"{folders[z].name}/{hits[0].name}"
        if z == reference_plane:
            refs[name] = img
        else:
            entries.append((bbbc006_defocus(z, reference_plane=reference_plane, step_um=step_um),
                            name, img, ""))
    ref = next(iter(refs))
    entries = [(d, n, img, ref) for d, n, img, _ in entries]
    return _series("bbbc006", root, entries, refs, meta, field=field)


def bbbc006_pairs(root: str | Path | None = None, distance_um: float = 10.0, *,
                  reference_plane: int = BBBC006_REFERENCE_PLANE, side: str = "lower",
                  **kwargs: Any) -> PairedFolder:
    """The paper's per-distance training pairs: every field of plane z(distance) vs the reference.

    Items are named by field (``a01_s1_w1``) and grouped by well+site, so both channels of a field
    stay in one split. ``kwargs`` go to :class:`~deblurlab.datasets.PairedFolder`.
    """
    root = _bbbc006_root(root)
    folders = _bbbc006_planes(root)
    z = bbbc006_plane_for_distance(distance_um, reference_plane=reference_plane, side=side)
    for plane in (z, reference_plane):
        if plane not in folders:
            raise FileNotFoundError(f"{root}: plane folder BBBC006_v1_images_z_{plane:02d} missing")
    kwargs.setdefault("scale", 4095.0)
    kwargs.setdefault("group", r"^([a-p]\d{2}_s\d+)")
    return PairedFolder(folders[z], folders[reference_plane], match=bbbc006_field, **kwargs)


def bbbc006_sample_pairs(root: str | Path | None = None, *, register: bool = True,
                         max_shift_px: float = 8, scale: str | float = 4095.0) -> PairList:
    """Real pairs in ``bbbc006-samples`` (defocused TIFF vs in-focus PNG of the same field).

    Only ``a01_s1_w1`` has both. Its defocused plane is very blurred (blur disk radius ~20 px),
    so the shift is poorly defined: un-windowed phase correlation reports ≈(4.2, 0) px, windowed
    plain cross-correlation (used here) (−1.0, 1.2) px, nucleus centroids ≈(−0.2, 0.1) px. On the
    in-focus image blurred with a 12 / 20 px disk and shifted, the estimator used here is off by
    ≤0.35 / ≤1 px. ``register=True`` applies the estimate; the item's ``"shift"`` records it.
    """
    root = _root(root, "bbbc006-samples")
    blur = {bbbc006_field(p.name): p for p in _files(root / "defocused", "*.tif")}
    sharp = {bbbc006_field(p.name): p for p in _files(root / "in-focus", "*.png")}
    items = []
    for key in sorted(set(blur) & set(sharp)):
        b, _ = read_image(blur[key], grey=True, scale=scale)
        s, meta = read_image(sharp[key], grey=True, scale=scale)
        items.append(make_item(b, s, name=key, group=key.rsplit("_", 1)[0],
                               data_range=meta.data_range, register=register,
                               max_shift_px=max_shift_px,
                               describe=f"{blur[key]} and {sharp[key]}"))
    if not items:
        raise FileNotFoundError(f"{root}: no field has both a defocused and an in-focus image")
    return PairList(items)


def load_sem_defocus_series(root: str | Path | None = None, *, grey: bool = True,
                            scale: str | float = "dtype") -> FocusSeries:
    """sem-defocus-series: 3 SEM planes at −18.3, −13.3, −8.3 µm; none is sharp (no reference)."""
    root = _root(root, "sem-defocus-series")
    entries, meta, fields = [], None, set()
    for path in _files(root, "*.png"):
        img, meta = read_image(path, grey=grey, scale=scale)
        fields.add(_match(_SEM, path.name, "sem-defocus-series")["field"])
        entries.append((parse_sem_defocus(path.name), path.name, img, ""))
    return _series("sem-defocus-series", root, entries, {}, meta, field="/".join(sorted(fields)),
                   notes="no in-focus plane: usable for blind deblurring or sharpness curves only")


#: data-set name → loader.
FOCUS_SETS: dict[str, Callable[..., FocusSeries]] = {
    "dfnn-lightsheet-single": load_dfnn_single,
    "dfnn-lightsheet-stack": load_dfnn_stack,
    "reflected-focus": load_reflected_focus,
    "smear-focus": load_smear_focus,
    "bbbc006": load_bbbc006,
    "sem-defocus-series": load_sem_defocus_series,
}


def detect_focus_set(folder: str | Path) -> str:
    """Name of the focus set whose naming scheme the files in ``folder`` follow."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"focus-series folder not found: {folder}")
    entries = sorted(p.name for p in folder.iterdir())
    if any(_BBBC_PLANE.search(n) for n in entries):
        return "bbbc006"
    stems = [_stem(n) for n in entries if Path(n).suffix.lower() in IMAGE_EXTENSIONS]
    checks = [("dfnn-lightsheet-stack", _DFNN_ORDER), ("dfnn-lightsheet-single", _DFNN_OFF),
              ("reflected-focus", _REFLECTED), ("smear-focus", _SMEAR),
              ("sem-defocus-series", _SEM)]
    for name, pattern in checks:
        if stems and all(pattern.search(s) or (name.endswith("single") and _DFNN_ON.search(s))
                         for s in stems):
            return name
    raise ValueError(f"{folder}: file names follow none of the known focus-series schemes "
                     f"({', '.join(FOCUS_SETS)})")


def load_focus_series(name_or_path: str | Path, **kwargs: Any) -> FocusSeries:
    """Load a focus series by data-set name (:data:`FOCUS_SETS`) or from a folder.

    A folder's naming scheme is detected (:func:`detect_focus_set`). ``kwargs`` go to the loader,
    e.g. ``field="ix000_iy001"`` for reflected-focus, ``register=True`` for smear-focus.

    >>> s = load_focus_series("reflected-focus", field="ix000_iy001", grey=True)  # doctest: +SKIP
    >>> s.defocus[:3], s.unit                                                    # doctest: +SKIP
    """
    key = str(name_or_path)
    if key in FOCUS_SETS:
        return FOCUS_SETS[key](**kwargs)
    path = Path(name_or_path)
    if not path.is_dir():
        raise ValueError(f"{key!r} is neither a focus set ({', '.join(FOCUS_SETS)}) nor a folder")
    return FOCUS_SETS[detect_focus_set(path)](root=path, **kwargs)


#: The real focus series the notebooks compare (a data-set name → what it shows).
REAL_SERIES_KINDS = {"dfnn-lightsheet": "light-sheet fluorescence",
                     "reflected-focus": "reflected light, wafer",
                     "smear-focus": "brightfield smear"}


def available_real_series(names: Sequence[str] = tuple(REAL_SERIES_KINDS)
                          ) -> dict[str, tuple[str, FocusSeries]]:
    """Every real focus series of ``names`` found under the data root, grey, by display name.

    ``dfnn-lightsheet`` is the 30-plane stack rescaled to fill [0, 1]
    (:meth:`FocusSeries.rescaled`); ``reflected-focus`` gives one series per field
    (``"reflected ix000_iy000"``, …); ``smear-focus`` is in focus *steps*. Missing data sets are
    left out (the result may be empty).

    Returns:
        ``{display name: (kind, series)}`` in the order of ``names``.

    Raises:
        ValueError: a name that is not one of :data:`REAL_SERIES_KINDS`.
    """
    unknown = sorted(set(names) - set(REAL_SERIES_KINDS))
    if unknown:
        raise ValueError(f"unknown focus series {unknown}; choose from {sorted(REAL_SERIES_KINDS)}")
    found: dict[str, tuple[str, FocusSeries]] = {}
    for name in names:
        if data_path(name) is None:
            continue
        kind = REAL_SERIES_KINDS[name]
        if name == "dfnn-lightsheet":
            found[name] = (kind, load_dfnn_stack(grey=True).rescaled())
        elif name == "reflected-focus":
            for field in reflected_focus_fields():
                found[f"reflected {field}"] = (kind, load_reflected_focus(field=field, grey=True))
        else:
            found[name] = (kind, load_smear_focus(grey=True))
    return found


# --------------------------------------------------------------------------- pairs


class FocusPairs(PairedDataset):
    """(defocused plane, in-focus reference) pairs of one or more focus series.

    Items are those of :class:`~deblurlab.datasets.PairedFolder` plus ``"defocus"``, ``"unit"``
    and ``"reference"`` (the reference's name), so crops, tiles and splits work unchanged.

    Args:
        series: one series or several (e.g. both reflected-focus fields).
        register: shift each plane onto its reference (refusing shifts > ``max_shift_px``).
        defocus: keep only planes with these defocus values (in the series' unit).
        group: ``"field"`` (all planes of a field in one group: they show the same scene) or
            ``"defocus"`` (one group per defocus value, for per-distance evaluation).
    """

    def __init__(self, series: FocusSeries | Sequence[FocusSeries], *, register: bool = False,
                 max_shift_px: float = 8, upsample_factor: int = 10,
                 defocus: Sequence[float] | None = None, group: str = "field",
                 trim: bool = False) -> None:
        self.series = [series] if isinstance(series, FocusSeries) else list(series)
        if group not in ("field", "defocus"):
            raise ValueError(f"group must be 'field' or 'defocus', got {group!r}")
        self._entries: list[tuple[int, int]] = []
        for si, s in enumerate(self.series):
            if not s.references:
                raise ValueError(f"focus series {s.dataset} ({s.source}) has no in-focus reference; "
                                 "it cannot be paired")
            for pi, d in enumerate(s.defocus):
                if defocus is None or np.any(np.isclose(d, defocus)):
                    self._entries.append((si, pi))
        if not self._entries:
            raise ValueError(f"no plane with defocus in {list(defocus or [])}")
        names = [self.series[si].names[pi] for si, pi in self._entries]
        if len(set(names)) < len(names):  # same file names in several series
            names = [f"{self.series[si].field}/{n}" for (si, _), n in zip(self._entries, names)]
        self.names = names
        self._group = group
        self._kw = dict(register=register, max_shift_px=max_shift_px,
                        upsample_factor=upsample_factor, trim=trim)
        self._cache: dict[int, dict[str, Any]] = {}

    def item_group(self, index: int) -> str:
        si, pi = self._entries[self._check_index(index)]
        s = self.series[si]
        if self._group == "defocus":
            return f"{s.defocus[pi]:+g}{s.unit}"
        return f"{s.dataset}:{s.field}"

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        if index not in self._cache:
            si, pi = self._entries[index]
            s = self.series[si]
            where = f"{s.source / s.names[pi]} and {s.source / s.reference_for[pi]}" \
                if s.source else self.names[index]
            self._cache[index] = make_item(
                s.planes[pi], s.reference_of(pi), name=self.names[index],
                group=self.item_group(index), data_range=s.data_range, describe=where,
                defocus=float(s.defocus[pi]), unit=s.unit, reference=s.reference_for[pi],
                **self._kw)
        return dict(self._cache[index])
