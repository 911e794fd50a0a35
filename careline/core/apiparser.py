"""What the API reads from a request, checked before any operation's schema sees it.

Whatever the operation, a request is refused with 422 naming where the value was when it
holds text with a NUL character (PostgreSQL cannot store one, and no name, code or ticket
needs one) or a whole number outside the databases' 64-bit integers (it can identify no
row and be stored in no column); a JSON body nested past any real document is a 400.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

DB_INT_MIN = -(2**63)
DB_INT_MAX = 2**63 - 1
# Deeper than any document CareLine takes (monitor settings nest three or four levels).
MAX_DEPTH = 32

Problem = tuple[tuple[str | int, ...], str]


def first_problem(value: Any, path: tuple[str | int, ...] = ()) -> Problem | None:
    """Where in `value` (keys and indexes) the first unstorable text or number is, and why."""
    if isinstance(value, str):
        return (path, "must not contain NUL characters") if "\x00" in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        if DB_INT_MIN <= value <= DB_INT_MAX:
            return None
        return path, f"must be a whole number from {DB_INT_MIN} to {DB_INT_MAX}"
    if len(path) >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return (*path, key), "must not contain NUL characters (in the name)"
            found = first_problem(item, (*path, key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = first_problem(item, (*path, index))
            if found:
                return found
    return None


def _refuse(problem: Problem, where: str) -> ValidationError:
    path, message = problem
    return ValidationError([{"loc": (where, *path), "msg": message}])


def _depth(value: Any) -> int:
    """How deeply a parsed JSON document nests (iteratively: no recursion to overflow)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


class CheckedParser(Parser):
    """ninja's JSON and query-string parser, refusing what no database can store."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = super().parse_body(request)
        except RecursionError:
            raise HttpError(400, f"body: JSON nested deeper than {MAX_DEPTH} levels") from None
        if _depth(data) > MAX_DEPTH:
            raise HttpError(400, f"body: JSON nested deeper than {MAX_DEPTH} levels")
        problem = first_problem(data)
        if problem:
            raise _refuse(problem, "body")
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            if "\x00" in key:
                raise _refuse(((key,), "must not contain NUL characters (in the name)"), "query")
            problem = first_problem(value, (key,))
            if problem:
                raise _refuse(problem, "query")
        return result
