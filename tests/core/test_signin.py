"""Signing in: passwords, lockout, idle expiry and the TOTP second factor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from django.test import Client

from careline.core import crypto, services, signin
from careline.core.models import AuditEvent, User
from tests.conftest import PASSWORD, Hospital

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def _login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def _seed(user: User) -> str:
    secret = pyotp.random_base32()
    signin.set_totp_secret(user, secret)
    return secret


def test_passwords_are_hashed_with_argon2(db: None, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = services.create_user(None, username="newbie", role="requester", password=PASSWORD)
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


def test_weak_passwords_are_refused_naming_the_field(db: None) -> None:
    with pytest.raises(services.InvalidInput) as caught:
        services.create_user(None, username="weak", role="requester", password="password")
    assert caught.value.field == "password"
    assert not User.objects.filter(username="weak").exists()


def test_requester_signs_in_without_second_factor(hospital: Hospital) -> None:
    client = Client()
    response = _login(client, "maria")
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Good to see you, Maria" in home.content.decode()


def test_unknown_user_and_wrong_password_look_the_same(hospital: Hospital) -> None:
    wrong = _login(Client(), "maria", "not-her-password")
    unknown = _login(Client(), "nobody", "whatever")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.content.decode()
    assert "Wrong username or password." in unknown.content.decode()
    assert AuditEvent.objects.filter(action="login.failed", actor_name="nobody").exists()


def test_inactive_accounts_cannot_sign_in(hospital: Hospital) -> None:
    User.objects.filter(pk=hospital.nurse.pk).update(is_active=False)
    assert _login(Client(), "maria").status_code == 401


def test_five_failures_lock_the_account_for_fifteen_minutes(hospital: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(4):
            assert _login(Client(), "maria", "wrong").status_code == 401
        fifth = _login(Client(), "maria", "wrong")
        assert fifth.status_code == 423
        assert "locked until" in fifth.content.decode()
        assert AuditEvent.objects.filter(action="login.locked", actor_name="maria").count() == 1
        # Even the right password is refused while locked.
        assert _login(Client(), "maria").status_code == 423
        clock.shift(timedelta(minutes=14, seconds=59))
        assert _login(Client(), "maria").status_code == 423
        clock.shift(timedelta(seconds=2))
        assert _login(Client(), "maria").status_code == 302
    hospital.nurse.refresh_from_db()
    assert hospital.nurse.failed_logins == 0


def test_a_success_resets_the_failure_count(hospital: Hospital) -> None:
    for _ in range(4):
        _login(Client(), "maria", "wrong")
    assert _login(Client(), "maria").status_code == 302
    for _ in range(4):
        assert _login(Client(), "maria", "wrong").status_code == 401


def test_idle_sessions_expire_after_fifteen_minutes(hospital: Hospital) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        _login(client, "maria")
        clock.shift(timedelta(minutes=14))
        assert client.get("/").status_code == 200  # activity: the clock restarts
        clock.shift(timedelta(minutes=14))
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=15, seconds=1))
        response = client.get("/audit/?page=2")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=/audit/")
        assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="logout.idle", actor_name="maria").count() == 1


def test_background_polling_does_not_keep_a_session_alive(hospital: Hospital) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        _login(client, "maria")
        for _ in range(15):
            clock.shift(timedelta(minutes=1))
            client.get("/", headers={"X-CareLine-Background": "1"})
        clock.shift(timedelta(seconds=30))
        assert client.get("/").status_code == 302


def test_idle_minutes_are_configurable(hospital: Hospital, settings: Any) -> None:
    settings.SESSION_IDLE_MINUTES = 5
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        _login(client, "maria")
        clock.shift(timedelta(minutes=5, seconds=1))
        assert client.get("/").status_code == 302


def test_staff_must_enrol_a_second_factor_before_getting_in(hospital: Hospital) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        response = _login(client, "priya")
        assert response["Location"].startswith("/login/enrol/")
        # Not signed in yet: the home page still wants a login.
        assert client.get("/")["Location"].startswith("/login/")
        page = client.get("/login/enrol/").content.decode()
        assert "<svg" in page
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
        wrong = client.post("/login/enrol/", {"code": "000000"})
        assert wrong.status_code == 401
        code = pyotp.TOTP(secret).at(T0)
        assert client.post("/login/enrol/", {"code": code})["Location"] == "/"
        assert client.get("/").status_code == 200
        hospital.agent.refresh_from_db()
        assert hospital.agent.has_mfa
        # Stored encrypted, never in the clear.
        assert secret not in hospital.agent.totp_secret
        assert crypto.decrypt(hospital.agent.totp_secret) == secret
        assert AuditEvent.objects.filter(action="mfa.enrol", actor_name="priya").exists()

        # Next time: the code, not enrolment.
        client.post("/logout/")
        clock.shift(timedelta(seconds=30))
        assert _login(client, "priya")["Location"].startswith("/login/verify/")
        assert (
            client.post(
                "/login/verify/", {"code": pyotp.TOTP(secret).at(T0 + timedelta(seconds=30))}
            )["Location"]
            == "/"
        )


def test_a_totp_code_cannot_be_used_twice(hospital: Hospital) -> None:
    secret = _seed(hospital.agent)
    with time_machine.travel(T0, tick=False):
        code = pyotp.TOTP(secret).at(T0)
        first = Client()
        _login(first, "priya")
        assert first.post("/login/verify/", {"code": code}).status_code == 302
        second = Client()
        _login(second, "priya")
        replay = second.post("/login/verify/", {"code": code})
        assert replay.status_code == 401
        assert second.get("/").status_code == 302


def test_codes_from_the_neighbouring_step_are_accepted_older_ones_not(hospital: Hospital) -> None:
    secret = _seed(hospital.engineer)
    totp = pyotp.TOTP(secret)
    with time_machine.travel(T0, tick=False):
        client = Client()
        _login(client, "sam")
        assert (
            client.post("/login/verify/", {"code": totp.at(T0 - timedelta(seconds=90))}).status_code
            == 401
        )
        assert (
            client.post("/login/verify/", {"code": totp.at(T0 - timedelta(seconds=30))}).status_code
            == 302
        )


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x", "9" * 50])
def test_malformed_codes_are_refused(hospital: Hospital, code: str) -> None:
    _seed(hospital.manager)
    client = Client()
    _login(client, "helen")
    response = client.post("/login/verify/", {"code": code})
    assert response.status_code in (200, 401)
    assert client.get("/").status_code == 302


def test_wrong_codes_count_toward_the_lockout(hospital: Hospital) -> None:
    _seed(hospital.manager)
    client = Client()
    with time_machine.travel(T0, tick=False):
        _login(client, "helen")
        for _ in range(4):
            assert client.post("/login/verify/", {"code": "000000"}).status_code == 401
        assert client.post("/login/verify/", {"code": "000000"}).status_code == 423
        assert _login(Client(), "helen").status_code == 423


def test_the_password_step_expires(hospital: Hospital) -> None:
    secret = _seed(hospital.manager)
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        _login(client, "helen")
        clock.shift(timedelta(seconds=signin.PENDING_SECONDS + 1))
        code = pyotp.TOTP(secret).at(T0 + timedelta(seconds=signin.PENDING_SECONDS + 1))
        response = client.post("/login/verify/", {"code": code})
        assert response["Location"] == "/login/"


def test_mfa_roles_are_configurable(hospital: Hospital, settings: Any) -> None:
    settings.MFA_ROLES = ["admin"]
    assert _login(Client(), "priya")["Location"] == "/"
    assert _login(Client(), "alex")["Location"].startswith("/login/enrol/")


def test_next_is_kept_through_both_steps_and_never_leaves_the_site(hospital: Hospital) -> None:
    secret = _seed(hospital.auditor)
    with time_machine.travel(T0, tick=False):
        client = Client()
        response = client.post(
            "/login/?next=/audit/", {"username": "frank", "password": PASSWORD, "next": "/audit/"}
        )
        assert response["Location"] == "/login/verify/?next=/audit/"
        done = client.post("/login/verify/?next=/audit/", {"code": pyotp.TOTP(secret).at(T0)})
        assert done["Location"] == "/audit/"
    evil = Client().post(
        "/login/", {"username": "maria", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert evil["Location"] == "/"


def test_logout_needs_post(hospital: Hospital) -> None:
    client = Client()
    _login(client, "maria")
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_an_idle_htmx_refresh_sends_the_whole_page_to_the_login(hospital: Hospital) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False) as clock:
        _login(client, "maria")
        clock.shift(timedelta(minutes=16))
        response = client.get(
            "/my/",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/desk/?priority=P1"},
        )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login/?next=/desk/"
