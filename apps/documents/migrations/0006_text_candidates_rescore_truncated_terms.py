import importlib

from django.db import migrations

# Full-text candidates rescored only where the postings read were not the whole list; the idf weight of the
# question each candidate holds (the lexical evidence of the answer pipeline's relevance decision, ADR 0025); the
# vector list left unwalked where its fusion weight is 0 (ADR 0024). docs/search.md.
#
# documents_text_candidates reads the first p_depth postings of each (collection, term) as before. A term whose
# postings were all read (df <= p_depth in every chosen collection) contributes exactly what was read, so the
# pooled chunks are looked up by primary key only for the terms whose lists were cut short (usually two of a
# ten-term question at 10,000 chunks, instead of all ten). Same scores as before, fewer index probes.
CANDIDATES_FUNCTION = """
DROP FUNCTION IF EXISTS documents_text_candidates(uuid, uuid[], text[], float8[], float8, float8, float8, integer,
                                                  integer, integer);
CREATE FUNCTION documents_text_candidates(
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
  WITH seen AS (
    SELECT x.chunk_id,
           sum(t.idf * x.tf * (p_k1 + 1)
               / (x.tf + p_k1 * (1 - p_b) + p_k1 * p_b / p_average_length * x.length)) AS partial,
           COALESCE(sum(t.idf * x.tf * (p_k1 + 1)
                         / (x.tf + p_k1 * (1 - p_b) + p_k1 * p_b / p_average_length * x.length))
                      FILTER (WHERE t.term <> ALL(v_cut)), 0) AS whole,
           COALESCE(sum(t.idf) FILTER (WHERE t.term <> ALL(v_cut)), 0) AS whole_idf
      FROM unnest(p_terms, p_idf) AS t(term, idf)
     CROSS JOIN unnest(p_collections) AS c(id)
     CROSS JOIN LATERAL (
           SELECT p.chunk_id, p.tf, p.length FROM documents_chunkterm p
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

# documents_search as in migration 0005, plus:
# - `p_vector_list`: when false (collections whose fusion weight is 0), the vector candidates are not walked unless
#   the full-text list is short; the query vector still scores every candidate;
# - `text_idf`: the idf of the query lexemes the chunk holds, and `text_coverage`: that over the idf of all the
#   query's lexemes (a lexeme the scope does not hold counts with df = 0: a word of the question that no chunk has
#   is evidence against every chunk).
SEARCH_FUNCTION = """
DROP FUNCTION IF EXISTS documents_search(uuid, uuid[], text, vector, boolean, integer, float8, float8, integer,
                                         integer, bigint, integer, text, regconfig);
CREATE FUNCTION documents_search(
  p_organization uuid, p_collections uuid[], p_query text, p_vector vector, p_text boolean, p_vector_list boolean,
  p_limit integer, p_k1 float8, p_b float8, p_depth integer, p_max_terms integer,
  p_exact_max bigint, p_ef_search integer, p_status text, p_config regconfig
) RETURNS TABLE (
  id uuid, document_id uuid, collection_id uuid, title varchar, page_number integer, heading_path jsonb,
  text text, ordinal integer, vector_similarity float8, text_raw float8, text_idf float8, text_coverage float8,
  vector_rank bigint, text_rank bigint, scope bigint, plan text
) LANGUAGE plpgsql VOLATILE
SET hnsw.iterative_scan = 'relaxed_order' SET hnsw.ef_search = 200
AS $fn$
#variable_conflict use_column
DECLARE
  v_scope bigint;
  v_n float8;
  v_length float8;
  v_lexemes text[];
  v_known bigint;
  v_terms text[];
  v_df float8[];
  v_idf float8[];
  v_idf_total float8;
  v_average float8;
  v_plan text := 'none';
  v_vector_ids uuid[] := '{}';
  v_text_ids uuid[] := '{}';
  v_text_scores float8[] := '{}';
  v_text_idf float8[] := '{}';
BEGIN
  SELECT COALESCE(sum(d.chunk_count), 0) INTO v_scope FROM documents_document d
   WHERE d.organization_id = p_organization AND d.collection_id = ANY(p_collections) AND d.status = p_status;
  RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::uuid, NULL::varchar, NULL::integer, NULL::jsonb, NULL::text,
    NULL::integer, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::bigint, NULL::bigint, v_scope,
    CASE WHEN p_vector IS NULL THEN 'none' WHEN v_scope <= p_exact_max THEN 'exact' ELSE 'hnsw' END;
  IF v_scope = 0 THEN
    RETURN;
  END IF;

  IF p_text THEN
    SELECT COALESCE(sum(s.chunks), 0), COALESCE(sum(s.length), 0) INTO v_n, v_length
      FROM documents_collectiontextstats s
     WHERE s.organization_id = p_organization AND s.collection_id = ANY(p_collections);
    v_lexemes := tsvector_to_array(to_tsvector(p_config, p_query));
    SELECT array_agg(f.term ORDER BY f.df, f.term), array_agg(f.df ORDER BY f.df, f.term), max(f.known)
      INTO v_terms, v_df, v_known
      FROM (SELECT t.term, sum(t.df)::float8 AS df, count(*) OVER () AS known FROM documents_collectionterm t
             WHERE t.organization_id = p_organization AND t.collection_id = ANY(p_collections)
               AND t.term = ANY(v_lexemes)
             GROUP BY t.term ORDER BY 2, 1 LIMIT p_max_terms) f;
    IF v_terms IS NOT NULL AND v_n > 0 THEN
      v_n := GREATEST(v_n, (SELECT max(x) FROM unnest(v_df) x));
      SELECT array_agg(ln(1 + (v_n - x + 0.5) / (x + 0.5)) ORDER BY i) INTO v_idf
        FROM unnest(v_df) WITH ORDINALITY u(x, i);
      v_average := GREATEST(v_length / v_n, 1.0);
      -- Lexemes past the p_max_terms rarest known ones are left out of both sides.
      v_idf_total := (SELECT sum(x) FROM unnest(v_idf) x)
                     + GREATEST(cardinality(v_lexemes) - v_known, 0) * ln(1 + (v_n + 0.5) / 0.5);
    ELSE
      v_terms := NULL;
    END IF;
  END IF;

  IF v_terms IS NOT NULL THEN
    SELECT array_agg(h.hit ORDER BY h.score DESC, h.hit), array_agg(h.score ORDER BY h.score DESC, h.hit),
           array_agg(h.matched_idf ORDER BY h.score DESC, h.hit)
      INTO v_text_ids, v_text_scores, v_text_idf
      FROM documents_text_candidates(p_organization, p_collections, v_terms, v_idf, p_k1, p_b, v_average,
                                     GREATEST(p_depth, p_limit), p_limit * 4, p_limit) h;
  END IF;

  -- The vector list is walked when its ranks count (p_vector_list) or the full-text list is short; otherwise the
  -- query vector only scores the full-text candidates (a fusion weight of 0: the list would add nothing).
  IF p_vector IS NOT NULL AND (p_vector_list OR COALESCE(cardinality(v_text_ids), 0) < p_limit) THEN
    IF v_scope <= p_exact_max THEN
      v_plan := 'exact';
      -- `+ 0` keeps the planner off the HNSW index: the organization/collection B-tree finds the rows and every
      -- one is compared (exact top k).
      SELECT array_agg(x.id ORDER BY x.distance, x.id) INTO v_vector_ids
        FROM (SELECT c.id, c.embedding <=> p_vector AS distance FROM documents_chunk c
               WHERE c.organization_id = p_organization AND c.collection_id = ANY(p_collections)
               ORDER BY (c.embedding <=> p_vector) + 0 LIMIT p_limit) x
       WHERE x.distance IS NOT NULL;
    ELSE
      v_plan := 'hnsw';
      PERFORM set_config('hnsw.ef_search', GREATEST(p_ef_search, p_limit)::text, true);
      -- Planned for these values (EXECUTE): a generic plan could not tell a large tenant from a small one.
      EXECUTE 'SELECT array_agg(x.id ORDER BY x.distance, x.id) FROM ('
              ' SELECT c.id, c.embedding <=> $1 AS distance FROM documents_chunk c'
              ' WHERE c.organization_id = $2 AND c.collection_id = ANY($3)'
              ' ORDER BY c.embedding <=> $1 LIMIT $4) x WHERE x.distance IS NOT NULL'
        INTO v_vector_ids USING p_vector, p_organization, p_collections, p_limit;
    END IF;
  END IF;

  -- Candidates by primary key from arrays (a join with a set-returning function was planned as a scan of the
  -- whole chunk table). A candidate's rank in a list is its position there; a vector candidate that is not in
  -- the full-text list is scored over its postings of the query's terms.
  RETURN QUERY
  SELECT c.id, c.document_id, c.collection_id, d.title, c.page_number::integer, c.heading_path, c.text,
         c.ordinal::integer,
         CASE WHEN p_vector IS NULL THEN NULL ELSE 1 - (c.embedding <=> p_vector) END,
         CASE WHEN v_terms IS NULL THEN NULL
              WHEN r.text_rank IS NOT NULL THEN v_text_scores[r.text_rank]
              ELSE COALESCE(own.score, 0) END,
         m.idf, m.idf / v_idf_total,
         array_position(v_vector_ids, c.id)::bigint, r.text_rank, v_scope, v_plan
    FROM documents_chunk c
    JOIN documents_document d ON d.id = c.document_id
    CROSS JOIN LATERAL (SELECT array_position(v_text_ids, c.id)::bigint AS text_rank) r
    LEFT JOIN LATERAL (
         SELECT sum(v_idf[array_position(v_terms, y.term)] * y.tf * (p_k1 + 1)
                    / (y.tf + p_k1 * (1 - p_b) + p_k1 * p_b / v_average * y.length)) AS score,
                sum(v_idf[array_position(v_terms, y.term)]) AS idf
           FROM documents_chunkterm y
          WHERE r.text_rank IS NULL AND v_terms IS NOT NULL AND y.chunk_id = c.id AND y.term = ANY(v_terms)) own
      ON true
    CROSS JOIN LATERAL (SELECT CASE WHEN v_terms IS NULL THEN NULL
                                    WHEN r.text_rank IS NOT NULL THEN v_text_idf[r.text_rank]
                                    ELSE COALESCE(own.idf, 0) END AS idf) m
   WHERE c.id = ANY(COALESCE(v_vector_ids, '{}') || COALESCE(v_text_ids, '{}'))
     AND c.organization_id = p_organization AND d.status = p_status;
END
$fn$;
"""


def _previous(module: str, name: str) -> str:
    return getattr(importlib.import_module(f"apps.documents.migrations.{module}"), name)


class Migration(migrations.Migration):
    dependencies = [("documents", "0005_search_in_one_statement")]

    operations = [
        migrations.RunSQL(
            CANDIDATES_FUNCTION,
            "DROP FUNCTION IF EXISTS documents_text_candidates(uuid, uuid[], text[], float8[], float8, float8, "
            "float8, integer, integer, integer);" + _previous("0003_text_index_postings", "CANDIDATES_FUNCTION"),
        ),
        migrations.RunSQL(
            SEARCH_FUNCTION,
            "DROP FUNCTION IF EXISTS documents_search(uuid, uuid[], text, vector, boolean, boolean, integer, float8, "
            "float8, integer, integer, bigint, integer, text, regconfig);"
            + _previous("0005_search_in_one_statement", "SEARCH_FUNCTION"),
        ),
    ]
