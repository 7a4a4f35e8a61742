"""The data-set catalog (``data/catalog.json``): what each data set is, where it lives, how to get it.

Every data set the notebooks use, or that the reproduced papers use, has one entry: upstream
URL(s), licence, layout, the local folder name under ``DEBLURLAB_DATA`` and, where a direct
download exists, the files with size and sha256 (``null`` = unknown, never guessed).

Example
-------
>>> cat = load_catalog()
>>> e = entry("tem-fast-streams")
>>> e.licence, e.files[0].size
('CC BY 4.0', 629335440)
>>> local_path("midnet-sem")  # doctest: +SKIP
PosixPath('.../midnet-sem')

Command line::

    python -m deblurlab.catalog list
    python -m deblurlab.catalog info bbbc006
    python -m deblurlab.catalog fetch tem-fast-streams [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

from deblurlab import config
from deblurlab.fetch import download, extract

__all__ = [
    "CATALOG_PATH",
    "CatalogError",
    "DatasetEntry",
    "FileEntry",
    "NotDownloadableError",
    "UnknownDatasetError",
    "default_root",
    "entry",
    "fetch",
    "load_catalog",
    "local_path",
    "main",
]

#: The catalog shipped with the repository.
CATALOG_PATH = config.REPO_ROOT / "data" / "catalog.json"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class CatalogError(ValueError):
    """The catalog file is malformed (message names the file and the entry)."""


class UnknownDatasetError(LookupError):
    """No catalog entry has this name (message lists the valid names)."""

    def __str__(self) -> str:  # LookupError would print the message with quotes around it
        return str(self.args[0])


class NotDownloadableError(RuntimeError):
    """The data set has no direct download; the message says how to get it."""


@dataclass(frozen=True)
class FileEntry:
    """One downloadable file of a data set.

    ``size`` (bytes) and ``sha256`` are ``None`` when unknown; ``extract`` archives are unpacked
    into the data set's folder, other files are stored there as they are.
    """

    name: str
    url: str
    size: int | None = None
    sha256: str | None = None
    extract: bool = True
    note: str | None = None


@dataclass(frozen=True)
class DatasetEntry:
    """One data set: description, provenance, layout and (optional) download list."""

    name: str
    title: str
    modality: str
    papers: tuple[str, ...]
    upstream: tuple[str, ...]
    version: str | None
    licence: str
    folder: str
    layout: str
    files: tuple[FileEntry, ...]
    obtainable_offline: bool
    note: str | None
    how_to_get: str | None

    @property
    def downloadable(self) -> bool:
        """True when :func:`fetch` can get the data set by itself."""
        return bool(self.files)


# --------------------------------------------------------------------------------- loading

_REQUIRED = {"title": str, "modality": str, "papers": list, "upstream": list, "licence": str,
             "folder": str, "layout": str, "files": list, "obtainable_offline": bool}
_OPTIONAL = {"version": str, "note": str, "how_to_get": str}
_FILE_REQUIRED = {"name": str, "url": str}
_FILE_OPTIONAL = {"size": int, "sha256": str, "extract": bool, "note": str}


def load_catalog(path: str | os.PathLike | None = None) -> dict[str, DatasetEntry]:
    """Read and validate a catalog file (default: ``<repo>/data/catalog.json``).

    Returns
    -------
    dict
        name → :class:`DatasetEntry`, in file order.

    Raises
    ------
    CatalogError
        Unreadable JSON, missing or mistyped fields, unknown fields (typos), unsafe folder or
        file names, malformed sha256 — the message names the file and the entry.
    """
    path = Path(path) if path is not None else CATALOG_PATH
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"catalog not found: '{path}'") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"'{path}' is not valid JSON: {exc}") from None
    datasets = doc.get("datasets") if isinstance(doc, dict) else None
    if not isinstance(datasets, dict):
        raise CatalogError(f"'{path}': expected an object with a 'datasets' object")
    return {name: _parse_entry(name, raw, path) for name, raw in datasets.items()}


def _check_fields(raw: object, required: dict, optional: dict, where: str) -> dict:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected an object, got {type(raw).__name__}")
    unknown = set(raw) - set(required) - set(optional)
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)}")
    for key, kind in required.items():
        if key not in raw:
            raise CatalogError(f"{where}: missing field '{key}'")
    for key, value in raw.items():
        kind = required.get(key) or optional[key]
        if value is None and key in optional:
            continue
        # bool is an int subclass: a size of `true` must not pass as 1
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CatalogError(f"{where}: field '{key}' must be {kind.__name__}, got {value!r}")
    return raw


def _parse_entry(name: str, raw: object, path: Path) -> DatasetEntry:
    where = f"'{path}', data set '{name}'"
    if not _SAFE_NAME.fullmatch(name):
        raise CatalogError(f"{where}: name must be letters, digits, '.', '_' or '-'")
    raw = _check_fields(raw, _REQUIRED, _OPTIONAL, where)
    if not _SAFE_NAME.fullmatch(raw["folder"]):
        raise CatalogError(f"{where}: folder {raw['folder']!r} must be one plain folder name")
    files = []
    for i, rf in enumerate(raw["files"]):
        fw = f"{where}, files[{i}]"
        rf = _check_fields(rf, _FILE_REQUIRED, _FILE_OPTIONAL, fw)
        if not _SAFE_NAME.fullmatch(rf["name"]):
            raise CatalogError(f"{fw}: name {rf['name']!r} must be a plain file name")
        sha = rf.get("sha256")
        if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise CatalogError(f"{fw}: sha256 must be 64 lower-case hex digits or null")
        if rf.get("size") is not None and rf["size"] <= 0:
            raise CatalogError(f"{fw}: size must be positive or null")
        files.append(FileEntry(**{f.name: rf[f.name] for f in fields(FileEntry) if f.name in rf}))
    return DatasetEntry(
        name=name, title=raw["title"], modality=raw["modality"], papers=tuple(raw["papers"]),
        upstream=tuple(raw["upstream"]), version=raw.get("version"), licence=raw["licence"],
        folder=raw["folder"], layout=raw["layout"], files=tuple(files),
        obtainable_offline=raw["obtainable_offline"], note=raw.get("note"),
        how_to_get=raw.get("how_to_get"),
    )


def entry(name: str, *, catalog: str | os.PathLike | None = None) -> DatasetEntry:
    """The catalog entry ``name``; an unknown name raises an error listing the valid ones."""
    entries = load_catalog(catalog)
    try:
        return entries[name]
    except KeyError:
        raise UnknownDatasetError(
            f"no data set named {name!r} in the catalog; valid names: {', '.join(entries)}"
        ) from None


def local_path(name: str, *, catalog: str | os.PathLike | None = None) -> Path | None:
    """``DEBLURLAB_DATA/<folder>`` of data set ``name`` if it exists there, else ``None``."""
    return config.data_path(entry(name, catalog=catalog).folder)


def default_root() -> Path:
    """Where :func:`fetch` puts data: ``DEBLURLAB_DATA``, else ``<repo>/data/downloads``."""
    return config.data_root() or config.REPO_ROOT / "data" / "downloads"


# --------------------------------------------------------------------------------- fetching


def fetch(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    catalog: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack data set ``name`` into ``<root>/<folder>``.

    Archives are kept in ``<root>/<folder>/.downloads`` so a second call neither downloads
    nor unpacks again. Files without a known sha256 are fetched with a warning.

    Parameters
    ----------
    name : str
        Catalog name (see ``python -m deblurlab.catalog list``).
    root : path, optional
        Data root; default :func:`default_root`.
    catalog : path, optional
        Another catalog file (tests, private mirrors).
    progress : bool
        Show download progress bars.

    Returns
    -------
    Path
        The data set's folder.

    Raises
    ------
    NotDownloadableError
        No direct download exists; the message says how to get the data.
    deblurlab.fetch.ChecksumError, deblurlab.fetch.DownloadError
        A file failed verification (it is deleted) or could not be fetched.
    """
    e = entry(name, catalog=catalog)
    if not e.files:
        upstream = ", ".join(e.upstream) or "unknown"
        raise NotDownloadableError(
            f"data set {name!r} has no direct download. {e.how_to_get or ''} "
            f"Upstream: {upstream}.".replace("  ", " "))
    base = Path(root) if root is not None else default_root()
    target = base / e.folder
    try:
        (target / ".downloads").mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # same exception class, with the way out in the message
        raise type(exc)(
            f"cannot write data set {name!r} under '{base}' ({exc.strerror}); pass root=... or "
            f"point {config.DATA_ENV} at a writable folder") from exc
    unverified = [f.name for f in e.files if f.sha256 is None]
    if unverified:  # one warning, not one per file (bbbc006 has 34)
        shown = ", ".join(unverified[:3]) + (", …" if len(unverified) > 3 else "")
        warnings.warn(f"{name}: sha256 unknown for {len(unverified)} file(s) ({shown}); "
                      "those are checked by size only where a size is known", stacklevel=2)
    for f in e.files:
        dest = (target / ".downloads" if f.extract else target) / f.name
        path = download(f.url, dest, sha256=f.sha256, size=f.size, progress=progress)
        if f.extract:
            _extract_once(path, target)
    return target


def _extract_once(archive: Path, target: Path) -> None:
    """Unpack ``archive`` unless a stamp says this very file was unpacked already."""
    stamp_file = archive.with_name(archive.name + ".extracted")
    st = archive.stat()
    stamp = f"{st.st_size} {st.st_mtime_ns}"
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return
    extract(archive, target)
    stamp_file.write_text(stamp)


# --------------------------------------------------------------------------------- CLI


def _describe(e: DatasetEntry) -> str:
    lines = [f"{e.name}: {e.title}", f"  modality   {e.modality}",
             f"  papers     {', '.join(e.papers) or '-'}", f"  upstream   {', '.join(e.upstream)}"]
    if e.version:
        lines.append(f"  version    {e.version}")
    local = config.data_path(e.folder)
    lines += [f"  licence    {e.licence}",
              f"  folder     $DEBLURLAB_DATA/{e.folder}  ({local or 'not present'})",
              f"  offline    {'yes' if e.obtainable_offline else 'no'}",
              f"  layout     {e.layout}"]
    for f in e.files:
        size = f"{f.size:,} B" if f.size is not None else "size unknown"
        lines.append(f"  file       {f.name}  {size}  sha256 {f.sha256 or 'unknown'}  {f.url}")
    if e.note:
        lines.append(f"  note       {e.note}")
    if e.how_to_get:
        lines.append(f"  get it     {e.how_to_get}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m deblurlab.catalog list | info NAME | fetch NAME [--root DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m deblurlab.catalog", description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", help="catalog file (default: data/catalog.json)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="one line per data set")
    info = sub.add_parser("info", help="everything known about one data set")
    info.add_argument("name")
    get = sub.add_parser("fetch", help="download, verify and unpack one data set")
    get.add_argument("name")
    get.add_argument("--root", help=f"data root (default: ${config.DATA_ENV} or data/downloads)")
    get.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            entries = load_catalog(args.catalog)
            width = max(map(len, entries))
            print(f"{'name':<{width}}  {'local':<5}  {'get':<8}  title")
            for e in entries.values():
                local = "yes" if config.data_path(e.folder) else "-"
                how = "fetch" if e.downloadable else ("offline" if e.obtainable_offline else "manual")
                print(f"{e.name:<{width}}  {local:<5}  {how:<8}  {e.title}")
        elif args.command == "info":
            print(_describe(entry(args.name, catalog=args.catalog)))
        else:
            path = fetch(args.name, root=args.root, catalog=args.catalog,
                         progress=not args.no_progress)
            print(path)
    except (LookupError, CatalogError, NotDownloadableError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
