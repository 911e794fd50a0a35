"""http: status, body keyword or regex, a JSON value, and speed of an HTTP(S) endpoint."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from careline.monitoring.checks._net import MAX_BODY_BYTES, describe, http_client
from careline.monitoring.checks.result import (
    DEGRADED,
    DOWN,
    UP,
    CheckResult,
    elapsed_ms,
    numeric,
)
from careline.monitoring.configs import HttpConfig, parse_json_path

_MISSING = object()


async def check(config: HttpConfig, timeout_s: float) -> CheckResult:
    started = time.perf_counter()
    client = http_client(config.verify_tls)
    try:
        async with client.stream(
            config.method, config.url, headers=config.headers, timeout=timeout_s
        ) as response:
            body, truncated = await read_capped(response)
    except httpx.TimeoutException:
        return CheckResult(
            DOWN, elapsed_ms(started), f"no answer from {config.url} within {timeout_s:g} s"
        )
    except (httpx.HTTPError, OSError) as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, config.url))
    latency = elapsed_ms(started)
    detail: dict[str, Any] = {"status_code": response.status_code}
    if truncated:
        detail["body_truncated"] = True
    if not config.accepts(response.status_code):
        expected = config.expect_status
        wanted = ", ".join(map(str, expected)) if isinstance(expected, list) else str(expected)
        return CheckResult(
            DOWN,
            latency,
            f"HTTP {response.status_code} from {config.url} (expected {wanted})",
            detail=detail,
        )
    problem, value = _assert_body(config, response, body, truncated)
    if problem:
        return CheckResult(DOWN, latency, problem, value=value, detail=detail)
    if config.max_latency_ms is not None and latency > config.max_latency_ms:
        return CheckResult(
            DEGRADED,
            latency,
            f"slow answer from {config.url}: {latency:.0f} ms (limit {config.max_latency_ms} ms)",
            value=value,
            detail=detail,
        )
    return CheckResult(UP, latency, value=value, detail=detail)


async def read_capped(response: httpx.Response, limit: int = MAX_BODY_BYTES) -> tuple[bytes, bool]:
    """The body up to `limit` bytes, and whether there was more (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _assert_body(
    config: HttpConfig, response: httpx.Response, body: bytes, truncated: bool
) -> tuple[str, float | None]:
    """A sentence saying which body assertion failed ("" when all pass), and the JSON value."""
    if config.keyword is not None or config.regex is not None:
        try:
            text = body.decode(response.encoding or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            text = body.decode("utf-8", errors="replace")
        if config.keyword is not None and config.keyword not in text:
            return f"keyword {config.keyword!r} not found in the answer from {config.url}", None
        if config.regex is not None and re.search(config.regex, text) is None:
            return f"no match for regex {config.regex!r} in the answer from {config.url}", None
    if config.json_path is None:
        return "", None
    if truncated:
        return (
            f"the answer from {config.url} is larger than {MAX_BODY_BYTES // 1024} KB; "
            "its JSON was not checked",
            None,
        )
    try:
        document = json.loads(body)
    except ValueError:
        return f"the answer from {config.url} is not JSON", None
    found = lookup(document, parse_json_path(config.json_path))
    if found is _MISSING:
        return f"nothing at JSON path {config.json_path} in the answer from {config.url}", None
    value = numeric(found) if not isinstance(found, str) else None
    if config.json_expect is not None and not _same(found, config.json_expect):
        return (
            f"JSON {config.json_path} is {json.dumps(found)[:200]}, "
            f"expected {json.dumps(config.json_expect)[:200]}",
            value,
        )
    return "", value


def lookup(document: Any, steps: list[str | int]) -> Any:
    """The value at a parsed JSON path, or _MISSING."""
    current = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return _MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return _MISSING
            current = current[step]
    return current


def _same(found: Any, expected: Any) -> bool:
    if isinstance(found, bool) or isinstance(expected, bool):
        return isinstance(found, bool) and isinstance(expected, bool) and found == expected
    if isinstance(found, int | float) and isinstance(expected, int | float):
        return float(found) == float(expected)
    return bool(found == expected)
