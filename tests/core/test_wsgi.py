"""Long-running processes (web workers, the engine, the mail listener) set what they made while
starting aside from the garbage collector, so a full collection walks only what their work
made since."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WEB_WORKER = """
import gc, json
import careline.wsgi
gc.collect()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""

# The command runs as `careline` would run it, up to where its work would begin: there the
# probe reports what the collector sees, and the command returns.
COMMAND = """
import gc, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
import django
django.setup()

async def report(*args, **kwargs):
    gc.collect()
    print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))

from careline.engine import runner
from careline.servicedesk.management.commands import mail_intake
runner.Engine.run = report
mail_intake.serve = report
from django.core.management import call_command
call_command(%r, "--no-migrate")
"""


def _probe(script: str, data_dir: Path) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CARELINE_DATA_DIR"] = str(data_dir)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return found


def test_the_web_worker_freezes_what_it_made_while_starting(tmp_path: Path) -> None:
    found = _probe(WEB_WORKER, tmp_path)
    # Django, the models and the API schemas: a hundred thousand objects and more.
    assert found["frozen"] > 100_000, found
    # What the collector still walks is a small part of it.
    assert found["tracked"] < found["frozen"] / 10, found


@pytest.mark.parametrize("command", ["engine", "mail_intake"])
def test_the_engine_and_mail_listener_freeze_theirs(tmp_path: Path, command: str) -> None:
    found = _probe(COMMAND % command, tmp_path)
    assert found["frozen"] > 50_000, found
    assert found["tracked"] < found["frozen"] / 5, found
