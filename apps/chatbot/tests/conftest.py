"""Chatbot test fixtures: the loopback provider server and retrieved passages."""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.chatbot_provider.tests.conftest import (  # noqa: F401 (fixtures)
    compatible_provider,
    gemini_provider,
    loopback,
    loopback_server,
    openai_provider,
)


@dataclass(frozen=True)
class Hit:
    """A retrieved passage shaped like documents' SearchHit."""

    text: str
    document_title: str = "Employee handbook"
    page: int | None = 3
    heading: str = ""
    score: float = 0.8
    chunk_id: uuid.UUID = field(default_factory=uuid.uuid4)
    document_id: uuid.UUID = field(default_factory=uuid.uuid4)
    collection_id: uuid.UUID = field(default_factory=uuid.uuid4)
    vector_score: float | None = None
    text_score: float | None = None


HANDBOOK = [
    Hit(
        "Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.",
        chunk_id=uuid.uuid4(),
        document_id=uuid.uuid4(),
    ),
    Hit(
        "The office opens at 8 am and closes at 6 pm on weekdays.",
        page=7,
        chunk_id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        document_title="Office guide",
    ),
]


def sse_events(chunks: Iterable[bytes]) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a Server-Sent Events body, given as the chunks a streaming response yields."""
    body = b"".join(chunks).decode()
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events
