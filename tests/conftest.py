"""The people every CareLine test talks about.

Nurse Maria works in the ED at Northgate; Priya is a service-desk agent; Sam an on-call
engineer; Helen the IT manager; Frank the auditor; Alex the admin. Olive is an outsider: a
ward clerk at the other site, who must never see the ED's business.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from careline.core import cached, services
from careline.core.models import User
from careline.knowledge import semantic
from tests.processes import database_copy, drop_template, make_template, scratch_database

PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request: pytest.FixtureRequest) -> None:
    """SQLite test databases live in memory, one per process (each pytest-xdist worker too).

    pytest-django leaves an unnamed SQLite test database in memory only for Django's own
    backend; for CareLine's (careline/dbbackends) it would name a file after the data path
    plus the worker's suffix. Named ":memory:", every worker keeps its own in memory.
    """
    for database in django_settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        if database["ENGINE"].endswith("sqlite3") and not test.get("NAME"):
            test["NAME"] = ":memory:"
    request.getfixturevalue("django_db_modify_db_settings_parallel_suffix")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Cached configuration (SLA policies, routing rules) must not leak between tests.
    cache.clear()
    cached.clear()
    yield
    cache.clear()
    cached.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is the product's hasher (tests/core/test_signin.py checks it); tests that
    # only need an account use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _lexical_search_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Embedding articles (the demo hospital's, say) runs the sentence model, seconds of work
    # per load: the knowledge tests that are about it ask for it (tests/knowledge/conftest.py's
    # semantic_on); every other test gets lexical search.
    monkeypatch.setattr(semantic, "ENABLED", False)


@dataclass
class Hospital:
    nurse: User
    agent: User
    engineer: User
    manager: User
    auditor: User
    admin: User
    outsider: User

    def all(self) -> dict[str, User]:
        return {k: v for k, v in vars(self).items() if isinstance(v, User)}


@pytest.fixture
def hospital(db: None) -> Hospital:
    services.create_site(
        None, code="NORTH", name="Northgate Medical Center", time_zone="America/New_York"
    )
    services.create_site(
        None, code="RIVER", name="Riverside Community Hospital", time_zone="America/Chicago"
    )
    services.create_department(
        None, code="NG-ED", name="Emergency Department", site="NORTH", clinical_area="ed"
    )
    services.create_department(
        None, code="NG-IT", name="Information Technology", site="NORTH", clinical_area="other"
    )
    services.create_department(
        None, code="RV-W1", name="Riverside Ward 1", site="RIVER", clinical_area="ward"
    )
    services.create_service(None, code="EHR", name="Electronic health record", tier=1)
    services.create_service(None, code="PRINT", name="Printing", tier=3)

    def person(username: str, role: str, department: str, first: str) -> User:
        return services.create_user(
            None,
            username=username,
            role=role,
            password=PASSWORD,
            department=department,
            first_name=first,
        )

    return Hospital(
        nurse=person("maria", "requester", "NG-ED", "Maria"),
        agent=person("priya", "agent", "NG-IT", "Priya"),
        engineer=person("sam", "engineer", "NG-IT", "Sam"),
        manager=person("helen", "manager", "NG-IT", "Helen"),
        auditor=person("frank", "auditor", "NG-IT", "Frank"),
        admin=person("alex", "admin", "NG-IT", "Alex"),
        outsider=person("olive", "requester", "RV-W1", "Olive"),
    )


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    """Stored files (attachments, imports) go to this test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT  # type: ignore[no-any-return]


class ApiClient:
    """A test client that speaks JSON to /api/v1 with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def api_as(hospital: Hospital) -> Any:
    """api_as(hospital.nurse) is an API client holding a token of that person."""

    def make(user: User | None) -> ApiClient:
        if user is None:
            return ApiClient(None)
        return ApiClient(services.create_token(None, user=user, name="test").secret)

    return make


@pytest.fixture(scope="session")
def migrated_template(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Iterator[str]:
    """A copy of this run's migrated database, made once, for `careline` subprocesses to
    start from (tests/processes.py)."""
    with django_db_blocker.unblock():
        template = make_template(tmp_path_factory.mktemp("template"))
    yield template
    with django_db_blocker.unblock():
        drop_template(template)


@pytest.fixture
def scratch_db_env(migrated_template: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a `careline` subprocess with a migrated database of its own."""
    label = f"scratch_{tmp_path.name[-12:]}"
    with database_copy(migrated_template, tmp_path / "data", label) as env:
        yield env


@pytest.fixture
def empty_db_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a `careline` subprocess with an empty database: for the test of
    migrating one from nothing."""
    with scratch_database(tmp_path / "data", f"empty_{tmp_path.name[-12:]}") as env:
        yield env


# What makes a test touch the database: a test without any of these gives the same answer on
# SQLite and PostgreSQL, so the PostgreSQL run (CARELINE_TEST_DB_ONLY=1, set by make test)
# leaves it to the SQLite run.
_DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_setup",
        "migrated_template",
        "scratch_db_env",
        "empty_db_env",
        "scratch_env",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CARELINE_TEST_DB_ONLY") != "1":
        return
    kept, left = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_db = bool(fixtures & _DATABASE_FIXTURES) or item.get_closest_marker("django_db")
        (kept if uses_db else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
