"""GET /api/v1/morning-check and /api/v1/handover; reviewing a check; notes for the next
shift. IT staff only (desk.view, checked in the services)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from careline.core.callers import signed_in
from careline.reports.morning import services
from careline.reports.morning.models import HandoverNote, MorningCheck
from careline.reports.morning.schemas import (
    CheckRecordOut,
    HandoverNoteIn,
    HandoverNoteOut,
    HandoverOut,
    MorningCheckOut,
    ReviewIn,
)

router = Router(tags=["morning"])


def record_out(check: MorningCheck) -> dict[str, Any]:
    return {
        "id": check.pk,
        "site": check.site.code,
        "date": check.date,
        "due_at": check.due_at,
        "generated_at": check.generated_at,
        "emailed_at": check.emailed_at,
        "recipients": check.recipients,
        "reviewed_by": check.reviewed_by.username if check.reviewed_by else None,
        "reviewed_at": check.reviewed_at,
        "notes": check.notes,
    }


@router.get("/morning-check", response=MorningCheckOut)
def get_morning_check(request: HttpRequest, site: str = "") -> dict[str, Any]:
    """The site's morning check with live figures (the caller's own site when `site` is
    empty), and the stored record of the day: when it was emailed, who reviewed it."""
    user = signed_in(request)
    found = services.resolve_site(user, site)
    report = services.morning_check(user, found, timezone.now())
    record = services.record_for(found, report.date)
    return {
        "headline": services.check_headline(report),
        "record": record_out(record) if record else None,
        "report": report,
    }


@router.post("/morning-check/{check_id}/review", response=CheckRecordOut)
def review_morning_check(request: HttpRequest, check_id: int, payload: ReviewIn) -> dict[str, Any]:
    """Mark a check reviewed, with notes. A check is reviewed once: 409 when it already is."""
    check = services.review(signed_in(request), check_id, payload.notes)
    return record_out(services.get_check(signed_in(request), check.pk))


@router.get("/handover", response=HandoverOut)
def get_handover(request: HttpRequest, site: str = "") -> Any:
    """The handover of the shift now running at the site (the caller's own when empty)."""
    user = signed_in(request)
    return services.handover(user, services.resolve_site(user, site))


def note_out(note: HandoverNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "site": note.site.code,
        "author": note.author.username,
        "text": note.text,
        "created_at": note.created_at,
        "shift_starts_at": note.shift_starts_at,
    }


@router.post("/handover/notes", response={201: HandoverNoteOut})
def post_handover_note(request: HttpRequest, payload: HandoverNoteIn) -> Status[dict[str, Any]]:
    """A note for the next shift at the site; it shows in that shift's handover."""
    user = signed_in(request)
    note = services.add_note(user, services.resolve_site(user, payload.site), payload.text)
    return Status(201, note_out(note))
