"""dns checks against a real DNS server (dnspython messages over UDP) started by the test."""

from __future__ import annotations

import time

import pytest

from tests.monitoring import peers
from tests.monitoring.checking import check

ZONE = {
    ("ehr.hospital.test.", "A"): ["10.1.2.3", "10.1.2.4"],
    ("ehr.hospital.test.", "AAAA"): ["fd00::3"],
    ("hospital.test.", "MX"): ["10 mail.hospital.test."],
    ("hospital.test.", "TXT"): ['"v=spf1 -all"'],
    ("pacs.hospital.test.", "CNAME"): ["pacs01.hospital.test."],
}


@pytest.fixture(scope="module")
def server() -> peers.DnsPeer:
    return peers.start_dns(ZONE)


def ask(server: peers.DnsPeer, **config: object) -> dict[str, object]:
    return {"server": "127.0.0.1", "port": server.port, **config}


def test_name_that_resolves_is_up_with_its_answers(server: peers.DnsPeer) -> None:
    result = check("dns", ask(server, name="ehr.hospital.test"))
    assert result.status == "up", result
    assert sorted(result.detail["answers"]) == ["10.1.2.3", "10.1.2.4"]


def test_expected_answer_is_compared(server: peers.DnsPeer) -> None:
    assert check("dns", ask(server, name="ehr.hospital.test", expect="10.1.2.4")).status == "up"
    wrong = check("dns", ask(server, name="ehr.hospital.test", expect="10.9.9.9"))
    assert wrong.status == "down"
    assert wrong.error.startswith("ehr.hospital.test A is ")
    assert wrong.error.endswith(", expected 10.9.9.9")
    mx = check(
        "dns", ask(server, name="hospital.test", record_type="MX", expect="mail.hospital.test")
    )
    assert mx.status == "up", mx
    txt = check("dns", ask(server, name="hospital.test", record_type="TXT", expect="v=spf1 -all"))
    assert txt.status == "up", txt
    cname = check(
        "dns",
        ask(server, name="pacs.hospital.test", record_type="CNAME", expect="PACS01.hospital.test."),
    )
    assert cname.status == "up", cname
    assert (
        check(
            "dns", ask(server, name="ehr.hospital.test", record_type="AAAA", expect="fd00::3")
        ).status
        == "up"
    )


def test_unknown_name_and_missing_record_type_are_down(server: peers.DnsPeer) -> None:
    nx = check("dns", ask(server, name="lis.hospital.test"))
    assert nx.status == "down"
    assert nx.error == f"lis.hospital.test does not exist (NXDOMAIN) at 127.0.0.1:{server.port}"
    none = check("dns", ask(server, name="hospital.test", record_type="A"))
    assert none.status == "down"
    assert none.error == f"no A record for hospital.test at 127.0.0.1:{server.port}"


@pytest.mark.timing
def test_silent_dns_server_is_down_after_the_timeout() -> None:
    silent = peers.start_dns(ZONE, mode="hang")
    started = time.monotonic()
    result = check("dns", ask(silent, name="ehr.hospital.test"), timeout_s=1.0)
    assert time.monotonic() - started < 1.5
    assert result.status == "down"
    assert (
        result.error == f"no DNS answer for ehr.hospital.test at 127.0.0.1:{silent.port} within 1 s"
    )


def test_garbage_answers_are_down_not_an_exception() -> None:
    garbage = peers.start_dns(ZONE, mode="garbage")
    result = check("dns", ask(garbage, name="ehr.hospital.test"), timeout_s=1.0)
    assert result.status == "down"
    assert "ehr.hospital.test" in result.error
