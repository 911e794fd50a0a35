"""postgres checks against this machine's real PostgreSQL."""

from __future__ import annotations

import os

import psycopg
import pytest

from tests.monitoring import peers
from tests.monitoring.checking import check

DSN = os.environ.get("CARELINE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module", autouse=True)
def _postgres_running() -> None:
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is not reachable at {DSN}: {exc}")


def test_default_query_is_up() -> None:
    result = check("postgres", {"dsn": DSN})
    assert result.status == "up", result
    assert result.value == 1.0
    assert result.detail == {"result": "1"}


def test_query_result_is_compared_with_expect() -> None:
    ok = check("postgres", {"dsn": DSN, "query": "SELECT current_database()", "expect": "postgres"})
    assert ok.status == "up", ok
    wrong = check("postgres", {"dsn": DSN, "query": "SELECT 41 + 1", "expect": "43"})
    assert wrong.status == "down"
    assert wrong.error == "the query returned 42, expected 43"
    assert wrong.value == 42.0
    empty = check("postgres", {"dsn": DSN, "query": "SELECT 1 WHERE false", "expect": "1"})
    assert empty.error == "the query returned no rows, expected 1"


def test_query_runs_read_only() -> None:
    result = check(
        "postgres", {"dsn": DSN, "query": "CREATE TABLE careline_monitor_probe (id int)"}
    )
    assert result.status == "down"
    assert result.error == (
        "query failed on postgresql://postgres@127.0.0.1:5432/postgres: "
        "cannot execute CREATE TABLE in a read-only transaction"
    )


def test_query_cannot_leave_the_read_only_transaction() -> None:
    result = check(
        "postgres",
        {"dsn": DSN, "query": "SELECT 1; COMMIT; CREATE TABLE careline_monitor_probe (id int)"},
    )
    assert result.status == "down"
    assert result.error.endswith("cannot insert multiple commands into a prepared statement")
    with psycopg.connect(DSN) as conn:
        assert conn.execute("SELECT to_regclass('careline_monitor_probe')").fetchone() == (None,)


def test_slow_query_is_cut_by_the_statement_timeout() -> None:
    result = check("postgres", {"dsn": DSN, "query": "SELECT pg_sleep(10)"}, timeout_s=1.0)
    assert result.status == "down"
    assert result.latency_ms < 1500
    assert "statement timeout" in result.error or "within 1 s" in result.error


def test_wrong_password_database_and_port_are_down_without_the_password() -> None:
    missing = check(
        "postgres", {"dsn": "postgresql://postgres:Secret9@127.0.0.1:5432/no_such_db_here"}
    )
    assert missing.status == "down"
    assert missing.error.startswith(
        "cannot connect to postgresql://postgres:********@127.0.0.1:5432/no_such_db_here: "
    )
    assert "no_such_db_here" in missing.error.split(": ", 1)[1]
    assert "Secret9" not in missing.error
    port = peers.refused_port()
    refused = check("postgres", {"dsn": f"postgresql://postgres@127.0.0.1:{port}/postgres"})
    assert refused.status == "down"
    assert refused.error.startswith(
        f"cannot connect to postgresql://postgres@127.0.0.1:{port}/postgres"
    )
    assert "refused" in refused.error


def test_server_that_hangs_is_down_after_the_timeout() -> None:
    hanging = peers.start_hanging()
    result = check(
        "postgres",
        {"dsn": f"postgresql://postgres@127.0.0.1:{hanging.port}/postgres"},
        timeout_s=1.0,
    )
    assert result.status == "down"
    assert result.latency_ms < 1500
