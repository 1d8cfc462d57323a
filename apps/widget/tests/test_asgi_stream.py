"""Under ASGI (as served) the widget's answer streams from the producer thread and the turn is stored."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from apps.chatbot.models import Message
from apps.widget.tests.conftest import SHOP

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_answer_streams_to_the_widget_under_asgi(shop_bot):
    async def run():
        client = AsyncClient()
        session = await client.post(
            "/widget/v1/session",
            data=json.dumps({"key": shop_bot.publishable_key}),
            content_type="application/json",
            headers={"origin": SHOP},
        )
        token = json.loads(session.content)["token"]
        response = await client.post(
            "/widget/v1/messages",
            data=json.dumps({"text": "How many days do I have to return an item?", "client_msg_id": "a1"}),
            content_type="application/json",
            headers={"origin": SHOP, "authorization": f"Bearer {token}"},
        )
        chunks = [chunk async for chunk in response.streaming_content]
        return response, b"".join(chunks).decode()

    response, body = async_to_sync(run)()
    assert response["Content-Type"] == "text/event-stream"
    assert response["Access-Control-Allow-Origin"] == SHOP
    events = [block.split("\n")[0].removeprefix("event: ") for block in body.strip().split("\n\n")]
    assert events[0] == "message" and events[-2:] == ["citations", "done"]
    done = json.loads(body.strip().split("\n\n")[-1].split("\n")[1].removeprefix("data: "))
    assert "30 days" in done["message"]["text"]
    assert done["message"]["citations"][0]["document_title"] == "Returns policy"
    assert Message.objects.unscoped().filter(client_msg_id="a1").count() == 1
    assert Message.objects.unscoped().filter(role="assistant", status="complete").count() == 1
