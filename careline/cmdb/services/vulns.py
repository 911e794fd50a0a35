"""A vulnerability scanner's CSV export, matched to items by host name or IP address.

Columns: `host`, `cve`, `severity` (critical, high, medium, low), `first_seen`
(YYYY-MM-DD), `fixed` (YYYY-MM-DD, empty while open). A finding seen again updates the one
recorded; the patch target is `first_seen` plus the days its severity allows
(choices.PATCH_TARGET_DAYS). All-or-nothing, errors by line and column, like the item import.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models.functions import Lower

from careline.cmdb.choices import PATCH_TARGET_DAYS, Severity
from careline.cmdb.models import ConfigItem, Vulnerability
from careline.cmdb.services.csvio import MAX_ERRORS, CsvRejected, decode_utf8
from careline.cmdb.services.fields import parse_date
from careline.core import audit
from careline.core.errors import CareLineError
from careline.core.models import User
from careline.core.permissions import Perm, require

SCAN_COLUMNS = ["host", "cve", "severity", "first_seen", "fixed"]
CVE = re.compile(r"^CVE-\d{4}-\d{4,7}$")


@dataclass
class ScanResult:
    opened: int = 0
    fixed: int = 0


def _hosts() -> dict[str, int]:
    hosts: dict[str, int] = {}
    for pk, hostname, ip in ConfigItem.objects.values_list("pk", Lower("hostname"), "ip_address"):
        if hostname:
            hosts[hostname] = pk
        if ip:
            hosts[ip] = pk
    return hosts


def import_scan(actor: User | None, data: bytes) -> ScanResult:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    reader = csv.reader(io.StringIO(decode_utf8(data), newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if header != SCAN_COLUMNS:
        raise CsvRejected(
            [
                f"line 1: the columns must be {', '.join(SCAN_COLUMNS)} (got {', '.join(header) or 'nothing'})"
            ]
        )
    hosts = _hosts()
    errors: list[str] = []
    findings: dict[tuple[int, str], Vulnerability] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(SCAN_COLUMNS):
            errors.append(f"line {line}: has {len(record)} cells, the header has 5")
            continue
        host, cve, severity, first_seen, fixed = (cell.strip() for cell in record)
        item_id = hosts.get(host.lower())
        if item_id is None:
            errors.append(f"line {line}, column host: no item has host name or IP {host[:60]!r}")
        if not CVE.match(cve.upper()):
            errors.append(
                f"line {line}, column cve: must look like CVE-2024-12345 (got {cve[:30]!r})"
            )
        if severity.lower() not in Severity.values:
            errors.append(
                f"line {line}, column severity: must be one of {', '.join(Severity.values)} (got {severity[:20]!r})"
            )
        try:
            seen = parse_date(first_seen, "first_seen")
            if seen is None:
                errors.append(f"line {line}, column first_seen: is required")
            fixed_on = parse_date(fixed, "fixed")
        except CareLineError as exc:
            errors.append(f"line {line}, column {exc.field}: {exc.message}")
            continue
        if len(errors) >= MAX_ERRORS:
            break
        if item_id is None or seen is None or severity.lower() not in Severity.values:
            continue
        level = Severity(severity.lower())
        findings[(item_id, cve.upper())] = Vulnerability(
            item_id=item_id,
            cve=cve.upper(),
            severity=level,
            first_seen=seen,
            fixed_on=fixed_on,
            patch_due=seen + timedelta(days=PATCH_TARGET_DAYS[level]),
        )
    if errors:
        raise CsvRejected(errors)
    with transaction.atomic():
        Vulnerability.objects.bulk_create(
            list(findings.values()),
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["item", "cve"],
            update_fields=["severity", "first_seen", "fixed_on", "patch_due"],
        )
        result = ScanResult(
            opened=sum(1 for v in findings.values() if v.fixed_on is None),
            fixed=sum(1 for v in findings.values() if v.fixed_on is not None),
        )
        audit.record(
            "cmdb.import_vulnerabilities",
            actor=actor,
            object_type="cmdb.vulnerability",
            summary=f"Vulnerability scan imported: {result.opened} open, {result.fixed} fixed",
        )
    return result
