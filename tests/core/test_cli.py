"""The `careline` command line: accounts, tokens, the demo hospital."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from careline.core.demo import DEPARTMENTS, SERVICES, USERS
from careline.core.models import ApiToken, AuditEvent, ClinicalService, Department, Site, User
from tests.conftest import Hospital


def run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    finally:
        sys.stdin = old_stdin
    return out.getvalue()


def test_createuser_with_password_from_stdin(hospital: Hospital) -> None:
    out = run(
        "createuser",
        "nina",
        "--role",
        "requester",
        "--department",
        "NG-ED",
        "--password-stdin",
        stdin="Night-Shift-Nurse-7\n",
    )
    assert "created nina (requester)" in out
    nina = User.objects.get(username="nina")
    assert nina.department is not None
    assert nina.department.code == "NG-ED"
    assert nina.check_password("Night-Shift-Nurse-7")
    event = AuditEvent.objects.get(action="user.create", object_id=str(nina.pk))
    assert event.actor_name == "cli"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["maria", "--role", "requester"], "", "username: a user named 'maria' already exists"),
        (
            ["nina", "--role", "requester", "--department", "NOPE"],
            "",
            "department: no department has code 'NOPE'",
        ),
        (
            ["nina", "--role", "requester", "--password-stdin"],
            "\n",
            "password: standard input was empty",
        ),
        (["nina", "--role", "requester", "--password-stdin"], "short\n", "password:"),
    ],
)
def test_createuser_refuses_bad_input_and_writes_nothing(
    hospital: Hospital, args: list[str], stdin: str, message: str
) -> None:
    users, events = User.objects.count(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message):
        run("createuser", *args, stdin=stdin)
    assert (User.objects.count(), AuditEvent.objects.count()) == (users, events)


def test_createuser_refuses_an_unknown_role(hospital: Hospital) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'doctor'"):
        run("createuser", "nina", "--role", "doctor")


def test_token_create_prints_only_the_token_which_then_works(hospital: Hospital) -> None:
    out = run("token", "create", "--user", "alex", "--name", "prometheus")
    token = out.strip()
    assert token.startswith("cl_")
    assert "\n" not in token
    stored = ApiToken.objects.get(user=hospital.admin)
    assert token not in (stored.digest, stored.prefix)  # only a digest is stored
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["username"] == "alex"
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_token_list_and_revoke(hospital: Hospital) -> None:
    token = run("token", "create", "--user", "alex").strip()
    token_id = ApiToken.objects.get(user=hospital.admin).pk
    listing = run("token", "list", "--user", "alex")
    assert token[:9] in listing
    assert "active" in listing
    assert token not in listing
    assert "revoked token" in run("token", "revoke", str(token_id))
    assert "revoked" in run("token", "list", "--user", "alex")
    assert (
        Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token_id)).exists()
    with pytest.raises(CommandError, match="id: no API token has id 999999"):
        run("token", "revoke", "999999")
    with pytest.raises(CommandError, match="user: no user is named 'ghost'"):
        run("token", "create", "--user", "ghost")


def test_deactivating_a_user_stops_their_tokens(hospital: Hospital) -> None:
    token = run("token", "create", "--user", "sam").strip()
    User.objects.filter(pk=hospital.engineer.pk).update(is_active=False)
    assert (
        Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_demo_hospital_loads_once(db: None) -> None:
    first = run("demo")
    assert "Demo hospital loaded" in first
    for username, *_ in USERS:
        assert username in first
    counts = (
        Site.objects.count(),
        Department.objects.count(),
        ClinicalService.objects.count(),
        User.objects.count(),
    )
    assert counts == (2, len(DEPARTMENTS), len(SERVICES), len(USERS))
    assert Department.objects.get(code="NG-ICU").critical
    assert not Department.objects.get(code="NG-W4").critical
    assert set(ClinicalService.objects.filter(tier=1).values_list("code", flat=True)) >= {
        "EHR",
        "PACS",
        "LIS",
        "PHARM",
        "NURSECALL",
    }
    assert set(User.objects.values_list("role", flat=True)) == {
        "requester",
        "agent",
        "engineer",
        "manager",
        "auditor",
        "admin",
    }
    events = AuditEvent.objects.count()
    second = run("demo")
    assert "nothing changed" in second
    assert "Ward-Round" not in second
    assert AuditEvent.objects.count() == events


def test_careline_command_is_installed_and_lists_its_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "careline.cli", "help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("run", "serve", "engine", "demo", "createuser", "token", "audit"):
        assert f"    {command}\n" in out
