"""On-call load: how many pages woke each person, and how many of them at night.

A person is paged when a notification of a page is addressed to them (the outbox records
the recipient of each); several messages of one page (levels, channels, repeats) are one
page. Night is CARELINE_NIGHT_HOURS (22:00-07:00) at the page's site, in that site's time
zone (CARELINE_TIME_ZONE for a page without a site). One grouped query whatever the load:
the local time of each message is computed in the database, one expression per time zone.
"""

from __future__ import annotations

import zoneinfo
from datetime import time
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q
from django.db.models.functions import ExtractHour, ExtractMinute, TruncMonth
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from careline.core.models import Site, User
from careline.oncall.models import Notification
from careline.reports.dashboards import config
from careline.reports.dashboards.filters import Filters
from careline.reports.dashboards.tables import Chart, Column, Dashboard, Table, percent


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def _night_in(zone: zoneinfo.ZoneInfo, first: time, last: time) -> Q:
    """The message was sent at night, read on the clock of `zone`."""
    local = ExtractHour("created_at", tzinfo=zone) * 60 + ExtractMinute("created_at", tzinfo=zone)
    after, before = Q(GreaterThanOrEqual(local, _minute(first))), Q(LessThan(local, _minute(last)))
    # 22:00-07:00 wraps past midnight; 01:00-05:00 does not.
    return (after | before) if first > last else (after & before)


def night_filter(site: Site | None) -> Q:
    first, last = config.night()
    if site is not None:
        return _night_in(site.zone, first, last)
    zones = sorted(set(Site.objects.values_list("time_zone", flat=True)))
    condition = Q(page__site__isnull=True) & _night_in(
        zoneinfo.ZoneInfo(settings.TIME_ZONE), first, last
    )
    for name in zones:
        condition |= Q(page__site__time_zone=name) & _night_in(zoneinfo.ZoneInfo(name), first, last)
    return condition


def paged(filters: Filters) -> Any:
    notes = Notification.objects.filter(
        page__isnull=False,
        recipient__isnull=False,
        created_at__gte=filters.start,
        created_at__lt=filters.end,
    )
    if filters.site is not None:
        notes = notes.filter(page__site_id=filters.site.pk)
    return notes


def oncall_load(user: User, filters: Filters) -> Dashboard:
    first, last = config.night()
    night = night_filter(filters.site)
    notes = paged(filters)
    people = list(
        notes.values("recipient_id")
        .annotate(
            username=F("recipient__username"),
            first_name=F("recipient__first_name"),
            last_name=F("recipient__last_name"),
            pages=Count("page_id", distinct=True),
            night_pages=Count("page_id", distinct=True, filter=night),
            messages=Count("id"),
        )
        .order_by("-pages", "username")
    )
    months = list(
        notes.annotate(month=TruncMonth("created_at", tzinfo=filters.zone))
        .values("month")
        .annotate(
            pages=Count("page_id", distinct=True),
            night_pages=Count("page_id", distinct=True, filter=night),
            people=Count("recipient_id", distinct=True),
        )
        .order_by("month")
    )
    person_rows = []
    for p in people:
        name = f"{p['first_name']} {p['last_name']}".strip() or p["username"]
        person_rows.append(
            [
                p["username"],
                name,
                p["pages"],
                p["night_pages"],
                percent(p["night_pages"], p["pages"]),
                p["messages"],
            ]
        )
    by_person = Table(
        "by-person",
        "Pages per person",
        [
            Column("username", "Username"),
            Column("name", "Name"),
            Column("pages", "Pages"),
            Column("night_pages", "At night"),
            Column("night_percent", "Share at night", "%"),
            Column("messages", "Messages"),
        ],
        person_rows,
        charts=[Chart("Pages per person, and at night", "username", ("pages", "night_pages"))],
        note=f"Night: {first:%H:%M} to {last:%H:%M} at the page's site (CARELINE_NIGHT_HOURS).",
    )
    by_month = Table(
        "by-month",
        "Pages by month",
        [
            Column("month", "Month"),
            Column("pages", "Pages"),
            Column("night_pages", "At night"),
            Column("people", "People paged"),
        ],
        [[m["month"].strftime("%Y-%m"), m["pages"], m["night_pages"], m["people"]] for m in months],
        charts=[Chart("Pages by month", "month", ("pages", "night_pages"))],
    )
    summary = [
        f"{sum(m['pages'] for m in months)} pages",
        f"{sum(m['night_pages'] for m in months)} at night",
        f"{len(person_rows)} people paged",
    ]
    return Dashboard(
        "oncall",
        "On-call load",
        "The pages that reached each person in the period, and how many of them came at night "
        "at the page's site. A page sent by several messages (escalation levels, channels) "
        "counts once per person.",
        filters,
        [by_person, by_month],
        summary,
    )
