"""Saved views: an agent's named console filters."""

from __future__ import annotations

from django.db import transaction

from careline.core import audit
from careline.core.errors import InvalidInput, NotFound
from careline.core.models import User
from careline.servicedesk.models import SavedView
from careline.servicedesk.services.tickets import require_staff

MAX_NAME = 100
MAX_FILTER_VALUES = 20


def save_view(actor: User, name: str, filters: dict[str, list[str]]) -> SavedView:
    """Keep `filters` under `name`; saving under a name already used replaces its filters."""
    require_staff(actor, "save console views")
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("give the view a name", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"must be at most {MAX_NAME} characters (got {len(name)})", field="name")
    clean = {
        str(key)[:32]: [str(v)[:200] for v in values[:MAX_FILTER_VALUES]]
        for key, values in filters.items()
        if values
    }
    with transaction.atomic():
        view, created = SavedView.objects.update_or_create(
            user=actor, name=name, defaults={"filters": clean}
        )
        audit.record(
            "savedview.create" if created else "savedview.update",
            actor=actor,
            obj=view,
            summary=f"Console view {name!r} saved",
            after={"filters": clean},
        )
    return view


def delete_view(actor: User, view_id: int) -> None:
    """Delete one of the actor's own views; someone else's is answered as not found."""
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(pk=view_id, user=actor).first()
        if view is None:
            raise NotFound(f"you have no saved view {view_id}", field="id")
        audit.record(
            "savedview.delete",
            actor=actor,
            obj=view,
            summary=f"Console view {view.name!r} deleted",
            before={"filters": view.filters},
        )
        view.delete()
