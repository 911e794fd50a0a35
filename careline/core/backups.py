"""CareLine's own backups: one archive holding a copy of the database and a manifest.

`careline backup` copies the live database (SQLite's online backup API, or `pg_dump` in the
snapshot the row counts were taken in) into a zip archive with `manifest.json` beside it.
`careline restore` believes nothing in an archive until it has checked it: the manifest's
format, the copy's SHA-256, the database vendor, the installation that made it, the copy's
own soundness. Only then is the data replaced, and afterwards the audit chain and the row
counts are checked against the manifest.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from psycopg.conninfo import make_conninfo
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import careline
from careline.core import audit
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import AuditEvent
from careline.dbbackends.sqlite3.base import DatabaseWrapper as SqliteWrapper
from careline.env import envsecret

log = logging.getLogger(__name__)

FORMAT: Literal["careline-backup"] = "careline-backup"
FORMAT_VERSION = 1
KNOWN_VERSIONS = (1,)
MANIFEST = "manifest.json"
Vendor = Literal["sqlite", "postgresql"]
CopyName = Literal["careline.sqlite3", "careline.pgdump"]
COPY_NAMES: dict[Vendor, CopyName] = {"sqlite": "careline.sqlite3", "postgresql": "careline.pgdump"}
VENDOR_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_CHUNK = 1 << 20
# libpq connection keywords that may sit in the database OPTIONS (dj-database-url puts sslmode
# and friends there); everything else there is for psycopg alone.
_LIBPQ_OPTIONS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "passfile"} | {
    "connect_timeout",
    "options",
    "application_name",
    "target_session_attrs",
    "service",
}


class DatabaseCopy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: CopyName
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class AuditHead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: int = Field(ge=0)
    head: str = Field(pattern=r"^([0-9a-f]{64})?$")


class Manifest(BaseModel):
    """What `manifest.json` says about the copy beside it (format version 1)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["careline-backup"]
    format_version: int
    careline_version: str
    vendor: Vendor
    created_at: datetime
    installation_id: str = Field(min_length=1)
    # A digest of the encryption key in use, never the key: tells whether the secrets stored
    # in the copy can be read by the installation it is restored into.
    encryption_key_id: str
    database: DatabaseCopy
    tables: dict[str, int]
    audit: AuditHead
    migrations: list[str]


@dataclass(frozen=True)
class CreatedBackup:
    path: Path
    size: int
    sha256: str
    manifest: Manifest


@dataclass(frozen=True)
class VerifiedBackup:
    path: Path
    sha256: str
    manifest: Manifest
    copy: Path
    other_installation: bool
    foreign_key: bool
    newer_migrations_here: list[str]


@dataclass(frozen=True)
class RestoreOutcome:
    chain: audit.VerifyResult
    mismatches: list[tuple[str, int, int | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.intact and not self.mismatches


# --- identity -----------------------------------------------------------------------------


def installation_id() -> str:
    """This installation's id, generated once into the data directory beside its keys."""
    return envsecret("CARELINE_INSTALLATION_ID", Path(settings.DATA_DIR), "installation.id")


def _key_id(key: str) -> str:
    return hashlib.sha256(b"careline-encryption-key-id\0" + key.encode()).hexdigest()[:16]


def _vendor() -> Vendor:
    if connection.vendor == "sqlite":
        return "sqlite"
    if connection.vendor == "postgresql":
        return "postgresql"
    raise CareLineError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")


# --- facts about a database ---------------------------------------------------------------


def careline_tables() -> list[str]:
    """Every table of an installed CareLine model, and the migration record."""
    names = connection.introspection.django_table_names(include_views=False)
    return sorted({*names, "django_migrations"})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Facts:
    tables: dict[str, int]
    audit: AuditHead
    migrations: list[str]


def _facts(cursor: Any, existing: set[str]) -> _Facts:
    """Row counts, audit head and applied migrations, read through a DB-API cursor."""
    counts: dict[str, int] = {}
    for table in careline_tables():
        if table in existing:
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608  (our own table names)
            counts[table] = int(cursor.fetchone()[0])
    audit_table = AuditEvent._meta.db_table
    cursor.execute(f"SELECT hash FROM {_quote(audit_table)} ORDER BY id DESC LIMIT 1")  # noqa: S608
    row = cursor.fetchone()
    cursor.execute("SELECT app, name FROM django_migrations")
    migrations = sorted(f"{app}.{name}" for app, name in cursor.fetchall())
    head = AuditHead(events=counts.get(audit_table, 0), head=row[0] if row else "")
    return _Facts(counts, head, migrations)


# --- files --------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    kb = size / 1024
    return f"{kb:.1f} KB" if kb < 1024 else f"{kb / 1024:.1f} MB"


def default_name() -> str:
    return f"careline-backup-{timezone.now():%Y%m%dT%H%M%SZ}.zip"


def _output_path(output: Path | None) -> Path:
    target = Path.cwd() / default_name() if output is None else output.expanduser()
    if target.is_dir():
        target = target / default_name()
    target = target.absolute()
    if target.exists():
        raise InvalidInput(f"{target} already exists; name another file", field="output")
    if not target.parent.is_dir():
        raise InvalidInput(f"directory {target.parent} does not exist", field="output")
    return target


# --- PostgreSQL tools ---------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> int:
        part = Path(path).parent.parent.name
        return int(part) if part.isdigit() else 0

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    if candidates:
        return candidates[-1]
    raise CareLineError(
        f"{name} was not found on PATH or under /usr/lib/postgresql/*/bin: install the "
        "PostgreSQL client tools (e.g. `apt-get install postgresql-client`)"
    )


def _pg_target() -> tuple[str, dict[str, str]]:
    """The configured database as a libpq connection string, and the password as PGPASSWORD
    (kept out of the command line, which every user of the machine can read)."""
    db = connection.settings_dict
    options = db.get("OPTIONS") or {}
    params: dict[str, Any] = {
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "host": db["HOST"] or None,
        "port": str(db["PORT"]) if db["PORT"] else None,
    }
    params.update({k: str(v) for k, v in options.items() if k in _LIBPQ_OPTIONS})
    env = dict(os.environ)
    if db["PASSWORD"]:
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None}), env


def _run_tool(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


# --- backup -------------------------------------------------------------------------------


def _copy_sqlite(copy: Path) -> _Facts:
    connection.ensure_connection()
    with contextlib.closing(sqlite3.connect(copy)) as target:
        # One step (pages=-1) copies every page inside one read transaction: a consistent
        # snapshot, while the web and the engine go on writing to the WAL.
        connection.connection.backup(target)
        # The copy stands alone: no -wal file beside it when it is archived.
        target.execute("PRAGMA journal_mode=DELETE")
        existing = {
            row[0] for row in target.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        return _facts(target.cursor(), existing)


def _dump_postgresql(copy: Path) -> _Facts:
    dump = pg_tool("pg_dump")
    conninfo, env = _pg_target()
    # The counts and pg_dump read the same exported snapshot, so the manifest describes
    # exactly the data in the dump however busy the database is.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        facts = _facts(cursor, set(connection.introspection.table_names(cursor)))
        flags = ["--format=custom", f"--snapshot={snapshot}", f"--file={copy}", "--no-password"]
        result = _run_tool([dump, *flags, f"--dbname={conninfo}"], env)
    if result.returncode != 0:
        raise CareLineError(f"pg_dump failed: {_last_line(result.stderr)}")
    return facts


def _write_archive(vendor: Vendor, target: Path, partial: Path) -> Manifest:
    name = COPY_NAMES[vendor]
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".careline-backup-") as tmp:
        copy = Path(tmp) / name
        facts = _copy_sqlite(copy) if vendor == "sqlite" else _dump_postgresql(copy)
        manifest = Manifest(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            careline_version=careline.__version__,
            vendor=vendor,
            created_at=timezone.now(),
            installation_id=installation_id(),
            encryption_key_id=_key_id(settings.ENCRYPTION_KEYS[0]),
            database=DatabaseCopy(file=name, sha256=_sha256(copy), size=copy.stat().st_size),
            tables=facts.tables,
            audit=facts.audit,
            migrations=facts.migrations,
        )
        # 0600 from the first byte: the archive holds patient-adjacent data.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(MANIFEST, manifest.model_dump_json(indent=2), zipfile.ZIP_DEFLATED)
            # A custom-format dump is compressed already; a SQLite file is not.
            method = zipfile.ZIP_DEFLATED if vendor == "sqlite" else zipfile.ZIP_STORED
            archive.write(copy, name, method)
    return manifest


def create_backup(output: Path | None = None) -> CreatedBackup:
    """Write the archive under a temporary name, then rename it: a file with the final name
    is always complete."""
    vendor = _vendor()
    target = _output_path(output)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        manifest = _write_archive(vendor, target, partial)
        os.replace(partial, target)
    except (OSError, sqlite3.Error, DatabaseError) as exc:
        raise CareLineError(f"backup failed, no file was written: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    size, digest = target.stat().st_size, _sha256(target)
    with transaction.atomic():
        audit.record(
            "backup.created",
            object_type="backup",
            object_id=target.name,
            summary=f"Backup {target.name} written ({human_size(size)}, sha256 {digest})",
            after={
                "path": str(target),
                "size": size,
                "sha256": digest,
                "vendor": vendor,
                "audit_events": manifest.audit.events,
                "audit_head": manifest.audit.head,
            },
        )
    log.info("backup written path=%s size=%d sha256=%s", target, size, digest)
    return CreatedBackup(target, size, digest, manifest)


# --- checking an archive ------------------------------------------------------------------


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(f"{message}; nothing was changed", field="backup")


def _read_manifest(archive: zipfile.ZipFile) -> Manifest:
    try:
        raw = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise _refuse(f"the archive holds no {MANIFEST}: not a CareLine backup") from None
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError) as exc:
        raise _refuse(f"{MANIFEST} cannot be read ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _refuse(f"{MANIFEST} is not a CareLine backup manifest")
    version = raw.get("format_version")
    if version not in KNOWN_VERSIONS:
        known = ", ".join(str(v) for v in KNOWN_VERSIONS)
        raise _refuse(
            f"manifest format_version {version!r} is not one this CareLine reads ({known}); "
            "was the backup made by a newer CareLine?"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _refuse(f"{MANIFEST} field {where}: {first['msg']}") from None


def _extract(archive: zipfile.ZipFile, name: str, to: Path) -> str:
    """Copy one member out, returning its SHA-256; zip's own CRC catches damage as well."""
    digest = hashlib.sha256()
    try:
        with archive.open(name) as source, to.open("wb") as sink:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                sink.write(chunk)
    except KeyError:
        raise _refuse(f"the archive holds no {name}, which its manifest names") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _refuse(f"{name} in the archive is damaged ({exc})") from None
    except OSError as exc:
        raise _refuse(f"{name} could not be extracted ({exc})") from None
    return digest.hexdigest()


def _check_sqlite_copy(copy: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as db:
            result = [row[0] for row in db.execute("PRAGMA integrity_check")]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise _refuse(f"the database copy is not a sound SQLite database ({exc})") from None
    if result != ["ok"]:
        raise _refuse(f"the database copy fails SQLite's integrity check: {result[0]}")
    if AuditEvent._meta.db_table not in tables:
        raise _refuse("the database copy holds no CareLine audit trail")


def _check_pg_copy(copy: Path) -> None:
    result = _run_tool([pg_tool("pg_restore"), "--list", str(copy)])
    if result.returncode != 0:
        raise _refuse(f"pg_restore cannot read the dump: {_last_line(result.stderr)}")
    if f"TABLE DATA public {AuditEvent._meta.db_table}" not in result.stdout:
        raise _refuse("the dump holds no CareLine audit trail")


def _newer_migrations(manifest: Manifest) -> tuple[list[str], list[str]]:
    """Migrations the backup has and this CareLine lacks, and the reverse."""
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    recorded = set(manifest.migrations)
    return sorted(recorded - known), sorted(known - recorded)


@contextlib.contextmanager
def verified_backup(path: Path, *, allow_other_installation: bool) -> Iterator[VerifiedBackup]:
    """Check an archive from end to end; yield it with the database copy extracted.

    Nothing here writes to the database: a refusal leaves CareLine exactly as it was.
    """
    if not path.exists():
        raise _refuse(f"{path} does not exist")
    if path.is_dir():
        raise _refuse(f"{path} is a directory, not a backup archive")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(
            f"{path} is not a readable backup archive, truncated or damaged ({exc})"
        ) from None
    with archive:
        manifest = _read_manifest(archive)
        here = connection.vendor
        if manifest.vendor != here:
            raise _refuse(
                f"this is a {VENDOR_NAMES[manifest.vendor]} backup and CareLine here runs on "
                f"{VENDOR_NAMES.get(here, here)}; restore it into a CareLine on "
                f"{VENDOR_NAMES[manifest.vendor]}"
            )
        ours = installation_id()
        other = manifest.installation_id != ours
        if other and not allow_other_installation:
            raise _refuse(
                f"this backup was made by another CareLine installation "
                f"({manifest.installation_id[:12]}, this one is {ours[:12]}); to move CareLine "
                "to new hardware, pass --allow-other-installation"
            )
        unknown, missing = _newer_migrations(manifest)
        if unknown:
            raise _refuse(
                f"the backup was made by a newer CareLine (migrations unknown here: "
                f"{', '.join(unknown[:5])}); upgrade CareLine before restoring it"
            )
        workdir = Path(settings.DATA_DIR)
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=workdir, prefix=".careline-restore-") as tmp:
            copy = Path(tmp) / manifest.database.file
            digest = _extract(archive, manifest.database.file, copy)
            if digest != manifest.database.sha256:
                raise _refuse(
                    f"the database copy's SHA-256 is {digest[:16]}…, the manifest says "
                    f"{manifest.database.sha256[:16]}…: the archive was altered or damaged"
                )
            if manifest.vendor == "sqlite":
                _check_sqlite_copy(copy)
            else:
                _check_pg_copy(copy)
            keys = {_key_id(key) for key in settings.ENCRYPTION_KEYS}
            yield VerifiedBackup(
                path=path,
                sha256=_sha256(path),
                manifest=manifest,
                copy=copy,
                other_installation=other,
                foreign_key=manifest.encryption_key_id not in keys,
                newer_migrations_here=missing,
            )


# --- restoring ----------------------------------------------------------------------------


def _restore_sqlite(copy: Path, tables: list[str]) -> dict[str, int | None]:
    """Copy the pages into the live database file with the backup API.

    Chosen over swapping the file: the web and the engine keep their connections and see
    the restored data at their next read, the file keeps its WAL consistent (a replaced file
    under an old -wal would be corrupt), and the copy is one write transaction, so a failure
    half-way leaves the old data whole. CareLine's writers queue on the write lock meanwhile,
    and until the rows are counted, so the counts are the restored data's own.
    """
    wrapper = connections[DEFAULT_DB_ALIAS]
    if not isinstance(wrapper, SqliteWrapper) or wrapper.is_in_memory_db():
        raise CareLineError("restore needs CareLine's SQLite database file, not one in memory")
    wrapper.ensure_connection()
    wrapper._acquire_write_lock()
    try:
        with contextlib.closing(sqlite3.connect(copy)) as source:
            source.backup(wrapper.connection)
        return _live_counts(tables)
    except sqlite3.Error as exc:
        raise CareLineError(f"restore failed, the data is unchanged: {exc}") from None
    finally:
        wrapper._release_write_lock()


def _restore_postgresql(copy: Path, tables: list[str]) -> dict[str, int | None]:
    conninfo, env = _pg_target()
    # A lock wait past this means the web or the engine is mid-transaction: better to stop
    # (nothing is changed) than to queue every request behind the restore.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout=60s".strip()
    connection.close()  # our own session must not hold prepared statements across the swap
    flags = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--no-password"]
    result = _run_tool([pg_tool("pg_restore"), *flags, f"--dbname={conninfo}", str(copy)], env)
    if result.returncode != 0:
        raise CareLineError(
            f"pg_restore failed and its single transaction was rolled back, the data is "
            f"unchanged: {_last_line(result.stderr)} (stop the web and the engine and try again)"
        )
    return _live_counts(tables)


def _live_counts(tables: list[str]) -> dict[str, int | None]:
    existing = set(connection.introspection.table_names())
    counts: dict[str, int | None] = {}
    with connection.cursor() as cursor:
        for table in tables:
            if table not in existing:
                counts[table] = None
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608
            counts[table] = int(cursor.fetchone()[0])
    return counts


def restore(backup: VerifiedBackup) -> RestoreOutcome:
    """Replace the data with the backup's, then check the result against the manifest."""
    manifest = backup.manifest
    replace = _restore_sqlite if manifest.vendor == "sqlite" else _restore_postgresql
    counts = replace(backup.copy, sorted(manifest.tables))
    mismatches = [
        (table, expected, counts[table])
        for table, expected in sorted(manifest.tables.items())
        if counts[table] != expected
    ]
    outcome = RestoreOutcome(audit.verify(), mismatches)
    with transaction.atomic():
        audit.record(
            "backup.restored",
            object_type="backup",
            object_id=backup.path.name,
            summary=(
                f"Backup {backup.path.name} of {manifest.created_at:%Y-%m-%d %H:%M} UTC restored"
                + ("" if outcome.ok else "; the check afterwards FAILED")
            ),
            after={
                "path": str(backup.path),
                "sha256": backup.sha256,
                "created_at": manifest.created_at.isoformat(),
                "installation_id": manifest.installation_id,
                "audit_intact": outcome.chain.intact,
                "count_mismatches": len(mismatches),
            },
        )
    log.info("backup restored path=%s ok=%s", backup.path, outcome.ok)
    return outcome
