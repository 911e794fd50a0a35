"""Email over SMTP (CARELINE_SMTP_URL; the connection itself is careline.oncall.smtp).

A dispatcher's mail worker keeps its connection for as long as it has messages to send,
because opening one (TLS, login) costs more than sending. Every message carries a Message-ID fixed when it was enqueued (or derived
from its idempotency key), so a message sent again after a crash is the same message to the
receiver. smtplib blocks: the dispatcher runs it on threads of its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import smtplib

from django.conf import settings

from careline.oncall.channels.base import Outcome
from careline.oncall.models import Notification
from careline.oncall.smtp import SmtpConfig, build_message, open_connection


def message_id(notification: Notification) -> str:
    stored = notification.headers.get("Message-ID") if notification.headers else None
    if stored:
        return str(stored)
    digest = hashlib.sha256(notification.idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.MAIL_DOMAIN}>"


def config() -> SmtpConfig | None:
    """The SMTP server, or None: mail then waits in the outbox."""
    if not settings.SMTP_URL:
        return None
    return dataclasses.replace(
        SmtpConfig.from_url(settings.SMTP_URL), timeout_s=float(settings.OUTBOX_SEND_TIMEOUT_S)
    )


def _refusal(exc: smtplib.SMTPException) -> tuple[str, bool]:
    """The server's words, and whether they are final: a 5xx about this message or its
    recipient (no such mailbox, too large) will not change; a 4xx or a lost connection may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        words = "; ".join(
            f"{to}: {code} {answer.decode(errors='replace')}"
            for to, (code, answer) in exc.recipients.items()
        )
        return f"refused: {words}", bool(codes) and all(500 <= c < 600 for c in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        raw = exc.smtp_error
        answer = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        permanent = 500 <= exc.smtp_code < 600
        return f"{'refused: ' if permanent else ''}{exc.smtp_code} {answer}", permanent
    return str(exc) or type(exc).__name__, False


def connect(smtp: SmtpConfig) -> smtplib.SMTP:
    return open_connection(smtp)


def unreachable(smtp: SmtpConfig, exc: BaseException) -> str:
    return f"cannot reach {smtp.host}:{smtp.port}: {exc or type(exc).__name__}"


def send_one(
    connection: smtplib.SMTP, smtp: SmtpConfig, notification: Notification
) -> tuple[Outcome, bool]:
    """Send over an open connection: the outcome, and whether the connection is still good
    (a refusal of this message leaves it so; a dropped connection does not)."""
    headers = dict(notification.headers or {})
    headers["Message-ID"] = message_id(notification)
    message = build_message(
        settings.MAIL_FROM, notification.to, notification.subject, notification.body, headers
    )
    try:
        connection.send_message(message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
        error, permanent = _refusal(exc)
        return Outcome.failed(notification, error, permanent=permanent), True
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome.failed(
            notification, f"{smtp.host}:{smtp.port}: {exc or type(exc).__name__}"
        ), False
    return Outcome.delivered(notification), True


def close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()
