"""The import graph of ``helpers``: read by parsing (``ast``), no cycle, and layers import only downward."""

from __future__ import annotations

from pathlib import Path

from helpers.runner import imports

# Lowest first: a module may import its own layer and the layers before it. The top-level modules (paths, errors,
# registry) are the base; compare reads two finished runs and takes the runner's lock, so it sits on top.
LAYERS = ("base", "data", "analysis", "presentation", "runner", "compare")


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "base"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first search, as the modules along it (first repeated at the end)."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_imports_are_read_from_the_syntax_tree():
    source = '''
"""Usage::

    from helpers.analysis import spend
"""
from typing import TYPE_CHECKING
import helpers.paths
from helpers.data import gold, files as f
from . import sibling

if TYPE_CHECKING:
    from helpers.presentation import website

def later():
    from helpers.runner.params import check
    text = "from helpers.compare import page"
'''
    assert imported(source) == {
        "helpers.paths",
        "helpers.data",
        "helpers.data.gold",
        "helpers.data.files",
        "helpers.runner.params",
        "helpers.runner.params.check",
        "helpers.analysis",  # the relative import, from helpers.analysis.spend
        "helpers.analysis.sibling",
    }
    assert imports.imported("def broken(:\n    from helpers import paths") == set()


def imported(source: str) -> set[str]:
    return imports.imported(source, "helpers.analysis.spend")


def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_and_an_upward_import_are_found(tmp_path):
    _package(
        tmp_path,
        {
            "helpers/__init__.py": "",
            "helpers/data/__init__.py": "",
            "helpers/data/a.py": "def f():\n    from helpers.analysis import b\n",
            "helpers/analysis/__init__.py": "",
            "helpers/analysis/b.py": "from helpers.analysis import c\n",
            "helpers/analysis/c.py": "from helpers.analysis.b import thing\n",
        },
    )
    graph = imports.graph(tmp_path)
    assert graph["helpers.data.a"] == {"helpers.analysis", "helpers.analysis.b"}
    assert cycles(graph) == [["helpers.analysis.b", "helpers.analysis.c", "helpers.analysis.b"]]
    assert upward(graph) == ["helpers.data.a -> helpers.analysis", "helpers.data.a -> helpers.analysis.b"]


def upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} -> {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if LAYERS.index(layer(target)) > LAYERS.index(layer(module))
    ]


def test_helpers_have_no_import_cycle():
    assert cycles(imports.graph()) == []


def test_helpers_import_only_downward_data_analysis_presentation_runner():
    assert upward(imports.graph()) == []


def test_the_registry_imports_nothing_of_the_project():
    graph = imports.graph()
    assert graph["helpers.registry"] == set()
    assert all(layer(m) == "base" for m in graph if m.count(".") == 1 and m.split(".")[1] not in LAYERS)
