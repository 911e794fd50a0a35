"""How staff describe the problem (Article.asked_as), kept in the version history too.

On SQLite, adding a column with a default makes Django rebuild knowledge_article, which
drops the triggers that keep the full-text index current (see 0002_article_search): they
are created again afterwards, and again when the migration is reversed.
"""

import importlib

from django.db import migrations, models

from careline.core.vendor_sql import run_vendor_sql

_search = importlib.import_module("careline.knowledge.migrations.0002_article_search")
TRIGGERS = [s for s in _search.SQLITE_UP if s.lstrip().startswith("CREATE TRIGGER")]
DROP_TRIGGERS = [s for s in _search.SQLITE_DOWN if s.startswith("DROP TRIGGER")]
RECREATE = {"sqlite": DROP_TRIGGERS + TRIGGERS}
NOTHING: dict[str, list[str]] = {}


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0003_search_freshness_index"),
    ]

    operations = [
        # Reversed last: the rebuild that removes the column drops the triggers again.
        run_vendor_sql(NOTHING, RECREATE),
        migrations.AddField(
            model_name="article",
            name="asked_as",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="articleversion",
            name="asked_as",
            field=models.TextField(blank=True, default=""),
        ),
        run_vendor_sql(RECREATE, NOTHING),
    ]
