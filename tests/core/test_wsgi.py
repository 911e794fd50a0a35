"""The web worker's start: what it made while starting is frozen out of the garbage
collector's reach, so a full collection walks only what requests made since."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json
import careline.wsgi
gc.collect()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def test_the_worker_freezes_what_it_made_while_starting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CARELINE_DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    # Django, the models and the API schemas: a hundred thousand objects and more.
    assert found["frozen"] > 100_000, found
    # What the collector still walks is a small part of it.
    assert found["tracked"] < found["frozen"] / 10, found
