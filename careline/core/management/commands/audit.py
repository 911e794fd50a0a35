from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from careline.core import audit
from careline.core.management.base import CareLineCommand
from careline.core.models import AuditEvent


class Command(CareLineCommand):
    help = "Work with the audit trail: `careline audit verify` proves no event was altered."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="walk the hash chain; exit 1 naming the first broken event")

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit.verify()
        if result.intact:
            self.stdout.write(f"audit trail intact: {result.checked} events verified")
            return
        assert result.broken_id is not None
        event = AuditEvent.objects.filter(pk=result.broken_id).first()
        where = (
            f"{event.at:%Y-%m-%d %H:%M:%S} {event.action} by {event.actor_name}" if event else ""
        )
        self.stderr.write(
            f"audit trail BROKEN at event {result.broken_id} ({where}): {result.reason}; "
            f"{result.checked} events before it verified"
        )
        raise SystemExit(1)
