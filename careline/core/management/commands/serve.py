from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from gunicorn.app.base import BaseApplication

from careline.core import startup
from careline.core.management.base import CareLineCommand
from careline.wsgi import application


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return application


class Command(CareLineCommand):
    help = "Serve the CareLine web application and API (gunicorn, threaded workers)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--threads", type=int, default=settings.WEB_THREADS)
        parser.add_argument("--no-migrate", action="store_true", help="skip the start-up migration")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            startup.migrate()
        _Gunicorn(
            {
                "bind": f"{options['host']}:{options['port']}",
                "workers": options["workers"],
                "threads": options["threads"],
                "worker_class": "gthread",
                "graceful_timeout": 10,
                "timeout": 60,
                "accesslog": "-",
                "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
                "proc_name": "careline-web",
            }
        ).run()
