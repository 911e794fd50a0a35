"""Expiry reminders: an engine loop that tells the IT managers before a contract or a BAA ends.

A contract is reminded at its renewal notice, 30 and 7 days before it ends; a BAA at 90, 30
and 7 days. Each reminder is sent once: the ExpiryReminder row, unique per object, end date
and threshold, is inserted in the transaction that queues the email, so a restarted or
second engine finds it and sends nothing again. When the engine was off past several
thresholds, only the nearest one is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from careline.cmdb.choices import BaaStatus
from careline.cmdb.models import Baa, Contract, ExpiryReminder
from careline.core import audit
from careline.core.choices import Role
from careline.core.links import absolute_url
from careline.core.models import User
from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.outbox import Email, batch, enqueue_email

log = logging.getLogger("careline.cmdb.reminders")
CONTRACT_DAYS = (30, 7)
BAA_DAYS = (90, 30, 7)
INTERVAL_SECONDS = 3600


def _recipients() -> list[User]:
    return list(
        User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True).exclude(email="")
    )


def _due_threshold(days_left: int, thresholds: Iterable[int]) -> int | None:
    crossed = [t for t in thresholds if days_left <= t]
    return min(crossed) if crossed else None


def _claim(kind: str, obj_id: int, expires: date, days: int) -> bool:
    try:
        with transaction.atomic():
            ExpiryReminder.objects.create(
                object_type=kind,
                object_id=obj_id,
                expires_on=expires,
                days_before=days,
                sent_at=timezone.now(),
            )
    except IntegrityError:
        return False
    return True


def _send(
    kind: str, obj_id: int, expires: date, days: int, subject: str, body: str, url: str
) -> None:
    with batch():
        for person in _recipients():
            enqueue_email(
                Email(
                    to=person.email,
                    subject=subject,
                    body=f"{body}\n\n{absolute_url(url)}",
                    key=f"cmdb:{kind}:{obj_id}:{expires.isoformat()}:{days}:{person.pk}",
                )
            )
    audit.record(
        f"{kind}.expiry_reminder",
        object_type=f"cmdb.{kind}",
        object_id=str(obj_id),
        summary=subject,
    )


def sweep(today: date) -> int:
    """Send what is due today; returns how many reminders were sent."""
    sent = 0
    horizon = today + timedelta(days=730)
    for contract in Contract.objects.filter(
        ends_on__gte=today, ends_on__lte=horizon
    ).select_related("vendor"):
        days_left = (contract.ends_on - today).days
        days = _due_threshold(days_left, {contract.renewal_notice_days, *CONTRACT_DAYS})
        if days is None:
            continue
        with transaction.atomic():
            if not _claim("contract", contract.pk, contract.ends_on, days):
                continue
            _send(
                "contract",
                contract.pk,
                contract.ends_on,
                days,
                f"Contract {contract.reference} with {contract.vendor.name} ends in {days_left} days",
                f"Contract {contract.reference} ({contract.coverage or 'no coverage described'}) "
                f"ends on {contract.ends_on:%d %b %Y}; its renewal notice is {contract.renewal_notice_days} days. "
                f"Yearly cost {contract.yearly_cost}.",
                f"/cmdb/vendors/{contract.vendor_id}/",
            )
            sent += 1
    baas = Baa.objects.filter(
        status=BaaStatus.ACTIVE,
        expires_on__gte=today,
        expires_on__lte=today + timedelta(days=max(BAA_DAYS)),
    ).select_related("vendor")
    for baa in baas:
        assert baa.expires_on is not None
        days_left = (baa.expires_on - today).days
        days = _due_threshold(days_left, BAA_DAYS)
        if days is None:
            continue
        with transaction.atomic():
            if not _claim("baa", baa.pk, baa.expires_on, days):
                continue
            _send(
                "baa",
                baa.pk,
                baa.expires_on,
                days,
                f"BAA with {baa.vendor.name} expires in {days_left} days",
                f"The Business Associate Agreement with {baa.vendor.name} expires on "
                f"{baa.expires_on:%d %b %Y}. Without an active BAA the vendor may not be given "
                "tickets containing patient information.",
                f"/cmdb/vendors/{baa.vendor_id}/",
            )
            sent += 1
    if sent:
        log.info("expiry reminders sent=%s", sent)
    return sent


async def _tick() -> None:
    await db(sweep, timezone.localdate())


def register() -> None:
    register_loop(LoopSpec("cmdb-expiry-reminders", interval_s=INTERVAL_SECONDS, tick=_tick))
