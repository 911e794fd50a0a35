"""Who is calling a view or an API handler."""

from __future__ import annotations

from django.http import HttpRequest

from careline.core.models import User


def signed_in(request: HttpRequest) -> User:
    """The caller, where only signed-in users arrive: the login middleware or the API's
    authentication has already turned everyone else away."""
    user = request.user
    assert isinstance(user, User)
    return user
