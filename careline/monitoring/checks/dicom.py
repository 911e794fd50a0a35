"""dicom: an association and a C-ECHO to a PACS or modality, with pynetdicom.

Status 0x0000 is up. A rejected association is down with the reason the peer gave, in words
("association rejected (rejected permanent, by the service user): called AE title not
recognised"). pynetdicom is blocking; the check runs in the checks' thread pool with the
timeout given to pynetdicom for connecting, the association and the echo.
"""

from __future__ import annotations

import logging
import socket
import time

from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from careline.monitoring.checks._net import describe, run_blocking
from careline.monitoring.checks.result import DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import DicomConfig

# pynetdicom logs every association at INFO and every failure at ERROR; each check's outcome
# is recorded as its result, so the library's own lines are kept out of the engine's log.
logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


async def check(config: DicomConfig, timeout_s: float) -> CheckResult:
    return await run_blocking(_echo, config, timeout_s)


def _echo(config: DicomConfig, timeout_s: float) -> CheckResult:
    target = f"{config.called_ae}@{config.host}:{config.port}"
    started = time.perf_counter()
    ae = AE(ae_title=config.calling_ae)
    ae.add_requested_context(Verification)
    ae.connection_timeout = timeout_s
    ae.acse_timeout = timeout_s
    ae.dimse_timeout = timeout_s
    ae.network_timeout = timeout_s
    opened: list[bool] = []
    try:
        assoc = ae.associate(
            config.host,
            config.port,
            ae_title=config.called_ae,
            evt_handlers=[(evt.EVT_CONN_OPEN, lambda event: opened.append(True))],
        )
    except OSError as exc:  # the host name does not resolve
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, f"{config.host}:{config.port}"))
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        if primitive is None:
            return CheckResult(DOWN, elapsed_ms(started), f"association rejected by {target}")
        return CheckResult(
            DOWN,
            elapsed_ms(started),
            f"association rejected ({primitive.result_str.lower()}, by the "
            f"{primitive.source_str.lower()}): {primitive.reason_str[0].lower()}"
            f"{primitive.reason_str[1:]}",
            detail={
                "result": primitive.result,
                "source": primitive.result_source,
                "reason": primitive.diagnostic,
            },
        )
    if not assoc.is_established:
        return CheckResult(DOWN, elapsed_ms(started), _why_not(config, opened, started, timeout_s))
    try:
        status = assoc.send_c_echo()
    finally:
        if assoc.is_established:
            assoc.release()
    latency = elapsed_ms(started)
    if not status or "Status" not in status:
        return CheckResult(DOWN, latency, f"no C-ECHO response from {target}")
    code = int(status.Status)
    detail = {"status": f"0x{code:04X}"}
    if code != 0x0000:
        return CheckResult(
            DOWN, latency, f"C-ECHO to {target} answered status 0x{code:04X}", detail=detail
        )
    return CheckResult(UP, latency, detail=detail)


def _why_not(config: DicomConfig, opened: list[bool], started: float, timeout_s: float) -> str:
    """Why no association was made, in words."""
    target = f"{config.called_ae}@{config.host}:{config.port}"
    if opened:
        if time.perf_counter() - started >= timeout_s * 0.95:
            return f"no answer to the association request from {target} within {timeout_s:g} s"
        return f"association with {target} aborted: the peer closed it or did not speak DICOM"
    # pynetdicom only logs why the TCP connection failed; connect once more to say why.
    remaining = max(0.1, timeout_s - (time.perf_counter() - started))
    try:
        socket.create_connection((config.host, config.port), timeout=remaining).close()
    except OSError as exc:
        return describe(exc, f"{config.host}:{config.port}")
    return f"could not connect to {target}"
