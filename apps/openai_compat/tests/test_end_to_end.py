"""A document indexed by the real pipeline, a bot over it, and the openai SDK asking through /openai/v1: the
annotation's URL is the document's API resource, which a key that may read documents can follow."""

from __future__ import annotations

import httpx
import openai
import pytest

from apps.api_keys.tests.factories import APIKeyFactory
from apps.chatbot.services.bots import bot_create
from apps.documents.models import Document
from apps.documents.services.documents import collection_create, document_create_from_text
from apps.organizations.actors import Actor

pytestmark = pytest.mark.django_db(transaction=True)

HANDBOOK = (
    "# Employee handbook\n\n"
    "## Vacation\n\nEmployees get 25 days of paid vacation per year. Vacation requests go to the team lead.\n\n"
    "## Office hours\n\nThe office opens at 8 am and closes at 6 pm on weekdays.\n"
)


def test_the_cited_document_is_the_indexed_one_and_its_url_answers(docent_server, organization):
    system = Actor.system(organization=organization)
    collection = collection_create(organization=organization, actor=system, name="Handbook")
    created = document_create_from_text(collection=collection, actor=system, title="Employee handbook", text=HANDBOOK)
    document = Document.objects.for_org(organization).get(pk=created.document.pk)
    assert document.status == "ready"
    bot = bot_create(organization=organization, actor=system, name="HR", collections=[collection.pk])
    key = APIKeyFactory(organization=organization, scopes=["chat", "documents:read"])

    client = openai.OpenAI(base_url=docent_server.base_url, api_key=key.plaintext, max_retries=0)
    completion = client.chat.completions.create(
        model=str(bot.id), messages=[{"role": "user", "content": "How many days of paid vacation do employees get?"}]
    )
    message = completion.choices[0].message
    assert "25 days" in message.content
    cited = message.annotations[0].url_citation
    assert cited.url == f"{docent_server.url}/api/v1/documents/{document.pk}"
    assert message.model_extra["docent_sources"][0]["document_id"] == str(document.pk)
    followed = httpx.get(cited.url, headers={"Authorization": f"Bearer {key.plaintext}"})
    assert followed.status_code == 200
    assert followed.json()["title"] == "Employee handbook"
