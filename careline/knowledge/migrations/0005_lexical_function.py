"""PostgreSQL: article ranking as a function that reads matches through the GIN index.

The planner prices a sequential scan of knowledge_article as cheap, not knowing that testing
each row reads its full-text vector out of line (TOAST): at 10,000 articles a query matching
a tenth of them took 40-60 ms that way against 15 ms through the index. The function turns
the sequential scan off for its own statement only (SET on the function), and takes the
matches from the index before it checks status and audience, so no other index is chosen
instead. See careline/knowledge/search.py, _lexical.
"""

from django.db import migrations

from careline.core.vendor_sql import run_vendor_sql

CREATE = """
CREATE FUNCTION knowledge_lexical(words text, wanted_status text, audience_a text,
                                  audience_b text, how_many integer)
RETURNS TABLE (id bigint)
LANGUAGE sql STABLE
SET enable_seqscan = off
AS $$
    WITH q AS (SELECT websearch_to_tsquery('english', words) AS q),
    matched AS MATERIALIZED (
        SELECT a.id FROM knowledge_article a, q WHERE a.search @@ q.q
    )
    SELECT a.id FROM matched m JOIN knowledge_article a ON a.id = m.id, q
    WHERE a.status = wanted_status AND a.audience IN (audience_a, audience_b)
    ORDER BY ts_rank_cd('{0.05, 0.2, 0.5, 1.0}', a.search, q.q, 1) DESC, a.id
    LIMIT how_many
$$
"""
DROP = "DROP FUNCTION IF EXISTS knowledge_lexical(text, text, text, text, integer)"


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0004_article_asked_as"),
    ]

    operations = [run_vendor_sql({"postgresql": [CREATE]}, {"postgresql": [DROP]})]
