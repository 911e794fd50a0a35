"""The compliance reports as JSON: the same rows as the page and its exports.

Reading a report through the API takes its rows out of CareLine, so it is recorded in the
audit trail like a CSV or PDF export.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from careline.core.callers import signed_in
from careline.core.choices import Role
from careline.core.permissions import Perm, require
from careline.core.schemas import InSchema
from careline.reports.compliance import reports
from careline.reports.compliance.tables import Table

router = Router(tags=["compliance"])

MAX_ROWS = 5000


class ReportKindOut(Schema):
    name: str
    title: str
    description: str


class ColumnOut(Schema):
    key: str
    label: str


class TableOut(Schema):
    name: str
    title: str
    columns: list[ColumnOut]
    total: int = Field(description="rows in the whole table; `rows` holds one page of them")
    offset: int
    rows: list[dict[str, Any]] = Field(
        description="one object per row, keyed by column; times and dates in ISO 8601"
    )


class ReportOut(Schema):
    report: str
    title: str
    lead: str
    generated_at: datetime
    filters: dict[str, str] = Field(description="the filters applied, in words")
    summary: list[str]
    tables: list[TableOut]


class ReportFilter(InSchema):
    """Every report's filters; each report reads the ones it has and ignores the others."""

    since: date | None = Field(None, description="phi-views, security-incidents: from this day")
    until: date | None = Field(None, description="phi-views, security-incidents: to this day")
    user: str | None = Field(None, max_length=150, description="phi-views: one person's views")
    role: Role | None = Field(None, description="access-review: accounts of one role")
    dormant: bool = Field(False, description="access-review: dormant accounts and tokens only")
    outcome: str | None = Field(
        None, max_length=32, description="security-incidents: an outcome, or `pending`"
    )
    problems: bool = Field(False, description="baa-status: vendors needing action only")
    table: str | None = Field(None, max_length=32, description="only this table of the report")
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(1000, ge=1, le=MAX_ROWS)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _table_out(table: Table, offset: int, limit: int) -> dict[str, Any]:
    keys = [c.key for c in table.columns]
    return {
        "name": table.name,
        "title": table.title,
        "columns": [{"key": c.key, "label": c.label} for c in table.columns],
        "total": table.total,
        "offset": offset,
        "rows": [
            {k: _json_value(v) for k, v in zip(keys, row, strict=True)}
            for row in table.rows(offset, limit)
        ],
    }


def _form_params(filters: ReportFilter) -> dict[str, str]:
    """The typed filters as the query-string values the report's form reads."""
    params: dict[str, str] = {}
    for name in ("since", "until", "user", "role", "outcome"):
        value = getattr(filters, name)
        if value is not None:
            params[name] = value.isoformat() if isinstance(value, date) else str(value)
    for name in ("dormant", "problems"):
        if getattr(filters, name):
            params[name] = "on"
    return params


@router.get("/reports/compliance", response=list[ReportKindOut], summary="The compliance reports")
def list_reports(request: HttpRequest) -> list[reports.ReportKind]:
    require(signed_in(request), Perm.COMPLIANCE_VIEW)
    return list(reports.REPORTS.values())


@router.get(
    "/reports/compliance/{name}",
    response=ReportOut,
    summary="One compliance report: access-review, phi-views, security-incidents, baa-status",
)
def get_report(request: HttpRequest, name: str, filters: Query[ReportFilter]) -> dict[str, Any]:
    user = signed_in(request)
    report, _ = reports.build(user, name, _form_params(filters))
    tables = [report.table(filters.table)] if filters.table else report.tables
    reports.record_export(user, report, "json", tables)
    return {
        "report": report.name,
        "title": report.title,
        "lead": report.lead,
        "generated_at": timezone.now(),
        "filters": report.filters,
        "summary": report.summary,
        "tables": [_table_out(t, filters.offset, filters.limit) for t in tables],
    }
