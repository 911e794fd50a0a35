"""Alerts from other monitoring systems (Prometheus Alertmanager, or any tool posting JSON),
opened and resolved as incidents under the same rules as CareLine's own monitors."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from careline.core.errors import InvalidInput
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require
from careline.core.services import service_by_code
from careline.monitoring.choices import IncidentSource
from careline.monitoring.services import incidents, maintenance
from careline.servicedesk.choices import CareEffect, Scope


@dataclass(frozen=True)
class Alert:
    source: str
    key: str
    firing: bool
    title: str
    detail: str
    service: ClinicalService | None
    care_effect: str
    scope: str
    since: datetime | None


def fingerprint(labels: dict[str, str]) -> str:
    """A stable identity for an alert that carries none: its sorted labels, hashed."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:32]


def service_of(code: str | None, field: str) -> ClinicalService | None:
    if not code:
        return None
    return service_by_code(code, field=field)


def care_effect_of(labels: dict[str, str], field: str) -> str:
    effect = labels.get("care_effect")
    if effect:
        if effect not in CareEffect.values:
            raise InvalidInput(
                f"must be one of {', '.join(CareEffect.values)} (got {effect[:40]!r})", field=field
            )
        return effect
    severity = labels.get("severity", "").lower()
    return (
        CareEffect.BLOCKED if severity in {"critical", "page", "emergency"} else CareEffect.DEGRADED
    )


def scope_of(labels: dict[str, str], field: str) -> str:
    scope = labels.get("scope", Scope.DEPARTMENT)
    if scope not in Scope.values:
        raise InvalidInput(
            f"must be one of {', '.join(Scope.values)} (got {scope[:40]!r})", field=field
        )
    return scope


def handle(actor: User, alerts: list[Alert]) -> dict[str, int]:
    """Open, note or resolve each alert's incident; returns counts of what was done."""
    require(actor, Perm.ALERTS_POST)
    now = timezone.now()
    done: Counter[str] = Counter()
    with transaction.atomic():  # a payload is taken whole or not at all
        _handle_each(alerts, now, done)
    return {
        "opened": done["opened"],
        "reopened": done["reopened"],
        "updated": done["noted"] + done["unchanged"],
        "resolved": done["resolved"],
        "silenced": done["maintenance"],
        "ignored": done["none"] + done["no_department"],
    }


def _handle_each(alerts: list[Alert], now: datetime, done: Counter[str]) -> None:
    for alert in alerts:
        if not alert.firing:
            done[
                incidents.clear_problem(
                    alert.source, alert_key=alert.key, what=alert.title, now=now
                )
            ] += 1
            continue
        if maintenance.service_in_maintenance(alert.service, now):
            done["maintenance"] += 1
            continue
        problem = incidents.Problem(
            source=alert.source,
            title=alert.title,
            description=f"{alert.title}\n\n{alert.detail}".strip(),
            error=alert.detail or alert.title,
            care_effect=alert.care_effect,
            scope=alert.scope,
            service=alert.service,
            alert_key=alert.key,
            down_since=alert.since,
        )
        done[incidents.raise_problem(problem, now)] += 1


GENERIC = IncidentSource.GENERIC
ALERTMANAGER = IncidentSource.ALERTMANAGER
