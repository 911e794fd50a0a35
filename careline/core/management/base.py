from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from careline.core import requestctx
from careline.core.errors import CareLineError


class CareLineCommand(BaseCommand):
    """A `careline` subcommand: audit events say "cli", domain errors become clean messages."""

    origin = "cli"

    def execute(self, *args: Any, **options: Any) -> str | None:
        token = requestctx.bind(requestctx.RequestContext(origin=self.origin))
        try:
            return super().execute(*args, **options)
        except CareLineError as exc:
            raise CommandError(str(exc)) from None
        finally:
            requestctx.reset(token)
