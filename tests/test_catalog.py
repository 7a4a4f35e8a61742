"""deblurlab.catalog: the shipped catalog, validation, lookups, and fetch end to end over HTTP."""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile

import pytest

from deblurlab import catalog as cat
from deblurlab.fetch import ChecksumError, DownloadError, serve_folder

SHARED_FOLDERS = ["midnet-sem", "dfnn-lightsheet", "reflected-focus", "smear-focus",
                  "bbbc006-samples", "sem-defocus-series", "gopro-pairs", "omega-test-vectors"]


# ----------------------------------------------------------------------------- shipped catalog


def test_shipped_catalog_is_found_relative_to_repo():
    assert cat.CATALOG_PATH == cat.config.REPO_ROOT / "data" / "catalog.json"
    entries = cat.load_catalog()
    expected = {"midnet-sem", "famm", "tem-fast-streams", "bbbc006", "dpdd", "realdof",
                *SHARED_FOLDERS}
    assert set(entries) == expected
    for e in entries.values():
        assert e.licence and e.layout and e.upstream, e.name
        assert e.downloadable or e.how_to_get, f"{e.name}: says neither how to fetch nor get it"


def test_known_facts_in_catalog():
    tem = cat.entry("tem-fast-streams")
    (f,) = tem.files
    assert f.url == "https://zenodo.org/records/4113244/files/TrainTestVal.zip"
    assert f.size == 629_335_440 and f.sha256 is None and tem.licence == "CC BY 4.0"
    bbbc = cat.entry("bbbc006")
    assert [x.name for x in bbbc.files] == [f"BBBC006_v1_images_z_{z:02d}.zip" for z in range(34)]
    assert all(x.url.startswith("https://data.broadinstitute.org/bbbc/BBBC006/") for x in bbbc.files)
    assert cat.entry("famm").upstream == ("https://doi.org/10.21227/vwrx-yw83",)
    assert cat.entry("midnet-sem").upstream == ("https://github.com/woshigui/MIDNet",)
    offline = {n for n, e in cat.load_catalog().items() if e.obtainable_offline}
    assert offline == set(SHARED_FOLDERS)


def test_data_readme_table_lists_every_entry():
    readme = (cat.config.REPO_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
            if line.startswith("| `")}
    assert rows == set(cat.load_catalog()), "data/README.md table out of step with catalog.json"


@pytest.mark.realdata
def test_every_reference_folder_has_an_entry_and_local_path(real_data, monkeypatch):
    root = real_data("midnet-sem").parent
    monkeypatch.setenv("DEBLURLAB_DATA", str(root))
    folders = {e.folder for e in cat.load_catalog().values()}
    on_disk = {p.name for p in root.iterdir() if p.is_dir()}
    assert on_disk <= folders, f"folders without a catalog entry: {on_disk - folders}"
    for name in SHARED_FOLDERS:
        assert cat.local_path(name) == root / name
    assert cat.local_path("famm") is None  # not present there


def test_local_path_without_data_root(monkeypatch):
    monkeypatch.delenv("DEBLURLAB_DATA", raising=False)
    assert cat.local_path("midnet-sem") is None


def test_unknown_name_lists_valid_names():
    with pytest.raises(cat.UnknownDatasetError, match=r"'nope'.*valid names: midnet-sem, famm"):
        cat.entry("nope")


def test_not_downloadable_says_how_to_get_it(tmp_path):
    with pytest.raises(cat.NotDownloadableError, match=r"'dpdd' has no direct download.*dd_dp_dataset_canon.zip"):
        cat.fetch("dpdd", root=tmp_path)
    assert not (tmp_path / "dpdd").exists()


# ----------------------------------------------------------------------------- validation

GOOD = {"datasets": {"toy": {
    "title": "Toy", "modality": "test", "papers": [], "upstream": ["http://127.0.0.1/"],
    "licence": "CC0-1.0", "folder": "toy", "layout": "one folder", "files": [],
    "obtainable_offline": False}}}


def _write(tmp_path, doc, name="catalog.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.pop("title"), "missing field 'title'"),
        (lambda d: d.update(titel="x"), r"unknown field\(s\) \['titel'\]"),
        (lambda d: d.update(obtainable_offline="yes"), "'obtainable_offline' must be bool"),
        (lambda d: d.update(folder="../escape"), "must be one plain folder name"),
        (lambda d: d.update(files=[{"name": "a.zip", "url": "u", "sha256": "ABC"}]), "64 lower-case"),
        (lambda d: d.update(files=[{"name": "a.zip", "url": "u", "size": True}]), "'size' must be int"),
        (lambda d: d.update(files=[{"name": "../a.zip", "url": "u"}]), "plain file name"),
        (lambda d: d.update(files=[{"url": "u"}]), r"files\[0\]: missing field 'name'"),
    ],
)
def test_malformed_entries_are_reported_with_file_and_entry(tmp_path, change, match):
    doc = copy.deepcopy(GOOD)
    change(doc["datasets"]["toy"])
    path = _write(tmp_path, doc)
    with pytest.raises(cat.CatalogError, match=rf"'{path}', data set 'toy'.*{match}"):
        cat.load_catalog(path)


def test_malformed_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(cat.CatalogError, match="bad.json' is not valid JSON"):
        cat.load_catalog(tmp_path / "bad.json")
    with pytest.raises(cat.CatalogError, match="catalog not found"):
        cat.load_catalog(tmp_path / "missing.json")
    assert set(cat.load_catalog(_write(tmp_path, GOOD))) == {"toy"}


# ----------------------------------------------------------------------------- fetch end to end


@pytest.fixture
def mirror(tmp_path):
    """A zip served on 127.0.0.1 and a catalog whose 'toy' entry points at it."""
    srv = tmp_path / "srv"
    srv.mkdir()
    with zipfile.ZipFile(srv / "toy.zip", "w") as zf:
        zf.writestr("toy/blur/a.txt", "blurred")
        zf.writestr("toy/sharp/a.txt", "sharp")
    data = (srv / "toy.zip").read_bytes()
    (srv / "notes.txt").write_text("plain file")
    with serve_folder(srv, max_seconds=30) as base:
        doc = copy.deepcopy(GOOD)
        doc["datasets"]["toy"]["files"] = [
            {"name": "toy.zip", "url": f"{base}/toy.zip", "size": len(data),
             "sha256": hashlib.sha256(data).hexdigest(), "extract": True},
            {"name": "notes.txt", "url": f"{base}/notes.txt", "size": 10, "sha256": None,
             "extract": False},
        ]
        yield doc, base


def test_fetch_downloads_verifies_and_extracts(tmp_path, mirror, monkeypatch):
    doc, _ = mirror
    catalog_file = _write(tmp_path, doc)
    root = tmp_path / "data"
    with pytest.warns(UserWarning, match=r"toy: sha256 unknown for 1 file\(s\) \(notes.txt\)"):
        folder = cat.fetch("toy", root=root, catalog=catalog_file, progress=False)
    assert folder == root / "toy"
    assert (folder / "toy/blur/a.txt").read_text() == "blurred"
    assert (folder / "notes.txt").read_text() == "plain file"
    monkeypatch.setenv("DEBLURLAB_DATA", str(root))
    assert cat.local_path("toy", catalog=catalog_file) == folder

    # second run: no network needed (URLs now point at a dead port), nothing unpacked again
    (folder / "toy/blur/a.txt").write_text("edited by user")
    dead = copy.deepcopy(doc)
    for f in dead["datasets"]["toy"]["files"]:
        f["url"] = "http://127.0.0.1:9/" + f["name"]
    with pytest.warns(UserWarning):
        assert cat.fetch("toy", root=root, catalog=_write(tmp_path, dead, "dead.json"),
                         progress=False) == folder
    assert (folder / "toy/blur/a.txt").read_text() == "edited by user"


def test_fetch_checksum_mismatch_leaves_nothing(tmp_path, mirror):
    doc, _ = mirror
    doc["datasets"]["toy"]["files"].pop()  # the zip alone
    doc["datasets"]["toy"]["files"][0]["sha256"] = "0" * 64
    root = tmp_path / "data"
    with pytest.raises(ChecksumError, match=rf"toy.zip.*expected {'0' * 64}, got [0-9a-f]{{64}}"):
        cat.fetch("toy", root=root, catalog=_write(tmp_path, doc), progress=False)
    assert not list((root / "toy").rglob("*.txt"))
    assert not list((root / "toy").rglob("toy.zip*"))


def test_fetch_missing_url_is_a_download_error(tmp_path, mirror):
    doc, base = mirror
    doc["datasets"]["toy"]["files"].pop()
    doc["datasets"]["toy"]["files"][0]["url"] = f"{base}/gone.zip"
    with pytest.raises(DownloadError, match="gone.zip: HTTP 404"):
        cat.fetch("toy", root=tmp_path / "d", catalog=_write(tmp_path, doc), progress=False)


def test_fetch_into_unwritable_root_explains(tmp_path, mirror):
    doc, _ = mirror
    not_a_folder = tmp_path / "occupied"
    not_a_folder.write_text("a file where the data root should be")
    with pytest.raises(OSError, match="cannot write data set 'toy'.*pass root=.*DEBLURLAB_DATA"):
        cat.fetch("toy", root=not_a_folder, catalog=_write(tmp_path, doc), progress=False)


# ----------------------------------------------------------------------------- CLI


def test_cli_list_info_fetch(tmp_path, mirror, capsys):
    assert cat.main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cat.load_catalog())
    assert cat.main(["info", "tem-fast-streams"]) == 0
    assert "629,335,440 B" in capsys.readouterr().out
    assert cat.main(["info", "nope"]) == 2
    assert "valid names" in capsys.readouterr().err
    doc, _ = mirror
    doc["datasets"]["toy"]["files"].pop()  # keep the checksummed zip only
    catalog_file = _write(tmp_path, doc)
    code = cat.main(["--catalog", str(catalog_file), "fetch", "toy", "--root",
                     str(tmp_path / "cli"), "--no-progress"])
    assert code == 0 and capsys.readouterr().out.strip() == str(tmp_path / "cli" / "toy")
    assert (tmp_path / "cli/toy/toy/sharp/a.txt").read_text() == "sharp"
