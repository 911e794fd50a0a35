from __future__ import annotations

from django.db import models

from careline.core.models import Site
from careline.servicedesk.choices import Kind, Priority


class SlaPolicy(models.Model):
    """Response and resolution targets for one kind and priority.

    `business_hours` False: a 24/7 clock (P1, P2: the hospital never closes). True: the
    clock runs only in the site's business hours (BusinessCalendar).
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    respond_minutes = models.PositiveIntegerField()
    resolve_minutes = models.PositiveIntegerField()
    business_hours = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind", "priority"]
        constraints = [models.UniqueConstraint(fields=["kind", "priority"], name="sla_policy_once")]

    def __str__(self) -> str:
        clock = "business hours" if self.business_hours else "24/7"
        return f"{self.kind} {self.priority}: respond {self.respond_minutes} min, resolve {self.resolve_minutes} min ({clock})"


class BusinessCalendar(models.Model):
    """A site's business hours, in the site's time zone: one interval a day on the given weekdays."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="business_calendar")
    opens = models.TimeField(default="08:00")
    closes = models.TimeField(default="18:00")
    # Comma-separated ISO weekdays counted from Monday = 0: "0,1,2,3,4" is Monday to Friday.
    weekdays = models.CharField(max_length=20, default="0,1,2,3,4")

    def __str__(self) -> str:
        return f"{self.site.code} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="holiday_once")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.date} {self.name}"
