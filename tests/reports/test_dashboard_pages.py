"""The dashboard pages, their CSV and PDF exports and the API: who may read them, what bad
filters get back, that exports parse back to the figures and are audited, and that the
number of queries stays the same as the hospital's data grows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from careline.core.models import AuditEvent, User
from careline.reports.dashboards import catalog
from tests.conftest import Hospital
from tests.reports import dashboard_setup as build
from tests.reports.dashboard_setup import NOW, PERIOD

NAMES = list(catalog.DASHBOARDS)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(answer: Any) -> list[dict[str, str]]:
    text = b"".join(answer.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_index_lists_every_dashboard_and_the_menu_shows_reports(hospital: Hospital) -> None:
    answer = client_of(hospital.agent).get("/reports/")
    assert answer.status_code == 200
    page = answer.content.decode()
    for kind in catalog.DASHBOARDS.values():
        assert f'href="/reports/{kind.name}/"' in page
    assert 'href="/reports/"' in page  # the menu item
    # The agent may not read compliance reports: not offered.
    assert "/reports/compliance/" not in page
    assert "/reports/compliance/" in client_of(hospital.manager).get("/reports/").content.decode()


@pytest.mark.parametrize("name", NAMES)
def test_each_dashboard_page_shows_its_charts_beside_their_tables(
    hospital: Hospital, name: str
) -> None:
    build.the_tickets(hospital)
    answer = client_of(hospital.auditor).get(f"/reports/{name}/", PERIOD)
    assert answer.status_code == 200
    page = answer.content.decode()
    dashboard = answer.context["dashboard"]
    for table in dashboard.tables:
        assert f'id="table-{table.name}"' in page
        assert f"format=csv&amp;table={table.name}" in page
    assert "<svg" in page
    # No script reaches the page from the charts (pygal would fetch one from the internet).
    assert "kozea.github.io" not in page
    assert "format=pdf" in page


@pytest.mark.parametrize("user", ["nurse", "outsider"])
def test_requesters_may_not_read_dashboards(hospital: Hospital, user: str) -> None:
    person = getattr(hospital, user)
    client = client_of(person)
    assert client.get("/reports/").status_code == 403
    for name in NAMES:
        assert client.get(f"/reports/{name}/").status_code == 403
        assert client.get(f"/reports/{name}/", {"format": "csv"}).status_code == 403
    assert 'href="/reports/"' not in client.get("/").content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(hospital: Hospital) -> None:
    answer = Client().get("/reports/sla/")
    assert answer.status_code == 302
    assert "/login" in answer["Location"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"site": "NOWHERE"}, "site"),  # an unknown site
        ({"from": "yesterday"}, "from"),  # not a date
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),  # the end before the start
        ({"days": "8"}, "days"),  # not a preset
        ({"site": "NORTH\x00"}, "site"),  # a NUL character
        ({"format": "xlsx"}, "format"),  # a format CareLine does not write
        ({"format": "csv", "table": "nope"}, "table"),  # a table the dashboard has not
    ],
)
def test_bad_filters_on_a_page_get_a_message_naming_the_field(
    hospital: Hospital, params: dict[str, str], field: str
) -> None:
    before = AuditEvent.objects.count()
    answer = client_of(hospital.manager).get("/reports/volume/", params)
    assert answer.status_code == 422
    assert f"{field}:" in answer.context["error"]
    assert 'role="alert"' in answer.content.decode()
    assert AuditEvent.objects.count() == before  # nothing exported, nothing recorded


def test_an_unknown_dashboard_is_404(hospital: Hospital) -> None:
    answer = client_of(hospital.manager).get("/reports/nothing-here/")
    assert answer.status_code == 404


def test_every_table_exports_to_csv_that_parses_back_to_its_figures(
    hospital: Hospital,
) -> None:
    build.the_tickets(hospital)
    client = client_of(hospital.manager)
    dashboard = catalog.build(hospital.manager, "volume", PERIOD)
    for table in dashboard.tables:
        answer = client.get("/reports/volume/", {**PERIOD, "format": "csv", "table": table.name})
        assert answer.status_code == 200
        assert answer["Content-Type"].startswith("text/csv")
        assert f"careline-volume-{table.name}-" in answer["Content-Disposition"]
        parsed = csv_rows(answer)
        assert list(parsed[0]) == [c.key for c in table.columns]
        expected = [
            {k: "" if v is None else str(v) for k, v in row.items()} for row in table.dicts()
        ]
        assert parsed == expected
    by_service = {
        r["service"]: r
        for r in csv_rows(
            client.get("/reports/volume/", {**PERIOD, "format": "csv", "table": "by-service"})
        )
    }
    assert by_service["EHR"]["tickets"] == "3"
    event = AuditEvent.objects.filter(action="report.export").latest("id")
    assert event.object_id == "volume"
    assert event.after["format"] == "csv"
    assert event.after["filters"]["Period"].startswith("2026-02-01 to 2026-03-15")


def test_a_dashboard_exports_to_pdf_and_is_audited(hospital: Hospital) -> None:
    build.the_tickets(hospital)
    answer = client_of(hospital.manager).get("/reports/sla/", {**PERIOD, "format": "pdf"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    event = AuditEvent.objects.filter(action="report.export").latest("id")
    assert (event.object_id, event.after["format"]) == ("sla", "pdf")
    assert event.after["tables"] == ["by-priority", "resolution-by-month", "by-month"]


# --------------------------------------------------------------------------- API


def test_the_api_returns_the_same_tables_as_the_page(hospital: Hospital, api_as: Any) -> None:
    build.the_tickets(hospital)
    api = api_as(hospital.manager)
    listed = api.get("/reports")
    assert listed.status_code == 200
    assert [d["name"] for d in listed.json()] == NAMES
    answer = api.get("/reports/response-times", **PERIOD, site="NORTH")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["site"], body["since"], body["until"]) == ("NORTH", "2026-02-01", "2026-03-15")
    assert body["time_zone"] == "America/New_York"
    [table] = body["tables"]
    p1 = next(r for r in table["rows"] if r["priority"] == "P1")
    assert (p1["mean_respond_minutes"], p1["mean_resolve_hours"]) == (20.0, 4.5)
    assert {"key": "mean_respond_minutes", "label": "Mean time to respond", "unit": "min"} in (
        table["columns"]
    )
    for name in NAMES:
        assert api.get(f"/reports/{name}", days=7).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"site": "NOWHERE"}, "site"),  # an unknown site
        ({"from": "2026-13-01"}, "from"),  # month 13
        ({"to": "soon"}, "to"),  # not a date
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),  # the end before the start
        ({"days": "31"}, "days"),  # not a preset
        ({"days": "many"}, "days"),  # not a number
        ({"site": "NORTH\x00"}, "site"),  # a NUL character
    ],
)
def test_bad_filters_in_the_api_are_422_naming_the_field(
    hospital: Hospital, api_as: Any, params: dict[str, str], field: str
) -> None:
    answer = api_as(hospital.manager).get("/reports/sla", **params)
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["detail"]


def test_requesters_get_403_from_the_api(hospital: Hospital, api_as: Any) -> None:
    api = api_as(hospital.nurse)
    assert api.get("/reports").status_code == 403
    for name in NAMES:
        assert api.get(f"/reports/{name}").status_code == 403


# --------------------------------------------------------------------------- query counts


def _grow(hospital: Hospital, times: int) -> None:
    """More of everything: tickets, monitors with history, backups, deflections, pages."""
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    a = build.article(f"Article {times}")
    for i in range(times):
        made = build.ticket(
            hospital.nurse if i % 2 else hospital.outsider,
            "NG-ED" if i % 2 else "RV-W1",
            f"P{1 + i % 4}",
            at + timedelta(hours=i),
            responded_after=timedelta(minutes=5 + i),
            response="met" if i % 3 else "breached",
            resolved_after=timedelta(hours=1 + i),
            resolution="met",
            service="EHR" if i % 2 else "PRINT",
        )
        build.shown(a, made)
        m = build.monitor(f"Check {times}-{i}", "EHR" if i % 2 else "PRINT", "NG-ED")
        build.rollup(m, at + timedelta(hours=i), checks=60, up=59)
        build.deflect(a, hospital.nurse, at + timedelta(hours=i))
        p = build.page("NORTH" if i % 2 else None, at + timedelta(hours=i))
        build.notify(p, hospital.engineer if i % 2 else hospital.agent, at + timedelta(hours=i))
        job = build.backup_job(hospital, f"Backup {times}-{i}", "EHR", "NG-ED")
        build.good_backup(job, NOW - timedelta(hours=i))


@pytest.mark.parametrize("name", NAMES)
def test_the_number_of_queries_does_not_grow_with_the_data(
    hospital: Hospital,
    name: str,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    client = client_of(hospital.manager)
    params = {**PERIOD, "site": "NORTH"}
    _grow(hospital, 2)
    client.get(f"/reports/{name}/", params)  # warm: sessions, caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"/reports/{name}/", params).status_code == 200
    _grow(hospital, 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(f"/reports/{name}/", params).status_code == 200
