"""Slack and Microsoft Teams incoming webhooks.

Slack: `{"text": ...}` (Slack's own escaping of &, < and >, keeping its mention sequences such
as <@U024BE7LH> and <!here>). Teams: a message carrying one Adaptive Card with the subject as
its title and the text below, the format Teams' Workflows webhooks take.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from django.conf import settings

from careline.oncall.channels.base import Outcome, Refused, post
from careline.oncall.channels.targets import target_of, url_of
from careline.oncall.models import Channel, Notification

# <@U024BE7LH>, <!here>, <#C024BE7LB>: Slack's mentions, left as they are.
_SLACK_SPECIAL = re.compile(r"(<[@!#][^<>\s]+>)")


def slack_escape(text: str) -> str:
    parts = _SLACK_SPECIAL.split(text)
    return "".join(
        part
        if _SLACK_SPECIAL.fullmatch(part)
        else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


def _names_subject(notification: Notification) -> bool:
    """Whether the text's first line already says the subject (perhaps after a mention)."""
    return notification.subject in notification.body.split("\n", 1)[0]


def _text(notification: Notification) -> str:
    if _names_subject(notification):
        return notification.body
    return f"{notification.subject}\n\n{notification.body}"


def slack_payload(notification: Notification) -> dict[str, Any]:
    return {"text": slack_escape(_text(notification))}


def teams_payload(notification: Notification) -> dict[str, Any]:
    body = notification.body
    if body.split("\n", 1)[0] == notification.subject:
        # The card's title says it already.
        body = body[len(notification.subject) :].lstrip("\n")
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": notification.subject, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": body, "wrap": True},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


async def send(client: httpx.AsyncClient, notification: Notification) -> Outcome:
    try:
        url = url_of(target_of(notification))
    except Refused as exc:
        return Outcome.failed(notification, f"refused: {exc}", permanent=True)
    payload = (
        slack_payload(notification)
        if notification.channel == Channel.SLACK
        else teams_payload(notification)
    )
    return await post(
        client,
        notification,
        url,
        headers={},
        json=payload,
        timeout_s=float(settings.OUTBOX_SEND_TIMEOUT_S),
    )
