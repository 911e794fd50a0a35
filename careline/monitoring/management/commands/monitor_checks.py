from __future__ import annotations

import asyncio
import signal
from argparse import ArgumentParser
from typing import Any

from careline.core.management.base import CareLineCommand
from careline.monitoring import scheduler


class Command(CareLineCommand):
    help = (
        "Run monitor checks beside an engine (started by the engine itself when "
        "CARELINE_MONITOR_PROCESSES is above 1; stops when that engine stops)."
    )
    origin = "engine"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--engine-pid", type=int, required=True, help="the engine this helper works beside"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(_main(options["engine_pid"]))


async def _main(parent: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.run_helper(stop, parent)
