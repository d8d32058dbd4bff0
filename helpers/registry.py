"""The notebooks, each declared once: its question, settings, result type, what it reads and writes.

Usage::

    from helpers import registry
    registry.NOTEBOOKS["04_spend"].reads            # ("02_gold_table",)
    registry.reads_from("06")                       # {"02", "03", "04", "05"}: by number
    registry.load(registry.NOTEBOOKS["04_spend"].result)   # the SpendResult class, imported now

The schedule (which notebook waits for which), the freshness check (whose outputs a notebook
depends on), results loading, ``make compare``, ``make validate`` and the README's notebook
table all read this one table. It sits at the bottom of ``helpers``: types are named by dotted
path and imported only when asked for (:func:`load`), so this module imports nothing of the
project and every layer may import it.

A notebook's parameters are declared by its ``parameters`` cell, which papermill reads: the
defaults live there and nowhere else (the simulator's knobs also have defaults in ``SimConfig``;
a test keeps the two equal). ``settings`` names the type a notebook builds from its parameters,
``options`` the parameters that are not fields of that type, and :data:`RULES` the allowed
values; tests check that the cells, the settings types and this table agree.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Notebook:
    """One numbered notebook: ``notebooks/<name>.ipynb``."""

    name: str
    question: str  # the README's one line
    settings: str | None  # dotted name of the type its parameters build (None: it has none)
    result: str | None  # dotted name of its result type (None: its record stays a plain dict)
    reads: tuple[str, ...] = ()  # notebooks whose outputs it reads: it starts after them, reruns when they change
    writes: tuple[str, ...] = ()  # folders of data/<run>/ it writes, besides results/<name>.json (cleared on rerun)
    options: tuple[str, ...] = ()  # parameters besides ``run`` that are not fields of ``settings``
    reads_also: str = ""  # what it reads that no notebook writes (the user's own data), in words

    @property
    def number(self) -> str:
        return self.name[:2]


_ANALYSIS = "helpers.analysis"
# 03-05 read the gold table, and 01's raw/truth.json and raw/fitness.json: those change only with the raw tables
# (and so the gold table) or with helpers these notebooks import themselves, so the gold table stands for them.
_ANALYSED = ("02_gold_table",)

NOTEBOOKS: dict[str, Notebook] = {
    nb.name: nb
    for nb in (
        Notebook(
            "01_simulate",
            "what data, and is it realistic?",
            settings="helpers.data.simulate.SimConfig",
            result=None,
            writes=("raw",),
            options=("data_dir", "event_log", "mapping", "preset", "session_table", "session_gap_minutes"),
            reads_also="nothing, or your data",
        ),
        Notebook(
            "02_gold_table",
            "one row per session, defined once",
            settings=None,
            result=None,
            reads=("01_simulate",),
            writes=("gold",),
            options=("engine", "spark_master"),
        ),
        Notebook(
            "03_conversion",
            "engagement or time: what goes with purchase?",
            settings=f"{_ANALYSIS}.conversion.Settings",
            result=f"{_ANALYSIS}.conversion.ConversionResult",
            reads=_ANALYSED,
        ),
        Notebook(
            "04_spend",
            "among buyers, what goes with higher spend?",
            settings=f"{_ANALYSIS}.spend.Settings",
            result=f"{_ANALYSIS}.spend.SpendResult",
            reads=_ANALYSED,
        ),
        Notebook(
            "05_purchase_style",
            "do cheap-many and expensive-few buyers browse differently?",
            settings=f"{_ANALYSIS}.purchase_styles.Settings",
            result=f"{_ANALYSIS}.purchase_styles.StylesResult",
            reads=_ANALYSED,
        ),
        Notebook(
            "06_strategy",
            "recommendations and a powered, simulated experiment; the read-out of a test the data carry",
            settings=f"{_ANALYSIS}.strategy.Settings",
            result=f"{_ANALYSIS}.strategy.StrategyResult",
            reads=("02_gold_table", "03_conversion", "04_spend", "05_purchase_style"),
            writes=("experiment", "figures"),
            options=("plan_run", "plan_file"),  # the plan of a test read out: another run's 06 result, or a file
            reads_also="with a variant in the data, the plan of the test (`plan_run`'s 06 result or `plan_file`)",
        ),
    )
}

BY_NUMBER: dict[str, Notebook] = {nb.number: nb for nb in NOTEBOOKS.values()}

# What a written folder holds, in words: the key a reader sees in run.json's inputs and in "why it ran".
FOLDERS = {
    "raw": "raw tables",
    "gold": "gold table",
    "experiment": "simulated experiment arms",
    "figures": "figures for the front page",
}

# Allowed values of parameters that are not simulator knobs (``SimConfig`` checks its own), by name:
# a rule and the words that say what is allowed.
RULES = {
    "alpha": (lambda v: 0 < v < 0.5, "a significance level between 0 and 0.5"),
    "power": (lambda v: 0.5 <= v < 1, "a power between 0.5 and 1"),
    "relative_mde": (lambda v: 0 < v <= 5, "a relative lift between 0 and 5"),
    "equivalence_margin": (lambda v: 0 < v <= 2, "a standardised margin between 0 and 2"),
    "negligible_pct": (lambda v: 0 < v < 100, "a % of spend per SD between 0 and 100"),
    "guardrail_margin": (lambda v: 0 < v <= 1, "a relative margin between 0 and 1"),
    "revenue_margin": (lambda v: 0 < v <= 1, "a relative margin between 0 and 1"),
    "cv_folds": (lambda v: 2 <= v <= 20, "between 2 and 20 folds"),
    "max_model_rows": (lambda v: v >= 1000, "at least 1000 rows"),
    "experiment_sessions_per_arm": (lambda v: 0 <= v <= 50_000_000, "between 0 and 50000000"),
    "store_daily_sessions": (lambda v: 0 <= v <= 1e9, "0 (the data's own rate) or the store's sessions per day"),
    "min_buyers": (lambda v: v >= 2, "at least 2"),
    "session_gap_minutes": (lambda v: 0 < v <= 24 * 60, "between 0 and 1440 minutes"),
    "min_events_per_parameter": (lambda v: 1 <= v <= 100, "between 1 and 100"),
    "experiment_start": (
        lambda v: v == "" or bool(re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", v)),
        "a date YYYY-MM-DD, or empty",
    ),
}
CHOICES = {"engine": ("duckdb", "spark")}  # parameters that take one of a few words


def reads_from(number: str) -> set[str]:
    """Numbers of the notebooks whose outputs notebook ``number`` reads; empty for a notebook not declared here."""
    nb = BY_NUMBER.get(number[:2])
    return {NOTEBOOKS[r].number for r in nb.reads} if nb else set()


def writes(number: str) -> tuple[str, ...]:
    """Folders of the run's data that notebook ``number`` writes besides its results record."""
    nb = BY_NUMBER.get(number[:2])
    return nb.writes if nb else ()


def result_types() -> dict[str, str]:
    """Notebook name -> dotted name of its result type, for the notebooks that have one."""
    return {nb.name: nb.result for nb in NOTEBOOKS.values() if nb.result}


def analyses() -> list[Notebook]:
    """The notebooks whose settings and result are an analysis's (``helpers.analysis``)."""
    return [nb for nb in NOTEBOOKS.values() if nb.result and (nb.settings or "").startswith(_ANALYSIS)]


def load(dotted: str):
    """The object a dotted name names (``"helpers.analysis.spend.SpendResult"``), its module imported now."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def notebook_table() -> str:
    """The README's table of notebooks: question, what each reads and what it writes."""
    lines = ["| notebook | question | reads | writes |", "|---|---|---|---|"]
    for nb in NOTEBOOKS.values():
        read = [f"`{NOTEBOOKS[r].name}` ({_outputs_in_words(NOTEBOOKS[r])})" for r in nb.reads]
        written = [f"`data/<run>/{folder}/`" for folder in nb.writes] + [f"`results/{nb.name}.json`"]
        reads = ", ".join(([nb.reads_also] if nb.reads_also else []) + read) or "nothing"
        lines.append(f"| `{nb.name}` | {nb.question} | {reads} | {', '.join(written)} |")
    return "\n".join(lines)


def _outputs_in_words(nb: Notebook) -> str:
    return ", ".join(FOLDERS[f] for f in nb.writes) or "result"
