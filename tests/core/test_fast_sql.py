"""The hot paths' hand-written SQL: compiled-once INSERTs store exactly what a save stores,
and rows.select gives back exactly what the ORM gives, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from careline.core import inserts, rows
from careline.core.models import AuditEvent
from careline.oncall.models import Notification

pytestmark = pytest.mark.django_db


def _notification(key: str, to: str = "ward@example.org") -> Notification:
    return Notification(
        idempotency_key=key,
        channel="email",
        to=to,
        subject="Scanner fixed",
        body="Your ticket INC-000001 is resolved.",
        headers={"Message-ID": f"<{key}@careline.example>"},
        next_attempt_at=timezone.now() + timedelta(minutes=1),
        created_at=timezone.now(),
    )


def _stored(obj: Notification) -> dict[str, object]:
    row = model_to_dict(Notification.objects.get(pk=obj.pk))
    row.pop("id")
    return row


def test_insert_one_stores_what_save_stores_and_sets_the_key() -> None:
    by_save = _notification("by-save")
    by_save.save(force_insert=True)
    # Twice: the first compiles the statement, the second reuses it with new values.
    for key in ("first", "second"):
        quick = _notification(key)
        inserts.insert_one(quick)
        assert quick.pk is not None
        assert not quick._state.adding
        expected = _stored(by_save) | {
            "idempotency_key": key,
            "headers": {"Message-ID": f"<{key}@careline.example>"},
            "next_attempt_at": quick.next_attempt_at,
            "created_at": quick.created_at,
        }
        assert _stored(quick) == expected


def test_insert_one_keeps_json_and_nulls_intact() -> None:
    event = AuditEvent(
        at=timezone.now(),
        actor_name="system",
        action="test.insert",
        summary="quote ' and unicode é",
        before=None,
        after={"nested": [1, "two", None]},
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    inserts.insert_one(event)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.summary, stored.before, stored.after, stored.actor_id) == (
        "quote ' and unicode é",
        None,
        {"nested": [1, "two", None]},
        None,
    )


def test_insert_ignoring_conflicts_skips_rows_already_held() -> None:
    inserts.insert_ignoring_conflicts([_notification("once")])
    # Two rows, one already stored: the other is written, the first is left as it was.
    inserts.insert_ignoring_conflicts(
        [_notification("once", to="someone-else@example.org"), _notification("new")]
    )
    inserts.insert_ignoring_conflicts([_notification("new"), _notification("third")])
    stored = dict(Notification.objects.values_list("idempotency_key", "to"))
    assert stored == {
        "once": "ward@example.org",
        "new": "ward@example.org",
        "third": "ward@example.org",
    }


def test_select_gives_what_the_orm_gives_with_extra_columns() -> None:
    quick = _notification("selected")
    quick.sent_at = timezone.now()
    inserts.insert_one(quick)
    [(found, extra)] = rows.select(
        Notification,
        "FROM oncall_notification n WHERE n.idempotency_key = %s",
        ["selected"],
        table_alias="n",
        extra=["n.attempts + 1"],
    )
    assert extra == (1,)
    by_orm = Notification.objects.get(pk=quick.pk)
    assert model_to_dict(found) == model_to_dict(by_orm)
    assert found.sent_at is not None
    assert found.sent_at.tzinfo is not None  # aware, as the ORM gives it on both databases
    assert found.headers == {"Message-ID": "<selected@careline.example>"}
    assert (
        rows.select(
            Notification, "FROM oncall_notification n WHERE n.id = %s", [-1], table_alias="n"
        )
        == []
    )
