from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from careline.cmdb.services import csvio, vulns
from careline.core.management.base import CareLineCommand


class Command(CareLineCommand):
    help = (
        "The CMDB as CSV: `cmdb import FILE.csv` (all-or-nothing, errors by line and column), "
        "`cmdb export FILE.csv` (- for standard output), `cmdb import-vulns FILE.csv` "
        "(a vulnerability scanner's export: host, cve, severity, first_seen, fixed)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["import", "export", "import-vulns"])
        parser.add_argument("file", help="the CSV file (UTF-8)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if options["action"] == "export":
            if path == "-":
                count = csvio.export_items(None, sys.stdout)
            else:
                with Path(path).open("w", encoding="utf-8", newline="") as out:
                    count = csvio.export_items(None, out)
            self.stderr.write(f"Exported {count} configuration items.\n")
            return
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            if options["action"] == "import":
                result = csvio.import_items(None, data)
                self.stdout.write(
                    f"Imported {path}: {result.created} items created, {result.updated} updated, "
                    f"{result.relationships} relationships, {result.components} service components.\n"
                )
            else:
                found = vulns.import_scan(None, data)
                self.stdout.write(
                    f"Imported {path}: {found.opened} findings recorded, {found.fixed} fixed.\n"
                )
        except csvio.CsvRejected as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}: {error}\n")
            raise CommandError(
                f"{path}: nothing imported ({len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''})"
            ) from None
