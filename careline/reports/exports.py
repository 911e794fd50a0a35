"""Every table CareLine hands out, one way: CSV streamed row by row, PDF printed from HTML.

Views call `csv_response` and `pdf_response` and record the export in the audit trail
themselves (they know what was exported and for whom). This module imports no other
CareLine app, so any app may use it, `core` included, without a cycle.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

# A text cell starting with one of these is run as a formula by spreadsheet programs
# ("=HYPERLINK(...)", "@SUM(...)", "+cmd|..."). Usernames of failed sign-ins, ticket titles
# and vendor names are typed by anyone, so such a cell gets a leading apostrophe, which
# spreadsheets show as text (OWASP's advice for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def csv_cell(value: object) -> str:
    """One value as a CSV cell: ISO 8601 times and dates, yes/no, empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        # A number is never a formula: -3 stays -3.
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write hands the line back, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header line, then one line per row, each already made safe for spreadsheets."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def safe_filename(filename: str) -> str:
    """A filename that cannot break out of the Content-Disposition header."""
    return _UNSAFE_FILENAME.sub("-", filename).strip("-.") or "careline-export"


def csv_response(
    filename: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A CSV download streamed as the rows are read: a year of audit events never sits in
    memory. Pass rows as a generator over `QuerySet.iterator()` for big tables."""
    response = StreamingHttpResponse(
        csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    return response


def render_pdf(html: str) -> bytes:
    """HTML to PDF with WeasyPrint, fetching nothing from the network or the disk: a
    report is one self-contained page, and a URL in it must not make the server fetch it."""
    # Imported here, not at the top: WeasyPrint loads Pango and takes half a second to
    # import, and only PDF downloads need it, not every process that imports this module.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=["data"])
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf


def pdf_response(
    filename: str, template: str, context: dict[str, Any], request: HttpRequest
) -> HttpResponse:
    """A PDF download of `template`, which extends reports/pdf_base.html.

    The context gets `generated_at` and `generated_by` (the signed-in person) unless given;
    the base template prints them with the title and page numbers on every page.
    """
    full = {
        "generated_at": timezone.localtime(),
        "generated_by": getattr(request.user, "display_name", "") or "CareLine",
        **context,
    }
    # Rendered without the request: a printout needs none of the page's menus and banners.
    pdf = render_pdf(render_to_string(template, full))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    return response
