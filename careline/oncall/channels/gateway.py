"""SMS and voice calls through an HTTP gateway (CARELINE_GATEWAY).

"twilio": Twilio's REST API, or any service that speaks it at CARELINE_TWILIO_API_URL.
  SMS:   POST {api}/2010-04-01/Accounts/{SID}/Messages.json, form fields To, From, Body
  voice: POST {api}/2010-04-01/Accounts/{SID}/Calls.json, form fields To, From and
         Twiml=<Response><Say>the message</Say></Response>
  both with HTTP basic authentication SID:auth token.

"http": a POST of JSON to CARELINE_GATEWAY_SMS_URL or CARELINE_GATEWAY_VOICE_URL, built from
  CARELINE_GATEWAY_SMS_TEMPLATE / _VOICE_TEMPLATE: every text value of the template has
  {to}, {from}, {subject}, {body} and {key} replaced (as JSON values, so any text is safe),
  with `Authorization: Bearer CARELINE_GATEWAY_TOKEN` when one is set.

Either way the message's idempotency key travels as the `Idempotency-Key` header.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

import httpx
import phonenumbers
from django.conf import settings

from careline.oncall.channels.base import Outcome, Refused, post
from careline.oncall.models import Channel, Notification

_PLACEHOLDER = re.compile(r"\{(to|from|subject|body|key)\}")


def configured(channel: str) -> bool:
    """Whether messages of this channel can leave now (if not, they wait in the outbox)."""
    if settings.GATEWAY == "twilio":
        return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)
    if settings.GATEWAY == "http":
        url = settings.GATEWAY_SMS_URL if channel == Channel.SMS else settings.GATEWAY_VOICE_URL
        return bool(url)
    return False


def e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise Refused(f"{number!r} is not a phone number in international form (+15551230000)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def twiml(words: str) -> str:
    """What the called person hears, read out by the provider's text-to-speech."""
    return f"<Response><Say>{escape(words)}</Say></Response>"


def fill(template: Any, values: dict[str, str]) -> Any:
    """The template with each placeholder replaced inside its text values (keys too), in one
    pass: a message's text that happens to read "{to}" stays as it was written."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def twilio_request(notification: Notification) -> tuple[str, dict[str, str]]:
    """The URL and form fields Twilio's API expects for this message."""
    base = f"{settings.TWILIO_API_URL}/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}"
    to = e164(notification.to)
    if notification.channel == Channel.VOICE:
        fields = {"To": to, "From": settings.GATEWAY_FROM, "Twiml": twiml(notification.body)}
        return f"{base}/Calls.json", fields
    return f"{base}/Messages.json", {
        "To": to,
        "From": settings.GATEWAY_FROM,
        "Body": notification.body,
    }


def http_request(notification: Notification) -> tuple[str, Any]:
    """The URL and JSON body of the http gateway for this message."""
    voice = notification.channel == Channel.VOICE
    url = settings.GATEWAY_VOICE_URL if voice else settings.GATEWAY_SMS_URL
    template = settings.GATEWAY_VOICE_TEMPLATE if voice else settings.GATEWAY_SMS_TEMPLATE
    values = {
        "to": e164(notification.to),
        "from": settings.GATEWAY_FROM,
        "subject": notification.subject,
        "body": notification.body,
        "key": notification.idempotency_key,
    }
    return url, fill(template, values)


async def send(client: httpx.AsyncClient, notification: Notification) -> Outcome:
    timeout = float(settings.OUTBOX_SEND_TIMEOUT_S)
    try:
        if settings.GATEWAY == "twilio":
            url, form = twilio_request(notification)
            auth = httpx.BasicAuth(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
            return await post(
                client, notification, url, headers={}, data=form, auth=auth, timeout_s=timeout
            )
        url, body = http_request(notification)
    except Refused as exc:
        return Outcome.failed(notification, f"refused: {exc}", permanent=True)
    headers = (
        {"Authorization": f"Bearer {settings.GATEWAY_TOKEN}"} if settings.GATEWAY_TOKEN else {}
    )
    return await post(client, notification, url, headers=headers, json=body, timeout_s=timeout)
