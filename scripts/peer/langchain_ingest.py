"""The same corpus through a LangChain pipeline: its loaders (PDF, DOCX, HTML, text), RecursiveCharacterTextSplitter
and PGVector.add_texts with Docent's offline embedder, into a database of its own. Prints one JSON line:
chunks, seconds (load + split + embed + write), and the seconds of each step.

Usage (the peer virtualenv): langchain_ingest.py CORPUS_DIR POSTGRES_URL --dimensions 768
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("url")
    parser.add_argument("--dimensions", type=int, default=768)
    # Docent's chunks are 500 tokens with 60 of overlap; about four characters a token.
    parser.add_argument("--chunk-chars", type=int, default=2000)
    parser.add_argument("--overlap-chars", type=int, default=240)
    args = parser.parse_args()
    embeddings = OfflineEmbeddings(args.dimensions)
    store = PGVector(
        embeddings=embeddings,
        collection_name=f"bench-{time.time_ns()}",
        connection=args.url,
        use_jsonb=True,
        pre_delete_collection=True,
    )
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
