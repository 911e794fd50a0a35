"""Declaring, scheduling, updating, ending and closing downtime events.

Every function checks its input before it writes anything, and writes in one transaction
with its audit event and the outbox rows it causes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careline.cmdb.models import DepartmentReliance
from careline.continuity.models import (
    ChecklistItem,
    ChecklistKind,
    DowntimeEvent,
    DowntimeKind,
    DowntimeStatus,
    DowntimeUpdate,
)
from careline.continuity.services import notices
from careline.core import audit
from careline.core.banners import Banner
from careline.core.cached import cached, forget
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import ClinicalService, Department, Site, User
from careline.core.permissions import Perm, require
from careline.servicedesk.models import Ticket

OPEN = [DowntimeStatus.SCHEDULED, DowntimeStatus.ACTIVE, DowntimeStatus.ENDED]
BANNERS_KEY = "continuity:banners"
BANNER_SECONDS = 10
TEXT_LIMIT = 5000
# Clocks of the browser and the server differ a little; an unplanned start is never later.
FUTURE_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class DowntimeDraft:
    title: str
    kind: str
    services: Sequence[str]
    starts_at: datetime
    ends_at: datetime | None = None
    description: str = ""
    departments: Sequence[str] = ()
    read_only_access: bool = False
    source: str = ""


# --------------------------------------------------------------------------- checking


def _services(codes: Sequence[str]) -> list[ClinicalService]:
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    if not wanted:
        raise InvalidInput("name at least one clinical service", field="services")
    found = {s.code: s for s in ClinicalService.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(
            f"unknown clinical service code {', '.join(unknown)[:200]}", field="services"
        )
    return [found[c] for c in wanted]


def _departments(codes: Sequence[str]) -> list[Department]:
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    found = {d.code: d for d in Department.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(
            f"unknown department code {', '.join(unknown)[:200]}", field="departments"
        )
    return [found[c] for c in wanted]


def _checked(draft: DowntimeDraft) -> tuple[str, list[ClinicalService], list[Department]]:
    title = draft.title.strip()
    if not title:
        raise InvalidInput("title must not be blank", field="title")
    if len(title) > 200:
        raise InvalidInput(
            f"title must be at most 200 characters (got {len(title)})", field="title"
        )
    if len(draft.description) > TEXT_LIMIT:
        raise InvalidInput(
            f"description must be at most {TEXT_LIMIT} characters (got {len(draft.description)})",
            field="description",
        )
    if draft.kind not in DowntimeKind.values:
        raise InvalidInput(
            f"kind must be planned or unplanned (got {draft.kind[:40]!r})", field="kind"
        )
    for name, value in (("starts_at", draft.starts_at), ("ends_at", draft.ends_at)):
        if value is not None and timezone.is_naive(value):
            raise InvalidInput("give a time zone (e.g. 2026-12-05T14:00Z)", field=name)
    if draft.kind == DowntimeKind.UNPLANNED and draft.starts_at > timezone.now() + FUTURE_SLACK:
        raise InvalidInput(
            "an unplanned downtime has already started: schedule a planned one for later "
            f"(got {draft.starts_at.isoformat()})",
            field="starts_at",
        )
    if draft.kind == DowntimeKind.PLANNED and draft.ends_at is None:
        raise InvalidInput("a planned downtime needs its planned end", field="ends_at")
    if draft.ends_at is not None and draft.ends_at <= draft.starts_at:
        raise InvalidInput(
            f"ends_at must be after starts_at (got {draft.ends_at.isoformat()} "
            f"<= {draft.starts_at.isoformat()})",
            field="ends_at",
        )
    services = _services(draft.services)
    named = _departments(draft.departments)
    relying = Department.objects.filter(
        pk__in=DepartmentReliance.objects.filter(service__in=services).values("department_id")
    )
    departments = {d.pk: d for d in relying} | {d.pk: d for d in named}
    return title, services, sorted(departments.values(), key=lambda d: d.code)


def _open_event(event_id: int) -> DowntimeEvent:
    # Locks the row (PostgreSQL) so two people ending or closing at once act one after the other.
    event = DowntimeEvent.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"no downtime event {event_id}", field="id")
    return event


def get_event(event_id: int) -> DowntimeEvent:
    event = DowntimeEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"no downtime event {event_id}", field="id")
    return event


# --------------------------------------------------------------------------- declaring


def declare(actor: User | None, draft: DowntimeDraft) -> DowntimeEvent:
    """An unplanned downtime starts now (or when it was noticed); a planned one is scheduled
    and announced the configured number of working days ahead."""
    if actor is not None:
        require(actor, Perm.DOWNTIME_MANAGE)
    title, services, departments = _checked(draft)
    now = timezone.now()
    planned = draft.kind == DowntimeKind.PLANNED
    with transaction.atomic():
        event = DowntimeEvent(
            title=title,
            description=draft.description,
            kind=draft.kind,
            status=DowntimeStatus.SCHEDULED
            if planned and draft.starts_at > now
            else DowntimeStatus.ACTIVE,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            read_only_access=draft.read_only_access,
            source=draft.source[:64],
            created_by=actor,
            created_at=now,
        )
        if planned:
            sites = Site.objects.filter(pk__in={d.site_id for d in departments})
            event.announce_at = notices.announce_at(draft.starts_at, sites)
        event.save()
        _banners_changed()
        event.services.set(services)
        event.departments.set(departments)
        audit.record(
            "downtime.scheduled" if planned else "downtime.declared",
            actor=actor,
            obj=event,
            summary=f"{event.reference} {draft.kind} downtime of "
            f"{', '.join(s.code for s in services)}: {title[:120]}",
            after={
                "services": [s.code for s in services],
                "departments": [d.code for d in departments],
                "starts_at": draft.starts_at.isoformat(),
                "ends_at": draft.ends_at.isoformat() if draft.ends_at else None,
                "read_only_access": draft.read_only_access,
                "source": event.source,
            },
        )
        if not planned:
            notices.announce(event, "declared", "Downtime: procedures are active")
            event.notified_at = now
            event.save(update_fields=["notified_at"])
            notices.page_on_call(event)
        elif event.announce_at is not None and event.announce_at <= now:
            send_notice(event, now)
    return event


def schedule_planned_downtime(
    actor: User | None,
    *,
    title: str,
    services: Sequence[str],
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    source: str = "",
) -> DowntimeEvent:
    """A planned downtime from an approved change (called inside its approval transaction):
    the affected departments come from the CMDB."""
    return declare(
        actor,
        DowntimeDraft(
            title=title,
            kind=DowntimeKind.PLANNED,
            services=services,
            starts_at=starts_at,
            ends_at=ends_at,
            description=description,
            source=source,
        ),
    )


def send_notice(event: DowntimeEvent, now: datetime) -> bool:
    """Announce a planned event once: the conditional UPDATE is the claim."""
    with transaction.atomic():
        claimed = DowntimeEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(
            notified_at=now
        )
        if not claimed:
            return False
        event.notified_at = now
        sent = notices.announce(event, "notice", "Planned downtime")
        audit.record(
            "downtime.announced",
            obj=event,
            summary=f"{event.reference} announced to {event.departments.count()} departments "
            f"({sent} emails)",
        )
    return True


def start(event: DowntimeEvent, now: datetime) -> bool:
    """A planned event's start: the banner appears. Once, claimed by the conditional UPDATE."""
    with transaction.atomic():
        claimed = DowntimeEvent.objects.filter(pk=event.pk, status=DowntimeStatus.SCHEDULED).update(
            status=DowntimeStatus.ACTIVE
        )
        if not claimed:
            return False
        event.status = DowntimeStatus.ACTIVE
        _banners_changed()
        notices.announce(event, "started", "Planned downtime has started: procedures are active")
        audit.record("downtime.started", obj=event, summary=f"{event.reference} started")
    return True


def remind_end(event: DowntimeEvent, now: datetime) -> bool:
    with transaction.atomic():
        claimed = DowntimeEvent.objects.filter(
            pk=event.pk, status=DowntimeStatus.ACTIVE, end_reminded_at__isnull=True
        ).update(end_reminded_at=now)
        if not claimed:
            return False
        notices.remind_end(event)
        audit.record(
            "downtime.end_reminder", obj=event, summary=f"{event.reference} planned end reached"
        )
    return True


# --------------------------------------------------------------------------- while it lasts


def add_update(actor: User, event_id: int, text: str) -> DowntimeUpdate:
    require(actor, Perm.DOWNTIME_MANAGE)
    text = text.strip()
    if not text:
        raise InvalidInput("text must not be blank", field="text")
    if len(text) > TEXT_LIMIT:
        raise InvalidInput(
            f"text must be at most {TEXT_LIMIT} characters (got {len(text)})", field="text"
        )
    with transaction.atomic():
        event = _open_event(event_id)
        if event.status in (DowntimeStatus.CLOSED, DowntimeStatus.CANCELLED):
            raise Conflict(f"{event.reference} is {event.status}: no more updates", field="status")
        update = DowntimeUpdate.objects.create(
            event=event, text=text, author=actor, at=timezone.now()
        )
        notices.post_update(event, update.pk, text)
        audit.record(
            "downtime.update", actor=actor, obj=event, summary=f"{event.reference}: {text[:200]}"
        )
    return update


def cancel(actor: User | None, event_id: int, reason: str) -> DowntimeEvent:
    """A planned downtime that will not happen (its change was cancelled or moved): only
    before it starts; an active one is ended instead. Departments already told are told it
    is off, with the reason."""
    if actor is not None:
        require(actor, Perm.DOWNTIME_MANAGE)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the downtime is cancelled", field="reason")
    if len(reason) > TEXT_LIMIT:
        raise InvalidInput(f"must be at most {TEXT_LIMIT} characters", field="reason")
    with transaction.atomic():
        event = _open_event(event_id)
        if event.status != DowntimeStatus.SCHEDULED:
            raise Conflict(
                f"{event.reference} is {event.get_status_display().lower()}: only a scheduled "
                "downtime is cancelled (an active one is ended)",
                field="status",
            )
        now = timezone.now()
        event.status = DowntimeStatus.CANCELLED
        event.closed_at = now
        event.save(update_fields=["status", "closed_at"])
        text = f"Cancelled: {reason}"
        update = DowntimeUpdate.objects.create(event=event, text=text, author=actor, at=now)
        told = notices.post_update(event, update.pk, text) if event.notified_at else 0
        audit.record(
            "downtime.cancelled",
            actor=actor,
            obj=event,
            summary=f"{event.reference} cancelled ({told} emails): {reason[:200]}",
        )
        _banners_changed()
    return event


def cancel_for_source(actor: User | None, source: str, reason: str) -> int:
    """Cancel the scheduled downtime a change (its number is the source) created."""
    ids = list(
        DowntimeEvent.objects.filter(source=source, status=DowntimeStatus.SCHEDULED).values_list(
            "pk", flat=True
        )
    )
    for event_id in ids:
        cancel(actor, event_id, reason)
    return len(ids)


def link_ticket(actor: User, event_id: int, ticket_ref: str) -> Ticket:
    require(actor, Perm.DOWNTIME_MANAGE)
    ref = ticket_ref.strip()
    if not ref:
        raise InvalidInput("ticket must not be blank", field="ticket")
    ticket = (
        Ticket.objects.filter(pk=int(ref)).first()
        if ref.isdigit()
        else Ticket.objects.filter(number=ref.upper()).first()
    )
    if ticket is None:
        raise NotFound(f"no ticket {ref[:40]!r}", field="ticket")
    with transaction.atomic():
        event = _open_event(event_id)
        if event.tickets.filter(pk=ticket.pk).exists():
            raise Conflict(f"{ticket.number} is already linked", field="ticket")
        event.tickets.add(ticket)
        audit.record(
            "downtime.ticket_linked",
            actor=actor,
            obj=event,
            summary=f"{event.reference} linked {ticket.number}",
        )
    return ticket


# --------------------------------------------------------------------------- ending


def _generate_checklist(event: DowntimeEvent) -> None:
    if event.checklist.exists():
        return
    items = [
        ChecklistItem(
            event=event,
            kind=ChecklistKind.SERVICE_RESTORED,
            service=s,
            label=f"{s.name} restored",
        )
        for s in event.services.order_by("tier", "code")
    ]
    if event.read_only_access:
        items.append(
            ChecklistItem(
                event=event,
                kind=ChecklistKind.READ_ONLY_CLOSED,
                label="Read-only business-continuity access closed",
            )
        )
    items += [
        ChecklistItem(
            event=event,
            kind=ChecklistKind.BACK_ENTERED,
            department=d,
            label=f"Paper records back-entered in {d.name}",
        )
        for d in event.departments.order_by("code")
    ]
    ChecklistItem.objects.bulk_create(items)


def prepare_checklist(actor: User, event_id: int) -> DowntimeEvent:
    """The recovery checklist on demand, before the end (idempotent)."""
    require(actor, Perm.DOWNTIME_MANAGE)
    with transaction.atomic():
        event = _open_event(event_id)
        if event.status in (DowntimeStatus.CLOSED, DowntimeStatus.CANCELLED):
            raise Conflict(f"{event.reference} is {event.status}", field="status")
        _generate_checklist(event)
        audit.record("downtime.checklist", actor=actor, obj=event, summary=event.reference)
    return event


def end(actor: User, event_id: int) -> DowntimeEvent:
    require(actor, Perm.DOWNTIME_MANAGE)
    with transaction.atomic():
        event = _open_event(event_id)
        if event.status not in (DowntimeStatus.ACTIVE, DowntimeStatus.SCHEDULED):
            raise Conflict(
                f"{event.reference} is {event.status}: only an active or scheduled event ends",
                field="status",
            )
        now = timezone.now()
        event.status = DowntimeStatus.ENDED
        event.ended_at = now
        event.save(update_fields=["status", "ended_at"])
        _banners_changed()
        _generate_checklist(event)
        notices.announce(event, "ended", "Downtime over: back-enter your paper records")
        audit.record("downtime.ended", actor=actor, obj=event, summary=f"{event.reference} ended")
    return event


def tick(actor: User, event_id: int, item_id: int) -> ChecklistItem:
    require(actor, Perm.DOWNTIME_MANAGE)
    with transaction.atomic():
        event = _open_event(event_id)
        item = ChecklistItem.objects.filter(pk=item_id).first()
        if item is None or item.event_id != event.pk:
            raise NotFound(f"no checklist item {item_id} in {event.reference}", field="item_id")
        if event.status in (DowntimeStatus.CLOSED, DowntimeStatus.CANCELLED):
            raise Conflict(f"{event.reference} is {event.status}", field="status")
        if item.done_at is not None:
            raise Conflict(
                f"{item.label!r} was already ticked at {item.done_at:%Y-%m-%d %H:%M} UTC",
                field="item_id",
            )
        now = timezone.now()
        item.done_by = actor
        item.done_at = now
        item.save(update_fields=["done_by", "done_at"])
        if not event.checklist.filter(done_at__isnull=True).exists():
            event.recovered_at = now
            event.save(update_fields=["recovered_at"])
        audit.record(
            "downtime.checklist_ticked",
            actor=actor,
            obj=event,
            summary=f"{event.reference}: {item.label[:200]}",
            after={"item": item.pk, "kind": item.kind},
        )
    return item


def close(actor: User, event_id: int) -> DowntimeEvent:
    require(actor, Perm.DOWNTIME_MANAGE)
    with transaction.atomic():
        event = _open_event(event_id)
        if event.status != DowntimeStatus.ENDED:
            raise Conflict(
                f"{event.reference} is {event.status}: end it before closing", field="status"
            )
        left = list(event.checklist.filter(done_at__isnull=True).values_list("label", flat=True))
        if left:
            raise Conflict(
                f"{len(left)} checklist item(s) not done: {'; '.join(left)[:400]}",
                field="checklist",
            )
        now = timezone.now()
        event.status = DowntimeStatus.CLOSED
        event.closed_at = now
        event.recovery_complete = True
        event.recovered_at = event.recovered_at or now
        event.save(update_fields=["status", "closed_at", "recovery_complete", "recovered_at"])
        audit.record("downtime.closed", actor=actor, obj=event, summary=f"{event.reference} closed")
    return event


# --------------------------------------------------------------------------- banner


def _active_banners() -> list[Banner]:
    events = DowntimeEvent.objects.filter(status=DowntimeStatus.ACTIVE).prefetch_related("services")
    return [
        Banner(
            level="critical",
            text=f"{', '.join(s.name for s in e.services.all())} down: "
            f"downtime procedures are active ({e.title})",
            url=f"/downtime/{e.pk}/",
        )
        for e in events
    ]


def banners_for(request: HttpRequest) -> list[Banner]:
    """One banner per active event, on every page of a signed-in person. Every page asks, so
    each process keeps the answer BANNER_SECONDS (a change made in this process forgets it at
    once; other processes see it within those seconds)."""
    if not request.user.is_authenticated:
        return []
    return cached(BANNERS_KEY, _active_banners, BANNER_SECONDS)


def _banners_changed() -> None:
    # Now, and again once committed: a page read between the two would have cached the old set.
    forget(BANNERS_KEY)
    transaction.on_commit(lambda: forget(BANNERS_KEY))
