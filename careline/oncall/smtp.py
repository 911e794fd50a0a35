"""Sending email over SMTP, configured by CARELINE_SMTP_URL.

smtp://user:password@host:587 uses STARTTLS when the server offers it (and requires it
with ?starttls=require); smtps://host:465 is TLS from the first byte; smtp://host:25 with
no credentials is a local relay.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from careline.env import ImproperSetting


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str  # "none", "starttls", "require-starttls" or "implicit"
    username: str = ""
    password: str = ""
    timeout_s: float = 20.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ImproperSetting(
                f"CARELINE_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465 (got scheme {parts.scheme!r})"
            )
        query = parse_qs(parts.query)
        if parts.scheme == "smtps":
            tls = "implicit"
        elif query.get("starttls", [""])[0] == "require":
            tls = "require-starttls"
        elif query.get("starttls", [""])[0] in ("0", "no", "off"):
            tls = "none"
        else:
            tls = "starttls"
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ImproperSetting("CARELINE_SMTP_URL has a port that is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


def open_connection(config: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.tls == "implicit":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout_s, context=context
        )
    else:
        connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
        connection.ehlo()
        if config.tls in ("starttls", "require-starttls") and connection.has_extn("starttls"):
            connection.starttls(context=context)
            connection.ehlo()
        elif config.tls == "require-starttls":
            connection.quit()
            raise smtplib.SMTPException(f"{config.host}:{config.port} does not offer STARTTLS")
    if config.username:
        connection.login(config.username, config.password)
    return connection


def build_message(
    sender: str, to: str, subject: str, body: str, headers: dict[str, str]
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    # Machine-sent: autoresponders stay quiet and CareLine's own intake ignores echoes.
    message["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        message[name] = value
    message.set_content(body)
    return message
