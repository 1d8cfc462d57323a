"""A web process keeps a bot between answers; every change to what the bot is made of reaches the next answer."""

import pytest

from apps.chatbot.services import bots as bot_services
from apps.chatbot.tests.factories import ChatbotFactory
from apps.chatbot_provider.models import ChatbotProvider
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.actors import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_url")]


@pytest.fixture
def retrieved(monkeypatch):
    seen: list[list[str]] = []

    def retrieve(*, bot, question):
        seen.append(sorted(c.name for c in bot.collections.all()))
        return []

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", retrieve)
    return seen


def _ask(client, bot):
    response = client.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "How many vacation days?"})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_second_answer_reads_no_bot_rows(member_client, organization, retrieved):
    from django.db import connection

    bot = ChatbotFactory(organization=organization, dont_know_message="Not in the handbook.")
    _ask(member_client, bot)
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert _ask(member_client, bot)["answer"] == "Not in the handbook."
    assert not [sql for sql in statements if '"chatbot_chatbot"' in sql.split("WHERE")[0]]


def test_a_changed_bot_answers_with_its_new_settings_at_once(member_client, organization, retrieved):
    bot = ChatbotFactory(organization=organization, dont_know_message="Not in the handbook.")
    assert _ask(member_client, bot)["answer"] == "Not in the handbook."
    bot_services.bot_update(bot=bot, actor=Actor.system(organization=organization), dont_know_message="Ask HR instead.")
    assert _ask(member_client, bot)["answer"] == "Ask HR instead."


def test_collections_added_or_renamed_are_searched_by_the_next_answer(member_client, organization, retrieved):
    first = CollectionFactory(organization=organization, name="Handbook")
    bot = ChatbotFactory(organization=organization)
    bot.collections.set([first])
    _ask(member_client, bot)
    second = CollectionFactory(organization=organization, name="Policies")
    bot_services.bot_update(bot=bot, actor=Actor.system(organization=organization), collections=[first.pk, second.pk])
    _ask(member_client, bot)
    second.name = "Travel policies"
    second.save()
    _ask(member_client, bot)
    assert retrieved == [["Handbook"], ["Handbook", "Policies"], ["Handbook", "Travel policies"]]


def test_a_providers_new_default_model_is_used_by_the_next_answer(
    member_client, organization, openai_provider, loopback, monkeypatch
):
    from apps.chatbot.tests.conftest import HANDBOOK

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))
    openai_provider.default_chat_model = "gpt-first"
    openai_provider.save()
    bot = ChatbotFactory(organization=organization, provider=openai_provider, model="")
    _ask(member_client, bot)
    assert loopback.requests[-1].body["model"] == "gpt-first"
    provider = ChatbotProvider.objects.for_org(organization).get(pk=openai_provider.pk)
    provider.default_chat_model = "gpt-second"
    provider.save()
    _ask(member_client, bot)
    assert loopback.requests[-1].body["model"] == "gpt-second"
