"""The outbox dispatcher: an engine loop that sends due notifications, retrying with backoff.

Claims are one statement (on PostgreSQL `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
LOCKED) RETURNING`, so several engines share the work and never take the same row; on SQLite
the leader alone dispatches). A claim lapses after CARELINE_OUTBOX_CLAIM_SECONDS, longer than
any send may take, so a message whose dispatcher died mid-send is sent again: at least once,
with the same Message-ID or Idempotency-Key, so the receiver can tell.

Sends run concurrently: up to CARELINE_OUTBOX_CONCURRENCY messages in flight, and at most
CARELINE_OUTBOX_PER_RECEIVER at once to any one receiver (SMTP connections, the SMS gateway,
one webhook target). A receiver that is slow or full is left out of the next claims, so the
others keep flowing. Outcomes are written a batch at a time, in a few statements; a failure
waits backoff(attempts) before the next try, a permanent refusal or the last failed attempt
makes a dead letter, and a page's message delivered or dead is an event on the page's trail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import time
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from careline.core import audit
from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.channels import chat, gateway, webhook
from careline.oncall.channels import email as email_channel
from careline.oncall.channels.base import Outcome
from careline.oncall.models import (
    TARGET_CHANNELS,
    Channel,
    DeliveryStatus,
    Notification,
    WebhookTarget,
)
from careline.oncall.smtp import SmtpConfig

log = logging.getLogger("careline.outbox")

ACTIVE = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
MAX_BACKOFF_S = 3600
SMTP_LANE = "smtp"
GATEWAY_LANE = "gateway"
# Outcomes finishing close together are written together: one UPDATE, not one each.
RECORD_GATHER_S = 0.01


def backoff(attempts: int) -> timedelta:
    """base, 2 x base, 4 x base, ... (15 s, 30 s, 1 min by default), at most an hour."""
    base_s = settings.OUTBOX_BACKOFF_BASE_MS / 1000
    return timedelta(seconds=min(MAX_BACKOFF_S, base_s * 2 ** min(32, max(0, attempts - 1))))


def ready_channels() -> list[str]:
    """Channels that can leave now; the others wait in the outbox, untried."""
    channels: list[str] = sorted(TARGET_CHANNELS)
    if settings.SMTP_URL:
        channels.append(Channel.EMAIL)
    channels += [c for c in (Channel.SMS, Channel.VOICE) if gateway.configured(c)]
    return channels


def _due(now: datetime) -> Q:
    return Q(status__in=ACTIVE, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _column_list() -> str:
    return ", ".join(
        connection.ops.quote_name(f.column) for f in Notification._meta.concrete_fields
    )


def claim_due(
    now: datetime,
    limit: int = 100,
    channels: Sequence[str] | None = None,
    busy_targets: Sequence[int] = (),
) -> list[Notification]:
    """Claim up to `limit` due messages of `channels` (all when None), leaving out targets
    that are busy; each claimed row is SENDING until its claim lapses. Targets come loaded."""
    if limit <= 0 or (channels is not None and not channels):
        return []
    due = Notification.objects.filter(_due(now))
    if channels is not None:
        due = due.filter(channel__in=list(channels))
    if busy_targets:
        due = due.exclude(target_id__in=list(busy_targets))
    pick = due.order_by("next_attempt_at", "id").values("id")[:limit]
    postgres = connection.vendor == "postgresql"
    if postgres:
        pick = pick.select_for_update(skip_locked=True)
    elif not pick.exists():
        # SQLite: a read first, so an idle outbox never takes the write lock.
        return []
    until = now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)
    table = connection.ops.quote_name(Notification._meta.db_table)
    with transaction.atomic():
        pick_sql, pick_params = pick.query.sql_with_params()
        status_field = Notification._meta.get_field("status")
        until_field = Notification._meta.get_field("claimed_until")
        sql = (
            f"UPDATE {table} SET {connection.ops.quote_name(status_field.column)} = %s, "  # noqa: S608
            f"{connection.ops.quote_name(until_field.column)} = %s "
            f"WHERE {connection.ops.quote_name('id')} IN ({pick_sql}) RETURNING {_column_list()}"
        )
        params = (
            DeliveryStatus.SENDING.value,
            until_field.get_db_prep_save(until, connection),
            *pick_params,
        )
        claimed = list(Notification.objects.raw(sql, params))
    _load_targets(claimed)
    return sorted(claimed, key=lambda n: (n.next_attempt_at, n.pk))


def _load_targets(notifications: list[Notification]) -> None:
    # Sends run on the event loop, where the ORM may not query: targets travel with the row.
    ids = {n.target_id for n in notifications if n.target_id is not None}
    targets = WebhookTarget.objects.in_bulk(ids) if ids else {}
    for n in notifications:
        if n.target_id is not None:
            n.target = targets[n.target_id]


def _case(values: Mapping[int, Any], field: models.Field[Any, Any]) -> Case:
    return Case(
        *[When(pk=pk, then=Value(value, output_field=field)) for pk, value in values.items()],
        output_field=field,
    )


def record_outcomes(outcomes: Sequence[Outcome], attempts: Mapping[int, int]) -> int:
    """Write what became of claimed messages (`attempts`: each one's count when claimed), in
    one transaction and a few statements; how many were delivered."""
    now = timezone.now()
    delivered = {o.notification_id: o.at or now for o in outcomes if o.attempted and not o.error}
    released = [o.notification_id for o in outcomes if not o.attempted]
    failed = [o for o in outcomes if o.attempted and o.error]
    status_field = Notification._meta.get_field("status")
    at_field = Notification._meta.get_field("next_attempt_at")
    error_field = Notification._meta.get_field("last_error")
    dead: dict[int, str] = {}
    with transaction.atomic():
        mine = Notification.objects.filter(status=DeliveryStatus.SENDING)
        if delivered:
            mine.filter(pk__in=list(delivered)).update(
                status=DeliveryStatus.SENT,
                sent_at=_case(delivered, Notification._meta.get_field("sent_at")),
                claimed_until=None,
                last_error="",
            )
        if released:
            mine.filter(pk__in=released).update(status=DeliveryStatus.PENDING, claimed_until=None)
        if failed:
            statuses, next_at, errors = {}, {}, {}
            for o in failed:
                tried = attempts.get(o.notification_id, 0) + 1
                error = o.error or ""
                if o.permanent or tried >= settings.OUTBOX_MAX_ATTEMPTS:
                    dead[o.notification_id] = error
                wait = backoff(tried)
                if o.retry_after_s is not None:
                    wait = max(wait, timedelta(seconds=min(MAX_BACKOFF_S, o.retry_after_s)))
                statuses[o.notification_id] = (
                    DeliveryStatus.DEAD if o.notification_id in dead else DeliveryStatus.PENDING
                )
                next_at[o.notification_id] = now + wait
                errors[o.notification_id] = error[:2000]
                log.warning(
                    "notification=%s attempt=%s %s error=%s",
                    o.notification_id,
                    tried,
                    "dead" if o.notification_id in dead else "will retry",
                    error,
                )
            mine.filter(pk__in=list(statuses)).update(
                status=_case(statuses, status_field),
                attempts=F("attempts") + 1,
                next_attempt_at=_case(next_at, at_field),
                last_error=_case(errors, error_field),
                claimed_until=None,
            )
        _audit_pages(delivered, dead)
    return len(delivered)


def _audit_pages(delivered: Mapping[int, datetime], dead: Mapping[int, str]) -> None:
    """Who was paged, by what, and when it reached them (or that it never did)."""
    ids = [*delivered, *dead]
    if not ids:
        return
    paged = Notification.objects.filter(pk__in=ids, page__isnull=False).select_related(
        "page", "recipient"
    )
    for n in paged.order_by("id"):
        who = n.recipient.username if n.recipient is not None else f"channel {n.to}"
        facts = {
            "notification": n.pk,
            "recipient": n.recipient.username if n.recipient is not None else None,
            "channel": n.channel,
            "to": n.to,
            "level": n.page_level,
        }
        if n.pk in delivered:
            at = delivered[n.pk]
            audit.record(
                "oncall.delivered",
                obj=n.page,
                summary=f"{who} paged by {n.channel}, delivered {at:%Y-%m-%d %H:%M:%S} UTC",
                after={**facts, "delivered_at": at.isoformat()},
            )
        else:
            audit.record(
                "oncall.delivery_failed",
                obj=n.page,
                summary=f"{who} could not be paged by {n.channel}: {dead[n.pk]}",
                after={**facts, "error": dead[n.pk][:500]},
            )


@dataclass
class Lane:
    """The messages held for one receiver: waiting their turn, or being sent by one of at
    most OUTBOX_PER_RECEIVER workers."""

    name: str
    waiting: deque[Notification] = field(default_factory=deque)
    workers: int = 0

    @property
    def held(self) -> int:
        return len(self.waiting) + self.workers


class Dispatcher:
    """Claims, sends and records, round after round; `run()` is the engine's loop.

    Claimed messages join their receiver's lane; each lane's workers send one message after
    another (a mail worker over one SMTP connection), so a round's claim never waits for a
    slow receiver. A lane holds at most BACKLOG x OUTBOX_PER_RECEIVER messages; a full lane
    is left out of the next claims, and what a claim brings beyond its room is given back.
    """

    BACKLOG = 4

    def __init__(self) -> None:
        self.lanes: dict[str, Lane] = {}
        self.in_flight = 0  # messages held in lanes
        self.give_up_at: dict[int, float] = {}  # time.monotonic() past which a claim is unsafe
        self.tasks: set[asyncio.Task[None]] = set()
        self.claimed: dict[int, Notification] = {}
        self.finished: list[Outcome] = []
        self.delivered = 0
        self.woken = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self.smtp_threads = ThreadPoolExecutor(
            max_workers=settings.OUTBOX_PER_RECEIVER, thread_name_prefix="outbox-smtp"
        )

    @property
    def client(self) -> httpx.AsyncClient:
        # Made on first use: building its TLS context costs more than a round of mail.
        if self._client is None:
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=settings.OUTBOX_CONCURRENCY),
                timeout=float(settings.OUTBOX_SEND_TIMEOUT_S),
                headers={"User-Agent": "CareLine"},
            )
        return self._client

    @staticmethod
    def lane_of(notification: Notification) -> str:
        if notification.channel == Channel.EMAIL:
            return SMTP_LANE
        if notification.channel in (Channel.SMS, Channel.VOICE):
            return GATEWAY_LANE
        return f"target:{notification.target_id}"

    def _full(self, name: str) -> bool:
        lane = self.lanes.get(name)
        return lane is not None and lane.held >= self.BACKLOG * settings.OUTBOX_PER_RECEIVER

    def _claimable(self) -> tuple[list[str], list[int]]:
        """Ready channels and busy targets, leaving out receivers with no room."""
        channels = [
            c
            for c in ready_channels()
            if not (c == Channel.EMAIL and self._full(SMTP_LANE))
            and not (c in (Channel.SMS, Channel.VOICE) and self._full(GATEWAY_LANE))
        ]
        busy_targets = [
            int(name.split(":", 1)[1])
            for name in self.lanes
            if name.startswith("target:") and name != "target:None" and self._full(name)
        ]
        return channels, busy_targets

    async def round(self) -> int:
        """Record what finished, then claim and start what is due and fits; how many started."""
        await self.record()
        free = settings.OUTBOX_CONCURRENCY - self.in_flight
        channels, busy_targets = self._claimable()
        if free <= 0 or not channels:
            return 0
        claimed = await db(claim_due, timezone.now(), free, channels, busy_targets)
        return self._start(claimed)

    def _start(self, claimed: list[Notification]) -> int:
        # A message whose turn has not come by then is given back before its claim lapses.
        give_up_at = (
            time.monotonic() + settings.OUTBOX_CLAIM_SECONDS - settings.OUTBOX_SEND_TIMEOUT_S
        )
        smtp = email_channel.config()
        spare: list[Notification] = []
        for n in claimed:
            self.claimed[n.pk] = n
            name = self.lane_of(n)
            if self._full(name) or (n.channel == Channel.EMAIL and smtp is None):
                spare.append(n)
                continue
            self.lanes.setdefault(name, Lane(name)).waiting.append(n)
            self.give_up_at[n.pk] = give_up_at
            self.in_flight += 1
        self.finished += [Outcome.not_attempted(n) for n in spare]
        for lane in self.lanes.values():
            # Busy workers take the next message when they are done; add only what is missing.
            wanted = min(settings.OUTBOX_PER_RECEIVER - lane.workers, len(lane.waiting))
            for _ in range(max(0, wanted)):
                lane.workers += 1
                if lane.name == SMTP_LANE:
                    self._spawn(self._mail_worker(lane, smtp))
                else:
                    self._spawn(self._http_worker(lane))
        return len(claimed) - len(spare)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _next(self, lane: Lane) -> Notification | None:
        """The lane's next message to send; one whose claim is running out is given back."""
        while lane.waiting:
            n = lane.waiting.popleft()
            if time.monotonic() < self.give_up_at.pop(n.pk, 0.0):
                return n
            self._settle(Outcome.not_attempted(n))
        return None

    def _settle(self, outcome: Outcome) -> None:
        self.in_flight -= 1
        self.finished.append(outcome)
        self.woken.set()

    async def _http_worker(self, lane: Lane) -> None:
        try:
            while (n := self._next(lane)) is not None:
                try:
                    outcome = await self._send_http(n)
                except Exception as exc:
                    # A bug in a channel must not stop the lane; the message is tried again.
                    log.exception("lane=%s notification=%s send failed", lane.name, n.pk)
                    outcome = Outcome.failed(n, f"internal error: {exc!r}")
                self._settle(outcome)
        finally:
            lane.workers -= 1

    async def _mail_worker(self, lane: Lane, smtp: SmtpConfig | None) -> None:
        assert smtp is not None
        loop = asyncio.get_running_loop()
        connection: smtplib.SMTP | None = None
        try:
            while (n := self._next(lane)) is not None:
                if connection is None:
                    try:
                        connection = await loop.run_in_executor(
                            self.smtp_threads, email_channel.connect, smtp
                        )
                    except (OSError, smtplib.SMTPException) as exc:
                        # The server is away: what waits for it would fail alike this round.
                        error = email_channel.unreachable(smtp, exc)
                        self._settle(Outcome.failed(n, error))
                        while (more := self._next(lane)) is not None:
                            self._settle(Outcome.failed(more, error))
                        return
                outcome, usable = await loop.run_in_executor(
                    self.smtp_threads, email_channel.send_one, connection, smtp, n
                )
                self._settle(outcome)
                if not usable:
                    await loop.run_in_executor(self.smtp_threads, email_channel.close, connection)
                    connection = None
        finally:
            lane.workers -= 1
            if connection is not None:
                self.smtp_threads.submit(email_channel.close, connection)

    async def _send_http(self, notification: Notification) -> Outcome:
        if notification.channel in (Channel.SMS, Channel.VOICE):
            return await gateway.send(self.client, notification)
        if notification.channel in (Channel.SLACK, Channel.TEAMS):
            return await chat.send(self.client, notification)
        return await webhook.send(self.client, notification)

    async def record(self) -> None:
        """Write the finished outcomes; kept for the next round if the database is away."""
        if not self.finished:
            return
        outcomes, self.finished = self.finished, []
        attempts = {
            o.notification_id: self.claimed[o.notification_id].attempts
            for o in outcomes
            if o.notification_id in self.claimed
        }
        try:
            self.delivered += await db(record_outcomes, outcomes, attempts)
        except Exception:
            self.finished = outcomes + self.finished
            raise
        for o in outcomes:
            self.claimed.pop(o.notification_id, None)

    async def drain(self) -> None:
        """Wait for every message held to be sent, and record them all."""
        while self.tasks:
            await asyncio.wait(list(self.tasks))
        await self.record()

    async def run(self) -> None:
        poll_s = settings.OUTBOX_POLL_MS / 1000
        failures = 0
        while True:
            try:
                started = await self.round()
                failures = 0
            except Exception as exc:
                # Usually the database restarting: keep what was sent, and try again.
                failures += 1
                started = 0
                log.warning("outbox round failed (%s in a row): %s", failures, exc)
            if started and self.in_flight < settings.OUTBOX_CONCURRENCY:
                continue  # a full claim: more may be due at once
            pause = poll_s if not failures else min(5.0, poll_s * 2**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), timeout=pause)
            self.woken.clear()
            if self.finished and self.in_flight:
                # Sends are finishing one by one: gather a few more into the same write.
                await asyncio.sleep(min(poll_s, RECORD_GATHER_S))

    async def close(self, grace_s: float = 2.0) -> None:
        """Let sends in flight finish for a moment, give back what never started, record what
        is known, and let go. A send cut short keeps its claim until it lapses, then goes
        again (the receiver may have it: the same key tells it so)."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace_s)
        for lane in self.lanes.values():
            while lane.waiting:
                self._settle(Outcome.not_attempted(lane.waiting.popleft()))
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.record()
        if self._client is not None:
            await self._client.aclose()
        self.smtp_threads.shutdown(wait=False, cancel_futures=True)


async def dispatch_once() -> int:
    """One round to the end: claim what is due, send it all, record it. How many were sent."""
    dispatcher = Dispatcher()
    try:
        await dispatcher.round()
        await dispatcher.drain()
    finally:
        await dispatcher.close()
    return dispatcher.delivered


async def _serve() -> None:
    dispatcher = Dispatcher()
    try:
        await dispatcher.run()
    finally:
        await dispatcher.close()


def register() -> None:
    # On PostgreSQL every engine dispatches (claims keep them apart); on SQLite the leader does.
    shared = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    register_loop(
        LoopSpec(
            "outbox",
            interval_s=settings.OUTBOX_POLL_MS / 1000,
            tick=_serve,
            leader_only=not shared,
        )
    )
