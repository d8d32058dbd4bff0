"""One whole report of a real shape (the night-time REES46-style slice): its front page names what the data
cannot tell, shows no placeholder number, no extrapolated runtime and no 'high' badge its fitness contradicts.

The same slice's specifications are tested in-process in test_specs.py; this whole report runs in `make test-all`."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from helpers.analysis import needs
from helpers.data import fitness

from . import shapefixtures
from .runs import run_report

ANALYSES = ("03_conversion", "04_spend", "05_purchase_style")
pytestmark = pytest.mark.slow


def _text(path: Path) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("night")
    shape = shapefixtures.build("night_slice", root / "inputs")
    pages, results = run_report(root, "night", overrides={"event_log": str(shape.path), "preset": shape.preset})
    fit = fitness.load(root / "data" / "night" / "raw")
    return pages, results, fit


@pytest.mark.notebook
def test_the_front_page_says_what_a_night_slice_cannot_tell(night):
    pages, results, fit = night
    assert fit is not None and fit.span_hours < 3 and not fit.covers_whole_day
    index = _text(pages / "index.html")
    cannot = index.index("What these data cannot tell")
    answers = index.index("Answers Question")
    assert cannot < answers  # before the answers
    listed = index[cannot:answers]
    assert "Only 2 h" in listed and "no whole day or week" in listed and "No checkout step" in listed
    assert "cut at the slice's edges" in listed and "Few repeat visits" in listed
    # no runtime extrapolated from under three hours, no design effect from 1.1 sessions per user
    strategy = results["06_strategy"]
    assert strategy["weeks_needed"] is None and "short_span" in strategy["sizing"]
    assert "no runtime" in index and "week of traffic" not in index and "weeks of traffic" not in index
    assert "rough extrapolation" not in index and "design effect unknown" in index
    # no 'high' badge the record contradicts; each cap named as a failed rule on the record
    for page in ANALYSES:
        rec = results[page]
        verdict = needs.assess(fit, page)
        if verdict.capped or verdict.not_estimable:
            assert rec["badge"]["level"] != "high", page
            assert {r["code"] for r in rec["badge"]["rules"] if not r["passed"]} >= set(verdict.codes), page
    assert "Confidence: high" not in _text(pages / "03_conversion.html")


@pytest.mark.notebook
def test_no_placeholder_numbers_and_no_contradicted_lever(night):
    pages, results, fit = night
    index = _text(pages / "index.html")
    assert fit.has_prices  # this slice has prices: revenue is shown, as a number the data hold
    assert "revenue" in index
    assert not re.search(r"\d\.\d{4,}", index)  # no cut point or effect printed to five places
    plan = results["06_strategy"]["plan"]
    supported = [r for r in results["06_strategy"]["recommendations"] if r["status"] == "supported"]
    if not supported:
        assert plan["lever"] in ("collect_more_data", "interaction_density", "time_before_checkout")
        if plan["lever"] == "interaction_density":
            eng = next(e for e in results["03_conversion"]["effects"] if e["feature"] == "engagement")
            assert eng["or_lo"] > 1 and (results["03_conversion"]["landmark"]["or_hi"] or 2) >= 1
