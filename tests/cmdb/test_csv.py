"""`careline cmdb import` / `export`: row-by-row checks named by line and column, all or
nothing, and a round trip that gives back what went in."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from careline.cmdb.models import ConfigItem, Relationship, ServiceComponent
from careline.cmdb.services import csvio
from careline.core.models import AuditEvent
from tests.cmdb.conftest import Cmdb
from tests.conftest import Hospital

HEADER = "name,item_type,department,hostname,ip_address,warranty_end,purchase_cost,runs_on,depends_on,services\n"


def _rows(n: int, bad_line: int | None = None, bad: str = "") -> str:
    """n good server rows (lines 2..n+1); the row on `bad_line` replaced by `bad`."""
    lines = [HEADER]
    for i in range(n):
        line = i + 2
        if line == bad_line:
            lines.append(bad)
            continue
        lines.append(f"SRV-{i:05d},server,NG-IT,srv-{i:05d},,2027-01-31,1200.50,,,\n")
    return "".join(lines)


def test_a_file_with_relationships_and_services_is_imported_and_audited(
    hospital: Hospital,
) -> None:
    text = (
        HEADER
        + "ESX-9,server,NG-IT,esx-9,10.1.0.9,2027-05-01,18000,,,\n"
        + "EHR-VM9,virtual_machine,NG-IT,ehr-vm9,,,,ESX-9,,\n"
        + 'EHR app,application,,,,,,,"EHR-VM9",EHR|PRINT\n'
    )
    result = csvio.import_items(hospital.engineer, text.encode())

    assert (result.created, result.updated, result.relationships, result.components) == (3, 0, 2, 2)
    vm = ConfigItem.objects.get(name="EHR-VM9")
    assert vm.outgoing.get().target.name == "ESX-9"
    assert ConfigItem.objects.get(name="ESX-9").ip_address == "10.1.0.9"
    assert set(
        ServiceComponent.objects.filter(item__name="EHR app").values_list(
            "service__code", flat=True
        )
    ) == {"EHR", "PRINT"}
    assert AuditEvent.objects.filter(action="cmdb.import", actor=hospital.engineer).count() == 1


def test_an_existing_name_is_updated_not_duplicated(cmdb: Cmdb) -> None:
    text = "name,item_type,room\nESX-1,server,DC2 rack 9\nNEW-1,printer,Ward 4\n"
    result = csvio.import_items(None, text.encode())
    assert (result.created, result.updated) == (1, 1)
    esx = ConfigItem.objects.get(pk=cmdb.esx1.pk)
    assert esx.room == "DC2 rack 9"
    assert esx.hostname == ""  # a column left out leaves the field alone


def _rejected(data: bytes) -> list[str]:
    before = ConfigItem.objects.count(), Relationship.objects.count()
    with pytest.raises(csvio.CsvRejected) as refused:
        csvio.import_items(None, data)
    assert (ConfigItem.objects.count(), Relationship.objects.count()) == before
    return refused.value.errors


def test_a_wrong_header_is_named_and_nothing_is_stored(hospital: Hospital) -> None:
    errors = _rejected(b"name,kind,colour\nA,server,red\n")
    assert "line 1, column 'kind': unknown column" in errors[0]
    assert any("required column 'item_type' is missing" in e for e in errors)


def test_a_file_that_is_not_utf8_is_refused_with_the_line(hospital: Hospital) -> None:
    latin1 = "name,item_type,room\nA,server,Salle 1\nB,server,Réanimation\n".encode("latin-1")
    errors = _rejected(latin1)
    assert errors[0].startswith("line 3: the file is not UTF-8 text")


def test_bad_cells_are_named_by_line_and_column(cmdb: Cmdb) -> None:
    text = (
        HEADER
        + "A,toaster,,,,,,,,\n"  # line 2: unknown type
        + "B,server,NOPE,,,31/12/2026,,,,\n"  # line 3: unknown department, bad date
        + "C,server,,,300.1.1.1,,-4,,,\n"  # line 4: bad IP, negative cost
        + "A,server,,,,,,,,\n"  # line 5: duplicate of line 2
        + "D,server,,,,,,GHOST,,\n"  # a relationship to a missing item (checked after the cells)
    )
    errors = _rejected(text.encode())
    assert "line 2, column item_type: must be one of application" in errors[0]
    assert any(
        e.startswith("line 3, column department: no department has code 'NOPE'") for e in errors
    )
    assert any(
        e.startswith("line 3, column warranty_end: must be a date as YYYY-MM-DD") for e in errors
    )
    assert any(e.startswith("line 4, column ip_address:") for e in errors)
    assert any(e.startswith("line 4, column purchase_cost:") for e in errors)
    assert any(e == "line 5, column name: 'A' is already on line 2" for e in errors)


def test_relationships_to_missing_items_or_services_are_named(cmdb: Cmdb) -> None:
    text = HEADER + "D,server,,,,,,GHOST,,\nE,server,,,,,,,ESX-1,NOPE\nF,server,,,,,,F,,\n"
    errors = _rejected(text.encode())
    assert errors == [
        "line 2, column runs_on: no item named 'GHOST' in the file or the CMDB",
        "line 3, column services: no clinical service has code 'NOPE'",
        "line 4, column runs_on: an item cannot relate to itself",
    ]


def test_one_bad_row_in_fifty_thousand_stores_nothing(hospital: Hospital) -> None:
    text = _rows(50_000, bad_line=49_000, bad="SRV-X,server,NG-IT,srv-x,,2027-02-30,1,,,\n")
    errors = _rejected(text.encode())
    assert errors == [
        "line 49000, column warranty_end: must be a date as YYYY-MM-DD (got '2027-02-30')"
    ]
    assert not ConfigItem.objects.exists()


def test_export_then_import_gives_back_the_same_cmdb(cmdb: Cmdb) -> None:
    out = io.StringIO()
    count = csvio.export_items(cmdb.hospital.auditor, out)
    assert count == ConfigItem.objects.count()
    exported = out.getvalue()
    assert exported.splitlines()[0] == ",".join(csvio.COLUMNS)
    assert "EHR-VM1,virtual_machine" in exported

    result = csvio.import_items(None, exported.encode())
    assert (result.created, result.updated) == (0, count)
    again = io.StringIO()
    csvio.export_items(None, again)
    assert again.getvalue() == exported


def test_the_command_line_imports_exports_and_reports_every_error(
    hospital: Hospital, tmp_path: Path, capsys: Any
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(_rows(3))
    call_command("cmdb", "import", str(good))
    assert ConfigItem.objects.count() == 3
    assert "3 items created" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(_rows(3, bad_line=3, bad="SRV-Q,robot,NG-IT,,,,,,,\n"))
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("cmdb", "import", str(bad))
    assert "line 3, column item_type" in capsys.readouterr().err

    exported = tmp_path / "out.csv"
    call_command("cmdb", "export", str(exported))
    assert len(exported.read_text().splitlines()) == 4


def test_the_api_exports_the_same_csv_and_imports_an_upload(cmdb: Cmdb, api_as: Any) -> None:
    api = api_as(cmdb.hospital.engineer)
    answer = api.get("/cmdb/export")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert answer.content.decode().splitlines()[0] == ",".join(csvio.COLUMNS)
    upload = SimpleUploadedFile(
        "items.csv", b"name,item_type\nNEW-9,printer\n", content_type="text/csv"
    )
    imported = api.client.post("/api/v1/cmdb/import", {"file": upload}, headers=api.headers)
    assert imported.status_code == 200, imported.content
    assert imported.json()["created"] == 1
    bad = SimpleUploadedFile("items.csv", b"name,colour\nX,red\n", content_type="text/csv")
    refused = api.client.post("/api/v1/cmdb/import", {"file": bad}, headers=api.headers)
    assert refused.status_code == 422
    assert "line 1, column 'colour': unknown column" in refused.json()["detail"]


def test_a_binary_file_with_nul_bytes_is_refused_with_its_line(hospital: Hospital) -> None:
    errors = _rejected(b"name,item_type\nA,server\nB\x00,server\n")
    assert errors == ["line 3: holds a NUL character (offset 25); is this a CSV text file?"]
