"""Acknowledge or resolve a page from the message itself: a signed link that expires.

The link names the page, the person it was sent to and the action, signed with the site's
secret key (django.core.signing), so it needs no sign-in and cannot be forged or pointed at
another page; it stops working after CARELINE_ONCALL_ACK_LINK_HOURS. Opening it shows the page
and a button: mail scanners that follow links must not acknowledge a page by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from careline.core.links import absolute_url

_SALT = "careline.oncall.ack"
ACTIONS = ("acknowledge", "resolve")


@dataclass(frozen=True)
class AckClaim:
    page_id: int
    user_id: int
    action: str


class RefusedLink(Exception):
    """The link is forged, damaged or expired; the message says which, for the audit trail."""


def make_token(page_id: int, user_id: int, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS} (got {action!r})")
    return signing.TimestampSigner(salt=_SALT).sign_object(
        {"p": page_id, "u": user_id, "a": action}, compress=True
    )


def make_url(page_id: int, user_id: int, action: str) -> str:
    return absolute_url(f"/oncall/ack/{make_token(page_id, user_id, action)}/")


def read_token(token: str) -> AckClaim:
    max_age = settings.ONCALL_ACK_LINK_HOURS * 3600
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise RefusedLink(f"link expired (older than {settings.ONCALL_ACK_LINK_HOURS} h)") from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise RefusedLink("link signature is not valid") from None
    try:
        claim = AckClaim(page_id=int(value["p"]), user_id=int(value["u"]), action=str(value["a"]))
    except (KeyError, TypeError, ValueError):
        raise RefusedLink("link content is not valid") from None
    if claim.action not in ACTIONS:
        raise RefusedLink("link names an unknown action")
    return claim
