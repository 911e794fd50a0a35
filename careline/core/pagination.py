"""How far into a list the API lets a client page: one bound for every list.

An offset past any real list (a client's bug, or a fuzzer's 10**22) must be a 422 naming
`offset`, never a number the database cannot hold.
"""

from __future__ import annotations

from ninja import Field
from ninja.pagination import LimitOffsetPagination

MAX_OFFSET = 1_000_000


class LimitOffset(LimitOffsetPagination):
    """ninja's limit/offset pagination (NINJA_PAGINATION_CLASS) with the offset bounded."""

    class Input(LimitOffsetPagination.Input):
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
