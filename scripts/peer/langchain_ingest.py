"""The same corpus through a LangChain pipeline: its loaders (PDF, DOCX, HTML, text), RecursiveCharacterTextSplitter
and PGVector.add_texts with Docent's offline embedder, into a database of its own. Prints one JSON line:
chunks, seconds (load + split + embed + write), and the seconds of each step.

With --docent-indexes, LangChain's table first gets what Docent's chunk table maintains on every write and
LangChain's does not: the same HNSW index (cosine, m 16, ef_construction 64), the same generated full-text
vector, and the same BM25 postings and statistics, kept by a trigger like Docent's (migration 0003 of
apps/documents). It measures LangChain doing the same work, which is the fair comparison of the write.

Usage (the peer virtualenv): langchain_ingest.py CORPUS_DIR POSTGRES_URL --dimensions 768 [--docent-indexes]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from langchain_community.document_loaders import BSHTMLLoader, Docx2txtLoader, PyPDFLoader, TextLoader
from langchain_postgres import PGVector
from langchain_text_splitters import RecursiveCharacterTextSplitter
from offline_embeddings import OfflineEmbeddings

LOADERS = {".pdf": PyPDFLoader, ".docx": Docx2txtLoader, ".html": BSHTMLLoader, ".txt": TextLoader, ".md": TextLoader}

# Docent's chunk table's extra work, on LangChain's table (organization = collection: LangChain has no tenants).
DOCENT_INDEXES = """
CREATE INDEX peer_embedding_hnsw ON langchain_pg_embedding
  USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
ALTER TABLE langchain_pg_embedding ADD COLUMN search_vector tsvector
  GENERATED ALWAYS AS (to_tsvector('english', coalesce(document, ''))) STORED;
CREATE TABLE peer_collectiontextstats (collection_id uuid PRIMARY KEY, organization_id uuid NOT NULL,
  chunks bigint NOT NULL, length bigint NOT NULL);
CREATE TABLE peer_collectionterm (collection_id uuid, term text, organization_id uuid NOT NULL, df int NOT NULL,
  PRIMARY KEY (collection_id, term));
CREATE TABLE peer_chunkterm (chunk_id varchar, term text, organization_id uuid NOT NULL, collection_id uuid NOT NULL,
  tf int NOT NULL, length int NOT NULL, impact float8 NOT NULL, PRIMARY KEY (chunk_id, term));
CREATE INDEX peer_chunkterm_scope_term_impact ON peer_chunkterm (organization_id, collection_id, term, impact DESC)
  INCLUDE (chunk_id, tf, length);
CREATE FUNCTION peer_text_index() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO peer_collectiontextstats (collection_id, organization_id, chunks, length)
  SELECT n.collection_id, n.collection_id, count(*),
         COALESCE(sum((SELECT sum(GREATEST(cardinality(u.positions), 1)) FROM unnest(n.search_vector) u)), 0)
    FROM new_rows n GROUP BY n.collection_id ORDER BY n.collection_id
  ON CONFLICT (collection_id) DO UPDATE
     SET chunks = peer_collectiontextstats.chunks + EXCLUDED.chunks,
         length = peer_collectiontextstats.length + EXCLUDED.length;
  INSERT INTO peer_collectionterm (collection_id, term, organization_id, df)
  SELECT n.collection_id, u.lexeme, n.collection_id, count(*)
    FROM new_rows n CROSS JOIN LATERAL unnest(n.search_vector) u
   GROUP BY n.collection_id, u.lexeme ORDER BY n.collection_id, u.lexeme
  ON CONFLICT (collection_id, term) DO UPDATE SET df = peer_collectionterm.df + EXCLUDED.df;
  INSERT INTO peer_chunkterm (chunk_id, term, organization_id, collection_id, tf, length, impact)
  SELECT n.id, u.lexeme, n.collection_id, n.collection_id, GREATEST(cardinality(u.positions), 1), l.length,
         GREATEST(cardinality(u.positions), 1) * 2.2
           / (GREATEST(cardinality(u.positions), 1)
              + 1.2 * (0.25 + 0.75 * l.length / GREATEST(s.length::float8 / GREATEST(s.chunks, 1), 1)))
    FROM new_rows n
    JOIN peer_collectiontextstats s ON s.collection_id = n.collection_id
    CROSS JOIN LATERAL (SELECT COALESCE(sum(GREATEST(cardinality(x.positions), 1)), 0)::int AS length
                          FROM unnest(n.search_vector) x) l
    CROSS JOIN LATERAL unnest(n.search_vector) u;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER peer_text_index AFTER INSERT ON langchain_pg_embedding
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION peer_text_index();
"""


def _add_docent_indexes(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(DOCENT_INDEXES)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("url")
    parser.add_argument("--dimensions", type=int, default=768)
    # Docent's chunks are 500 tokens with 60 of overlap; about four characters a token.
    parser.add_argument("--chunk-chars", type=int, default=2000)
    parser.add_argument("--overlap-chars", type=int, default=240)
    parser.add_argument("--docent-indexes", action="store_true")
    args = parser.parse_args()
    embeddings = OfflineEmbeddings(args.dimensions)
    store = PGVector(
        embeddings=embeddings,
        embedding_length=args.dimensions,
        collection_name=f"bench-{time.time_ns()}",
        connection=args.url,
        use_jsonb=True,
        pre_delete_collection=True,
    )
    if args.docent_indexes:
        _add_docent_indexes(args.url)
    splitter = RecursiveCharacterTextSplitter(chunk_size=args.chunk_chars, chunk_overlap=args.overlap_chars)
    files = sorted(args.corpus.iterdir())
    started = time.perf_counter()
    steps = {"load": 0.0, "split": 0.0, "embed_and_write": 0.0}
    chunks = 0
    for path in files:
        t0 = time.perf_counter()
        pages = LOADERS[path.suffix](str(path)).load()
        t1 = time.perf_counter()
        pieces = splitter.split_documents(pages)
        t2 = time.perf_counter()
        store.add_texts([p.page_content for p in pieces], metadatas=[p.metadata for p in pieces])
        t3 = time.perf_counter()
        steps["load"] += t1 - t0
        steps["split"] += t2 - t1
        steps["embed_and_write"] += t3 - t2
        chunks += len(pieces)
    elapsed = time.perf_counter() - started
    store.delete_collection()
    print(json.dumps({"documents": len(files), "chunks": chunks, "seconds": elapsed, "steps": steps}))


if __name__ == "__main__":
    main()
