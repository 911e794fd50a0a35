"""Files on tickets: the rules every way in (email, the API, the web) shares."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from careline.core import audit
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import User
from careline.servicedesk.models import Attachment, Comment, Ticket

log = logging.getLogger("careline.attachments")

# Files Windows or a shell would run when opened: never stored.
EXECUTABLE_EXTENSIONS = frozenset(
    {".exe", ".bat", ".cmd", ".com", ".js", ".vbs", ".scr", ".ps1", ".msi", ".jar", ".sh", ".dll"}
)
EXECUTABLE_TYPES = frozenset(
    {"application/x-msdownload", "application/x-msdos-program", "application/x-msi"}
    | {"application/x-sh", "application/x-executable", "application/java-archive"}
)


class TooLarge(CareLineError):
    status = 413


class RefusedType(CareLineError):
    status = 415


def is_executable(filename: str, content_type: str) -> bool:
    return (
        PurePath(filename).suffix.lower() in EXECUTABLE_EXTENSIONS
        or content_type.lower() in EXECUTABLE_TYPES
    )


def check(filename: str, content_type: str, size: int) -> None:
    """Refuse what must not be stored, naming the field and the reason."""
    if not filename.strip():
        raise InvalidInput("the file needs a name", field="file")
    if is_executable(filename, content_type):
        raise RefusedType(f"{filename}: files that can run programs are refused", field="file")
    if size > settings.MAX_ATTACHMENT_BYTES:
        raise TooLarge(
            f"{filename} is {size} bytes; the limit is {settings.MAX_ATTACHMENT_BYTES}",
            field="file",
        )


@contextmanager
def files_in_transaction() -> Iterator[list[str]]:
    """A transaction that also deletes the files stored in it (their names are appended to the
    yielded list) when it rolls back: file storage is not transactional."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            yield stored
    except BaseException:
        for name in filter(None, stored):
            try:
                default_storage.delete(name)
            except OSError:
                log.warning("could not remove orphaned attachment file=%s", name)
        raise


def add_attachment(
    actor: User,
    ticket: Ticket,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    stored: list[str],
    comment: Comment | None = None,
    via: str = "web",
) -> Attachment:
    """One file on a ticket, with its audit event. Call inside files_in_transaction()."""
    check(filename, content_type, len(data))
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        filename=filename[:255],
        content_type=content_type[:100],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor,
        created_at=timezone.now(),
    )
    # Written to storage before the row commits; files_in_transaction() removes it on rollback.
    attachment.file.save(filename, ContentFile(data), save=False)
    stored.append(attachment.file.name or "")
    attachment.save(force_insert=True)
    audit.record(
        "ticket.attachment",
        actor=actor,
        obj=ticket,
        summary=f"{ticket.number} attachment {filename} ({attachment.size} bytes) via {via}",
        after={"attachment_id": attachment.pk, "sha256": attachment.sha256},
    )
    return attachment
