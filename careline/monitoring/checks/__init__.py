"""Checks: one probe of one target, for each monitor kind that CareLine polls.

`run_check(kind, config, timeout_s)` is the only entry point the engine needs. It never
raises: a target that refuses, hangs, resets, answers garbage or presents a bad certificate
gives a `CheckResult` with status "down" and a plain sentence in `error`. It enforces the
timeout itself and never blocks the event loop: HTTP, TCP, TLS, DNS, PostgreSQL and MLLP use
native asyncio; PyMySQL and pynetdicom run in a thread pool of their own (see `_net`), with
the remaining time passed to the library so the thread ends soon after the check does.

Each kind lives in its own module exposing `async def check(config, timeout_s) -> CheckResult`.
`close()` releases the shared HTTP connection pools of the running event loop; the engine
calls it when it stops. `trust_ca_file(path)` adds a CA (the hospital's internal CA) to the
operating system's trust store for http, tls and fhir checks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from careline.monitoring.checks import (
    dicom,
    dns,
    fhir,
    hl7,
    http,
    mysql,
    postgres,
    tcp,
    tls,
)
from careline.monitoring.checks._net import close_clients, describe, trust_ca_file
from careline.monitoring.checks.result import DEGRADED, DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import CONFIG_SCHEMAS

__all__ = [
    "DEGRADED",
    "DOWN",
    "POLLED_KINDS",
    "UP",
    "CheckResult",
    "close",
    "run_check",
    "trust_ca_file",
]

log = logging.getLogger("careline.monitoring.checks")

_CHECKS: dict[str, Callable[[Any, float], Awaitable[CheckResult]]] = {
    "http": http.check,
    "tcp": tcp.check,
    "dns": dns.check,
    "tls": tls.check,
    "postgres": postgres.check,
    "mysql": mysql.check,
    "hl7": hl7.check,
    "dicom": dicom.check,
    "fhir": fhir.check,
}

POLLED_KINDS = tuple(_CHECKS)
GRACE_S = 0.25


async def run_check(kind: str, config: BaseModel, timeout_s: float) -> CheckResult:
    """Check one target once; any failure, including the timeout, is a "down" result."""
    started = time.perf_counter()
    probe = _CHECKS.get(kind)
    if probe is None:
        return CheckResult(DOWN, 0.0, f"{kind} monitors are not polled")
    if not isinstance(config, CONFIG_SCHEMAS[kind]):
        return CheckResult(DOWN, 0.0, f"the monitor's config is not a {kind} config")
    try:
        # Each kind enforces `timeout_s` itself and names what it was waiting for; this outer
        # limit, a little later, is the guarantee that holds even if a library ignores it.
        async with asyncio.timeout(timeout_s + GRACE_S):
            return await probe(config, timeout_s)
    except TimeoutError:
        return CheckResult(DOWN, elapsed_ms(started), f"no answer within {timeout_s:g} s")
    except Exception as exc:  # a check must never take the engine down
        log.info("check kind=%s failed: %r", kind, exc)
        return CheckResult(DOWN, elapsed_ms(started), describe(exc))


async def close() -> None:
    """Close the HTTP connection pools opened by checks on the running event loop."""
    await close_clients()
