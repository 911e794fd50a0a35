"""postgres: connect, run the query in a read-only transaction, compare its first value.

The transaction is read-only and the query limited by a statement timeout, so a monitoring
query cannot change the database or run on after the check gave up.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from careline.monitoring.checks._net import describe
from careline.monitoring.checks.result import DOWN, UP, CheckResult, elapsed_ms, numeric
from careline.monitoring.configs import PostgresConfig, redact_dsn


async def check(config: PostgresConfig, timeout_s: float) -> CheckResult:
    target = redact_dsn(config.dsn)
    started = time.perf_counter()
    try:
        conn = await psycopg.AsyncConnection.connect(
            config.dsn,
            connect_timeout=max(1, round(timeout_s)),
            application_name="careline-monitor",
        )
    except psycopg.Error as exc:
        return CheckResult(DOWN, elapsed_ms(started), f"cannot connect to {target}: {_plain(exc)}")
    except OSError as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, target))
    try:
        async with conn:
            await conn.set_read_only(True)
            async with conn.transaction(force_rollback=True), conn.cursor() as cursor:
                await cursor.execute(
                    sql.SQL("SET LOCAL statement_timeout = {}").format(
                        sql.Literal(max(1, int(timeout_s * 1000)))
                    )
                )
                # A prepared statement holds exactly one command, so "SELECT 1; COMMIT; ..."
                # cannot step out of the read-only transaction.
                await cursor.execute(config.query.encode(), prepare=True)
                row = await cursor.fetchone() if cursor.description else None
    except psycopg.Error as exc:
        return CheckResult(DOWN, elapsed_ms(started), f"query failed on {target}: {_plain(exc)}")
    return compare(row, config.expect, elapsed_ms(started))


def compare(row: tuple[object, ...] | None, expect: str | None, latency: float) -> CheckResult:
    """Up when the first column of the first row reads `expect` (or `expect` is not set)."""
    if row is None or not row:
        if expect is None:
            return CheckResult(UP, latency)
        return CheckResult(DOWN, latency, f"the query returned no rows, expected {expect}")
    first = row[0]
    shown = "NULL" if first is None else str(first)
    value = numeric(first)
    detail = {"result": shown[:200]}
    if expect is not None and shown != expect:
        return CheckResult(
            DOWN, latency, f"the query returned {shown[:200]}, expected {expect}", value, detail
        )
    return CheckResult(UP, latency, value=value, detail=detail)


def _plain(exc: psycopg.Error) -> str:
    primary = exc.diag.message_primary if exc.diag else None
    text = primary or str(exc) or type(exc).__name__
    return " ".join(text.split())
