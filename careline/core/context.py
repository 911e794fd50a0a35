from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from careline.core import banners
from careline.core.permissions import Perm, has_perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    perm: Perm | None = None


# Apps append their pages here (in AppConfig.ready) so the menu grows with the product.
NAVIGATION: list[NavItem] = []


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": [], "banners": banners.active(request)}
    items = [NavItem("Home", reverse("core:home"))]
    items += [item for item in NAVIGATION if item.perm is None or has_perm(user, item.perm)]
    current = request.path
    return {
        "nav_items": [
            {
                "label": i.label,
                "url": i.url,
                "current": i.url == current or (i.url != "/" and current.startswith(i.url)),
            }
            for i in items
        ],
        "banners": banners.active(request),
    }
