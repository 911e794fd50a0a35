from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import connection

from careline.core import backups
from careline.core.management.base import CareLineCommand


class Command(CareLineCommand):
    # Backups and restores are for bad days: no system check (nor the URL and API imports
    # it costs) may stand in their way.
    requires_system_checks: list[str] = []
    help = (
        "Replace CareLine's data with a backup's, after checking the archive from end to end; "
        "then verify the audit chain and the row counts."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="the backup archive (careline backup)")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument(
            "--allow-other-installation",
            action="store_true",
            help="accept a backup made by another CareLine installation (moving hardware)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with backups.verified_backup(
            options["path"], allow_other_installation=options["allow_other_installation"]
        ) as backup:
            manifest = backup.manifest
            self.stdout.write(
                f"backup {backup.path}: made {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC by "
                f"CareLine {manifest.careline_version}, {sum(manifest.tables.values())} rows in "
                f"{len(manifest.tables)} tables, {manifest.audit.events} audit events"
            )
            self.stdout.write(
                "  checked: archive, manifest, SHA-256 of the copy, database vendor, "
                "installation, soundness of the copy"
            )
            if backup.other_installation:
                self.stderr.write(
                    f"note: the backup comes from installation {manifest.installation_id[:12]}"
                )
            if backup.foreign_key:
                self.stderr.write(
                    "warning: the backup's secrets were encrypted with a key this installation "
                    "lacks: add the old encryption.key to CARELINE_ENCRYPTION_KEYS to read them"
                )
            if not options["yes"]:
                self._confirm()
            outcome = backups.restore(backup)
        self.stdout.write(f"restored into the {connection.vendor} database")
        if outcome.chain.intact:
            self.stdout.write(f"audit trail intact: {outcome.chain.checked} events verified")
        else:
            self.stderr.write(
                f"audit trail BROKEN at event {outcome.chain.broken_id}: {outcome.chain.reason}"
            )
        if outcome.mismatches:
            for table, expected, found in outcome.mismatches:
                shown = "no such table" if found is None else str(found)
                self.stderr.write(f"row count differs: {table} backup {expected}, now {shown}")
        else:
            self.stdout.write(f"row counts match the backup in all {len(manifest.tables)} tables")
        if backup.newer_migrations_here:
            self.stdout.write(
                f"the backup predates {len(backup.newer_migrations_here)} migrations of this "
                "CareLine: run `careline migrate`"
            )
        if not outcome.ok:
            raise CommandError("the restored data does not match the backup (see above)")

    def _confirm(self) -> None:
        self.stdout.write(
            "This replaces every CareLine record in the configured database with the backup's. "
            "Type RESTORE to go on: ",
            ending="",
        )
        self.stdout.flush()
        answer = sys.stdin.readline().strip()
        if answer != "RESTORE":
            raise CommandError(
                f"restore cancelled (got {answer!r}, not RESTORE): nothing was changed"
            )
