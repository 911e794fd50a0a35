"""Domain errors raised by services; the API and views turn them into 4xx answers."""

from __future__ import annotations


class CareLineError(Exception):
    """A request CareLine refuses, with the field at fault and a sentence a person can act on."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(CareLineError):
    status = 422


class NotFound(CareLineError):
    status = 404


class Conflict(CareLineError):
    status = 409


class Forbidden(CareLineError):
    status = 403
