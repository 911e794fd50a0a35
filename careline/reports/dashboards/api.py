"""The dashboards as JSON: GET /api/v1/reports/<dashboard>?site=&from=&to= (or days=), the
same tables as the page and its CSV exports, each row an object keyed by column."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from careline.core.callers import signed_in
from careline.core.permissions import Perm, require
from careline.core.schemas import InSchema
from careline.reports.dashboards import catalog
from careline.reports.dashboards.tables import Dashboard, Kind

router = Router(tags=["dashboards"])


class DashboardKindOut(Schema):
    name: str
    title: str
    description: str
    url: str = Field(description="the dashboard's API address")


class ColumnOut(Schema):
    key: str
    label: str
    unit: str = Field(description='"%", "min", "h", or empty')


class TableOut(Schema):
    name: str
    title: str
    note: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]] = Field(
        description="one object per row, keyed by column; times in ISO 8601; null: no figure"
    )


class DashboardOut(Schema):
    dashboard: str
    title: str
    lead: str
    generated_at: datetime
    site: str | None = Field(description="the site's code; null: every site")
    since: date = Field(description="the first day of the period")
    until: date = Field(description="the last day of the period, included")
    time_zone: str = Field(description="the zone the period's days are read in")
    summary: list[str]
    tables: list[TableOut]


class DashboardFilter(InSchema):
    site: str | None = Field(None, max_length=32, description="a site's code; default: every site")
    since: date | None = Field(
        None, alias="from", description="the first day (YYYY-MM-DD); default: 30 days before `to`"
    )
    until: date | None = Field(
        None, alias="to", description="the last day, included (YYYY-MM-DD); default: today"
    )
    days: int | None = Field(
        None, description="instead of from/to: the last 7, 30, 90 or 365 days up to today"
    )


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dashboard_out(dashboard: Dashboard) -> dict[str, Any]:
    f = dashboard.filters
    return {
        "dashboard": dashboard.name,
        "title": dashboard.title,
        "lead": dashboard.lead,
        "generated_at": timezone.now(),
        "site": f.site.code if f.site else None,
        "since": f.since,
        "until": f.until,
        "time_zone": str(f.zone),
        "summary": dashboard.summary,
        "tables": [
            {
                "name": t.name,
                "title": t.title,
                "note": t.note,
                "columns": [{"key": c.key, "label": c.label, "unit": c.unit} for c in t.columns],
                "rows": [{k: _json(v) for k, v in row.items()} for row in t.dicts()],
            }
            for t in dashboard.tables
        ],
    }


def _params(filters: DashboardFilter) -> dict[str, str]:
    return {
        "site": filters.site or "",
        "from": filters.since.isoformat() if filters.since else "",
        "to": filters.until.isoformat() if filters.until else "",
        "days": "" if filters.days is None else str(filters.days),
    }


@router.get("/reports", response=list[DashboardKindOut], summary="The dashboards")
def list_dashboards(request: HttpRequest) -> list[dict[str, str]]:
    require(signed_in(request), Perm.REPORTS_VIEW)
    return [
        {
            "name": k.name,
            "title": k.title,
            "description": k.description,
            "url": f"/api/v1/reports/{k.name}",
        }
        for k in catalog.DASHBOARDS.values()
    ]


def _route(kind: Kind) -> None:
    def read(request: HttpRequest, filters: Query[DashboardFilter]) -> dict[str, Any]:
        user = signed_in(request)
        require(user, Perm.REPORTS_VIEW)
        return dashboard_out(catalog.build(user, kind.name, _params(filters)))

    read.__name__ = "dashboard_" + kind.name.replace("-", "_")
    router.get(
        f"/reports/{kind.name}",
        response=DashboardOut,
        summary=kind.title,
        description=kind.description,
    )(read)


for _kind in catalog.DASHBOARDS.values():
    _route(_kind)
