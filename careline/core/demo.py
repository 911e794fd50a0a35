"""The demo hospital: two sites, their departments, clinical services and one account per role.

Loading is idempotent: whatever already exists (matched by code or username) is left alone,
so a second run changes nothing and writes no audit event.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Protocol

from django.db import transaction

from careline.core import services, signin
from careline.core.choices import Role
from careline.core.demo_steps import DEMO_STEPS
from careline.core.models import ClinicalService, Department, Site, User

DEMO_PASSWORD = "Ward-Round-2026!"  # noqa: S105  (printed for the demo; never a real account)

SITES = [
    ("NORTH", "Northgate Medical Center", "America/New_York"),
    ("RIVER", "Riverside Community Hospital", "America/Chicago"),
]

DEPARTMENTS = [
    ("NG-ED", "Emergency Department", "NORTH", "ed"),
    ("NG-ICU", "Intensive Care Unit", "NORTH", "icu"),
    ("NG-OR", "Main Operating Theatres", "NORTH", "or"),
    ("NG-LD", "Labour and Delivery", "NORTH", "labour_delivery"),
    ("NG-NICU", "Neonatal Intensive Care", "NORTH", "nicu"),
    ("NG-PHARM", "Inpatient Pharmacy", "NORTH", "pharmacy"),
    ("NG-LAB", "Clinical Laboratory", "NORTH", "lab"),
    ("NG-RAD", "Radiology and Imaging", "NORTH", "radiology"),
    ("NG-W4", "Ward 4 Medicine", "NORTH", "ward"),
    ("NG-W5", "Ward 5 Surgery", "NORTH", "ward"),
    ("NG-OPD", "Outpatient Clinics", "NORTH", "outpatient"),
    ("NG-ADM", "Administration and Finance", "NORTH", "admin"),
    ("NG-IT", "Information Technology", "NORTH", "other"),
    ("RV-ED", "Riverside Emergency", "RIVER", "ed"),
    ("RV-W1", "Riverside Ward 1", "RIVER", "ward"),
    ("RV-RAD", "Riverside Imaging", "RIVER", "radiology"),
    ("RV-OPD", "Riverside Outpatients", "RIVER", "outpatient"),
]

SERVICES = [
    ("EHR", "Electronic health record", 1, "Charting, orders, results and the medication record."),
    ("PACS", "Picture archiving (PACS)", 1, "Diagnostic images and the radiology viewer."),
    ("LIS", "Laboratory information system", 1, "Lab orders, specimen tracking and results."),
    ("PHARM", "Pharmacy system", 1, "Dispensing, automated cabinets and verification."),
    ("NURSECALL", "Nurse call", 1, "Patient call buttons, bed exits and staff phones."),
    (
        "BCMA",
        "Barcode medication administration",
        1,
        "Wristband and medication scanning at the bedside.",
    ),
    ("VDI", "Virtual desktop", 2, "The clinical workstation desktop, with tap-in badges."),
    ("WIFI", "Clinical Wi-Fi", 2, "Wireless network for carts, phones and devices."),
    (
        "DICTATION",
        "Dictation and speech recognition",
        2,
        "Voice reports for radiology and clinics.",
    ),
    ("TELEHEALTH", "Telehealth video", 2, "Video visits and remote consults."),
    ("EMAIL", "Email and calendar", 3, "Staff email, calendars and distribution lists."),
    ("PRINT", "Printing", 3, "Label, wristband and document printers."),
    ("INTRANET", "Intranet", 3, "Policies, rotas and the staff directory."),
]

USERS = [
    ("nurse.ed", Role.REQUESTER, "NG-ED", "Maria", "Lopez"),
    ("clerk.w4", Role.REQUESTER, "NG-W4", "Tom", "Baker"),
    ("agent", Role.AGENT, "NG-IT", "Priya", "Shah"),
    ("engineer", Role.ENGINEER, "NG-IT", "Sam", "Okafor"),
    ("manager", Role.MANAGER, "NG-IT", "Helen", "Carter"),
    ("auditor", Role.AUDITOR, "NG-ADM", "Frank", "Moore"),
    ("admin", Role.ADMIN, "NG-IT", "Alex", "Kim"),
]


class Writer(Protocol):
    def write(self, msg: str, /) -> object: ...


def demo_totp_secret(username: str) -> str:
    """A fixed seed per demo account, printed with the logins, so the demo is reproducible."""
    return base64.b32encode(
        hashlib.sha256(f"careline-demo:{username}".encode()).digest()[:20]
    ).decode()


def load_demo(out: Writer) -> None:
    created_users: list[User] = []
    with transaction.atomic():
        for code, name, tz in SITES:
            if not Site.objects.filter(code=code).exists():
                services.create_site(None, code=code, name=name, time_zone=tz)
        for code, name, site, area in DEPARTMENTS:
            if not Department.objects.filter(code=code).exists():
                services.create_department(
                    None, code=code, name=name, site=site, clinical_area=area
                )
        for code, name, tier, description in SERVICES:
            if not ClinicalService.objects.filter(code=code).exists():
                services.create_service(
                    None, code=code, name=name, tier=tier, description=description
                )
        for username, role, department, first, last in USERS:
            if User.objects.filter(username=username).exists():
                continue
            user = services.create_user(
                None,
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                department=department,
                first_name=first,
                last_name=last,
                email=f"{username}@demo-hospital.example",
            )
            if signin.mfa_required(user):
                signin.set_totp_secret(user, demo_totp_secret(username))
            created_users.append(user)
        for step in DEMO_STEPS:
            step()
    if not created_users:
        out.write("Demo hospital already loaded; nothing changed.\n")
        return
    out.write("\nDemo hospital loaded. Sign in with:\n\n")
    out.write(
        f"  {'USERNAME':<10} {'ROLE':<10} {'PASSWORD':<18} TOTP SECRET (add to an authenticator app)\n"
    )
    for user in created_users:
        secret = demo_totp_secret(user.username) if user.has_mfa else "-"
        out.write(f"  {user.username:<10} {user.role:<10} {DEMO_PASSWORD:<18} {secret}\n")
    out.write("\n")
