"""The service desk's web forms.

Forms read what a browser sends and render the controls; they do not hold the rules. Enum
values, codes and lengths are checked by the service functions, whose errors (a
CareLineError naming its field) are put back next to that field with `add_domain_error`.
Each form on the ticket page has its own `auto_id` so that the many forms on one page never
share an element id, while the names posted stay plain (`body`, `version`, ...).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.forms.utils import ErrorList

from careline.core.cached import cached
from careline.core.errors import CareLineError
from careline.core.models import ClinicalService, Department, Site, User
from careline.servicedesk.choices import (
    BreachRisk,
    CareEffect,
    Kind,
    LinkKind,
    Priority,
    ResolutionCode,
    Scope,
    SecurityOutcome,
    Status,
)
from careline.servicedesk.models import Queue
from careline.servicedesk.services.sla import CONFIG_CACHE_SECONDS
from careline.servicedesk.services.tickets import TicketDraft

Choices = list[tuple[str, Any]]

# The portal's words for the three kinds: what a clinician would say, not ITIL.
KIND_CHOICES: Choices = [
    (Kind.INCIDENT.value, "Something is broken or not working"),
    (Kind.REQUEST.value, "I need something (a request)"),
    (Kind.SECURITY.value, "Security problem (lost device, suspicious email)"),
]
NOT_SURE = "Something else / not sure"


def service_choices(blank: str) -> Choices:
    return [("", blank)] + [
        (code, name)
        for code, name in ClinicalService.objects.order_by("name").values_list("code", "name")
    ]


def department_choices() -> Choices:
    """Departments grouped by site, for a select with one optgroup per site."""
    groups: dict[str, Choices] = {}
    for department in Department.objects.select_related("site").order_by("site__name", "name"):
        groups.setdefault(department.site.name, []).append((department.code, department.name))
    return list(groups.items())


class CareLineForm(forms.Form):
    """A form that can show a service's refusal next to the field it names."""

    def add_domain_error(self, exc: CareLineError) -> None:
        field = exc.field if exc.field in self.fields else None
        if field is not None and self.fields[field].widget.is_hidden:
            field = None
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        self.add_error(field, exc.message)
        self.describe_errors()

    def describe_errors(self) -> None:
        """Point each control at its error message, so screen readers read them together."""
        for name in self.errors:
            if name in self.fields and not self.fields[name].widget.is_hidden:
                attrs = self.fields[name].widget.attrs
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"
                attrs["aria-invalid"] = "true"

    @property
    def general_errors(self) -> list[str]:
        """Errors not shown beside a visible control: the form's own and its hidden fields'."""
        found = [str(e) for e in self.non_field_errors()]
        for field in self.hidden_fields():
            found += [str(e) for e in field.errors]
        return found

    def first_error(self) -> str:
        for name, errors in self.errors.items():
            if errors:
                label = self.fields[name].label if name in self.fields else None
                text = errors[0] if isinstance(errors, ErrorList) else str(errors)
                return f"{label}: {text}" if label else str(text)
        return ""


def _version_field() -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


# ---------------------------------------------------------------------------------------
# The portal


class ReportForm(CareLineForm):
    """Report a problem: three plain questions, a title, and where."""

    service = forms.CharField(
        required=False,
        label="What is affected?",
        help_text="The system or equipment that is not working.",
        widget=forms.Select(attrs={"autocomplete": "off"}),
    )
    title = forms.CharField(
        label="What's wrong?",
        help_text="A few words, for example “Scanner won't read wristbands”.",
        error_messages={"required": "Say in a few words what is wrong."},
        widget=forms.TextInput(
            attrs={"maxlength": settings.MAX_TITLE_LENGTH, "autocomplete": "off"}
        ),
    )
    care_effect = forms.CharField(
        label="How does it affect patient care?",
        error_messages={"required": "Choose how it affects patient care."},
        widget=forms.RadioSelect(choices=CareEffect.choices),
    )
    scope = forms.CharField(
        label="How many people?",
        error_messages={"required": "Choose how many people have the problem."},
        widget=forms.RadioSelect(choices=Scope.choices),
    )
    description = forms.CharField(
        required=False,
        label="Details",
        help_text="What you were doing, what you saw, where. No patient details are needed.",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": settings.MAX_DESCRIPTION_LENGTH}),
    )
    department = forms.CharField(
        label="Your department",
        error_messages={"required": "Choose the department where the problem is."},
        widget=forms.Select(),
    )
    kind = forms.CharField(
        required=False,
        label="What kind of problem is it?",
        widget=forms.RadioSelect(choices=KIND_CHOICES),
    )
    phi_breach_suspected = forms.BooleanField(
        required=False,
        label="Patient information may have been seen by someone who should not have seen it",
        help_text="Security problems only, for example a lost laptop or a misdirected email.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("kind", Kind.INCIDENT.value)
        if user.department is not None:
            kwargs["initial"].setdefault("department", user.department.code)
        super().__init__(*args, **kwargs)
        service = self.fields["service"].widget
        assert isinstance(service, forms.Select)
        service.choices = service_choices(NOT_SURE)
        department = self.fields["department"].widget
        assert isinstance(department, forms.Select)
        department.choices = [("", "Choose your department"), *department_choices()]

    def draft(self) -> TicketDraft:
        data = self.cleaned_data
        return TicketDraft(
            kind=data["kind"] or Kind.INCIDENT,
            title=data["title"],
            description=data["description"],
            department=data["department"],
            care_effect=data["care_effect"],
            scope=data["scope"],
            service=data["service"] or None,
            phi_breach_suspected=data["phi_breach_suspected"],
            via="web",
        )


# ---------------------------------------------------------------------------------------
# The ticket page


class ReplyForm(CareLineForm):
    """A requester's reply: always public."""

    body = forms.CharField(
        label="Your reply",
        error_messages={"required": "Write your reply first."},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": settings.MAX_DESCRIPTION_LENGTH}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)


class CommentForm(CareLineForm):
    """Staff: a reply the requester sees, or an internal note, with the time it took."""

    body = forms.CharField(
        label="Reply or internal note",
        error_messages={"required": "Write the reply or note first."},
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": settings.MAX_DESCRIPTION_LENGTH}),
    )
    minutes_spent = forms.IntegerField(
        required=False,
        label="Minutes spent",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 1440}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "comment_%s")
        super().__init__(*args, **kwargs)


class ConfirmForm(CareLineForm):
    """The requester's answer to a resolution: fixed (closed) or still broken (in progress)."""

    version = _version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "confirm_%s")
        super().__init__(*args, **kwargs)


class StatusForm(CareLineForm):
    status = forms.CharField(
        label="New status",
        error_messages={"required": "Choose the new status."},
        widget=forms.Select(),
    )
    version = _version_field()

    def __init__(self, *args: Any, allowed: list[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "status_%s")
        super().__init__(*args, **kwargs)
        widget = self.fields["status"].widget
        assert isinstance(widget, forms.Select)
        labels = dict(Status.choices)
        # Resolving has its own form, which asks what was done.
        widget.choices = [("", "Choose a status")] + [
            (s, labels[s])
            for s in (allowed if allowed is not None else Status.values)
            if s != Status.RESOLVED
        ]


class ResolveForm(CareLineForm):
    resolution_code = forms.CharField(
        label="Resolution",
        widget=forms.Select(choices=[("", "Choose what fixed it"), *ResolutionCode.choices]),
    )
    resolution_notes = forms.CharField(
        label="What was done",
        help_text="The requester sees this.",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": settings.MAX_DESCRIPTION_LENGTH}),
    )
    version = _version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "resolve_%s")
        super().__init__(*args, **kwargs)
        # An empty choice or note is for the service to refuse, with its own words.
        for name in ("resolution_code", "resolution_notes"):
            self.fields[name].required = False


def staff_choices(blank: str, extra: Choices | None = None) -> Choices:
    """IT staff who can work tickets (the auditor reads only)."""
    people = User.objects.filter(
        is_active=True, role__in=["agent", "engineer", "manager", "admin"]
    ).order_by("first_name", "username")
    return [("", blank), *(extra or []), *((u.username, u.display_name) for u in people)]


QUEUE_NAMES_KEY = "desk:queue-names"


def _queue_names() -> list[tuple[str, str]]:
    return list(Queue.objects.order_by("name").values_list("code", "name"))


def queue_choices(blank: str) -> Choices:
    # Every ticket page and the console offer the queues; they change rarely.
    return [("", blank), *cached(QUEUE_NAMES_KEY, _queue_names, CONFIG_CACHE_SECONDS)]


class AssignForm(CareLineForm):
    assignee = forms.CharField(required=False, label="Assignee", widget=forms.Select())
    queue = forms.CharField(required=False, label="Queue", widget=forms.Select())
    version = _version_field()

    def __init__(
        self,
        *args: Any,
        people: Choices | None = None,
        queues: Choices | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "assign_%s")
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"].widget
        queue = self.fields["queue"].widget
        assert isinstance(assignee, forms.Select)
        assert isinstance(queue, forms.Select)
        assignee.choices = people if people is not None else staff_choices("Nobody")
        queue.choices = queues if queues is not None else queue_choices("Keep the current queue")


class PriorityForm(CareLineForm):
    priority = forms.CharField(label="Priority", widget=forms.Select(choices=Priority.choices))
    reason = forms.CharField(
        required=False,
        label="Reason for the override",
        widget=forms.TextInput(attrs={"maxlength": 300}),
    )
    version = _version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "priority_%s")
        super().__init__(*args, **kwargs)


class ConfigItemForm(CareLineForm):
    item = forms.CharField(
        required=False,
        max_length=200,
        label="Failed item (its CMDB name; empty clears it)",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    version = _version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "item_%s")
        super().__init__(*args, **kwargs)


class VendorForm(CareLineForm):
    vendor = forms.TypedChoiceField(label="Vendor", coerce=int)
    version = _version_field()

    def __init__(self, *args: Any, vendors: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "vendor_%s")
        super().__init__(*args, **kwargs)
        self.fields["vendor"].choices = vendors  # type: ignore[attr-defined]


class MergeForm(CareLineForm):
    into = forms.CharField(
        label="Merge into ticket",
        help_text="Its number (INC-000123) or id. This ticket is closed as a duplicate.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 20}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "merge_%s")
        super().__init__(*args, **kwargs)


class LinkForm(CareLineForm):
    kind = forms.CharField(label="Link as", widget=forms.Select(choices=LinkKind.choices))
    target = forms.CharField(
        label="Other ticket",
        help_text="Its number (INC-000123) or id.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 20}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "link_%s")
        super().__init__(*args, **kwargs)


class MajorForm(CareLineForm):
    version = _version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "major_%s")
        super().__init__(*args, **kwargs)


class SecurityForm(CareLineForm):
    security_outcome = forms.CharField(
        required=False,
        label="Outcome",
        widget=forms.Select(choices=[("", "Not yet known"), *SecurityOutcome.choices]),
    )
    breach_risk = forms.CharField(
        required=False,
        label="Probability PHI was compromised",
        widget=forms.Select(choices=[("", "Not yet assessed"), *BreachRisk.choices]),
    )
    breach_assessment = forms.CharField(
        required=False,
        label="Assessment",
        help_text="The PHI involved, who saw or took it, whether it was acquired, mitigation.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    version = _version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "security_%s")
        super().__init__(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# The agent console


class ConsoleFilterForm(CareLineForm):
    """Renders the console's filters. TicketFilter (the API's) is what checks the values."""

    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"type": "search"})
    )
    queue = forms.CharField(required=False, label="Queue", widget=forms.Select())
    status = forms.CharField(
        required=False,
        label="Status",
        widget=forms.Select(choices=[("", "Any open"), *Status.choices, ("all", "Any status")]),
    )
    priority = forms.CharField(
        required=False,
        label="Priority",
        widget=forms.Select(choices=[("", "Any"), *Priority.choices]),
    )
    site = forms.CharField(required=False, label="Site", widget=forms.Select())
    department = forms.CharField(required=False, label="Department", widget=forms.Select())
    service = forms.CharField(required=False, label="Service", widget=forms.Select())
    assignee = forms.CharField(required=False, label="Assignee", widget=forms.Select())

    def __init__(self, *args: Any, people: Choices, queues: Choices, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        choices: dict[str, Choices] = {
            "queue": [("", "Any"), *queues[1:]],
            "site": [("", "Any"), *Site.objects.values_list("code", "name")],
            "department": [("", "Any"), *department_choices()],
            "service": service_choices("Any"),
            "assignee": [("", "Anyone"), ("me", "Me"), ("none", "Nobody"), *people[1:]],
        }
        for name, values in choices.items():
            widget = self.fields[name].widget
            assert isinstance(widget, forms.Select)
            widget.choices = values


class BulkForm(CareLineForm):
    """The controls above the queue table; the ticket checkboxes are read from the POST."""

    assignee = forms.CharField(required=False, label="Assign to", widget=forms.Select())
    status = forms.CharField(
        required=False,
        label="Set status to",
        widget=forms.Select(
            choices=[
                ("", "Choose a status"),
                *((s, label) for s, label in Status.choices if s not in ("resolved", "closed")),
            ]
        ),
    )

    def __init__(self, *args: Any, people: Choices, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        widget = self.fields["assignee"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [("", "Choose a person"), ("me", "Me"), ("none", "Nobody"), *people[1:]]


class SavedViewForm(CareLineForm):
    name = forms.CharField(
        label="Save these filters as",
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 100, "placeholder": "e.g. My P1 and P2"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "saved_%s")
        super().__init__(*args, **kwargs)
