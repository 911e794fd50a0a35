"""Every change the morning check and the handover make: a check recorded and emailed once,
a check reviewed, a note left for the next shift, a handover emailed once. Each runs in one
transaction with its audit event; the emails go to the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.links import absolute_url
from careline.core.models import Site, User
from careline.core.permissions import Perm, require
from careline.oncall.outbox import Email, batch, enqueue_email
from careline.reports.morning import schedule
from careline.reports.morning.check import MorningCheckReport, build_morning_check, snapshot
from careline.reports.morning.handover import HandoverReport, build_handover
from careline.reports.morning.models import NOTES_MAX, HandoverNote, HandoverSent, MorningCheck
from careline.servicedesk.models import QueueMember

log = logging.getLogger("careline.morning")
# The service desk's queue (servicedesk migration 0002): its members get the emails unless
# CARELINE_MORNING_CHECK_TO names the addresses.
DESK_QUEUE = "SERVICEDESK"
# Past these, a check or a handover found by an engine that was down is no longer sent: a
# morning check at teatime would mislead more than help.
CHECK_LATE_LIMIT = timedelta(hours=12)
HANDOVER_LATE_LIMIT = timedelta(hours=2)
# IT staff read the check and the handover; those who work the desk (not auditors, who change
# nothing) review the check and leave notes.
PERM = Perm.DESK_VIEW
REVIEW_PERM = Perm.MORNING_REVIEW


# --- reading --------------------------------------------------------------------------------


def resolve_site(actor: User, code: str | None, field: str = "site") -> Site:
    """The site named, or the person's own (their department's)."""
    require(actor, PERM)
    code = (code or "").strip()
    if code:
        site = Site.objects.filter(code=code.upper()).first()
        if site is None:
            raise NotFound(f"no site has code {code[:40]!r}", field=field)
        return site
    if actor.department_id is not None:
        return Site.objects.get(departments=actor.department_id)
    first = Site.objects.order_by("code").first()
    if first is None:
        raise InvalidInput("no site is set up yet", field=field)
    return first


def morning_check(actor: User, site: Site, at: datetime | None = None) -> MorningCheckReport:
    require(actor, PERM)
    return build_morning_check(site, at or timezone.now(), actor)


def handover(actor: User, site: Site, at: datetime | None = None) -> HandoverReport:
    require(actor, PERM)
    return build_handover(site, at or timezone.now(), actor)


def record_for(site: Site, day: date) -> MorningCheck | None:
    return MorningCheck.objects.filter(site=site, date=day).select_related("reviewed_by").first()


def get_check(actor: User, check_id: int) -> MorningCheck:
    require(actor, PERM)
    found = MorningCheck.objects.filter(pk=check_id).select_related("site", "reviewed_by").first()
    if found is None:
        raise NotFound(f"no morning check has id {check_id}", field="id")
    return found


# --- emails ---------------------------------------------------------------------------------


def recipients() -> list[str]:
    """CARELINE_MORNING_CHECK_TO, else the active members of the service-desk queue."""
    if settings.MORNING_CHECK_TO:
        return list(dict.fromkeys(settings.MORNING_CHECK_TO))
    found = (
        QueueMember.objects.filter(queue__code=DESK_QUEUE, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__username")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(found))


def _plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def check_headline(report: MorningCheckReport) -> str:
    """What needs attention, in one line: the email's subject and the page's summary."""
    parts = []
    troubled = report.service_counts.get("down", 0) + report.service_counts.get("downtime", 0)
    if troubled:
        parts.append(f"{_plural(troubled, 'service')} down")
    if report.service_counts.get("degraded", 0):
        parts.append(f"{_plural(report.service_counts['degraded'], 'service')} degraded")
    urgent = report.overnight_by_priority.get("P1", 0) + report.overnight_by_priority.get("P2", 0)
    if urgent:
        parts.append(f"{urgent} P1/P2 overnight")
    if report.backups_stale:
        parts.append(f"{_plural(report.backups_stale, 'backup')} past the RPO")
    if report.breaches.total:
        parts.append(f"{_plural(report.breaches.total, 'SLA breach', 'SLA breaches')}")
    return ", ".join(parts) if parts else "nothing needs attention"


def _local(at: datetime, site: Site, pattern: str) -> str:
    return at.astimezone(site.zone).strftime(pattern)


def _check_email(site: Site, report: MorningCheckReport) -> tuple[str, str]:
    subject = f"Morning check, {site.name}, {report.date:%a %d %b}: {check_headline(report)}"
    body = render_to_string(
        "morning/email.txt",
        {"report": report, "headline": check_headline(report), "url": absolute_url("/morning/")},
    )
    return subject, body


def _handover_email(site: Site, report: HandoverReport) -> tuple[str, str]:
    urgent = sum(g.tickets.total for g in report.groups if g.priority in ("P1", "P2"))
    subject = (
        f"Handover, {site.name}, {_local(report.shift_end, site, '%H:%M %a %d %b')}: "
        f"{_plural(report.open_total, 'open ticket')} ({urgent} P1/P2), "
        f"{_plural(report.incidents.total, 'unresolved incident')}"
    )
    body = render_to_string(
        "morning/handover_email.txt", {"report": report, "url": absolute_url("/handover/")}
    )
    return subject, body


def _enqueue(addresses: list[str], subject: str, body: str, key: str, about: object) -> None:
    with batch():
        for address in addresses:
            enqueue_email(
                Email(
                    to=address,
                    subject=subject,
                    body=body,
                    key=f"{key}:{address}",
                    about=about,  # type: ignore[arg-type]
                )
            )


# --- the engine's work ----------------------------------------------------------------------


def _ensure_record(site: Site, day: date, due_at: datetime, report: MorningCheckReport) -> None:
    """The day's row, made if missing (by the engine, or by a review before it ran)."""
    if MorningCheck.objects.filter(site=site, date=day).exists():
        return
    try:
        with transaction.atomic():
            MorningCheck.objects.create(
                site=site,
                date=day,
                due_at=due_at,
                generated_at=report.at,
                snapshot={"report": snapshot(report)},
            )
    except IntegrityError:
        pass  # another engine, or a reviewer, made it first


def send_check(site: Site, now: datetime) -> bool:
    """Record and email the site's check for its latest check hour, once; whether this call
    sent it. The claim is the conditional UPDATE of emailed_at, in the transaction that
    queues the emails: a second engine, or the next tick, finds it set and sends nothing."""
    day, due_at = schedule.latest_check(site, now)
    if now - due_at > CHECK_LATE_LIMIT:
        return False
    if MorningCheck.objects.filter(site=site, date=day, emailed_at__isnull=False).exists():
        return False
    report = build_morning_check(site, now)
    _ensure_record(site, day, due_at, report)
    addresses = recipients()
    subject, body = _check_email(site, report)
    with transaction.atomic():
        claimed = MorningCheck.objects.filter(site=site, date=day, emailed_at__isnull=True).update(
            emailed_at=now,
            generated_at=now,
            recipients=len(addresses),
            snapshot={"report": snapshot(report), "subject": subject, "text": body},
        )
        if not claimed:
            return False
        check = MorningCheck.objects.get(site=site, date=day)
        _enqueue(addresses, subject, body, f"morning:{site.code}:{day.isoformat()}", check)
        audit.record(
            "morning_check.sent",
            obj=check,
            summary=f"Morning check of {site.code} for {day.isoformat()} emailed to "
            f"{_plural(len(addresses), 'recipient')}: {check_headline(report)}",
        )
    if not addresses:
        log.warning(
            "morning check site=%s date=%s has no recipients: set CARELINE_MORNING_CHECK_TO "
            "or add members to the %s queue",
            site.code,
            day,
            DESK_QUEUE,
        )
    log.info("morning check site=%s date=%s sent to=%s", site.code, day, len(addresses))
    return True


def send_handover(site: Site, now: datetime) -> bool:
    """Email the handover of the shift that ended last at the site, once per site and shift
    end (the unique HandoverSent row, inserted in the transaction that queues the emails)."""
    end = schedule.latest_shift_end(site, now)
    if now - end > HANDOVER_LATE_LIMIT:
        return False
    if HandoverSent.objects.filter(site=site, shift_ends_at=end).exists():
        return False
    report = build_handover(site, now, shift_end=end)
    addresses = recipients()
    subject, body = _handover_email(site, report)
    try:
        with transaction.atomic():
            sent = HandoverSent.objects.create(
                site=site,
                shift_ends_at=end,
                generated_at=now,
                recipients=len(addresses),
                snapshot={"report": snapshot(report), "subject": subject, "text": body},
            )
            _enqueue(addresses, subject, body, f"handover:{site.code}:{end.isoformat()}", sent)
            audit.record(
                "handover.sent",
                obj=sent,
                summary=f"Handover of {site.code} at {end.isoformat()} emailed to "
                f"{_plural(len(addresses), 'recipient')}",
            )
    except IntegrityError:
        return False  # another engine got there first
    log.info("handover site=%s shift_end=%s sent to=%s", site.code, end, len(addresses))
    return True


def run_due(now: datetime) -> tuple[int, int]:
    """Every site's due check and handover; how many of each this call sent."""
    checks = handovers = 0
    for site in Site.objects.order_by("code"):
        checks += send_check(site, now)
        handovers += send_handover(site, now)
    return checks, handovers


# --- people's changes -----------------------------------------------------------------------


def _clean_notes(notes: str, field: str = "notes", required: bool = False) -> str:
    if not isinstance(notes, str):
        raise InvalidInput("must be text", field=field)
    cleaned = notes.strip()
    if len(cleaned) > NOTES_MAX:
        raise InvalidInput(
            f"must be at most {NOTES_MAX} characters (got {len(cleaned)})", field=field
        )
    if required and not cleaned:
        raise InvalidInput("must not be empty", field=field)
    return cleaned


def review(actor: User, check_id: int, notes: str) -> MorningCheck:
    """Mark a check reviewed, with notes. A check is reviewed once: a second review is
    refused (409) rather than overwriting the first person's sign-off."""
    require(actor, REVIEW_PERM)
    cleaned = _clean_notes(notes)
    with transaction.atomic():
        check = MorningCheck.objects.select_for_update().filter(pk=check_id).first()
        if check is None:
            raise NotFound(f"no morning check has id {check_id}", field="id")
        if check.reviewed_at is not None:
            by = check.reviewed_by.username if check.reviewed_by else "someone"
            when = check.reviewed_at.astimezone(check.site.zone).strftime("%H:%M on %d %b")
            raise Conflict(f"already reviewed by {by} at {when}", field="id")
        before = audit.snapshot(check, ["reviewed_by_id", "reviewed_at", "notes"])
        check.reviewed_by = actor
        check.reviewed_at = timezone.now()
        check.notes = cleaned
        check.save(update_fields=["reviewed_by", "reviewed_at", "notes"])
        audit.record(
            "morning_check.reviewed",
            actor=actor,
            obj=check,
            summary=f"Morning check of {check.site.code} for {check.date.isoformat()} reviewed",
            before=before,
            after=audit.snapshot(check, ["reviewed_by_id", "reviewed_at", "notes"]),
        )
    return check


def review_today(actor: User, site: Site, notes: str) -> MorningCheck:
    """Review the site's latest check from its page, recording it first if the engine has
    not yet (a check reviewed before it was emailed is still emailed at its hour)."""
    require(actor, REVIEW_PERM)
    _clean_notes(notes)
    now = timezone.now()
    day, due_at = schedule.latest_check(site, now)
    _ensure_record(site, day, due_at, build_morning_check(site, now))
    found = MorningCheck.objects.get(site=site, date=day)
    return review(actor, found.pk, notes)


def add_note(actor: User, site: Site, text: str) -> HandoverNote:
    """A note for the next shift at the site (the one starting when this one ends)."""
    require(actor, REVIEW_PERM)
    cleaned = _clean_notes(text, "text", required=True)
    now = timezone.now()
    _, shift_end = schedule.shift_holding(site, now)
    with transaction.atomic():
        note = HandoverNote.objects.create(
            site=site, author=actor, text=cleaned, created_at=now, shift_starts_at=shift_end
        )
        audit.record(
            "handover_note.added",
            actor=actor,
            obj=note,
            summary=f"Handover note for {site.code}, shift from {shift_end.isoformat()}",
            after={"text": cleaned},
        )
    return note
