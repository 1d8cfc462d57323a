"""The bench bot built the way a developer would build it with LangChain: a small ASGI app (Starlette) whose
POST /chat retrieves with langchain-postgres `PGVector` (the same chunk texts, embedded with Docent's offline
embedder) and streams `ChatOpenAI` tokens from the same provider as Server-Sent Events (`event: token`).

Run by `make bench-chat` in the peer virtualenv:
  langchain_chat.py load URL TEXTS_JSON --dimensions 768     (once: store the chunk texts)
  uvicorn scripts.peer.langchain_chat:app                     (with PEER_DB_URL, PEER_PROVIDER_URL, PEER_DIMENSIONS)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from langchain_postgres import PGVector
from offline_embeddings import OfflineEmbeddings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

COLLECTION = "bench-chat"
SYSTEM = (
    "You answer questions about the organization's documents using only the passages below. Cite passages as [n]. "
    "If the passages do not answer the question, say you don't know."
)


def _store(url: str, dimensions: int) -> PGVector:
    """The store as an async app uses it (psycopg's async driver through SQLAlchemy)."""
    return PGVector(
        embeddings=OfflineEmbeddings(dimensions),
        collection_name=COLLECTION,
        connection=url,
        use_jsonb=True,
        async_mode=True,
    )


_retriever = None
_llm = None


def _parts() -> tuple[object, ChatOpenAI]:
    global _retriever, _llm
    if _retriever is None or _llm is None:
        store = _store(os.environ["PEER_DB_URL"], int(os.environ.get("PEER_DIMENSIONS", "768")))
        _retriever = store.as_retriever(search_kwargs={"k": 6})
        _llm = ChatOpenAI(
            base_url=os.environ["PEER_PROVIDER_URL"],
            api_key="not-needed",
            model="bench-model",
            temperature=0.2,
            max_tokens=800,
            streaming=True,
            max_retries=0,
        )
    return _retriever, _llm


async def chat(request: Request) -> StreamingResponse | JSONResponse:
    body = await request.json()
    question = str(body.get("message") or "").strip()
    if not question:
        return JSONResponse({"error": "empty message"}, status_code=400)
    retriever, llm = _parts()
    documents = await retriever.ainvoke(question)  # type: ignore[attr-defined]
    passages = "\n\n".join(f"[{n}] {doc.page_content}" for n, doc in enumerate(documents, start=1))
    messages = [SystemMessage(SYSTEM), HumanMessage(f"Passages:\n{passages}\n\nQuestion: {question}")]

    async def tokens() -> AsyncIterator[bytes]:
        async for chunk in llm.astream(messages):
            if chunk.content:
                yield f"event: token\ndata: {json.dumps({'text': chunk.content})}\n\n".encode()
        yield b"event: done\ndata: {}\n\n"

    return StreamingResponse(tokens(), media_type="text/event-stream")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/chat", chat, methods=["POST"]), Route("/healthz", healthz)])


def load() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["load"])
    parser.add_argument("url")
    parser.add_argument("texts", type=Path)
    parser.add_argument("--dimensions", type=int, default=768)
    args = parser.parse_args()
    store = PGVector(
        embeddings=OfflineEmbeddings(args.dimensions),
        collection_name=COLLECTION,
        connection=args.url,
        use_jsonb=True,
        pre_delete_collection=True,
    )
    store.add_texts(json.loads(args.texts.read_text()))


if __name__ == "__main__":
    load()
