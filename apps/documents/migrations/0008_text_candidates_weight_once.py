import importlib

from django.db import migrations

# ADR 0027, docs/search.md. Two changes to the search's SQL, same signatures, same rankings:
#
# - documents_text_candidates computes each posting's BM25 weight once and whether its term was cut short once per
#   term. Migration 0006's version summed the weight expression three times per posting, and two of the sums
#   carried `FILTER (WHERE t.term <> ALL(v_cut))`, a string comparison with every cut term for every posting read:
#   with 7,700 postings read at 100,000 chunks, the aggregation took four times as long as reading the postings.
#   The sums add the same values in the same order (a term that was cut adds 0.0), so the scores are bit for bit
#   those of migration 0006.
# - documents_walk_ef_search estimates the chunk table's rows as the planner does (reltuples per page times the
#   table's pages now) instead of reltuples alone, which is only as fresh as the last ANALYZE: in a table that grew
#   tenfold under other tenants since then, a tenant of a tenth of it looked like the whole table and walked with
#   the smaller ef_search meant for a whole-table tenant.
_PREVIOUS_CANDIDATES = importlib.import_module(
    "apps.documents.migrations.0006_text_candidates_rescore_truncated_terms"
).CANDIDATES_FUNCTION
_PREVIOUS_EF_SEARCH = importlib.import_module(
    "apps.documents.migrations.0007_hybrid_ef_search_by_scope_share"
).EF_SEARCH_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")

# Migration 0006's function with its first CTE rewritten (the rescoring of the pooled chunks stays as it was).
_SEEN_BEFORE = _PREVIOUS_CANDIDATES[
    _PREVIOUS_CANDIDATES.index("  WITH seen AS (") : _PREVIOUS_CANDIDATES.index("     GROUP BY x.chunk_id")
]
_SEEN_NOW = """  WITH terms AS MATERIALIZED (
    SELECT u.term, u.idf, u.term = ANY(v_cut) AS cut FROM unnest(p_terms, p_idf) AS u(term, idf)),
  seen AS (
    SELECT x.chunk_id,
           sum(x.weight) AS partial,
           sum(CASE WHEN t.cut THEN 0 ELSE x.weight END) AS whole,
           sum(CASE WHEN t.cut THEN 0 ELSE t.idf END) AS whole_idf
      FROM terms t
     CROSS JOIN unnest(p_collections) AS c(id)
     CROSS JOIN LATERAL (
           SELECT p.chunk_id,
                  t.idf * p.tf * (p_k1 + 1)
                    / (p.tf + p_k1 * (1 - p_b) + p_k1 * p_b / p_average_length * p.length) AS weight
             FROM documents_chunkterm p
            WHERE p.organization_id = p_organization AND p.collection_id = c.id AND p.term = t.term
            ORDER BY p.impact DESC LIMIT p_depth) x
"""
_HEADER_BEFORE = _PREVIOUS_CANDIDATES[: _PREVIOUS_CANDIDATES.index("CREATE FUNCTION")]
CANDIDATES_FUNCTION = (
    _PREVIOUS_CANDIDATES.replace(_HEADER_BEFORE, "\n", 1)
    .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    .replace(_SEEN_BEFORE, _SEEN_NOW)
)
assert (
    "FILTER" not in CANDIDATES_FUNCTION
    and "x.weight" in CANDIDATES_FUNCTION
    and "DROP FUNCTION" not in CANDIDATES_FUNCTION
), "migration 0006 changed"

# The table's rows now: reltuples / relpages (as of the last VACUUM or ANALYZE) times its pages now, as the planner
# estimates them; the scope itself when the table was never analysed or is larger.
EF_SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION documents_walk_ef_search(p_scope bigint, p_limit integer, p_ef_search integer,
                                                    p_ef_min integer)
RETURNS integer LANGUAGE sql STABLE AS $fn$
  SELECT GREATEST(p_limit, LEAST(p_ef_search, ceil(
           p_ef_min * GREATEST((SELECT CASE WHEN r.reltuples < 0 OR r.relpages = 0 THEN 0
                                            ELSE r.reltuples / r.relpages
                                                 * (pg_relation_size(r.oid) / current_setting('block_size')::int)
                                       END
                                  FROM pg_class r WHERE r.oid = 'documents_chunk'::regclass),
                               p_scope, 1)::float8 / GREATEST(p_scope, 1))))::integer
$fn$;
"""


class Migration(migrations.Migration):
    dependencies = [("documents", "0007_hybrid_ef_search_by_scope_share")]

    operations = [
        migrations.RunSQL(CANDIDATES_FUNCTION, _PREVIOUS_CANDIDATES),
        migrations.RunSQL(EF_SEARCH_FUNCTION, _PREVIOUS_EF_SEARCH),
    ]
