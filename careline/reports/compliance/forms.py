"""The filters of each compliance report, checked the same way for the page, its exports and
the API: a bad value is refused with the field's name, never ignored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from careline.core.choices import Role
from careline.core.models import User
from careline.servicedesk.choices import SecurityOutcome

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PHI_DEFAULT_DAYS = 30
# Longer periods are read through the CSV export in parts: a period is one query's worth.
MAX_PERIOD_DAYS = 3660
PENDING = "pending"


class ReportForm(forms.Form):
    """Base of every report's filters; `applied()` names them in words for the printout."""

    def applied(self) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "", False):
                continue
            field = self.fields[name]
            if isinstance(field, forms.ChoiceField):
                value = dict(field.choices).get(value, value)  # type: ignore[arg-type]
            elif isinstance(value, User):
                value = value.username
            elif value is True:
                value = "yes"
            shown[str(self[name].label)] = str(value)
        return shown


class PeriodForm(ReportForm):
    since = forms.DateField(required=False, label="From", widget=DATE_INPUT)
    until = forms.DateField(required=False, label="Until", widget=DATE_INPUT)
    # A report over a log that grows every day reads this many days up to today by default.
    default_days: int | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "since" not in data or "until" not in data:
            return data  # one of them was refused already, with its own message
        since, until = data["since"], data["until"]
        if self.default_days is not None:
            until = until or timezone.localdate()
            since = since or until - timedelta(days=self.default_days - 1)
            data.update(since=since, until=until)
        if since and until:
            if until < since:
                self.add_error("until", f"must not be before From ({since.isoformat()})")
            elif (until - since).days > MAX_PERIOD_DAYS:
                self.add_error("until", f"the period must be at most {MAX_PERIOD_DAYS} days")
        return data


def _user_field() -> forms.CharField:
    return forms.CharField(required=False, max_length=150, label="User (username)")


def _known_user(username: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise forms.ValidationError(f"no user is named {username!r}")
    return user


class AccessReviewForm(ReportForm):
    role = forms.ChoiceField(required=False, choices=[("", "Every role"), *Role.choices])
    dormant = forms.BooleanField(required=False, label="Dormant only")


class PhiViewsForm(PeriodForm):
    user = _user_field()
    # The access log grows with every read: without a period, the last month.
    default_days = PHI_DEFAULT_DAYS

    def clean_user(self) -> User | None:
        return _known_user(self.cleaned_data.get("user", "").strip())


class SecurityIncidentsForm(PeriodForm):
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "Any outcome"), (PENDING, "Not yet assessed"), *SecurityOutcome.choices],
    )


class BaaStatusForm(ReportForm):
    problems = forms.BooleanField(required=False, label="Needing action only")
