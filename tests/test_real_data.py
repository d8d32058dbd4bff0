"""Real-data shapes end to end: the fixture matrix, presets, session tables, the shared real sample,
and every mapping mistake stopping before any notebook with the previous report intact."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from helpers.analysis.results import typed
from helpers.data.event_log import import_event_log
from helpers.data.mapping import load_mapping
from helpers.errors import ReportError
from helpers.presentation.words import summary
from helpers.presentation.words.common import reason_words
from helpers.runner import report

from . import realfixtures, worlds
from .runs import run_report

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "rees46_oct_sample" / "events.csv"
PAGES = ("01_simulate", "02_gold_table", "03_conversion", "04_spend", "05_purchase_style", "06_strategy")
VIEW_BUY = "event_types: {page_view: [view], purchase: [buy]}\n"
ANALYSES = ("03_conversion", "04_spend", "05_purchase_style")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return realfixtures.shapes(tmp_path_factory.mktemp("shapes"))


def _text(path: Path) -> str:
    """The visible text of a page: tags removed, entities unescaped, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))))


def _run(root: Path, name: str, overrides: dict) -> tuple[Path, dict]:
    return run_report(root, name, overrides=overrides)


def _why(page: str, recorded: dict) -> str:
    """A not-estimable reason as recorded (codes) and as worded (with its numbers), for a check on either."""
    result = typed(page, recorded)
    return f"{result.reason} {reason_words(result)}"


def _assert_every_page_says_why(pages: Path, results: dict) -> None:
    """Every page renders; each analysis the data cannot support states its reason on its page and the front page."""
    for page in PAGES:
        assert (pages / f"{page}.html").exists(), page
    index = _text(pages / "index.html")
    for page in ANALYSES:
        rec = results[page]
        if rec["status"] == "ok":
            continue
        sentence = f"Not estimable here: {reason_words(typed(page, rec))}"  # the result's codes, worded
        assert rec["reason"] and sentence in _text(pages / f"{page}.html"), (page, rec["reason"])
        assert sentence in index, page


EXPECTED = {  # which analyses each shape can support, and the words or codes (fitness: needs) its reasons hold
    # one price for everything is no price (helpers/data/fitness.py): spend and styles need prices that vary
    "constant_price_local_time": {"03_conversion": "ok", "04_spend": "no_prices", "05_purchase_style": "same price"},
    "no_price_no_product": {
        "03_conversion": "ok",
        "04_spend": "no prices",
        "05_purchase_style": "no order carries products",
    },
    "no_funnel_zero_seconds_heavy_tails_refunds": {"03_conversion": "ok", "04_spend": "ok"},
    "one_event_sessions": {"03_conversion": "same time on site", "04_spend": "same number of events"},
    "hundred_sessions_ten_buyers": {"03_conversion": "10 buyers among 100 sessions", "04_spend": "10 buyers"},
    "every_session_buys": {"03_conversion": "at least one non-buyer", "04_spend": "ok"},
}


@pytest.mark.parametrize("shape", list(EXPECTED))
def test_fixture_matrix_analyses_say_what_each_shape_supports(inputs, shape, tmp_path):
    """Each shape through the importer, 01's fitness record and 03-06 in-process (tests/worlds.py)."""
    from helpers.data.ingest import import_data

    log, mapping, _ = inputs[shape]
    (tmp_path / "map.yaml").write_text(mapping)
    import_data(tmp_path / "raw", event_log=str(log), mapping=str(tmp_path / "map.yaml"))
    found = worlds.imported(tmp_path)
    for page, want in EXPECTED[shape].items():
        rec = found[page]
        assert rec.status == "ok" if want == "ok" else want in _why(page, rec.to_json()), (page, rec.reason)
    for page in ANALYSES:
        assert found[page].status == "ok" or reason_words(found[page]), page


@pytest.mark.slow  # the whole reports; what each shape supports is tested in-process above
@pytest.mark.notebook
@pytest.mark.parametrize("shape", list(EXPECTED))
def test_fixture_matrix_runs_the_whole_report(inputs, shape, tmp_path):
    log, mapping, _ = inputs[shape]
    (tmp_path / "map.yaml").write_text(mapping)
    pages, results = _run(tmp_path, "shape", {"event_log": str(log), "mapping": str(tmp_path / "map.yaml")})
    _assert_every_page_says_why(pages, results)
    for page, want in EXPECTED[shape].items():
        rec = results[page]
        assert rec["status"] == "ok" if want == "ok" else want in _why(page, rec), (page, rec.get("reason"))


def test_local_times_duplicates_and_refunds_are_handled_by_rule(inputs, tmp_path):
    log, mapping, _ = inputs["constant_price_local_time"]
    (tmp_path / "map.yaml").write_text(mapping)
    import_event_log(log, load_mapping(tmp_path / "map.yaml"), tmp_path / "raw")
    prov = json.loads((tmp_path / "raw" / "provenance.json").read_text())
    assert prov["timezone"] == "declared:Europe/Berlin"
    assert prov["rows_dropped"]["exact_duplicate"] > 0
    src = pd.read_csv(log)
    first = pd.Timestamp(src["when"].min())  # 2026-03-28 22:00 in Berlin (CET, UTC+1) is 21:00 UTC
    started = pd.read_parquet(tmp_path / "raw" / "sessions.parquet")["started_at"].min()
    assert started == first - pd.Timedelta(hours=1)
    c_log, c_map, _ = inputs["no_funnel_zero_seconds_heavy_tails_refunds"]
    (tmp_path / "c.yaml").write_text(c_map)
    import_event_log(c_log, load_mapping(tmp_path / "c.yaml"), tmp_path / "raw_c")
    prov = json.loads((tmp_path / "raw_c" / "provenance.json").read_text())
    assert prov["rows_dropped"]["refund"] == 5
    assert prov["zero_length_share"] >= 0.3


def test_daylight_saving_change_in_a_declared_zone(tmp_path):
    (tmp_path / "log.csv").write_text("sid,when,name\nA,2026-03-29 01:59:00,view\nA,2026-03-29 03:01:00,buy\n")
    (tmp_path / "m.yaml").write_text(
        "columns: {session_id: sid, timestamp: when, event_type: name}\n"
        "event_types: {page_view: [view], purchase: [buy]}\ntimezone: Europe/Berlin\n"
    )
    import_event_log(tmp_path / "log.csv", load_mapping(tmp_path / "m.yaml"), tmp_path / "raw")
    ts = pd.read_parquet(tmp_path / "raw" / "events.parquet").sort_values("ts")["ts"].tolist()
    assert ts[0] == pd.Timestamp("2026-03-29 00:59:00") and ts[1] == pd.Timestamp(
        "2026-03-29 01:01:00"
    )  # 2 min apart in UTC


def test_logs_without_a_session_id_are_split_by_inactivity(tmp_path):
    (tmp_path / "log.csv").write_text(
        "user,when,name\n7,2026-01-05T10:00:00Z,view\n7,2026-01-05T10:20:00Z,view\n"
        "7,2026-01-05T11:00:00Z,view\n7,2026-01-05T11:05:00Z,buy\n8,2026-01-05T10:00:00Z,view\n"
    )
    base = "columns: {user_id: user, timestamp: when, event_type: name}\n" + VIEW_BUY
    for minutes, sessions in ((30, 3), (45, 2)):
        (tmp_path / "m.yaml").write_text(base)
        counts = import_event_log(
            tmp_path / "log.csv",
            load_mapping(tmp_path / "m.yaml"),
            tmp_path / f"raw{minutes}",
            session_gap_minutes=minutes,
        )
        assert counts["sessions"] == sessions, minutes


REES46_COLUMNS = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
SESSION_A, SESSION_B = "3720e6a4-34fd-48c0-8701-cef4f9444d50", "78e7dc83-9aac-492d-b005-43eaa60c9bbf"
PHONE = "2053013555631882655,electronics.smartphone"
REES46 = (
    "\n".join(
        [
            REES46_COLUMNS,
            f"2019-10-01 02:41:42 UTC,view,26025385,2053013562560873263,,,3.06,514558397,{SESSION_A}",
            f"2019-10-01 02:41:50 UTC,view,1004750,{PHONE},samsung,197.43,514558397,{SESSION_A}",
            f"2019-10-01 02:42:10 UTC,cart,1004750,{PHONE},samsung,197.43,514558397,{SESSION_A}",
            f"2019-10-01 02:42:31 UTC,purchase,1004750,{PHONE},samsung,197.43,514558397,{SESSION_A}",
            f"2019-10-01 02:41:43 UTC,view,1004788,{PHONE},xiaomi,133.68,555017931,{SESSION_B}",
            f"2019-10-01 02:43:01 UTC,remove_from_cart,1004788,{PHONE},xiaomi,133.68,555017931,{SESSION_B}",
        ]
    )
    + "\n"
)


def test_rees46_preset_on_a_small_fixture_in_its_own_format(tmp_path):
    (tmp_path / "events.csv").write_text(REES46)
    counts = import_event_log(tmp_path / "events.csv", load_mapping(preset="rees46"), tmp_path / "raw")
    assert counts["sessions"] == 2 and counts["orders"] == 1
    events = pd.read_parquet(tmp_path / "raw" / "events.parquet")
    assert sorted(events["event_type"].value_counts().items()) == [
        ("add_to_cart", 1),
        ("other", 1),
        ("page_view", 3),
        ("purchase", 1),
    ]  # remove_from_cart counts as 'other'
    orders = pd.read_parquet(tmp_path / "raw" / "orders.parquet")
    assert orders["total_usd"].tolist() == [197.43] and str(orders["ordered_at"].iloc[0]) == "2019-10-01 02:42:31"
    prov = json.loads((tmp_path / "raw" / "provenance.json").read_text())
    assert prov["timezone"] == "timestamps" and prov["sessions_from"] == "session_id_column"


def test_presets_and_a_session_table_import_with_their_provenance(tmp_path):
    """The import step of the slow end-to-end test: the same inputs, checked before any notebook."""
    import json

    from helpers.data.ingest import import_data

    folder = tmp_path / "in"
    folder.mkdir()
    rr = import_data(tmp_path / "rr", event_log=str(realfixtures.retailrocket(folder)), preset="retailrocket")
    provenance = json.loads((tmp_path / "rr" / "provenance.json").read_text())
    assert rr["sessions"] > 0 and rr["orders"] > 0
    assert (provenance["sessions_from"], provenance["session_gap_minutes"]) == ("inactivity_gap", 30)
    ga = import_data(tmp_path / "ga", event_log=str(realfixtures.ga4(folder)), preset="ga4")
    assert ga["orders"] > 0
    assert json.loads((tmp_path / "ga" / "provenance.json").read_text())["timezone"] == "epoch:us"
    table, mapping = realfixtures.session_table(folder)
    (folder / "st.yaml").write_text(mapping)
    st = import_data(tmp_path / "st", session_table=str(table), mapping=str(folder / "st.yaml"))
    assert st["sessions"] > 0 and st["orders"] > 0 and st["order_items"] == 0  # one row per session


@pytest.mark.slow
@pytest.mark.notebook
def test_presets_and_a_session_table_run_end_to_end(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rr_pages, rr = _run(tmp_path, "rr", {"event_log": str(realfixtures.retailrocket(folder)), "preset": "retailrocket"})
    _assert_every_page_says_why(rr_pages, rr)
    assert rr["01_simulate"]["provenance"]["sessions_from"] == "inactivity_gap"
    assert rr["03_conversion"]["status"] == "ok" and "no prices" in _why("04_spend", rr["04_spend"])
    ga_pages, ga = _run(tmp_path, "ga", {"event_log": str(realfixtures.ga4(folder)), "preset": "ga4"})
    _assert_every_page_says_why(ga_pages, ga)
    assert ga["01_simulate"]["provenance"]["timezone"] == "epoch:us"
    assert ga["03_conversion"]["status"] == ga["04_spend"]["status"] == "ok"
    table, mapping = realfixtures.session_table(folder)
    (folder / "st.yaml").write_text(mapping)
    st_pages, st = _run(tmp_path, "st", {"session_table": str(table), "mapping": str(folder / "st.yaml")})
    _assert_every_page_says_why(st_pages, st)
    assert st["03_conversion"]["status"] == "ok"
    assert st["04_spend"]["verdicts"]["idle_given_engagement_time"] == "not available"
    assert "not available for session-level input" in _text(st_pages / "04_spend.html")
    assert "one row per session" in _why("05_purchase_style", st["05_purchase_style"])


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"the shared real sample is absent ({SHARED_SAMPLE})")
def test_the_shared_real_sample_runs_through_its_preset(rees46_report):
    pages, results = rees46_report  # one whole report of the sample, shared with the comparison tests
    _assert_every_page_says_why(pages, results)
    prov = results["01_simulate"]["provenance"]
    assert (prov["rows_read"], prov["sessions"], prov["buyers"]) == (359, 247, 3)  # SOURCE.md's facts
    assert {results[p]["status"] for p in ANALYSES} == {"insufficient"}  # 3 buyers stop them first
    index = _text(pages / "index.html")
    assert "engagement_effect" not in index and "preset 'rees46'" in index  # provenance, not simulator knobs
    assert "No key figure: 3 buyers among 247 sessions" in index and "data:image/png" not in index
    assert index.index("What these data cannot tell") < index.index("Answers Question")
    brief = " ".join(summary.sentences({p: typed(p, results[p]) for p in results}))  # the summary says so, in words
    assert index.index("In short") < index.index(brief) < index.index("Answers Question"), brief
    assert brief.count("These data cannot tell") == 3, brief
    why = reason_words(typed("03_conversion", results["03_conversion"]))
    assert f"These data cannot tell who buys: {why}." in brief
    assert "Only 2 min" in index and "Looks thinned" in index and "no runtime" in index
    assert "The data cover only 1.9 minutes" in _text(pages / "01_simulate.html")


# --------------------------------------------------------------------------------------------
# Mapping mistakes stop before any notebook, in one line, and keep the previous report
# --------------------------------------------------------------------------------------------

GOOD = (
    "sid,when,name,price\na,2026-01-05T10:00:00Z,view,5\na,2026-01-05T10:01:00Z,buy,5\nb,2026-01-05T11:00:00Z,view,5\n"
)
MAP = "columns: {session_id: sid, timestamp: when, event_type: name, price: price}\n" + VIEW_BUY


@pytest.mark.parametrize(
    "log,mapping,message",
    [
        (GOOD, MAP.replace("price: price", "price: cost"), "column 'cost': column mapped to 'price'"),
        (GOOD, MAP.replace("purchase: [buy]", "purchase: [buyy]"), "event name 'buyy' mapped to purchase"),
        (GOOD.replace("Z,", ","), MAP + "timezone: Europe/Berlinn\n", "time zone 'Europe/Berlinn' is unknown"),
        (GOOD.replace("Z,", ","), MAP, "timestamps carry no time zone"),
        (GOOD.replace(",buy,", ",view,"), MAP, "event name 'buy' mapped to purchase"),
        (GOOD, MAP.replace("timestamp: when", "timestamp: time"), "column mapped to 'timestamp'"),
        (
            "sid,when,name\na,1767607200000,view\na,1767607260000,buy\n",
            "columns: {session_id: sid, timestamp: when, event_type: name}\n" + VIEW_BUY + "timestamp_unit: s\n",
            "read as epoch s, the times fall in the years",
        ),
    ],
)
def test_mapping_mistakes_stop_before_any_notebook(roots, tmp_path, log, mapping, message):
    data, reports = roots
    (reports / "mine").mkdir(parents=True)
    (reports / "mine" / "index.html").write_text("previous good report")
    (tmp_path / "log.csv").write_text(log)
    (tmp_path / "m.yaml").write_text(mapping)
    with pytest.raises(ReportError) as err:
        report.execute(
            "mine",
            overrides={"event_log": str(tmp_path / "log.csv"), "mapping": str(tmp_path / "m.yaml")},
            progress=False,
        )
    text = str(err.value)
    assert "\n" not in text and message in text, text
    assert (reports / "mine" / "index.html").read_text() == "previous good report"
    assert not (reports / "mine.failed").exists() and not (data / "mine").exists()
    assert not any((reports / ".staging").glob("*")) if (reports / ".staging").exists() else True


def test_no_purchases_lists_the_event_names_found(tmp_path):
    (tmp_path / "log.csv").write_text(GOOD.replace(",buy,", ",purchased,"))
    (tmp_path / "m.yaml").write_text(
        MAP.replace("[buy]", "[buy]").replace("page_view: [view]", "page_view: [view, purchased]")
    )
    with pytest.raises(ReportError, match=r"no purchase events.*values found: view \(2\), purchased \(1\)"):
        import_event_log(tmp_path / "log.csv", {**load_mapping(tmp_path / "m.yaml"), "strict": False}, tmp_path / "raw")


def test_misspelled_event_name_suggests_the_closest_value(tmp_path):
    (tmp_path / "log.csv").write_text(GOOD)
    (tmp_path / "m.yaml").write_text(MAP.replace("purchase: [buy]", "purchase: [buy, bye]"))
    with pytest.raises(
        ReportError, match=r"'bye' mapped to purchase .* values found: view \(2\), buy \(1\); closest: 'buy'"
    ):
        import_event_log(tmp_path / "log.csv", load_mapping(tmp_path / "m.yaml"), tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_no_purchases_through_a_preset_stops_before_any_notebook(roots, tmp_path):
    data, reports = roots
    (reports / "shop").mkdir(parents=True)
    (reports / "shop" / "index.html").write_text("previous good report")
    views_only = "\n".join(line for line in REES46.splitlines() if ",purchase," not in line) + "\n"
    (tmp_path / "events.csv").write_text(views_only)
    with pytest.raises(ReportError) as err:
        report.execute(
            "shop", overrides={"event_log": str(tmp_path / "events.csv"), "preset": "rees46"}, progress=False
        )
    assert "no purchase events" in str(err.value) and "values found: view (3)" in str(err.value)
    assert "\n" not in str(err.value)
    assert (reports / "shop" / "index.html").read_text() == "previous good report" and not (data / "shop").exists()
