"""`careline cmdb import FILE.csv` and `export`: the CMDB as one UTF-8 CSV file.

Columns are the item's fields (services/fields.py ITEM_FIELDS), plus `depends_on`,
`runs_on` and `connects_to` (names of other items, separated by `|`) and `services` (codes of
the clinical services the item is part of, separated by `|`). Only `name` and `item_type` are
required; a column left out leaves that field alone on items that exist already.

The import is all-or-nothing: every row is checked first, and one bad cell anywhere means
nothing is stored and every problem is named by line and column. An item whose name exists
is updated, a new name is created; relationships and service memberships are added.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from careline.cmdb.choices import RelationKind
from careline.cmdb.models import ConfigItem, Relationship, ServiceComponent
from careline.cmdb.services.fields import ITEM_FIELDS, Lookups, check_item, clean_value
from careline.core import audit
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require

LINK_COLUMNS = [k.value for k in RelationKind] + ["services"]
COLUMNS = [*ITEM_FIELDS, *LINK_COLUMNS]
SEPARATOR = "|"
BATCH = 2000
MAX_ERRORS = 200  # a file with more problems than this is reported by its first ones


class CsvRejected(InvalidInput):
    """The file was refused; `errors` names each problem as "line N, column C: what"."""

    def __init__(self, errors: list[str]) -> None:
        shown = "; ".join(errors[:10])
        more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(f"nothing imported: {shown}{more}", field="file")
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    relationships: int = 0
    components: int = 0


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    links: dict[str, list[str]] = field(default_factory=dict)


def decode_utf8(data: bytes) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise CsvRejected(
            [f"line {line}: holds a NUL character (offset {nul}); is this a CSV text file?"]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvRejected(
            [
                f"line {line}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                f"offset {exc.start}); save it as 'CSV UTF-8' and try again"
            ]
        ) from None


def _check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise CsvRejected(["line 1: the file is empty; the first line must name the columns"])
    columns = [h.strip() for h in header]
    errors = [
        f"line 1, column {c!r}: unknown column (known: {', '.join(COLUMNS)})"
        for c in columns
        if c not in COLUMNS
    ]
    errors += [
        f"line 1, column {c!r}: appears more than once"
        for c in set(columns)
        if columns.count(c) > 1
    ]
    errors += [
        f"line 1: required column {c!r} is missing"
        for c in ("name", "item_type")
        if c not in columns
    ]
    if errors:
        raise CsvRejected(errors)
    return columns


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(SEPARATOR) if part.strip()]


def _read(text: str, lookups: Lookups) -> tuple[list[_Row], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _check_header(next(reader, None))
    rows: list[_Row] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            errors.append(f"line {line}: has {len(record)} cells, the header has {len(columns)}")
            continue
        row = _Row(line, {})
        for column, cell in zip(columns, record, strict=True):
            if column in LINK_COLUMNS:
                row.links[column] = _split(cell)
                continue
            try:
                row.values[column] = clean_value(column, cell, lookups)
            except CareLineError as exc:
                errors.append(f"line {line}, column {column}: {exc.message}")
        if "item_type" in row.values:
            try:
                check_item(row.values)
            except CareLineError as exc:
                errors.append(f"line {line}, column {exc.field}: {exc.message}")
        name = row.values.get("name")
        if name is not None and name in first_line:
            errors.append(
                f"line {line}, column name: {name!r} is already on line {first_line[name]}"
            )
        elif name is not None:
            first_line[name] = line
        rows.append(row)
        if len(errors) >= MAX_ERRORS:
            break
    return rows, errors


def _check_links(rows: list[_Row], known: dict[str, int]) -> list[str]:
    in_file = {row.values["name"] for row in rows}
    services = set(ClinicalService.objects.values_list("code", flat=True))
    errors: list[str] = []
    for row in rows:
        for column, names in row.links.items():
            for name in names:
                if column == "services":
                    if name not in services:
                        errors.append(
                            f"line {row.line}, column services: no clinical service has code {name!r}"
                        )
                elif name not in in_file and name not in known:
                    errors.append(
                        f"line {row.line}, column {column}: no item named {name!r} in the file or the CMDB"
                    )
                elif name == row.values["name"]:
                    errors.append(
                        f"line {row.line}, column {column}: an item cannot relate to itself"
                    )
            if len(errors) >= MAX_ERRORS:
                return errors
    return errors


def _batches(objs: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(objs), BATCH):
        yield objs[start : start + BATCH]


def import_items(actor: User | None, data: bytes) -> ImportResult:
    """Check the whole file, then store it all in one transaction, or nothing."""
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    rows, errors = _read(decode_utf8(data), Lookups())
    known = dict(ConfigItem.objects.values_list("name", "pk"))
    if not errors:
        errors = _check_links(rows, known)
    if errors:
        raise CsvRejected(errors)
    result = ImportResult()
    now = timezone.now()
    columns = [c for c in ITEM_FIELDS if c in rows[0].values] if rows else []
    new = [row.values for row in rows if row.values["name"] not in known]
    old = [
        ConfigItem(pk=known[row.values["name"]], updated_at=now, **row.values)
        for row in rows
        if row.values["name"] in known
    ]
    with transaction.atomic():
        _insert_items(new, now)
        update_fields = [c for c in columns if c != "name"] + ["updated_at"]
        for chunk in _batches(old):
            ConfigItem.objects.bulk_update(chunk, update_fields)
        result.created, result.updated = len(new), len(old)
        ids = dict(ConfigItem.objects.values_list("name", "pk"))
        result.relationships, result.components = _store_links(rows, ids)
        audit.record(
            "cmdb.import",
            actor=actor,
            object_type="cmdb.configitem",
            summary=f"CSV import: {result.created} items created, {result.updated} updated, "
            f"{result.relationships} relationships, {result.components} service components",
        )
    return result


def _db_value(value: Any) -> Any:
    """A cleaned value as both databases take it in a plain INSERT."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def _copy_rows(table: str, columns: list[str], params: list[tuple[Any, ...]]) -> None:
    """PostgreSQL's COPY: one stream instead of a statement per row."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)


def _insert(
    table: str, columns: list[str], params: list[tuple[Any, ...]], *, skip_existing: bool
) -> None:
    """Insert many rows; with skip_existing, a row the unique constraints already hold is
    left as it is (ON CONFLICT DO NOTHING, which both databases speak)."""
    if not params:
        return
    names = ", ".join(columns)
    conflict = " ON CONFLICT DO NOTHING" if skip_existing else ""
    if connection.vendor == "postgresql":
        if not skip_existing:
            _copy_rows(table, columns, params)
            return
        staging = f"{table}_import"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608
            )
        _copy_rows(staging, columns, params)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}{conflict}")  # noqa: S608
            cursor.execute(f"DROP TABLE {staging}")
        return
    marks = ", ".join(["%s"] * len(columns))
    # SQLite runs in-process: executemany is a loop in C over one prepared statement.
    with connection.cursor() as cursor:
        for chunk in _batches(params):
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}", chunk)  # noqa: S608


def _insert_items(values: list[dict[str, Any]], now: datetime) -> None:
    """New items in plain multi-row INSERTs: building 50,000 model instances and compiling
    their 40 fields through the ORM takes longer than the database does to store them."""
    if not values:
        return
    fields = [f for f in ConfigItem._meta.concrete_fields if not f.primary_key]
    defaults: dict[str, Any] = {}
    for f in fields:
        defaults[f.name] = now if f.name in ("created_at", "updated_at") else f.get_default()
    _insert(
        ConfigItem._meta.db_table,
        [connection.ops.quote_name(f.column) for f in fields],
        [tuple(_db_value(v.get(f.name, defaults[f.name])) for f in fields) for v in values],
        skip_existing=False,
    )


def _store_links(rows: list[_Row], ids: dict[str, int]) -> tuple[int, int]:
    services = dict(ClinicalService.objects.values_list("code", "pk"))
    relationships = [
        (ids[row.values["name"]], ids[name], column)
        for row in rows
        for column, names in row.links.items()
        if column != "services"
        for name in names
    ]
    components = [
        (services[code], ids[row.values["name"]], False)
        for row in rows
        for code in row.links.get("services", [])
    ]
    # A link the CMDB already has is left as it is.
    _insert(
        Relationship._meta.db_table,
        ["source_id", "target_id", "kind"],
        relationships,
        skip_existing=True,
    )
    _insert(
        ServiceComponent._meta.db_table,
        ["service_id", "item_id", "redundant"],
        components,
        skip_existing=True,
    )
    return len(relationships), len(components)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_rows() -> Iterable[list[str]]:
    """The header, then one row per item, in name order."""
    yield COLUMNS
    links: dict[int, dict[str, list[str]]] = {}
    names = dict(ConfigItem.objects.values_list("pk", "name"))
    for source, target, kind in Relationship.objects.values_list(
        "source_id", "target_id", "kind"
    ).iterator(chunk_size=5000):
        links.setdefault(source, {}).setdefault(kind, []).append(names[target])
    for item_id, code in ServiceComponent.objects.values_list("item_id", "service__code"):
        links.setdefault(item_id, {}).setdefault("services", []).append(code)
    values = [
        f"{c}__code" if c in ("site", "department") else "vendor__name" if c == "vendor" else c
        for c in ITEM_FIELDS
    ]
    for row in (
        ConfigItem.objects.order_by("name").values_list("pk", *values).iterator(chunk_size=5000)
    ):
        own = links.get(row[0], {})
        yield [_cell(v) for v in row[1:]] + [
            SEPARATOR.join(sorted(own.get(c, []))) for c in LINK_COLUMNS
        ]


def export_items(actor: User | None, out: io.TextIOBase | Any) -> int:
    if actor is not None:
        require(actor, Perm.CMDB_VIEW)
    writer = csv.writer(out)
    count = -1
    for row in export_rows():
        writer.writerow(row)
        count += 1
    audit.record(
        "cmdb.export",
        actor=actor,
        object_type="cmdb.configitem",
        summary=f"CSV export of {count} configuration items",
    )
    return count
