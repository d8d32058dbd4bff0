"""A notebook's record of its key numbers: ``data/<run>/results/<notebook>.json``.

Usage::

    from helpers.data import records
    records.save("default", "01_simulate", record)     # a dict, or a result with ``to_json()``

01 and 02 save plain dicts through this module, so they import no analysis; the analyses' typed
results are saved the same way (``helpers.analysis.results.save``).
"""

from __future__ import annotations

from helpers import paths
from helpers.data.files import write_json


def save(run: str, notebook: str, values) -> None:
    """Write ``data/<run>/results/<notebook>.json`` (outside the report runner: the run's scratch copy)."""
    path = paths.result_file(run, notebook, write=True)
    write_json(values.to_json() if hasattr(values, "to_json") else values, path)
    if paths.outside_runner():
        print(f"Saved to {path}: outside `make report` the published run data/{run}/ is left as it was.")
