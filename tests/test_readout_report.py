"""06's read-out branch: the plan from the run that proposed the test or from a file, the data from the gold
table, the words of the page and the front page; a per-user export reads out; one whole report of an
experiment log (marked ``notebook``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from helpers.analysis import readout, strategy
from helpers.data import gold
from helpers.data.mapping import load_mapping
from helpers.data.session_table import import_session_table
from helpers.data.simulate_experiment import ExperimentDesign, simulate_experiment, write_example
from helpers.errors import ParameterError
from helpers.presentation.words import readout as words
from tests.runs import run_report

PLAN = readout.Plan(
    users_per_arm=1_000,
    guardrails=[
        readout.Guardrail("session_seconds", 0.10, "higher"),
        readout.Guardrail("revenue_per_session", 0.5, "lower"),
    ],
)


@pytest.fixture(scope="module")
def experiment_gold(tmp_path_factory):
    """A small simulated experiment (2,000 users, a 7-day pre-period) through the gold table's SQL."""
    root = tmp_path_factory.mktemp("readout")
    data = simulate_experiment(ExperimentDesign(users=2_000, pre_period_days=7, seed=11))
    gold.build_gold(data.write_raw(root / "raw"), root / "gold")
    return root / "gold", data


def _strategy(lever="interaction_density") -> strategy.StrategyResult:
    plan = strategy.ExperimentPlan(
        lever=lever,
        simulate=True,
        basis="engagement_positive",
        guardrails=["session_duration", "revenue_per_session"],
        guardrail_margin=0.05,
        margins={"session_duration": 0.05, "revenue_per_session": 0.08},
    )
    return strategy.StrategyResult(plan=plan, alpha=0.05, power=0.8, relative_mde=0.1, users_per_arm=5_000)


def test_the_proposed_plan_converts_with_every_part_the_read_out_needs():
    plan = readout.plan_from_strategy(_strategy())
    assert plan.lever == "interaction_density" and plan.primary == "session_conversion"
    assert [(g.metric, g.margin, g.worse) for g in plan.guardrails] == [
        ("session_seconds", 0.05, "higher"),
        ("revenue_per_session", 0.08, "lower"),
    ]
    assert (plan.alpha, plan.users_per_arm, plan.split, plan.control) == (
        0.05,
        5_000,
        _strategy().plan.split,
        "control",
    )
    again = readout.Plan.from_json(json.loads(json.dumps(plan.to_json())))
    again.guardrails = [readout.Guardrail(**g) if isinstance(g, dict) else g for g in again.guardrails]
    assert again.hash() == plan.hash()
    assert readout.plan_from_strategy(_strategy("collect_more_data")) is None
    started = _strategy()
    started.plan.start_date = "2026-02-02"  # 06's experiment_start: the read-out's pre-period ends there
    assert readout.plan_from_strategy(started).start_date == "2026-02-02"


def test_the_plan_comes_from_the_proposing_run_or_a_file(roots, tmp_path):
    data, _ = roots
    (data / "shop" / "results").mkdir(parents=True)
    (data / "shop" / "results" / "06_strategy.json").write_text(json.dumps(_strategy().to_json()))
    plan, source = readout.load_plan("shop", "")
    assert (source.kind, source.name, source.hash) == ("run", "shop", plan.hash())
    (tmp_path / "plan.json").write_text(json.dumps(PLAN.to_json()))
    from_file, source = readout.load_plan("shop", str(tmp_path / "plan.json"))  # a file wins
    assert source.kind == "file" and source.hash == PLAN.hash() and from_file.guardrails[1].worse == "lower"
    assert readout.load_plan("", "") == (None, readout.PlanSource())
    with pytest.raises(ParameterError, match="parameter 'plan_run': run 'nowhere' has no 06 result"):
        readout.load_plan("nowhere", "")
    with pytest.raises(ParameterError, match="parameter 'plan_file'"):
        readout.load_plan("", str(tmp_path / "missing.json"))


def test_read_out_of_the_gold_table_against_a_plan_file(experiment_gold, tmp_path):
    gold_dir, data = experiment_gold
    (tmp_path / "plan.json").write_text(json.dumps(PLAN.to_json()))
    result, source = readout.read_out(gold_dir, True, plan_file=str(tmp_path / "plan.json"))
    assert result.plan_hash == source.hash == PLAN.hash()
    assert result.decision in words.DECISIONS and result.decision != "exploratory"
    assert result.srm.status == "ok" and result.cuped is not None and result.instrument is not None
    assert sum(result.users_per_arm) == data.sessions["user_id"].nunique()
    assert len(result.guardrails) == 2 and result.over_time and result.period == "day"
    rows = dict(words.card_rows(result, source))
    assert {"Decision", "Lift", "Sample ratio", "Guardrails", "Mechanism", "Plan"} <= set(rows)
    assert PLAN.hash() in rows["Plan"] and "[" in rows["Lift"] and "first-stage F" in rows["Mechanism"]
    assert "exclusion restriction" in " ".join(words.instrument_lines(result))


def test_the_summary_leads_with_the_test_s_decision_and_the_lift_it_reads(experiment_gold, tmp_path):
    """In an experiment run the front page's first sentence is the decision with the lift the decision read
    (CUPED's when a pre-period adjusted it); without a read-out the summary is 03's, 04's and 05's alone."""
    from types import SimpleNamespace

    from helpers.presentation.words import summary

    gold_dir, _ = experiment_gold
    (tmp_path / "plan.json").write_text(json.dumps(PLAN.to_json()))
    result, _ = readout.read_out(gold_dir, True, plan_file=str(tmp_path / "plan.json"))
    assert result.decided_on == "cuped"
    said = summary.sentences({"06_strategy": SimpleNamespace(readout=result)})
    assert len(said) == 4 and said[0].startswith(f"The test these data carry: {words.DECISIONS[result.decision]};")
    assert words.rel(result.cuped.rel, result.cuped.rel_lo, result.cuped.rel_hi) in said[0]
    assert "adjusted for the pre-period" in said[0]
    result.decided_on = "unadjusted"
    first = summary.sentences({"06_strategy": SimpleNamespace(readout=result)})[0]
    assert words.rel(result.primary.rel, result.primary.rel_lo, result.primary.rel_hi) in first
    assert "adjusted" not in first
    assert len(summary.sentences({"06_strategy": SimpleNamespace(readout=None)})) == 3


def test_without_a_plan_the_read_out_is_exploratory_and_without_a_variant_there_is_none(experiment_gold, tmp_path):
    gold_dir, _ = experiment_gold
    result, source = readout.read_out(gold_dir, True)
    assert result.decision == "exploratory" and source.kind == "none" and result.plan_hash is None
    assert "no decision" in words.decision_line(result, source)
    plain = tmp_path / "plain"
    from helpers.data.simulate import SimConfig, simulate_to_parquet

    simulate_to_parquet(SimConfig(n_sessions=2_000, seed=2), plain / "raw")
    gold.build_gold(plain / "raw", plain / "gold")
    assert readout.read_out(plain / "gold", True) == (None, None)
    assert gold.write_untreated(plain / "gold").population == "all" and gold.described(plain / "gold") == plain / "gold"


def test_the_variant_names_of_the_data_take_the_plan_s_split(experiment_gold):
    gold_dir, _ = experiment_gold
    sessions = readout.read_sessions(gold_dir).replace({"variant": {"control": "A", "treatment": "B"}})
    plan = readout.aligned(PLAN, ["A", "B"])
    assert plan.split == {"A": 0.5, "B": 0.5} and plan.control == "A"
    assert readout.analyse(sessions, plan).srm.status == "ok"


def test_03_to_05_describe_the_untreated_sessions(experiment_gold):
    gold_dir, data = experiment_gold
    population = gold.write_untreated(gold_dir)
    described = gold.read_gold(gold.described(gold_dir))
    s = data.sessions
    untreated = (s["variant"] == "control") | (s["started_at"] < s["exposed_at"])
    assert population.population == "untreated" and population.sessions == len(described) == int(untreated.sum())
    assert ((described["variant"] == "control") | (described["started_at"] < described["exposed_at"])).all()
    assert gold.population(gold_dir) == population and "control arm" in words.population_line(population)


def _per_user_export(data, folder):
    """An experimentation platform's table: one row per user in the test, their sessions' pages, seconds, purchase;
    imported as a session table into ``folder/raw`` and built into ``folder/gold``; returns the table."""
    s = data.sessions[data.sessions["started_at"] >= data.sessions["exposed_at"]]
    users = s.groupby("user_id").agg(
        group=("variant", "first"),
        pages=("event_count", "sum"),
        seconds=("session_seconds", "sum"),
        bought=("did_purchase", "max"),
        revenue=("amount_usd", "sum"),
    )
    users.reset_index().to_csv(folder / "users.csv", index=False)
    columns = {"session_id": "user_id", "user_id": "user_id", "variant": "group", "events": "pages"}
    columns |= {"seconds": "seconds", "purchased": "bought", "revenue": "revenue"}
    (folder / "m.yaml").write_text(yaml.safe_dump({"columns": columns}))
    import_session_table(folder / "users.csv", load_mapping(folder / "m.yaml", kind="sessions"), folder / "raw")
    gold.build_gold(folder / "raw", folder / "gold")
    return users


def test_a_per_user_export_reads_out_without_timing_or_pre_period(experiment_gold, tmp_path):
    """A per-user export reads out: no timing, no pre-period, no mechanism; the arms' users as exported."""
    _, data = experiment_gold
    users = _per_user_export(data, tmp_path)
    result, _ = readout.read_out(tmp_path / "gold", gold.idle_measured(tmp_path / "raw"), plan_file="")
    assert {"no_timing", "no_pre_period"} <= set(result.missing)
    assert result.instrument is None and result.mechanism == [] and result.cuped is None
    assert result.users_per_arm == users.groupby("group").size().tolist()
    assert result.primary.metric == "session_conversion" and result.primary.method == "delta"
    assert "neither the mechanism nor the instrument" in words.mechanism_text(result)


@pytest.mark.notebook
def test_an_experiment_log_reads_out_on_the_front_page(tmp_path):
    """A whole report of a small experiment log (2,500 users) with a plan file."""
    log, mapping = write_example(tmp_path / "in" / "experiment.csv", ExperimentDesign(users=2_500, seed=7))
    (tmp_path / "plan.json").write_text(json.dumps(PLAN.to_json()))
    overrides = {"event_log": str(log), "mapping": str(mapping), "plan_file": str(tmp_path / "plan.json")}
    pages, results = run_report(tmp_path, "exp", overrides=overrides)
    front = (pages / "index.html").read_text(encoding="utf-8")
    test = results["06_strategy"]["readout"]
    assert "An experiment run" in front and "Experiment read-out" in front and "The test these data carry:" in front
    assert words.DECISIONS[test["decision"]] in front and PLAN.hash() in front
    assert words.rel(test["primary"]["rel"], test["primary"]["rel_lo"], test["primary"]["rel_hi"]) in front
    assert "Sample ratio" in front and "first-stage F" in front
    assert "These numbers hold every session of both arms" in front  # the headline tiles are not the answers' sessions
    assert "the data carry the test itself, read out above" in front and results["06_strategy"]["not_simulated"] == (
        "carries_test"
    )
    assert all(results[nb]["population"]["population"] == "untreated" for nb in ("03_conversion", "04_spend"))
    untreated = results["03_conversion"]["population"]["sessions"]  # 06's segments and key figure read them too
    assert results["06_strategy"]["segments_population"] == "untreated" and "no treatment touched" in front
    assert sum(row["sessions"] for row in results["06_strategy"]["segments"]) == untreated
    page = (pages / "06_strategy.html").read_text(encoding="utf-8")
    assert "exclusion restriction" in page and "Holm-adjusted p" in page
    assert (
        pd.read_parquet(tmp_path / "data" / "exp" / "gold" / "untreated" / "sessions.parquet")["variant"]
        .ne("treatment")
        .sum()
        > 0
    )


def test_a_per_user_export_is_called_one_row_per_user_not_missing_user_ids(experiment_gold, tmp_path):
    """The fitness record, the sizing's reason and the front page's limits say 'one row per user', not 'no user ids'."""
    from helpers.analysis import needs
    from helpers.data import fitness
    from helpers.presentation.words import fitness as fitness_words

    _per_user_export(experiment_gold[1], tmp_path)
    fit = fitness.measure(tmp_path / "raw", tmp_path / "gold")
    assert fit.one_row_per_user and not fit.has_user_ids
    verdict = needs.assess(fit, "06_sizing")
    assert [r.code for r in verdict.capped] == ["one_row_per_user"]
    limits = " ".join(fitness_words.cannot_tell(fit))
    assert "One row per user" in limits and "No user ids" not in limits


def test_the_headline_note_names_both_populations_only_in_an_experiment_run():
    untreated = gold.Population("untreated", 700, 1_000, "control", ["control", "treatment"])
    note = words.headline_note(untreated)
    assert "(1,000)" in note and "the 700 sessions no treatment touched" in note
    assert words.headline_note(gold.Population()) == "" and words.headline_note(None) == ""


def test_a_short_test_names_users_and_sessions_against_the_plan_and_the_lift_its_power_is_for():
    from types import SimpleNamespace

    short = SimpleNamespace(
        rules={"full_size": False}, achieved_power=0.16, planned_relative_lift=0.10, users_per_arm=[3016, 2984],
        planned_users_per_arm=15854, sessions_per_arm=[9100, 8894], planned_sessions_per_arm=67074,
    )  # fmt: skip
    assert words.size_note(short) == (
        " (users 3,016 and 2,984 of 15,854 planned per arm; sessions 9,100 and 8,894 of 67,074; "
        "16% power to detect the planned +10 % relative lift)"
    )
    assert words.size_note(SimpleNamespace(**{**vars(short), "rules": {"full_size": True}})) == ""


def test_a_session_table_whose_users_each_came_once_is_not_a_per_user_export(tmp_path):
    """Own session ids beside a user column with one session each: not 'one row per user'."""
    from helpers.data import fitness
    from helpers.presentation.words import fitness as fitness_words

    table = pd.DataFrame(
        {
            "sid": [f"s{i}" for i in range(40)],
            "uid": [f"u{i}" for i in range(40)],
            "pages": [3] * 40,
            "seconds": [60.0] * 40,
            "bought": [1] * 5 + [0] * 35,
        }
    )
    table.to_csv(tmp_path / "sessions.csv", index=False)
    columns = {"session_id": "sid", "user_id": "uid", "events": "pages", "seconds": "seconds", "purchased": "bought"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"columns": columns}))
    import_session_table(
        tmp_path / "sessions.csv", load_mapping(tmp_path / "m.yaml", kind="sessions"), tmp_path / "raw"
    )
    gold.build_gold(tmp_path / "raw", tmp_path / "gold")
    fit = fitness.measure(tmp_path / "raw", tmp_path / "gold")
    assert not fit.one_row_per_user and "One row per user" not in " ".join(fitness_words.cannot_tell(fit))
