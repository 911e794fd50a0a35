from careline.cmdb.models.items import (
    ConfigItem,
    DepartmentReliance,
    Relationship,
    ServiceComponent,
)
from careline.cmdb.models.vendors import (
    Baa,
    Budget,
    Contract,
    ExpiryReminder,
    Vendor,
    VendorContact,
    Vulnerability,
)

__all__ = [
    "Baa",
    "Budget",
    "ConfigItem",
    "Contract",
    "DepartmentReliance",
    "ExpiryReminder",
    "Relationship",
    "ServiceComponent",
    "Vendor",
    "VendorContact",
    "Vulnerability",
]
