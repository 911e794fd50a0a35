"""Leases taken with a conditional UPDATE: whoever's UPDATE matched the row holds it."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from careline.engine.models import Lease


def acquire(name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease; False when another live holder has it."""
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    renewed = Lease.objects.filter(name=name, holder=holder).update(expires_at=expires)
    if renewed:
        return True
    # Expired (or released) by its last holder: the first UPDATE to match wins.
    taken = Lease.objects.filter(Q(name=name) & (Q(expires_at__lt=now) | Q(holder=""))).update(
        holder=holder, expires_at=expires, acquired_at=now
    )
    if taken:
        return True
    if Lease.objects.filter(name=name).exists():
        return False
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=expires, acquired_at=now)
    except IntegrityError:
        return False  # another engine created it first
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up at once, so a standby need not wait for it to lapse."""
    Lease.objects.filter(name=name, holder=holder).update(holder="", expires_at=timezone.now())


def holder_of(name: str) -> str | None:
    lease = (
        Lease.objects.filter(name=name, expires_at__gte=timezone.now()).exclude(holder="").first()
    )
    return lease.holder if lease else None
