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
    path = request.path
    # The page's own item is the longest one its path starts with (/oncall/pages/ is
    # "Pages", not also "On call").
    matching = [i.url for i in items if i.url == path or (i.url != "/" and path.startswith(i.url))]
    current = max(matching, key=len, default=None)
    return {
        "nav_items": [{"label": i.label, "url": i.url, "current": i.url == current} for i in items],
        "banners": banners.active(request),
    }
