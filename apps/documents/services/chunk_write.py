"""Writing a document's chunks: one binary COPY instead of INSERTs (see docs/adr/0101-chunks-written-by-copy.md).

The embedding goes over the wire in pgvector's binary form (packed float4s): formatting 768 floats as text
cost more than everything else in the write. The database still fills what it owns: the generated
`search_vector`, the postings (triggers, ADR 0012) and the indexes.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb

from apps.documents.models import Chunk

# (column, type) in the order of chunk_rows; the embedding's type (vector) is looked up in the database.
COLUMN_TYPES = (
    ("id", "uuid"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("organization_id", "uuid"),
    ("collection_id", "uuid"),
    ("document_id", "uuid"),
    ("ordinal", "int4"),
    ("text", "text"),
    ("page_number", "int4"),
    ("heading_path", "jsonb"),
    ("char_start", "int4"),
    ("char_end", "int4"),
    ("token_count", "int4"),
)
COLUMNS = (*(column for column, _ in COLUMN_TYPES), "embedding")


class _PackedVectorDumper(Dumper):
    """A list of floats as pgvector's binary input: dimensions (uint16), unused (uint16), float4s, big-endian."""

    format = Format.BINARY

    def dump(self, obj: Sequence[float]) -> bytes:
        return struct.pack(f">HH{len(obj)}f", len(obj), 0, *obj)


_vector_oids: dict[str, int] = {}


def _vector_oid(cursor: Any) -> int:
    alias = connection.alias
    if alias not in _vector_oids:
        info = TypeInfo.fetch(cursor.connection, "vector")
        if info is None:
            raise RuntimeError("The pgvector extension is not installed in this database.")
        _vector_oids[alias] = info.oid
    return _vector_oids[alias]


def chunk_rows(
    *,
    organization_id: Any,
    collection_id: Any,
    document_id: Any,
    drafts: Iterable[Any],
    vectors: Iterable[Sequence[float]],
    now: datetime | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of COLUMNS for a document's chunk drafts (apps.documents.services.chunk) and their vectors."""
    stamp = now or timezone.now()
    return [
        (
            uuid.uuid4(),
            stamp,
            stamp,
            organization_id,
            collection_id,
            document_id,
            draft.ordinal,
            draft.text,
            draft.page,
            Jsonb(list(draft.heading_path)),
            draft.char_start,
            draft.char_end,
            draft.token_count,
            vector,
        )
        for draft, vector in zip(drafts, vectors, strict=True)
    ]


def chunks_copy(rows: Sequence[tuple[Any, ...]]) -> int:
    """COPY the rows into the chunk table on Django's connection (inside the caller's transaction)."""
    if not rows:
        return 0
    table = Chunk._meta.db_table
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: Django's wrapper has no COPY
        oid = _vector_oid(cursor)
        cursor.adapters.register_dumper(list, type("VectorDumper", (_PackedVectorDumper,), {"oid": oid}))
        statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(statement) as copy:
            copy.set_types([*(kind for _, kind in COLUMN_TYPES), oid])
            for row in rows:
                copy.write_row(row)
    return len(rows)
