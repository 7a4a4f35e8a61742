"""Every notebook: paired .py/.ipynb in sync, stored without outputs, and runs with PROFILE=smoke."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PY_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
IDS = [p.stem for p in PY_FILES]


def test_there_are_notebooks():
    assert PY_FILES, "notebooks/ holds no NN_name.py notebooks"


@pytest.mark.parametrize("py", PY_FILES, ids=IDS)
def test_pair_in_sync_and_without_outputs(py: Path):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{py.name} has no paired {ipynb.name} (run `make sync`)"
    raw = json.loads(ipynb.read_text())
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{ipynb.name} is stored with outputs"
            assert cell.get("execution_count") is None, f"{ipynb.name} has execution counts"
    a, b = jupytext.read(py), jupytext.read(ipynb)
    cells_a = [(c.cell_type, c.source.strip()) for c in a.cells]
    cells_b = [(c.cell_type, c.source.strip()) for c in b.cells]
    assert cells_a == cells_b, f"{py.name} and {ipynb.name} differ (run `make sync`)"


@pytest.mark.parametrize("py", PY_FILES, ids=IDS)
def test_one_parameters_cell_with_profile(py: Path):
    nb = jupytext.read(py)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{py.name} needs exactly one cell tagged 'parameters'"
    assert "PROFILE" in tagged[0].source


@pytest.mark.notebook
@pytest.mark.parametrize("data", ["configured", "synthetic"])
@pytest.mark.parametrize("py", PY_FILES, ids=IDS)
def test_notebook_runs_smoke(py: Path, data: str, tmp_path: Path, monkeypatch):
    """Each notebook runs headlessly with the data CI has, and with no real data at all."""
    import papermill as pm

    if data == "synthetic":
        monkeypatch.setenv("DEBLURLAB_DATA", "")  # unset: the notebook must fall back to synthetic data
    monkeypatch.setenv("DEBLURLAB_BUILD", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / py.with_suffix(".ipynb").name
    pm.execute_notebook(
        str(py.with_suffix(".ipynb")), str(out), parameters={"PROFILE": "smoke"},
        cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False, execution_timeout=600,
    )
    executed = json.loads(out.read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    figures = list((tmp_path / "figures").glob("*.png"))
    assert figures, f"{py.name} saved no figure under DEBLURLAB_BUILD/figures"
