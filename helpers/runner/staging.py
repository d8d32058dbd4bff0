"""Staging, locking and swapping: a run builds aside and replaces the last good report only when it succeeds.

Usage::

    from helpers.runner.staging import run_lock, swap_in
    with run_lock("default"):
        ...
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from pathlib import Path

from helpers import paths
from helpers.errors import ReportError


@contextlib.contextmanager
def run_lock(run: str):
    """Hold an exclusive lock on ``run``; refuse at once if another process holds it."""
    lock_dir = paths.data_root() / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    handle = open(lock_dir / f"{run}.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ReportError(f"another run named '{run}' is in progress; wait for it or choose another RUN name") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def link_copy(src: Path, dst: Path) -> None:
    """Copy a folder tree as hard links (cheap); files are later replaced, never edited."""
    if src.exists():
        shutil.copytree(src, dst, copy_function=os.link, dirs_exist_ok=True)


def swap_in(staged: Path, final: Path) -> None:
    """Replace ``final`` by ``staged`` with two renames; the old folder is removed last."""
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(old)
    staged.rename(final)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def env_set(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
