"""The SMTP listener: aiosmtpd in front of `intake.handle_message`.

Recipients are checked at RCPT, so mail for anyone but the desk is never taken in. Size is
capped twice: by aiosmtpd's data_size_limit while the data arrives, and again by the intake.
The ORM is synchronous: each message is handled on the one thread asgiref keeps for
thread-sensitive code, so the listener holds a single database connection. Whatever goes
wrong with one message is logged and answered with a temporary failure; the next message is
served as if nothing had happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from careline.servicedesk.mail import intake
from careline.servicedesk.mail.intake import IntakeSettings, Outcome

log = logging.getLogger("careline.mail")

TEMPORARY_FAILURE = "451 4.3.0 temporary failure"
# An SMTP session left idle this long is closed; RFC 5321 asks servers to wait 5 minutes.
SESSION_TIMEOUT_S = 300.0
# On SIGTERM, messages already being handled get this long to finish.
DRAIN_TIMEOUT_S = 10.0

# (raw message, envelope sender, envelope recipients, peer address) -> what became of it
Process = Callable[[bytes, str, list[str], str], Outcome]


def _peer_host(session: Session) -> str:
    peer: Any = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


def _smtp_line(reply: str) -> str:
    """One ASCII line: an SMTP reply cannot carry a newline, nor UTF-8 unless negotiated."""
    return " ".join(reply.split()).encode("ascii", "replace").decode("ascii")


class DeskHandler:
    """aiosmtpd's handler: the hooks it calls for RCPT and DATA."""

    def __init__(self, config: IntakeSettings, process: Process | None = None) -> None:
        self.config = config
        self.process: Process = process or self._process_with_django
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def _process_with_django(
        self, raw: bytes, mail_from: str, rcpt_tos: list[str], peer: str
    ) -> Outcome:
        # What Django does around each web request: drop a connection that is stale or broken.
        close_old_connections()
        try:
            return intake.handle_message(
                raw, mail_from=mail_from, rcpt_tos=rcpt_tos, config=self.config, peer=peer
            )
        finally:
            close_old_connections()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.config.is_desk_address(address):
            log.warning(
                "mail refused reason=not-to-desk from=%s to=%s peer=%s",
                envelope.mail_from or "<>",
                address,
                _peer_host(session),
            )
            return "550 5.1.1 not a service desk address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content or b""
            raw = (
                content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
            )
        self.in_flight += 1
        self._idle.clear()
        try:
            outcome = await sync_to_async(self.process, thread_sensitive=True)(
                raw, envelope.mail_from or "", list(envelope.rcpt_tos), _peer_host(session)
            )
            return _smtp_line(outcome.reply)
        except Exception:
            log.exception(
                "mail failed reason=internal-error from=%s peer=%s",
                envelope.mail_from or "<>",
                _peer_host(session),
            )
            return TEMPORARY_FAILURE
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def handle_exception(self, error: Exception) -> str:
        # Anything aiosmtpd's own command handling raises: answer, log, keep serving.
        log.error("mail failed reason=smtp-error", exc_info=error)
        return TEMPORARY_FAILURE

    async def drain(self, timeout: float) -> bool:
        """Wait for messages being handled to finish; False when some did not in time."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class DeskSMTP(SMTP):
    """aiosmtpd's SMTP session, logging the refusals it makes before any handler hook runs."""

    def __init__(self, handler: DeskHandler, sessions: set[DeskSMTP], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._sessions = sessions

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sessions.discard(self)
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else str(status)
        # aiosmtpd says "552 Error: ..." for a SIZE over the limit at MAIL and for too much
        # data at DATA, and "500 Line too long" for a line over 1,000 octets.
        if text.startswith(("552 Error", "500 Line too long")):
            sender = self.envelope.mail_from if self.envelope is not None else None
            log.warning(
                "mail refused reason=%s from=%s peer=%s reply=%r",
                "too-large" if text.startswith("552") else "line-too-long",
                sender or "-",
                _peer_host(self.session) if self.session is not None else "-",
                text,
            )
        await super().push(status)


async def serve(
    config: IntakeSettings, stop: asyncio.Event, *, handler: DeskHandler | None = None
) -> None:
    """Listen until `stop` is set; then take no more mail and let messages in hand finish."""
    loop = asyncio.get_running_loop()
    handler = handler or DeskHandler(config)
    sessions: set[DeskSMTP] = set()
    hostname = socket.gethostname()

    def session() -> DeskSMTP:
        return DeskSMTP(
            handler,
            sessions,
            data_size_limit=config.max_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            timeout=SESSION_TIMEOUT_S,
            loop=loop,
        )

    server = await loop.create_server(session, host=config.host, port=config.port)
    log.info(
        "mail-intake listening host=%s port=%s desk=%s max_bytes=%s",
        config.host,
        config.port,
        ",".join(sorted(config.desk_addresses)),
        config.max_bytes,
    )
    try:
        await stop.wait()
    finally:
        server.close()
        if not await handler.drain(DRAIN_TIMEOUT_S):
            log.warning("mail-intake stopping with %s message(s) unfinished", handler.in_flight)
        for open_session in list(sessions):
            if open_session.transport is not None:
                open_session.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
        log.info("mail-intake stopped")
