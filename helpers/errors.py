"""Errors a user can cause, each with a message an analyst can act on.

Usage::

    from helpers.errors import DataContractError
    raise DataContractError("events", "event_type", "must be a known event type", ["click"])
"""

from __future__ import annotations

from collections.abc import Iterable


class ReportError(Exception):
    """Base class for problems caused by input (data, parameters), not by bugs."""


class ParameterError(ReportError):
    """A run parameter has an unknown name, a wrong type or an impossible value."""


class DataContractError(ReportError):
    """A raw table breaks the data contract: names the table, column, rule and examples."""

    def __init__(self, table: str, column: str | None, rule: str, examples: Iterable = ()):
        self.table, self.column, self.rule = table, column, rule
        self.examples = [_short(x) for x in list(examples)[:5]]
        where = f"{table}.{column}" if column else table
        msg = f"raw table '{table}'" + (f", column '{column}'" if column else "") + f": {rule}"
        if self.examples:
            msg += f" (e.g. {', '.join(self.examples)})"
        super().__init__(msg)
        self.where = where


def _short(value, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
