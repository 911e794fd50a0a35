"""Every API operation, fed what its OpenAPI schema allows and what it does not, never answers
500 (schemathesis generates the requests from /api/v1/openapi.json).

As the admin, who may call every operation, in a hospital with its places and people; the
requests run in-process through Django, each operation's in its own test (and transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from careline.core import services
from tests.conftest import Hospital

# Enough to reach past each operation's validation into its code (the failures this found
# showed within the first handful), few enough for every run of the suite.
EXAMPLES = 12

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
# One test per operation, named by it ("GET /api/v1/tickets"), so each runs and reports alone.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.fixture
def admin_token(hospital: Hospital) -> Iterator[str]:
    # Django closes the database connection when a request ends; inside a test's transaction
    # that would end the test. Its test client holds this back the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield services.create_token(None, user=hospital.admin, name="fuzz").secret
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) > 150  # the whole API, not a schema that failed to load


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_request_is_a_server_error(operation: Any, admin_token: str) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    # Requests the schema allows, and requests it does not (wrong types, missing fields, ...).
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answer(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    answer()
