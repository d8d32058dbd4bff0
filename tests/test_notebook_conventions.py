"""Static checks on the committed notebooks: no outputs, one literal typed parameters cell."""

from __future__ import annotations

import ast
import json
import re

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


MAX_CELL_LINES = 15  # the parameters cell excepted: papermill needs every parameter in it, one per line


def _cells(nb_path, kind: str) -> list[tuple[str, str]]:
    return [
        (c.get("id", str(i)), "".join(c["source"]))
        for i, c in enumerate(json.loads(nb_path.read_text())["cells"])
        if c["cell_type"] == kind and "parameters" not in c.get("metadata", {}).get("tags", [])
    ]


def _markdown(stem: str) -> str:
    return "\n".join(text for _, text in _cells(paths.NOTEBOOKS_DIR / f"{stem}.ipynb", "markdown"))


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short(nb_path):
    long = {
        cid: len(text.splitlines()) for cid, text in _cells(nb_path, "code") if len(text.splitlines()) > MAX_CELL_LINES
    }
    assert not long, f"{nb_path.name}: cells (id: lines) longer than {MAX_CELL_LINES} lines: {long}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_files_cited_in_the_text_exist(nb_path):
    text = "\n".join(t for _, t in _cells(nb_path, "markdown"))
    cited = re.findall(r"`((?:helpers|notebooks|tests)/[^`<>*]+)`", text)
    assert [c for c in cited if not (paths.PROJECT_ROOT / c).exists()] == []


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_folds_are_the_parameter_not_a_number_in_the_text(nb_path):
    assert not re.search(r"\b\d+-fold", "\n".join(t for _, t in _cells(nb_path, "markdown"))), nb_path.name


def test_04_names_the_standard_errors_its_fits_use():
    import numpy as np
    import pandas as pd

    from helpers.analysis import spend

    rng = np.random.default_rng(1)
    buyers = pd.DataFrame({"engagement": rng.normal(size=80), "time": rng.normal(size=80)})
    buyers["amount_usd"] = np.exp(3 + 0.2 * buyers["engagement"] + rng.normal(0, 0.3, 80))
    buyers[spend.Y] = np.log(buyers["amount_usd"])
    users = np.repeat(np.arange(40), 2)
    ols = {spend.fit_ols(buyers, ["engagement", "time"], g).cov_type for g in (None, users)}
    gamma = {spend.fit_gamma(buyers, ["engagement", "time"], groups=g).cov_type for g in (None, users)}
    assert ols == {"HC3", "cluster"} and gamma == {"HC0", "cluster"}
    text = " ".join(_markdown("04_spend").split())
    assert "clustered by user when a user buys in several sessions (HC3" in text
    assert "(clustered by user when users repeat, else HC0)" in text
    for stem in [nb.stem for nb in NOTEBOOKS]:  # no other notebook names a covariance its code does not use
        assert stem == "04_spend" or not re.search(r"\bHC\d", _markdown(stem)), stem


def _quoted():
    import inspect

    from helpers.analysis import spend
    from helpers.runner import params

    assert inspect.signature(spend.per_sd_effects).parameters["power"].default == spend.DETECT_POWER
    return [
        ("04_spend", r"would detect with (\d+) % power", 100 * spend.DETECT_POWER),
        ("04_spend", r"a CI wider than (\d+) points per SD", spend.UNSIZEABLE_WIDTH_PCT),
        (
            "05_purchase_style",
            r"its default, ([\d.]+), is",
            params.notebook_defaults("05_purchase_style")["equivalence_margin"],
        ),
    ]


def test_numbers_quoted_in_the_text_are_the_code_s_and_the_settings():
    for stem, pattern, value in _quoted():
        found = re.findall(pattern, " ".join(_markdown(stem).split()))
        assert found and all(float(f) == value for f in found), (stem, pattern, found, value)
