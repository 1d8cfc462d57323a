"""The same corpus through a LangChain pipeline: its loaders (PDF, DOCX, HTML, text), RecursiveCharacterTextSplitter
and PGVector.add_texts with Docent's offline embedder, into a database of its own. Prints one JSON line:
chunks, seconds (load + split + embed + write), and the seconds of each step.

With --docent-indexes, LangChain's table first gets what Docent's chunk table maintains on every write and
LangChain's does not: the same HNSW index (cosine, m 16, ef_construction 64), the same generated full-text
vector, and the same BM25 postings and statistics, kept by Docent's own trigger function (read from
migration 0003 of apps/documents): LangChain doing the same work, the fair comparison of the write.

Usage (the peer virtualenv): langchain_ingest.py CORPUS_DIR POSTGRES_URL --dimensions 768 [--docent-indexes]
"""

from __future__ import annotations

import argparse
import ast
import json
import time
from pathlib import Path

from langchain_community.document_loaders import BSHTMLLoader, Docx2txtLoader, PyPDFLoader, TextLoader
from langchain_postgres import PGVector
from langchain_text_splitters import RecursiveCharacterTextSplitter
from offline_embeddings import OfflineEmbeddings

LOADERS = {".pdf": PyPDFLoader, ".docx": Docx2txtLoader, ".html": BSHTMLLoader, ".txt": TextLoader, ".md": TextLoader}

# Docent's chunk table's extra work, on LangChain's table (organization = collection: LangChain has no tenants).
# The postings and statistics are kept by Docent's own trigger function, read from its migration.
DOCENT_INDEXES = """
CREATE INDEX peer_embedding_hnsw ON langchain_pg_embedding
  USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
ALTER TABLE langchain_pg_embedding
  ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(document, ''))) STORED,
  ADD COLUMN organization_id uuid GENERATED ALWAYS AS (collection_id) STORED;
CREATE TABLE documents_collectiontextstats (collection_id uuid PRIMARY KEY, organization_id uuid NOT NULL,
  chunks bigint NOT NULL, length bigint NOT NULL);
CREATE TABLE documents_collectionterm (collection_id uuid, term text, organization_id uuid NOT NULL,
  df int NOT NULL, PRIMARY KEY (collection_id, term));
CREATE TABLE documents_chunkterm (chunk_id varchar, term text, organization_id uuid NOT NULL,
  collection_id uuid NOT NULL, tf int NOT NULL, length int NOT NULL, impact float8 NOT NULL,
  PRIMARY KEY (chunk_id, term));
CREATE INDEX chunkterm_scope_term_impact ON documents_chunkterm (organization_id, collection_id, term, impact DESC)
  INCLUDE (chunk_id, tf, length);
"""
TRIGGER = """
CREATE TRIGGER peer_text_index AFTER INSERT ON langchain_pg_embedding
  REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION documents_chunk_text_index();
"""
POSTINGS_MIGRATION = Path(__file__).resolve().parents[2] / "apps/documents/migrations/0003_text_index_postings.py"


def _docent_trigger_function() -> str:
    """Docent's postings trigger function (the module-level TRIGGER_FUNCTION of the migration), read without
    importing Django."""
    tree = ast.parse(POSTINGS_MIGRATION.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TRIGGER_FUNCTION" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise SystemExit(f"no TRIGGER_FUNCTION in {POSTINGS_MIGRATION}")


def _add_docent_indexes(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(DOCENT_INDEXES + _docent_trigger_function() + TRIGGER)


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
