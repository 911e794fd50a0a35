"""hl7: send a test HL7 v2 message over MLLP and expect an ACK with AA or CA.

Without a configured message CareLine sends an NMQ^N01 network management query, HL7's own
"are you there" message, which no interface engine files as patient data. A configured
message gets a fresh MSH-7 (time) and MSH-10 (control id) on every check. The ACK's MSA-1
decides: AA or CA is up; AE, AR, CE or CR is down with the reason the receiver gave
(MSA-3, or the ERR segment).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import hl7  # type: ignore[import-untyped]
import hl7.mllp  # type: ignore[import-untyped]
from django.utils import timezone

from careline.monitoring.checks._net import describe
from careline.monitoring.checks.result import DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import Hl7Config

TEST_MESSAGE = "MSH|^~\\&|CARELINE|CARELINE|||{time}||NMQ^N01^NMQ_N01|{control}|P|2.5\rNCK|{time}"
ACCEPTED = ("AA", "CA")


def build_message(config: Hl7Config) -> Any:
    """The hl7.Message to send, with a fresh time and control id."""
    now = timezone.now().strftime("%Y%m%d%H%M%S")
    control = hl7.generate_message_control_id()
    if config.message is None:
        return hl7.parse(TEST_MESSAGE.format(time=now, control=control))
    message = hl7.parse(config.message)
    message.assign_field(now, "MSH", 1, 7)
    message.assign_field(control, "MSH", 1, 10)
    return message


async def check(config: Hl7Config, timeout_s: float) -> CheckResult:
    target = f"{config.host}:{config.port}"
    started = time.perf_counter()
    message = build_message(config)
    writer: Any = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await hl7.mllp.open_hl7_connection(
                config.host, config.port, encoding="utf-8", encoding_errors="replace"
            )
            writer.writemessage(message)
            await writer.drain()
            ack = await reader.readmessage()
    except TimeoutError:
        return CheckResult(
            DOWN, elapsed_ms(started), f"no ACK from {target} within {timeout_s:g} s"
        )
    except hl7.mllp.InvalidBlockError:
        return CheckResult(
            DOWN, elapsed_ms(started), f"the answer from {target} is not MLLP framed"
        )
    except hl7.ParseException as exc:
        return CheckResult(
            DOWN, elapsed_ms(started), f"the answer from {target} is not an HL7 message ({exc})"
        )
    except (OSError, EOFError, ValueError) as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, target))
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return read_ack(ack, target, elapsed_ms(started))


def read_ack(ack: Any, target: str, latency: float) -> CheckResult:
    """Up for MSA-1 AA/CA; down with the receiver's reason otherwise."""
    try:
        msa = ack.segment("MSA")
    except KeyError:
        return CheckResult(DOWN, latency, f"the answer from {target} has no MSA segment")
    code = _text(msa, 1).upper()
    detail = {"ack_code": code, "control_id": _text(msa, 2)}
    if code in ACCEPTED:
        return CheckResult(UP, latency, detail=detail)
    reason = _text(msa, 3) or _err_text(ack) or "no reason given"
    return CheckResult(DOWN, latency, f"ACK {code or '(empty)'}: {reason}", detail=detail)


def _text(segment: Any, index: int) -> str:
    try:
        return str(segment[index]).strip()
    except IndexError:
        return ""


def _err_text(ack: Any) -> str:
    """ERR-8 (user message) or ERR-7 (diagnostics) of v2.5, else the text of ERR-3 (the HL7
    error code), else ERR-1 (v2.3's error code and location)."""
    try:
        err = ack.segment("ERR")
    except KeyError:
        return ""
    message = _text(err, 8) or _text(err, 7)
    if message:
        return message
    try:
        code_text = str(err[3][0][1]).strip()
    except (IndexError, TypeError):
        code_text = ""
    return code_text or _text(err, 1).replace("^", " ").replace("&", " ").strip()
