"""Changing configuration items, their relationships, the services they make up and the
departments' reliance on those services: each change in one transaction with its audit event."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from careline.cmdb.choices import RelationKind, Reliance, SupportStatus
from careline.cmdb.models import ConfigItem, DepartmentReliance, Relationship, ServiceComponent
from careline.cmdb.services.fields import ITEM_FIELDS, Lookups, check_item, clean_item
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.core.services import department_by_code, service_by_code

# A risk acceptance is time-limited: it must be looked at again within a year.
MAX_RISK_ACCEPTANCE_DAYS = 366
_RELATED = {"site", "department", "vendor"}


def _snapshot(item: ConfigItem) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for name in ITEM_FIELDS:
        value = getattr(item, f"{name}_id" if name in _RELATED else name)
        snap[name] = value if value is None or isinstance(value, bool | int | str) else str(value)
    return snap


def _values(item: ConfigItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in ITEM_FIELDS}


def get_item(item_id: int) -> ConfigItem:
    try:
        return ConfigItem.objects.select_related("site", "department", "vendor").get(pk=item_id)
    except ConfigItem.DoesNotExist:
        raise NotFound(f"no configuration item has id {item_id}", field="id") from None


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a configuration item named {name!r} already exists", field="name")


def create_item(actor: User | None, values: dict[str, Any]) -> ConfigItem:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    for required in ("name", "item_type"):
        if not values.get(required):
            raise InvalidInput("is required", field=required)
    cleaned = clean_item(values, Lookups())
    check_item(cleaned)
    item = ConfigItem(**cleaned)
    try:
        with transaction.atomic():
            item.save(force_insert=True)
            audit.record(
                "configitem.create",
                actor=actor,
                obj=item,
                summary=f"Configuration item {item.name} ({item.item_type}) created",
                after=_snapshot(item),
            )
    except IntegrityError:
        raise _name_taken(item.name) from None
    return item


def update_item(actor: User, item_id: int, changes: dict[str, Any]) -> ConfigItem:
    require(actor, Perm.CMDB_MANAGE)
    cleaned = clean_item(changes, Lookups())
    try:
        with transaction.atomic():
            item = get_item(item_id)
            before = _snapshot(item)
            values = {**_values(item), **cleaned}
            department = values["department"]
            moved = "site" in cleaned and "department" not in cleaned and department is not None
            if moved and (cleaned["site"] is None or department.site_id != cleaned["site"].pk):
                # A move to another site leaves the old department behind.
                values["department"] = None
            check_item(values)
            for name, value in values.items():
                setattr(item, name, value)
            if item.support_status != SupportStatus.CONSTRAINED:
                _clear_risk_acceptance(item)
            item.save()
            audit.record(
                "configitem.update",
                actor=actor,
                obj=item,
                summary=f"Configuration item {item.name} changed: {', '.join(sorted(changes))}",
                before=before,
                after=_snapshot(item),
            )
    except IntegrityError:
        raise _name_taken(str(cleaned.get("name"))) from None
    return item


def _delete_recorded(
    actor: User,
    obj: Model,
    action: str,
    summary: str,
    before: dict[str, Any] | None = None,
) -> None:
    """Delete a row and record it; the event names the row by the type and id it had, which
    the delete clears. Call inside the transaction."""
    object_type, object_id = obj._meta.label_lower, str(obj.pk)
    obj.delete()
    audit.record(
        action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        before=before,
    )


def delete_item(actor: User, item_id: int) -> None:
    """Remove an item and its relationships; tickets keep their text but lose the link."""
    require(actor, Perm.CMDB_MANAGE)
    with transaction.atomic():
        item = get_item(item_id)
        before = _snapshot(item)
        _delete_recorded(
            actor, item, "configitem.delete", f"Configuration item {before['name']} deleted", before
        )


def _clear_risk_acceptance(item: ConfigItem) -> None:
    item.risk_acceptance_reason = ""
    item.risk_accepted_by = None
    item.risk_accepted_at = None
    item.risk_acceptance_expires = None


def accept_risk(actor: User, item_id: int, *, reason: str, expires: date) -> ConfigItem:
    """An engineer or manager approves running a constrained item, until `expires`."""
    require(actor, Perm.CMDB_MANAGE)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("must say why the risk is accepted", field="reason")
    today = timezone.localdate()
    if expires <= today:
        raise InvalidInput(f"must be after today ({today.isoformat()})", field="expires")
    if expires > today + timedelta(days=MAX_RISK_ACCEPTANCE_DAYS):
        raise InvalidInput(
            f"a risk acceptance lasts at most {MAX_RISK_ACCEPTANCE_DAYS} days "
            f"(until {(today + timedelta(days=MAX_RISK_ACCEPTANCE_DAYS)).isoformat()})",
            field="expires",
        )
    with transaction.atomic():
        item = get_item(item_id)
        if item.support_status != SupportStatus.CONSTRAINED:
            raise Conflict(
                f"{item.name} is {item.support_status}; only a constrained item needs a risk acceptance",
                field="support_status",
            )
        item.risk_acceptance_reason = reason
        item.risk_accepted_by = actor
        item.risk_accepted_at = timezone.now()
        item.risk_acceptance_expires = expires
        item.save()
        audit.record(
            "configitem.accept_risk",
            actor=actor,
            obj=item,
            summary=f"Risk of running {item.name} constrained accepted until {expires.isoformat()}",
            after={"reason": reason, "expires": expires.isoformat()},
        )
    return item


def risk_state(item: ConfigItem, today: date | None = None) -> str:
    """`not_needed`, `missing`, `expired` or `accepted` (until when is on the item)."""
    if item.support_status != SupportStatus.CONSTRAINED:
        return "not_needed"
    if item.risk_acceptance_expires is None:
        return "missing"
    if item.risk_acceptance_expires < (today or timezone.localdate()):
        return "expired"
    return "accepted"


# --- Relationships ---------------------------------------------------------------------


def _item_ref(item_id: int, field_name: str) -> ConfigItem:
    item = ConfigItem.objects.filter(pk=item_id).first()
    if item is None:
        raise InvalidInput(f"no configuration item has id {item_id}", field=field_name)
    return item


def create_relationship(
    actor: User | None, source_id: int, target_id: int, kind: str
) -> Relationship:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    if kind not in RelationKind.values:
        raise InvalidInput(
            f"must be one of {', '.join(RelationKind.values)} (got {kind[:40]!r})", field="kind"
        )
    source = _item_ref(source_id, "source")
    target = _item_ref(target_id, "target")
    if source.pk == target.pk:
        raise InvalidInput("an item cannot relate to itself", field="target")
    relationship = Relationship(source=source, target=target, kind=kind)
    try:
        with transaction.atomic():
            relationship.save(force_insert=True)
            audit.record(
                "relationship.create",
                actor=actor,
                obj=relationship,
                summary=f"{source.name} {RelationKind(kind).label} {target.name}",
                after={"source": source.pk, "target": target.pk, "kind": kind},
            )
    except IntegrityError:
        raise Conflict(
            f"{source.name} already {RelationKind(kind).label} {target.name}", field="target"
        ) from None
    return relationship


def delete_relationship(actor: User, relationship_id: int) -> None:
    require(actor, Perm.CMDB_MANAGE)
    with transaction.atomic():
        relationship = (
            Relationship.objects.select_related("source", "target")
            .filter(pk=relationship_id)
            .first()
        )
        if relationship is None:
            raise NotFound(f"no relationship has id {relationship_id}", field="id")
        summary = f"{relationship.source.name} no longer {RelationKind(relationship.kind).label} {relationship.target.name}"
        _delete_recorded(actor, relationship, "relationship.delete", summary)


# --- What services are made of, and who relies on them ---------------------------------


def add_component(
    actor: User | None, service: str, item_id: int, *, redundant: bool = False
) -> ServiceComponent:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    clinical_service = service_by_code(service)
    item = _item_ref(item_id, "item")
    component = ServiceComponent(service=clinical_service, item=item, redundant=redundant)
    try:
        with transaction.atomic():
            component.save(force_insert=True)
            audit.record(
                "servicecomponent.create",
                actor=actor,
                obj=component,
                summary=f"{item.name} is part of {clinical_service.code}"
                + (" (redundant)" if redundant else ""),
            )
    except IntegrityError:
        raise Conflict(
            f"{item.name} is already part of {clinical_service.code}", field="item"
        ) from None
    return component


def remove_component(actor: User, component_id: int) -> None:
    require(actor, Perm.CMDB_MANAGE)
    with transaction.atomic():
        component = ServiceComponent.objects.filter(pk=component_id).first()
        if component is None:
            raise NotFound(f"no service component has id {component_id}", field="id")
        _delete_recorded(
            actor,
            component,
            "servicecomponent.delete",
            f"Item {component.item_id} removed from service {component.service_id}",
        )


def set_reliance(
    actor: User | None, department: str, service: str, criticality: str
) -> DepartmentReliance:
    """A department relies on a service this much (created, or changed if it already did)."""
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    if criticality not in Reliance.values:
        raise InvalidInput(
            f"must be one of {', '.join(Reliance.values)} (got {criticality[:40]!r})",
            field="criticality",
        )
    dept = department_by_code(department)
    clinical_service = service_by_code(service)
    with transaction.atomic():
        reliance, created = DepartmentReliance.objects.select_for_update().get_or_create(
            department=dept, service=clinical_service, defaults={"criticality": criticality}
        )
        before = None if created else {"criticality": reliance.criticality}
        if not created:
            reliance.criticality = criticality
            reliance.save(update_fields=["criticality"])
        audit.record(
            "reliance.set",
            actor=actor,
            obj=reliance,
            summary=f"{dept.code} relies on {clinical_service.code}: {criticality}",
            before=before,
            after={"criticality": criticality},
        )
    return reliance


def remove_reliance(actor: User, reliance_id: int) -> None:
    require(actor, Perm.CMDB_MANAGE)
    with transaction.atomic():
        reliance = DepartmentReliance.objects.filter(pk=reliance_id).first()
        if reliance is None:
            raise NotFound(f"no reliance has id {reliance_id}", field="id")
        _delete_recorded(
            actor,
            reliance,
            "reliance.delete",
            f"Department {reliance.department_id} no longer relies on service {reliance.service_id}",
        )
