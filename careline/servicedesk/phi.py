"""Likely protected health information in free text: warn before submitting, keep it out of
notifications. A heuristic, tuned to catch the usual slips (an MRN, an SSN, a date of birth,
a phone number), not a guarantee; the hospital adds its own MRN format."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings

_PATTERNS: dict[str, str] = {
    "SSN": r"\b\d{3}-\d{2}-\d{4}\b",
    "MRN": r"\b(?:MRN|medical record(?: number| no\.?)?|hospital number)\s*[:#]?\s*[A-Z]{0,3}\d{5,12}\b",
    "date of birth": (
        r"\b(?:DOB|d\.o\.b\.?|date of birth|born)\s*[:#]?\s*"
        r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]{3,9}\s+\d{4}|[A-Za-z]{3,9}\s+\d{1,2},?\s+\d{4})"
    ),
    "phone number": r"(?<![\d-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    def masked(self, text: str) -> str:
        found = text[self.start : self.end]
        return found[:2] + "•" * max(0, len(found) - 2)


@cache
def _compiled(local_mrn: str) -> list[tuple[str, re.Pattern[str]]]:
    patterns = [(kind, re.compile(p, re.IGNORECASE)) for kind, p in _PATTERNS.items()]
    if local_mrn:
        patterns.append(("MRN", re.compile(local_mrn)))
    return patterns


def scan(*texts: str) -> list[Finding]:
    """Every likely PHI match in the given texts (offsets into the texts joined by newlines)."""
    joined = "\n".join(texts)
    findings = [
        Finding(kind, m.start(), m.end())
        for kind, pattern in _compiled(settings.PHI_LOCAL_MRN_PATTERN)
        for m in pattern.finditer(joined)
    ]
    return sorted(findings, key=lambda f: f.start)


def describe(findings: list[Finding]) -> str:
    """ "an MRN and a phone number", for the warning shown before submitting."""
    kinds = sorted({f.kind for f in findings})
    words = [
        ("an " if k[0] in "AEIOUaeiou" or k == "MRN" or k == "SSN" else "a ") + k for k in kinds
    ]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
