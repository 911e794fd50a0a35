"""Paging: the right person is woken, once, and escalation goes on until someone answers.

A page is opened for a problem (an urgent ticket, a monitoring incident, an SLA breach) in
the transaction of its cause: the route for its priority and service picks an escalation
policy, the policy's first level is resolved to people (who is on call now, a named person,
a queue's members on shift), and each person's notification rules become outbox rows, some
delayed ("a call after 2 minutes unanswered"). The escalation loop moves an unacknowledged
page to the next level when its wait runs out, repeats the policy, and finally tells the IT
manager. Acknowledging (from the message's signed link, the API or the UI) stops all of it and
cancels the delayed steps.

An alert storm pages once: a problem that shares a grouping key (its service, its root cause)
with a page opened within the storm window joins that page as an item instead of paging
again, and every later message of the page lists all its incidents.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from careline.core import audit, inserts, rows
from careline.core.errors import InvalidInput, NotFound
from careline.core.links import absolute_url
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require
from careline.oncall import acklinks, outbox
from careline.oncall.models import (
    Channel,
    EscalationLevel,
    EscalationPolicy,
    Page,
    PageItem,
    PageKey,
    PageSource,
    PageStatus,
    TargetKind,
    Urgency,
)
from careline.oncall.services import contacts, policies, schedules
from careline.oncall.services.contacts import Step

log = logging.getLogger("careline.paging")

# A policy may hand over to another; configuration refuses loops, this bounds a bad row.
MAX_HANDOVERS = 8
OPEN = [PageStatus.TRIGGERED, PageStatus.ACKNOWLEDGED]
PRIORITIES = ("P1", "P2", "P3", "P4")
# A message lists this many of a storm's incidents, then says how many more there are.
LISTED_ITEMS = 25
SMS_LIMIT = 320


@dataclass(frozen=True)
class PageRequest:
    """What the caller knows about a problem. `keys` group a storm: `service:EHR`,
    `root:monitor:12`; `url` is where a person reads the details."""

    title: str
    priority: str
    source: str
    summary: str = ""
    service_id: int | None = None
    service_code: str = ""
    site_id: int | None = None
    ticket_id: int | None = None
    url: str = ""
    keys: tuple[str, ...] = ()
    # Patient details may be in the text: messages carry the reference and a link only.
    sensitive: bool = False
    # For a business-hours route: when the site's hours next open (None: now).
    business_open_at: datetime | None = None
    # An escalation of a ticket already paged for (an SLA breach): pages even though the
    # ticket is in an open page, and groups by its own keys only, not by service.
    escalation: bool = False


@dataclass(frozen=True)
class Outcome:
    page: Page
    joined: bool  # True: it joined an open page of a storm; nobody was paged again


# ---------------------------------------------------------------------------- opening


def page(
    request: PageRequest,
    now: datetime | None = None,
    *,
    policy: EscalationPolicy | None = None,
) -> Outcome | None:
    """Open a page, or join the storm it belongs to. The route for the priority and service
    chooses the policy unless one is given (paging by hand). Returns None when no route matches.

    Call inside the transaction of the cause; the messages are outbox rows of that transaction.
    """
    now = now or timezone.now()
    urgency: str = Urgency.PAGE
    if policy is None:
        route = policies.match_route(request.priority, request.service_id)
        if route is None:
            log.info(
                "no escalation route for priority=%s service=%s",
                request.priority,
                request.service_code,
            )
            return None
        policy, urgency = route.policy, route.urgency
    by_service = request.service_code and not request.escalation
    keys = sorted(
        set(request.keys) | ({f"service:{request.service_code}"} if by_service else set())
    )
    # Inside the cause's transaction, no savepoint of its own: nothing here is caught and
    # retried, so a failure fails the cause, as it must (its page was not sent).
    with transaction.atomic(savepoint=False):
        # Most problems in a storm join a page that is already open: found without a lock.
        # Opening one takes the storm's keys' locks and looks again, so two problems of one
        # storm arriving together never open two pages.
        for locked in (False, True):
            if locked:
                _lock_keys(keys)
            found = _target(request, keys, now)
            if found is None:
                continue
            target, held = found
            # A ticket already in an open page (re-triaged, reported twice, a flapping
            # monitor) pages no more; any other problem joins the storm, unless its page
            # closed a moment ago.
            if held or _join(target, request, keys, urgency, policy, now):
                return Outcome(target, joined=True)
        opened = _open(request, keys, urgency, policy, now)
    return Outcome(opened, joined=False)


def page_by_hand(
    actor: User,
    *,
    title: str,
    summary: str,
    priority: str,
    policy_code: str,
    service: ClinicalService | None = None,
) -> Page:
    """Someone pages a team directly ("get the PACS engineer on the phone"): audited as theirs,
    never grouped into a storm."""
    require(actor, Perm.ONCALL_RESPOND)
    title = title.strip()
    if not title:
        raise InvalidInput("title must not be blank", field="title")
    if priority not in PRIORITIES:
        raise InvalidInput(
            f"priority must be one of {', '.join(PRIORITIES)} (got {priority!r})", field="priority"
        )
    chosen = EscalationPolicy.objects.filter(code=policy_code).first()
    if chosen is None:
        raise NotFound(f"no escalation policy {policy_code!r}", field="policy")
    request = PageRequest(
        title=title,
        summary=summary,
        priority=priority,
        source=PageSource.MANUAL,
        service_id=service.pk if service is not None else None,
        service_code="",
    )
    with transaction.atomic():
        outcome = page(request, policy=chosen)
        assert outcome is not None  # a policy was given: a page always opens
        audit.record(
            "oncall.paged_by_hand",
            actor=actor,
            obj=outcome.page,
            summary=f"{actor.username} paged {chosen.code}: {title[:120]}",
        )
    return outcome.page


def _lock_keys(keys: Sequence[str]) -> None:
    # Two incidents of one storm committing at the same moment must not open two pages.
    # SQLite writers are already one at a time; PostgreSQL takes a lock per key, in order.
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in keys:
            digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [digest])


def _target(request: PageRequest, keys: Sequence[str], now: datetime) -> tuple[Page, bool] | None:
    """The open page this problem belongs to, and whether it already lists the ticket, in
    one query: the page holding the ticket (except for an escalation, which groups by its own
    keys only), else the oldest open page sharing a key within its storm window."""
    ticket = request.ticket_id
    by_ticket = ticket is not None and not request.escalation
    if not keys and not by_ticket:
        return None
    page_table = Page._meta.db_table
    item_table = PageItem._meta.db_table
    params: list[object] = [ticket, *OPEN]
    where = []
    if keys:
        where.append(
            f"p.id IN (SELECT k.page_id FROM {PageKey._meta.db_table} k "  # noqa: S608 (table names)
            f"WHERE k.key IN ({', '.join(['%s'] * len(keys))}) AND k.storm_until >= %s)"
        )
        params += [*keys, connection.ops.adapt_datetimefield_value(now)]
    if by_ticket:
        where.append(f"p.id IN (SELECT i.page_id FROM {item_table} i WHERE i.ticket_id = %s)")  # noqa: S608
        params.append(ticket)
    found = rows.select(
        Page,
        f"FROM {page_table} p WHERE p.status IN (%s, %s) AND ({' OR '.join(where)}) "
        f"ORDER BY {'held DESC, ' if by_ticket else ''}p.created_at LIMIT 1",
        params,
        table_alias="p",
        extra=[
            f"EXISTS (SELECT 1 FROM {item_table} i "  # noqa: S608 (table names)
            "WHERE i.page_id = p.id AND i.ticket_id = %s) AS held"
        ],
    )
    if not found:
        return None
    page, (held,) = found[0]
    return page, bool(held)


def _open(
    request: PageRequest, keys: Sequence[str], urgency: str, policy: EscalationPolicy, now: datetime
) -> Page:
    window = timedelta(seconds=settings.ONCALL_STORM_WINDOW_SECONDS)
    opened = Page.objects.create(
        # A sensitive problem is named by its reference alone, here and in every message.
        title=(request.title if not request.sensitive else _reference(request))[:300],
        summary=request.summary,
        priority=request.priority,
        source=request.source,
        service_id=request.service_id,
        site_id=request.site_id,
        policy=policy,
        current_policy=policy,
        urgency=urgency,
        storm_until=now + window,
        phi_flagged=request.sensitive,
        created_at=now,
    )
    _add_item(opened, request, now)
    PageKey.objects.bulk_create(
        [PageKey(page=opened, key=key[:200], storm_until=opened.storm_until) for key in keys]
    )
    audit.record(
        "oncall.page_opened",
        obj=opened,
        summary=f"page {opened.pk} {opened.priority} {opened.title} via {policy.code} ({urgency})",
        after={"keys": list(keys), "ticket": request.ticket_id},
    )
    hold = request.business_open_at if urgency == Urgency.BUSINESS_HOURS else None
    notify_level(opened, now, hold_until=hold)
    opened.save()
    return opened


def _join(
    storm: Page,
    request: PageRequest,
    keys: Sequence[str],
    urgency: str,
    policy: EscalationPolicy,
    now: datetime,
) -> bool:
    """The problem becomes an item of the storm's page; nobody is paged again unless it is
    more urgent than the page was. False, with nothing written, when the page has closed
    since it was found. In a storm every report (dozens a minute) passes here inside its own
    ticket's transaction: a few plain statements. The page's row is share-locked to the
    commit, so an acknowledgement or resolution waits for the join while other reports of the
    storm join alongside."""
    # A more urgent problem will change the page: it takes the row for update from the start
    # (taking a share lock first and upgrading could deadlock with another such report).
    upgrade = _rank(request.priority) < _rank(storm.priority)
    share = ""
    if connection.features.has_select_for_update:
        share = " FOR UPDATE" if upgrade else " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Page._meta.db_table} WHERE id = %s AND status IN (%s, %s){share}",  # noqa: S608
            [storm.pk, *OPEN],
        )
        if cursor.fetchone() is None:
            return False
    if not _add_item(storm, request, now):
        return True  # the same ticket joined from another transaction a moment ago
    inserts.insert_ignoring_conflicts(
        [PageKey(page=storm, key=k[:200], storm_until=storm.storm_until) for k in keys]
    )
    audit.record(
        "oncall.page_joined",
        obj=storm,
        summary=f"{request.title[:120] if not request.sensitive else 'an incident'} joined page {storm.pk}; "
        "nobody paged again",
        after={"ticket": request.ticket_id},
    )
    # A more urgent problem joining a quiet page makes the page urgent: start paging now.
    if upgrade:
        storm.refresh_from_db()  # locked: what others changed since it was found
    if upgrade and _rank(request.priority) < _rank(storm.priority):
        storm.priority = request.priority
        if (
            storm.status == PageStatus.TRIGGERED
            and storm.urgency != Urgency.PAGE
            and urgency == Urgency.PAGE
        ):
            storm.urgency = urgency
            storm.policy = storm.current_policy = policy
            storm.level = storm.round = 0
            notify_level(storm, now)
        storm.save()
    return True


def _add_item(target: Page, request: PageRequest, now: datetime) -> bool:
    """False when the page already lists the ticket."""
    item = PageItem(
        page=target,
        ticket_id=request.ticket_id,
        title=request.title[:300] if not request.sensitive else _reference(request),
        url=request.url[:500],
        created_at=now,
    )
    return inserts.insert_ignoring_conflicts([item]) == 1


def _rank(priority: str) -> int:
    return int(priority[1:]) if priority[1:].isdigit() else 9


def _reference(request: PageRequest) -> str:
    # A sensitive ticket is named by its number only (the title may hold patient details).
    return request.title.split(" ", 1)[0] + " (details in CareLine)"


# ---------------------------------------------------------------------------- levels


def _people(level: EscalationLevel, now: datetime) -> list[User]:
    if level.target_kind == TargetKind.PERSON:
        return [level.user] if level.user is not None and level.user.is_active else []
    if level.target_kind == TargetKind.SCHEDULE and level.schedule is not None:
        shift = schedules.on_call(level.schedule, now)
        return [shift.user] if shift is not None and shift.user.is_active else []
    if level.target_kind == TargetKind.QUEUE and level.queue is not None:
        members = level.queue.memberships.filter(on_shift=True, user__is_active=True)
        return [m.user for m in members.select_related("user").order_by("user__username")]
    return []


def levels_of(policy: EscalationPolicy) -> list[EscalationLevel]:
    return list(
        policy.levels.select_related("schedule", "user", "queue", "handover").order_by("position")
    )


def notify_level(
    target: Page, now: datetime, *, hold_until: datetime | None = None, depth: int = 0
) -> None:
    """Send the current level's messages and set when the next level is due. Saves nothing:
    the caller saves the page."""
    policy = target.current_policy
    levels = levels_of(policy) if policy is not None else []
    if target.level >= len(levels):
        target.next_escalation_at = None
        return
    level = levels[target.level]
    if (
        level.target_kind == TargetKind.POLICY
        and level.handover is not None
        and depth < MAX_HANDOVERS
    ):
        audit.record(
            "oncall.handed_over",
            obj=target,
            summary=f"page {target.pk} handed over from {policy.code if policy else '?'} to {level.handover.code}",
        )
        target.current_policy = level.handover
        target.level = 0
        notify_level(target, now, hold_until=hold_until, depth=depth + 1)
        return
    people = _people(level, now)
    wait = timedelta(minutes=level.wait_minutes)
    if not people:
        audit.record(
            "oncall.nobody",
            obj=target,
            summary=f"page {target.pk} level {target.level + 1}: nobody to page ({level.target_kind}); moving on",
        )
        # Nobody to wake at this level: go straight on to the next one.
        target.next_escalation_at = now
        return
    sent = send(target, people, level.channels, level=target.level, now=now, hold_until=hold_until)
    audit.record(
        "oncall.paged",
        obj=target,
        summary=f"page {target.pk} level {target.level + 1} round {target.round + 1}: "
        + "; ".join(sent),
        after={
            "level": target.level,
            "round": target.round,
            "people": [p.username for p in people],
        },
    )
    target.next_escalation_at = None if target.urgency != Urgency.PAGE else now + wait


def send(
    target: Page,
    people: Iterable[User],
    channels: Sequence[str],
    *,
    level: int,
    now: datetime,
    hold_until: datetime | None,
) -> list[str]:
    """Outbox rows for each person's steps; returns 'sam: sms, voice after 2 min' lines."""
    items = list(target.items.order_by("created_at", "id")[:LISTED_ITEMS])
    said: list[str] = []
    # Low-priority problems wait for business hours, and go by email only.
    business = target.urgency == Urgency.BUSINESS_HOURS
    crowd = list(people)
    plans = contacts.delivery_plans(crowd, target.priority, ("email",) if business else channels)
    for person in crowd:
        words = []
        for step in plans.get(person.pk, []):
            _enqueue(target, items, person, step, level=level, now=now, hold_until=hold_until)
            words.append(
                step.channel + (f" after {step.delay_minutes} min" if step.delay_minutes else "")
            )
        said.append(f"{person.username}: {', '.join(words) or 'no way to reach them'}")
    return said


def _enqueue(
    target: Page,
    items: Sequence[PageItem],
    person: User,
    step: Step,
    *,
    level: int,
    now: datetime,
    hold_until: datetime | None,
) -> None:
    subject, body = compose(target, items, person, step.channel)
    if step.channel not in (Channel.SMS, Channel.VOICE):
        body = _shaped(step, subject, body)
    not_before = now + timedelta(minutes=step.delay_minutes)
    if hold_until is not None:
        not_before = max(not_before, hold_until)
    key = (
        f"page:{target.pk}:r{target.round}:p{target.current_policy_id}:l{level}:u{person.pk}:"
        f"{step.channel}:{step.delay_minutes}:{hashlib.sha256(step.to.encode()).hexdigest()[:12]}"
    )
    outbox.enqueue(
        outbox.Message(
            channel=step.channel,
            to=step.to,
            target=step.target,
            subject=subject,
            body=body,
            key=key,
            about=target,
            recipient=person,
            page=target,
            page_level=level,
            not_before=not_before,
        )
    )


def compose(target: Page, items: Sequence[PageItem], person: User, channel: str) -> tuple[str, str]:
    """The words of one message of a page, shaped for its channel."""
    service = f" {target.service.code}" if target.service_id and target.service else ""
    total = max(target.incident_count, len(items)) if len(items) >= LISTED_ITEMS else len(items)
    count = f" ({total} incidents)" if total > 1 else ""
    subject = f"[{target.priority}]{service} {target.title}{count}"[:300]
    ack = acklinks.make_url(target.pk, person.pk, "acknowledge")
    if channel == Channel.SMS:
        # The link must survive whole; the words give way.
        room = max(40, SMS_LIMIT - len(ack) - len("CareLine . Acknowledge: "))
        return subject, f"CareLine {subject[:room]}. Acknowledge: {ack}"
    if channel == Channel.VOICE:
        spoken = f"CareLine page. Priority {target.priority[1:]}.{service}. {target.title}.{count}"
        return subject, spoken + " Acknowledge with the link sent to you, or in CareLine."
    lines = [subject, ""]
    if target.summary and not target.phi_flagged:
        lines += [target.summary, ""]
    if items:
        lines.append("Incidents:" if len(items) > 1 else "Incident:")
        lines += [f"- {item.title} {item.url}".rstrip() for item in items]
        if total > len(items):
            lines.append(f"- and {total - len(items)} more: see the page")
        lines.append("")
    lines += [
        f"Acknowledge: {ack}",
        f"Resolve: {acklinks.make_url(target.pk, person.pk, 'resolve')}",
        f"Page: {absolute_url(f'/oncall/pages/{target.pk}/')}",
    ]
    return subject, "\n".join(lines)


def _shaped(step: Step, subject: str, body: str) -> str:
    """SMS and voice carry the short subject; a chat message mentions the person's handle."""
    if step.channel in (Channel.SMS, Channel.VOICE):
        return subject
    if step.channel in (Channel.SLACK, Channel.TEAMS) and step.to.startswith("@"):
        return f"{step.to} {body}"
    return body


def notify_people(
    people: Iterable[User], *, priority: str, subject: str, body: str, key: str, about: Model | None
) -> int:
    """A message that needs no acknowledgement (an SLA warning), sent the way each person
    asked to be reached at that priority, without the delayed steps. Returns rows written."""
    written = 0
    for person in people:
        for step in contacts.delivery_plan(person, priority):
            if step.delay_minutes:
                continue
            outbox.enqueue(
                outbox.Message(
                    channel=step.channel,
                    to=step.to,
                    target=step.target,
                    subject=subject,
                    body=_shaped(step, subject, body),
                    key=f"{key}:u{person.pk}:{step.channel}:{hashlib.sha256(step.to.encode()).hexdigest()[:12]}",
                    about=about,
                    recipient=person,
                )
            )
            written += 1
    return written
