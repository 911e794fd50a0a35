"""hl7 checks against a real MLLP server that answers with ACKs built by the hl7 library."""

from __future__ import annotations

import hl7

from tests.monitoring import peers
from tests.monitoring.checking import check

ADT = "MSH|^~\\&|CARELINE|NORTHGATE|ADT|NORTHGATE|20250101120000||ADT^A08^ADT_A01|OLD-ID|T|2.5\nEVN|A08|20250101120000\nPID|1||TEST-0001^^^CARELINE^MR||TEST^PATIENT"


def test_ack_aa_is_up_and_the_default_message_is_a_network_query() -> None:
    lis = peers.start_mllp("AA")
    result = check("hl7", {"host": "127.0.0.1", "port": lis.port})
    assert result.status == "up", result
    assert result.detail["ack_code"] == "AA"
    sent = hl7.parse(lis.received[-1])
    assert str(sent.segment("MSH")[9]) == "NMQ^N01^NMQ_N01"
    assert result.detail["control_id"] == str(sent.segment("MSH")[10])


def test_ack_ca_is_up() -> None:
    lis = peers.start_mllp("CA")
    assert check("hl7", {"host": "127.0.0.1", "port": lis.port}).status == "up"


def test_configured_message_is_sent_with_a_fresh_control_id() -> None:
    lis = peers.start_mllp("AA")
    assert check("hl7", {"host": "127.0.0.1", "port": lis.port, "message": ADT}).status == "up"
    assert check("hl7", {"host": "127.0.0.1", "port": lis.port, "message": ADT}).status == "up"
    first, second = (hl7.parse(m) for m in lis.received[-2:])
    assert str(first.segment("PID")[3]) == "TEST-0001^^^CARELINE^MR"
    assert str(first.segment("MSH")[9]) == "ADT^A08^ADT_A01"
    assert str(first.segment("MSH")[10]) != "OLD-ID"
    assert str(first.segment("MSH")[10]) != str(second.segment("MSH")[10])


def test_ack_ae_is_down_with_the_msa_text() -> None:
    lis = peers.start_mllp("AE", "Unknown segment")
    result = check("hl7", {"host": "127.0.0.1", "port": lis.port})
    assert result.status == "down"
    assert result.error == "ACK AE: Unknown segment"


def test_ack_ar_is_down_with_the_err_segment_text() -> None:
    lis = peers.start_mllp("AR", "Receiving application not available", error_style="err")
    result = check("hl7", {"host": "127.0.0.1", "port": lis.port})
    assert result.status == "down"
    assert result.error == "ACK AR: Receiving application not available"


def test_ack_ar_without_a_reason_says_so() -> None:
    lis = peers.start_mllp("AR")
    assert check("hl7", {"host": "127.0.0.1", "port": lis.port}).error == "ACK AR: no reason given"


def test_answer_that_is_not_hl7_or_not_mllp_is_down() -> None:
    lis = peers.start_mllp(mode="garbage")
    result = check("hl7", {"host": "127.0.0.1", "port": lis.port})
    assert result.status == "down"
    assert result.error.startswith(f"the answer from 127.0.0.1:{lis.port} is not an HL7 message")
    garbage = peers.start_garbage()
    raw = check("hl7", {"host": "127.0.0.1", "port": garbage.port})
    assert raw.error == f"the answer from 127.0.0.1:{garbage.port} is not MLLP framed"


def test_silent_refusing_and_resetting_interfaces_are_down() -> None:
    silent = peers.start_mllp(mode="hang")
    result = check("hl7", {"host": "127.0.0.1", "port": silent.port}, timeout_s=0.5)
    assert result.status == "down"
    assert result.error == f"no ACK from 127.0.0.1:{silent.port} within 0.5 s"
    port = peers.refused_port()
    assert (
        check("hl7", {"host": "127.0.0.1", "port": port}).error
        == f"connection refused by 127.0.0.1:{port}"
    )
    resetting = peers.start_resetting()
    reset = check("hl7", {"host": "127.0.0.1", "port": resetting.port})
    assert reset.status == "down"
    assert reset.error in (
        f"connection reset by 127.0.0.1:{resetting.port}",
        f"connection closed by 127.0.0.1:{resetting.port} before a complete answer",
    )
