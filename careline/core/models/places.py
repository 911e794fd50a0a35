from __future__ import annotations

import zoneinfo

from django.core.validators import RegexValidator
from django.db import models

from careline.core.choices import ClinicalArea, ServiceTier

# Codes are what people type in URLs, CSV imports and API bodies: short, upper-case, stable.
code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{0,31}$",
    "use 1 to 32 upper-case letters, digits, '-' or '_', starting with a letter or digit",
)


class Site(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Department(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="departments")
    clinical_area = models.CharField(max_length=32, choices=ClinicalArea.choices)
    critical = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ClinicalService(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    tier = models.PositiveSmallIntegerField(
        choices=ServiceTier.choices, default=ServiceTier.SUPPORTING
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["tier", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
