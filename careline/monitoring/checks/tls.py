"""tls: the certificate's chain and name are valid, and it does not expire within warn_days.

The value carried is the number of days until the certificate expires (negative once expired).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any

from cryptography import x509
from django.utils import timezone

from careline.monitoring.checks._net import describe, tls_context
from careline.monitoring.checks.result import DEGRADED, DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import TlsConfig


async def check(config: TlsConfig, timeout_s: float) -> CheckResult:
    target = f"{config.host}:{config.port}"
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            der = await _peer_certificate(config, verify=True)
    except TimeoutError:
        return CheckResult(
            DOWN, elapsed_ms(started), f"no TLS handshake with {target} within {timeout_s:g} s"
        )
    except ssl.SSLCertVerificationError as exc:
        latency = elapsed_ms(started)
        reason = exc.verify_message or exc.reason or str(exc)
        # Fetch the certificate again without verifying it, to say when it expires.
        value: float | None = None
        detail: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                value, detail = _describe(await _peer_certificate(config, verify=False))
        return CheckResult(
            DOWN,
            latency,
            f"certificate of {target} not valid: {reason}",
            value=value,
            detail=detail,
        )
    except (OSError, ssl.SSLError) as exc:
        return CheckResult(DOWN, elapsed_ms(started), describe(exc, target))
    latency = elapsed_ms(started)
    days, detail = _describe(der)
    if days <= config.warn_days:
        return CheckResult(
            DEGRADED,
            latency,
            f"certificate of {target} expires in {days:.0f} days ({detail['not_after'][:10]})",
            value=days,
            detail=detail,
        )
    return CheckResult(UP, latency, value=days, detail=detail)


async def _peer_certificate(config: TlsConfig, verify: bool) -> bytes:
    """The server's certificate (DER) after a TLS handshake."""
    _, writer = await asyncio.open_connection(
        config.host, config.port, ssl=tls_context(verify), server_hostname=config.host
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der: bytes | None = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise ssl.SSLError("the server sent no certificate")
        return der
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _describe(der: bytes) -> tuple[float, dict[str, Any]]:
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    days = round((not_after - timezone.now()).total_seconds() / 86400, 2)
    return days, {
        "not_after": not_after.isoformat(),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
    }
