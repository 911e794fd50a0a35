"""http checks against real HTTP(S) servers, well-behaved and not."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc

import pytest

from careline.monitoring import checks
from careline.monitoring.checks import _net
from careline.monitoring.configs import parse_config
from tests.monitoring import peers
from tests.monitoring.checking import check

HEALTH = json.dumps(
    {
        "status": "pass",
        "checks": {"database": {"ok": True, "used_pct": 83.5}},
        "nodes": [{"state": "green"}, {"state": "red"}],
    }
)


@pytest.fixture(scope="module")
def ehr() -> peers.HttpPeer:
    seen: list[peers.Request] = []

    async def echo(request: peers.Request) -> peers.Response:
        seen.append(request)
        return peers.Response(
            200,
            json.dumps(
                {"method": request.method, "auth": request.headers.get("authorization")}
            ).encode(),
            "application/json",
        )

    return peers.start_http(
        {
            "/": peers.text("<html>Welcome to the EHR</html>", content_type="text/html"),
            "/health": peers.json_body(HEALTH),
            "/down": peers.text("maintenance", status=503),
            "/created": peers.text("", status=204),
            "/slow": peers.slow(0.3),
            "/echo": echo,
            "/html": peers.text("<html>not json</html>", content_type="text/html"),
        }
    )


def test_http_200_is_up_with_status_code_in_detail(ehr: peers.HttpPeer) -> None:
    result = check("http", {"url": ehr.base + "/"})
    assert result.status == "up", result
    assert result.detail["status_code"] == 200
    assert result.latency_ms > 0


def test_http_unexpected_status_is_down_naming_status_and_url(ehr: peers.HttpPeer) -> None:
    result = check("http", {"url": ehr.base + "/down"})
    assert result.status == "down"
    assert result.error == f"HTTP 503 from {ehr.base}/down (expected 200)"


def test_http_expect_status_list_accepts_any_listed_code(ehr: peers.HttpPeer) -> None:
    assert check("http", {"url": ehr.base + "/created", "expect_status": [200, 204]}).status == "up"
    assert check("http", {"url": ehr.base + "/down", "expect_status": 503}).status == "up"
    refused = check("http", {"url": ehr.base + "/created", "expect_status": [200, 301]})
    assert refused.error.endswith("(expected 200, 301)")


def test_http_keyword_and_regex(ehr: peers.HttpPeer) -> None:
    assert check("http", {"url": ehr.base + "/", "keyword": "Welcome"}).status == "up"
    missing = check("http", {"url": ehr.base + "/", "keyword": "Sign in"})
    assert missing.status == "down"
    assert missing.error == f"keyword 'Sign in' not found in the answer from {ehr.base}/"
    assert check("http", {"url": ehr.base + "/", "regex": r"Welcome to the \w+"}).status == "up"
    nomatch = check("http", {"url": ehr.base + "/", "regex": r"^\d+$"})
    assert nomatch.status == "down"
    assert "no match for regex" in nomatch.error


def test_http_json_path_value_is_carried_and_compared(ehr: peers.HttpPeer) -> None:
    url = ehr.base + "/health"
    used = check("http", {"url": url, "json_path": "checks.database.used_pct"})
    assert used.status == "up"
    assert used.value == 83.5
    ok = check("http", {"url": url, "json_path": "$.checks.database.ok", "json_expect": True})
    assert ok.status == "up"
    assert ok.value is None  # a boolean is not a trend value
    green = check("http", {"url": url, "json_path": "nodes[0].state", "json_expect": "green"})
    assert green.status == "up"
    red = check("http", {"url": url, "json_path": "nodes[1].state", "json_expect": "green"})
    assert red.status == "down"
    assert red.error == 'JSON nodes[1].state is "red", expected "green"'
    number = check("http", {"url": url, "json_path": "checks.database.used_pct", "json_expect": 90})
    assert number.status == "down"
    assert number.value == 83.5


def test_http_json_path_missing_or_body_not_json_is_down(ehr: peers.HttpPeer) -> None:
    missing = check("http", {"url": ehr.base + "/health", "json_path": "nodes[5].state"})
    assert missing.status == "down"
    assert missing.error.startswith("nothing at JSON path nodes[5].state")
    html = check("http", {"url": ehr.base + "/html", "json_path": "status"})
    assert html.status == "down"
    assert html.error == f"the answer from {ehr.base}/html is not JSON"


def test_http_slower_than_max_latency_is_degraded(ehr: peers.HttpPeer) -> None:
    result = check("http", {"url": ehr.base + "/slow", "max_latency_ms": 100})
    assert result.status == "degraded"
    assert result.latency_ms >= 300
    assert result.error.startswith(f"slow answer from {ehr.base}/slow: ")
    assert result.error.endswith("(limit 100 ms)")
    assert check("http", {"url": ehr.base + "/slow", "max_latency_ms": 5000}).status == "up"


def test_http_method_and_headers_are_sent(ehr: peers.HttpPeer) -> None:
    result = check(
        "http",
        {
            "url": ehr.base + "/echo",
            "method": "post",
            "headers": {"Authorization": "Bearer monitor-token"},
            "json_path": "auth",
            "json_expect": "Bearer monitor-token",
        },
    )
    assert result.status == "up", result
    assert (
        check(
            "http", {"url": ehr.base + "/echo", "json_path": "method", "json_expect": "POST"}
        ).status
        == "down"
    )


def test_cookies_set_by_a_target_are_not_sent_on_later_checks() -> None:
    seen: list[str] = []

    async def login(request: peers.Request) -> peers.Response:
        seen.append(request.headers.get("cookie", ""))
        return peers.Response(200, b"ok", headers={"Set-Cookie": "session=abc; Path=/"})

    server = peers.start_http({"/": login})
    config = parse_config("http", {"url": server.base + "/"})

    async def twice() -> None:
        await checks.run_check("http", config, 2)
        await checks.run_check("http", config, 2)
        await checks.close()

    asyncio.run(twice())
    assert seen == ["", ""]


@pytest.mark.timing
def test_http_timeout_is_respected_within_half_a_second() -> None:
    hanging = peers.start_hanging()
    started = time.monotonic()
    result = check("http", {"url": f"http://127.0.0.1:{hanging.port}/health"}, timeout_s=1.0)
    took = time.monotonic() - started
    assert result.status == "down"
    assert result.error == f"no answer from http://127.0.0.1:{hanging.port}/health within 1 s"
    assert 0.9 < took < 1.5


def test_http_refused_reset_and_garbage_are_recorded_errors() -> None:
    port = peers.refused_port()
    refused = check("http", {"url": f"http://127.0.0.1:{port}/"})
    assert refused.status == "down"
    assert refused.error == f"connection refused by http://127.0.0.1:{port}/"

    resetting = peers.start_resetting()
    reset = check("http", {"url": f"http://127.0.0.1:{resetting.port}/"})
    assert reset.status == "down"
    assert reset.error in (
        f"connection reset by http://127.0.0.1:{resetting.port}/",
        f"connection closed by http://127.0.0.1:{resetting.port}/ without an answer",
    )

    garbage = peers.start_garbage()
    nonsense = check("http", {"url": f"http://127.0.0.1:{garbage.port}/"})
    assert nonsense.status == "down"
    assert nonsense.error.startswith(
        f"not a valid HTTP answer from http://127.0.0.1:{garbage.port}/"
    )


@pytest.mark.timing
def test_http_50_mb_body_is_read_only_up_to_the_cap() -> None:
    huge = peers.HugeBody(tail=b"THE-END")
    server = peers.start_http({"/export": huge})
    tracemalloc.start()
    started = time.monotonic()
    try:
        found = check("http", {"url": server.base + "/export", "keyword": "THE-END"}, timeout_s=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert found.status == "down"
    assert found.error == f"keyword 'THE-END' not found in the answer from {server.base}/export"
    assert found.detail["body_truncated"] is True
    assert peak < 8 * 1024 * 1024, f"peak memory {peak} bytes"
    assert huge.sent < 20 * 1024 * 1024  # the client stopped reading long before 50 MB
    plain = check("http", {"url": server.base + "/export"}, timeout_s=5)
    assert plain.status == "up"  # the status was as expected; only the body was cut
    assert plain.detail["body_truncated"] is True
    as_json = check("http", {"url": server.base + "/export", "json_path": "a"}, timeout_s=5)
    assert as_json.status == "down"
    assert "larger than 1024 KB" in as_json.error


@pytest.mark.timing
def test_50_hanging_checks_finish_in_one_timeout_while_a_fast_check_is_not_held_up(
    ehr: peers.HttpPeer,
) -> None:
    hanging = peers.start_hanging()
    stuck = parse_config("http", {"url": f"http://127.0.0.1:{hanging.port}/"})
    fast = parse_config("http", {"url": ehr.base + "/"})

    async def go() -> tuple[list[checks.CheckResult], float, checks.CheckResult, float]:
        started = time.monotonic()
        many = [asyncio.create_task(checks.run_check("http", stuck, 1.5)) for _ in range(50)]
        await asyncio.sleep(0.1)  # the 50 are connected and waiting
        fast_started = time.monotonic()
        quick = await checks.run_check("http", fast, 1.5)
        fast_took = time.monotonic() - fast_started
        results = await asyncio.gather(*many)
        await checks.close()
        return results, time.monotonic() - started, quick, fast_took

    results, took, quick, fast_took = asyncio.run(go())
    assert [r.status for r in results] == ["down"] * 50
    assert all("within 1.5 s" in r.error for r in results)
    assert took < 2.3
    assert quick.status == "up"
    assert fast_took < 0.75  # well inside the 1.5 s the others wait
    assert hanging.connections == 50


@pytest.fixture(scope="module")
def _trust_test_ca() -> None:
    _net.trust_ca_file(str(peers.certificates().ca))


@pytest.mark.usefixtures("_trust_test_ca")
class TestTls:
    """Certificates: verified by default against the system trust store plus added CAs."""

    def serve(self, pair_name: str) -> peers.HttpPeer:
        certs = peers.certificates()
        context = certs.server_context(getattr(certs, pair_name))
        return peers.start_http({"/": peers.text("secure")}, context)

    def test_valid_chain_is_up(self) -> None:
        server = self.serve("valid")
        assert check("http", {"url": server.base + "/", "keyword": "secure"}).status == "up"
        by_name = check("http", {"url": f"https://localhost:{server.port}/"})
        assert by_name.status == "up", by_name

    def test_self_signed_certificate_is_down_unless_verification_is_off(self) -> None:
        server = self.serve("self_signed")
        result = check("http", {"url": server.base + "/"})
        assert result.status == "down"
        assert result.error == (
            f"TLS certificate of {server.base}/ not accepted: self-signed certificate"
        )
        assert check("http", {"url": server.base + "/", "verify_tls": False}).status == "up"

    def test_expired_certificate_is_down(self) -> None:
        server = self.serve("expired")
        result = check("http", {"url": server.base + "/"})
        assert result.status == "down"
        assert (
            result.error
            == f"TLS certificate of {server.base}/ not accepted: certificate has expired"
        )

    def test_certificate_for_another_name_is_down(self) -> None:
        server = self.serve("wrong_name")
        result = check("http", {"url": server.base + "/"})
        assert result.status == "down"
        assert "not accepted: IP address mismatch" in result.error

    def test_plain_http_client_against_tls_port_is_down(self) -> None:
        server = self.serve("valid")
        result = check("http", {"url": f"http://127.0.0.1:{server.port}/"})
        assert result.status == "down"
        assert result.error
