from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from careline.core.management.base import CareLineCommand
from careline.knowledge import files, semantic, services


class Command(CareLineCommand):
    help = (
        "Knowledge base files: `kb import DIR` and `kb export DIR` (Markdown with front "
        "matter), `kb embed` (compute embeddings articles lack)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "import", help="load every DIR/*.md; nothing if any file is bad"
        ).add_argument("dir")
        sub.add_parser("export", help="write every article to DIR as Markdown").add_argument("dir")
        sub.add_parser("embed", help="compute the embeddings articles lack")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import":
            try:
                result = files.import_dir(None, Path(options["dir"]))
            except files.ImportFailed as exc:
                for line in exc.errors:
                    self.stderr.write(line)
                raise CommandError(exc.message) from None
            self.stdout.write(
                f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            )
        elif action == "export":
            count = files.export_dir(Path(options["dir"]))
            self.stdout.write(f"{count} articles written to {options['dir']}")
        else:
            if not semantic.active():
                raise CommandError(semantic.status()["reason"])
            self.stdout.write(f"{services.embed_missing()} articles embedded")
