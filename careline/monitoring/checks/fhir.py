"""fhir: `GET [base]/metadata` returns an active CapabilityStatement; its FHIR version is
reported in the detail.

The statement is validated with fhir.resources against the release it declares (R5, R4B for
4.x, STU3 for 3.x). fhir.resources takes seconds to import, so its models are imported on the
first FHIR check rather than when CareLine starts; validation runs in the checks' thread pool.
"""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import httpx
from pydantic import ValidationError

from careline.monitoring.checks._net import describe, http_client, run_blocking
from careline.monitoring.checks.http import read_capped
from careline.monitoring.checks.result import DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import FhirConfig

# A server with many resources publishes a long CapabilityStatement.
MAX_METADATA_BYTES = 16 * 1024 * 1024

_MODULES = {
    "5": "fhir.resources.capabilitystatement",
    "6": "fhir.resources.capabilitystatement",
    "4": "fhir.resources.R4B.capabilitystatement",
    "3": "fhir.resources.STU3.capabilitystatement",
}


async def check(config: FhirConfig, timeout_s: float) -> CheckResult:
    url = config.base_url + "/metadata"
    started = time.perf_counter()
    try:
        async with http_client(True).stream(
            "GET", url, headers={"Accept": "application/fhir+json"}, timeout=timeout_s
        ) as response:
            body, truncated = await read_capped(response, MAX_METADATA_BYTES)
    except httpx.TimeoutException:
        return CheckResult(
            DOWN, elapsed_ms(started), f"no answer from {url} within {timeout_s:g} s"
        )
    except (httpx.HTTPError, OSError) as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, url))
    latency = elapsed_ms(started)
    if response.status_code != 200:
        return CheckResult(DOWN, latency, f"HTTP {response.status_code} from {url}")
    if truncated:
        return CheckResult(DOWN, latency, f"the CapabilityStatement at {url} is over 16 MB")
    try:
        document = json.loads(body)
    except ValueError:
        return CheckResult(DOWN, latency, f"the answer from {url} is not JSON")
    if not isinstance(document, dict) or document.get("resourceType") != "CapabilityStatement":
        kind = document.get("resourceType") if isinstance(document, dict) else None
        return CheckResult(
            DOWN, latency, f"{url} answered {kind or 'something'} instead of a CapabilityStatement"
        )
    version = str(document.get("fhirVersion") or "")
    detail: dict[str, Any] = {"fhir_version": version}
    software = document.get("software")
    if isinstance(software, dict) and software.get("name"):
        detail["software"] = " ".join(
            str(software[k]) for k in ("name", "version") if software.get(k)
        )
    problem = await run_blocking(_validate, document, version)
    if problem:
        return CheckResult(
            DOWN, latency, f"the CapabilityStatement at {url} {problem}", detail=detail
        )
    if document.get("status") != "active":
        return CheckResult(
            DOWN,
            latency,
            f"the CapabilityStatement at {url} is {document.get('status')!r}, not 'active'",
            detail=detail,
        )
    return CheckResult(UP, latency, detail=detail)


def _validate(document: dict[str, Any], version: str) -> str:
    """A phrase saying why `document` is not a valid CapabilityStatement, or ""."""
    module_name = _MODULES.get(version[:1])
    if module_name is None:
        return f"declares an unknown FHIR version {version!r}"
    model = importlib.import_module(module_name).CapabilityStatement
    try:
        model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the document"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return f"is not valid FHIR {version}: {where}: {message}"
    except (ValueError, TypeError) as exc:
        return f"is not valid FHIR {version}: {exc}"
    return ""
