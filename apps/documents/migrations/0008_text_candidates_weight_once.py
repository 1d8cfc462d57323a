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
#   table's pages now) instead of reltuples alone, which is only as fresh as the last ANALYZE: a table that grew
#   tenfold since then made a whole-table tenant look like a tenth of it and walk with twice the ef_search.
_PREVIOUS_CANDIDATES = importlib.import_module(
    "apps.documents.migrations.0006_text_candidates_rescore_truncated_terms"
).CANDIDATES_FUNCTION
_PREVIOUS_EF_SEARCH = importlib.import_module(
    "apps.documents.migrations.0007_hybrid_ef_search_by_scope_share"
).EF_SEARCH_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")

CANDIDATES_FUNCTION = """
CREATE OR REPLACE FUNCTION documents_text_candidates(
  p_organization uuid, p_collections uuid[], p_terms text[], p_idf float8[],
  p_k1 float8, p_b float8, p_average_length float8, p_depth integer, p_pool integer, p_limit integer
) RETURNS TABLE (hit uuid, score float8, matched_idf float8) LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  v_cut text[];
BEGIN
  -- The terms whose postings are not all read in some chosen collection.
  SELECT COALESCE(array_agg(DISTINCT t.term), '{}') INTO v_cut FROM documents_collectionterm t
   WHERE t.organization_id = p_organization AND t.collection_id = ANY(p_collections) AND t.term = ANY(p_terms)
     AND t.df > p_depth;
  RETURN QUERY
  WITH terms AS MATERIALIZED (
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
     GROUP BY x.chunk_id
     ORDER BY 2 DESC, 1
     LIMIT p_pool)
  SELECT seen.chunk_id, seen.whole + COALESCE(cut.score, 0), seen.whole_idf + COALESCE(cut.idf, 0)
    FROM seen
    LEFT JOIN LATERAL (
         SELECT sum(p_idf[array_position(p_terms, y.term)] * y.tf * (p_k1 + 1)
                    / (y.tf + p_k1 * (1 - p_b) + p_k1 * p_b / p_average_length * y.length)) AS score,
                sum(p_idf[array_position(p_terms, y.term)]) AS idf
           FROM documents_chunkterm y
          WHERE cardinality(v_cut) > 0 AND y.chunk_id = seen.chunk_id AND y.term = ANY(v_cut)) cut ON true
   ORDER BY 2 DESC, 1
   LIMIT p_limit;
END
$fn$;
"""

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
