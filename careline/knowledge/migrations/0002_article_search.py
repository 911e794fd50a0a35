"""The full-text index behind article search (careline/knowledge/search.py).

On SQLite the index is kept by triggers on knowledge_article. A later migration that makes
Django rebuild that table (SQLite cannot alter some columns in place) drops the triggers
with the old table and must create them again; the search tests fail if it does not.
"""

from django.db import migrations

from careline.core.vendor_sql import run_vendor_sql

COLUMNS = "title, summary, tags, body"
SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE knowledge_article_fts USING fts5(
         {COLUMNS}, content='knowledge_article', content_rowid='id',
         tokenize='porter unicode61')""",
    f"""CREATE TRIGGER knowledge_article_fts_insert AFTER INSERT ON knowledge_article BEGIN
         INSERT INTO knowledge_article_fts(rowid, {COLUMNS})
         VALUES (new.id, new.title, new.summary, new.tags, new.body);
       END""",
    f"""CREATE TRIGGER knowledge_article_fts_delete AFTER DELETE ON knowledge_article BEGIN
         INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, {COLUMNS})
         VALUES ('delete', old.id, old.title, old.summary, old.tags, old.body);
       END""",
    f"""CREATE TRIGGER knowledge_article_fts_update AFTER UPDATE OF {COLUMNS} ON knowledge_article BEGIN
         INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, {COLUMNS})
         VALUES ('delete', old.id, old.title, old.summary, old.tags, old.body);
         INSERT INTO knowledge_article_fts(rowid, {COLUMNS})
         VALUES (new.id, new.title, new.summary, new.tags, new.body);
       END""",
    "INSERT INTO knowledge_article_fts(knowledge_article_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS knowledge_article_fts_insert",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_update",
    "DROP TABLE IF EXISTS knowledge_article_fts",
]
POSTGRES_UP = [
    """ALTER TABLE knowledge_article ADD COLUMN search tsvector GENERATED ALWAYS AS (
         setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
         setweight(to_tsvector('english', coalesce(summary, '') || ' ' || coalesce(tags, '')), 'B') ||
         setweight(to_tsvector('english', coalesce(body, '')), 'C')) STORED""",
    "CREATE INDEX knowledge_article_search ON knowledge_article USING GIN (search)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS knowledge_article_search",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search",
]


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        run_vendor_sql(
            {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP},
            {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN},
        ),
    ]
