from django.db import migrations

# One search (one embedding model's collections) in one statement: the scope and its BM25 statistics, the query's
# lexemes, the vector candidates (exact or HNSW with iterative scans, by scope size), the full-text candidates
# (documents_text_candidates) and both signals for every candidate. ADR 0014 and docs/search.md.
#
# The first row carries only the scope and the plan (id NULL): a search that finds nothing still reports them.
# The function's SET clauses make the HNSW settings local to the call: set_config(..., true) inside it is undone
# when it returns, even inside the caller's transaction.
SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION documents_search(
  p_organization uuid, p_collections uuid[], p_query text, p_vector vector, p_text boolean,
  p_limit integer, p_k1 float8, p_b float8, p_depth integer, p_max_terms integer,
  p_exact_max bigint, p_ef_search integer, p_status text, p_config regconfig
) RETURNS TABLE (
  id uuid, document_id uuid, collection_id uuid, title varchar, page_number integer, heading_path jsonb,
  text text, ordinal integer, vector_similarity float8, text_raw float8, vector_rank bigint, text_rank bigint,
  scope bigint, plan text
) LANGUAGE plpgsql VOLATILE
SET hnsw.iterative_scan = 'relaxed_order' SET hnsw.ef_search = 200
AS $fn$
#variable_conflict use_column
DECLARE
  v_scope bigint;
  v_n float8;
  v_length float8;
  v_terms text[];
  v_df float8[];
  v_idf float8[];
  v_average float8;
  v_plan text := 'none';
  v_vector_ids uuid[] := '{}';
  v_text_ids uuid[] := '{}';
  v_text_scores float8[] := '{}';
BEGIN
  SELECT COALESCE(sum(d.chunk_count), 0) INTO v_scope FROM documents_document d
   WHERE d.organization_id = p_organization AND d.collection_id = ANY(p_collections) AND d.status = p_status;
  RETURN QUERY SELECT NULL::uuid, NULL::uuid, NULL::uuid, NULL::varchar, NULL::integer, NULL::jsonb, NULL::text,
    NULL::integer, NULL::float8, NULL::float8, NULL::bigint, NULL::bigint, v_scope,
    CASE WHEN p_vector IS NULL THEN 'none' WHEN v_scope <= p_exact_max THEN 'exact' ELSE 'hnsw' END;
  IF v_scope = 0 THEN
    RETURN;
  END IF;

  IF p_text THEN
    SELECT COALESCE(sum(s.chunks), 0), COALESCE(sum(s.length), 0) INTO v_n, v_length
      FROM documents_collectiontextstats s
     WHERE s.organization_id = p_organization AND s.collection_id = ANY(p_collections);
    SELECT array_agg(f.term ORDER BY f.df, f.term), array_agg(f.df ORDER BY f.df, f.term) INTO v_terms, v_df
      FROM (SELECT t.term, sum(t.df)::float8 AS df FROM documents_collectionterm t
             WHERE t.organization_id = p_organization AND t.collection_id = ANY(p_collections)
               AND t.term = ANY(tsvector_to_array(to_tsvector(p_config, p_query)))
             GROUP BY t.term ORDER BY 2, 1 LIMIT p_max_terms) f;
    IF v_terms IS NOT NULL AND v_n > 0 THEN
      v_n := GREATEST(v_n, (SELECT max(x) FROM unnest(v_df) x));
      SELECT array_agg(ln(1 + (v_n - x + 0.5) / (x + 0.5)) ORDER BY i) INTO v_idf
        FROM unnest(v_df) WITH ORDINALITY u(x, i);
      v_average := GREATEST(v_length / v_n, 1.0);
    ELSE
      v_terms := NULL;
    END IF;
  END IF;

  IF p_vector IS NOT NULL THEN
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

  IF v_terms IS NOT NULL THEN
    SELECT array_agg(h.hit ORDER BY h.score DESC, h.hit), array_agg(h.score ORDER BY h.score DESC, h.hit)
      INTO v_text_ids, v_text_scores
      FROM documents_text_candidates(p_organization, p_collections, v_terms, v_idf, p_k1, p_b, v_average,
                                     GREATEST(p_depth, p_limit), p_limit * 4, p_limit) h;
  END IF;

  -- Candidates by primary key from arrays (a join with a set-returning function was planned as a scan of the
  -- whole chunk table). A candidate's rank in a list is its position there.
  RETURN QUERY
  SELECT c.id, c.document_id, c.collection_id, d.title, c.page_number::integer, c.heading_path, c.text,
         c.ordinal::integer,
         CASE WHEN p_vector IS NULL THEN NULL ELSE 1 - (c.embedding <=> p_vector) END,
         CASE WHEN v_terms IS NULL THEN NULL
              WHEN array_position(v_text_ids, c.id) IS NOT NULL THEN v_text_scores[array_position(v_text_ids, c.id)]
              ELSE COALESCE((SELECT sum(v_idf[array_position(v_terms, y.term)] * y.tf * (p_k1 + 1)
                                        / (y.tf + p_k1 * (1 - p_b) + p_k1 * p_b / v_average * y.length))
                               FROM documents_chunkterm y WHERE y.chunk_id = c.id AND y.term = ANY(v_terms)), 0)
         END,
         array_position(v_vector_ids, c.id)::bigint, array_position(v_text_ids, c.id)::bigint, v_scope, v_plan
    FROM documents_chunk c
    JOIN documents_document d ON d.id = c.document_id
   WHERE c.id = ANY(COALESCE(v_vector_ids, '{}') || COALESCE(v_text_ids, '{}'))
     AND c.organization_id = p_organization AND d.status = p_status;
END
$fn$;
"""

DROP = (
    "DROP FUNCTION IF EXISTS documents_search(uuid, uuid[], text, vector, boolean, integer, float8, float8, integer, "
    "integer, bigint, integer, text, regconfig);"
)


class Migration(migrations.Migration):
    dependencies = [("documents", "0004_merge_20261201_0843")]

    operations = [migrations.RunSQL(SEARCH_FUNCTION, DROP)]
