"""The migration that copies handoff states onto conversations: the inbox lists earlier handoffs too."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.chatbot.models import Conversation
from apps.widget.models import HandoffState
from apps.widget.tests.factories import WidgetConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("widget", "0001_initial")]
AFTER = [("widget", "0002_conversation_handoff_state_backfill")]


def test_conversations_that_asked_for_a_person_before_the_filter_existed_are_listed_under_has_handoff():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    claimed = WidgetConversationFactory(state=HandoffState.WITH_AGENT)
    never = WidgetConversationFactory(state=HandoffState.BOT, requested_at=None)
    Conversation.objects.unscoped().update(handoff_state="")  # as every row was before
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        states = dict(Conversation.objects.unscoped().values_list("pk", "handoff_state"))
        assert states == {claimed.conversation_id: "with_agent", never.conversation_id: ""}
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
