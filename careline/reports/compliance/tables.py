"""The shape every compliance report shares: tables of columns and rows of plain values
(text, numbers, dates, times, yes/no), which the page, the CSV and PDF exports and the API
all show the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from typing import Any, TypeVar

from django.utils import timezone

from careline.core.errors import InvalidInput

T = TypeVar("T")
Row = list[Any]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    empty: str = "—"  # what the page and the printout show for no value


@dataclass
class Table:
    """One table of a report. `fetch(offset, limit)` reads its rows lazily, so the CSV export
    streams a year of rows without holding them, and the page reads only what it shows."""

    name: str
    title: str
    columns: list[Column]
    total: int
    fetch: Callable[[int, int | None], Iterator[Row]]

    def rows(self, offset: int = 0, limit: int | None = None) -> Iterator[Row]:
        return self.fetch(offset, limit)


@dataclass
class Report:
    name: str
    title: str
    lead: str
    filters: dict[str, str]  # the filters applied, in words, for the printout and the API
    summary: list[str]
    tables: list[Table]

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        known = ", ".join(t.name for t in self.tables)
        raise InvalidInput(f"must be one of {known} (got {name[:40]!r})", field="table")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def window(offset: int, limit: int | None) -> slice:
    return slice(offset, None if limit is None else offset + limit)


def list_fetch(rows: list[Row]) -> Callable[[int, int | None], Iterator[Row]]:
    return lambda offset, limit: iter(rows[window(offset, limit)])


def local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def shown(value: Any, column: Column) -> str:
    """A value as the page and the printout show it: local time to the minute, yes/no."""
    if value is None or value == "":
        return column.empty
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
