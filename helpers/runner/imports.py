"""Which ``helpers`` modules a source file or a notebook imports, read by parsing it (``ast``), and the graph they form.

Usage::

    from helpers.runner import imports
    imports.of_notebook(nb_path)                  # {"helpers.analysis.spend", "helpers.paths", ...}
    imports.closure({"helpers.analysis.spend"})   # every file of helpers reached from it, __init__ files included
    imports.graph()                               # module -> the helpers modules it imports

Every import statement counts, at the top of a module or inside a function (it runs when the
function is called), except those under ``if TYPE_CHECKING:``, which never run. An import in a
string or a docstring is not an import. ``from helpers.x import y`` imports ``helpers.x`` and,
when ``y`` is a module, ``helpers.x.y``. The freshness check (what a notebook depends on) and
the test of the layers read the same graph.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import threading
from pathlib import Path

from helpers import paths

ROOT = "helpers"
_LOCK = threading.RLock()  # the runner asks from several threads (notebooks run side by side)


def imported(source: str, module: str = "") -> set[str]:
    """Names a source text imports from ``helpers`` (candidates: ``from helpers.x import y`` gives x and x.y).

    ``module`` is the source's own dotted name, for relative imports; a text that does not parse imports nothing.
    """
    try:
        with _LOCK:  # CPython 3.11 can fail parsing in two threads at once ("AST constructor recursion depth mismatch")
            tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in _executed(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            if base:
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    return {name for name in found if name == ROOT or name.startswith(ROOT + ".")}


def top_level(source: str) -> list[str]:
    """Every module a source text imports at its top level, in order, of any package (``from a import b``
    gives a and a.b, which may name no module); a text that does not parse imports nothing. The kernels
    warmed ahead import these."""
    try:
        with _LOCK:
            tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found += [node.module, *(f"{node.module}.{a.name}" for a in node.names if a.name != "*")]
    return found


def _executed(tree: ast.AST):
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level] if module else []
    return ".".join(package + ([node.module] if node.module else []))


def module_file(name: str, root: Path | None = None) -> Path | None:
    """The file of ``helpers...`` module ``name`` (a package's ``__init__.py``), or None for a name that is not one."""
    base = (root or paths.PROJECT_ROOT).joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path, root: Path | None = None) -> str:
    """The dotted name of a file of ``helpers`` (a package by its ``__init__.py``)."""
    parts = list(path.relative_to(root or paths.PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def of_file(path: Path, root: Path | None = None) -> frozenset[str]:
    """The ``helpers`` names file ``path`` imports.

    Kept in ``data/.cache/imports.json`` by the file's bytes: parsing every helper takes about 0.2 s, a tenth
    of a rerun with nothing to do, and the same bytes always import the same names.
    """
    data = path.read_bytes()
    module = module_name(path, root)
    key = hashlib.sha256(data + module.encode()).hexdigest()[:20]
    known = _cache()
    with _LOCK:
        if key not in known:
            known[key] = sorted(imported(data.decode("utf-8"), module))
            _DIRTY.add(key)
        return frozenset(known[key])


_DIRTY: set[str] = set()


def _cache_file() -> Path:
    return paths.data_root() / ".cache" / "imports.json"


@functools.cache
def _cache() -> dict[str, list[str]]:
    try:
        return json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_cache() -> None:
    """Write what was parsed since the cache was read (the last 500 files kept); a read-only folder only costs time."""
    if not _DIRTY:
        return
    from helpers.data.files import write_json

    with _LOCK:
        kept = dict(list(_cache().items())[-500:])
        _DIRTY.clear()
    with contextlib.suppress(OSError):
        write_json(kept, _cache_file())


def of_notebook(nb: Path) -> set[str]:
    """The ``helpers`` names the code cells of notebook ``nb`` import (a cell that does not parse, for instance
    one with a shell escape, is read without its ``%``/``!`` lines)."""
    found: set[str] = set()
    for cell in json.loads(Path(nb).read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            found |= imported(source) or imported(without_magics(source))
    return found


def without_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def closure(names: set[str] | frozenset[str], root: Path | None = None) -> set[Path]:
    """Every file of ``helpers`` reached from ``names`` through imports (the packages' ``__init__`` files too)."""
    seen: set[Path] = set()
    todo = list(names)
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):  # importing a module runs its packages' __init__ first
            path = module_file(".".join(parts[:i]), root)
            if path is not None and path not in seen:
                seen.add(path)
                todo.extend(of_file(path, root))
    save_cache()
    return seen


def graph(root: Path | None = None) -> dict[str, set[str]]:
    """Every module of ``helpers`` -> the ``helpers`` modules it imports (names that are not modules dropped)."""
    base = root or paths.PROJECT_ROOT
    edges: dict[str, set[str]] = {}
    for path in sorted((base / ROOT).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        name = module_name(path, base)
        edges[name] = {n for n in of_file(path, base) if module_file(n, base) is not None and n != name}
    save_cache()
    return edges
