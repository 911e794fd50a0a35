"""Start-up checks of the delivery settings: a bad value stops CareLine naming the variable.

settings.py reads each variable with careline.env's typed readers and passes what needs more
than a type (a URL, a phone number, a JSON template) through these; nothing here imports
Django, so settings.py may import it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from careline.env import ImproperSetting
from careline.oncall.phones import to_e164

GATEWAYS = ("", "twilio", "http")
# What a gateway template may name; each is replaced inside the template's text values.
PLACEHOLDERS = ("{to}", "{from}", "{subject}", "{body}", "{key}")
_SID = re.compile(r"AC[0-9a-fA-F]{32}")


def choice(name: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        shown = ", ".join(repr(o) for o in options)
        raise ImproperSetting(f"{name} must be one of {shown} (got {value!r})")
    return value


def http_url(name: str, value: str, *, required: bool = False) -> str:
    """An http(s) URL with a host, or "" when allowed to be unset."""
    value = value.strip()
    if not value:
        if required:
            raise ImproperSetting(f"{name} must be set")
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperSetting(
            f"{name} must be an http:// or https:// URL with a host (got scheme {parts.scheme!r})"
        )
    try:
        parts.port  # noqa: B018  (reading it checks that it is a number)
    except ValueError:
        raise ImproperSetting(f"{name} has a port that is not a number") from None
    return value.rstrip("/")


def phone_number(name: str, value: str, *, required: bool = False) -> str:
    """An international number, returned in E.164 form (+441632960961)."""
    value = value.strip()
    if not value:
        if required:
            raise ImproperSetting(f"{name} must be set")
        return ""
    number = to_e164(value, strict=False)
    if number is None:
        raise ImproperSetting(
            f"{name} must be a phone number in international form such as +15551230000 (got {value!r})"
        )
    return number


def twilio_sid(name: str, value: str) -> str:
    if not _SID.fullmatch(value.strip()):
        raise ImproperSetting(
            f"{name} must be a Twilio account SID: AC followed by 32 hexadecimal digits (got {value!r})"
        )
    return value.strip()


def json_template(name: str, value: str) -> dict[str, Any]:
    """A JSON object whose text values may hold the placeholders {to}, {from}, {subject},
    {body} and {key}."""
    try:
        template = json.loads(value)
    except ValueError as exc:
        raise ImproperSetting(f"{name} must be a JSON object ({exc})") from None
    if not isinstance(template, dict):
        raise ImproperSetting(f"{name} must be a JSON object (got {type(template).__name__})")
    if "{to}" not in value:
        raise ImproperSetting(f"{name} must name the recipient with the placeholder {{to}}")
    return template


def require(name: str, value: str, because: str) -> str:
    if not value:
        raise ImproperSetting(f"{name} must be set {because}")
    return value
