"""The demo hospital's training: sessions on the EHR, PACS, barcode scanning and nurse call in
the coming weeks, and one EHR session last week that Maria and Tom attended.

Idempotent: a session whose title already exists is left alone."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from careline.core.models import ClinicalService, Site, User
from careline.training.models import TrainingSession
from careline.training.services import registrations, sessions

# (service, title, days from today, start hour, hours, trainer, places, place, description)
UPCOMING = [
    (
        "EHR",
        "EHR essentials for new starters",
        3,
        9,
        3,
        "agent",
        12,
        "Education Centre, room 2",
        "Signing in with your badge, the patient list, charting vitals and notes, "
        "and what to do when the EHR is down.",
    ),
    (
        "BCMA",
        "Barcode medication administration at the bedside",
        5,
        14,
        2,
        "engineer",
        8,
        "Ward 4 Medicine, seminar room",
        "Scanning wristbands and medications, overriding safely, and what to do when "
        "a scanner will not read.",
    ),
    (
        "PACS",
        "PACS viewer for clinicians",
        8,
        13,
        2,
        "engineer",
        10,
        "Radiology and Imaging, reporting room 1",
        "Finding studies and priors, comparing images, and measuring.",
    ),
    (
        "NURSECALL",
        "Nurse call handsets and escalation",
        10,
        7,
        1,
        "agent",
        2,
        "Intensive Care Unit, staff base",
        "Answering calls on the handset, escalation to the charge nurse, and testing "
        "a bed's call button.",
    ),
]
PAST = (
    "EHR",
    "EHR charting refresher",
    -7,
    10,
    2,
    "agent",
    10,
    "Education Centre, room 1",
)
ATTENDED = ("nurse.ed", "clerk.w4")


def _at(site: Site | None, days: int, hour: int) -> datetime:
    zone = site.zone if site is not None else timezone.get_default_timezone()
    day = timezone.localdate() + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=zone)


def load() -> None:
    site = Site.objects.filter(code="NORTH").first()
    for code, title, days, hour, hours, trainer, places, place, description in UPCOMING:
        if TrainingSession.objects.filter(title=title).exists():
            continue
        if not ClinicalService.objects.filter(code=code).exists():
            continue
        if not User.objects.filter(username=trainer).exists():
            continue
        starts = _at(site, days, hour)
        sessions.create_session(
            None,
            service=code,
            title=title,
            description=description,
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            trainer=trainer,
            capacity=places,
            place=place,
            site=site.code if site else None,
        )
    _load_past(site)


def _load_past(site: Site | None) -> None:
    code, title, days, hour, hours, trainer, places, place = PAST
    if TrainingSession.objects.filter(title=title).exists():
        return
    if not User.objects.filter(username=trainer).exists():
        return
    starts = _at(site, days, hour)
    session = sessions.create_session(
        None,
        service=code,
        title=title,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        trainer=trainer,
        capacity=places,
        place=place,
        site=site.code if site else None,
    )
    for username in ATTENDED:
        person = User.objects.filter(username=username).first()
        if person is not None:
            registrations.add_walk_in(None, session.pk, person)
