"""How each person is reached: contact methods, notification rules and the delivery plan.

Bad input tried: invalid email addresses; invalid and unparseable phone numbers (and a
national number read in another region); a chat handle without a target, through a
webhook-kind target, naming an unknown target, or holding a space; a target on an SMS
number; an unknown kind; a label too long; a duplicate method; a rule naming someone
else's method or no method; delay_minutes -1 and 121; priorities P0, P5, p1 and "any";
a duplicate rule; and people changing contacts that are not theirs.
"""

from __future__ import annotations

from typing import Any

import pytest

from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import AuditEvent, User
from careline.oncall.models import ContactMethod, NotificationRule, WebhookTarget
from careline.oncall.services import contacts, targets
from careline.oncall.services.contacts import Step, delivery_plan, delivery_plans
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db

SAM_MOBILE = "(617) 555-0101"
SAM_E164 = "+16175550101"


def _slack(hospital: Hospital, code: str = "IT-SLACK") -> WebhookTarget:
    return targets.create_target(
        hospital.manager,
        code=code,
        name="IT on-call channel",
        kind="slack",
        url="https://hooks.slack.com/services/T000/B000/secret-token",
    ).target


def _with_email(user: User, email: str) -> User:
    user.email = email
    user.save(update_fields=["email"])
    return user


# --- contact methods -----------------------------------------------------------------------


def test_sam_adds_his_mobile_and_it_is_stored_in_e164_and_audited(hospital: Hospital) -> None:
    sms = contacts.add_contact_method(hospital.engineer, kind="sms", address=SAM_MOBILE)
    assert sms.address == SAM_E164
    assert sms.user == hospital.engineer
    event = AuditEvent.objects.get(action="contact_method.create")
    assert event.actor_name == "sam"
    assert event.after is not None
    assert event.after["address"] == SAM_E164


def test_a_national_number_is_read_in_the_configured_region(
    hospital: Hospital, settings: Any
) -> None:
    settings.PHONE_REGION = "GB"
    voice = contacts.add_contact_method(hospital.engineer, kind="voice", address="020 7946 0018")
    assert voice.address == "+442079460018"


def test_email_is_validated_and_its_domain_normalised(hospital: Hospital) -> None:
    email = contacts.add_contact_method(
        hospital.engineer, kind="email", address=" Sam.Oncall@Northgate.EXAMPLE "
    )
    assert email.address == "Sam.Oncall@northgate.example"


@pytest.mark.parametrize(
    ("kind", "address", "fragment"),
    [
        ("email", "sam@", "valid email address"),
        ("email", "sam at northgate", "valid email address"),
        ("email", "", "must not be empty"),
        ("sms", "12345", "valid phone number"),
        ("sms", "+1 555 123 4567", "valid phone number"),
        ("voice", "call the desk", "valid phone number"),
        ("sms", "020 7946 0018", "valid phone number"),  # a London number read as US
        ("chat", "@sam the engineer", "must not contain spaces"),
    ],
)
def test_bad_addresses_are_refused_naming_the_field(
    hospital: Hospital, kind: str, address: str, fragment: str
) -> None:
    target = _slack(hospital).code if kind == "chat" else None
    with pytest.raises(InvalidInput) as refused:
        contacts.add_contact_method(hospital.engineer, kind=kind, address=address, target=target)
    assert refused.value.field == "address"
    assert fragment in refused.value.message
    assert not ContactMethod.objects.exists()


def test_a_chat_handle_needs_a_slack_or_teams_target(hospital: Hospital) -> None:
    with pytest.raises(InvalidInput) as no_target:
        contacts.add_contact_method(hospital.engineer, kind="chat", address="@sam")
    assert no_target.value.field == "target"
    webhook = targets.create_target(
        hospital.manager,
        code="SIEM",
        name="Security events",
        kind="webhook",
        url="https://siem.northgate.example/hook",
    ).target
    with pytest.raises(InvalidInput) as wrong_kind:
        contacts.add_contact_method(
            hospital.engineer, kind="chat", address="@sam", target=webhook.code
        )
    assert wrong_kind.value.field == "target"
    assert "slack or teams" in wrong_kind.value.message
    with pytest.raises(NotFound) as unknown:
        contacts.add_contact_method(
            hospital.engineer, kind="chat", address="@sam", target="NO-SUCH"
        )
    assert unknown.value.field == "target"
    slack = _slack(hospital)
    with pytest.raises(InvalidInput) as on_sms:
        contacts.add_contact_method(
            hospital.engineer, kind="sms", address=SAM_MOBILE, target=slack.code
        )
    assert on_sms.value.field == "target"
    assert not ContactMethod.objects.exists()
    chat = contacts.add_contact_method(
        hospital.engineer, kind="chat", address="@sam", target=slack.code
    )
    assert chat.target == slack


def test_unknown_kind_long_label_and_duplicates_are_refused(hospital: Hospital) -> None:
    with pytest.raises(InvalidInput) as kind:
        contacts.add_contact_method(hospital.engineer, kind="pager", address="1234")
    assert kind.value.field == "kind"
    with pytest.raises(InvalidInput) as label:
        contacts.add_contact_method(
            hospital.engineer, kind="sms", address=SAM_MOBILE, label="x" * 61
        )
    assert label.value.field == "label"
    contacts.add_contact_method(hospital.engineer, kind="sms", address=SAM_MOBILE)
    with pytest.raises(Conflict) as duplicate:
        contacts.add_contact_method(hospital.engineer, kind="sms", address=SAM_E164)
    assert duplicate.value.field == "address"
    assert ContactMethod.objects.count() == 1


def test_people_manage_their_own_and_managers_anyones(hospital: Hospital) -> None:
    with pytest.raises(Forbidden):
        contacts.add_contact_method(hospital.engineer, kind="sms", address=SAM_MOBILE, user="helen")
    with pytest.raises(Forbidden):
        contacts.add_contact_method(hospital.nurse, kind="sms", address=SAM_MOBILE)
    with pytest.raises(Forbidden):
        contacts.add_contact_method(hospital.auditor, kind="sms", address=SAM_MOBILE)
    helens = contacts.add_contact_method(
        hospital.manager, kind="sms", address="+1 617 555 0102", user="helen"
    )
    for_sam = contacts.add_contact_method(
        hospital.manager, kind="sms", address=SAM_MOBILE, user="sam"
    )
    assert for_sam.user == hospital.engineer
    with pytest.raises(NotFound):
        contacts.add_contact_method(hospital.manager, kind="sms", address=SAM_MOBILE, user="nobody")
    with pytest.raises(Forbidden):
        contacts.remove_contact_method(hospital.engineer, helens.pk)
    with pytest.raises(Forbidden):
        contacts.contact_methods(hospital.engineer, "helen")
    assert [m.address for m in contacts.contact_methods(hospital.auditor, "sam")] == [SAM_E164]
    contacts.remove_contact_method(hospital.engineer, for_sam.pk)
    assert not ContactMethod.objects.filter(user=hospital.engineer).exists()
    with pytest.raises(NotFound):
        contacts.remove_contact_method(hospital.engineer, for_sam.pk)


# --- rules ---------------------------------------------------------------------------------


def test_rules_name_only_the_persons_own_methods_within_bounds(hospital: Hospital) -> None:
    sms = contacts.add_contact_method(hospital.engineer, kind="sms", address=SAM_MOBILE)
    helens = contacts.add_contact_method(hospital.manager, kind="sms", address="+16175550102")
    with pytest.raises(InvalidInput) as someone_elses:
        contacts.add_rule(hospital.engineer, priority="P1", method=helens.pk)
    assert someone_elses.value.field == "method"
    with pytest.raises(InvalidInput) as missing:
        contacts.add_rule(hospital.engineer, priority="P1", method=999_999)
    assert missing.value.field == "method"
    for delay in (-1, 121):
        with pytest.raises(InvalidInput) as bad_delay:
            contacts.add_rule(hospital.engineer, priority="P1", method=sms.pk, delay_minutes=delay)
        assert bad_delay.value.field == "delay_minutes"
        assert f"(got {delay})" in bad_delay.value.message
    for priority in ("P0", "P5", "p1", "any"):
        with pytest.raises(InvalidInput) as bad_priority:
            contacts.add_rule(hospital.engineer, priority=priority, method=sms.pk)
        assert bad_priority.value.field == "priority"
    assert not NotificationRule.objects.exists()
    contacts.add_rule(hospital.engineer, priority="P1", method=sms.pk, delay_minutes=120)
    with pytest.raises(Conflict):
        contacts.add_rule(hospital.engineer, priority="P1", method=sms.pk, delay_minutes=120)
    with pytest.raises(Forbidden):
        contacts.add_rule(hospital.engineer, priority="P1", method=helens.pk, user="helen")
    assert NotificationRule.objects.count() == 1


def test_removing_a_method_removes_its_rules_and_says_so(hospital: Hospital) -> None:
    sms = contacts.add_contact_method(hospital.engineer, kind="sms", address=SAM_MOBILE)
    rule = contacts.add_rule(hospital.engineer, priority="P1", method=sms.pk)
    with pytest.raises(Forbidden):
        contacts.remove_rule(hospital.agent, rule.pk)
    contacts.remove_contact_method(hospital.engineer, sms.pk)
    assert not NotificationRule.objects.exists()
    event = AuditEvent.objects.get(action="contact_method.delete")
    assert "1 rule removed" in event.summary


# --- the delivery plan ---------------------------------------------------------------------


def _sam_reachable(hospital: Hospital) -> dict[str, ContactMethod]:
    sam = _with_email(hospital.engineer, "sam@northgate.example")
    slack = _slack(hospital)
    return {
        "sms": contacts.add_contact_method(sam, kind="sms", address=SAM_MOBILE),
        "voice": contacts.add_contact_method(sam, kind="voice", address=SAM_MOBILE),
        "email": contacts.add_contact_method(
            sam, kind="email", address="sam.pager@northgate.example"
        ),
        "chat": contacts.add_contact_method(sam, kind="chat", address="@sam", target=slack.code),
    }


def test_no_rules_means_an_email_at_once_or_nothing_without_an_address(
    hospital: Hospital,
) -> None:
    sam = _with_email(hospital.engineer, "sam@northgate.example")
    assert delivery_plan(sam, "P1") == [Step("email", "sam@northgate.example", None, 0)]
    assert delivery_plan(hospital.manager, "P1") == []


def test_p1_rules_text_at_once_and_call_after_two_minutes(hospital: Hospital) -> None:
    m = _sam_reachable(hospital)
    sam = hospital.engineer
    contacts.add_rule(sam, priority="P1", method=m["voice"].pk, delay_minutes=2)
    contacts.add_rule(sam, priority="P1", method=m["sms"].pk, delay_minutes=0)
    contacts.add_rule(sam, priority="", method=m["email"].pk, delay_minutes=0)
    assert delivery_plan(sam, "P1") == [
        Step("sms", SAM_E164, None, 0),
        Step("voice", SAM_E164, None, 2),
    ]
    # No P2 rule: his rules for any priority.
    assert delivery_plan(sam, "P2") == [Step("email", "sam.pager@northgate.example", None, 0)]


def test_rules_for_other_priorities_only_fall_back_to_the_account_email(
    hospital: Hospital,
) -> None:
    m = _sam_reachable(hospital)
    contacts.add_rule(hospital.engineer, priority="P1", method=m["sms"].pk)
    assert delivery_plan(hospital.engineer, "P3") == [
        Step("email", "sam@northgate.example", None, 0)
    ]


def test_a_chat_rule_posts_through_its_target(hospital: Hospital) -> None:
    m = _sam_reachable(hospital)
    teams = targets.create_target(
        hospital.manager,
        code="IT-TEAMS",
        name="IT Teams channel",
        kind="teams",
        url="https://northgate.webhook.office.com/webhookb2/abc",
    ).target
    on_teams = contacts.add_contact_method(
        hospital.engineer, kind="chat", address="sam@northgate.example", target=teams.code
    )
    contacts.add_rule(hospital.engineer, priority="P2", method=m["chat"].pk)
    contacts.add_rule(hospital.engineer, priority="P2", method=on_teams.pk, delay_minutes=5)
    plan = delivery_plan(hospital.engineer, "P2")
    assert [(s.channel, s.to, s.delay_minutes) for s in plan] == [
        ("slack", "@sam", 0),
        ("teams", "sam@northgate.example", 5),
    ]
    assert plan[0].target is not None
    assert plan[0].target.code == "IT-SLACK"
    assert plan[1].target == teams


def test_a_switched_off_target_is_skipped_and_email_covers_an_empty_plan(
    hospital: Hospital,
) -> None:
    m = _sam_reachable(hospital)
    contacts.add_rule(hospital.engineer, priority="P1", method=m["chat"].pk)
    targets.update_target(hospital.manager, "IT-SLACK", active=False)
    assert delivery_plan(hospital.engineer, "P1") == [
        Step("email", "sam@northgate.example", None, 0)
    ]


def test_a_levels_channels_use_every_method_of_those_kinds_at_once(hospital: Hospital) -> None:
    m = _sam_reachable(hospital)
    contacts.add_rule(hospital.engineer, priority="P1", method=m["sms"].pk, delay_minutes=10)
    contacts.add_rule(hospital.engineer, priority="P2", method=m["sms"].pk, delay_minutes=3)
    plan = delivery_plan(hospital.engineer, "P1", ["sms", "chat"])
    assert [(s.channel, s.to, s.delay_minutes) for s in plan] == [
        ("sms", SAM_E164, 0),
        ("slack", "@sam", 0),
    ]
    assert delivery_plan(hospital.engineer, "P1", ["email"]) == [
        Step("email", "sam.pager@northgate.example", None, 0)
    ]
    # Helen has no phone: a level asking for a call reaches her by email.
    helen = _with_email(hospital.manager, "helen@northgate.example")
    assert delivery_plan(helen, "P1", ["voice"]) == [
        Step("email", "helen@northgate.example", None, 0)
    ]


def test_the_plan_costs_one_query_however_many_rules_and_people(
    hospital: Hospital, django_assert_max_num_queries: Any
) -> None:
    m = _sam_reachable(hospital)
    for priority in ("", "P1", "P2", "P3"):
        for kind, delay in (("sms", 0), ("voice", 2), ("email", 5), ("chat", 1)):
            contacts.add_rule(
                hospital.engineer, priority=priority, method=m[kind].pk, delay_minutes=delay
            )
    sam = User.objects.get(pk=hospital.engineer.pk)
    with django_assert_max_num_queries(1):
        plan = delivery_plan(sam, "P1")
    assert [s.delay_minutes for s in plan] == [0, 1, 2, 5]
    assert plan[1].target is not None
    assert plan[1].target.kind == "slack"
    people = [sam, hospital.manager, hospital.agent, hospital.admin]
    with django_assert_max_num_queries(1):
        plans = delivery_plans(people, "P1")
    assert plans[sam.pk] == plan
    assert plans[hospital.manager.pk] == []  # no rules, no address
    with django_assert_max_num_queries(1):
        by_channel = delivery_plans(people, "P1", ["sms"])
    assert by_channel[sam.pk] == [Step("sms", SAM_E164, None, 0)]
