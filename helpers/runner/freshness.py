"""Whether a notebook's last output can be reused: what it depends on, hashed, and what changed since.

Usage::

    from helpers.runner import freshness
    now = freshness.inputs(nb_path, own_params, run_dir, user_files)
    why = freshness.changes(previous_inputs, now)       # [] when nothing it depends on changed

A notebook depends on its own source, every ``helpers`` module it imports (followed through the
modules' own imports, read by parsing them: ``imports``; and the SQL files of ``helpers/data``),
its parameters, the outputs of the notebooks it reads from (``registry``, by content), the data
files a run imports and the locked environment. So rewording one notebook's findings reruns only
the notebooks that import that wording, and the notebooks that read what they wrote.

Its page also depends on the page template (``page`` below): when only that changed the page is
rendered again from the executed notebook. Anything not hashed is not trusted: when a key is
missing on either side the notebook runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path

from helpers import paths, registry
from helpers.data.files import data_fingerprint
from helpers.runner import imports

HELPERS_DIR = paths.PROJECT_ROOT / "helpers"
PAGE_FILES = ("presentation/website.py", "presentation/templates")  # what a page's HTML is rendered with
ENVIRONMENT_FILES = ("requirements.lock", "pyproject.toml")
USER_FILE_PARAMETERS = ("data_dir", "event_log", "mapping", "session_table", "plan_file")


def _hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _hash_tree(path: Path) -> str:
    """Content hash of a file, or of every file under a folder (names and bytes)."""
    if path.is_file():
        return _hash_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(_hash_file(file).encode())
    return digest.hexdigest()[:16]


def helper_files(modules: set[str] | frozenset[str]) -> set[Path]:
    """Every file of ``helpers`` reached from ``modules`` through imports (packages' ``__init__`` included)."""
    return imports.closure(modules)


def prime(notebooks: list[Path]) -> None:
    """Parse every helper the ``notebooks`` reach now, in the calling thread: CPython 3.11 can fail parsing in
    two threads at once (``SystemError: AST constructor recursion depth mismatch``), and the runner asks for
    inputs from the notebooks' threads, which then only read what was parsed here."""
    for nb in notebooks:
        if Path(nb).exists():
            helper_files(notebook_modules(nb))


def notebook_modules(nb: Path) -> set[str]:
    """``helpers`` modules the code cells of notebook ``nb`` import."""
    return imports.of_notebook(nb)


DATA_FOLDERS = ("raw", "gold")  # written folders of Parquet tables, known by their bytes (figures are not read back)
VOLATILE = ("seconds",)  # keys of a results record that differ between identical runs (timings)


def _hash_record(path: Path) -> str:
    """Hash of a results record without its timings, so an identical rerun of a notebook reads as unchanged."""
    record = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(record, dict):
        record = {k: v for k, v in record.items() if k not in VOLATILE}
    return _hash_bytes(json.dumps(record, sort_keys=True, default=str).encode())


def _outputs(run_dir: Path, stem: str) -> dict[str, str]:
    """Fingerprints of what notebook ``stem`` wrote that later notebooks read."""
    out = {}
    record = run_dir / "results" / f"{stem}.json"
    out[f"{stem} results"] = _hash_record(record) if record.exists() else "missing"
    for folder in registry.writes(stem):
        if folder in DATA_FOLDERS:
            out[registry.FOLDERS[folder]] = data_fingerprint(run_dir / folder)
    return out


def _user_file(value: str) -> str:
    """Size and modification time of a file or folder a run imports (re-reading gigabytes to hash them costs more)."""
    path = Path(value)
    if not path.exists():
        return "missing"
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return _hash_bytes(repr([(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]).encode())


def inputs(nb: Path, own: dict, run_dir: Path, present: list[str]) -> dict[str, str]:
    """Everything notebook ``nb`` depends on, each as a short hash or value (see the module's docstring).

    ``own`` are its parameters; ``present`` the stems of the run's notebooks (what it can read from).
    """
    key = {"notebook": _hash_file(nb)}
    files = helper_files(notebook_modules(nb))
    if any(p.parent.name == "data" for p in files):
        files |= set((HELPERS_DIR / "data" / "sql").glob("*.sql"))
    for path in sorted(files):
        key[str(path.relative_to(paths.PROJECT_ROOT))] = _hash_file(path)
    for name, value in sorted(own.items()):
        key[f"parameter {name}"] = json.dumps(value, sort_keys=True, default=str)
        if name in USER_FILE_PARAMETERS and value:
            key[f"input file {name}"] = _user_file(str(value))
        if name == "plan_run" and value:  # the plan of a test read out: that run's recorded 06 result
            plan = paths.data_root() / str(value) / "results" / "06_strategy.json"
            key[f"plan_run {value} results"] = _hash_record(plan) if plan.exists() else "missing"
    for upstream in sorted(p for p in present if p[:2] in registry.reads_from(nb.name)):
        key |= _outputs(run_dir, upstream)
    key["environment"] = environment()
    return key


@functools.cache
def environment() -> str:
    """The locked environment and the Python version."""
    parts = [sys.version]
    parts += [_hash_file(paths.PROJECT_ROOT / f) for f in ENVIRONMENT_FILES if (paths.PROJECT_ROOT / f).exists()]
    return _hash_bytes("|".join(parts).encode())


def page() -> str:
    """The page template: what the HTML is rendered with."""
    return _hash_bytes("|".join(_hash_tree(HELPERS_DIR / f) for f in PAGE_FILES).encode())


def changes(before: dict | None, now: dict) -> list[str]:
    """Why a notebook must run again, in words; [] when everything it depends on is as before."""
    if not before:
        return ["no earlier result to reuse"]
    reasons = []
    for key in sorted(set(before) | set(now)):
        if before.get(key) == now.get(key):
            continue
        if key == "notebook":
            reasons.append("the notebook changed")
        elif key.startswith("parameter "):
            reasons.append(f"{key} changed")
        elif key.endswith(("results", "table", "tables")):
            reasons.append(f"{key} changed")
        elif key == "environment":
            reasons.append("the environment changed")
        elif key not in now:
            reasons.append(f"{key} no longer used")
        else:
            reasons.append(f"{key} changed" if key in before else f"{key} is new")
    return reasons
