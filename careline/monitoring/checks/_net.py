"""What the checks share: plain-language errors, TLS trust, HTTP pools and a thread pool."""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import socket
import ssl
import weakref
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

# httpx logs every request at INFO; at a thousand checks a second that drowns the engine's log.
# Check outcomes are recorded as results instead.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Blocking libraries (PyMySQL, pynetdicom) run here rather than in asyncio's default pool,
# which has only a handful of threads on a small server: 50 checks of a hanging PACS must not
# queue behind each other. Each blocking call is given the check's timeout, so a thread is
# held for at most about that long. A check waiting for a free thread counts that wait
# against its timeout, so more than this many stuck database or DICOM checks at once would
# show as timeouts of the others of those kinds (never of http, tcp, dns, tls, hl7 or fhir).
BLOCKING_THREADS = 128
_BLOCKING = concurrent.futures.ThreadPoolExecutor(
    max_workers=BLOCKING_THREADS, thread_name_prefix="check"
)

# A response body is read up to this many bytes; keyword, regex and JSON assertions see at
# most this much, and a 50 MB answer costs no more memory than a 1 MB one.
MAX_BODY_BYTES = 1024 * 1024

_extra_ca_files: list[str] = []
_contexts: dict[bool, ssl.SSLContext] = {}
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bool, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


async def run_blocking(func: Callable[..., T], *args: Any) -> T:
    """Run a blocking call in the checks' thread pool without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_BLOCKING, func, *args)


def trust_ca_file(path: str) -> None:
    """Also trust the CA certificates in `path` (PEM), e.g. the hospital's internal CA.

    The operating system's trust store is always trusted; this adds to it for every check
    that verifies certificates (http, tls, fhir).
    """
    if path not in _extra_ca_files:
        _extra_ca_files.append(path)
        if True in _contexts:
            _contexts[True].load_verify_locations(cafile=path)


def tls_context(verify: bool) -> ssl.SSLContext:
    """The client TLS context for checks: the system's trust store plus any added CA."""
    context = _contexts.get(verify)
    if context is None:
        if verify:
            context = ssl.create_default_context()
            for path in _extra_ca_files:
                context.load_verify_locations(cafile=path)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        _contexts[verify] = context
    return context


def http_client(verify: bool) -> httpx.AsyncClient:
    """The shared HTTP client of the running event loop for checks with or without TLS checks.

    Every check opens a new connection, as a new user of the system would, so a server that
    stopped accepting connections is noticed and connect time is part of the latency; it also
    keeps the pool small (httpx's pool grows costly with many idle connections to one host).
    The pool has no overall cap: the engine bounds how many checks run at once, and a cap here
    would let checks of a hanging server hold every slot and stall the others. Proxy variables
    from the environment are ignored: checks measure the path from CareLine to the system.
    """
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    client = per_loop.get(verify)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            verify=tls_context(verify),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
            # Each check stands alone: no cookie set by one target is sent on a later check.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": "CareLine-monitor/1"},
        )
        per_loop[verify] = client
    return client


async def close_clients() -> None:
    """Close the running loop's HTTP clients (when the engine stops, or after a test)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        await client.aclose()


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe(exc: BaseException, target: str = "") -> str:
    """A plain sentence for a failed connection: refused, reset, timed out, bad certificate."""
    at = f" {target}" if target else ""
    by = f" by {target}" if target else ""
    chain = _chain(exc)
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or str(cause)
            return f"TLS certificate of{at or ' the server'} not accepted: {reason}"
    for cause in chain:
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with{at or ' the server'} failed: {cause.reason or cause}"
        if isinstance(cause, socket.gaierror):
            return f"host name of{at or ' the target'} not found ({cause.strerror})"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused{by}"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset{by}"
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return f"no answer from{at or ' the target'} in time"
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"no route to{at or ' the target'} ({cause.strerror})"
        if isinstance(cause, asyncio.IncompleteReadError | EOFError):
            return f"connection closed{by} before a complete answer"
    for cause in chain:
        if isinstance(cause, httpx.RemoteProtocolError):
            text = str(cause) or "not a valid HTTP answer"
            if "disconnected" in text.lower():
                return f"connection closed{by} without an answer"
            return f"not a valid HTTP answer from{at or ' the server'} ({text})"
        if isinstance(cause, httpx.ConnectError):
            return f"could not connect to{at or ' the target'} ({cause})"
        if isinstance(cause, httpx.ReadError | httpx.WriteError):
            return f"connection to{at or ' the target'} broken ({cause or 'reset'})"
    text = str(exc) or type(exc).__name__
    return f"{text}{' (' + target + ')' if target else ''}"
