"""The full-text index behind ticket search (careline/servicedesk/search.py).

On SQLite the index is kept by triggers on servicedesk_ticket. A later migration that makes
Django rebuild that table (SQLite cannot alter some columns in place) drops the triggers
with the old table and must create them again; the search tests fail if it does not.
"""

from django.db import migrations

from careline.core.vendor_sql import run_vendor_sql

SQLITE_UP = [
    """CREATE VIRTUAL TABLE servicedesk_ticket_fts USING fts5(
         number, title, description, content='servicedesk_ticket', content_rowid='id',
         tokenize='porter unicode61')""",
    """CREATE TRIGGER servicedesk_ticket_fts_insert AFTER INSERT ON servicedesk_ticket BEGIN
         INSERT INTO servicedesk_ticket_fts(rowid, number, title, description)
         VALUES (new.id, new.number, new.title, new.description);
       END""",
    """CREATE TRIGGER servicedesk_ticket_fts_delete AFTER DELETE ON servicedesk_ticket BEGIN
         INSERT INTO servicedesk_ticket_fts(servicedesk_ticket_fts, rowid, number, title, description)
         VALUES ('delete', old.id, old.number, old.title, old.description);
       END""",
    """CREATE TRIGGER servicedesk_ticket_fts_update AFTER UPDATE OF number, title, description ON servicedesk_ticket BEGIN
         INSERT INTO servicedesk_ticket_fts(servicedesk_ticket_fts, rowid, number, title, description)
         VALUES ('delete', old.id, old.number, old.title, old.description);
         INSERT INTO servicedesk_ticket_fts(rowid, number, title, description)
         VALUES (new.id, new.number, new.title, new.description);
       END""",
    "INSERT INTO servicedesk_ticket_fts(servicedesk_ticket_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS servicedesk_ticket_fts_insert",
    "DROP TRIGGER IF EXISTS servicedesk_ticket_fts_delete",
    "DROP TRIGGER IF EXISTS servicedesk_ticket_fts_update",
    "DROP TABLE IF EXISTS servicedesk_ticket_fts",
]
POSTGRES_UP = [
    """ALTER TABLE servicedesk_ticket ADD COLUMN search tsvector GENERATED ALWAYS AS (
         setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
         setweight(to_tsvector('english', coalesce(description, '')), 'B')) STORED""",
    "CREATE INDEX servicedesk_ticket_search ON servicedesk_ticket USING GIN (search)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS servicedesk_ticket_search",
    "ALTER TABLE servicedesk_ticket DROP COLUMN IF EXISTS search",
]


class Migration(migrations.Migration):
    dependencies = [("servicedesk", "0002_default_policies_and_queues")]

    operations = [
        run_vendor_sql({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}, {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
    ]
