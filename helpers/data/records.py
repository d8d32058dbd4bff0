"""A notebook's record of its key numbers, ``data/<run>/results/<notebook>.json``, and the dataclasses it is made of.

Usage::

    from helpers.data import records
    records.save("default", "01_simulate", record)     # a dict, or a Record (its ``to_json()``)

    @dataclass
    class Truth(records.Record):                        # serialises to JSON and back (``from_json``)
        effect: float
        frame: pd.DataFrame | None = records.memory()   # kept in memory, never written

01 and 02 save plain dicts through this module, so they import no analysis; the analyses' typed
results (``helpers.analysis.results``) are built on :class:`Record` and saved the same way.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any

from helpers import paths
from helpers.data.files import write_json


def _convert(kind, value):
    """``value`` (plain JSON) as an instance of the annotated type ``kind``."""
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(kind) or (Any,)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(kind) or (str, Any)
        return {k: _convert(item, v) for k, v in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return kind.from_json(value)
    return value


@dataclass
class Record:
    """A dataclass that serialises to JSON and back; fields marked ``memory`` stay out of the JSON."""

    def to_json(self) -> dict:
        """Plain JSON (dicts, lists, numbers, strings); in-memory evidence is left out."""
        out = {}
        for f in fields(self):
            if f.metadata.get("memory"):
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return out

    @classmethod
    def from_json(cls, data: dict):
        """The record again from its JSON; fields the JSON lacks take their defaults."""
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in fields(cls) if not f.metadata.get("memory")}
        values = {name: _convert(hints[name], data[name]) for name in known if name in data}
        return cls(**values)


def _plain(value):
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def memory(default=None):
    """A field kept in memory for the notebook's tables and figures, never written to JSON."""
    return field(default=default, repr=False, compare=False, metadata={"memory": True})


def save(run: str, notebook: str, values) -> None:
    """Write ``data/<run>/results/<notebook>.json`` (outside the report runner: the run's scratch copy)."""
    path = paths.result_file(run, notebook, write=True)
    write_json(values.to_json() if isinstance(values, Record) else values, path)
    if paths.outside_runner():
        print(f"Saved to {path}: outside `make report` the published run data/{run}/ is left as it was.")
