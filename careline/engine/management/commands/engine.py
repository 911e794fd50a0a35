from __future__ import annotations

import asyncio
import signal
from argparse import ArgumentParser
from typing import Any

from careline.core import startup
from careline.core.management.base import CareLineCommand
from careline.engine.runner import Engine


class Command(CareLineCommand):
    help = "Run the engine: monitors, heartbeats, SLA clocks, escalations, notifications."
    origin = "engine"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-migrate", action="store_true", help="skip the start-up migration")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            startup.migrate()
        startup.freeze_start_up()
        asyncio.run(_main())


async def _main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Engine().run(stop)
