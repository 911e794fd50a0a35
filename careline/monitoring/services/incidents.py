"""Incidents from monitoring: opened, noted, resolved and reopened through the service desk.

A problem (a down monitor, a forecast crossing, an outside alert) opens one incident ticket,
logged by CareLine's monitoring account, with the care effect and scope of the monitor's
impact and its clinical service, so the desk's own triage gives the priority. While the
problem lasts, internal notes say so (when the error changes, or every
CARELINE_MONITOR_NOTE_MINUTES); when it ends the ticket is resolved with the outage's
length. A problem back within REOPEN_WITHIN of its resolution reopens the same ticket.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careline.cmdb.impact import item_impact
from careline.core.links import absolute_url
from careline.core.models import ClinicalService, Department, User
from careline.monitoring.choices import IncidentSource
from careline.monitoring.models import Monitor, MonitorIncident
from careline.monitoring.services import maintenance, monitors
from careline.monitoring.services.monitors import it_department, system_account
from careline.oncall.models import PageSource
from careline.oncall.outbox import Email, enqueue_email
from careline.servicedesk.choices import Status
from careline.servicedesk.models import QueueMember
from careline.servicedesk.services import lifecycle, tickets
from careline.servicedesk.services import oncall as desk_oncall
from careline.servicedesk.services.tickets import TicketDraft

log = logging.getLogger("careline.monitoring")
REOPEN_WITHIN = timedelta(minutes=10)


def duration_text(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@dataclass(frozen=True)
class Problem:
    """What went wrong, in the words the ticket will use."""

    source: str
    title: str
    description: str
    error: str
    care_effect: str
    scope: str
    service: ClinicalService | None
    department: Department | None = None
    monitor: Monitor | None = None
    alert_key: str = ""
    down_since: datetime | None = None


def _open_incident(problem: Problem) -> MonitorIncident | None:
    lookup = MonitorIncident.objects.filter(source=problem.source, resolved_at__isnull=True)
    if problem.monitor is not None:
        return lookup.filter(monitor=problem.monitor).select_related("ticket").first()
    return lookup.filter(alert_key=problem.alert_key).select_related("ticket").first()


def _recent_incident(problem: Problem, now: datetime) -> MonitorIncident | None:
    lookup = MonitorIncident.objects.filter(
        source=problem.source, resolved_at__gte=now - REOPEN_WITHIN
    )
    if problem.monitor is not None:
        lookup = lookup.filter(monitor=problem.monitor)
    else:
        lookup = lookup.filter(alert_key=problem.alert_key)
    return lookup.select_related("ticket").order_by("-resolved_at").first()


def _page_keys(problem: Problem) -> tuple[str, ...]:
    """What a storm groups by besides the service: the monitor or alert, and the CMDB item
    it watches (several checks of one failed server are one problem)."""
    keys = [f"monitor:{problem.monitor.pk}" if problem.monitor else f"alert:{problem.alert_key}"]
    if problem.monitor is not None and problem.monitor.config_item_id is not None:
        keys.append(f"item:{problem.monitor.config_item_id}")
    return tuple(keys)


def _announce(incident: MonitorIncident, problem: Problem) -> None:
    """Tell the people who act on it, in the incident's transaction (the outbox sends it).

    On-call paging comes first: the route for the ticket's priority and service wakes the
    person on call, and an incident of a storm already paged joins that page in silence. With
    no route set up, the queue's members on shift are emailed instead.
    """
    ticket = incident.ticket
    outcome = desk_oncall.page_for_ticket(
        ticket, source=PageSource.MONITORING, keys=_page_keys(problem), every_priority=True
    )
    if outcome is not None and outcome.joined:
        return
    recipients: set[str] = set()
    if outcome is None and ticket.queue_id is not None:
        recipients |= {
            m.user.email
            for m in QueueMember.objects.filter(
                queue_id=ticket.queue_id, on_shift=True, user__is_active=True
            ).select_related("user")
            if m.user.email
        }
    if settings.MONITOR_ALERT_EMAIL:
        recipients.add(settings.MONITOR_ALERT_EMAIL)
    for to in sorted(recipients):
        enqueue_email(
            Email(
                to=to,
                subject=f"[{ticket.number}] {ticket.priority} {problem.title}",
                body=(
                    f"{problem.title}\n\n{problem.error}\n\nPriority {ticket.priority}: "
                    f"{ticket.priority_reason}.\n\n{absolute_url(f'/tickets/{ticket.pk}/')}"
                ),
                key=f"monitoring:incident:{incident.pk}:{incident.reopened_count}:{to}",
                thread=ticket.number,
                about=ticket,
            )
        )


def raise_problem(problem: Problem, now: datetime | None = None) -> str:
    """Open, reopen or note the problem's incident. Returns what was done."""
    now = now or timezone.now()
    actor = system_account()
    with transaction.atomic():
        current = _open_incident(problem)
        if current is not None:
            return _note(actor, current, problem, now)
        recent = _recent_incident(problem, now)
        if recent is not None and recent.ticket.status == Status.RESOLVED:
            return _reopen(actor, recent, problem, now)
        department = problem.department or it_department()
        if department is None:
            log.warning("no department to log incident in: %s", problem.title)
            return "no_department"
        draft = TicketDraft(
            kind="incident",
            title=problem.title[: settings.MAX_TITLE_LENGTH],
            description=problem.description,
            department=department.code,
            care_effect=problem.care_effect,
            scope=problem.scope,
            service=problem.service.code if problem.service else None,
            via="api",
            page=False,  # paged by _announce, grouped by root cause
        )
        ticket = tickets.create_ticket(actor, draft)
        incident = MonitorIncident.objects.create(
            source=problem.source,
            monitor=problem.monitor,
            alert_key=problem.alert_key,
            ticket=ticket,
            opened_at=now,
            down_since=problem.down_since or now,
            last_note_at=now,
            last_note_error=problem.error[:500],
        )
        _announce(incident, problem)
    log.info("incident opened ticket=%s source=%s %s", ticket.number, problem.source, problem.title)
    return "opened"


def _note(actor: User, incident: MonitorIncident, problem: Problem, now: datetime) -> str:
    quiet = timedelta(minutes=settings.MONITOR_NOTE_MINUTES)
    same = incident.last_note_error == problem.error[:500]
    if same and incident.last_note_at is not None and now - incident.last_note_at < quiet:
        return "unchanged"
    if incident.ticket.status == Status.CLOSED:
        return "unchanged"
    lasted = duration_text((now - incident.down_since).total_seconds())
    lifecycle.add_comment(
        actor,
        incident.ticket_id,
        f"Still failing after {lasted}: {problem.error or 'no detail'}",
        public=False,
    )
    MonitorIncident.objects.filter(pk=incident.pk).update(
        last_note_at=now, last_note_error=problem.error[:500]
    )
    return "noted"


def _reopen(actor: User, incident: MonitorIncident, problem: Problem, now: datetime) -> str:
    lifecycle.change_status(actor, incident.ticket_id, Status.IN_PROGRESS)
    lifecycle.add_comment(
        actor,
        incident.ticket_id,
        f"Failing again {duration_text((now - (incident.resolved_at or now)).total_seconds())} "
        f"after recovering: {problem.error or 'no detail'}",
        public=False,
    )
    incident.resolved_at = None
    incident.reopened_count += 1
    incident.last_note_at = now
    incident.last_note_error = problem.error[:500]
    incident.save(
        update_fields=["resolved_at", "reopened_count", "last_note_at", "last_note_error"]
    )
    _announce(incident, problem)
    log.info("incident reopened ticket=%s", incident.ticket.number)
    return "reopened"


def clear_problem(
    source: str,
    *,
    monitor: Monitor | None = None,
    alert_key: str = "",
    what: str = "",
    now: datetime | None = None,
) -> str:
    """Resolve the open incident of this monitor or alert, with the outage's length."""
    now = now or timezone.now()
    lookup = MonitorIncident.objects.filter(source=source, resolved_at__isnull=True)
    lookup = (
        lookup.filter(monitor=monitor)
        if monitor is not None
        else lookup.filter(alert_key=alert_key)
    )
    with transaction.atomic():
        incident = lookup.select_for_update().select_related("ticket").first()
        if incident is None:
            return "none"
        lasted = duration_text((now - incident.down_since).total_seconds())
        incident.resolved_at = now
        incident.save(update_fields=["resolved_at"])
        if incident.ticket.is_open:
            lifecycle.change_status(
                system_account(),
                incident.ticket_id,
                Status.RESOLVED,
                resolution_code="fixed",
                resolution_notes=(
                    f"{what or 'The problem'} recovered at {now:%Y-%m-%d %H:%M:%S} UTC "
                    f"after an outage of {lasted}."
                ),
            )
    log.info("incident resolved ticket=%s after %s", incident.ticket.number, lasted)
    return "resolved"


def _impact(monitor: Monitor) -> tuple[str, str, str]:
    """Care effect, scope and a sentence: from the CMDB when the monitor names an item the
    CMDB knows to be relied on, otherwise the monitor's own impact."""
    if monitor.config_item_id is not None:
        impact = item_impact(monitor.config_item_id)
        if impact.departments:
            return (
                impact.care_effect,
                impact.scope,
                f"\n\nClinical impact (CMDB): {impact.explanation}",
            )
    return monitor.care_effect, monitor.scope, ""


def monitor_problem(monitor: Monitor, error: str, down_since: datetime | None) -> Problem:
    care_effect, scope, explained = _impact(monitor)
    return Problem(
        source=IncidentSource.MONITOR,
        title=f"{monitor.name} is down",
        description=(
            f"CareLine's {monitor.get_kind_display()} monitor {monitor.name!r} failed "
            f"{monitor.fail_count or monitor.retries} times in a row.\n\nLast error: {error}"
            f"{explained}\n\nMonitor: {absolute_url(f'/monitoring/{monitor.pk}/')}"
        ),
        error=error,
        care_effect=care_effect,
        scope=scope,
        service=monitor.service,
        department=monitor.department,
        monitor=monitor,
        down_since=down_since,
    )


def on_down(monitor_id: int, error: str, failing_parents: list[int], now: datetime) -> str:
    """A down monitor: open or note its incident, unless a parent explains it or a
    maintenance window silences it. Returns what was done."""
    monitor = Monitor.objects.select_related("service", "department").get(pk=monitor_id)
    if monitor.paused:
        return "paused"
    if maintenance.window_for(monitor, now) is not None:
        return "maintenance"
    if failing_parents or monitors.suppressed_by(monitor.pk):
        return "suppressed"
    return raise_problem(monitor_problem(monitor, error, monitor.status_since), now)


def on_recovered(monitor_id: int, now: datetime) -> str:
    """Resolve the monitor's incident. A monitor that had none because a parent explained
    its failure has its recovery reported on that parent's incident instead."""
    monitor = Monitor.objects.get(pk=monitor_id)
    done = clear_problem(IncidentSource.MONITOR, monitor=monitor, what=monitor.name, now=now)
    if done != "none":
        return done
    for parent_id in monitors.ancestors(monitor.pk):
        incident = (
            MonitorIncident.objects.filter(
                monitor_id=parent_id, source=IncidentSource.MONITOR, resolved_at__isnull=True
            )
            .select_related("ticket", "monitor")
            .first()
        )
        if incident is not None and incident.ticket.status != Status.CLOSED:
            parent = incident.monitor.name if incident.monitor else "its parent"
            lifecycle.add_comment(
                system_account(),
                incident.ticket_id,
                f"{monitor.name}, which depends on {parent}, is working again.",
                public=False,
            )
            return "reported"
    return "none"
