from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from granian import Granian
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels

from careline.core import startup
from careline.core.management.base import CareLineCommand

# What the access log says of each request: client, request line, status, bytes, duration.
ACCESS_FORMAT = '[%(time)s] %(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'


class Command(CareLineCommand):
    help = (
        "Serve the CareLine web application and API (Granian: worker processes whose "
        "connections are handled in Rust, requests run on a few Python threads each)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--threads", type=int, default=settings.WEB_THREADS)
        parser.add_argument("--no-migrate", action="store_true", help="skip the start-up migration")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            startup.migrate()
        try:
            level = LogLevels(str(settings.LOGGING["root"]["level"]).lower())
        except ValueError:
            level = LogLevels.info
        Granian(
            "careline.wsgi:application",
            address=options["host"],
            port=options["port"],
            interface=Interfaces.WSGI,
            http=HTTPModes.http1,
            websockets=False,
            workers=options["workers"],
            blocking_threads=options["threads"],
            # A worker that dies is started again; the server as a whole never stops for it.
            respawn_failed_workers=True,
            workers_kill_timeout=10,
            log_level=level,
            log_access=True,
            log_access_format=ACCESS_FORMAT,
        ).serve()
