"""`careline restore` when the check after the restore fails: the restored rows do not match
the backup's counts, or the audit chain in the restored data is broken. The restore is reported
as failed (exit status, each mismatch and the broken link named) and the failure is recorded in
the audit trail itself.

The archive checks before a restore are tested in test_backups.py on real archives; here the
restore step itself is played on the test database (a SQLite test database lives in memory,
which `careline restore` refuses, so the copy is not really swapped in): the data "restored" is
the data in place, whose counts and chain are made to disagree with the backup's manifest.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from careline.core import audit, backups
from careline.core.models import AuditEvent, Site
from careline.core.services import create_site


def _manifest(tables: dict[str, int]) -> backups.Manifest:
    return backups.Manifest.model_validate(
        {
            "format": "careline-backup",
            "format_version": 1,
            "careline_version": "test",
            "vendor": "sqlite",
            "created_at": datetime(2026, 12, 4, 2, 0, tzinfo=UTC),
            "installation_id": backups.installation_id(),
            "encryption_key_id": "k",
            "database": {"file": "careline.sqlite3", "sha256": "0" * 64, "size": 1},
            "tables": tables,
            "audit": {"events": AuditEvent.objects.count(), "head": ""},
            "migrations": [],
        }
    )


@pytest.fixture
def restoring(two_sites: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """restoring(tables) → a verified backup whose manifest claims those counts; restoring it
    leaves the data in place (see the module's docstring)."""

    def make(tables: dict[str, int]) -> backups.VerifiedBackup:
        backup = backups.VerifiedBackup(
            path=tmp_path / "careline-backup.zip",
            sha256="0" * 64,
            manifest=_manifest(tables),
            copy=tmp_path / "careline.sqlite3",
            other_installation=False,
            foreign_key=False,
            newer_migrations_here=[],
        )

        @contextlib.contextmanager
        def verified(path: Path, *, allow_other_installation: bool) -> Iterator[Any]:
            yield backup

        monkeypatch.setattr(backups, "verified_backup", verified)
        return backup

    keep = lambda copy, tables: backups._live_counts(tables)  # noqa: E731
    monkeypatch.setattr(backups, "_restore_sqlite", keep)
    monkeypatch.setattr(backups, "_restore_postgresql", keep)
    return make


@pytest.fixture
def two_sites(db: None) -> None:
    """Two sites and their audit events: data whose counts the manifest can disagree with."""
    create_site(None, code="NORTH", name="Northgate Medical Center")
    create_site(None, code="RIVER", name="Riverside Community Hospital")


def _run() -> tuple[str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("restore", "careline-backup.zip", "--yes", stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), ""


def test_counts_that_differ_from_the_backup_fail_the_restore(restoring: Any) -> None:
    sites = Site._meta.db_table
    restoring({sites: 3, AuditEvent._meta.db_table: AuditEvent.objects.count()})
    out, err, failure = _run()
    assert f"row count differs: {sites} backup 3, now 2" in err
    assert "audit trail intact" in out
    assert failure == "the restored data does not match the backup (see above)"
    event = AuditEvent.objects.filter(action="backup.restored").get()
    assert event.summary.endswith("the check afterwards FAILED")
    assert event.after["count_mismatches"] == 1
    assert audit.verify().intact


def test_a_missing_table_is_named(restoring: Any) -> None:
    restoring({"careline_table_gone": 5})
    _out, err, failure = _run()
    assert "row count differs: careline_table_gone backup 5, now no such table" in err
    assert failure


def test_a_broken_audit_chain_in_the_restored_data_fails_the_restore(restoring: Any) -> None:
    # Rows can be added to the audit table but not altered; one added with a made-up hash is
    # what a forger who bypassed CareLine would leave, and the chain no longer holds there.
    forged = AuditEvent(
        at=datetime(2026, 12, 4, 3, 0, tzinfo=UTC),
        actor_name="intruder",
        action="site.create",
        summary="nothing to see",
        prev_hash="f" * 64,
        hash="e" * 64,
    )
    forged.save(force_insert=True)
    restoring({Site._meta.db_table: 2})
    out, err, failure = _run()
    assert f"audit trail BROKEN at event {forged.pk}" in err
    assert "row counts match the backup" in out
    assert failure
    assert AuditEvent.objects.filter(action="backup.restored").get().after["audit_intact"] is False


def test_a_restore_whose_checks_pass_says_so(restoring: Any) -> None:
    restoring({Site._meta.db_table: 2})
    out, err, failure = _run()
    assert failure == ""
    assert "audit trail intact" in out
    assert "row counts match the backup in all 1 tables" in out
    assert err == ""
