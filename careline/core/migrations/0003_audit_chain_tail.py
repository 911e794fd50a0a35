"""PostgreSQL: take the audit chain's lock and read its last hash in one round trip.

Every audited change ends with these two steps while it holds the chain's lock, and every
other audited change waits for that lock. In a VOLATILE function each query takes a fresh
snapshot, so the hash is read after the lock is granted and is the chain's true end (one
statement with both would read from a snapshot taken before it waited). SQLite needs no
function: its writers already hold the database's write lock.
"""

from django.db import migrations

from careline.core.vendor_sql import run_vendor_sql

# The chain's lock: 0x43_41_52_45_41_55_44, "CAREAUD", CareLine's name for it among
# PostgreSQL's advisory locks (the key the application took itself before this function).
POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION careline_audit_tail() RETURNS varchar AS $$
       BEGIN
         PERFORM pg_advisory_xact_lock(18930645044647236);
         RETURN (SELECT hash FROM core_auditevent ORDER BY id DESC LIMIT 1);
       END $$ LANGUAGE plpgsql VOLATILE""",
]
POSTGRES_DOWN = ["DROP FUNCTION IF EXISTS careline_audit_tail()"]


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]

    operations = [
        run_vendor_sql({"postgresql": POSTGRES_UP}, {"postgresql": POSTGRES_DOWN}),
    ]
