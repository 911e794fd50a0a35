"""The monitor scheduler: an engine loop that runs due checks and records what they find.

Work lives in the database. Each pass claims the monitors whose `next_due_at` has passed and
that no engine holds (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several engines share the
work; SQLite: only the leader engine runs this loop), stamps a lease on them, and starts
their checks as tasks bounded by a semaphore: a slow or hanging check holds one slot for at
most its timeout and never delays the others. Results are gathered in memory and written in
batches (one INSERT of results, one UPDATE of monitor states per batch), because at a
thousand checks a second the database writes, not the checks, are the bottleneck.

A monitor that turns down has its parents checked again at once before an incident is
opened: when parent and child fail in the same moment, the failure is put on the parent
whichever check happened to run first.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import BaseModel

from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.monitoring import checks, configs
from careline.monitoring.checks import CheckResult
from careline.monitoring.choices import IncidentSource, MonitorKind, MonitorStatus
from careline.monitoring.models import CheckRecord, Monitor, MonitorIncident
from careline.monitoring.services import incidents, monitors, trends
from careline.monitoring.services.state import State, advance

log = logging.getLogger("careline.monitoring")

CLAIM_BATCH = 500
FLUSH_EVERY_S = 0.5
IDLE_SLEEP_S = 0.25
LEASE_MARGIN_S = 30.0
MAX_PARENT_RECHECKS = 20
HELPER_STOP_S = 15.0

CLAIM_FIELDS = (
    "id",
    "kind",
    "config",
    "secrets",
    "timeout_s",
    "interval_s",
    "retries",
    "recover_after",
    "status",
    "status_since",
    "fail_count",
    "ok_count",
    "next_due_at",
    "updated_at",
)


@dataclass
class Claimed:
    """A due monitor, as the check task needs it."""

    id: int
    kind: str
    config: BaseModel | None
    config_error: str
    timeout_s: float
    interval_s: int
    retries: int
    recover_after: int
    state: State
    status_since: datetime | None
    due_at: datetime
    parents: list[int]
    incident_open: bool


@dataclass
class Outcome:
    claimed: Claimed
    result: CheckResult
    at: datetime
    state: State
    status_since: datetime | None
    went_down: bool
    recovered: bool
    failing_parents: list[int] = field(default_factory=list)


_config_cache: dict[tuple[int, datetime], BaseModel] = {}


def _parse(row: dict[str, Any]) -> tuple[BaseModel | None, str]:
    key = (row["id"], row["updated_at"])
    cached = _config_cache.get(key)
    if cached is not None:
        return cached, ""
    try:
        monitor = Monitor(
            id=row["id"], kind=row["kind"], config=row["config"], secrets=row["secrets"]
        )
        parsed = configs.parse_config(row["kind"], monitor.full_config())
    except Exception as exc:  # a stored config this version refuses, or an unreadable secret
        return None, f"configuration cannot be used: {exc}"
    if len(_config_cache) > 50_000:
        _config_cache.clear()
    _config_cache[key] = parsed
    return parsed, ""


def claim(owner: str, now: datetime, limit: int) -> list[Claimed]:
    """Take up to `limit` due monitors for this engine; nobody else runs them until released."""
    due = (
        Monitor.objects.filter(paused=False, next_due_at__lte=now)
        .exclude(kind=MonitorKind.HEARTBEAT)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_due_at")
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.values(*CLAIM_FIELDS)[:limit])
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        longest = max(r["timeout_s"] for r in rows)
        Monitor.objects.filter(pk__in=ids).update(
            lease_owner=owner, lease_until=now + timedelta(seconds=longest + LEASE_MARGIN_S)
        )
    through = Monitor.depends_on.through
    parents: dict[int, list[int]] = collections.defaultdict(list)
    for child, parent in through.objects.filter(from_monitor_id__in=ids).values_list(
        "from_monitor_id", "to_monitor_id"
    ):
        parents[child].append(parent)
    with_incident = set(
        MonitorIncident.objects.filter(
            monitor_id__in=ids, source=IncidentSource.MONITOR, resolved_at__isnull=True
        ).values_list("monitor_id", flat=True)
    )
    return [
        _claimed(
            row,
            due_at=row["next_due_at"],
            parents=parents.get(row["id"], []),
            incident_open=row["id"] in with_incident,
        )
        for row in rows
    ]


def _claimed(
    row: dict[str, Any], *, due_at: datetime, parents: list[int], incident_open: bool
) -> Claimed:
    """A monitor's row (CLAIM_FIELDS) as the check task needs it."""
    parsed, problem = _parse(row)
    return Claimed(
        id=row["id"],
        kind=row["kind"],
        config=parsed,
        config_error=problem,
        timeout_s=row["timeout_s"],
        interval_s=row["interval_s"],
        retries=row["retries"],
        recover_after=row["recover_after"],
        state=State(row["status"], row["fail_count"], row["ok_count"]),
        status_since=row["status_since"],
        due_at=due_at,
        parents=parents,
        incident_open=incident_open,
    )


def release(owner: str, monitor_ids: list[int]) -> int:
    """Give back monitors this engine claimed but did not check."""
    return Monitor.objects.filter(pk__in=monitor_ids, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


def _next_due(claimed: Claimed, now: datetime) -> datetime:
    # Keep the monitor's own cadence (its start times stay spread); one that fell behind
    # starts again within a few seconds rather than all at once.
    nxt = claimed.due_at + timedelta(seconds=claimed.interval_s)
    if nxt <= now:
        nxt = now + timedelta(seconds=random.uniform(0, min(claimed.interval_s, 5)))
    return nxt


UPDATE_STATE = (
    f"UPDATE {Monitor._meta.db_table} SET status = %s, status_since = %s, "  # noqa: S608  (the model's table)
    "fail_count = %s, ok_count = %s, last_checked_at = %s, last_error = %s, "
    "last_latency_ms = %s, last_value = %s, next_due_at = %s, lease_owner = '', "
    "lease_until = NULL WHERE id = %s"
)


def record(outcomes: list[Outcome], now: datetime) -> None:
    """Write a batch of results and states; then the few incidents they call for."""
    if not outcomes:
        return
    records = [
        CheckRecord(
            monitor_id=o.claimed.id,
            at=o.at,
            status=o.result.status,
            latency_ms=round(o.result.latency_ms, 2),
            error=o.result.error[:500],
            value=o.result.value,
        )
        for o in outcomes
    ]
    # One UPDATE per monitor, sent as one batch (executemany: a single prepared statement
    # on SQLite, pipelined on PostgreSQL). Django's bulk_update writes a CASE per column
    # with a branch per row, which costs seconds for a few hundred rows.
    adapt = connection.ops.adapt_datetimefield_value
    states = [
        (
            o.state.status,
            adapt(o.status_since),
            o.state.fail_count,
            o.state.ok_count,
            adapt(o.at),
            o.result.error[:500],
            round(o.result.latency_ms, 2),
            o.result.value,
            adapt(_next_due(o.claimed, now)),
            o.claimed.id,
        )
        for o in outcomes
    ]
    with transaction.atomic():
        CheckRecord.objects.bulk_create(records, batch_size=1000)
        with connection.cursor() as cursor:
            cursor.executemany(UPDATE_STATE, states)
        # A monitor paused while its check ran stays paused.
        Monitor.objects.filter(pk__in=[o.claimed.id for o in outcomes], paused=True).update(
            status=MonitorStatus.PAUSED
        )
    for o in outcomes:
        try:
            _follow_up(o, now)
        except Exception:
            log.exception("monitor=%s incident handling failed", o.claimed.id)


def _follow_up(o: Outcome, now: datetime) -> None:
    if o.state.status == MonitorStatus.DOWN:
        done = incidents.on_down(o.claimed.id, o.result.error, o.failing_parents, now)
        if done != "unchanged":
            log.info("monitor=%s down: %s", o.claimed.id, done)
    elif o.recovered:
        incidents.on_recovered(o.claimed.id, now)
    if o.result.value is not None:
        trends.consider(o.claimed.id, now)


@dataclass
class Scheduler:
    """One engine's share of the checks."""

    owner: str
    concurrency: int = field(default_factory=lambda: int(settings.MONITOR_CONCURRENCY))
    lags: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=100_000)
    )
    checks_done: int = 0

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)
        self._pending: list[Outcome] = []
        self._running: set[asyncio.Task[None]] = set()
        self._held: set[int] = set()  # claimed, result not yet written

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Claim, run and record until cancelled (or `stop` is set)."""
        last_flush = time.monotonic()
        try:
            while stop is None or not stop.is_set():
                room = self.concurrency * 2 - len(self._running)
                claimed: list[Claimed] = []
                if room > 0:
                    try:
                        claimed = await db(
                            claim, self.owner, timezone.now(), min(room, CLAIM_BATCH)
                        )
                    except Exception:
                        log.exception("monitor claim failed")
                for item in claimed:
                    self._held.add(item.id)
                    task = asyncio.create_task(self._check(item))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                if time.monotonic() - last_flush >= FLUSH_EVERY_S or len(self._pending) >= 1000:
                    await self.flush()
                    last_flush = time.monotonic()
                if len(claimed) < CLAIM_BATCH:
                    await asyncio.sleep(IDLE_SLEEP_S)
        finally:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)
            await asyncio.shield(self.flush())
            # Checks cut short by the stop: give their monitors back at once rather than
            # when their leases lapse, so another engine (or this one restarted) runs them.
            if self._held:
                await asyncio.shield(db(release, self.owner, sorted(self._held)))

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        self._held.difference_update(o.claimed.id for o in batch)
        try:
            await db(record, batch, timezone.now())
        except Exception:
            log.exception("recording %d check results failed", len(batch))

    async def _check(self, item: Claimed) -> None:
        async with self._slots:
            started = timezone.now()
            self.lags.append((started - item.due_at).total_seconds())
            result = await self._probe(item)
            self.checks_done += 1
        at = timezone.now()
        step = advance(
            item.state, result.status, retries=item.retries, recover_after=item.recover_after
        )
        since = at if step.state.status != item.state.status else item.status_since
        outcome = Outcome(item, result, at, step.state, since, step.went_down, step.recovered)
        if step.state.status == MonitorStatus.DOWN and not item.incident_open and item.parents:
            outcome.failing_parents = await self._failing_parents(item.id)
        self._pending.append(outcome)

    async def _probe(self, item: Claimed) -> CheckResult:
        if item.config is None:
            return CheckResult("down", 0.0, item.config_error)
        try:
            return await checks.run_check(item.kind, item.config, item.timeout_s)
        except Exception as exc:  # run_check promises not to raise; the engine trusts no one
            log.exception("monitor=%s check raised", item.id)
            return CheckResult("down", 0.0, f"check failed: {exc!r}"[:500])

    async def _failing_parents(self, monitor_id: int) -> list[int]:
        """Check the monitor's parents (and theirs) now; those failing explain its failure."""
        rows = await db(_ancestor_rows, monitor_id)
        results = await asyncio.gather(
            *(self._probe(item) for item in rows), return_exceptions=True
        )
        failing = []
        for item, result in zip(rows, results, strict=True):
            if item.kind == MonitorKind.HEARTBEAT:
                # A heartbeat cannot be asked again: its last word stands.
                down = False
            else:
                down = isinstance(result, BaseException) or result.status == "down"
            if down or item.state.status == MonitorStatus.DOWN:
                failing.append(item.id)
        return failing


def _ancestor_rows(monitor_id: int) -> list[Claimed]:
    chain = monitors.ancestors(monitor_id)[:MAX_PARENT_RECHECKS]
    now = timezone.now()
    return [
        _claimed(row, due_at=row["next_due_at"] or now, parents=[], incident_open=False)
        for row in Monitor.objects.filter(pk__in=chain, paused=False).values(*CLAIM_FIELDS)
    ]


async def start_helpers(count: int) -> list[asyncio.subprocess.Process]:
    """Start `count` helper processes (`careline monitor_checks`) that claim and run checks
    beside this one: one process's share of the CPU runs about 500 checks a second."""
    return [
        await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "careline.cli", "monitor_checks"],
            *["--engine-pid", str(os.getpid())],
            stdin=asyncio.subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


async def stop_helpers(helpers: list[asyncio.subprocess.Process]) -> None:
    """Ask the helpers to stop (each records what it checked and gives back the rest)."""
    for helper in helpers:
        if helper.returncode is None:
            helper.terminate()
    for helper in helpers:
        try:
            await asyncio.wait_for(helper.wait(), HELPER_STOP_S)
        except TimeoutError:
            helper.kill()
            await helper.wait()


async def run_helper(stop: asyncio.Event, parent: int) -> None:
    """A helper's life: run checks until told to stop, or until the engine that started it
    (pid `parent`) is gone: a helper never outlives its engine, which may have lost its
    leadership. One whose engine died while it was starting does not begin at all."""
    if os.getppid() != parent:
        log.warning("monitor helper: its engine (pid %s) is gone; not starting", parent)
        return

    async def watch_parent() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(1.0)
        log.warning("monitor helper: its engine (pid %s) is gone; stopping", parent)
        stop.set()

    watcher = asyncio.create_task(watch_parent())
    try:
        await Scheduler(owner=uuid.uuid4().hex[:16]).run(stop)
    finally:
        watcher.cancel()
        await checks.close()


async def _tick() -> None:
    # The tick runs until the engine cancels it (leadership lost, shutdown); a crash inside
    # returns here and the runner starts it again after its interval. Monitors it held stay
    # leased until their lease lapses, then any engine takes them. Claims are exclusive
    # (a transaction on SQLite, SKIP LOCKED on PostgreSQL), so helper processes share the
    # due monitors with this one without running any twice.
    helpers = await start_helpers(settings.MONITOR_PROCESSES - 1)
    try:
        await Scheduler(owner=uuid.uuid4().hex[:16]).run()
    finally:
        await stop_helpers(helpers)
        await checks.close()


def register() -> None:
    # On PostgreSQL every engine takes its share (SKIP LOCKED); on SQLite only the leader.
    shared = connection.vendor == "postgresql"
    register_loop(LoopSpec("monitor-scheduler", interval_s=1.0, tick=_tick, leader_only=not shared))
