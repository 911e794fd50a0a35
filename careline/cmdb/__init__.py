"""The CMDB: configuration items, their relationships, vendors, contracts and BAAs, and the
clinical impact of an item failing."""
