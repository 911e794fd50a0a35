"""Reading a delivery target (a Slack or Teams webhook, a signed JSON receiver) for a send.

Targets are configured elsewhere (careline.oncall.services.targets); their URL and signing
key are stored encrypted, and decrypted here only for the moment of the send.
"""

from __future__ import annotations

from careline.core import crypto
from careline.oncall.channels.base import Refused
from careline.oncall.models import Notification, WebhookTarget


def target_of(notification: Notification) -> WebhookTarget:
    """The message's target, loaded by the dispatcher beforehand (no query here: sends run
    on the event loop)."""
    target = notification.target if notification.target_id is not None else None
    if target is None:
        raise Refused(f"a {notification.channel} message needs a delivery target and has none")
    if not target.active:
        raise Refused(f"delivery target {target.code} is switched off")
    return target


def url_of(target: WebhookTarget) -> str:
    try:
        return crypto.decrypt(target.url_encrypted)
    except ValueError:
        raise Refused(
            f"the URL of delivery target {target.code} cannot be read with the configured keys"
        ) from None


def signing_key_of(target: WebhookTarget) -> str:
    if not target.signing_key_encrypted:
        raise Refused(f"delivery target {target.code} has no signing key")
    try:
        return crypto.decrypt(target.signing_key_encrypted)
    except ValueError:
        raise Refused(
            f"the signing key of delivery target {target.code} cannot be read with the configured keys"
        ) from None
