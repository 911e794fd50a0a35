"""The tamper-evident audit trail: append an event, verify the chain.

Every event's hash is SHA-256 over the previous event's hash and the event's own canonical
JSON. Appending takes a lock so the chain stays a line even with several web workers and
engines writing at once: on PostgreSQL a transaction-scoped advisory lock, on SQLite the
write lock that BEGIN IMMEDIATE already holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from careline.core import inserts, requestctx
from careline.core.gather import Gathered
from careline.core.models import AuditEvent, User

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    """The value as the database will give it back, so the hash is reproducible."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(event: AuditEvent) -> str:
    body = {
        "at": _at_text(event.at),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "summary": event.summary,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "ip": event.ip,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest()


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_name: str = "",
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it records."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    ctx = requestctx.current()
    event = AuditEvent(
        # Truncated to whole microseconds as both databases store them.
        at=timezone.now(),
        actor=actor,
        actor_name=(actor.username if actor is not None else actor_name or ctx.origin)[:150],
        action=action,
        object_type=object_type,
        object_id=object_id[:64],
        summary=summary[:300],
        before=_jsonable(before),
        after=_jsonable(after),
        request_id=ctx.request_id,
        ip=ctx.ip,
    )
    _events.add(event)
    return event


def _append(events: list[AuditEvent]) -> None:
    # No savepoint: if the events cannot be written, the change they record must not stand.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The chain's advisory lock, then its last hash: one round trip (migration 0003).
            cursor.execute("SELECT careline_audit_tail()")
        else:
            cursor.execute(
                f"SELECT hash FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT 1"  # noqa: S608
            )
        row = cursor.fetchone()
        last = row[0] if row and row[0] else GENESIS
        for event in events:
            event.prev_hash = last
            event.hash = last = compute_hash(event)
            inserts.insert_one(event)


# `with audit.batch():` appends the events recorded inside the block when it ends (none if it
# raises), taking the chain's lock once. On PostgreSQL that lock is held until the transaction
# commits and every other writer of events waits for it, so a busy change (a new ticket that
# also joins a page) writes its events last. Use inside the transaction of the change, where a
# failure in the block fails the transaction.
_events: Gathered[AuditEvent] = Gathered("audit_batch", _append)
batch = _events.batch


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def _chain() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=5000)


def verify() -> VerifyResult:
    """Walk the whole chain from the first event; report the first link that does not hold."""
    prev = GENESIS
    checked = 0
    for event in _chain():
        if event.prev_hash != prev:
            return VerifyResult(
                checked,
                event.pk,
                "its prev_hash does not match the event before it: an event was removed or inserted",
            )
        if compute_hash(event) != event.hash:
            return VerifyResult(
                checked, event.pk, "its content no longer matches its hash: it was altered"
            )
        prev = event.hash
        checked += 1
    return VerifyResult(checked)


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of an object, for an event's before/after."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}
