"""Static checks on the committed notebooks: no outputs, one literal typed parameters cell."""

from __future__ import annotations

import ast
import json

import pytest

from helpers import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_outputs_committed(nb_path):
    nb = json.loads(nb_path.read_text())
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{nb_path.name}: cells {dirty} carry outputs"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_literal_typed_parameters_cell_near_the_top(nb_path):
    nb = json.loads(nb_path.read_text())
    tagged = [i for i, c in enumerate(nb["cells"]) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0] <= 2, tagged
    source = "".join(nb["cells"][tagged[0]]["source"])
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"not a typed assignment: {ast.unparse(node)}"
        ast.literal_eval(node.value)  # literals only
        names.append(node.target.id)
    assert "run" in names
    for line in source.splitlines():
        if line.strip():
            assert "#" in line, f"parameter without a comment: {line}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_title_question_reads_writes_and_ends_with_findings(nb_path):
    nb = json.loads(nb_path.read_text())
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# ") and "**Question" in first and "**Reads" in first and "Writes" in first
    headings = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert any(h.startswith("## Findings") for h in headings)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paths_come_from_helpers_not_the_working_directory(nb_path):
    code = "".join("".join(c["source"]) for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code")
    for bad in ("os.getcwd", "Path.cwd", "'../data", '"../data', "'data/", '"data/'):
        assert bad not in code
