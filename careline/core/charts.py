"""CareLine's charts: pygal, rendered as SVG on the server, in one style everywhere.

Monitoring's latency and uptime charts and the dashboards under /reports/ share this style,
so a figure looks the same wherever it is shown.
"""

from __future__ import annotations

from typing import Any

import pygal  # type: ignore[import-untyped]

# CareLine's blue, green and red first (up, met, breached read the same on every chart),
# then colours that stay apart for the other series (priorities, tiers).
COLORS = ("#1f5f8b", "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037")


def style() -> Any:
    """The style of every CareLine chart: transparent, so it sits on the page's background."""
    return pygal.style.Style(
        background="transparent",
        plot_background="transparent",
        colors=COLORS,
    )
