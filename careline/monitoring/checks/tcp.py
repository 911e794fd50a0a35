"""tcp: the port accepts a connection."""

from __future__ import annotations

import asyncio
import contextlib
import time

from careline.monitoring.checks._net import describe
from careline.monitoring.checks.result import DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import TcpConfig


async def check(config: TcpConfig, timeout_s: float) -> CheckResult:
    target = f"{config.host}:{config.port}"
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(config.host, config.port)
    except TimeoutError:
        return CheckResult(
            DOWN, elapsed_ms(started), f"no connection to {target} within {timeout_s:g} s"
        )
    except OSError as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, target))
    latency = elapsed_ms(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return CheckResult(UP, latency)
