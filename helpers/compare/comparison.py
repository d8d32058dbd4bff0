"""Two runs side by side from their typed results: headline metrics, conclusions, recommendations, data.

Usage::

    from helpers.compare import comparison
    found = comparison.compare("default", "tm")     # a Comparison; raises CompareError when it must refuse
    [row.label for row in found.metrics if row.diff.flagged]   # beyond chance, Holm over the rows shown
    found.design                                       # 'independent', 'same_seed', 'same_data' or 'same_run'

A run is read from ``data/<run>/results/`` (``results.load_all``), ``reports/<run>/run.json`` (its
parameters, data fingerprint and stale pages) and its gold table (totals in SQL, a sample for the
drift); never from its HTML. :func:`open_run` refuses a run that does not exist, whose last attempt
failed (``reports/<run>.failed``) or that has stale pages, and :func:`check_compatible` two runs
whose results were recorded by different versions of the result types.

The design of the pair (:func:`design`) decides the tests: independent samples are compared with
``sqrt(se_a² + se_b²)``; runs that share their data or their simulator seed (and so their users)
have their means compared paired over the shared users, and their answers' estimates, recorded only
with their CIs, untested (``stats.untested``). The flags are Holm-adjusted across the rows shown,
and a changed verdict counts only when the change in an estimate behind it is beyond chance
(:func:`conclusions`, ``Conclusion.status``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import paths, registry
from helpers.analysis import conversion, results, strategy
from helpers.analysis import stats as analysis_stats
from helpers.compare import stats
from helpers.data import duck, gold
from helpers.data.files import read_json
from helpers.errors import ReportError
from helpers.presentation.words import answers as answer_words
from helpers.presentation.words import common
from helpers.presentation.words import strategy as strategy_words

ANALYSES = tuple(nb.name for nb in registry.analyses() if nb.reads == ("02_gold_table",))  # 03, 04, 05
DRIFT_SAMPLE = 200_000  # sessions read per run for the drift statistics (a uniform sample beyond that)
BUYER_COLUMNS = ("amount_usd", "n_orders", "n_items", "avg_item_price_usd", "gross_margin_usd")
IDS = {"session_id", "user_id", "started_at"}
UNITS = {col: unit for col, unit, _ in gold.DICTIONARY}
RESULT_TYPES = tuple(registry.load(dotted) for dotted in registry.result_types().values())


class CompareError(ReportError):
    """Two runs cannot be compared: one is missing, stale or failed, or their results differ in version."""


# --------------------------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One finished run: its record (``run.json``), its typed results and its folders."""

    name: str
    record: dict
    results: dict
    data: Path
    reports: Path

    @property
    def gold(self) -> dict:
        return self.results.get("02_gold_table") or {}

    @property
    def source(self) -> dict:
        return self.results.get("01_simulate") or {}

    @property
    def simulated(self) -> bool:
        return self.source.get("source", "simulator") == "simulator"

    @property
    def gold_dir(self) -> Path:
        return self.data / "gold"


def open_run(name: str) -> Run:
    """The run ``name`` read for a comparison; a CompareError when it does not exist, failed or is stale."""
    data, reports = paths.data_root() / name, paths.reports_root() / name
    record_path = reports / "run.json"
    if not data.is_dir() or not record_path.exists():
        raise CompareError(f"run '{name}' does not exist (no {record_path}); make it with: make report RUN={name}")
    failed = paths.reports_root() / f"{name}.failed"
    if failed.exists():
        raise CompareError(
            f"run '{name}' failed on its last attempt ({failed}); fix it and rerun: make report RUN={name}"
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("stale"):
        numbers = ",".join(n[:2] for n in record["stale"])
        raise CompareError(
            f"run '{name}' is stale ({', '.join(record['stale'])} predate a rerun); "
            f"refresh it with: make report RUN={name} ONLY={numbers}"
        )
    if not (data / "results" / "02_gold_table.json").exists() or not (data / "gold").exists():
        raise CompareError(f"run '{name}' has no gold table; rerun it: make report RUN={name}")
    try:
        loaded = {p.stem: results.typed(p.stem, read_json(p)) for p in sorted((data / "results").glob("*.json"))}
    except (TypeError, KeyError, ValueError) as exc:
        raise CompareError(
            f"run '{name}' recorded results this version cannot read ({exc}); rerun it: make report RUN={name}"
        ) from None
    return Run(name, record, loaded, data, reports)


def check_compatible(a: Run, b: Run) -> None:
    """Refuse two runs whose results were recorded by different versions of the result types.

    Every recorded result lists every field of its type (``Record.to_json``), so two runs made by
    the same version record the same fields; a field one run has and the other lacks means one of
    them predates a change of the results. Fields this code does not know are refused too.
    """
    known = {
        cls.NOTEBOOK: {f.name for f in dataclasses.fields(cls) if not f.metadata.get("memory")} for cls in RESULT_TYPES
    }
    keys_a, keys_b = _present_keys(a), _present_keys(b)
    for run, keys in ((a, keys_a), (b, keys_b)):
        for nb, fields_ in keys.items():
            unknown = fields_ - known.get(nb, fields_)
            if unknown:
                raise CompareError(
                    f"run '{run.name}' was made by another version of the results ({nb} records "
                    f"{', '.join(sorted(unknown))}, unknown here); rerun it: make report RUN={run.name}"
                )
    for nb in sorted(set(keys_a) & set(keys_b)):
        only_a, only_b = keys_a[nb] - keys_b[nb], keys_b[nb] - keys_a[nb]
        if only_a or only_b:
            which, older, fields_ = (a, b, only_a) if only_a else (b, a, only_b)
            raise CompareError(
                f"runs '{a.name}' and '{b.name}' were made by incompatible versions of the results: {nb} of "
                f"'{which.name}' records {', '.join(sorted(fields_))}, which '{older.name}' lacks; "
                f"rerun both with this version (make report RUN=...)"
            )
    missing = [k for k in ("rows", "buyers", "revenue_usd") if k not in a.gold or k not in b.gold]
    if missing:
        raise CompareError(f"a run's gold-table record lacks {', '.join(missing)}; rerun both runs")


def _present_keys(run: Run) -> dict[str, set[str]]:
    """The fields each recorded result lists, by notebook."""
    out = {}
    for nb in (*registry.result_types(), "02_gold_table"):
        path = run.data / "results" / f"{nb}.json"
        if path.exists():
            out[nb] = set(read_json(path))
    return out


# --------------------------------------------------------------------------------------------
# The design: independent samples or shared data
# --------------------------------------------------------------------------------------------


def seed(run: Run) -> int | None:
    """The simulator seed a simulated run drew its data from (None for a run on the user's data)."""
    if not run.simulated:
        return None
    value = (run.source.get("config") or {}).get("seed", run.record.get("parameters", {}).get("seed"))
    return None if value is None else int(value)


def _gold_source(gold_dir: Path) -> str:
    target = Path(gold_dir) / "sessions.parquet"
    return f"read_parquet('{target}/*.parquet')" if target.is_dir() else f"read_parquet('{target}')"


def _user_column(con, source: str) -> str:
    names = {c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    return duck.quote("user_id" if "user_id" in names else "session_id")


def shared_users(a: Run, b: Run) -> int:
    """How many users (by id; sessions when a table has no user ids) appear in both runs' gold tables."""
    con = duck.connect()
    sa, sb = _gold_source(a.gold_dir), _gold_source(b.gold_dir)
    ua, ub = _user_column(con, sa), _user_column(con, sb)
    query = (
        f"SELECT count(*) FROM (SELECT DISTINCT {ua}::VARCHAR AS u FROM {sa}) "
        f"JOIN (SELECT DISTINCT {ub}::VARCHAR AS u FROM {sb}) USING (u)"
    )
    return int(con.execute(query).fetchone()[0])


def design(a: Run, b: Run) -> str:
    """How the two runs relate (``stats.DESIGNS``), which decides the test their differences get.

    'same_run' for a run against itself; 'same_data' when both hold data with one fingerprint;
    'same_seed' when both are simulations from one seed whose gold tables share users (a changed knob
    leaves the draws before it alike: the samples are not independent); else 'independent'.
    """
    if a.name == b.name:
        return "same_run"
    fa, fb = a.record.get("data_fingerprint"), b.record.get("data_fingerprint")
    if fa and fa == fb:
        return "same_data"
    if seed(a) is not None and seed(a) == seed(b) and shared_users(a, b) > 0:
        return "same_seed"
    return "independent"


# --------------------------------------------------------------------------------------------
# Each answer's estimates
# --------------------------------------------------------------------------------------------

FEATURE_WORDS = {"engagement": "engagement", "time": "time", "idle": "idle time"}


@dataclass
class Estimate:
    """One estimate an answer rests on, with its 95 % CI, the scale it is normal on and its no-effect band."""

    analysis: str
    feature: str
    label: str
    unit: str
    value: float | None
    lo: float | None
    hi: float | None
    scale: str  # 'log' (odds ratio), 'log1p_pct' (% change), 'linear'
    band: tuple[float, float] | None
    verdict: str
    specification: str = ""
    band_lo: float | None = None  # the CI the verdict's rule reads (05 reads the 90 % CI)
    band_hi: float | None = None
    band_level: str = "95 %"


def estimates(nb: str, result) -> dict[str, Estimate]:
    """The estimates behind an answer, by feature; empty when the analysis did not run or estimated nothing."""
    if result is None or not getattr(result, "ok", False) or result.verdicts is None:
        return {}
    out = {}
    if nb == "03_conversion":
        band = (1 / result.negligible_or, result.negligible_or) if result.negligible_or else None
        for e in result.effects or []:
            if e.feature in FEATURE_WORDS and e.or_per_sd is not None:
                out[e.feature] = Estimate(
                    nb, e.feature, f"03 {FEATURE_WORDS[e.feature]}", "odds ratio per SD", e.or_per_sd, e.or_lo,
                    e.or_hi, "log", band, getattr(result.verdicts, e.feature, ""), "both + controls",
                )  # fmt: skip
    elif nb == "04_spend":
        pct = result.verdicts.negligible_pct
        for c in result.verdicts.calls():
            if c.pct is not None:
                out[c.feature] = Estimate(
                    nb, c.feature, f"04 {FEATURE_WORDS.get(c.feature, c.feature)}", "% change in spend per SD",
                    c.pct, c.lo, c.hi, "log1p_pct", (-pct, pct), c.verdict, c.specification or "",
                )  # fmt: skip
    elif nb == "05_purchase_style":
        m = result.equivalence_margin
        for row in result.comparison or []:
            out[row.column] = Estimate(
                nb, row.column, f"05 {row.metric}", "standardised mean difference", row.smd, row.smd_lo, row.smd_hi,
                "linear", (-m, m) if m else None, row.verdict, "expensive-few minus cheap-many",
                row.smd_lo90, row.smd_hi90, "90 %",
            )  # fmt: skip
    for est in out.values():
        if est.band_lo is None:
            est.band_lo, est.band_hi = est.lo, est.hi
    return out


def headline_features(nb: str, a: Run, b: Run) -> list[str]:
    """The features the two runs' headlines quote for ``nb`` (03 always shows both engagement and time)."""
    if nb == "03_conversion":
        return ["engagement", "time"]
    found = []
    for run in (a, b):
        result = run.results.get(nb)
        head = getattr(result, "headline", None)
        if head is not None and head.feature not in found:
            found.append(head.feature)
    return found


# --------------------------------------------------------------------------------------------
# 1. Headline metrics
# --------------------------------------------------------------------------------------------


@dataclass
class MetricRow:
    """One headline metric in A and B, and B against A."""

    label: str
    kind: str  # how to show the values: int, share, usd, ratio, pct, smd
    a: float | None
    b: float | None
    diff: stats.Difference
    a_ci: tuple[float, float] | None = None
    b_ci: tuple[float, float] | None = None
    note: str = ""  # a code: 'count', 'too_few', 'models_differ', 'only_in_a', 'only_in_b' (worded by words.note)
    note_detail: tuple[str, str] | None = None  # the two specifications when the models differ


def gold_totals(gold_dir: Path) -> dict:
    """Per-user sums of the gold table, in SQL: what the headline means and their clustered SEs need."""
    con = duck.connect()
    target = Path(gold_dir) / "sessions.parquet"
    files = f"{target}/*.parquet" if target.is_dir() else str(target)
    con.execute(f"CREATE VIEW gold AS SELECT * FROM read_parquet('{files}')")
    names = {c[0] for c in con.execute("DESCRIBE gold").fetchall()}
    user = "user_id" if "user_id" in names else "session_id"
    row = con.execute(
        f"""WITH u AS (
              SELECT count(*)::DOUBLE AS n, sum(did_purchase)::DOUBLE AS b, sum(amount_usd)::DOUBLE AS r,
                     sum(n_orders)::DOUBLE AS o
              FROM gold GROUP BY {duck.quote(user)})
            SELECT count(*), sum(n), sum(b), sum(r), sum(o), sum(n * n), sum(b * b), sum(b * n), sum(r * r),
                   sum(r * n), sum(o * o), sum(r * o), count(*) FILTER (WHERE o > 0)
            FROM u"""
    ).fetchone()
    keys = ["users", "n", "b", "r", "o", "nn", "bb", "bn", "rr", "rn", "oo", "ro", "buying_users"]
    return {k: float(v or 0) for k, v in zip(keys, row, strict=True)}


PAIRED_SUMS = {  # mean -> (per-user numerator, per-user denominator) of its ratio of sums
    "conversion": ("b", "n"),
    "revenue per session": ("r", "n"),
    "average order value": ("r", "o"),
}


def paired_totals(gold_a: Path, gold_b: Path) -> pd.DataFrame:
    """Per-user sessions (n), purchases (b), revenue (r) and orders (o) in A and B, over every user of either
    run (0 where a user has no session in a run), matched by user id."""
    con = duck.connect()
    parts = []
    for side, gold_dir in (("a", gold_a), ("b", gold_b)):
        source = _gold_source(gold_dir)
        user = _user_column(con, source)
        parts.append(
            f"""{side} AS (SELECT {user}::VARCHAR AS u, count(*)::DOUBLE AS n, sum(did_purchase)::DOUBLE AS b,
                   sum(amount_usd)::DOUBLE AS r, sum(n_orders)::DOUBLE AS o FROM {source} GROUP BY 1)"""
        )
    cols = ", ".join(f"coalesce({side}.{k}, 0) AS {k}_{side}" for side in "ab" for k in "nbro")
    return con.execute(f"WITH {', '.join(parts)} SELECT {cols} FROM a FULL OUTER JOIN b USING (u)").df()


def paired_means(totals: pd.DataFrame) -> dict[str, stats.Difference]:
    """B - A of conversion, revenue per session and order value, paired over the users
    (``stats.paired_ratio_difference``)."""
    out = {}
    for label, (y, x) in PAIRED_SUMS.items():
        t = totals[(totals[f"{x}_a"] > 0) | (totals[f"{x}_b"] > 0)]  # order value: users with an order in a run
        out[label] = stats.paired_ratio_difference(t[f"{y}_a"], t[f"{x}_a"], t[f"{y}_b"], t[f"{x}_b"])
    return out


def headline_means(t: dict) -> dict[str, stats.RatioOfSums]:
    """Conversion, revenue per session and average order value with user-clustered SEs."""
    return {
        "conversion": stats.ratio_of_sums(int(t["users"]), t["b"], t["n"], t["bb"], t["bn"], t["nn"]),
        "revenue per session": stats.ratio_of_sums(int(t["users"]), t["r"], t["n"], t["rr"], t["rn"], t["nn"]),
        "average order value": stats.ratio_of_sums(int(t["buying_users"]), t["r"], t["o"], t["rr"], t["ro"], t["oo"]),
    }


def _ci(m: stats.RatioOfSums) -> tuple[float, float] | None:
    if m.estimate is None or m.se is None:
        return None
    return m.estimate - stats.Z95 * m.se, m.estimate + stats.Z95 * m.se


def metric_rows(a: Run, b: Run, how: str = "independent") -> list[MetricRow]:
    """Sessions, conversion, buyers, revenue, order value, then each answer's key estimate; B against A.

    ``how`` is the design (``design``): independent runs are tested with sqrt(se_a² + se_b²); runs
    that share data or seed have their means tested paired over their users and their answers'
    estimates untested. The p-values of the rows are then Holm-adjusted as one family.
    """
    ta, tb = gold_totals(a.gold_dir), gold_totals(b.gold_dir)
    ma, mb = headline_means(ta), headline_means(tb)
    paired = paired_means(paired_totals(a.gold_dir, b.gold_dir)) if how != "independent" else None
    count_note = "count"
    rows = [MetricRow("sessions", "int", ta["n"], tb["n"], _count_diff(ta["n"], tb["n"]), note=count_note)]
    for label, kind in (("conversion", "share"), ("revenue per session", "usd")):
        rows.append(_mean_row(label, kind, ma[label], mb[label], paired))
    rows.append(MetricRow("buyers", "int", ta["b"], tb["b"], _count_diff(ta["b"], tb["b"]), note=count_note))
    rows.append(MetricRow("revenue", "usd", ta["r"], tb["r"], _count_diff(ta["r"], tb["r"]), note=count_note))
    rows.append(_mean_row("average order value", "usd", ma["average order value"], mb["average order value"], paired))
    for nb in ANALYSES:
        ea, eb = estimates(nb, a.results.get(nb)), estimates(nb, b.results.get(nb))
        for feature in headline_features(nb, a, b):
            rows.append(estimate_row(ea.get(feature), eb.get(feature), how))
    rows = [r for r in rows if r is not None]
    adjust(r.diff for r in rows)
    return rows


def adjust(diffs) -> None:
    """Holm-adjust the p-values of ``diffs`` as one family (``Difference.p_adjusted``), in place."""
    diffs = list(diffs)
    for d, p in zip(diffs, stats.holm([d.p for d in diffs]), strict=True):
        d.p_adjusted = p


def _count_diff(a: float, b: float) -> stats.Difference:
    return stats.Difference(b - a, None, None, None, method="count")


def _mean_row(
    label: str, kind: str, ma: stats.RatioOfSums, mb: stats.RatioOfSums, paired: dict | None = None
) -> MetricRow:
    diff = stats.NONE
    if paired is not None:
        diff = paired[label]
    elif ma.se is not None and mb.se is not None:
        diff = stats.difference(ma.estimate, ma.se, mb.estimate, mb.se)
    note = "" if diff.value is not None else "too_few"
    return MetricRow(label, kind, ma.estimate, mb.estimate, diff, _ci(ma), _ci(mb), note)


KIND_OF_SCALE = {"log": "ratio", "log1p_pct": "pct", "linear": "smd"}


def estimate_test(ea: Estimate, eb: Estimate, how: str = "independent") -> stats.Difference:
    """B against A of one estimate: tested as independent samples, or untested when the runs share data or seed."""
    if how == "independent":
        return stats.difference_of_estimates(ea.value, ea.lo, ea.hi, eb.value, eb.lo, eb.hi, ea.scale)
    return stats.untested(ea.value, eb.value, ea.scale)


def estimate_row(ea: Estimate | None, eb: Estimate | None, how: str = "independent") -> MetricRow | None:
    """One answer's estimate in A and B and the test of their difference (none when the design allows none)."""
    first = ea or eb
    if first is None:
        return None
    diff = stats.NONE
    note, detail = "", None
    if ea and eb:
        diff = estimate_test(ea, eb, how)
        if ea.specification != eb.specification:
            note, detail = "models_differ", (ea.specification, eb.specification)
    else:
        note = "only_in_a" if ea else "only_in_b"
    return MetricRow(
        f"{first.label}: {first.unit}",
        KIND_OF_SCALE[first.scale],
        ea.value if ea else None,
        eb.value if eb else None,
        diff,
        (ea.lo, ea.hi) if ea else None,
        (eb.lo, eb.hi) if eb else None,
        note,
        detail,
    )


# --------------------------------------------------------------------------------------------
# 2. Conclusions
# --------------------------------------------------------------------------------------------


# What a verdict change counts as (``Conclusion.status``): 'unchanged'; 'changed' (an estimate behind it changed
# beyond chance, Holm over the moved estimates); 'settings' (the runs read one data set: the change comes from the
# settings, not from sampling); 'estimability' (estimated in one run only); 'within_chance' (no estimate behind it
# changed beyond chance: not counted); 'untested' (the runs share a seed, so no test applies: not counted).
COUNTED = ("changed", "settings", "estimability")


@dataclass
class Conclusion:
    """One question's answer and badge in A and B, whether the verdict changed, and why."""

    question: str
    page: str
    answer_a: results.Answer | None
    answer_b: results.Answer | None
    verdict_a: str
    verdict_b: str
    changed: bool  # the verdicts differ and the change counts (``status`` in COUNTED)
    reasons: list[str] = field(default_factory=list)
    badge_changes: list[str] = field(default_factory=list)
    status: str = "unchanged"
    tests: list[tuple[Estimate, Estimate, stats.Difference]] = field(default_factory=list)


def verdict(nb: str, result) -> str:
    """An analysis's verdicts in a few words (what 'changed' compares)."""
    if result is None:
        return "not recorded"
    if not result.ok or result.verdicts is None:
        return "not estimated"
    v = result.verdicts
    if nb == "03_conversion":
        return f"answer {v.answer}; engagement {v.engagement}, time {v.time}; time adds: {v.time_adds}"
    if nb == "04_spend":
        calls = ", ".join(f"{FEATURE_WORDS.get(c.feature, c.feature)} {c.verdict}" for c in v.calls())
        return calls + ("; behaviour explains little" if v.explains_little else "")
    above = "above" if v.behaviour_above_chance else "not above"
    return f"browsing {v.browsing}; browsing classifier {above} chance"


def answers(run: Run) -> dict[str, answer_words.Answer]:
    """The answers the run's front page shows, worded from 03-05's own results."""
    return {r.page: r for r in answer_words.summary(run.results)}


def conclusions(a: Run, b: Run, how: str = "independent") -> list[Conclusion]:
    """For each question, A's verdict and badge beside B's; a changed verdict explained by its numbers.

    A verdict that differs counts as changed only when an estimate behind it changed beyond chance
    (the changes of every moved estimate on the page are one Holm family), when the runs read the same
    data (the change then comes from the settings), or when one run could not estimate it.
    """
    ans_a, ans_b = answers(a), answers(b)
    out = []
    for nb, question in common.QUESTIONS.items():
        ra, rb = a.results.get(nb), b.results.get(nb)
        va, vb = verdict(nb, ra), verdict(nb, rb)
        item = Conclusion(question, nb, ans_a.get(nb), ans_b.get(nb), va, vb, False)
        if va != vb:
            item.tests = estimate_changes(nb, ra, rb, how)
        item.badge_changes = badge_changes(ra, rb)
        out.append(item)
    adjust(d for c in out for _, _, d in c.tests)
    for c in out:
        if c.verdict_a != c.verdict_b:
            c.status = change_status(c.verdict_a, c.verdict_b, [d for _, _, d in c.tests], how)
            c.changed = c.status in COUNTED
            c.reasons = explain(c.page, a.results.get(c.page), b.results.get(c.page), c.tests)
    return out


def estimate_changes(nb: str, ra, rb, how: str = "independent") -> list[tuple[Estimate, Estimate, stats.Difference]]:
    """The estimates behind a changed verdict (those whose class moved, else all), each with its test."""
    ea, eb = estimates(nb, ra), estimates(nb, rb)
    moved = [f for f in ea if f in eb and ea[f].verdict != eb[f].verdict]
    return [(ea[f], eb[f], estimate_test(ea[f], eb[f], how)) for f in (moved or [f for f in ea if f in eb])]


def change_status(verdict_a: str, verdict_b: str, tests: list[stats.Difference], how: str) -> str:
    """What a verdict that differs between A and B counts as (a code of ``Conclusion.status``)."""
    if verdict_a == verdict_b:
        return "unchanged"
    if {verdict_a, verdict_b} & {"not recorded", "not estimated"}:
        return "estimability"
    if how in ("same_data", "same_run"):
        return "settings"
    if not tests or not any(d.tested for d in tests):
        return "untested"
    return "changed" if any(d.flagged for d in tests) else "within_chance"


def explain(nb: str, ra, rb, tests=None) -> list[str]:
    """Sentences naming the numbers behind a changed verdict, each with the test of the change."""
    from helpers.compare import words

    for run_result, side in ((ra, "A"), (rb, "B")):
        if run_result is None or not run_result.ok:
            why = getattr(run_result, "reason", None) or "the analysis did not run"
            return [f"Not estimated in {side}: {why}."]
    if tests is None:
        tests = estimate_changes(nb, ra, rb)
    return [words.estimate_change(ea, eb, d) for ea, eb, d in tests]


def badge_changes(ra, rb) -> list[str]:
    """The badge's level and the rules it newly meets or no longer meets, when they differ."""
    if ra is None or rb is None:
        return []
    a, b = ra.badge, rb.badge
    out = []
    if a.level != b.level:
        out.append(f"confidence {a.level} in A, {b.level} in B")
    if "none" in (a.level, b.level):  # one side estimated nothing: its rules say nothing
        return out
    passed_a, failed_a = set(a.passed), set(a.failed)  # rules are matched by their codes, worded only here
    out += [f"now meets: {common.rule_text(r)}" for r in b.rules if r.passed and r.code not in passed_a]
    out += [
        f"no longer meets: {common.rule_text(r)}"
        for r in b.rules
        if not r.passed and r.code not in failed_a and r.code in passed_a
    ]
    return out


# --------------------------------------------------------------------------------------------
# 4. Recommendations
# --------------------------------------------------------------------------------------------


@dataclass
class RecommendationChange:
    """A recommendation that appeared, disappeared or changed status between A and B, and why."""

    id: str
    title: str
    change: str  # 'appeared', 'disappeared', 'status changed', 'unchanged'
    status_a: str
    status_b: str
    reason: str


class UnknownRecommendation(KeyError):
    """A recorded recommendation whose id is not one of ``strategy.RECOMMENDATIONS``."""


def _by_id(run: Run) -> dict[str, strategy.Recommendation]:
    recs = getattr(run.results.get("06_strategy"), "recommendations", [])
    unknown = [r.id for r in recs if r.id not in strategy.RECOMMENDATIONS]
    if unknown:
        raise UnknownRecommendation(f"run '{run.name}' records recommendation ids {unknown} that 06 does not define")
    return {r.id: r for r in recs}


def recommendation_changes(a: Run, b: Run) -> list[RecommendationChange]:
    """Recommendations matched by id: appeared in B, gone from B, or with another status (an unknown id raises)."""
    recs_a, recs_b = _by_id(a), _by_id(b)
    out = []
    for rid in [*recs_a, *(i for i in recs_b if i not in recs_a)]:
        ra, rb = recs_a.get(rid), recs_b.get(rid)
        title = strategy_words.title(ra or rb)
        if ra is None:
            out.append(RecommendationChange(rid, title, "appeared", "absent", rb.status, _why(rb)))
        elif rb is None:
            why = f"In A it rested on {strategy_words.evidence(ra)}."
            out.append(RecommendationChange(rid, title, "disappeared", ra.status, "absent", why))
        elif ra.status != rb.status:
            out.append(RecommendationChange(rid, title, "status changed", ra.status, rb.status, _why(rb, ra)))
        else:
            out.append(RecommendationChange(rid, title, "unchanged", ra.status, rb.status, ""))
    return out


def _why(recorded: strategy.Recommendation, before: strategy.Recommendation | None = None) -> str:
    """Why a recommendation has its status in B: its withdrawal reason, or the evidence it rests on."""
    rec = strategy_words.recommendation(recorded)
    if before is not None:
        before = strategy_words.recommendation(before)
    if rec.status == "withdrawn":
        text = rec.text.removeprefix("Withdrawn: ")
    elif rec.status == "supported":
        text = f"{rec.text} It rests on {rec.evidence}"
    else:
        text = rec.evidence or rec.status
    if before is not None and before.evidence and before.evidence != rec.evidence:
        text += f" (in A: {before.evidence})"
    return text[:1].upper() + text[1:].rstrip(".") + "."


# --------------------------------------------------------------------------------------------
# 3. The data
# --------------------------------------------------------------------------------------------


def provenance(run: Run) -> dict[str, str]:
    """Where a run's data came from, in words: source, mapping, rows, span, zone, fingerprint."""
    from helpers.presentation import formatting

    counts = run.source.get("counts") or {}
    first, last = (run.gold.get("time_range") or ["", ""])[:2]
    span = ""
    if first and last:
        hours = (pd.Timestamp(last) - pd.Timestamp(first)).total_seconds() / 3600
        span = f" ({formatting.span(hours)})"
    p = run.source.get("provenance") or {}
    if run.simulated:
        config = run.source.get("config") or {}
        source = f"simulator (seed {config.get('seed', run.record.get('parameters', {}).get('seed', '?'))})"
        mapping, zone = "none: simulated tables", "UTC (simulated)"
    else:
        source = f"{formatting.KIND_WORDS.get(p.get('kind'), 'your data')}: {p.get('file', '?')}"
        mapping = formatting.mapping_words(p["mapping"]) if p.get("mapping") else "?"
        zone = formatting.timezone_words(p["timezone"]) if p.get("timezone") else "?"
    rows = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items() if isinstance(v, int))
    return {
        "source": source,
        "scenario": run.record.get("scenario") or "none",
        "mapping or preset": mapping,
        "rows": rows + (f" ({p['rows_read']:,} rows read)" if p.get("rows_read") is not None else ""),
        "sessions started (UTC)": f"{first[:16]} to {last[:16]}{span}" if first else "",
        "time zone": zone,
        "data fingerprint": run.record.get("data_fingerprint", ""),
        "finished (UTC)": run.record.get("finished_utc", "").replace("T", " ").replace("+00:00", ""),
    }


def parameter_changes(a: Run, b: Run) -> list[tuple[str, str, str]]:
    """Parameters whose values differ; a simulator knob reads 'not used' in a run on the user's data."""
    from helpers.data.simulate import SimConfig

    knobs = SimConfig.knobs()
    pa, pb = a.record.get("parameters", {}), b.record.get("parameters", {})
    out = []
    for name in sorted(set(pa) | set(pb)):
        va, vb = pa.get(name, "absent"), pb.get(name, "absent")
        if va == vb:
            continue
        if name in knobs and not (a.simulated and b.simulated):
            va = va if a.simulated else "not used (your data)"
            vb = vb if b.simulated else "not used (your data)"
            if va == vb:
                continue
        out.append((name, "" if va == "" else str(va), "" if vb == "" else str(vb)))
    return out


def drift_columns() -> tuple[list[str], list[str]]:
    """The gold columns the analyses read: over all sessions, and over buyers only (spend, styles)."""
    sessions = [
        *(col for col, _ in analysis_stats.FEATURES.values()),
        *conversion.GOLD_COLUMNS_READ,
        *strategy.GOLD_COLUMNS_READ,
        "n_page_view",
        "pre_conversion_page_views",
    ]
    sessions = [c for c in dict.fromkeys(sessions) if c not in IDS and c not in BUYER_COLUMNS]
    return sessions, list(BUYER_COLUMNS)


@dataclass
class DriftRow:
    """One gold column in A and B: a summary of each and the PSI between them."""

    column: str
    scope: str  # 'sessions' or 'buyers'
    summary_a: str
    summary_b: str
    drift: stats.Drift | None
    note: str = ""


def _summary(column: str, values: pd.Series) -> str:
    """A column in a few words: the share of 1s of a 0/1 flag, the median of a number, the top level of a label."""
    values = values.dropna()
    if values.empty:
        return "no values"
    if UNITS.get(column) == "0/1":
        return f"{values.mean():.1%} are 1"
    if pd.api.types.is_numeric_dtype(values) and values.dtype != bool:
        return f"median {values.median():,.4g}"
    top = values.astype(str).value_counts(normalize=True)
    return f"{top.index[0]} {top.iloc[0]:.0%}"


def drift(a: Run, b: Run) -> list[DriftRow]:
    """PSI of every gold column the analyses use (a column only one run has is listed, not scored)."""
    sessions, buyers = drift_columns()
    have_a, have_b = set(gold_columns(a.gold_dir)), set(gold_columns(b.gold_dir))
    out = []
    for scope, columns in (("sessions", sessions), ("buyers", buyers)):
        both = [c for c in columns if c in have_a and c in have_b]
        frames = [_read(run.gold_dir, both, scope) for run in (a, b)]
        for col in columns:
            if col not in both:
                where = "A" if col in have_a else ("B" if col in have_b else None)
                if where:
                    out.append(DriftRow(col, scope, "", "", None, f"only in {where}'s gold table"))
                continue
            va, vb = frames[0][col], frames[1][col]
            out.append(DriftRow(col, scope, _summary(col, va), _summary(col, vb), stats.psi(va, vb), ""))
    scored = sorted((r for r in out if r.drift), key=lambda r: -r.drift.psi)
    return scored + [r for r in out if not r.drift]


def gold_columns(gold_dir: Path) -> list[str]:
    import pyarrow.dataset as ds

    return ds.dataset(Path(gold_dir) / "sessions.parquet", format="parquet").schema.names


def _read(gold_dir: Path, columns: list[str], scope: str) -> pd.DataFrame:
    if not columns:
        return pd.DataFrame()
    if scope == "buyers":
        return gold.read_gold(gold_dir, columns, buyers_only=True)
    return gold.read_gold(gold_dir, columns, sample_rows=DRIFT_SAMPLE, seed=0)


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """Everything the comparison page shows, computed from two runs' typed results and gold tables."""

    a: Run
    b: Run
    metrics: list[MetricRow]
    conclusions: list[Conclusion]
    recommendations: list[RecommendationChange]
    provenance: tuple[dict[str, str], dict[str, str]]
    parameters: list[tuple[str, str, str]]
    drift: list[DriftRow]
    design: str = "independent"  # one of stats.DESIGNS
    shared_users: int = 0  # users both runs hold, when they were simulated from one seed

    @property
    def name(self) -> str:
        return folder_name(self.a.name, self.b.name)

    @property
    def same_data(self) -> bool:
        return self.a.record.get("data_fingerprint") == self.b.record.get("data_fingerprint")


def folder_name(a: str, b: str) -> str:
    """The comparison's folder under ``reports/``."""
    return f"compare-{a}-vs-{b}"


def compare(name_a: str, name_b: str) -> Comparison:
    """Compare run ``name_a`` (A, before) with ``name_b`` (B, after); refuses with a CompareError."""
    a = open_run(name_a)
    b = a if name_b == name_a else open_run(name_b)
    check_compatible(a, b)
    return compare_runs(a, b)


def compare_runs(a: Run, b: Run) -> Comparison:
    """The comparison of two opened runs, with the tests their design allows."""
    how = design(a, b)
    return Comparison(
        a,
        b,
        metric_rows(a, b, how),
        conclusions(a, b, how),
        recommendation_changes(a, b),
        (provenance(a), provenance(b)),
        parameter_changes(a, b),
        drift(a, b),
        how,
        shared_users(a, b) if how == "same_seed" else 0,
    )
