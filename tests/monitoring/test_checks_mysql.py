"""mysql checks against this machine's real MariaDB (root, no password, database `test`)."""

from __future__ import annotations

import pymysql
import pytest

from tests.monitoring import peers
from tests.monitoring.checking import check

DSN = "mysql://root@127.0.0.1:3306/test"


@pytest.fixture(scope="module", autouse=True)
def _mariadb_running() -> None:
    try:
        pymysql.connect(
            host="127.0.0.1", user="root", password="", database="test", connect_timeout=3
        ).close()
    except pymysql.MySQLError as exc:
        pytest.fail(f"MariaDB is not reachable at 127.0.0.1:3306: {exc}")


def test_default_query_is_up() -> None:
    result = check("mysql", {"dsn": DSN})
    assert result.status == "up", result
    assert result.value == 1.0


def test_query_result_is_compared_with_expect() -> None:
    assert (
        check("mysql", {"dsn": DSN, "query": "SELECT DATABASE()", "expect": "test"}).status == "up"
    )
    wrong = check("mysql", {"dsn": DSN, "query": "SELECT 6 * 7", "expect": "41"})
    assert wrong.status == "down"
    assert wrong.error == "the query returned 42, expected 41"
    assert wrong.value == 42.0


def test_query_runs_read_only() -> None:
    result = check("mysql", {"dsn": DSN, "query": "CREATE TABLE careline_monitor_probe (id int)"})
    assert result.status == "down"
    assert result.error.startswith("query failed on mysql://root@127.0.0.1:3306/test: ")
    assert result.error.endswith("Cannot execute statement in a READ ONLY transaction (error 1792)")
    several = check(
        "mysql", {"dsn": DSN, "query": "SELECT 1; DROP TABLE IF EXISTS careline_monitor_probe"}
    )
    assert several.status == "down"
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", database="test")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE 'careline_monitor_probe'")
            assert cursor.fetchall() == ()
    finally:
        conn.close()


def test_unknown_database_and_refused_port_are_down_without_the_password() -> None:
    result = check("mysql", {"dsn": "mysql://root:Secret9@127.0.0.1:3306/no_such_db_here"})
    assert result.status == "down"
    assert result.error.startswith(
        "cannot connect to mysql://root:********@127.0.0.1:3306/no_such_db_here: "
    )
    assert "Secret9" not in result.error
    port = peers.refused_port()
    refused = check("mysql", {"dsn": f"mysql://root@127.0.0.1:{port}/test"})
    assert refused.status == "down"
    assert refused.error.startswith(f"cannot connect to mysql://root@127.0.0.1:{port}/test: ")


def test_server_that_hangs_is_down_after_the_timeout() -> None:
    hanging = peers.start_hanging()
    result = check("mysql", {"dsn": f"mysql://root@127.0.0.1:{hanging.port}/test"}, timeout_s=1.0)
    assert result.status == "down"
    assert result.latency_ms < 1500


def test_garbage_server_is_down() -> None:
    garbage = peers.start_garbage()
    result = check("mysql", {"dsn": f"mysql://root@127.0.0.1:{garbage.port}/test"}, timeout_s=1.0)
    assert result.status == "down"
    assert result.error
