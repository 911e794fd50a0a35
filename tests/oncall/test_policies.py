"""Escalation policies and routes: saved whole, checked whole, hand-over loops refused, and
the route for a page found cheaply.

Bad input tried: a policy with no levels (or levels that are not a list); unknown
schedules, users, queues, hand-over policies and final users (404); a level missing the
target its kind needs, or naming a second one; an unknown target_kind; wait_minutes 0,
1441 and "5"; repeat -1 and 10; unknown channel names; channels on a hand-over level; a
deactivated person; a duplicate code (409) and a malformed one; hand-over loops (a policy
handing over to itself, on create and on replace; A -> B -> A; A -> B -> C -> A); deleting a
policy in use by a route, by another policy's hand-over or by a page (409, naming each
use); routes with priority P5, an unknown service or policy, business hours for P1 or for
any priority, and a non-boolean active.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from careline.core.errors import CareLineError, Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import AuditEvent
from careline.oncall.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationRoute,
    Page,
    Schedule,
)
from careline.oncall.services import policies
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db

Make = Callable[..., EscalationPolicy]


@pytest.fixture
def setup(hospital: Hospital) -> Hospital:
    Schedule.objects.create(
        code="IT-ONCALL",
        name="IT on call",
        time_zone="America/New_York",
        created_at=timezone.now(),
    )
    # NETWORK is one of the service desk's default queues.
    return hospital


@pytest.fixture
def make(setup: Hospital) -> Make:
    def make(code: str, *levels: dict[str, Any], **kw: Any) -> EscalationPolicy:
        specs = list(levels) or [{"target_kind": "schedule", "schedule": "IT-ONCALL"}]
        return policies.create_policy(
            setup.manager, code=code, name=kw.pop("name", f"Policy {code}"), levels=specs, **kw
        )

    return make


def _handover(code: str) -> dict[str, Any]:
    return {"target_kind": "policy", "handover": code}


def test_a_policy_is_saved_whole_and_read_in_plain_words(setup: Hospital, make: Make) -> None:
    make("NIGHT", {"target_kind": "person", "user": "alex"})
    policy = make(
        "CLINICAL",
        {"target_kind": "schedule", "schedule": "IT-ONCALL", "channels": ["sms"]},
        {
            "target_kind": "person",
            "user": "helen",
            "channels": ["sms", "voice", "sms"],
            "wait_minutes": 10,
        },
        {"target_kind": "queue", "queue": "NETWORK", "wait_minutes": 1},
        _handover("NIGHT"),
        name="Clinical systems",
        repeat=2,
        final_user="helen",
    )
    levels = list(policy.levels.all())
    assert [level.position for level in levels] == [1, 2, 3, 4]
    assert levels[1].channels == ["sms", "voice"]
    assert [policies.level_text(level) for level in levels] == [
        "1. Whoever is on call on IT-ONCALL, by SMS; 5 minutes to acknowledge",
        "2. Helen, by SMS and phone call; 10 minutes to acknowledge",
        "3. Whoever is on shift in queue NETWORK, by their own notification rules; "
        "1 minute to acknowledge",
        "4. Hand over to policy NIGHT",
    ]
    assert policies.closing_text(policy) == (
        "Repeat the levels 2 more times while nobody acknowledges; then Helen (helen) is told."
    )
    event = AuditEvent.objects.get(action="escalation_policy.create", object_id=str(policy.pk))
    assert event.after is not None
    assert event.after["levels"][3] == "4. Hand over to policy NIGHT"


def test_replacing_a_policy_swaps_its_levels(setup: Hospital, make: Make) -> None:
    make("CLINICAL", {"target_kind": "schedule", "schedule": "IT-ONCALL"})
    replaced = policies.replace_policy(
        setup.manager,
        "CLINICAL",
        name="Clinical, v2",
        repeat=0,
        levels=[{"target_kind": "person", "user": "sam", "channels": ["voice"]}],
    )
    assert replaced.name == "Clinical, v2"
    assert [(lv.target_kind, lv.user_id) for lv in replaced.levels.all()] == [
        ("person", setup.engineer.pk)
    ]
    assert EscalationLevel.objects.count() == 1
    event = AuditEvent.objects.get(action="escalation_policy.replace")
    assert event.before is not None
    assert event.before["levels"] == [
        "1. Whoever is on call on IT-ONCALL, by their own notification rules; "
        "5 minutes to acknowledge"
    ]


LEVEL = {"target_kind": "schedule", "schedule": "IT-ONCALL"}


@pytest.mark.parametrize(
    ("change", "error", "field", "fragment"),
    [
        ({"levels": []}, InvalidInput, "levels", "at least one level"),
        ({"levels": "schedule"}, InvalidInput, "levels", "at least one level"),
        (
            {"levels": [{"target_kind": "schedule", "schedule": "NOPE"}]},
            NotFound,
            "levels.0.schedule",
            "'NOPE'",
        ),
        (
            {"levels": [LEVEL, {"target_kind": "person", "user": "ghost"}]},
            NotFound,
            "levels.1.user",
            "'ghost'",
        ),
        ({"levels": [{"target_kind": "queue", "queue": "NOPE"}]}, NotFound, "levels.0.queue", ""),
        (
            {"levels": [{"target_kind": "policy", "handover": "NOPE"}]},
            NotFound,
            "levels.0.handover",
            "",
        ),
        ({"levels": [{"target_kind": "schedule"}]}, InvalidInput, "levels.0.schedule", "needs"),
        ({"levels": [{"target_kind": "person"}]}, InvalidInput, "levels.0.user", "needs"),
        ({"levels": [{"target_kind": "queue"}]}, InvalidInput, "levels.0.queue", "needs"),
        ({"levels": [{"target_kind": "policy"}]}, InvalidInput, "levels.0.handover", "needs"),
        ({"levels": [{**LEVEL, "user": "sam"}]}, InvalidInput, "levels.0.user", "not a person"),
        ({"levels": [{"target_kind": "team"}]}, InvalidInput, "levels.0.target_kind", "'team'"),
        ({"levels": [{**LEVEL, "wait_minutes": 0}]}, InvalidInput, "levels.0.wait_minutes", ""),
        (
            {"levels": [{**LEVEL, "wait_minutes": 1441}]},
            InvalidInput,
            "levels.0.wait_minutes",
            "between 1 and 1440 (got 1441)",
        ),
        ({"levels": [{**LEVEL, "wait_minutes": "5"}]}, InvalidInput, "levels.0.wait_minutes", ""),
        ({"repeat": -1}, InvalidInput, "repeat", "between 0 and 9 (got -1)"),
        ({"repeat": 10}, InvalidInput, "repeat", "(got 10)"),
        (
            {"levels": [{**LEVEL, "channels": ["sms", "fax"]}]},
            InvalidInput,
            "levels.0.channels",
            "unknown channel 'fax'",
        ),
        (
            {"levels": [{**LEVEL, "channels": ["slack"]}]},
            InvalidInput,
            "levels.0.channels",
            "unknown channel",
        ),
        ({"final_user": "ghost"}, NotFound, "final_user", "'ghost'"),
        ({"code": "bad code!"}, InvalidInput, "code", ""),
        ({"name": "  "}, InvalidInput, "name", "empty"),
    ],
)
def test_bad_policies_are_refused_naming_the_field_and_nothing_is_stored(
    setup: Hospital,
    change: dict[str, Any],
    error: type[CareLineError],
    field: str,
    fragment: str,
) -> None:
    values: dict[str, Any] = {"code": "CLINICAL", "name": "Clinical", "levels": [LEVEL]}
    values.update(change)
    with pytest.raises(error) as refused:
        policies.create_policy(setup.manager, **values)
    assert refused.value.field == field
    assert fragment in refused.value.message
    assert not EscalationPolicy.objects.exists()
    assert not EscalationLevel.objects.exists()


def test_a_deactivated_person_and_channels_on_a_hand_over_are_refused(
    setup: Hospital, make: Make
) -> None:
    make("NIGHT")
    setup.agent.is_active = False
    setup.agent.save(update_fields=["is_active"])
    with pytest.raises(InvalidInput) as gone:
        make("CLINICAL", {"target_kind": "person", "user": "priya"})
    assert gone.value.field == "levels.0.user"
    with pytest.raises(InvalidInput) as channels:
        make("CLINICAL", {"target_kind": "policy", "handover": "NIGHT", "channels": ["sms"]})
    assert channels.value.field == "levels.0.channels"


def test_a_duplicate_code_is_a_conflict(make: Make) -> None:
    make("CLINICAL")
    with pytest.raises(Conflict) as duplicate:
        make("CLINICAL")
    assert duplicate.value.field == "code"
    assert EscalationPolicy.objects.count() == 1


# --- hand-over loops -----------------------------------------------------------------------


def test_a_policy_cannot_hand_over_to_itself(setup: Hospital, make: Make) -> None:
    with pytest.raises(InvalidInput) as on_create:
        make("SELF", LEVEL, _handover("SELF"))
    assert on_create.value.field == "levels.1.handover"
    assert "SELF -> SELF" in on_create.value.message
    assert not EscalationPolicy.objects.exists()
    make("CLINICAL")
    with pytest.raises(InvalidInput) as on_replace:
        policies.replace_policy(
            setup.manager, "CLINICAL", name="Clinical", levels=[_handover("CLINICAL")]
        )
    assert "CLINICAL -> CLINICAL" in on_replace.value.message
    assert EscalationLevel.objects.get().target_kind == "schedule"


def test_a_two_policy_loop_is_refused_naming_the_chain(setup: Hospital, make: Make) -> None:
    make("A")
    make("B", LEVEL, _handover("A"))
    with pytest.raises(InvalidInput) as loop:
        policies.replace_policy(setup.manager, "A", name="A", levels=[LEVEL, _handover("B")])
    assert loop.value.field == "levels.1.handover"
    assert "A -> B -> A" in loop.value.message
    assert not EscalationLevel.objects.filter(policy__code="A", target_kind="policy").exists()


def test_a_longer_loop_is_refused_and_a_chain_without_one_is_kept(
    setup: Hospital, make: Make
) -> None:
    make("A")
    make("C", LEVEL, _handover("A"))
    make("B", _handover("C"))
    make("D", _handover("B"))  # D -> B -> C -> A: a chain, no loop
    with pytest.raises(InvalidInput) as loop:
        policies.replace_policy(setup.manager, "A", name="A", levels=[_handover("D")])
    assert "A -> D -> B -> C -> A" in loop.value.message
    # Two ways to the same policy (E -> B -> C and E -> C) are not a loop.
    make("E", _handover("B"), _handover("C"))
    assert EscalationPolicy.objects.count() == 5


# --- deleting ------------------------------------------------------------------------------


def test_a_policy_in_use_cannot_be_deleted_and_the_answer_says_by_what(
    setup: Hospital, make: Make
) -> None:
    night = make("NIGHT")
    make("CLINICAL", LEVEL, _handover("NIGHT"))
    policies.set_routes(setup.manager, [{"priority": "P1", "policy": "NIGHT"}])
    Page.objects.create(
        title="EHR down",
        priority="P1",
        source="manual",
        policy=night,
        storm_until=timezone.now(),
        created_at=timezone.now(),
    )
    with pytest.raises(Conflict) as in_use:
        policies.delete_policy(setup.manager, "NIGHT")
    message = in_use.value.message
    assert "routes P1 any service" in message
    assert "hand-overs from CLINICAL level 2" in message
    assert "1 page" in message
    assert EscalationPolicy.objects.filter(code="NIGHT").exists()
    policies.delete_policy(setup.manager, "CLINICAL")
    assert not EscalationLevel.objects.filter(policy__code="CLINICAL").exists()
    assert AuditEvent.objects.filter(action="escalation_policy.delete").count() == 1
    with pytest.raises(NotFound):
        policies.delete_policy(setup.manager, "CLINICAL")


def test_only_on_call_managers_change_policies(setup: Hospital, make: Make) -> None:
    make("CLINICAL")
    for person in (setup.engineer, setup.agent, setup.auditor, setup.nurse):
        with pytest.raises(Forbidden):
            policies.create_policy(person, code="X", name="X", levels=[LEVEL])
        with pytest.raises(Forbidden):
            policies.delete_policy(person, "CLINICAL")
    assert [p.code for p in policies.list_policies(setup.auditor)] == ["CLINICAL"]
    with pytest.raises(Forbidden):
        policies.list_policies(setup.nurse)


# --- routes --------------------------------------------------------------------------------


def test_the_first_matching_route_wins(setup: Hospital, make: Make) -> None:
    make("EHR-TEAM")
    make("CLINICAL")
    make("DESK")
    ehr = EscalationPolicy.objects.get(code="EHR-TEAM")
    routes = policies.set_routes(
        setup.manager,
        [
            {"priority": "P1", "service": "EHR", "policy": "EHR-TEAM"},
            {"priority": "P2", "policy": "EHR-TEAM", "active": False},
            {"priority": "P1", "policy": "CLINICAL"},
            {"priority": "P2", "policy": "CLINICAL"},
            {"priority": "P3", "policy": "DESK"},
            {"priority": "", "policy": "DESK"},
        ],
    )
    assert [r.position for r in routes] == [10, 20, 30, 40, 50, 60]
    assert [policies.route_text(r) for r in routes[:5]] == [
        "P1, EHR: page at once with EHR-TEAM",
        "P2, any service: page at once with EHR-TEAM (switched off)",
        "P1, any service: page at once with CLINICAL",
        "P2, any service: page at once with CLINICAL",
        "P3, any service: email in business hours with DESK",
    ]
    ehr_service = routes[0].service
    assert ehr_service is not None

    def chosen(priority: str, service_id: int | None) -> tuple[str, str] | None:
        route = policies.match_route(priority, service_id)
        return None if route is None else (route.policy.code, route.urgency)

    assert chosen("P1", ehr_service.pk) == ("EHR-TEAM", "page")
    assert chosen("P1", None) == ("CLINICAL", "page")
    assert chosen("P2", ehr_service.pk) == ("CLINICAL", "page")
    assert chosen("P3", ehr_service.pk) == ("DESK", "business_hours")
    assert chosen("P4", None) == ("DESK", "page")
    assert routes[0].policy == ehr
    policies.set_routes(setup.manager, [])
    assert chosen("P1", None) is None
    assert AuditEvent.objects.filter(action="escalation_route.replace").count() == 2


def test_routes_are_cached_until_changed(
    setup: Hospital, make: Make, django_assert_max_num_queries: Any
) -> None:
    make("CLINICAL")
    make("NIGHT")
    policies.set_routes(setup.manager, [{"priority": "P1", "policy": "CLINICAL"}])
    route = policies.match_route("P1", None)
    assert route is not None
    with django_assert_max_num_queries(0):
        for _ in range(50):
            again = policies.match_route("P1", None)
    assert again is route
    policies.set_routes(setup.manager, [{"priority": "P1", "policy": "NIGHT"}])
    changed = policies.match_route("P1", None)
    assert changed is not None
    assert changed.policy.code == "NIGHT"
    # Renaming a policy is seen at once too.
    policies.replace_policy(setup.manager, "NIGHT", name="Nights", levels=[LEVEL])
    renamed = policies.match_route("P1", None)
    assert renamed is not None
    assert renamed.policy.name == "Nights"


@pytest.mark.parametrize(
    ("route", "error", "field"),
    [
        ({"priority": "P5", "policy": "CLINICAL"}, InvalidInput, "routes.1.priority"),
        ({"priority": "p1", "policy": "CLINICAL"}, InvalidInput, "routes.1.priority"),
        ({"priority": "P1", "service": "NOPE", "policy": "CLINICAL"}, NotFound, "routes.1.service"),
        ({"priority": "P1", "policy": "NOPE"}, NotFound, "routes.1.policy"),
        ({"priority": "P1"}, InvalidInput, "routes.1.policy"),
        (
            {"priority": "P1", "policy": "CLINICAL", "urgency": "business_hours"},
            InvalidInput,
            "routes.1.urgency",
        ),
        (
            {"priority": "", "policy": "CLINICAL", "urgency": "business_hours"},
            InvalidInput,
            "routes.1.urgency",
        ),
        (
            {"priority": "P3", "policy": "CLINICAL", "urgency": "later"},
            InvalidInput,
            "routes.1.urgency",
        ),
        (
            {"priority": "P3", "policy": "CLINICAL", "active": "yes"},
            InvalidInput,
            "routes.1.active",
        ),
    ],
)
def test_bad_routes_are_refused_and_the_old_list_stays(
    setup: Hospital, make: Make, route: dict[str, Any], error: type[CareLineError], field: str
) -> None:
    make("CLINICAL")
    policies.set_routes(setup.manager, [{"priority": "P1", "policy": "CLINICAL"}])
    with pytest.raises(error) as refused:
        policies.set_routes(setup.manager, [{"priority": "P2", "policy": "CLINICAL"}, route])
    assert refused.value.field == field
    assert list(EscalationRoute.objects.values_list("priority", flat=True)) == ["P1"]
    with pytest.raises(Forbidden):
        policies.set_routes(setup.engineer, [])
