"""A dashboard table's charts as inline SVG, drawn by pygal in CareLine's style.

The SVG goes into the page itself (no second request per chart); the numbers it shows are in
the table beside it, which is what a screen reader reads and what the CSV holds.
"""

from __future__ import annotations

from typing import Any

import pygal  # type: ignore[import-untyped]
from django.utils.safestring import SafeString, mark_safe

from careline.core import charts
from careline.reports.dashboards.tables import Chart, Table

KINDS: dict[str, Any] = {
    "bar": pygal.Bar,
    "hbar": pygal.HorizontalBar,
    "line": pygal.Line,
    "stacked": pygal.StackedBar,
}
# Beyond this many rows a chart is unreadable: it shows the first ones (the table has all).
MAX_POINTS = 24


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def render(chart: Chart, table: Table) -> SafeString:
    """The chart as an <svg> element, its title doubling as the accessible name."""
    labels = [str(v) for v in table.column(chart.label)][:MAX_POINTS]
    options: dict[str, Any] = {
        "title": chart.title,
        "style": charts.style(),
        "height": 320,
        "width": 720,
        "x_label_rotation": 20 if chart.kind != "hbar" else 0,
        "disable_xml_declaration": True,
        "show_legend": len(chart.series) > 1,
        "legend_at_bottom": True,
        "print_values": False,
        "no_data_text": "No data for this period",
        "explicit_size": False,
    }
    if chart.max_value is not None:
        options["range"] = (chart.min_value or 0, chart.max_value)
    # No script: pygal would fetch its tooltip script from the internet, and the numbers are
    # in the table beside the chart anyway.
    options["js"] = []
    options["style"].no_data_font_size = 16
    drawn = KINDS[chart.kind](**options)
    drawn.x_labels = labels
    headers = {c.key: c.label for c in table.columns}
    for key in chart.series:
        values = [_number(v) for v in table.column(key)][:MAX_POINTS]
        drawn.add(headers[key], values)
    # pygal escapes labels and titles itself; the SVG is CareLine's own output.
    svg: str = drawn.render(is_unicode=True)
    return mark_safe(svg)  # noqa: S308
