"""What the current request is, for code far from the view (audit events, log lines)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str = ""
    # Who acts when no user does: "web", "api", "cli", "engine", "demo".
    origin: str = "system"


_NONE = RequestContext()
# The default is frozen, so sharing it is safe.
_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "careline_request", default=_NONE
)


def current() -> RequestContext:
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
