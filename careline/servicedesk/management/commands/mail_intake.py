from __future__ import annotations

import asyncio
import signal
from argparse import ArgumentParser
from dataclasses import replace
from typing import Any

from django.core.management.base import CommandError

from careline.core import startup
from careline.core.management.base import CareLineCommand
from careline.servicedesk.mail.intake import IntakeSettings
from careline.servicedesk.mail.listener import serve


class Command(CareLineCommand):
    help = "Run the inbound mail listener: mail to the desk opens tickets, replies become comments."
    origin = "email"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", help="address to listen on (CARELINE_MAIL_INTAKE_HOST)")
        parser.add_argument(
            "--port", type=int, help="port to listen on (CARELINE_MAIL_INTAKE_PORT)"
        )
        parser.add_argument("--no-migrate", action="store_true", help="skip the start-up migration")

    def handle(self, *args: Any, **options: Any) -> None:
        config = IntakeSettings.from_env()
        if options["host"]:
            config = replace(config, host=options["host"])
        if options["port"] is not None:
            if not 1 <= options["port"] <= 65535:
                raise CommandError(f"--port must be between 1 and 65535 (got {options['port']})")
            config = replace(config, port=options["port"])
        if not options["no_migrate"]:
            startup.migrate()
        startup.freeze_start_up()
        try:
            asyncio.run(_main(config))
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
            ) from None


async def _main(config: IntakeSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)
