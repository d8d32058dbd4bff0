"""Atomic file writes: a reader never sees a half-written file.

Usage::

    from helpers.data.files import write_parquet, write_json
    write_parquet(table, path)      # pyarrow.Table or pandas.DataFrame
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.errors import ParameterError

if TYPE_CHECKING:  # imported where used: the runner reads fingerprints and JSON without loading pandas
    import pandas as pd
    import pyarrow as pa

FILE_MODE, DIR_MODE = 0o644, 0o755  # readable by colleagues whatever the runner's umask


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; move it into place (mode 0644) only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_parquet(table: pa.Table | pd.DataFrame, path: Path) -> Path:
    """Write a table to Parquet atomically (zstd-compressed)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


class _NumpyJSON(json.JSONEncoder):
    def default(self, o):
        import numpy as np
        import pandas as pd

        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return None if not np.isfinite(o) else float(o)
        if isinstance(o, np.bool_):
            return bool(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (pd.Timestamp,)):
            return o.isoformat()
        return super().default(o)


def _finite(obj):
    """Replace NaN and infinities by None so the JSON is standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(obj, path: Path) -> Path:
    """Write ``obj`` as indented, standard JSON atomically (numpy scalars allowed)."""
    text = json.dumps(_finite(json.loads(json.dumps(obj, cls=_NumpyJSON))), indent=2)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
    return Path(path)


def read_json(path: Path):
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def share_tree(folder: Path) -> None:
    """Make a finished run folder readable by others: files 0644, folders 0755."""
    folder = Path(folder)
    if not folder.exists():
        return
    os.chmod(folder, DIR_MODE)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), DIR_MODE)
        for name in files:
            os.chmod(os.path.join(root, name), FILE_MODE)


def data_fingerprint(raw: Path) -> str:
    """SHA-256 over the tables' bytes: the same data give the same fingerprint.

    A table may be one Parquet file or a folder of parts (a gold table built in passes). Within one process
    the bytes are read again only when a file's identity, size or time changed (tables are replaced, never
    edited in place): the runner asks for the same fingerprints for every page and every notebook.
    """
    files = []
    for table in sorted(Path(raw).glob("*.parquet")):
        files += sorted(table.rglob("*.parquet")) if table.is_dir() else [table]
    stamps = []
    for path in files:
        st = path.stat()
        stamps.append((str(path.relative_to(raw)), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    key = (str(Path(raw).resolve()), tuple(stamps))
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(raw)).encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        _FINGERPRINTS[key] = digest.hexdigest()[:16]
    return _FINGERPRINTS[key]


_FINGERPRINTS: dict[tuple, str] = {}


def read_yaml_mapping(path: Path, what: str, shape: str) -> dict:
    """A YAML file that must hold a mapping; a ParameterError naming ``what`` (and ``shape``) when not."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{what} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{what} must be {shape}")
    return data
