"""Phone numbers, read with the `phonenumbers` library and kept in E.164 form (+15551230000)."""

from __future__ import annotations

import phonenumbers


def to_e164(number: str, region: str | None = None, *, strict: bool = True) -> str | None:
    """The number in E.164 form, or None when it cannot be one. A national number is read in
    `region` (none: only international numbers); strict asks for a number that exists in its
    country's plan, not just one of a possible length."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    usable = (
        phonenumbers.is_valid_number(parsed) if strict else phonenumbers.is_possible_number(parsed)
    )
    if not usable:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
