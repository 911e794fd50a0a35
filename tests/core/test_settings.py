"""Settings come from CARELINE_* variables; bad values stop start-up with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from careline.env import (
    ImproperSetting,
    envbool,
    envfile,
    envint,
    envlist,
    envsecret,
    envtimezone,
)


def test_envint_names_the_variable_and_the_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_X", "lots")
    with pytest.raises(ImproperSetting, match=r"CARELINE_X must be a whole number \(got 'lots'\)"):
        envint("CARELINE_X", 1)
    monkeypatch.setenv("CARELINE_X", "0")
    with pytest.raises(ImproperSetting, match=r"CARELINE_X must be between 1 and 10 \(got 0\)"):
        envint("CARELINE_X", 1, minimum=1, maximum=10)
    monkeypatch.setenv("CARELINE_X", "7")
    assert envint("CARELINE_X", 1, minimum=1, maximum=10) == 7
    monkeypatch.delenv("CARELINE_X")
    assert envint("CARELINE_X", 3) == 3


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", True)],
)
def test_envbool_accepts_the_usual_words(
    monkeypatch: pytest.MonkeyPatch, raw: str, value: bool
) -> None:
    monkeypatch.setenv("CARELINE_B", raw)
    assert envbool("CARELINE_B", True) is value


def test_envbool_refuses_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_B", "maybe")
    with pytest.raises(ImproperSetting, match="CARELINE_B must be one of"):
        envbool("CARELINE_B", False)


def test_envlist_and_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_L", " agent, admin ,,")
    assert envlist("CARELINE_L", []) == ["agent", "admin"]
    monkeypatch.setenv("CARELINE_L", "")
    assert envlist("CARELINE_L", ["x"]) == []
    monkeypatch.setenv("CARELINE_TZ", "Europe/Dublin")
    assert envtimezone("CARELINE_TZ", "UTC") == "Europe/Dublin"
    monkeypatch.setenv("CARELINE_TZ", "Hospital/Time")
    with pytest.raises(ImproperSetting, match="CARELINE_TZ must be an IANA time zone"):
        envtimezone("CARELINE_TZ", "UTC")


def test_secret_is_generated_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARELINE_S", raising=False)
    first = envsecret("CARELINE_S", tmp_path, "s.key")
    assert len(first) >= 50
    assert (tmp_path / "s.key").stat().st_mode & 0o777 == 0o600
    assert envsecret("CARELINE_S", tmp_path, "s.key") == first
    monkeypatch.setenv("CARELINE_S", "from-the-environment")
    assert envsecret("CARELINE_S", tmp_path, "s.key") == "from-the-environment"
    monkeypatch.delenv("CARELINE_S")
    (tmp_path / "mounted").write_text("from-a-file\n")
    monkeypatch.setenv("CARELINE_S_FILE", str(tmp_path / "mounted"))
    assert envsecret("CARELINE_S", tmp_path, "s.key") == "from-a-file"
    monkeypatch.setenv("CARELINE_S_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperSetting, match="CARELINE_S_FILE names a file that cannot be read"):
        envsecret("CARELINE_S", tmp_path, "s.key")


def _careline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "careline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CARELINE_PORT", "eighty", "CARELINE_PORT must be a whole number (got 'eighty')"),
        ("CARELINE_PORT", "70000", "CARELINE_PORT must be between 1 and 65535 (got 70000)"),
        ("CARELINE_DEBUG", "perhaps", "CARELINE_DEBUG must be one of"),
        ("CARELINE_TIME_ZONE", "Ward/Four", "CARELINE_TIME_ZONE must be an IANA time zone"),
        (
            "CARELINE_SESSION_IDLE_MINUTES",
            "0",
            "CARELINE_SESSION_IDLE_MINUTES must be between 1 and 1440 (got 0)",
        ),
        (
            "CARELINE_MONITOR_CA_FILE",
            "/nonexistent/hospital-ca.pem",
            "CARELINE_MONITOR_CA_FILE='/nonexistent/hospital-ca.pem': not a readable file",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", "CARELINE_DATA_DIR": str(tmp_path), variable: value}
    result = _careline(env, "check")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_defaults_sqlite_wal_immediate_debug_off(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CARELINE_DATA_DIR": str(tmp_path)}
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='careline.settings'; django.setup();"
        "from django.conf import settings; from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); mode = c.fetchone()[0];"
        "c.execute('PRAGMA busy_timeout'); busy = c.fetchone()[0];"
        "print(mode, busy, settings.DEBUG, settings.USE_TZ, connection.settings_dict['OPTIONS']['transaction_mode'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["wal", "20000", "False", "True", "IMMEDIATE"]
    assert (tmp_path / "secret.key").exists()
    assert (tmp_path / "encryption.key").exists()
    assert (tmp_path / "careline.sqlite3").exists()


def test_envfile_wants_a_readable_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CARELINE_X", raising=False)
    assert envfile("CARELINE_X") == ""
    monkeypatch.setenv("CARELINE_X", str(tmp_path / "missing.pem"))
    with pytest.raises(ImproperSetting, match=r"CARELINE_X=.*missing.pem.*not a readable file"):
        envfile("CARELINE_X")
    monkeypatch.setenv("CARELINE_X", str(tmp_path))  # a directory
    with pytest.raises(ImproperSetting, match="not a readable file"):
        envfile("CARELINE_X")
    ca = tmp_path / "hospital-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("CARELINE_X", str(ca))
    assert envfile("CARELINE_X") == str(ca)
