from __future__ import annotations

from typing import Any

from careline.core import startup
from careline.core.demo import load_demo
from careline.core.management.base import CareLineCommand


class Command(CareLineCommand):
    help = "Load the demo hospital (idempotent: a second run changes nothing)."
    origin = "demo"

    def handle(self, *args: Any, **options: Any) -> None:
        startup.migrate()
        load_demo(self.stdout)
