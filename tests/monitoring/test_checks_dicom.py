"""dicom checks: association and C-ECHO against a real pynetdicom SCP started by the test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.monitoring import peers
from tests.monitoring.checking import check


@pytest.fixture(scope="module")
def pacs() -> Iterator[int]:
    with peers.dicom_scp("PACS") as port:
        yield port


def test_c_echo_status_0000_is_up(pacs: int) -> None:
    result = check(
        "dicom", {"host": "127.0.0.1", "port": pacs, "called_ae": "PACS", "calling_ae": "CARELINE"}
    )
    assert result.status == "up", result
    assert result.detail == {"status": "0x0000"}


def test_wrong_called_ae_title_is_rejected_and_says_why(pacs: int) -> None:
    result = check("dicom", {"host": "127.0.0.1", "port": pacs, "called_ae": "MODALITY1"})
    assert result.status == "down"
    assert result.error == (
        "association rejected (rejected permanent, by the service user): "
        "called AE title not recognised"
    )
    assert result.detail == {"result": 1, "source": 1, "reason": 7}


def test_c_echo_with_a_failure_status_is_down() -> None:
    with peers.dicom_scp("PACS", echo_status=0x0211) as port:
        result = check("dicom", {"host": "127.0.0.1", "port": port, "called_ae": "PACS"})
    assert result.status == "down"
    assert result.error == f"C-ECHO to PACS@127.0.0.1:{port} answered status 0x0211"


@pytest.mark.timing
def test_refused_hanging_and_garbage_peers_are_down() -> None:
    port = peers.refused_port()
    refused = check("dicom", {"host": "127.0.0.1", "port": port, "called_ae": "PACS"})
    assert refused.error == f"connection refused by 127.0.0.1:{port}"
    hanging = peers.start_hanging()
    started = time.monotonic()
    silent = check(
        "dicom", {"host": "127.0.0.1", "port": hanging.port, "called_ae": "PACS"}, timeout_s=1.0
    )
    assert time.monotonic() - started < 1.5
    assert (
        silent.error
        == f"no answer to the association request from PACS@127.0.0.1:{hanging.port} within 1 s"
    )
    garbage = peers.start_garbage()
    nonsense = check("dicom", {"host": "127.0.0.1", "port": garbage.port, "called_ae": "PACS"})
    assert nonsense.status == "down"
    assert nonsense.error == (
        f"association with PACS@127.0.0.1:{garbage.port} aborted: the peer closed it or did not speak DICOM"
    )


def test_unknown_host_name_is_down_naming_it() -> None:
    result = check("dicom", {"host": "pacs.invalid", "port": 104, "called_ae": "PACS"})
    assert result.status == "down"
    assert result.error.startswith("host name of pacs.invalid:104 not found")
