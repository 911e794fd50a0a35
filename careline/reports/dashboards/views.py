"""The dashboard pages: the index at /reports/, and each dashboard with its filters, its
charts beside their tables, a CSV of every table (?format=csv&table=...) and a PDF of the
whole dashboard (?format=pdf). Exports are recorded in the audit trail before they are sent."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from careline.core import audit
from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import Site, User
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page
from careline.reports.dashboards import catalog, charts
from careline.reports.dashboards.filters import DEFAULT_DAYS, PRESETS
from careline.reports.dashboards.tables import Dashboard, Table
from careline.reports.exports import csv_response, pdf_response

FORMATS = ("html", "csv", "pdf")


def index(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.REPORTS_VIEW)) is not None:
        return denied
    context = {
        "kinds": catalog.DASHBOARDS.values(),
        "compliance": has_perm(request.user, Perm.COMPLIANCE_VIEW),
    }
    return render(request, "reports/dashboards/index.html", context)


def _shown(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.1f}" if unit != "h" else f"{value:,.2f}"
    elif hasattr(value, "strftime"):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return f"{value} {unit}" if unit in ("%", "min", "h") else str(value)


def _table_context(table: Table, query: str, with_charts: bool) -> dict[str, Any]:
    units = [c.unit for c in table.columns]
    return {
        "table": table,
        "rows": [[_shown(v, u) for v, u in zip(row, units, strict=True)] for row in table.rows],
        "charts": [charts.render(c, table) for c in table.charts] if with_charts else [],
        "csv": f"?{query}&format=csv&table={table.name}"
        if query
        else f"?format=csv&table={table.name}",
    }


def _record_export(user: User, dashboard: Dashboard, fmt: str, tables: list[Table]) -> None:
    with transaction.atomic():
        audit.record(
            "report.export",
            actor=user,
            object_type="reports.dashboard",
            object_id=dashboard.name,
            summary=f"{dashboard.title} exported as {fmt.upper()} "
            f"({sum(len(t.rows) for t in tables)} rows)",
            after={
                "format": fmt,
                "tables": [t.name for t in tables],
                "filters": dashboard.filters.applied(),
            },
        )


def _form(request: HttpRequest) -> dict[str, Any]:
    return {
        "sites": Site.objects.order_by("code"),
        "values": {k: request.GET.get(k, "") for k in ("site", "from", "to", "days")},
        "presets": PRESETS,
        "default_days": DEFAULT_DAYS,
    }


def dashboard_page(request: HttpRequest, name: str) -> HttpResponse | StreamingHttpResponse:
    if (denied := require_page(request, Perm.REPORTS_VIEW)) is not None:
        return denied
    user = signed_in(request)
    fmt = request.GET.get("format") or "html"
    kind = catalog.DASHBOARDS.get(name)
    try:
        kind = catalog.kind_of(name)
        if fmt not in FORMATS:
            raise InvalidInput(
                f"must be one of {', '.join(FORMATS)} (got {fmt[:20]!r})", field="format"
            )
        dashboard = catalog.build(user, name, request.GET)
        table = dashboard.tables[0]
        if fmt == "csv" and request.GET.get("table"):
            wanted = request.GET["table"]
            found = dashboard.table(wanted)
            if found is None:
                names = ", ".join(t.name for t in dashboard.tables)
                raise InvalidInput(f"must be one of {names} (got {wanted[:40]!r})", field="table")
            table = found
    except CareLineError as exc:
        context = {"kind": kind, "error": str(exc), "dashboard": None, **_form(request)}
        return render(request, "reports/dashboards/page.html", context, status=exc.status)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        _record_export(user, dashboard, "csv", [table])
        return csv_response(
            f"careline-{dashboard.name}-{table.name}-{stamp}.csv",
            [c.key for c in table.columns],
            table.rows,
        )
    query = urlencode(dashboard.filters.query())
    if fmt == "pdf":
        _record_export(user, dashboard, "pdf", dashboard.tables)
        context = {
            "title": dashboard.title,
            "dashboard": dashboard,
            "tables": [_table_context(t, query, True) for t in dashboard.tables],
        }
        return pdf_response(
            f"careline-{dashboard.name}-{stamp}.pdf",
            "reports/dashboards/pdf.html",
            context,
            request,
        )
    context = {
        "kind": kind,
        "dashboard": dashboard,
        "tables": [_table_context(t, query, True) for t in dashboard.tables],
        "pdf": f"?{query}&format=pdf",
        **_form(request),
    }
    return render(request, "reports/dashboards/page.html", context)
