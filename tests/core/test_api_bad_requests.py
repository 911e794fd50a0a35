"""Requests the API cannot read answer 4xx naming what was wrong, never 500.

Found by fuzzing the OpenAPI schema (tests/core/test_api_fuzz.py): an offset past what the
database can hold on ninja's paginated lists, and form uploads Django cannot parse.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careline.cmdb.models import ConfigItem
from careline.core import services
from careline.core.pagination import MAX_OFFSET
from careline.servicedesk.models import Attachment
from careline.servicedesk.services.tickets import create_ticket
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft

# Lists paged by ninja's pagination (NINJA_PAGINATION_CLASS) and one paged by hand.
LISTS = ["/departments", "/sites", "/cmdb/vendors", "/cmdb/baas", "/tickets"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("offset", [MAX_OFFSET + 1, 10**22, -1])
def test_an_offset_out_of_range_is_422_naming_it(
    api_as: Any, hospital: Hospital, path: str, offset: int
) -> None:
    response = api_as(hospital.admin).get(path, offset=offset)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "offset"


@pytest.mark.parametrize("path", LISTS)
def test_the_largest_offset_is_an_empty_page(api_as: Any, hospital: Hospital, path: str) -> None:
    response = api_as(hospital.admin).get(path, offset=MAX_OFFSET)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["items"] if isinstance(body, dict) else body) == []


def _post(token: str, path: str, body: bytes | str, content_type: str) -> Any:
    return Client().generic(
        "POST",
        f"/api/v1{path}",
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.usefixtures("media")
def test_unreadable_uploads_are_400_and_store_nothing(hospital: Hospital, settings: Any) -> None:
    ticket = create_ticket(hospital.nurse, draft())
    admin = services.create_token(None, user=hospital.admin).secret
    uploads = [f"/tickets/{ticket.pk}/attachments", "/cmdb/import", "/cmdb/vulnerabilities/import"]
    for path in uploads:
        # No boundary: Django cannot even start reading the form.
        response = _post(admin, path, b"file=x", "multipart/form-data")
        assert response.status_code == 400, (path, response.content)
        assert response.json()["detail"].startswith("body: not valid multipart/form-data")
        # A boundary and a body that is not made of parts: read as a form without the file.
        response = _post(admin, path, b"garbage", "multipart/form-data; boundary=zz")
        assert response.status_code == 422, (path, response.content)
        assert "file" in response.json()["detail"]
    # More fields than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS) in one form.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    many = "".join(
        f'--zz\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n' for i in range(6)
    )
    response = _post(admin, uploads[0], many + "--zz--\r\n", "multipart/form-data; boundary=zz")
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("body: ")
    assert Attachment.objects.count() == 0
    assert ConfigItem.objects.count() == 0


HUGE = 10**22  # past the 64-bit integers both databases store


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/tickets?monitor={HUGE}", "monitor"),  # a filter schema's id
        (f"/cmdb/relationships?item={HUGE}", "item"),
        (f"/cmdb/contracts?vendor={HUGE}", "vendor"),  # an operation's own parameter
        (f"/cmdb/baas?vendor={HUGE}", "vendor"),
        ("/incidents/known?service=EH%00R", "service"),
        ("/tickets?q=wrist%00band", "q"),
        ("/departments?site=NO%00RTH", "site"),
    ],
)
def test_unstorable_query_values_are_422_naming_them(
    api_as: Any, hospital: Hospital, path: str, field: str
) -> None:
    response = api_as(hospital.admin).get(path)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/changes",
            {"title": "Swap core switch", "kind": "normal", "items": [1, HUGE]},
            "items.1",
        ),
        ("/cmdb/vendors", {"name": "Acme\x00Imaging"}, "name"),
        ("/cmdb/vendors", {"name": "Acme", "\x00": 1}, "\x00"),
        ("/sites", {"code": "EAST", "name": "East", "extra": {"deep": [-HUGE]}}, "extra.deep.0"),
    ],
)
def test_unstorable_body_values_are_422_naming_them(
    api_as: Any, hospital: Hospital, path: str, body: dict[str, Any], field: str
) -> None:
    response = api_as(hospital.admin).post(path, body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field


def test_a_body_nested_past_any_document_is_400(api_as: Any, hospital: Hospital) -> None:
    for depth in (40, 100_000):
        response = api_as(hospital.admin).post("/sites", raw="[" * depth + "]" * depth)
        assert response.status_code == 400, response.content
        assert response.json()["detail"].startswith("body: JSON nested deeper than")


def test_a_path_id_past_the_databases_is_404(api_as: Any, hospital: Hospital) -> None:
    assert api_as(hospital.admin).get(f"/tickets/{HUGE}").status_code == 404


def test_a_change_cannot_empty_a_required_value(api_as: Any, hospital: Hospital) -> None:
    admin = api_as(hospital.admin)
    vendor = admin.post("/cmdb/vendors", {"name": "Acme Imaging"}).json()
    contract = admin.post(
        "/cmdb/contracts",
        {
            "vendor": vendor["id"],
            "reference": "C-1",
            "starts_on": "2026-01-01",
            "ends_on": "2027-01-01",
        },
    ).json()
    baa = admin.post("/cmdb/baas", {"vendor": vendor["id"], "signed_on": "2026-01-01"}).json()
    for path, body, field in [
        (f"/cmdb/contracts/{contract['id']}", {"vendor": None}, "vendor"),
        (f"/cmdb/contracts/{contract['id']}", {"reference": None}, "reference"),
        (f"/cmdb/contracts/{contract['id']}", {"renewal_notice_days": None}, "renewal_notice_days"),
        (f"/cmdb/baas/{baa['id']}", {"vendor": None}, "vendor"),
        (f"/cmdb/baas/{baa['id']}", {"breach_notification_days": None}, "breach_notification_days"),
    ]:
        response = admin.patch(path, body)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["field"] == field
    assert (
        admin.get(f"/cmdb/contracts?vendor={vendor['id']}").json()["items"][0]["reference"] == "C-1"
    )
    assert [b["id"] for b in admin.get(f"/cmdb/baas?vendor={vendor['id']}").json()["items"]] == [
        baa["id"]
    ]


def test_a_monitor_change_cannot_empty_its_settings(api_as: Any, hospital: Hospital) -> None:
    engineer = api_as(hospital.engineer)
    created = engineer.post(
        "/monitors",
        {"name": "EHR web", "kind": "tcp", "config": {"host": "ehr.local", "port": 443}},
    )
    assert created.status_code == 201, created.content
    for field in ("name", "interval_s", "retries", "recover_after"):
        response = engineer.patch(f"/monitors/{created.json()['id']}", {field: None})
        assert response.status_code == 422, (field, response.content)
        assert response.json()["field"] == field
    assert engineer.get(f"/monitors/{created.json()['id']}").json()["name"] == "EHR web"


def test_a_vendor_change_may_empty_optional_text(api_as: Any, hospital: Hospital) -> None:
    admin = api_as(hospital.admin)
    vendor = admin.post("/cmdb/vendors", {"name": "Acme Imaging", "notes": "Night line"}).json()
    admin.post("/cmdb/vendors", {"name": "Borealis Labs"})
    emptied = admin.patch(f"/cmdb/vendors/{vendor['id']}", {"notes": None, "website": None})
    assert emptied.status_code == 200, emptied.content
    assert (emptied.json()["notes"], emptied.json()["website"]) == ("", "")
    taken = admin.patch(f"/cmdb/vendors/{vendor['id']}", {"name": "Borealis Labs"})
    assert taken.status_code == 409, taken.content
    assert taken.json()["field"] == "name"
    assert admin.patch(f"/cmdb/vendors/{vendor['id']}", {"name": None}).status_code == 422
