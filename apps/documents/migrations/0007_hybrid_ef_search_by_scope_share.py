import importlib

from django.db import migrations

# documents_search as in migration 0006, plus `p_ef_min` (ADR 0026, docs/search.md): the HNSW walk's ef_search is
# p_ef_min when the scope is the whole table and grows as the scope's share of the table's rows shrinks
# (p_ef_min / share), never above p_ef_search nor below the candidate count. The service passes
# SEARCH_HNSW_EF_SEARCH_HYBRID for hybrid searches (whose vector list is one of two candidate sources, every
# candidate rescored exactly) and SEARCH_HNSW_EF_SEARCH otherwise (no change). A tenant that shares the index
# with others (a selective filter) keeps the full ef_search, which the tenant-filter benchmark measured.
_PREVIOUS = importlib.import_module("apps.documents.migrations.0006_text_candidates_rescore_truncated_terms")

# The scope's share of the indexed rows: reltuples (kept by autovacuum's ANALYZE), or the scope when larger.
EF_SEARCH_FUNCTION = """
CREATE FUNCTION documents_walk_ef_search(p_scope bigint, p_limit integer, p_ef_search integer, p_ef_min integer)
RETURNS integer LANGUAGE sql STABLE AS $fn$
  SELECT GREATEST(p_limit, LEAST(p_ef_search, ceil(
           p_ef_min * GREATEST((SELECT r.reltuples FROM pg_class r WHERE r.oid = 'documents_chunk'::regclass),
                               p_scope, 1)::float8 / GREATEST(p_scope, 1))))::integer
$fn$;
"""

SEARCH_FUNCTION = (
    _PREVIOUS.SEARCH_FUNCTION.replace(
        "DROP FUNCTION IF EXISTS documents_search(uuid, uuid[], text, vector, boolean, integer, float8, float8, "
        "integer,\n                                         integer, bigint, integer, text, regconfig);",
        "DROP FUNCTION IF EXISTS documents_search(uuid, uuid[], text, vector, boolean, boolean, integer, float8, "
        "float8,\n                                         integer, integer, bigint, integer, text, regconfig);",
    )
    .replace(
        "p_exact_max bigint, p_ef_search integer, p_status text, p_config regconfig\n",
        "p_exact_max bigint, p_ef_search integer, p_status text, p_config regconfig, p_ef_min integer\n",
    )
    .replace(
        "      PERFORM set_config('hnsw.ef_search', GREATEST(p_ef_search, p_limit)::text, true);\n",
        "      PERFORM set_config('hnsw.ef_search',\n"
        "                         documents_walk_ef_search(v_scope, p_limit, p_ef_search, p_ef_min)::text, true);\n",
    )
)
assert SEARCH_FUNCTION.count("p_ef_min") == 2, "migration 0006's function text changed"
assert "uuid[], text, vector, boolean, boolean, integer" in SEARCH_FUNCTION


class Migration(migrations.Migration):
    dependencies = [("documents", "0006_text_candidates_rescore_truncated_terms")]

    operations = [
        migrations.RunSQL(
            EF_SEARCH_FUNCTION, "DROP FUNCTION IF EXISTS documents_walk_ef_search(bigint, integer, integer, integer);"
        ),
        migrations.RunSQL(
            SEARCH_FUNCTION,
            "DROP FUNCTION IF EXISTS documents_search(uuid, uuid[], text, vector, boolean, boolean, integer, float8, "
            "float8, integer, integer, bigint, integer, text, regconfig, integer);" + _PREVIOUS.SEARCH_FUNCTION,
        ),
    ]
