"""Typed readers for CARELINE_* environment variables.

Each reader fails loudly, naming the variable and the bad value, so a typo in a
deployment stops start-up instead of silently falling back to a default.
"""

from __future__ import annotations

import os
import re
import secrets
import zoneinfo
from pathlib import Path


class ImproperSetting(ValueError):
    """A CARELINE_* variable holds a value CareLine cannot use."""


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envfile(name: str) -> str:
    """A path to a readable file, or "" when the variable is unset."""
    raw = os.environ.get(name, "").strip()
    if raw and not (os.path.isfile(raw) and os.access(raw, os.R_OK)):
        raise ImproperSetting(f"{name}={raw!r}: not a readable file")
    return raw


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperSetting(f"{name} must be one of 1/0, true/false, yes/no, on/off (got {raw!r})")


def envint(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperSetting(f"{name} must be a whole number (got {raw!r})") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ImproperSetting(f"{name} must be {bounds} (got {value})")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envtimezone(name: str, default: str) -> str:
    value = os.environ.get(name) or default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperSetting(
            f"{name} must be an IANA time zone such as Europe/London (got {value!r})"
        ) from None
    return value


def envsecret(name: str, data_dir: Path, filename: str, generate: bool = True) -> str:
    """A secret from NAME, or the file named by NAME_FILE, or one generated into the data dir.

    A generated secret is written once with mode 0600 and reused on every later start,
    so sessions and encrypted columns survive a restart.
    """
    value = os.environ.get(name)
    if value:
        return value
    file_var = os.environ.get(f"{name}_FILE")
    if file_var:
        try:
            return Path(file_var).read_text().strip()
        except OSError as exc:
            raise ImproperSetting(f"{name}_FILE names a file that cannot be read: {exc}") from None
    path = data_dir / filename
    if path.exists():
        return path.read_text().strip()
    if not generate:
        raise ImproperSetting(f"{name} is not set and {path} does not exist")
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must not write two different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh)
    return fresh


def envregex(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        re.compile(value)
    except re.error as exc:
        raise ImproperSetting(
            f"{name} must be a regular expression ({exc}; got {value!r})"
        ) from None
    return value
