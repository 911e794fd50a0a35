"""The audit trail: chained, append-only in the database, verifiable, and itself audited."""

from __future__ import annotations

import csv
import io
import itertools
import subprocess
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from careline.core import audit
from careline.core.models import AuditEvent
from tests.conftest import PASSWORD, Hospital


def _drop_triggers() -> None:
    """What an attacker with DDL rights could do; the hash chain must still tell."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER core_auditevent_no_change ON core_auditevent")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
            cursor.execute("DROP TRIGGER core_auditevent_no_delete")


def _verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_each_event_is_chained_to_the_one_before(hospital: Hospital) -> None:
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) > 10
    assert events[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert audit.compute_hash(after) == after.hash


def test_verify_passes_on_an_untouched_trail(hospital: Hospital) -> None:
    code, out, _ = _verify()
    assert code == 0
    assert f"{AuditEvent.objects.count()} events verified" in out


@pytest.mark.parametrize(
    "statement",
    ["UPDATE core_auditevent SET summary = 'nothing to see'", "DELETE FROM core_auditevent"],
)
def test_the_database_refuses_update_and_delete(hospital: Hospital, statement: str) -> None:
    count = AuditEvent.objects.count()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.count() == count
    assert _verify()[0] == 0


def test_the_orm_cannot_change_an_event_either(hospital: Hospital) -> None:
    event = AuditEvent.objects.order_by("id").first()
    assert event is not None
    event.summary = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="TRUNCATE is PostgreSQL's")
def test_postgres_refuses_truncate(hospital: Hospital) -> None:
    with connection.cursor() as cursor:
        # Django's foreign keys are deferred; settle them so TRUNCATE meets only our trigger.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE core_auditevent CASCADE")


def test_an_altered_row_is_found_and_named(hospital: Hospital) -> None:
    target = AuditEvent.objects.order_by("id")[5]
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET summary = %s WHERE id = %s",
            ["Account created with role admin", target.pk],
        )
    code, _, err = _verify()
    assert code == 1
    assert f"BROKEN at event {target.pk}" in err
    assert "altered" in err
    assert "5 events before it verified" in err


def test_a_removed_row_is_found_at_the_event_after_it(hospital: Hospital) -> None:
    events = list(AuditEvent.objects.order_by("id")[:8])
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [events[3].pk])
    code, _, err = _verify()
    assert code == 1
    assert f"BROKEN at event {events[4].pk}" in err
    assert "removed or inserted" in err


def test_a_rehashed_row_still_breaks_the_next_link(hospital: Hospital) -> None:
    """Recomputing the altered row's own hash is not enough: the next row points at the old one."""
    events = list(AuditEvent.objects.order_by("id")[:4])
    target = events[1]
    target.summary = "forged"
    target.hash = audit.compute_hash(target)
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET summary = %s, hash = %s WHERE id = %s",
            [target.summary, target.hash, target.pk],
        )
    code, _, err = _verify()
    assert code == 1
    assert f"BROKEN at event {events[2].pk}" in err


def test_concurrent_style_appends_keep_one_line(hospital: Hospital) -> None:
    for i in range(50):
        audit.record(
            "test.event",
            summary=f"event {i}",
            after={"i": i, "nested": {"b": [1, 2.5, None], "a": "ü"}},
        )
    assert _verify()[0] == 0
    assert AuditEvent.objects.filter(prev_hash=audit.GENESIS).count() == 1


def test_a_batch_appends_its_events_at_its_end_in_order(hospital: Hospital) -> None:
    before = AuditEvent.objects.count()
    with transaction.atomic():
        with audit.batch():
            audit.record("test.first", summary="one")
            with audit.batch():  # an inner batch joins the outer one
                audit.record("test.second", summary="two")
            assert AuditEvent.objects.count() == before  # nothing written yet
            audit.record("test.third", summary="three", after={"n": 3})
        events = list(AuditEvent.objects.order_by("-id")[:3])[::-1]
    assert [e.action for e in events] == ["test.first", "test.second", "test.third"]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert _verify()[0] == 0


def test_a_batch_that_fails_writes_nothing(hospital: Hospital) -> None:
    before = AuditEvent.objects.count()

    def failing_change() -> None:
        with transaction.atomic(), audit.batch():
            audit.record("test.lost", summary="never happened")
            raise ValueError("the change fails")

    with pytest.raises(ValueError, match="the change fails"):
        failing_change()
    assert AuditEvent.objects.count() == before
    audit.record("test.after", summary="the chain goes on")
    assert _verify()[0] == 0


# Four writers in threads, each with its own connection, appending at the same moment.
RACING_WRITERS = """
import threading
from django.db import connections, transaction
from careline.core import audit
from careline.core.models import AuditEvent

start = threading.Barrier(4)

def writer(n):
    try:
        start.wait()
        for i in range(25):
            with transaction.atomic(), audit.batch():
                audit.record("test.racing", summary=f"writer {n} event {i}")
                audit.record("test.racing", summary=f"writer {n} event {i} again")
    finally:
        connections.close_all()

threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
parents = list(AuditEvent.objects.values_list("prev_hash", flat=True))
racing = AuditEvent.objects.filter(action="test.racing").count()
print(f"racing={racing} forks={len(parents) - len(set(parents))} intact={audit.verify().intact}")
"""


def test_writers_at_the_same_moment_keep_one_line(db: None, scratch_db_env: dict[str, str]) -> None:
    """Several connections appending at once (web workers, engines), committing for real:
    each takes the chain's lock and reads its end only once it holds the lock, so no two
    events share a parent. (`db` first: the migrated template is copied from this run's test
    database, which must be open when the first test to need it runs.)"""
    done = subprocess.run(
        [sys.executable, "-m", "careline.cli", "shell", "-c", RACING_WRITERS],
        env=scratch_db_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "racing=200 forks=0 intact=True" in done.stdout, done.stdout + done.stderr


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_audit_page_is_for_auditors_and_admins(hospital: Hospital) -> None:
    assert _signed_in(hospital.auditor).get("/audit/").status_code == 200
    assert _signed_in(hospital.admin).get("/audit/").status_code == 200
    for person in (hospital.nurse, hospital.agent, hospital.engineer, hospital.manager):
        response = _signed_in(person).get("/audit/")
        assert response.status_code == 403
        assert b"may not" in response.content
    assert Client().get("/audit/").status_code == 302


def test_audit_page_filters(hospital: Hospital) -> None:
    client = _signed_in(hospital.auditor)
    page = client.get("/audit/", {"action": "department.create"}).content.decode()
    assert "Department NG-ED created" in page
    assert "Site NORTH created" not in page
    page = client.get("/audit/", {"actor": "nobody-at-all"}).content.decode()
    assert "No events match" in page
    bad = client.get("/audit/", {"since": "not a date"})
    assert bad.status_code == 200
    assert "Enter a valid date/time" in bad.content.decode()


def test_csv_export_is_itself_an_event(hospital: Hospital) -> None:
    client = _signed_in(hospital.auditor)
    before = AuditEvent.objects.count()
    response = client.get("/audit/export.csv", {"action": "site."})
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["id", "at", "actor_name", "action"]
    assert {r[3] for r in rows[1:]} == {"site.create"}
    assert len(rows) == 3
    export = AuditEvent.objects.order_by("-id").first()
    assert export is not None
    assert AuditEvent.objects.count() == before + 1
    assert export.action == "audit.export"
    assert export.actor_name == "frank"
    assert export.after == {"filters": {"action": "site."}}


def test_csv_export_neutralises_formulas(hospital: Hospital) -> None:
    Client().post("/login/", {"username": '=HYPERLINK("http://evil")', "password": "x"})
    body = b"".join(
        _signed_in(hospital.auditor)
        .get("/audit/export.csv", {"action": "login.failed"})
        .streaming_content
    ).decode()  # type: ignore[attr-defined]
    assert "'=HYPERLINK" in body


def test_export_is_refused_to_other_roles(hospital: Hospital) -> None:
    before = AuditEvent.objects.count()
    assert _signed_in(hospital.manager).get("/audit/export.csv").status_code == 403
    assert AuditEvent.objects.count() == before


def test_logins_are_events(hospital: Hospital) -> None:
    client = Client()
    client.post("/login/", {"username": "maria", "password": "wrong"})
    client.post("/login/", {"username": "maria", "password": PASSWORD})
    client.post("/logout/")
    actions = list(
        AuditEvent.objects.filter(actor_name="maria")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-3:] == ["login.failed", "login", "logout"]
