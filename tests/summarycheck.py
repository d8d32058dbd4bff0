"""Checks of the front page's summary shared by the unit and whole-report tests: its sentences hold no model unit,
and every number in them is a field of a result (rounded as shown), never a number computed on the page."""

from __future__ import annotations

import re

from helpers.data.records import Record

MODEL_UNITS = re.compile(r"\b(SDs?|SMD|AUC|ICC|log1p|odds|logit|D =)\b|per SD|standard deviation")
NUMBER = re.compile(r"(?<![\w.])[+\-−]?\d[\d,]*(?:\.\d+)?")
UNITS_NOT_RESULTS = {1000.0, 95.0, 90.0}  # 'per 1,000 sessions', '95 % CI', '90 % CI': units and levels


def fields(value) -> list[float]:
    """Every number held by a result (a Record, dict or list), recursively."""
    if isinstance(value, Record):
        value = value.to_json()
    if isinstance(value, dict):
        return [x for v in value.values() for x in fields(v)]
    if isinstance(value, list):
        return [x for v in value for x in fields(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    return []


def numbers_not_in_results(text: str, res: dict) -> list[str]:
    """The numbers of ``text`` that no field of ``res`` shows when rounded to the same decimals (seconds may be shown
    as minutes)."""
    values = [v for result in res.values() for v in fields(result)]
    values += [v / 60 for v in values]
    strays = []
    for token in NUMBER.findall(text):
        shown = float(token.replace(",", "").replace("−", "-"))
        decimals = len(token.split(".")[1]) if "." in token else 0
        if abs(shown) in UNITS_NOT_RESULTS:
            continue
        if not any(abs(round(v, decimals) - shown) < 0.5 * 10**-decimals + 1e-9 for v in values):
            strays.append(token)
    return strays
