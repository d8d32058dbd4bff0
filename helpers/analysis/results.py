"""Typed results: what each analysis returns, what its notebook records, what every page reads.

Usage::

    from helpers.analysis import results
    from helpers.analysis.conversion import ConversionResult
    results.save("default", "03_conversion", result)          # result.to_json() into data/<run>/results/
    results.load("default", "03_conversion").headline          # a ConversionResult again
    results.load_all("default")                               # every recorded result, typed

Each analysis (``conversion``, ``spend``, ``purchase_styles``, ``strategy``) has one ``analyse``
function that returns one dataclass built on :class:`Record`. The dataclass names its headline
answer (:class:`Headline`), the badge with the rules it passed and failed (:class:`Badge`) and the
verdicts, and serialises to plain JSON; ``from_json`` rebuilds it, nested dataclasses included.
Settings come from the notebooks' ``parameters`` cells (:class:`Settings`), never from a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

from helpers import paths, registry
from helpers.data import records
from helpers.data.files import read_json
from helpers.data.gold import Population
from helpers.data.records import Record, memory  # noqa: F401  (re-exported: every result is built on them)


@dataclass
class Settings:
    """An analysis's settings: exactly the parameters its notebook declares (besides ``run``)."""

    @classmethod
    def pick(cls, namespace: dict):
        """The settings from a namespace holding the notebook's parameters (``globals()`` in a notebook)."""
        return cls(**{f.name: namespace[f.name] for f in fields(cls)})


# --------------------------------------------------------------------------------------------
# Pieces every result shares
# --------------------------------------------------------------------------------------------


@dataclass
class Rule(Record):
    """One rule beside a badge: its code, whether it holds, and the number and threshold it compares (if any)."""

    code: str
    passed: bool
    value: float | None = None
    threshold: float | None = None


@dataclass
class Badge(Record):
    """Confidence in an answer: 'high', 'medium', 'low' or 'none', with each rule's code and outcome.

    The rules' words come from ``helpers.presentation.words`` (``RULE_WORDS``), never from here.
    """

    level: str = "none"
    rules: list[Rule] = field(default_factory=list)

    @property
    def passed(self) -> list[str]:
        """The codes of the rules that hold."""
        return [r.code for r in self.rules if r.passed]

    @property
    def failed(self) -> list[str]:
        """The codes of the rules that do not hold."""
        return [r.code for r in self.rules if not r.passed]

    @classmethod
    def from_rules(cls, decisive: bool | None, checks: dict[str, bool | Rule | None]) -> Badge:
        """'high' only when the answer is decisive and every rule holds.

        ``checks`` maps a rule's code to whether it holds (or to a :class:`Rule` carrying its value and
        threshold). ``decisive`` None means not estimated ('none'); False gives 'low'; a failed rule
        gives 'medium'. Rules whose value is None do not apply (for example a truth check on real data).
        """
        if decisive is None:
            return cls("none", [])
        rules = [ok if isinstance(ok, Rule) else Rule(code, bool(ok)) for code, ok in checks.items() if ok is not None]
        failed = any(not r.passed for r in rules)
        level = "low" if not decisive else ("high" if not failed else "medium")
        return cls(level, rules)


@dataclass
class Headline(Record):
    """The one number an answer quotes: estimate and CI, its unit, the model it comes from and the rule that
    classified it (a code, with the threshold the rule compares against)."""

    feature: str
    estimate: float | None
    lo: float | None
    hi: float | None
    unit: str
    specification: str
    rule: str
    verdict: str
    threshold: float | None = None


@dataclass
class TruthRow(Record):
    """One true coefficient of the simulator beside the model's estimate and its 95 % CI."""

    effect: str
    truth: float
    estimate: float
    ci_lo: float
    ci_hi: float
    covered: bool


@dataclass
class AnalysisResult(Record):
    """What every analysis result has: whether it ran, why not, its badge and headline."""

    NOTEBOOK: ClassVar[str] = ""
    status: str = "ok"
    reason: str | None = None  # why not estimated: codes joined by ', ' (worded by words.common.reason_words)
    reason_values: dict[str, float] = field(default_factory=dict)  # the numbers behind the reason's codes
    badge: Badge = field(default_factory=Badge)
    sampled: bool = False
    headline: Headline | None = None
    population: Population | None = None  # the sessions described: all, or an experiment's untreated ones

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class ModelledResult(AnalysisResult):
    """A result from nested regression models: controls used and left out, pooled levels, fit health, truth check."""

    controls: list[str] = field(default_factory=list)
    skipped_controls: list[str] = field(default_factory=list)
    pooled: list[str] = field(default_factory=list)
    health: dict | None = None
    models: list[dict] | None = None
    truth: list[TruthRow] | None = None


def truth_covered(rows: list[TruthRow] | None) -> bool | None:
    """Whether every true effect lies inside its CI; None without a truth (real data)."""
    return None if not rows else all(r.covered for r in rows)


# --------------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------------


def save(run: str, notebook: str, values: Record | dict) -> None:
    """Write ``data/<run>/results/<notebook>.json`` (outside the report runner: the run's scratch copy)."""
    records.save(run, notebook, values)


# Each notebook's result type (the registry's), by module and class name: imported only when that result is
# read, so a notebook that saves its own result does not depend on (and is not rerun for) the other analyses' code.
RESULT_TYPES = {name: tuple(dotted.rsplit(".", 1)) for name, dotted in registry.result_types().items()}


def typed(notebook: str, data: dict):
    """A recorded JSON as its analysis's result type; notebooks without one (01, 02) stay dicts."""
    if notebook not in RESULT_TYPES:
        return data
    return registry.load(".".join(RESULT_TYPES[notebook])).from_json(data)


def load(run: str, notebook: str):
    """The result a notebook recorded (typed where the notebook has a result type); a clear error if absent."""
    path = paths.result_file(run, notebook)
    if not path.exists():
        raise FileNotFoundError(f"no results from {notebook} for run '{run}' ({path}); run that notebook first")
    return typed(notebook, read_json(path))


def load_all(run: str) -> dict:
    """All recorded results of a run, keyed by notebook name, typed where possible (outside the runner,
    a notebook's scratch record replaces its published one)."""
    files = {p.stem: p for p in sorted((paths.data_root() / run / "results").glob("*.json"))}
    if not paths.outside_runner():
        files = {p.stem: p for p in sorted(paths.results_dir(run).glob("*.json"))}
    else:
        files |= {p.stem: p for p in sorted((paths.scratch_dir(run) / "results").glob("*.json"))}
    return {name: typed(name, read_json(p)) for name, p in files.items()}


def truth(run: str) -> dict | None:
    """The simulator's truth of a run, or None for real data."""
    path = paths.raw_dir(run) / "truth.json"
    return read_json(path) if path.exists() else None
