"""Heartbeats: jobs push pings; the watcher turns a late or failed job into an incident.

The ping path needs no session: an UPDATE of the monitor that matches the ping's id (none
matched: 404, nothing written) and an INSERT of the ping, one statement on PostgreSQL.
Judging the ping (late? failed? recovered?) is the watcher's work, in the engine, so a
burst of pings costs the web workers nothing more.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.monitoring import configs
from careline.monitoring.choices import MonitorKind, MonitorStatus, PingKind, ResultStatus
from careline.monitoring.models import CheckRecord, HeartbeatPing, Monitor
from careline.monitoring.services import incidents, trends
from careline.monitoring.services.state import State, advance

log = logging.getLogger("careline.monitoring")
BATCH = 500

_MONITOR = Monitor._meta.db_table
_PING = HeartbeatPing._meta.db_table


def record_ping(
    token: uuid.UUID, kind: str, value: float | None, body: str, remote_addr: str
) -> bool:
    """Store one ping; False when no heartbeat has this id (and nothing was written)."""
    token_db = Monitor._meta.get_field("ping_token").get_db_prep_value(token, connection)
    at_db = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        return _record_ping_postgres(token_db, kind, value, body, remote_addr, at_db)
    with connection.cursor() as cursor:
        # A read first, outside any transaction: an unknown id costs one index lookup and
        # never waits for (or takes) the write lock.
        cursor.execute(
            f"SELECT id FROM {_MONITOR} WHERE ping_token = %s AND kind = %s",  # noqa: S608  (table names from the models)
            [token_db, MonitorKind.HEARTBEAT],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_MONITOR} SET last_ping_at = %s, last_ping_kind = %s, "  # noqa: S608
            "last_value = COALESCE(%s, last_value) WHERE id = %s",
            [at_db, kind, value, row[0]],
        )
        cursor.execute(
            f"INSERT INTO {_PING} (monitor_id, at, kind, value, body, remote_addr) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [row[0], at_db, kind, value, body, remote_addr[:45]],
        )
    return True


# PostgreSQL: one statement, one round trip, its own transaction. An unknown id updates no
# row, so the INSERT fed by the UPDATE's RETURNING writes nothing either.
_PING_POSTGRES = (
    f"WITH beat AS (UPDATE {_MONITOR} SET last_ping_at = %(at)s, last_ping_kind = %(kind)s, "  # noqa: S608  (table names from the models)
    "last_value = COALESCE(%(value)s::double precision, last_value) "
    "WHERE ping_token = %(token)s AND kind = %(heartbeat)s RETURNING id) "
    f"INSERT INTO {_PING} (monitor_id, at, kind, value, body, remote_addr) "
    "SELECT id, %(at)s, %(kind)s, %(value)s::double precision, %(body)s, %(addr)s FROM beat "
    "RETURNING monitor_id"
)


def _record_ping_postgres(
    token_db: Any, kind: str, value: float | None, body: str, remote_addr: str, at_db: Any
) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            _PING_POSTGRES,
            {
                "at": at_db,
                "kind": kind,
                "value": value,
                "token": token_db,
                "heartbeat": MonitorKind.HEARTBEAT,
                "body": body,
                "addr": remote_addr[:45],
            },
        )
        return cursor.fetchone() is not None


def _schedule(monitor: Monitor) -> configs.HeartbeatConfig:
    parsed = configs.parse_config(MonitorKind.HEARTBEAT, monitor.config)
    assert isinstance(parsed, configs.HeartbeatConfig)
    return parsed


def _deadline(schedule: configs.HeartbeatConfig, after: datetime) -> datetime:
    return schedule.next_expected(after) + timedelta(seconds=schedule.grace_s)


def _judge(monitor: Monitor, result: str, error: str, at: datetime, value: float | None) -> None:
    """Apply one verdict: a result row, the state machine, the incident."""
    step = advance(
        State(monitor.status, monitor.fail_count, monitor.ok_count),
        result,
        retries=1,  # a late or failed job is down at once: there is no retry of the past
        recover_after=1,
    )
    changed = step.state.status != monitor.status
    monitor.status = step.state.status
    monitor.fail_count = step.state.fail_count
    monitor.ok_count = step.state.ok_count
    if changed:
        monitor.status_since = at
    monitor.last_checked_at = at
    monitor.last_error = error[:500]
    CheckRecord.objects.create(
        monitor=monitor, at=at, status=result, latency_ms=0.0, error=error[:500], value=value
    )
    monitor.save(
        update_fields=[
            "status",
            "status_since",
            "fail_count",
            "ok_count",
            "last_checked_at",
            "last_error",
            "next_due_at",
            "ping_seen_at",
        ]
    )
    if monitor.status == MonitorStatus.DOWN:
        incidents.on_down(monitor.pk, error, [], at)
    elif step.recovered:
        incidents.on_recovered(monitor.pk, at)
    if value is not None and monitor.value_threshold is not None:
        trends.consider(monitor.pk, at)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Judge new pings, then heartbeats past their deadline."""
    now = now or timezone.now()
    counts = {"pings": 0, "late": 0}
    active = Monitor.objects.filter(kind=MonitorKind.HEARTBEAT, paused=False)
    fresh = active.filter(
        Q(last_ping_at__gt=F("ping_seen_at"))
        | Q(ping_seen_at__isnull=True, last_ping_at__isnull=False)
    ).select_related("service", "department")[:BATCH]
    for monitor in fresh:
        seen = monitor.last_ping_at
        assert seen is not None
        # The conditional UPDATE is the claim: a second watcher finds the ping judged.
        claimed = (
            Monitor.objects.filter(pk=monitor.pk, last_ping_at=seen)
            .filter(Q(ping_seen_at__isnull=True) | Q(ping_seen_at__lt=seen))
            .update(ping_seen_at=seen)
        )
        if not claimed:
            continue
        monitor.ping_seen_at = seen
        counts["pings"] += 1
        try:
            _judge_ping(monitor, seen)
        except Exception:
            log.exception("heartbeat=%s ping could not be judged", monitor.pk)
    late = active.filter(next_due_at__lte=now).select_related("service", "department")[:BATCH]
    for monitor in late:
        due = monitor.next_due_at
        assert due is not None
        schedule = _schedule(monitor)
        nxt = _deadline(schedule, now)
        if not Monitor.objects.filter(pk=monitor.pk, next_due_at=due).update(next_due_at=nxt):
            continue
        monitor.next_due_at = nxt
        counts["late"] += 1
        last = monitor.last_ping_at
        error = (
            f"no ping since {last:%Y-%m-%d %H:%M:%S} UTC; expected by {due:%Y-%m-%d %H:%M:%S} UTC"
            if last
            else f"no ping yet; expected by {due:%Y-%m-%d %H:%M:%S} UTC"
        )
        try:
            with transaction.atomic():
                _judge(monitor, ResultStatus.DOWN, error, now, None)
        except Exception:
            log.exception("heartbeat=%s lateness could not be recorded", monitor.pk)
    if any(counts.values()):
        log.info("heartbeat sweep pings=%s late=%s", counts["pings"], counts["late"])
    return counts


def _judge_ping(monitor: Monitor, at: datetime) -> None:
    kind = monitor.last_ping_kind
    if kind == PingKind.START:
        return  # the job began; its success or failure ping follows
    schedule = _schedule(monitor)
    value = monitor.last_value
    with transaction.atomic():
        if kind == PingKind.FAIL:
            monitor.next_due_at = _deadline(schedule, at)
            _judge(monitor, ResultStatus.DOWN, "the job reported a failure", at, value)
        else:
            monitor.next_due_at = _deadline(schedule, at)
            _judge(monitor, ResultStatus.UP, "", at, value)


async def _tick() -> None:
    await db(sweep)


def register() -> None:
    register_loop(LoopSpec("heartbeat-watch", interval_s=1.0, tick=_tick))


def body_limit() -> int:
    return int(settings.HEARTBEAT_BODY_BYTES)
