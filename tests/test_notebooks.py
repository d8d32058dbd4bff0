"""Every notebook through papermill at small size, then the numbers and verdicts it recorded.

Runs use the real runner (papermill, nbconvert) into temporary data and reports folders. The
statistical specifications of other worlds (time matters, styles that browse differently, no
purchase) are tested in-process in test_specs.py; their whole reports run in `make test-all`.
"""

from __future__ import annotations

import json
import math

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from . import rawfixture
from .runs import run_report

pytestmark = pytest.mark.notebook


def _run(tmp_path_factory, name, scenario=None, overrides=None):
    pages, results = run_report(tmp_path_factory.mktemp(name), name, scenario, overrides)
    return pages.parents[1], results


@pytest.fixture
def default(default_report):
    return default_report[0].parents[1], default_report[1]


@pytest.fixture(scope="module")
def styles_browse(tmp_path_factory):
    return _run(
        tmp_path_factory, "sb", scenario="styles_browse", overrides="n_sessions=20000 experiment_sessions_per_arm=5000"
    )


def test_every_report_and_the_front_page_are_written(default):
    root, results = default
    names = ["01_simulate", "02_gold_table", "03_conversion", "04_spend", "05_purchase_style", "06_strategy"]
    assert sorted(results) == names
    for name in names:
        html = (root / "reports" / "default" / f"{name}.html").read_text()
        assert "Findings" in html and 'src="http' not in html
        if name != "02_gold_table":
            assert 'src="data:image/png' in html, f"{name}: figures must be embedded in the page"
    index = (root / "reports" / "default" / "index.html").read_text()
    assert "Answers" in index and "Who purchases" in index and "Limitations" in index and "Proposed experiment" in index


def test_simulation_and_gold_table_numbers(default):
    _, r = default
    assert r["01_simulate"]["counts"]["sessions"] == 60_000
    assert r["01_simulate"]["benchmarks_in_range"] == r["01_simulate"]["benchmarks_checked"]
    gold = r["02_gold_table"]
    assert gold["rows"] == 60_000 and gold["reconciliation_ok"]
    assert gold["buyers"] == r["01_simulate"]["counts"]["orders"]
    assert gold["mean_events_buyers"] > gold["mean_pre_events_buyers"]  # the funnel events are excluded


def test_conversion_default_engagement_wins_and_truth_is_covered(default):
    _, r = default
    v = r["03_conversion"]["verdicts"]
    assert v["answer"] == "engagement" and v["engagement"] == "positive" and v["time_adds"] == "no"
    assert r["03_conversion"]["badge"]["level"] == "high" and r["03_conversion"]["health"]["ok"]
    assert all(row["covered"] for row in r["03_conversion"]["truth"])
    leak = r["03_conversion"]["leakage"]
    assert leak[1]["cv_auc"] > leak[0]["cv_auc"]  # funnel-inclusive counts overstate


def test_spend_truth_is_covered_by_default(default):
    _, r = default
    truth = r["04_spend"]["truth"]
    assert all(row["covered"] for row in truth), truth
    v = r["04_spend"]["verdicts"]
    assert v["idle"]["verdict"] in ("negative", "unclear") and not v["confounded"]  # never against the truth
    assert v["time"]["verdict"] in ("negligible", "unclear", "depends")  # time has no effect on spend
    assert {row["effect"].split(" ")[0] for row in truth} == {"engagement", "time", "idle"}
    assert "idle" in {e["feature"] for e in r["04_spend"]["effects"]}


def test_styles_default_similar(default):
    assert default[1]["05_purchase_style"]["verdicts"]["browsing"] in ("similar", "inconclusive")  # never 'different'


@pytest.mark.slow  # the same specification in-process: test_specs.py
def test_styles_flip_scenario_different(styles_browse):
    r = styles_browse[1]
    assert r["05_purchase_style"]["verdicts"]["browsing"] == "different"
    assert r["05_purchase_style"]["verdicts"]["behaviour_above_chance"]
    rec = next(x for x in r["06_strategy"]["recommendations"] if x["id"] == "styles_price_framing")
    assert rec["status"] == "withdrawn" and rec["reason"] == "styles_differ"
    spend_v = r["04_spend"]["verdicts"]  # 04 sees the same confounding and states no direction
    assert spend_v["confounded"] and {spend_v[f]["verdict"] for f in ("engagement", "time", "idle")} == {"unclear"}
    assert r["04_spend"]["badge"]["level"] == "low"


def test_strategy_default_supports_engagement_and_sizes_the_experiment(default):
    _, r = default
    s = r["06_strategy"]
    rec = next(x for x in s["recommendations"] if x["id"] == "engagement_over_time")
    assert rec["status"] == "supported"
    base, mde = s["baseline"], s["relative_mde"]
    expected = NormalIndPower().solve_power(
        proportion_effectsize(base * (1 + mde), base), alpha=s["alpha"], power=s["power"]
    )
    assert s["sample_size_per_arm"] == math.ceil(expected * s["design"]["design_effect"])  # users' design effect
    exp = s["experiment"]
    assert exp["true_covered"] and exp["aa_p_value"] > 0.001
    assert exp["epm_diff"] > 0  # the treatment raises interaction density
    assert exp["treatment_sessions"] == 20_000


@pytest.fixture
def negative_time(negative_time_report):
    return negative_time_report[0].parents[1], negative_time_report[1]


def _text(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_negative_time_world_every_direction_word_follows_the_sign(negative_time):
    root, r = negative_time
    v = r["03_conversion"]["verdicts"]
    assert v["time"] == "negative" and v["time_sign"] == "negative"
    pages = {
        name: _text((root / "reports" / "neg" / f"{name}.html").read_text())
        for name in ("03_conversion", "06_strategy", "index")
    }
    for name in ("03_conversion", "index"):  # 03's answer is worded on its page and quoted on the front page
        text = pages[name]
        assert "longer time before checkout is associated with lower purchase odds" in text, name
        assert "+1 minute before checkout ≈ -" in text, name  # the points per minute carry the same sign
    for name, text in pages.items():  # 06 words the lever, never the opposite direction
        assert "time before checkout is associated with higher purchase odds" not in text, name
        assert "longer visits go with higher purchase odds" not in text, name
        assert "drives" not in text and "causes" not in text, name
    assert "longer visits go with lower purchase odds" in pages["06_strategy"]


def test_report_runs_on_a_flat_event_log_with_too_little_data_to_model(tmp_path_factory, tmp_path):
    log = tmp_path / "log.csv"
    evil = "<script>alert(1)</script>"
    log.write_text(
        "sid,when,name,item,price,dev\n"
        + "".join(
            f"s{i},2026-01-05T10:{i % 60:02d}:00Z,view,p{i % 7},9.5,{evil if i % 2 else 'mobile'}\n" for i in range(40)
        )
        + f"s1,2026-01-05T10:01:30Z,buy,p1,9.5,{evil}\n"
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns: {session_id: sid, timestamp: when, event_type: name, product_id: item, price: price, device: dev}\n"
        "event_types: {page_view: [view], purchase: [buy]}\n"
    )
    root, r = _run(tmp_path_factory, "log", overrides={"event_log": str(log), "mapping": str(mapping)})
    pages = list((root / "reports" / "log").glob("*.html"))
    assert len(pages) == 8  # six notebooks, the front page and the glossary
    for page in pages:
        assert evil not in page.read_text(), page.name  # escaped wherever a device label is shown
    assert r["01_simulate"]["source"] == "user_data"
    assert r["02_gold_table"]["rows"] == 40 and r["02_gold_table"]["buyers"] == 1
    assert r["03_conversion"]["status"] == "insufficient"
    assert r["04_spend"]["status"] == "insufficient"
    assert r["03_conversion"]["badge"]["level"] == "none" and r["06_strategy"]["experiment"] is None


@pytest.mark.slow  # the same specification in-process: test_specs.py
def test_report_runs_on_raw_tables_with_zero_purchasers(tmp_path_factory, tmp_path):
    frames = rawfixture.tables()
    frames["orders"], frames["order_items"] = frames["orders"].iloc[:0], frames["order_items"].iloc[:0]
    frames["events"] = frames["events"][frames["events"].event_type != "purchase"]
    folder = rawfixture.write(tmp_path / "mine", frames)
    _, r = _run(tmp_path_factory, "mine", overrides={"data_dir": str(folder)})
    assert r["02_gold_table"]["buyers"] == 0
    assert {r[n]["status"] for n in ("03_conversion", "04_spend", "05_purchase_style")} == {"insufficient"}


def _strip_timing(obj):
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


@pytest.mark.slow
def test_same_parameters_give_identical_gold_and_numbers_other_seed_differs(tmp_path_factory):
    import pandas as pd

    from helpers.data.gold import read_gold

    runs = {}
    for name, seed in (("r1", 5), ("r2", 5), ("r3", 6)):
        root, results = _run(
            tmp_path_factory, name, overrides=f"n_sessions=6000 seed={seed} experiment_sessions_per_arm=3000"
        )
        gold = read_gold(root / "data" / name / "gold")
        fingerprint = json.loads((root / "reports" / name / "run.json").read_text())["data_fingerprint"]
        runs[name] = (int(pd.util.hash_pandas_object(gold, index=False).sum()), _strip_timing(results), fingerprint)
    assert runs["r1"] == runs["r2"]
    assert runs["r1"][0] != runs["r3"][0] and runs["r1"][2] != runs["r3"][2]
