"""`careline kb import DIR` and `careline kb export DIR`: Markdown files with front matter."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from careline.core.services import create_service
from careline.knowledge import files
from careline.knowledge.demo import ARTICLES
from careline.knowledge.models import Article, ArticleVersion
from tests.conftest import Hospital

GOOD = """---
title: Printer offline
summary: Get a ward printer going.
audience: everyone
status: published
tags: printer, offline
services: PRINT
review_by: 2027-06-30
---
1. Switch it off and on.
"""


def _demo_services() -> None:
    for code in (
        "BCMA",
        "VDI",
        "WIFI",
        "DICTATION",
        "TELEHEALTH",
        "EMAIL",
        "LIS",
        "PACS",
        "PHARM",
        "NURSECALL",
    ):
        create_service(None, code=code, name=code.title(), tier=2)


def test_the_demo_articles_import_once_and_again_change_nothing(hospital: Hospital) -> None:
    _demo_services()
    first = files.import_dir(None, ARTICLES)
    assert first.created >= 40
    versions = ArticleVersion.objects.count()
    again = files.import_dir(None, ARTICLES)
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)
    assert ArticleVersion.objects.count() == versions
    assert Article.objects.filter(status="published").count() == first.created


def test_one_bad_file_imports_nothing_and_each_problem_names_its_file(
    hospital: Hospital, tmp_path: Path
) -> None:
    (tmp_path / "a-good.md").write_text(GOOD)
    (tmp_path / "b-no-front-matter.md").write_text("Just text\n")
    (tmp_path / "c-bad-status.md").write_text(
        GOOD.replace("Printer offline", "Other").replace("published", "live")
    )
    (tmp_path / "d-bad-date.md").write_text(
        GOOD.replace("Printer offline", "Third").replace("2027-06-30", "June")
    )
    (tmp_path / "e-unknown-key.md").write_text(
        GOOD.replace("tags:", "colour: red\ntags:").replace("Printer offline", "Fourth")
    )
    (tmp_path / "f-binary.md").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(files.ImportFailed) as failed:
        files.import_dir(None, tmp_path)
    errors = "\n".join(failed.value.errors)
    for name in ("b-no-front-matter.md", "d-bad-date.md", "e-unknown-key.md", "f-binary.md"):
        assert name in errors
    assert "a-good.md" not in errors
    assert not Article.objects.exists()


def test_a_problem_found_while_saving_rolls_back_the_files_before_it(
    hospital: Hospital, tmp_path: Path
) -> None:
    (tmp_path / "a.md").write_text(GOOD)
    (tmp_path / "b.md").write_text(
        GOOD.replace("Printer offline", "Other").replace("PRINT", "NOSUCH")
    )
    with pytest.raises(files.ImportFailed) as failed:
        files.import_dir(None, tmp_path)
    assert failed.value.errors == ["b.md: services: no clinical service has code 'NOSUCH'"]
    assert not Article.objects.exists()


def test_export_then_import_round_trips(hospital: Hospital, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.md").write_text(GOOD)
    call_command("kb", "import", str(tmp_path / "in"))
    call_command("kb", "export", str(tmp_path / "out"))
    [exported] = (tmp_path / "out").glob("*.md")
    draft = files.parse(exported.read_text())
    assert (draft.title, draft.status, draft.tags, draft.services) == (
        "Printer offline",
        "published",
        ["printer", "offline"],
        ["PRINT"],
    )
    assert str(draft.review_by) == "2027-06-30"
    result = files.import_dir(None, tmp_path / "out")
    assert (result.created, result.unchanged) == (0, 1)


def test_the_command_reports_each_bad_file(hospital: Hospital, tmp_path: Path) -> None:
    (tmp_path / "broken.md").write_text("---\ntitle: x\n")
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("kb", "import", str(tmp_path))
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("kb", "import", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match=r"no \.md files"):
        call_command("kb", "import", str(tmp_path / "empty"))
