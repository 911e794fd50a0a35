"""dns: a name resolves (at a given server, or the system's), optionally to an expected answer.

`expect` matches an answer when it equals the answer's text, ignoring case, a trailing dot and
TXT quotes, or equals the name at its end (the host of an MX or SRV answer): `expect`
"mail.example.org" matches the MX answer "10 mail.example.org.".
"""

from __future__ import annotations

import time

import dns.asyncresolver
import dns.exception
import dns.resolver

from careline.monitoring.checks.result import DOWN, UP, CheckResult, elapsed_ms
from careline.monitoring.configs import DnsConfig

_system: dns.asyncresolver.Resolver | None = None


def _resolver(config: DnsConfig) -> dns.asyncresolver.Resolver:
    global _system
    if config.server is None:
        if _system is None:
            _system = dns.asyncresolver.Resolver(configure=True)
        return _system
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [config.server]
    resolver.port = config.port
    return resolver


def _normal(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


async def check(config: DnsConfig, timeout_s: float) -> CheckResult:
    where = f" at {config.server}:{config.port}" if config.server else ""
    started = time.perf_counter()
    try:
        answer = await _resolver(config).resolve(
            config.name, config.record_type, lifetime=timeout_s, search=False
        )
    except dns.resolver.NXDOMAIN:
        return CheckResult(
            DOWN, elapsed_ms(started), f"{config.name} does not exist (NXDOMAIN){where}"
        )
    except dns.resolver.NoAnswer:
        return CheckResult(
            DOWN, elapsed_ms(started), f"no {config.record_type} record for {config.name}{where}"
        )
    except dns.resolver.LifetimeTimeout:
        return CheckResult(
            DOWN,
            elapsed_ms(started),
            f"no DNS answer for {config.name}{where} within {timeout_s:g} s",
        )
    except dns.resolver.NoNameservers as exc:
        return CheckResult(
            DOWN,
            elapsed_ms(started),
            f"DNS server{where or 's'} failed to answer for {config.name} ({_first_line(exc)})",
        )
    except dns.exception.DNSException as exc:
        return CheckResult(
            DOWN, elapsed_ms(started), f"DNS lookup of {config.name}{where} failed ({exc})"
        )
    latency = elapsed_ms(started)
    answers = [rdata.to_text() for rdata in answer]
    detail = {"answers": answers}
    if config.expect is not None:
        wanted = _normal(config.expect)
        if not any(_normal(a) == wanted or _normal(a).endswith(" " + wanted) for a in answers):
            return CheckResult(
                DOWN,
                latency,
                f"{config.name} {config.record_type} is {', '.join(answers)}, "
                f"expected {config.expect}",
                detail=detail,
            )
    return CheckResult(UP, latency, detail=detail)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
