"""SLA clocks: deadlines from policies and calendars, pauses, first response, met or breached."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time

from careline.core.cached import cached
from careline.core.models import Site
from careline.servicedesk.calendar import (
    BusinessHours,
    Calendar,
    add_business_minutes,
    business_minutes_between,
)
from careline.servicedesk.choices import Priority, SlaResult
from careline.servicedesk.models import BusinessCalendar, Holiday, SlaPolicy, Ticket

# DESIGN.md's defaults. A business day is the site's business day (08:00-18:00 unless the
# site says otherwise): 600 minutes.
BUSINESS_DAY = 600
DEFAULT_TARGETS: dict[str, tuple[int, int, bool]] = {
    # priority: (respond minutes, resolve minutes, on business hours)
    Priority.P1: (15, 4 * 60, False),
    Priority.P2: (30, 8 * 60, False),
    Priority.P3: (4 * 60, 3 * BUSINESS_DAY, True),
    Priority.P4: (BUSINESS_DAY, 10 * BUSINESS_DAY, True),
}
# The engine warns the assignee and the queue when this share of a target has gone.
WARN_FRACTION = 0.75


# Policies and calendars change rarely and are read on every ticket: each web worker keeps
# them for this long, so an edit takes effect within a minute everywhere.
CONFIG_CACHE_SECONDS = 60


def _policies() -> dict[tuple[str, str], SlaPolicy]:
    return {(p.kind, p.priority): p for p in SlaPolicy.objects.all()}


def policy_for(kind: str, priority: str) -> SlaPolicy:
    policies: dict[tuple[str, str], SlaPolicy] = cached(
        "sla:policies", _policies, CONFIG_CACHE_SECONDS
    )
    policy = policies.get((kind, priority))
    if policy is not None:
        return policy
    respond, resolve, business = DEFAULT_TARGETS[priority]
    return SlaPolicy(
        kind=kind,
        priority=priority,
        respond_minutes=respond,
        resolve_minutes=resolve,
        business_hours=business,
    )


# What a site's business hours are made of: plain values, so the cache can hold them.
HoursSpec = tuple[str, time, time, tuple[int, ...], tuple[date, ...]]


def calendar_for(site: Site, policy: SlaPolicy) -> Calendar:
    if not policy.business_hours:
        return None
    return site_hours(site)


def site_hours(site: Site) -> BusinessHours:
    """The site's business hours, with its holidays, in its time zone."""
    spec: HoursSpec = cached(
        f"sla:calendar:{site.pk}", lambda: _hours_spec(site), CONFIG_CACHE_SECONDS
    )
    return _business_hours(spec)


def _hours_spec(site: Site) -> HoursSpec:
    row = BusinessCalendar.objects.filter(site=site).first()
    holidays = tuple(
        Holiday.objects.filter(site=site).order_by("date").values_list("date", flat=True)
    )
    if row is None:
        return (site.time_zone, time(8), time(18), (0, 1, 2, 3, 4), holidays)
    weekdays = tuple(int(d) for d in row.weekdays.split(",") if d.strip())
    return (site.time_zone, row.opens, row.closes, weekdays, holidays)


@functools.lru_cache(maxsize=256)
def _business_hours(spec: HoursSpec) -> BusinessHours:
    zone, opens, closes, weekdays, holidays = spec
    return BusinessHours.standard(
        zone, start=opens, end=closes, weekdays=weekdays, holidays=holidays
    )


@dataclass(frozen=True)
class Clock:
    policy: SlaPolicy
    calendar: Calendar

    def deadline(self, start: datetime, minutes: float) -> datetime:
        return add_business_minutes(start, minutes, self.calendar)

    def elapsed(self, start: datetime, end: datetime) -> float:
        return business_minutes_between(start, end, self.calendar)


def clock_for(ticket: Ticket) -> Clock:
    policy = policy_for(ticket.kind, ticket.priority)
    return Clock(policy, calendar_for(ticket.site, policy))


def start_clocks(ticket: Ticket, at: datetime) -> None:
    """Set both deadlines and their 75 % warning points from `at` (creation or a new priority)."""
    clock = clock_for(ticket)
    respond, resolve = clock.policy.respond_minutes, clock.policy.resolve_minutes
    ticket.respond_by = clock.deadline(at, respond)
    ticket.resolve_by = clock.deadline(at, resolve)
    ticket.respond_warn_at = clock.deadline(at, respond * WARN_FRACTION)
    ticket.resolve_warn_at = clock.deadline(at, resolve * WARN_FRACTION)


def pause(ticket: Ticket, at: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = at


def resume(ticket: Ticket, at: datetime) -> None:
    """Push the running deadlines out by the business time the clock stood still."""
    if ticket.sla_paused_at is None:
        return
    clock = clock_for(ticket)
    stood = clock.elapsed(ticket.sla_paused_at, at)
    if stood:
        if ticket.response_result == SlaResult.PENDING:
            ticket.respond_by = clock.deadline(ticket.respond_by, stood)
            ticket.respond_warn_at = clock.deadline(ticket.respond_warn_at, stood)
        if ticket.resolution_result == SlaResult.PENDING:
            ticket.resolve_by = clock.deadline(ticket.resolve_by, stood)
            ticket.resolve_warn_at = clock.deadline(ticket.resolve_warn_at, stood)
    ticket.sla_paused_at = None


def record_response(ticket: Ticket, at: datetime) -> bool:
    """The first public reply or acceptance; True when this was it."""
    if ticket.responded_at is not None:
        return False
    ticket.responded_at = at
    ticket.response_result = SlaResult.MET if at <= ticket.respond_by else SlaResult.BREACHED
    return True


def record_resolution(ticket: Ticket, at: datetime) -> None:
    ticket.resolved_at = at
    ticket.resolution_result = SlaResult.MET if at <= ticket.resolve_by else SlaResult.BREACHED


def reopen(ticket: Ticket, at: datetime) -> None:
    """A reopened ticket's resolution clock runs again, less the time it stood resolved."""
    if ticket.resolved_at is not None:
        ticket.sla_paused_at = ticket.resolved_at
        ticket.resolution_result = SlaResult.PENDING
        resume(ticket, at)
    ticket.resolved_at = None
