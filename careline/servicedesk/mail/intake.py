"""One email to the desk: read it, decide what it becomes, and make it so.

A message from a known person becomes a ticket, or a reply on a ticket when its subject names
one ("[INC-000123]") or it answers one of CareLine's own messages (whose Message-IDs are
`<INC-000123.<hex>@<domain>>`). Auto-replies and bounces are accepted and dropped, so the
sending server neither retries nor bounces back; anything else that cannot be used is refused
with an SMTP code and a sentence saying why. Every decision is logged on one greppable line:
`mail <created|commented|ignored|refused> reason=... from=... message_id=... ticket=...`.

Everything here is synchronous and knows nothing of SMTP sessions: the listener calls
`handle_message()` off its event loop, and tests call it directly.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError

from careline.core import requestctx
from careline.core.errors import CareLineError, Forbidden, NotFound
from careline.core.models import User
from careline.env import ImproperSetting, envint, envlist, envstr
from careline.servicedesk.choices import CareEffect, Kind, Scope, Status, Via
from careline.servicedesk.mail.reading import (
    NULL_SENDERS,
    MailAttachment,
    MalformedMail,
    ParsedMail,
    fit_to_description,
    number_in_references,
    number_in_subject,
    parse_mail,
    strip_quoted,
    ticket_title,
)
from careline.servicedesk.models import Attachment, Comment, Ticket
from careline.servicedesk.services import attachments as attachments_service
from careline.servicedesk.services import lifecycle
from careline.servicedesk.services.tickets import TicketDraft, create_ticket, get_visible

log = logging.getLogger("careline.mail")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
DEFAULT_DESK_ADDRESSES = ["servicedesk@localhost"]
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
LARGEST = 100 * 1024 * 1024


@dataclass(frozen=True)
class IntakeSettings:
    """Where the listener listens and what it accepts; every knob a CARELINE_MAIL_* variable."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    desk_addresses: frozenset[str] = frozenset(DEFAULT_DESK_ADDRESSES)
    max_bytes: int = DEFAULT_MAX_BYTES
    # Empty: any sender whose address is an active account's.
    allowed_domains: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls) -> IntakeSettings:
        desk = [a.lower() for a in envlist("CARELINE_MAIL_DESK_ADDRESSES", DEFAULT_DESK_ADDRESSES)]
        if not desk:
            raise ImproperSetting("CARELINE_MAIL_DESK_ADDRESSES must name at least one address")
        for address in desk:
            if address.count("@") != 1 or address.startswith("@") or address.endswith("@"):
                raise ImproperSetting(
                    f"CARELINE_MAIL_DESK_ADDRESSES must hold addresses like servicedesk@hospital.org (got {address!r})"
                )
        domains = [d.lower().lstrip("@") for d in envlist("CARELINE_MAIL_ALLOWED_DOMAINS", [])]
        return cls(
            host=envstr("CARELINE_MAIL_INTAKE_HOST", DEFAULT_HOST),
            port=envint("CARELINE_MAIL_INTAKE_PORT", DEFAULT_PORT, minimum=1, maximum=65535),
            desk_addresses=frozenset(desk),
            max_bytes=envint(
                "CARELINE_MAIL_MAX_BYTES", DEFAULT_MAX_BYTES, minimum=1024, maximum=LARGEST
            ),
            allowed_domains=frozenset(domains),
        )

    def is_desk_address(self, address: str) -> bool:
        return address.strip().strip("<>").lower() in self.desk_addresses


@dataclass(frozen=True)
class Outcome:
    """What became of a message, and the SMTP reply that says so."""

    reply: str  # "250 2.0.0 INC-000123 opened"
    action: str  # created, commented, ignored, refused
    reason: str = ""
    ticket: str = ""
    note: str = ""  # for the log only

    @property
    def code(self) -> int:
        return int(self.reply[:3])


# --- making it so ---------------------------------------------------------------------------


def handle_message(
    raw: bytes, *, mail_from: str, rcpt_tos: list[str], config: IntakeSettings, peer: str = ""
) -> Outcome:
    """Decide what one message becomes and do it, all or nothing. Logs the outcome."""
    token = requestctx.bind(
        requestctx.RequestContext(
            request_id=f"mail-{uuid.uuid4().hex[:24]}", ip=peer[:45], origin="email"
        )
    )
    try:
        outcome, sender, message_id = _handle(raw, mail_from, rcpt_tos, config)
    finally:
        requestctx.reset(token)
    log.log(
        logging.WARNING if outcome.action == "refused" else logging.INFO,
        "mail %s reason=%s from=%s message_id=%s ticket=%s peer=%s%s",
        outcome.action,
        outcome.reason or "-",
        sender or "<>",
        message_id or "-",
        outcome.ticket or "-",
        peer or "-",
        f" note={outcome.note!r}" if outcome.note else "",
    )
    return outcome


def _refused(reply: str, reason: str, note: str = "") -> Outcome:
    return Outcome(reply, "refused", reason, note=note)


def _ignored(reason: str, note: str = "") -> Outcome:
    return Outcome(f"250 2.0.0 accepted; ignored ({reason})", "ignored", reason, note=note)


def _handle(
    raw: bytes, mail_from: str, rcpt_tos: list[str], config: IntakeSettings
) -> tuple[Outcome, str, str]:
    if len(raw) > config.max_bytes:
        reply = f"552 5.3.4 message too large ({len(raw)} bytes; the limit is {config.max_bytes})"
        return _refused(reply, "too-large"), mail_from, ""
    if not any(config.is_desk_address(r) for r in rcpt_tos):
        return _refused("550 5.1.1 not a service desk address", "not-to-desk"), mail_from, ""
    if mail_from.strip() in NULL_SENDERS:
        return _ignored("bounce"), "", ""
    try:
        mail = parse_mail(raw)
    except MalformedMail as exc:
        return _refused(f"550 5.6.0 malformed message: {exc}", "malformed", str(exc)), mail_from, ""
    return _decide(mail, config), mail.sender, mail.message_id


def _decide(mail: ParsedMail, config: IntakeSettings) -> Outcome:
    if mail.ignore_reason:
        return _ignored(mail.ignore_reason)
    domain = mail.sender.rpartition("@")[2]
    if config.allowed_domains and domain not in config.allowed_domains:
        return _refused(
            f"550 5.7.1 mail from {domain} is not accepted by the service desk", "sender-domain"
        )
    user = _account(mail.sender)
    if isinstance(user, Outcome):
        return user
    if _already_taken(mail.message_id):
        return _ignored("duplicate")
    target = reply_target(user, mail)
    try:
        if target.ticket is not None:
            return _reply(user, target.ticket, mail)
        return _open(user, mail, target)
    except IntegrityError:
        # The unique Message-ID constraints: a twin of this message won the race.
        return _ignored("duplicate")
    except Forbidden as exc:
        return _refused(f"550 5.7.1 {exc}", "forbidden", str(exc))
    except CareLineError as exc:
        return _refused(f"550 5.6.0 {exc}", "invalid", str(exc))


def _already_taken(message_id: str) -> bool:
    """A message delivered twice (a retrying server, two listeners) is used once."""
    if not message_id:
        return False
    key = message_id[:300]
    return (
        Comment.objects.filter(message_id=key).exists()
        or Ticket.objects.filter(message_id=key).exists()
    )


def _account(address: str) -> User | Outcome:
    """The one active account with this address, or the refusal that says why not."""
    accounts = list(
        User.objects.filter(email__iexact=address, is_active=True).select_related("department")
    )
    if len(accounts) == 1:
        return accounts[0]
    if not accounts:
        return _refused(
            "550 5.7.1 sender not recognised: write from the address on your CareLine account, or use the portal",
            "unknown-sender",
        )
    return _refused(
        "550 5.7.1 several CareLine accounts share this address; use the portal", "ambiguous-sender"
    )


@dataclass(frozen=True)
class ReplyTarget:
    """The ticket a message names, and whether the sender may add to it."""

    number: str = ""
    ticket: Ticket | None = None
    # "", "does not exist", "is not visible to the sender", "is closed", "was resolved more
    # than N days ago"
    problem: str = ""

    @property
    def note(self) -> str:
        return f"{self.number} {self.problem}" if self.problem else ""


def reply_target(user: User, mail: ParsedMail) -> ReplyTarget:
    """The ticket this message answers: named in the subject, else by a CareLine Message-ID."""
    candidates = [number_in_subject(mail.subject), number_in_references(mail.references)]
    numbers = [n for n in dict.fromkeys(candidates) if n]
    if not numbers:
        return ReplyTarget()
    ids = dict(Ticket.objects.filter(number__in=numbers).values_list("number", "pk"))
    number = next((n for n in numbers if n in ids), None)
    if number is None:
        return ReplyTarget(numbers[0], problem="does not exist")
    try:
        ticket = get_visible(user, ids[number])
    except NotFound:
        # Treated like a new report; the sender is not told the ticket exists.
        return ReplyTarget(number, problem="is not visible to the sender")
    if ticket.status == Status.CLOSED:
        return ReplyTarget(number, problem="is closed")
    if ticket.status == Status.RESOLVED and lifecycle.past_reopening(ticket):
        return ReplyTarget(
            number, problem=f"was resolved more than {settings.REOPEN_DAYS} days ago"
        )
    return ReplyTarget(number, ticket)


def _attachment_footer(files: tuple[MailAttachment, ...]) -> str:
    return "\n".join(f"attachment {f.filename} refused (executable)" for f in files if f.executable)


def _reply(user: User, ticket: Ticket, mail: ParsedMail) -> Outcome:
    text = strip_quoted(mail.body)
    kept = [f for f in mail.attachments if not f.executable]
    footer = _attachment_footer(mail.attachments)
    if not text and kept:
        text = "Sent by email: " + ", ".join(f.filename for f in kept)
    if not text and not footer:
        return _refused("550 5.6.0 the reply has no text", "empty")
    # The requester answering a resolution ("still broken") reopens it, as the portal's
    # "No, still broken" does; anyone else's reply is a comment on it.
    reopen = ticket.status == Status.RESOLVED and ticket.requester_id == user.pk
    with attachments_service.files_in_transaction() as stored:
        comment = lifecycle.add_comment(
            user,
            ticket.pk,
            fit_to_description(text, footer),
            public=True,
            via=Via.EMAIL,
            message_id=mail.message_id,
        )
        for file in kept:
            _store_attachment(user, ticket, comment, file, stored)
        if reopen:
            lifecycle.change_status(user, ticket.pk, Status.IN_PROGRESS)
    if reopen:
        return Outcome(
            f"250 2.0.0 reply added to {ticket.number}, which is open again",
            "commented",
            "reopened",
            ticket.number,
        )
    return Outcome(f"250 2.0.0 reply added to {ticket.number}", "commented", "reply", ticket.number)


def _open(user: User, mail: ParsedMail, target: ReplyTarget) -> Outcome:
    if user.department is None:
        return _refused("550 5.7.1 no department on your account; use the portal", "no-department")
    notes = []
    # The sender may see the old ticket: say why this one is new.
    if target.problem.startswith(("is closed", "was resolved")):
        notes.append(
            f"Sent as a reply to {target.number}, which {target.problem}: opened as a new ticket."
        )
    footer = "\n".join(filter(None, [*notes, _attachment_footer(mail.attachments)]))
    draft = TicketDraft(
        kind=Kind.INCIDENT,
        title=ticket_title(mail.subject),
        description=fit_to_description(mail.body, footer),
        department=user.department.code,
        care_effect=CareEffect.NONE,
        scope=Scope.PERSON,
        via=Via.EMAIL,
        message_id=mail.message_id,
    )
    with attachments_service.files_in_transaction() as stored:
        ticket = create_ticket(user, draft)
        for file in mail.attachments:
            if not file.executable:
                _store_attachment(user, ticket, None, file, stored)
    reason = "reply-fallback" if target.problem else "new"
    return Outcome(
        f"250 2.0.0 {ticket.number} opened", "created", reason, ticket.number, target.note
    )


def _store_attachment(
    user: User, ticket: Ticket, comment: Comment | None, file: MailAttachment, stored: list[str]
) -> Attachment:
    return attachments_service.add_attachment(
        user,
        ticket,
        comment=comment,
        filename=file.filename,
        content_type=file.content_type,
        data=file.data,
        stored=stored,
        via="email",
    )
