"""The compliance pages, their CSV and PDF exports and the API: who may open them, what comes
out, what bad input is answered with, and that every export is in the audit trail."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from careline.core.models import AuditEvent, User
from careline.core.permissions import ROLE_PERMS, Perm
from careline.reports.compliance import reports
from careline.servicedesk.models import Ticket
from tests.conftest import Hospital
from tests.reports import compliance_setup
from tests.reports.compliance_setup import PHISH_TITLE, SEC_TITLE, Reviewed


@pytest.fixture
def reviewed(hospital: Hospital) -> Reviewed:
    return compliance_setup.build(hospital)


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def _exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="report.export").order_by("id"))


def test_the_index_and_every_report_open_for_an_auditor(reviewed: Reviewed) -> None:
    client = _as(reviewed.hospital.auditor)
    index = client.get("/reports/compliance/")
    assert index.status_code == 200
    for name, kind in reports.REPORTS.items():
        assert f"/reports/compliance/{name}/" in index.content.decode()
        page = client.get(f"/reports/compliance/{name}/")
        assert page.status_code == 200, name
        text = page.content.decode()
        assert kind.title in text
        assert "format=csv" in text
        assert "format=pdf" in text
    # Looking is not exporting.
    assert _exports() == []


def test_the_menu_shows_compliance_to_those_who_may_read_it(reviewed: Reviewed) -> None:
    h = reviewed.hospital
    for person in (h.manager, h.auditor, h.admin):
        assert 'href="/reports/compliance/"' in _as(person).get("/").content.decode()
    for person in (h.nurse, h.agent, h.engineer):
        assert 'href="/reports/compliance/"' not in _as(person).get("/").content.decode()


def test_the_access_review_page_shows_dormant_accounts_and_tokens(reviewed: Reviewed) -> None:
    page = _as(reviewed.hospital.manager).get("/reports/compliance/access-review/")
    text = page.content.decode()
    assert "2 dormant accounts" in text
    assert "old-script" in text
    assert "owner deactivated" in text
    assert "CSV: API tokens" in text
    dormant = _as(reviewed.hospital.manager).get(
        "/reports/compliance/access-review/", {"dormant": "on", "role": "requester"}
    )
    assert "olive" in dormant.content.decode()
    assert "helen" not in dormant.content.decode()


@pytest.mark.parametrize("who", ["nurse", "agent", "engineer", "outsider"])
def test_requesters_agents_and_engineers_are_refused_everywhere(
    reviewed: Reviewed, api_as: Any, who: str
) -> None:
    """Every page, export and API call answers 403, and no security incident's title leaks."""
    person = getattr(reviewed.hospital, who)
    client = _as(person)
    api = api_as(person)
    urls = ["/reports/compliance/"] + [
        f"/reports/compliance/{name}/{suffix}"
        for name in reports.REPORTS
        for suffix in ("", "?format=csv", "?format=pdf")
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert SEC_TITLE not in response.content.decode()
    for path in ["/reports/compliance"] + [f"/reports/compliance/{n}" for n in reports.REPORTS]:
        answer = api.get(path)
        assert answer.status_code == 403, path
        assert SEC_TITLE not in answer.content.decode()
    # Even a made-up report name is refused for who asks before it is looked up.
    assert client.get("/reports/compliance/no-such-report/").status_code == 403
    assert _exports() == []


def test_csv_export_parses_back_and_is_audited(reviewed: Reviewed) -> None:
    client = _as(reviewed.hospital.auditor)
    response = client.get("/reports/compliance/access-review/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="careline-access-review-accounts-'
    )
    rows = _csv(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["username", "name", "role"]
    by_user = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert by_user["maria"]["dormant"] == "yes"
    assert by_user["helen"]["dormant"] == "no"
    assert by_user["olive"]["last_sign_in"] == ""
    assert by_user["helen"]["last_sign_in"].startswith("20")  # ISO 8601
    [event] = _exports()
    assert event.actor_name == "frank"
    assert event.object_id == "access-review"
    assert event.after == {"format": "csv", "tables": ["accounts"], "filters": {}}
    assert f"({len(body)} rows)" in event.summary


def test_csv_cells_cannot_run_as_spreadsheet_formulas(reviewed: Reviewed) -> None:
    """A person's name typed as a formula comes out as text."""
    User.objects.filter(pk=reviewed.hospital.nurse.pk).update(
        first_name='=HYPERLINK("http://x.invalid","Click")'
    )
    rows = _csv(_as(reviewed.hospital.auditor).get("/reports/compliance/access-review/?format=csv"))
    maria = next(r for r in rows if r[0] == "maria")
    assert maria[1].startswith("'=HYPERLINK")


def test_each_table_exports_on_its_own(reviewed: Reviewed) -> None:
    client = _as(reviewed.hospital.admin)
    rows = _csv(client.get("/reports/compliance/access-review/?format=csv&table=tokens"))
    assert rows[0][:3] == ["owner", "owner_role", "name"]
    assert {r[2] for r in rows[1:]} == {"monitoring", "old-script", "spreadsheet", "laptop"}
    security = _csv(client.get("/reports/compliance/security-incidents/?format=csv"))
    assert {r[1] for r in security[1:]} == {SEC_TITLE, PHISH_TITLE}


def test_pdf_export_is_a_real_pdf_with_title_people_and_page_numbers(reviewed: Reviewed) -> None:
    response = _as(reviewed.hospital.auditor).get(
        "/reports/compliance/access-review/", {"format": "pdf", "role": "requester"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Access review" in text
    assert "by Frank" in text  # who generated it
    assert f"Page 1 of {len(pdf.pages)}" in text
    assert "Role: Requester" in text  # the filters applied
    assert "maria" in text
    assert "helen" not in text
    [event] = _exports()
    assert event.after is not None
    assert event.after["format"] == "pdf"
    assert event.after["tables"] == ["accounts", "tokens"]
    assert event.after["filters"] == {"Role": "Requester"}


def test_the_api_returns_the_same_rows_as_json_and_is_audited(
    reviewed: Reviewed, api_as: Any
) -> None:
    api = api_as(reviewed.hospital.auditor)
    listed = api.get("/reports/compliance")
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()] == list(reports.REPORTS)
    answer = api.get("/reports/compliance/security-incidents", outcome="pending")
    assert answer.status_code == 200
    body = answer.json()
    assert body["report"] == "security-incidents"
    assert body["filters"] == {"Outcome": "Not yet assessed"}
    [table] = body["tables"]
    assert table["total"] == 1
    [row] = table["rows"]
    assert row["title"] == PHISH_TITLE
    assert row["outcome"] is None
    assert row["breach_suspected"] is False
    assert row["reported"].startswith("20")  # ISO 8601
    tokens = api.get("/reports/compliance/access-review", table="tokens", limit=2, offset=1)
    [token_table] = tokens.json()["tables"]
    assert token_table["name"] == "tokens"
    assert token_table["total"] == 5  # the four of the setup, and this API client's own
    assert len(token_table["rows"]) == 2
    exports = _exports()
    assert [e.after["format"] for e in exports if e.after] == ["json", "json"]


def test_viewing_a_phi_ticket_by_page_and_api_is_in_the_report(
    reviewed: Reviewed, api_as: Any
) -> None:
    """Opening a flagged ticket is recorded (servicedesk's record_view), page and API alike,
    and the report shows both."""
    h = reviewed.hospital
    ticket = reviewed.phi_ticket
    assert _as(h.engineer).get(f"/tickets/{ticket.pk}/").status_code == 200
    assert api_as(h.agent).get(f"/tickets/{ticket.pk}").status_code == 200
    views = AuditEvent.objects.filter(action="ticket.view", object_id=str(ticket.pk))
    assert sorted(views.values_list("actor_name", flat=True)) == ["priya", "sam"]
    answer = api_as(h.auditor).get("/reports/compliance/phi-views")
    rows = answer.json()["tables"][0]["rows"]
    assert sorted((r["user"], r["ticket"]) for r in rows) == [
        ("priya", ticket.number),
        ("sam", ticket.number),
    ]
    only_sam = _as(h.auditor).get("/reports/compliance/phi-views/", {"user": "sam"})
    assert "1 view of 1 flagged ticket by 1 person" in only_sam.content.decode()
    exported = _csv(_as(h.auditor).get("/reports/compliance/phi-views/?format=csv&user=priya"))
    assert exported[0] == ["viewed_at", "user", "role", "ticket", "department", "relation", "ip"]
    assert [r[1:5] for r in exported[1:]] == [
        ["priya", "Service-desk agent", ticket.number, "NG-ED"]
    ]


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/reports/compliance/phi-views/?since=2026-13-45", 422, "Enter a valid date"),
        (
            "/reports/compliance/phi-views/?since=2026-05-02&until=2026-05-01",
            422,
            "must not be before",
        ),
        (
            "/reports/compliance/phi-views/?since=2000-01-01&until=2026-01-01",
            422,
            "at most 3660 days",
        ),
        ("/reports/compliance/phi-views/?user=nobody", 422, "no user is named"),
        ("/reports/compliance/access-review/?role=pope", 422, "Select a valid choice"),
        ("/reports/compliance/security-incidents/?outcome=maybe", 422, "Select a valid choice"),
        (
            "/reports/compliance/access-review/?format=xls",
            422,
            "format: must be one of html, csv, pdf",
        ),
        ("/reports/compliance/access-review/?format=csv&table=secrets", 422, "table"),
        ("/reports/compliance/who-knows/", 404, "no compliance report is named"),
    ],
)
def test_bad_filters_on_the_page_are_refused_naming_the_field(
    reviewed: Reviewed, url: str, status: int, field: str
) -> None:
    """Bad dates, a period the wrong way round or too long, an unknown person, role, outcome,
    format, table or report: a 4xx page saying what is wrong, and nothing exported."""
    response = _as(reviewed.hospital.auditor).get(url)
    assert response.status_code == status
    assert field in response.content.decode()
    assert _exports() == []


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/reports/compliance/phi-views", {"since": "yesterday"}, 422, "since"),
        (
            "/reports/compliance/phi-views",
            {"since": "2026-05-02", "until": "2026-05-01"},
            422,
            "until",
        ),
        ("/reports/compliance/phi-views", {"user": "nobody"}, 422, "user"),
        ("/reports/compliance/access-review", {"role": "pope"}, 422, "role"),
        ("/reports/compliance/access-review", {"dormant": "perhaps"}, 422, "dormant"),
        ("/reports/compliance/access-review", {"limit": 0}, 422, "limit"),
        ("/reports/compliance/access-review", {"limit": 50_000}, 422, "limit"),
        ("/reports/compliance/access-review", {"table": "secrets"}, 422, "table"),
        ("/reports/compliance/security-incidents", {"outcome": "maybe"}, 422, "outcome"),
        ("/reports/compliance/who-knows", {}, 404, "report"),
    ],
)
def test_bad_filters_through_the_api_are_refused_naming_the_field(
    reviewed: Reviewed, api_as: Any, path: str, params: dict[str, Any], status: int, field: str
) -> None:
    answer = api_as(reviewed.hospital.auditor).get(path, **params)
    assert answer.status_code == status
    body = answer.json()
    named = body.get("field") or body["errors"][0]["field"]
    assert named == field
    assert _exports() == []


def test_the_security_report_lists_no_incident_for_someone_not_cleared(
    reviewed: Reviewed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the role table ever give the reports to agents, the page would still hide
    the security incidents an uncleared agent may not see on the desk."""
    monkeypatch.setitem(ROLE_PERMS, "agent", ROLE_PERMS["agent"] | {Perm.COMPLIANCE_VIEW})
    client = _as(reviewed.hospital.agent)
    for suffix in ("", "?format=csv"):
        response = client.get(f"/reports/compliance/security-incidents/{suffix}")
        assert response.status_code == 200
        body = (b"".join(response.streaming_content) if suffix else response.content).decode()
        assert SEC_TITLE not in body
        assert PHISH_TITLE not in body
    assert Ticket.objects.filter(kind="security").count() == 2
