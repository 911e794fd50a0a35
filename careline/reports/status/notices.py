"""Status notices IT posts on the status page, and what the page shows of downtime updates.

A notice is read by anyone on the hospital network, signed in or not: it is plain text and it
never carries patient details. Its title and text pass the service desk's PHI detector and a
notice that looks like it holds PHI is refused, naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from careline.core import audit
from careline.core.errors import CareLineError, Conflict, InvalidInput, NotFound
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require
from careline.reports.models import NoticeSeverity, StatusNotice
from careline.servicedesk import phi

TITLE_LIMIT = 200
TEXT_LIMIT = 5000


class LooksLikePHI(CareLineError):
    """Refused outright (400), not a field to correct: patient details never go on this page."""

    status = 400


@dataclass(frozen=True)
class NoticeDraft:
    title: str
    text: str = ""
    severity: str = NoticeSeverity.INFO
    services: Sequence[str] = ()
    expires_at: datetime | None = None


def _no_phi(value: str, field: str) -> None:
    findings = phi.scan(value)
    if findings:
        raise LooksLikePHI(
            f"looks like it contains {phi.describe(findings)}: the status page is read by "
            "anyone on the hospital network, so patient details never go on it",
            field=field,
        )


def _services(codes: Sequence[str]) -> list[ClinicalService]:
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    found = {s.code: s for s in ClinicalService.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(
            f"unknown clinical service code {', '.join(unknown)[:200]}", field="services"
        )
    return [found[c] for c in wanted]


def _checked(draft: NoticeDraft, now: datetime) -> tuple[str, str, list[ClinicalService]]:
    title = draft.title.strip()
    text = draft.text.strip()
    if not title:
        raise InvalidInput("title must not be blank", field="title")
    if len(title) > TITLE_LIMIT:
        raise InvalidInput(
            f"title must be at most {TITLE_LIMIT} characters (got {len(title)})", field="title"
        )
    if len(text) > TEXT_LIMIT:
        raise InvalidInput(
            f"text must be at most {TEXT_LIMIT} characters (got {len(text)})", field="text"
        )
    if draft.severity not in NoticeSeverity.values:
        raise InvalidInput(
            f"severity must be one of {', '.join(NoticeSeverity.values)} "
            f"(got {draft.severity[:40]!r})",
            field="severity",
        )
    if draft.expires_at is not None:
        if timezone.is_naive(draft.expires_at):
            raise InvalidInput("give a time zone (e.g. 2026-12-05T14:00Z)", field="expires_at")
        if draft.expires_at <= now:
            raise InvalidInput(
                f"expires_at must be after the notice is posted ({now.isoformat()}; "
                f"got {draft.expires_at.isoformat()})",
                field="expires_at",
            )
    _no_phi(title, "title")
    _no_phi(text, "text")
    return title, text, _services(draft.services)


def post_notice(actor: User, draft: NoticeDraft) -> StatusNotice:
    require(actor, Perm.DOWNTIME_MANAGE)
    now = timezone.now()
    title, text, services = _checked(draft, now)
    with transaction.atomic():
        notice = StatusNotice.objects.create(
            title=title,
            text=text,
            severity=draft.severity,
            posted_by=actor,
            posted_at=now,
            expires_at=draft.expires_at,
        )
        notice.services.set(services)
        audit.record(
            "status.notice_posted",
            actor=actor,
            obj=notice,
            summary=f"Status notice ({notice.severity}): {title[:150]}",
            after={
                "severity": notice.severity,
                "services": [s.code for s in services],
                "expires_at": draft.expires_at.isoformat() if draft.expires_at else None,
            },
        )
    return notice


def end_notice(actor: User, notice_id: int) -> StatusNotice:
    require(actor, Perm.DOWNTIME_MANAGE)
    with transaction.atomic():
        notice = StatusNotice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            raise NotFound(f"no status notice {notice_id}", field="id")
        if notice.ended_at is not None:
            raise Conflict(
                f"the notice was already ended at {notice.ended_at:%Y-%m-%d %H:%M} UTC",
                field="ended_at",
            )
        notice.ended_at = timezone.now()
        notice.ended_by = actor
        notice.save(update_fields=["ended_at", "ended_by"])
        audit.record(
            "status.notice_ended",
            actor=actor,
            obj=notice,
            summary=f"Status notice ended: {notice.title[:150]}",
        )
    return notice


def get_notice(notice_id: int) -> StatusNotice:
    notice = (
        StatusNotice.objects.select_related("posted_by", "ended_by")
        .prefetch_related("services")
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        raise NotFound(f"no status notice {notice_id}", field="id")
    return notice


def live_notices(at: datetime | None = None) -> QuerySet[StatusNotice]:
    """Notices shown now: not ended, not expired; the newest first."""
    at = at or timezone.now()
    return (
        StatusNotice.objects.filter(ended_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .select_related("posted_by")
        .prefetch_related("services")
        .order_by("-posted_at", "-id")
    )


def masked(text: str) -> str:
    """Downtime updates are written for staff and not checked when posted; on a page anyone on
    the network reads, whatever looks like PHI in them is masked."""
    findings = phi.scan(text)
    if not findings:
        return text
    parts = []
    last = 0
    for finding in findings:
        if finding.start < last:
            continue
        parts.append(text[last : finding.start])
        parts.append(finding.masked(text))
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)
