from __future__ import annotations

from django.db import models
from django.db.models import Q

from careline.cmdb.choices import BaaStatus, BudgetScope, Severity
from careline.cmdb.models.items import ConfigItem
from careline.core.models import ClinicalService, Department


class Vendor(models.Model):
    name = models.CharField(max_length=200, unique=True)
    website = models.CharField(max_length=300, blank=True)
    support_phone = models.CharField(max_length=50, blank=True)
    support_email = models.EmailField(blank=True)
    support_portal = models.CharField(max_length=300, blank=True)
    account_number = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VendorContact(models.Model):
    """A person at the vendor; `escalation_level` orders the escalation path (1 first)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=150)
    role = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    email = models.EmailField(blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["vendor", "escalation_level", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor_id})"


class Contract(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="contracts")
    reference = models.CharField(max_length=100, unique=True)
    coverage = models.TextField(blank=True, help_text="what the contract covers, in words")
    items = models.ManyToManyField(ConfigItem, blank=True, related_name="contracts")
    sla = models.CharField(max_length=300, blank=True, help_text="e.g. 4-hour on-site, 24/7")
    starts_on = models.DateField()
    ends_on = models.DateField()
    yearly_cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    renewal_notice_days = models.PositiveIntegerField(default=90)

    class Meta:
        ordering = ["ends_on", "reference"]
        indexes = [models.Index(fields=["ends_on"], name="cmdb_contract_ends")]

    def __str__(self) -> str:
        return self.reference


class Baa(models.Model):
    """A Business Associate Agreement: the vendor may handle PHI while one is active."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="baas")
    status = models.CharField(max_length=12, choices=BaaStatus.choices, default=BaaStatus.DRAFT)
    signed_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    breach_notification_days = models.PositiveSmallIntegerField(
        default=60, help_text="days the vendor has to report a breach to the hospital"
    )
    subcontractors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["vendor", "-signed_on"]
        indexes = [models.Index(fields=["vendor", "status"], name="cmdb_baa_vendor_status")]

    def __str__(self) -> str:
        return f"BAA {self.pk} with {self.vendor_id}"


class ExpiryReminder(models.Model):
    """One reminder sent before a contract or BAA expires. The unique row is the claim:
    a restarted or second engine finds it and sends nothing again."""

    object_type = models.CharField(max_length=10)  # "contract" or "baa"
    object_id = models.PositiveBigIntegerField()
    expires_on = models.DateField()
    days_before = models.PositiveIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id", "expires_on", "days_before"],
                name="cmdb_reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} {self.days_before}d"


class Vulnerability(models.Model):
    """A finding of the vulnerability scanner on an item; open until `fixed_on`."""

    item = models.ForeignKey(ConfigItem, on_delete=models.CASCADE, related_name="vulnerabilities")
    cve = models.CharField(max_length=30)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    first_seen = models.DateField()
    fixed_on = models.DateField(null=True, blank=True)
    patch_due = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "cve"], name="cmdb_vuln_once")]
        indexes = [
            models.Index(
                fields=["patch_due"], name="cmdb_vuln_open_due", condition=Q(fixed_on__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.cve} on {self.item_id}"


class Budget(models.Model):
    """A year's budget for one service, department or vendor."""

    year = models.PositiveSmallIntegerField()
    scope = models.CharField(max_length=10, choices=BudgetScope.choices)
    service = models.ForeignKey(
        ClinicalService, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="budgets"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["year", "scope", "service", "department", "vendor"], name="cmdb_budget_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.scope} {self.amount}"
