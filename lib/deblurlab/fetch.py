"""Verified downloads and safe archive extraction.

* :func:`download` streams a URL (``http(s)://`` or ``file://``) to a temporary file beside the
  destination, checks size and sha256, then renames it into place. A destination that already
  verifies is reused, so re-running a notebook costs nothing.
* :func:`extract` unpacks zip and tar(.gz/.bz2/.xz) archives after checking *every* member: no
  absolute paths, no ``..``, no links that point outside the destination, no device files.
* :func:`serve_folder` serves a folder on ``127.0.0.1`` for a bounded time: a local mirror for
  tests and for labs without internet on the analysis machine.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> src = Path(tempfile.mkdtemp()) / "hello.txt"
>>> _ = src.write_bytes(b"hello")
>>> digest = sha256sum(src)
>>> out = download(src.as_uri(), src.with_name("copy.txt"), sha256=digest, progress=False)
>>> out.read_bytes()
b'hello'
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import re
import stat
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

__all__ = [
    "ChecksumError",
    "DownloadError",
    "UnsafeArchiveError",
    "download",
    "extract",
    "serve_folder",
    "sha256sum",
    "verify",
]

_CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-f]+")


class ChecksumError(ValueError):
    """A file's size or sha256 differs from the expected value (message has both)."""


class DownloadError(OSError):
    """A URL could not be fetched (message names the URL and the reason)."""


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the destination or is not a plain file/folder."""


def sha256sum(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "empty"
    >>> _ = p.write_bytes(b"")
    >>> sha256sum(p)[:16]
    'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(
    path: str | os.PathLike,
    *,
    sha256: str | None = None,
    size: int | None = None,
    sha256_prefix: str | None = None,
) -> str:
    """Check ``path`` against the expected size / sha256 / sha256 prefix; return its sha256.

    ``sha256_prefix`` is for files whose name carries only the first hex digits of their
    sha256 (torchvision's ``vgg19-dcbb9e9d.pth``): a weaker check, but the only one available.

    Raises
    ------
    ChecksumError
        Naming the file, the expected and the actual value.
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path)
    sha256, sha256_prefix = _check_hex(sha256, "sha256", 64), _check_hex(sha256_prefix, "sha256_prefix")
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(f"'{path}': size mismatch, expected {size} bytes, got {actual_size}")
    actual = sha256sum(path)
    if sha256 is not None and actual != sha256:
        raise ChecksumError(f"'{path}': sha256 mismatch, expected {sha256}, got {actual}")
    if sha256_prefix is not None and not actual.startswith(sha256_prefix):
        raise ChecksumError(
            f"'{path}': sha256 prefix mismatch, expected {sha256_prefix}…, got {actual}")
    return actual


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None,
    size: int | None = None,
    sha256_prefix: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` and verify it.

    Parameters
    ----------
    url : str
        ``http://``, ``https://`` or ``file://`` URL.
    dest : str or PathLike
        Target file; an existing folder means ``<folder>/<last part of the URL>``.
    sha256 : str or None
        Expected hex digest. Required as a keyword so that "unknown" is a deliberate ``None``.
    size : int, optional
        Expected size in bytes; checked against ``Content-Length`` before the transfer too.
    sha256_prefix : str, optional
        Leading hex digits of the sha256, when only those are published.
    progress : bool
        Show a tqdm progress bar.
    timeout : float
        Socket timeout in seconds.

    Returns
    -------
    Path
        ``dest``, holding the verified file. An existing file that verifies is reused without a
        transfer; one that does not is downloaded again.

    Raises
    ------
    DownloadError
        Network/HTTP failure. ChecksumError: size or sha256 differs (the download is deleted).
    """
    dest = Path(dest)
    _check_hex(sha256, "sha256", 64), _check_hex(sha256_prefix, "sha256_prefix")
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"download: unsupported URL {url!r} (use http, https or file)")
    if dest.is_dir():
        name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
        if not name:
            raise ValueError(f"download: cannot take a file name from {url!r}; give a file as dest")
        dest = dest / name
    if dest.is_file():
        try:  # with nothing to check against, an existing file is taken as it is
            verify(dest, sha256=sha256, size=size, sha256_prefix=sha256_prefix)
            return dest
        except ChecksumError:
            pass  # stale or partial copy from elsewhere: fetch a fresh one

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, size=size, progress=progress, timeout=timeout, label=dest.name)
        try:
            verify(tmp, sha256=sha256, size=size, sha256_prefix=sha256_prefix)
        except ChecksumError as exc:
            raise ChecksumError(f"download of {url} to '{dest}' failed verification: "
                                f"{str(exc).split(': ', 1)[1]}") from None
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _stream(url: str, out, *, size: int | None, progress: bool, timeout: float, label: str) -> None:
    from tqdm.auto import tqdm

    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - scheme checked
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot download {url}: {reason}") from exc
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else size
        if size is not None and total is not None and total != size:
            raise ChecksumError(f"download of {url}: server announces {total} bytes, "
                                f"expected {size}; not downloading")
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                  disable=not progress, leave=False) as bar:
            try:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
            except OSError as exc:
                raise DownloadError(f"cannot download {url}: transfer interrupted ({exc})") from exc


def _check_hex(value: str | None, name: str, length: int | None = None) -> str | None:
    if value is None:
        return None
    value = value.lower()
    if not _HEX.fullmatch(value) or (length is not None and len(value) != length):
        need = f"{length} hex digits" if length else "hex digits"
        raise ValueError(f"{name} must be {need}, got {value!r}")
    return value


# --------------------------------------------------------------------------------- archives


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> list[Path]:
    """Unpack a zip or tar(.gz/.bz2/.xz) archive into ``dest``, refusing unsafe members.

    All members are checked before anything is written, so a refused archive leaves ``dest``
    untouched. Refused: absolute paths, ``..`` components, symlinks or hardlinks whose target
    resolves outside ``dest``, device files and FIFOs; zip symlinks (zipfile cannot create
    them). The type is taken from the content, not the extension.

    Returns
    -------
    list of Path
        Extracted files and folders, in archive order.

    Raises
    ------
    UnsafeArchiveError
        Naming the archive and the offending member. ValueError: not a zip or tar archive.

    >>> import io, tarfile, tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> with tarfile.open(tmp / "a.tar.gz", "w:gz") as tar:
    ...     info = tarfile.TarInfo("data/x.txt"); info.size = 2
    ...     tar.addfile(info, io.BytesIO(b"hi"))
    >>> [p.relative_to(tmp / "out").as_posix() for p in extract(tmp / "a.tar.gz", tmp / "out")]
    ['data/x.txt']
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f"archive not found: '{archive}'")
    if zipfile.is_zipfile(archive):
        return _extract_zip(archive, dest)
    try:
        is_tar = tarfile.is_tarfile(archive)
    except (OSError, tarfile.TarError):
        is_tar = False
    if is_tar:
        return _extract_tar(archive, dest)
    raise ValueError(f"'{archive}' is neither a zip nor a tar archive")


def _inside(dest: Path, member: str, archive: Path) -> Path:
    """Target of ``member`` under ``dest``; refuse absolute names and ``..``."""
    name = member.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise UnsafeArchiveError(f"'{archive}': member '{member}' has an absolute path or '..'")
    target = (dest / name).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise UnsafeArchiveError(f"'{archive}': member '{member}' would land outside '{dest}'")
    return target


def _extract_zip(archive: Path, dest: Path) -> list[Path]:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        targets = []
        for info in infos:
            targets.append(_inside(dest, info.filename, archive))
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(f"'{archive}': member '{info.filename}' is a symlink; "
                                         "zip symlinks are not extracted")
        dest.mkdir(parents=True, exist_ok=True)
        for info in infos:
            try:
                zf.extract(info, dest)
            except zipfile.BadZipFile as exc:  # CRC mismatch: the download was damaged
                raise ValueError(f"'{archive}': member '{info.filename}' is corrupt ({exc})") from exc
    return targets


def _extract_tar(archive: Path, dest: Path) -> list[Path]:
    root = dest.resolve()
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        targets = []
        for m in members:
            target = _inside(dest, m.name, archive)
            if m.issym():
                if m.linkname.startswith("/"):
                    raise UnsafeArchiveError(
                        f"'{archive}': symlink '{m.name}' points to absolute path '{m.linkname}'")
                link_target = (target.parent / m.linkname).resolve()
                if not link_target.is_relative_to(root):
                    raise UnsafeArchiveError(
                        f"'{archive}': symlink '{m.name}' -> '{m.linkname}' points outside '{dest}'")
            elif m.islnk():
                _inside(dest, m.linkname, archive)  # hardlink names are relative to the root
            elif not (m.isfile() or m.isdir()):
                raise UnsafeArchiveError(
                    f"'{archive}': member '{m.name}' is a device file or FIFO, not extracted")
            targets.append(target)
        dest.mkdir(parents=True, exist_ok=True)
        # The "data" filter (Python >= 3.12, backported to 3.11.4 / 3.10.12) re-checks all of
        # the above and drops set-uid bits; older Pythons rely on the checks above.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - old Python
            tar.extractall(dest, members=members)
    return targets


# --------------------------------------------------------------------------------- local server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass


@contextlib.contextmanager
def serve_folder(folder: str | os.PathLike, *, max_seconds: float = 60.0) -> Iterator[str]:
    """Serve ``folder`` over HTTP on ``127.0.0.1`` (free port); yield its base URL.

    The server stops when the ``with`` block ends, and on its own after ``max_seconds`` so a
    forgotten server cannot outlive a test run.

    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = (tmp / "f.bin").write_bytes(b"abc")
    >>> with serve_folder(tmp, max_seconds=10) as base:
    ...     download(f"{base}/f.bin", tmp / "g.bin", sha256=None, progress=False).read_bytes()
    b'abc'
    """
    handler = functools.partial(_QuietHandler, directory=str(Path(folder).resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    def stop() -> None:  # idempotent: closing the socket makes late clients fail at once
        server.shutdown()
        server.server_close()

    timer = threading.Timer(max_seconds, stop)
    timer.daemon = True
    thread.start()
    timer.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        timer.cancel()
        stop()
        thread.join(timeout=5)
