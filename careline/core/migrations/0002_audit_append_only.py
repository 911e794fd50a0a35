"""Database triggers that make the audit trail append-only.

The application never updates or deletes an audit event; these triggers make the database
refuse it too, whoever asks. Someone with DDL rights can still drop them, which is why
`careline audit verify` checks the hash chain as well. A later migration that makes Django
rebuild core_auditevent on SQLite drops these triggers with the old table and must create
them again (tests/core/test_audit.py fails if it does not).
"""

from django.db import migrations

from careline.core.vendor_sql import run_vendor_sql

SQLITE_UP = [
    """CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
]

POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION careline_audit_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE ON core_auditevent
       FOR EACH ROW EXECUTE FUNCTION careline_audit_append_only()""",
    """CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION careline_audit_append_only()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent",
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
    "DROP FUNCTION IF EXISTS careline_audit_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        run_vendor_sql({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}, {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
    ]
