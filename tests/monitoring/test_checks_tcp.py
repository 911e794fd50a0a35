"""tcp checks against real listening, refusing and unresponsive ports."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.monitoring import peers
from tests.monitoring.checking import check


def test_tcp_port_accepting_connections_is_up() -> None:
    server = peers.start_hanging()
    result = check("tcp", {"host": "127.0.0.1", "port": server.port})
    assert result.status == "up", result
    assert result.error == ""
    assert 0 < result.latency_ms < 1000


def test_tcp_refused_port_is_down_with_plain_error() -> None:
    port = peers.refused_port()
    result = check("tcp", {"host": "127.0.0.1", "port": port})
    assert result.status == "down"
    assert result.error == f"connection refused by 127.0.0.1:{port}"


def test_tcp_unknown_host_name_is_down() -> None:
    result = check("tcp", {"host": "no-such-host.invalid", "port": 80})
    assert result.status == "down"
    assert "no-such-host.invalid:80" in result.error


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listening socket that never accepts, its backlog filled: new SYNs go unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.timing
def test_tcp_connect_that_hangs_is_down_after_the_timeout(full_backlog: int) -> None:
    started = time.monotonic()
    result = check("tcp", {"host": "127.0.0.1", "port": full_backlog}, timeout_s=1.0)
    took = time.monotonic() - started
    assert result.status == "down"
    assert result.error == f"no connection to 127.0.0.1:{full_backlog} within 1 s"
    assert 0.9 < took < 1.5
