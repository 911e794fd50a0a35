"""The one way CareLine hands out tables: CSV (streamed, safe to open in a spreadsheet) and
PDF (WeasyPrint, with title, author, time and page numbers, fetching nothing)."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from pypdf import PdfReader

from careline.reports import exports


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "yes"),
        (False, "no"),
        (-3, "-3"),  # a number is never a formula
        (Decimal("-12.50"), "-12.50"),
        (date(2026, 5, 1), "2026-05-01"),
        (datetime(2026, 5, 1, 7, 30, tzinfo=UTC), "2026-05-01T07:30:00+00:00"),
        ("Ward 4", "Ward 4"),
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("a=b", "a=b"),  # only a leading sign is dangerous
    ],
)
def test_cells_are_plain_text_and_never_formulas(value: object, cell: str) -> None:
    assert exports.csv_cell(value) == cell


def test_csv_lines_quote_what_needs_quoting_and_parse_back() -> None:
    rows = [["Maria, RN", 'said "help"', "line\nbreak"], ["=HYPERLINK(1)", None, 7]]
    text = "".join(exports.csv_lines(["who", "what", "n"], rows))
    assert list(csv.reader(io.StringIO(text))) == [
        ["who", "what", "n"],
        ["Maria, RN", 'said "help"', "line\nbreak"],
        ["'=HYPERLINK(1)", "", "7"],
    ]


def test_csv_response_streams_rows_as_they_are_read() -> None:
    """Rows are pulled from the generator while the response is sent, not before."""
    pulled: list[int] = []

    def rows() -> Iterator[list[object]]:
        for n in range(3):
            pulled.append(n)
            yield [n, f"row {n}"]

    response = exports.csv_response("audit trail (all).csv", ["n", "text"], rows())
    assert isinstance(response, StreamingHttpResponse)
    assert pulled == []
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-trail-all-.csv"'
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert pulled == [0, 1, 2]
    assert body.splitlines() == ["n,text", "0,row 0", "1,row 1", "2,row 2"]


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ('evil"; filename="x.exe', "evil-filename-x.exe"),
        ("../../etc/passwd", "etc-passwd"),
        ("report\r\nSet-Cookie: a=b.csv", "report-Set-Cookie-a-b.csv"),
        ("...", "careline-export"),
    ],
)
def test_filenames_cannot_break_the_header(given: str, safe: str) -> None:
    """Quotes, path parts and line breaks in a filename are replaced."""
    assert exports.safe_filename(given) == safe


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(page.extract_text() for page in reader.pages)


def test_pdf_response_prints_title_author_time_and_page_numbers() -> None:
    """A long table runs over several pages; each names the report and its page."""
    request = RequestFactory().get("/")
    request.user = type("Person", (), {"display_name": "Frank Moore"})()  # type: ignore[assignment]
    rows = [[f"ward-{n}", n] for n in range(150)]
    context = {
        "title": "Test printout",
        "report": {"lead": "A table long enough to need three pages.", "summary": []},
        "tables": [
            {
                "table": {
                    "title": "Wards",
                    "total": len(rows),
                    "columns": [{"label": "Ward"}, {"label": "Number"}],
                },
                "rows": rows,
                "cut": False,
            }
        ],
    }
    response = exports.pdf_response(
        "test.pdf", "reports/compliance/report_pdf.html", context, request
    )
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="test.pdf"'
    assert response.content.startswith(b"%PDF-")
    pages, text = _pdf_text(response.content)
    assert pages >= 3
    assert f"Page 1 of {pages}" in text
    assert f"Page {pages} of {pages}" in text
    assert text.count("Test printout") >= pages  # the running title on every page
    assert "by Frank Moore" in text
    assert "ward-149" in text


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"p { display: none; }")

    def log_message(self, *args: Any) -> None:
        return


def test_rendering_a_pdf_fetches_nothing(tmp_path: Any) -> None:
    """A URL in a report (an image, a stylesheet) must not make the server fetch it: that
    would let whoever typed the text reach the hospital's internal network."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "secret.css"
    secret.write_text("p { display: none; }")
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        html = (
            f'<link rel="stylesheet" href="{url}/style.css">'
            f'<link rel="stylesheet" href="file://{secret}">'
            f'<img src="{url}/logo.png"><p>Ward 4</p>'
        )
        pdf = exports.render_pdf(html)
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF-")
    assert _Counting.hits == []
    # Either stylesheet, had it been read, would have hidden the paragraph.
    assert "Ward 4" in _pdf_text(pdf)[1]
