"""Files on tickets over the API: stored with their hash, refused when too big or runnable,
seen only by who may see the ticket (and the note they came with)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from careline.core import services
from careline.core.models import AuditEvent
from careline.servicedesk.models import Attachment
from careline.servicedesk.services import lifecycle
from careline.servicedesk.services.attachments import add_attachment, files_in_transaction
from careline.servicedesk.services.tickets import create_ticket
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft


def _upload(
    token: str, ticket_id: int, name: str, data: bytes, content_type: str = "application/pdf"
) -> Any:
    return Client().post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        headers={"Authorization": f"Bearer {token}"},
    )


def _token(user: Any) -> str:
    return services.create_token(None, user=user).secret


def test_upload_list_and_download(desk: Hospital, media: Path) -> None:
    ticket = create_ticket(desk.nurse, draft())
    nurse = _token(desk.nurse)
    response = _upload(nurse, ticket.pk, "error screen.png", b"\x89PNG fake", "image/png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filename"] == "error_screen.png"
    assert body["sha256"] == hashlib.sha256(b"\x89PNG fake").hexdigest()
    listed = (
        Client()
        .get(
            f"/api/v1/tickets/{ticket.pk}/attachments", headers={"Authorization": f"Bearer {nurse}"}
        )
        .json()
    )
    assert [a["id"] for a in listed] == [body["id"]]
    download = Client().get(
        f"/api/v1/tickets/{ticket.pk}/attachments/{body['id']}",
        headers={"Authorization": f"Bearer {nurse}"},
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\x89PNG fake"  # type: ignore[attr-defined]
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Security-Policy"] == "sandbox"
    assert (
        AuditEvent.objects.filter(action="ticket.attachment_download", actor_name="maria").count()
        == 1
    )


def test_too_big_is_413_and_programs_are_415(desk: Hospital, media: Path, settings: Any) -> None:
    settings.MAX_ATTACHMENT_BYTES = 1024
    ticket = create_ticket(desk.nurse, draft())
    nurse = _token(desk.nurse)
    big = _upload(nurse, ticket.pk, "scan.pdf", b"x" * 1025)
    assert big.status_code == 413
    assert big.json()["field"] == "file"
    for name, kind in (
        ("fix.exe", "application/octet-stream"),
        ("run.ps1", "text/plain"),
        ("x.pdf", "application/x-msdownload"),
    ):
        refused = _upload(nurse, ticket.pk, name, b"MZ", kind)
        assert refused.status_code == 415, name
        assert "refused" in refused.json()["detail"]
    assert Attachment.objects.count() == 0
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_other_departments_cannot_reach_files(desk: Hospital, media: Path) -> None:
    ticket = create_ticket(desk.nurse, draft())
    upload = _upload(_token(desk.nurse), ticket.pk, "a.pdf", b"%PDF").json()
    outsider = _token(desk.outsider)
    assert _upload(outsider, ticket.pk, "b.pdf", b"%PDF").status_code == 404
    got = Client().get(
        f"/api/v1/tickets/{ticket.pk}/attachments/{upload['id']}",
        headers={"Authorization": f"Bearer {outsider}"},
    )
    assert got.status_code == 404
    assert _upload(_token(desk.auditor), ticket.pk, "c.pdf", b"%PDF").status_code == 403


def test_files_with_internal_notes_are_staff_only(desk: Hospital, media: Path) -> None:
    ticket = create_ticket(desk.nurse, draft())
    note = lifecycle.add_comment(desk.agent, ticket.pk, "vendor log", public=False)
    with files_in_transaction() as stored:
        add_attachment(
            desk.agent,
            ticket,
            filename="vendor.log",
            content_type="text/plain",
            data=b"log",
            stored=stored,
            comment=note,
        )
    nurse = Client().get(
        f"/api/v1/tickets/{ticket.pk}/attachments",
        headers={"Authorization": f"Bearer {_token(desk.nurse)}"},
    )
    agent = Client().get(
        f"/api/v1/tickets/{ticket.pk}/attachments",
        headers={"Authorization": f"Bearer {_token(desk.agent)}"},
    )
    assert nurse.json() == []
    assert [a["filename"] for a in agent.json()] == ["vendor.log"]


def test_a_missing_file_field_is_422(desk: Hospital, media: Path) -> None:
    ticket = create_ticket(desk.nurse, draft())
    response = Client().post(
        f"/api/v1/tickets/{ticket.pk}/attachments",
        {},
        headers={"Authorization": f"Bearer {_token(desk.nurse)}"},
    )
    assert response.status_code == 422
    assert "file" in response.json()["detail"]
