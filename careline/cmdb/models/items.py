from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.cmdb.choices import ItemStatus, ItemType, RelationKind, Reliance, SupportStatus
from careline.core.models import ClinicalService, Department, Site


class ConfigItem(models.Model):
    """Anything IT looks after that care can depend on: an application, a server, a VM, a
    database, a switch, a workstation, a printer, a scanner, a medical device, an HL7 or
    DICOM interface, a cloud service.

    Names are unique: people, CSV files and monitors refer to an item by its name.
    """

    name = models.CharField(max_length=200, unique=True)
    item_type = models.CharField(max_length=20, choices=ItemType.choices)
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.LIVE)
    description = models.TextField(blank=True)

    # Where it is and who looks after it.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="config_items"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="config_items"
    )
    room = models.CharField(max_length=100, blank=True)
    owner_team = models.CharField(max_length=100, blank=True)

    # On the network.
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    hostname = models.CharField(max_length=253, blank=True)
    network_segment = models.CharField(max_length=100, blank=True)

    # What it is.
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    os_name = models.CharField(max_length=100, blank=True)
    os_version = models.CharField(max_length=50, blank=True)
    os_end_of_life = models.DateField(null=True, blank=True)
    vendor = models.ForeignKey(
        "cmdb.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )

    # Lifecycle and money.
    purchase_date = models.DateField(null=True, blank=True)
    purchase_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    yearly_cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="running cost per year outside any contract (licences, hosting)",
    )
    warranty_end = models.DateField(null=True, blank=True)
    end_of_life = models.DateField(null=True, blank=True)
    replacement_due = models.DateField(null=True, blank=True)
    replacement_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    # Support, and what stands in for patching when it cannot be patched.
    support_status = models.CharField(
        max_length=12, choices=SupportStatus.choices, default=SupportStatus.SUPPORTED
    )
    compensating_controls = models.TextField(blank=True)
    risk_acceptance_reason = models.TextField(blank=True)
    risk_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    risk_accepted_at = models.DateTimeField(null=True, blank=True)
    risk_acceptance_expires = models.DateField(null=True, blank=True)

    # Medical devices: the UDI in its two parts, the MDS2 security form, and two owners.
    udi_device_identifier = models.CharField(max_length=100, blank=True)
    udi_production_identifier = models.CharField(max_length=100, blank=True)
    mds2_on_file = models.BooleanField(default=False)
    clinical_engineering_owner = models.CharField(max_length=150, blank=True)
    it_owner = models.CharField(max_length=150, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["item_type", "status"], name="cmdb_item_type_status"),
            models.Index(fields=["hostname"], name="cmdb_item_hostname"),
            models.Index(fields=["ip_address"], name="cmdb_item_ip"),
            # The lifecycle reports: each a range over one date, only where it is set.
            models.Index(
                fields=["warranty_end"],
                name="cmdb_item_warranty",
                condition=Q(warranty_end__isnull=False),
            ),
            models.Index(
                fields=["os_end_of_life"],
                name="cmdb_item_os_eol",
                condition=Q(os_end_of_life__isnull=False),
            ),
            models.Index(
                fields=["replacement_due"],
                name="cmdb_item_replacement",
                condition=Q(replacement_due__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Relationship(models.Model):
    """`source` depends on, runs on or connects to `target`: when the target fails, the
    source is affected. Impact walks these edges backwards, from target to source."""

    source = models.ForeignKey(ConfigItem, on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(ConfigItem, on_delete=models.CASCADE, related_name="incoming")
    kind = models.CharField(max_length=12, choices=RelationKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="cmdb_relationship_once"
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="cmdb_relationship_not_self"
            ),
        ]
        indexes = [
            # The impact walk's one hot lookup: who points at this item. Covering, so the
            # recursive step reads the index alone.
            models.Index(fields=["target", "source"], name="cmdb_rel_target_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class ServiceComponent(models.Model):
    """A clinical service is made of items. A redundant component's failure degrades the
    service (its twin carries on); any other component's failure takes the service down."""

    service = models.ForeignKey(
        ClinicalService, on_delete=models.CASCADE, related_name="components"
    )
    item = models.ForeignKey(ConfigItem, on_delete=models.CASCADE, related_name="service_roles")
    redundant = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "service"], name="cmdb_component_once"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} <- {self.item_id}"


class DepartmentReliance(models.Model):
    """A department relies on a clinical service, and how much."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="reliances")
    service = models.ForeignKey(ClinicalService, on_delete=models.CASCADE, related_name="reliances")
    criticality = models.CharField(max_length=12, choices=Reliance.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "department"], name="cmdb_reliance_once"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} relies on {self.service_id} ({self.criticality})"
