"""`careline backup` and `careline restore`: a round trip on a real installation, and refusals.

The installation is a scratch database (a clone of the migrated test database, SQLite file or
PostgreSQL database) driven by real `careline` subprocesses. The round trip makes data
through the services, backs up, changes and deletes data (services and raw SQL), restores,
and compares every row of every table with the moment of the backup.

Bad input tried, each of which must be refused with a clear message and change nothing (every
table's row count compared before and after): a truncated archive, a file that is not an
archive, a flipped byte in the database copy (SHA-256 mismatch), a flipped byte in the
compressed archive (zip CRC), no manifest, a manifest of an unknown format version, a
manifest with a field of the wrong type, a backup of another installation (refused without
--allow-other-installation), a backup made by a newer CareLine (a migration unknown here), a
backup of the other database vendor, a path that does not exist, a directory, "no" at the
confirmation, an output file that already exists, and a backup that fails half-way (no file
is left). The refusals run the real command in-process on the test database, posing as the
installation (its data directory, hence its id): every check comes before anything is
touched, so no count may move.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from careline.core import backups
from careline.core.models import AuditEvent
from tests.conftest import Hospital
from tests.processes import database_copy

MAKE_DATA = """
from careline.core import services
from careline.servicedesk.services.lifecycle import add_comment
from careline.servicedesk.services.tickets import TicketDraft, create_ticket

services.create_site(None, code="NORTH", name="Northgate Medical Center", time_zone="America/New_York")
services.create_site(None, code="RIVER", name="Riverside Community Hospital")
services.create_department(None, code="NG-ED", name="Emergency Department", site="NORTH", clinical_area="ed")
services.create_department(None, code="NG-IT", name="Information Technology", site="NORTH", clinical_area="other")
services.create_service(None, code="EHR", name="Electronic health record", tier=1)
maria = services.create_user(None, username="maria", role="requester", department="NG-ED")
priya = services.create_user(None, username="priya", role="agent", department="NG-IT")
services.create_token(None, user=priya, name="prometheus")
for n in range(3):
    ticket = create_ticket(maria, TicketDraft(
        kind="incident", title=f"EHR frozen on bay {n}", description="Cannot chart vitals.",
        department="NG-ED", care_effect="blocked", scope="department", service="EHR"))
    add_comment(priya, ticket.pk, "Looking at it now.")
"""

CHANGE_DATA = """
from careline.core import services
from careline.core.models import User
from careline.servicedesk.services.tickets import TicketDraft, create_ticket

services.create_site(None, code="EAST", name="Eastfield Clinic")
services.create_user(None, username="olive", role="requester", department="NG-ED")
create_ticket(User.objects.get(username="maria"), TicketDraft(
    kind="incident", title="Printer jam", description="Ward printer jammed.",
    department="NG-ED", care_effect="none", scope="person"))
"""

# --- the installation: a scratch database driven by real `careline` processes ---------------


def careline(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "careline.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def _db(env: dict[str, str]) -> Iterator[Any]:
    """A direct connection to the installation's database, as an operator's client would open."""
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            yield conn
        return
    path = Path(env["CARELINE_DATA_DIR"]) / "careline.sqlite3"
    with contextlib.closing(sqlite3.connect(path, timeout=20, isolation_level=None)) as conn:
        yield conn


def _tables(conn: Any, postgres: bool) -> list[str]:
    sql = (
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        if postgres
        else "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return sorted(row[0] for row in conn.execute(sql).fetchall())


def rows_of(env: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    postgres = "DATABASE_URL" in env
    with _db(env) as conn:
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)  # noqa: S608
            for table in _tables(conn, postgres)
        }


@dataclass
class Installation:
    env: dict[str, str]
    data_dir: Path
    archive: Path
    output: str
    rows_at_backup: dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def installation(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str
) -> Iterator[Installation]:
    """Started from the migrated test database (tests/processes.py): running every migration
    in a subprocess would cost more than this whole file may take."""
    tmp = tmp_path_factory.mktemp("backups")
    data_dir = tmp / "data"
    with database_copy(migrated_template, data_dir, "backups") as env:
        made = careline(env, "shell", "-v0", "-c", MAKE_DATA)
        assert made.returncode == 0, made.stderr
        rows = rows_of(env)
        (tmp / "archives").mkdir()
        result = careline(env, "backup", "--output", str(tmp / "archives"))
        assert result.returncode == 0, result.stderr
        (archive,) = (tmp / "archives").iterdir()
        yield Installation(env, data_dir, archive, result.stdout, rows)


# --- the backup -----------------------------------------------------------------------------


def test_backup_is_one_private_archive_describing_the_data(installation: Installation) -> None:
    archive, rows = installation.archive, installation.rows_at_backup
    assert archive.name.startswith("careline-backup-")
    assert archive.name.endswith("Z.zip")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert f"backup written: {archive}" in installation.output
    assert digest in installation.output

    with zipfile.ZipFile(archive) as zf:
        vendor = connection.vendor
        copy_name = backups.COPY_NAMES["sqlite" if vendor == "sqlite" else "postgresql"]
        assert sorted(zf.namelist()) == sorted(["manifest.json", copy_name])
        manifest = json.loads(zf.read("manifest.json"))
        copy = zf.read(copy_name)
    assert manifest["format_version"] == 1
    assert manifest["vendor"] == vendor
    assert manifest["installation_id"] == (installation.data_dir / "installation.id").read_text()
    assert manifest["database"]["sha256"] == hashlib.sha256(copy).hexdigest()
    assert copy.startswith(b"SQLite format 3\0" if vendor == "sqlite" else b"PGDMP")
    # Counts, audit head and migrations describe exactly the data at the time of the backup.
    for table, count in manifest["tables"].items():
        assert len(rows[table]) == count, table
    assert manifest["tables"]["core_user"] == 2
    assert manifest["tables"]["servicedesk_ticket"] == 3
    audit_rows = rows["core_auditevent"]
    assert manifest["audit"]["events"] == len(audit_rows) > 10
    head = max(audit_rows)
    assert manifest["audit"]["head"] in head
    assert "core.0002_audit_append_only" in manifest["migrations"]
    total = sum(manifest["tables"].values())
    assert f"{total} rows in {len(manifest['tables'])} tables" in installation.output
    assert any(
        line.split() == ["servicedesk_ticket", "3"] for line in installation.output.splitlines()
    )

    with _db(installation.env) as conn:
        events = conn.execute(
            "SELECT object_id, after FROM core_auditevent WHERE action = 'backup.created'"
        ).fetchall()
    assert len(events) == 1
    after = events[0][1] if isinstance(events[0][1], dict) else json.loads(events[0][1])
    assert events[0][0] == archive.name
    assert after["sha256"] == digest
    # Only the finished archive: no temporary name and no scratch copy left beside it.
    assert list(archive.parent.iterdir()) == [archive]


# --- the round trip -------------------------------------------------------------------------


def _audit_triggers(env: dict[str, str]) -> set[str]:
    with _db(env) as conn:
        if "DATABASE_URL" in env:
            sql = (
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = 'core_auditevent'::regclass"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_auditevent'"
        return {row[0] for row in conn.execute(sql).fetchall()}


def test_round_trip_brings_back_every_row_and_a_sound_audit_chain(
    installation: Installation,
) -> None:
    env, before = installation.env, installation.rows_at_backup
    triggers = _audit_triggers(env)
    assert len(triggers) == 2

    changed = careline(env, "shell", "-v0", "-c", CHANGE_DATA)
    assert changed.returncode == 0, changed.stderr
    with _db(env) as conn:
        conn.execute("DELETE FROM servicedesk_comment")
        conn.execute("DELETE FROM core_apitoken")
        conn.execute("UPDATE core_site SET name = 'Renamed by mistake' WHERE code = 'NORTH'")
    drifted = rows_of(env)
    for table in ("core_site", "core_user", "servicedesk_ticket", "servicedesk_comment"):
        assert drifted[table] != before[table], table

    # Confirmed at the prompt, as an operator would.
    result = careline(env, "restore", str(installation.archive), stdin="RESTORE\n")
    assert result.returncode == 0, result.stderr
    assert "Type RESTORE to go on" in result.stdout
    assert "audit trail intact" in result.stdout
    assert "row counts match the backup" in result.stdout

    after = rows_of(env)
    assert after.keys() == before.keys()
    for table in before:
        if table != "core_auditevent":
            assert after[table] == before[table], table
    # The chain as it was, and one event more: the restore itself, chained to it.
    audit_before = sorted(before["core_auditevent"])
    audit_after = sorted(after["core_auditevent"])
    assert audit_after[: len(audit_before)] == audit_before
    (restored,) = audit_after[len(audit_before) :]
    assert "backup.restored" in restored

    verify = careline(env, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert f"{len(audit_before) + 1} events verified" in verify.stdout
    # The append-only triggers came back with the table, and they still refuse.
    assert _audit_triggers(env) == triggers
    with _db(env) as conn, pytest.raises((sqlite3.DatabaseError, psycopg.Error)):
        conn.execute("DELETE FROM core_auditevent")


# --- refusals, in-process: the checks run before anything is touched -----------------------


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _restore(*args: str, stdin: str = "") -> str:
    out, old_stdin = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("restore", *args, stdout=out, stderr=io.StringIO())
    finally:
        sys.stdin = old_stdin
    return out.getvalue()


def _rebuild(
    source: Path,
    target: Path,
    manifest: Callable[[dict[str, Any]], Any] | None = None,
    copy: Callable[[bytes], bytes] | None = None,
    drop: str = "",
) -> Path:
    """The same archive with its manifest or database copy altered."""
    with zipfile.ZipFile(source) as zf, zipfile.ZipFile(target, "w") as out:
        for name in zf.namelist():
            data = zf.read(name)
            if name == drop:
                continue
            if name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest(json.loads(data))).encode()
            elif name != "manifest.json" and copy is not None:
                data = copy(data)
            out.writestr(name, data, zipfile.ZIP_DEFLATED)
    return target


def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _with(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(manifest: dict[str, Any]) -> dict[str, Any]:
        return {**manifest, key: value}

    return change


def _with_migration(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(manifest: dict[str, Any]) -> dict[str, Any]:
        return {**manifest, "migrations": [*manifest["migrations"], name]}

    return change


def _other_vendor(manifest: dict[str, Any]) -> dict[str, Any]:
    vendor = "postgresql" if manifest["vendor"] == "sqlite" else "sqlite"
    return {**manifest, "vendor": vendor}


def _truncated(archive: Path, tmp: Path) -> Path:
    target = tmp / "truncated.zip"
    target.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    return target


def _damaged_in_place(archive: Path, tmp: Path) -> Path:
    """A byte flipped inside the compressed database copy, as a bad disk would."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = next(i for i in zf.infolist() if i.filename != "manifest.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    target = tmp / "damaged.zip"
    target.write_bytes(bytes(data))
    return target


Bad = Callable[[Path, Path], Path]
BAD_INPUT: list[tuple[str, Bad, str]] = [
    ("truncated", _truncated, "not a readable backup archive, truncated or damaged"),
    ("not an archive", lambda a, t: _write(t / "notes.zip", b"shift notes\n"), "not a readable"),
    (
        "flipped byte in the copy",
        lambda a, t: _rebuild(a, t / "flipped.zip", copy=_flip_middle),
        "the database copy's SHA-256 is",
    ),
    ("flipped byte in the archive", _damaged_in_place, "in the archive is damaged"),
    (
        "no manifest",
        lambda a, t: _rebuild(a, t / "bare.zip", drop="manifest.json"),
        "the archive holds no manifest.json",
    ),
    (
        "unknown format version",
        lambda a, t: _rebuild(a, t / "v99.zip", manifest=_with("format_version", 99)),
        "manifest format_version 99 is not one this CareLine reads",
    ),
    (
        "manifest field of the wrong type",
        lambda a, t: _rebuild(a, t / "typed.zip", manifest=_with("tables", "all of them")),
        "manifest.json field tables",
    ),
    (
        "another installation",
        lambda a, t: _rebuild(a, t / "other.zip", manifest=_with("installation_id", "elsewhere")),
        "made by another CareLine installation .* pass --allow-other-installation",
    ),
    (
        "made by a newer CareLine",
        lambda a, t: _rebuild(a, t / "newer.zip", manifest=_with_migration("core.9999_future")),
        r"made by a newer CareLine \(migrations unknown here: core.9999_future\)",
    ),
    (
        "the other database vendor",
        lambda a, t: _rebuild(a, t / "vendor.zip", manifest=_other_vendor),
        "backup and CareLine here runs on",
    ),
    ("a path that does not exist", lambda a, t: t / "nowhere.zip", "nowhere.zip does not exist"),
    ("a directory", lambda a, t: t, "is a directory, not a backup archive"),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def here(installation: Installation, settings: Any, hospital: Hospital) -> Installation:
    """This process plays the installation (its id, its data directory) on the test database."""
    settings.DATA_DIR = installation.data_dir
    return installation


def _leftovers(data_dir: Path) -> list[str]:
    return [p.name for p in data_dir.iterdir() if p.name.startswith(".careline-restore-")]


@pytest.mark.parametrize(("case", "bad", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_refused_and_changes_nothing(
    here: Installation, tmp_path: Path, case: str, bad: Bad, message: str
) -> None:
    path = bad(here.archive, tmp_path)
    before = _counts()
    with pytest.raises(CommandError, match=message) as refused:
        _restore(str(path), "--yes")
    assert "nothing was changed" in str(refused.value)
    assert _counts() == before
    assert _leftovers(here.data_dir) == []


def test_no_at_the_prompt_changes_nothing(here: Installation) -> None:
    before = _counts()
    with pytest.raises(CommandError, match="restore cancelled"):
        _restore(str(here.archive), stdin="no\n")
    assert _counts() == before
    assert not AuditEvent.objects.filter(action="backup.restored").exists()
    assert _leftovers(here.data_dir) == []


def test_another_installation_passes_with_the_flag_and_every_other_check_still_holds(
    here: Installation, tmp_path: Path
) -> None:
    other = _rebuild(
        here.archive,
        tmp_path / "moved.zip",
        manifest=_with("installation_id", "old-server"),
        copy=_flip_middle,
    )
    before = _counts()
    with pytest.raises(CommandError, match="SHA-256"):
        _restore(str(other), "--yes", "--allow-other-installation")
    assert _counts() == before


def test_a_backup_never_overwrites_a_file(here: Installation, tmp_path: Path) -> None:
    existing = _write(tmp_path / "monday.zip", b"last week's backup")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "--output", str(existing), stdout=io.StringIO())
    assert existing.read_bytes() == b"last week's backup"


def test_a_backup_that_fails_half_way_leaves_no_file(
    here: Installation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    # The copy is made; writing it into the archive fails, as a full disk would.
    monkeypatch.setattr(zipfile.ZipFile, "write", disk_full)
    monkeypatch.setattr(backups, "_copy_sqlite", _fake_copy)
    monkeypatch.setattr(backups, "_dump_postgresql", _fake_copy)
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=r"backup failed, no file was written: .*No space left"):
        call_command("backup", "--output", str(tmp_path), stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []
    assert AuditEvent.objects.count() == events


def _fake_copy(copy: Path) -> Any:
    copy.write_bytes(os.urandom(4096))
    return backups._Facts({}, backups.AuditHead(events=0, head=""), [])
