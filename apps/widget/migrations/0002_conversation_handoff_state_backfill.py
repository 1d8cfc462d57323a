"""Copies the handoff state of every widget conversation a person was ever asked for onto its conversation."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_states(apps, schema_editor):
    Conversation = apps.get_model("chatbot", "Conversation")
    WidgetConversation = apps.get_model("widget", "WidgetConversation")
    requested = WidgetConversation._base_manager.filter(
        conversation=OuterRef("pk"), requested_at__isnull=False
    ).values("state")[:1]
    Conversation._base_manager.filter(
        pk__in=WidgetConversation._base_manager.filter(requested_at__isnull=False).values("conversation_id")
    ).update(handoff_state=Subquery(requested))


class Migration(migrations.Migration):
    dependencies = [
        ("chatbot", "0011_conversation_handoff_state"),
        ("widget", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_states, migrations.RunPython.noop)]
