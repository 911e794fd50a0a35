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
from typing import Any

from django.db import transaction
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
BATCH = 1000
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
    new = [ConfigItem(**row.values) for row in rows if row.values["name"] not in known]
    old = [
        ConfigItem(pk=known[row.values["name"]], **row.values)
        for row in rows
        if row.values["name"] in known
    ]
    for item in new + old:
        item.updated_at = now
        item.created_at = now
    with transaction.atomic():
        for chunk in _batches(new):
            ConfigItem.objects.bulk_create(chunk)
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


def _store_links(rows: list[_Row], ids: dict[str, int]) -> tuple[int, int]:
    services = dict(ClinicalService.objects.values_list("code", "pk"))
    relationships = [
        Relationship(source_id=ids[row.values["name"]], target_id=ids[name], kind=column)
        for row in rows
        for column, names in row.links.items()
        if column != "services"
        for name in names
    ]
    components = [
        ServiceComponent(service_id=services[code], item_id=ids[row.values["name"]])
        for row in rows
        for code in row.links.get("services", [])
    ]
    for chunk in _batches(relationships):
        Relationship.objects.bulk_create(chunk, ignore_conflicts=True)
    for chunk in _batches(components):
        ServiceComponent.objects.bulk_create(chunk, ignore_conflicts=True)
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
