"""Running checks from synchronous tests: each call gets a fresh event loop, closed after."""

from __future__ import annotations

import asyncio
from typing import Any

from careline.monitoring import checks
from careline.monitoring.checks import CheckResult
from careline.monitoring.configs import parse_config


def check(kind: str, raw: dict[str, Any], timeout_s: float = 3.0) -> CheckResult:
    """Validate `raw` as a `kind` config and run one check of it."""
    config = parse_config(kind, raw)

    async def go() -> CheckResult:
        try:
            return await checks.run_check(kind, config, timeout_s)
        finally:
            await checks.close()

    return asyncio.run(go())
