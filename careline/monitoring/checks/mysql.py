"""mysql: connect to MySQL or MariaDB, run the query in a read-only session, compare.

PyMySQL does not enable multiple statements per query, so the query is one statement.

PyMySQL is blocking, so the check runs in the checks' thread pool with the timeout given to
the driver for connecting, reading and writing.
"""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

import pymysql  # type: ignore[import-untyped]

from careline.monitoring.checks._net import describe, run_blocking
from careline.monitoring.checks.postgres import compare
from careline.monitoring.checks.result import DOWN, CheckResult, elapsed_ms
from careline.monitoring.configs import MysqlConfig, redact_dsn


async def check(config: MysqlConfig, timeout_s: float) -> CheckResult:
    return await run_blocking(_check, config, timeout_s)


def _check(config: MysqlConfig, timeout_s: float) -> CheckResult:
    target = redact_dsn(config.dsn)
    parts = urlsplit(config.dsn)
    started = time.perf_counter()
    try:
        conn = pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=unquote(parts.path.lstrip("/")) or None,
            connect_timeout=max(1, timeout_s),
            read_timeout=max(1, timeout_s),
            write_timeout=max(1, timeout_s),
            program_name="careline-monitor",
        )
    except pymysql.MySQLError as exc:
        return CheckResult(DOWN, elapsed_ms(started), f"cannot connect to {target}: {_plain(exc)}")
    except OSError as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, target))
    try:
        with conn.cursor() as cursor:
            # Read-only for the whole session, not only this transaction: DDL commits the
            # open transaction implicitly and would otherwise run in a writable one.
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
            cursor.execute(config.query)
            row = cursor.fetchone()
        conn.rollback()
    except pymysql.MySQLError as exc:
        return CheckResult(DOWN, elapsed_ms(started), f"query failed on {target}: {_plain(exc)}")
    finally:
        conn.close()
    return compare(row, config.expect, elapsed_ms(started))


def _plain(exc: Exception) -> str:
    # PyMySQL errors carry (code, message).
    args: tuple[object, ...] = exc.args
    if len(args) >= 2 and isinstance(args[1], str):
        return f"{args[1]} (error {args[0]})"
    return str(exc) or type(exc).__name__
