"""The registry of notebooks agrees with the notebooks, their settings types, the schedule and the README."""

from __future__ import annotations

import dataclasses
import re

import pytest

from helpers import paths, registry
from helpers.analysis import results
from helpers.runner import params, schedule

NOTEBOOKS = list(registry.NOTEBOOKS.values())


def test_the_registry_declares_exactly_the_numbered_notebooks_in_order():
    on_disk = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert list(registry.NOTEBOOKS) == on_disk


def test_each_notebook_reads_only_earlier_ones_and_writes_a_folder_of_its_own():
    names = list(registry.NOTEBOOKS)
    for nb in NOTEBOOKS:
        assert all(names.index(r) < names.index(nb.name) for r in nb.reads), nb.name
        assert set(nb.writes) <= set(registry.FOLDERS), nb.name
    written = [folder for nb in NOTEBOOKS for folder in nb.writes]
    assert len(written) == len(set(written)), "two notebooks write the same folder"


def _cell(nb: registry.Notebook) -> dict:
    return params.notebook_defaults(nb.name)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.name)
def test_the_parameters_cell_declares_the_settings_fields_and_the_options(nb):
    declared = set(_cell(nb)) - {"run"}
    settings = registry.load(nb.settings) if nb.settings else None
    fields = {f.name for f in dataclasses.fields(settings)} if settings else set()
    assert set(nb.options) <= declared and not set(nb.options) & fields, nb.name
    if settings is not None and issubclass(settings, results.Settings):
        assert declared == fields | set(nb.options)  # Settings.pick takes exactly these from the notebook
    else:  # the simulator's config: the notebook sets some of its knobs, the rest keep the config's defaults
        assert declared - set(nb.options) <= fields


def test_simulator_knobs_have_the_same_default_in_the_cell_and_in_the_config():
    nb = registry.NOTEBOOKS["01_simulate"]
    config = registry.load(nb.settings)()
    for name, default in _cell(nb).items():
        if name in config.__dataclass_fields__:
            assert getattr(config, name) == default, name


def test_rules_name_declared_parameters_and_every_default_passes_them():
    defaults = {name: value for nb in NOTEBOOKS for name, value in _cell(nb).items()}
    assert set(registry.RULES) | set(registry.CHOICES) <= set(defaults)
    for name, (ok, allowed) in registry.RULES.items():
        assert ok(defaults[name]), f"{name} default {defaults[name]} is not {allowed}"
    for name, allowed in registry.CHOICES.items():
        assert defaults[name] in allowed
    params.check(defaults, {})  # the whole check, simulator knobs included


def test_result_types_name_their_notebook_and_loading_follows_the_registry():
    for name, dotted in registry.result_types().items():
        cls = registry.load(dotted)
        assert cls.NOTEBOOK == name and issubclass(cls, results.Record)
        assert results.RESULT_TYPES[name] == tuple(dotted.rsplit(".", 1))
    assert results.typed("02_gold_table", {"rows": 1}) == {"rows": 1}


def test_the_schedule_waits_for_what_each_notebook_reads():
    present = list(registry.NOTEBOOKS)
    for nb in NOTEBOOKS:
        assert schedule.needs(nb.name, present) == {registry.NOTEBOOKS[r].number for r in nb.reads}
    assert schedule.stale_after({"04_spend"}, set(present)) == {"06_strategy"}
    assert schedule.stale_after({"01_simulate"}, set(present)) == set(present) - {"01_simulate"}
    assert schedule.needs("07_extra", present) == {nb.number for nb in NOTEBOOKS}  # undeclared: after all earlier


def test_clearing_a_notebook_removes_only_what_the_registry_says_it_writes(tmp_path):
    for folder in ("raw", "gold", "experiment", "figures", "results"):
        (tmp_path / folder).mkdir()
    (tmp_path / "results" / "06_strategy.json").write_text("{}")
    (tmp_path / "results" / "05_purchase_style.json").write_text("{}")
    schedule.clear_outputs(tmp_path, "06_strategy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold", "raw", "results"]
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["05_purchase_style.json"]


def test_the_readme_notebook_table_is_the_registry():
    text = (paths.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^\| notebook \| question \| reads \| writes \|\n(?:\|.*\n)+", text, re.M)
    assert found, "README.md has no notebook table"
    assert found.group(0).rstrip("\n") == registry.notebook_table(), (
        "the README's notebook table differs from helpers/registry.py; paste registry.notebook_table():\n"
        + registry.notebook_table()
    )


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.name)
def test_each_notebook_s_header_says_what_the_registry_says_it_reads_and_writes(nb):
    import json

    cells = json.loads((paths.NOTEBOOKS_DIR / f"{nb.name}.ipynb").read_text())["cells"]
    header = " ".join("".join(cells[0]["source"]).split())
    reads, writes = header.split("**Reads**", 1)[1].split("**Writes**", 1)
    for folder in nb.writes:
        assert f"`data/<run>/{folder}/" in writes, folder
    assert f"results/{nb.name}.json`" in writes
    for upstream in (registry.NOTEBOOKS[r] for r in nb.reads):
        assert all(f"{folder}/" in reads for folder in upstream.writes) if upstream.writes else "results/" in reads
