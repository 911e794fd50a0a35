"""Database upkeep the engine does by itself."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection

from careline.engine.runner import LoopSpec, db, register

log = logging.getLogger("careline.engine")


def optimise_database() -> None:
    """Keep SQLite's query planner informed as tables grow (PostgreSQL's autovacuum does this).

    Without statistics SQLite may pick a poorer index for the queue's filters; PRAGMA
    optimize gathers them only for tables whose size has changed a lot, so it is cheap.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA optimize")
    log.info("database optimised")


async def _tick() -> None:
    await db(optimise_database)


def register_loops() -> None:
    register(LoopSpec("db-optimise", interval_s=settings.DB_OPTIMISE_INTERVAL_SECONDS, tick=_tick))
