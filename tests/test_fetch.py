"""deblurlab.fetch: verified downloads (file:// and a local HTTP server) and safe extraction."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
import zipfile

import pytest

from deblurlab.fetch import (
    ChecksumError,
    DownloadError,
    UnsafeArchiveError,
    download,
    extract,
    serve_folder,
    sha256sum,
    verify,
)

PAYLOAD = b"deblurlab test payload\n" * 1000
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path):
    """A folder ``srv`` holding ``payload.bin``."""
    srv = tmp_path / "srv"
    srv.mkdir()
    (srv / "payload.bin").write_bytes(PAYLOAD)
    return srv


@pytest.fixture
def server(source):
    with serve_folder(source, max_seconds=30) as base:
        yield base


def test_sha256sum_and_verify(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert sha256sum(path) == DIGEST
    assert verify(path, sha256=DIGEST.upper(), size=len(PAYLOAD), sha256_prefix=DIGEST[:8]) == DIGEST
    with pytest.raises(ChecksumError, match=rf"size mismatch, expected 5 bytes, got {len(PAYLOAD)}"):
        verify(path, size=5)
    with pytest.raises(ChecksumError, match=rf"expected {'0' * 64}, got {DIGEST}"):
        verify(path, sha256="0" * 64)
    with pytest.raises(ChecksumError, match="prefix mismatch, expected deadbeef"):
        verify(path, sha256_prefix="deadbeef")
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits"):
        verify(path, sha256="abc")


def test_download_file_url(source, tmp_path):
    out = download((source / "payload.bin").as_uri(), tmp_path / "a" / "b.bin", sha256=DIGEST,
                   size=len(PAYLOAD), progress=False)
    assert out == tmp_path / "a" / "b.bin" and out.read_bytes() == PAYLOAD


def test_download_http_into_folder_with_progress(server, tmp_path):
    dest = tmp_path / "dl"
    dest.mkdir()
    out = download(f"{server}/payload.bin", dest, sha256=DIGEST, size=len(PAYLOAD), progress=True)
    assert out == dest / "payload.bin" and out.read_bytes() == PAYLOAD
    assert not list(dest.glob("*.part"))


def test_download_checksum_mismatch_deletes_file(server, tmp_path):
    dest = tmp_path / "bad.bin"
    wrong = "f" * 64
    with pytest.raises(ChecksumError, match=rf"payload.bin.*expected {wrong}, got {DIGEST}"):
        download(f"{server}/payload.bin", dest, sha256=wrong, progress=False)
    assert not dest.exists() and not list(tmp_path.glob("*.part"))


def test_download_size_mismatch_announced_by_server(server, tmp_path):
    with pytest.raises(ChecksumError, match=rf"announces {len(PAYLOAD)} bytes, expected 10"):
        download(f"{server}/payload.bin", tmp_path / "x.bin", sha256=None, size=10, progress=False)
    assert not (tmp_path / "x.bin").exists()


def test_download_size_mismatch_file_url(source, tmp_path):
    # file:// also announces a length; a wrong size never leaves a file behind
    with pytest.raises(ChecksumError, match="expected 3"):
        download((source / "payload.bin").as_uri(), tmp_path / "x.bin", sha256=None, size=3,
                 progress=False)
    assert not (tmp_path / "x.bin").exists()


def test_existing_verified_file_is_reused_without_network(tmp_path):
    dest = tmp_path / "have.bin"
    dest.write_bytes(PAYLOAD)
    os.utime(dest, (1_000_000, 1_000_000))
    # nothing listens on this URL: any transfer attempt would raise DownloadError
    out = download("http://127.0.0.1:9/payload.bin", dest, sha256=DIGEST, progress=False)
    assert out == dest and dest.stat().st_mtime == 1_000_000


def test_existing_corrupt_file_is_replaced(server, tmp_path):
    dest = tmp_path / "stale.bin"
    dest.write_bytes(b"half a download")
    download(f"{server}/payload.bin", dest, sha256=DIGEST, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_http_errors_name_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"missing.bin: HTTP 404"):
        download(f"{server}/missing.bin", tmp_path / "m.bin", sha256=None, progress=False)
    with pytest.raises(ValueError, match="unsupported URL 'ftp://"):
        download("ftp://example.org/x", tmp_path / "f.bin", sha256=None, progress=False)
    with pytest.raises(DownloadError, match="no-such-file"):
        download((tmp_path / "no-such-file").as_uri(), tmp_path / "n.bin", sha256=None,
                 progress=False)


def test_server_stops_itself(source, tmp_path):
    with serve_folder(source, max_seconds=0.3) as base:
        download(f"{base}/payload.bin", tmp_path / "ok.bin", sha256=DIGEST, progress=False)
        time.sleep(0.6)
        with pytest.raises(DownloadError):
            download(f"{base}/payload.bin", tmp_path / "late.bin", sha256=None, progress=False,
                     timeout=2)


# ----------------------------------------------------------------------------- archives


def _tar(path, entries, mode="w"):
    """Write a tar with ``entries`` = [(TarInfo, bytes | None)]."""
    with tarfile.open(path, mode) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    return tarfile.TarInfo(name), data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.mark.parametrize("mode, suffix", [("w", ".tar"), ("w:gz", ".tar.gz"),
                                          ("w:bz2", ".tar.bz2"), ("w:xz", ".tar.xz")])
def test_extract_tar_variants(tmp_path, mode, suffix):
    archive = _tar(tmp_path / f"a{suffix}",
                   [_file("top/a.txt", b"A"), _file("top/sub/b.txt", b"B"),
                    _link("top/link", "a.txt"), _link("top/hard", "top/a.txt", tarfile.LNKTYPE)],
                   mode)
    out = tmp_path / "out"
    paths = extract(archive, out)
    assert [p.relative_to(out).as_posix() for p in paths] == [
        "top/a.txt", "top/sub/b.txt", "top/link", "top/hard"]
    assert (out / "top/sub/b.txt").read_bytes() == b"B"
    assert (out / "top/link").is_symlink() and (out / "top/link").read_bytes() == b"A"
    assert (out / "top/hard").read_bytes() == b"A"


def test_extract_zip(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("d/one.txt", "1")
        zf.writestr("d/e/two.txt", "2")
    out = tmp_path / "out"
    assert [p.relative_to(out).as_posix() for p in extract(archive, out)] == [
        "d/one.txt", "d/e/two.txt"]
    assert (out / "d/e/two.txt").read_text() == "2"


@pytest.mark.parametrize(
    "entries, match",
    [
        ([_file("ok.txt"), _file("../evil.txt")], r"'\.\./evil\.txt' has an absolute path or '\.\.'"),
        ([_file("/tmp/evil.txt")], "'/tmp/evil.txt' has an absolute path"),
        ([_file("a/../../evil.txt")], r"has an absolute path or '\.\.'"),
        ([_link("escape", "../..")], r"symlink 'escape' -> '\.\./\.\.' points outside"),
        ([_link("abs", "/etc/passwd")], "points to absolute path '/etc/passwd'"),
        ([_link("hard", "../evil.txt", tarfile.LNKTYPE)], r"'\.\./evil\.txt' has an absolute path"),
        ([_link("dev", "", tarfile.CHRTYPE)], "'dev' is a device file or FIFO"),
        ([_link("fifo", "", tarfile.FIFOTYPE)], "'fifo' is a device file or FIFO"),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink-out", "symlink-abs", "hardlink-out",
         "device", "fifo"],
)
def test_extract_refuses_malicious_tar(tmp_path, entries, match):
    archive = _tar(tmp_path / "evil.tar", entries)
    out = tmp_path / "box" / "out"
    with pytest.raises(UnsafeArchiveError, match=rf"evil\.tar'.*{match}"):
        extract(archive, out)
    assert not out.exists()  # checked before anything is written
    assert not (tmp_path / "box" / "evil.txt").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "..\\evil.txt", "C:/evil.txt"])
def test_extract_refuses_malicious_zip(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "ok")
        zf.writestr(zipfile.ZipInfo(name), "bad")  # ZipInfo keeps the raw name
    out = tmp_path / "box" / "out"
    with pytest.raises(UnsafeArchiveError, match="evil.zip"):
        extract(archive, out)
    assert not out.exists() and not (tmp_path / "box" / "evil.txt").exists()


def test_extract_refuses_zip_symlink(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)  # S_IFLNK
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="'link' is a symlink"):
        extract(archive, tmp_path / "out")


def test_extract_rejects_non_archives(tmp_path):
    (tmp_path / "plain.zip").write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="plain.zip' is neither a zip nor a tar"):
        extract(tmp_path / "plain.zip", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="missing.tar"):
        extract(tmp_path / "missing.tar", tmp_path / "out")
