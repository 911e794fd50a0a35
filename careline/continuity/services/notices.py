"""Telling the affected departments: emails carrying each department's downtime procedures,
the on-call engineer paged for an unplanned downtime, and when a planned one is announced.

Everything here writes outbox rows: call it inside the transaction of the change it reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings

from careline.continuity.models import DowntimeEvent, DowntimeProcedure
from careline.core.links import absolute_url
from careline.core.models import ClinicalService, Department, Site, User
from careline.oncall.models import PageSource
from careline.oncall.outbox import Email, batch, enqueue_email
from careline.oncall.services import paging
from careline.servicedesk.calendar import BusinessHours, next_opening
from careline.servicedesk.services.sla import site_hours

_ONE_DAY = timedelta(days=1)


def event_url(event: DowntimeEvent) -> str:
    return absolute_url(f"/downtime/{event.pk}/")


def procedures_for(
    services: Iterable[ClinicalService], department: Department
) -> list[DowntimeProcedure]:
    """The department's own procedure for each service, else the one for all departments."""
    chosen: list[DowntimeProcedure] = []
    service_ids = [s.pk for s in services]
    rows = DowntimeProcedure.objects.filter(service_id__in=service_ids).select_related(
        "service", "article"
    )
    by_service: dict[int, DowntimeProcedure] = {}
    for row in rows:
        if row.department_id == department.pk or (
            row.department_id is None and row.service_id not in by_service
        ):
            by_service[row.service_id] = row
    for service_id in service_ids:
        if service_id in by_service:
            chosen.append(by_service[service_id])
    return chosen


def _procedure_text(procedure: DowntimeProcedure) -> str:
    lines = [f"{procedure.service.name}: {procedure.title}"]
    if procedure.body:
        lines.append(procedure.body)
    if procedure.article_id is not None:
        lines.append(absolute_url(f"/kb/{procedure.article_id}/"))
    if procedure.document_url:
        lines.append(procedure.document_url)
    return "\n".join(lines)


def _when(event: DowntimeEvent) -> str:
    start = f"{event.starts_at:%Y-%m-%d %H:%M} UTC"
    if event.ends_at is None:
        return f"from {start}, end not yet known"
    return f"from {start} to {event.ends_at:%Y-%m-%d %H:%M} UTC"


def _recipients(department: Department) -> list[User]:
    return list(
        User.objects.filter(department=department, is_active=True).exclude(email="").order_by("pk")
    )


def announce(event: DowntimeEvent, announcement: str, heading: str) -> int:
    """Email every affected department's staff the event and their procedures; how many."""
    services = list(event.services.order_by("tier", "code"))
    names = ", ".join(s.name for s in services)
    sent = 0
    with batch():
        for department in event.departments.order_by("code"):
            procedures = procedures_for(services, department)
            steps = "\n\n".join(_procedure_text(p) for p in procedures) or (
                "No downtime procedure is recorded for your department: ask the service desk."
            )
            body = (
                f"{heading}: {names}, {_when(event)}.\n\n"
                f"{event.description}\n\n"
                f"Downtime procedures for {department.name}:\n\n{steps}\n\n{event_url(event)}"
            )
            for person in _recipients(department):
                enqueue_email(
                    Email(
                        to=person.email,
                        subject=f"[{event.reference}] {heading}: {names}",
                        body=body,
                        key=f"downtime:{event.pk}:{announcement}:u{person.pk}",
                        about=event,
                    )
                )
                sent += 1
    return sent


def post_update(event: DowntimeEvent, update_id: int, text: str) -> int:
    sent = 0
    with batch():
        for department in event.departments.order_by("code"):
            for person in _recipients(department):
                enqueue_email(
                    Email(
                        to=person.email,
                        subject=f"[{event.reference}] Update: {event.title}",
                        body=f"{text}\n\n{event_url(event)}",
                        key=f"downtime:{event.pk}:update:{update_id}:u{person.pk}",
                        about=event,
                    )
                )
                sent += 1
    return sent


def page_on_call(event: DowntimeEvent) -> None:
    services = list(event.services.order_by("tier", "code"))
    first = services[0]
    paging.page(
        paging.PageRequest(
            title=f"Downtime declared: {', '.join(s.code for s in services)}",
            summary=event.title,
            priority="P1" if first.tier == 1 else "P2",
            source=PageSource.MANUAL,
            service_id=first.pk,
            service_code=first.code,
            url=event_url(event),
            keys=(f"downtime:{event.pk}",),
        )
    )


def remind_end(event: DowntimeEvent) -> int:
    """At the planned end: the person who scheduled it is asked to end it or post an update,
    the way they asked to be reached."""
    if event.created_by is None:
        return 0
    return paging.notify_people(
        [event.created_by],
        priority="P3",
        subject=f"[{event.reference}] Planned end reached: {event.title}",
        body=f"The planned end of {event.title} has come. End it, or post an update.\n\n"
        f"{event_url(event)}",
        key=f"downtime:{event.pk}:end-reminder",
        about=event,
    )


# --------------------------------------------------------------------------- notice


def _working_day(day: date, hours: BusinessHours) -> bool:
    return day not in hours.holidays and bool(hours.weekly.get(day.weekday()))


def notice_at(starts_at: datetime, hours: BusinessHours, days: int) -> datetime:
    """The opening of the working day `days` working days before the local start date."""
    zone = hours.zone
    day = starts_at.astimezone(zone).date()
    counted = 0
    while counted < days:
        day -= _ONE_DAY
        if _working_day(day, hours):
            counted += 1
    return min(next_opening(datetime.combine(day, time(0), tzinfo=zone), hours), starts_at)


def announce_at(starts_at: datetime, sites: Iterable[Site]) -> datetime:
    """The earliest notice any affected site's calendar asks for."""
    days = settings.DOWNTIME_NOTICE_DAYS
    calendars = [site_hours(site) for site in sites] or [BusinessHours.standard("UTC")]
    return min(notice_at(starts_at, hours, days) for hours in calendars)
