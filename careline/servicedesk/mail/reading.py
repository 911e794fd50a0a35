"""Reading an email: parsing, what it is, which ticket it names, its text and files.

Pure functions over the standard library's email package; no database.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import AddressHeader
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.utils.text import get_valid_filename

from careline.servicedesk.services import attachments as attachments_service

AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
NULL_SENDERS = frozenset({"", "<>"})

_NUMBER = r"(?:INC|REQ|SEC)-\d{6,}"
_SUBJECT_NUMBER = re.compile(rf"\b({_NUMBER})\b", re.IGNORECASE)
# CareLine's outbound Message-IDs: <INC-000123.9f1c...@careline.example>
_OUR_MESSAGE_ID = re.compile(rf"^<({_NUMBER})\.[^<>@\s]+@[^<>\s]+>$", re.IGNORECASE)
_MSG_ID = re.compile(r"<[^<>\s]+>")


class MalformedMail(ValueError):
    """A message CareLine cannot read: no sender, or headers the parser gives up on."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str  # already made safe for storage
    content_type: str
    data: bytes

    @property
    def executable(self) -> bool:
        return attachments_service.is_executable(self.filename, self.content_type)


@dataclass(frozen=True)
class ParsedMail:
    sender: str  # the From address, lower case
    subject: str
    message_id: str
    references: tuple[str, ...]  # In-Reply-To first, then References newest first
    body: str
    attachments: tuple[MailAttachment, ...]
    ignore_reason: str  # "" when the message is for a person to read


# --- reading a message ----------------------------------------------------------------------


def parse_mail(raw: bytes) -> ParsedMail:
    """Everything CareLine needs from a message, or MalformedMail saying what is wrong."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        return _read(msg)
    except MalformedMail:
        raise
    except Exception as exc:
        # The email package is lenient, but some broken headers still raise deep inside it.
        raise MalformedMail(f"unreadable message ({type(exc).__name__})") from exc


def _read(msg: EmailMessage) -> ParsedMail:
    if not msg.keys():
        raise MalformedMail("no headers")
    sender = sender_address(msg)
    message_id = " ".join(str(msg.get("Message-ID", "")).split())
    references = [*_MSG_ID.findall(str(msg.get("In-Reply-To", "")))]
    references += reversed(_MSG_ID.findall(str(msg.get("References", ""))))
    return ParsedMail(
        sender=sender,
        subject=" ".join(str(msg.get("Subject", "")).split()),
        message_id=message_id,
        references=tuple(references),
        body=body_text(msg),
        attachments=tuple(attachments(msg)),
        ignore_reason=ignore_reason(msg),
    )


def sender_address(msg: EmailMessage) -> str:
    header = msg.get("From")
    if header is None:
        raise MalformedMail("no From header")
    if not isinstance(header, AddressHeader) or len(header.addresses) != 1:
        raise MalformedMail("the From header must name exactly one address")
    address = header.addresses[0].addr_spec.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise MalformedMail(f"the From address is not an email address (got {address[:80]!r})")
    return address


def ignore_reason(msg: EmailMessage, mail_from: str | None = None) -> str:
    """Why nobody should read this (auto-reply, bounce), or "" when a person wrote it.

    Answering machines must not open tickets: an out-of-office reply to CareLine's own
    notification would otherwise open a ticket, whose acknowledgement draws another reply.
    """
    if mail_from is not None and mail_from.strip() in NULL_SENDERS:
        return "bounce"
    if "Return-Path" in msg and str(msg["Return-Path"]).strip() in NULL_SENDERS:
        return "bounce"
    if msg.get_content_type() == "multipart/report":
        return "bounce"  # delivery status and read receipts
    auto = str(msg.get("Auto-Submitted", "")).split(";")[0].strip().lower()
    if auto and auto != "no":
        return "auto-reply"
    if str(msg.get("Precedence", "")).strip().lower() in AUTO_PRECEDENCE:
        return "auto-reply"
    if "X-Autoreply" in msg or "X-Autorespond" in msg:
        return "auto-reply"
    return ""


def _text_of(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        # An unknown or lying charset: keep what can be read rather than refuse the message.
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def body_text(msg: EmailMessage) -> str:
    """The message's text: the plain part when there is one, else the HTML part as text."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _text_of(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").strip()


class _TextExtractor(HTMLParser):
    BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    )
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCK:
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCK:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML mail: tags dropped, entities decoded, paragraphs kept."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.chunks).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def attachments(msg: EmailMessage) -> list[MailAttachment]:
    """Every attached file, in order; inline parts (pictures in a signature) are not files."""
    found: list[MailAttachment] = []
    _collect(msg, found)
    return found


def _collect(part: MIMEPart, found: list[MailAttachment]) -> None:
    disposition = part.get_content_disposition()
    content_type = part.get_content_type()
    if content_type == "message/rfc822" and disposition != "inline":
        # A forwarded email is kept whole, as an .eml file, not dug into.
        inner = part.get_payload(0)
        data = inner.as_bytes() if isinstance(inner, MIMEPart) else b""
        name = safe_filename(part.get_filename() or "forwarded.eml", content_type, len(found) + 1)
        found.append(MailAttachment(name, content_type, data))
        return
    if part.is_multipart():
        for sub in part.iter_parts():
            _collect(sub, found)
        return
    filename = part.get_filename()
    if disposition == "inline" or (disposition != "attachment" and not filename):
        return  # a body part
    if disposition != "attachment" and "Content-ID" in part:
        return  # a picture the HTML part shows in place (a logo in a signature)
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    found.append(
        MailAttachment(safe_filename(filename, content_type, len(found) + 1), content_type, data)
    )


def safe_filename(raw: str | None, content_type: str, index: int) -> str:
    """A name safe to store and to show: no path, no odd characters, never empty."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Windows drops trailing dots and spaces: "setup.exe." runs as setup.exe.
    name = name.strip().rstrip(". ")
    try:
        name = get_valid_filename(name)
    except SuspiciousFileOperation:
        name = ""
    if not name:
        name = f"attachment-{index}{mimetypes.guess_extension(content_type) or '.bin'}"
    if len(name) > 200:
        suffix = PurePath(name).suffix[:20]
        name = name[: 200 - len(suffix)] + suffix
    return name


# --- what a message is about --------------------------------------------------------------


def number_in_subject(subject: str) -> str | None:
    match = _SUBJECT_NUMBER.search(subject)
    return match.group(1).upper() if match else None


def number_in_references(references: tuple[str, ...] | list[str]) -> str | None:
    """The ticket of the first of CareLine's own Message-IDs this message answers."""
    for message_id in references:
        match = _OUR_MESSAGE_ID.match(message_id)
        if match:
            return match.group(1).upper()
    return None


_WROTE = re.compile(r"^\s*On\s.*\bwrote:\s*$")
_ORIGINAL = "-----Original Message-----"


def strip_quoted(text: str) -> str:
    """The new part of a reply: cut at "On ... wrote:", "-----Original Message-----" or the
    first quoted (">") line. The whole text when cutting would leave nothing (a reply written
    under the quote)."""
    lines = text.splitlines()
    cut = len(lines)
    for i, line in enumerate(lines):
        two = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
        if (
            _WROTE.match(line)
            or (line.lstrip().startswith("On ") and _WROTE.match(two))
            or line.strip().startswith(_ORIGINAL)
            or line.startswith(">")
        ):
            cut = i
            break
    kept = "\n".join(lines[:cut]).strip()
    return kept or text.strip()


def ticket_title(subject: str) -> str:
    title = " ".join(subject.split())
    limit = settings.MAX_TITLE_LENGTH
    if not title:
        return "(no subject)"
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def fit_to_description(text: str, footer: str) -> str:
    """Text plus footer within the description limit: a very long mail is cut, not refused."""
    limit = settings.MAX_DESCRIPTION_LENGTH
    footer = f"\n\n{footer}" if footer else ""
    if len(text) + len(footer) <= limit:
        return text + footer
    marker = "\n\n[message cut: too long for a ticket]"
    return text[: limit - len(footer) - len(marker)].rstrip() + marker + footer
