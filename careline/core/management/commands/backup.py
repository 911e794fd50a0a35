from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from careline.core import backups
from careline.core.management.base import CareLineCommand


class Command(CareLineCommand):
    # Backups and restores are for bad days: no system check (nor the URL and API imports
    # it costs) may stand in their way.
    requires_system_checks: list[str] = []
    help = (
        "Back up CareLine's database into one archive (a consistent copy and a manifest), "
        "safe while the web and the engine run."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="file (or directory) to write; default careline-backup-<UTC time>.zip here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        made = backups.create_backup(options["output"])
        manifest = made.manifest
        rows = sum(manifest.tables.values())
        self.stdout.write(f"backup written: {made.path}")
        self.stdout.write(
            f"  {backups.human_size(made.size)}, sha256 {made.sha256}, "
            f"{backups.VENDOR_NAMES[manifest.vendor]} database"
        )
        self.stdout.write(
            f"  {rows} rows in {len(manifest.tables)} tables; audit trail "
            f"{manifest.audit.events} events, head {manifest.audit.head[:16] or '(empty)'}"
        )
        width = max((len(name) for name in manifest.tables), default=0)
        for name, count in sorted(manifest.tables.items()):
            if count:
                self.stdout.write(f"    {name:<{width}}  {count:>9}")
