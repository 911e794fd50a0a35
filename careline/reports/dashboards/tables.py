"""What a dashboard is made of, as plain data: tables of figures, each with the charts drawn
from it. The page, the CSV and PDF exports and the API all read these same objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from careline.reports.dashboards.filters import Filters


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header and the API's key
    label: str  # the page's header
    unit: str = ""  # "%", "min", "h": shown after the number on the page


@dataclass(frozen=True)
class Chart:
    """A chart of some of a table's columns: one series per column, one bar (or point) per
    row, labelled by the table's `label` column."""

    title: str
    label: str  # the key of the column naming each row
    series: tuple[str, ...]  # keys of the columns drawn
    kind: str = "bar"  # bar, hbar, line, stacked
    unit: str = ""
    max_value: float | None = None  # 100 for percentages
    min_value: float | None = None


@dataclass
class Table:
    name: str  # ?table=<name> picks it for the CSV
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    charts: list[Chart] = field(default_factory=list)
    note: str = ""

    def dicts(self) -> list[dict[str, Any]]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def column(self, key: str) -> list[Any]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]


@dataclass
class Dashboard:
    name: str
    title: str
    lead: str
    filters: Filters
    tables: list[Table]
    summary: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class Kind:
    """One dashboard of the index: its address, its words, and the function computing it."""

    name: str
    title: str
    description: str
    build: Callable[..., Dashboard]


def percent(part: int | float, whole: int | float) -> float | None:
    """part of whole in per cent, to one decimal place; None when there is nothing to divide."""
    return round(100.0 * part / whole, 1) if whole else None
