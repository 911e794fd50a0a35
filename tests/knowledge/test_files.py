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


def test_the_ways_staff_describe_a_problem_round_trip(hospital: Hospital, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.md").write_text(
        GOOD.replace(
            "review_by: 2027-06-30\n",
            "review_by: 2027-06-30\nasked_as: printouts never appear;  nothing comes out, again ;\n",
        )
    )
    (tmp_path / "in" / "b.md").write_text(GOOD.replace("Printer offline", "Printer jammed"))
    files.import_dir(None, tmp_path / "in")
    offline = Article.objects.get(title="Printer offline")
    assert offline.asked_as_list == ["printouts never appear", "nothing comes out, again"]
    assert ArticleVersion.objects.get(article=offline).asked_as == offline.asked_as
    files.export_dir(tmp_path / "out")
    exported = {f.read_text().split("\n")[1]: f.read_text() for f in (tmp_path / "out").iterdir()}
    assert (
        "asked_as: printouts never appear; nothing comes out, again\n"
        in exported["title: Printer offline"]
    )
    # An article without phrases says nothing about them.
    assert "asked_as" not in exported["title: Printer jammed"]
    result = files.import_dir(None, tmp_path / "out")
    assert (result.created, result.unchanged) == (0, 2)
    # A file that no longer lists them removes them, in a new version.
    (tmp_path / "in" / "a.md").write_text(GOOD)
    assert files.import_dir(None, tmp_path / "in").updated == 1
    offline.refresh_from_db()
    assert (offline.asked_as, offline.version) == ("", 2)


def test_bad_phrases_in_a_file_name_the_field(hospital: Hospital, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(GOOD.replace("tags:", "asked_as: fine; b\x00d\ntags:"))
    (tmp_path / "b.md").write_text(
        GOOD.replace("Printer offline", "Other").replace("tags:", f"asked_as: {'x' * 201}\ntags:")
    )
    with pytest.raises(files.ImportFailed) as failed:
        files.import_dir(None, tmp_path)
    assert failed.value.errors == [
        "a.md: asked_as: must not contain NUL characters",
        "b.md: asked_as: each phrase must be at most 200 characters (got 201)",
    ]
    assert not Article.objects.exists()


def test_the_command_reports_each_bad_file(hospital: Hospital, tmp_path: Path) -> None:
    (tmp_path / "broken.md").write_text("---\ntitle: x\n")
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("kb", "import", str(tmp_path))
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("kb", "import", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match=r"no \.md files"):
        call_command("kb", "import", str(tmp_path / "empty"))
