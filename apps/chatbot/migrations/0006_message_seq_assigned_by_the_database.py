"""One conversation model (ADR 0023), step 3: every message has a sequence number, unique in its conversation,
assigned by the database on insert.

A BEFORE INSERT trigger increments the conversation's last_seq (taking its row lock, so concurrent writers
queue and never collide, and a rolled-back insert gives its number back) and stamps last_message_at, in the
same statement as the insert: no extra round trip, and no writer can forget it.
"""

from django.db import migrations, models

CREATE_TRIGGER = """
CREATE FUNCTION chatbot_message_assign_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chatbot_conversation
       SET last_seq = last_seq + 1,
           last_message_at = GREATEST(COALESCE(last_message_at, NEW.created_at), NEW.created_at),
           updated_at = GREATEST(updated_at, NEW.created_at)
     WHERE id = NEW.conversation_id
    RETURNING last_seq INTO NEW.seq;
    RETURN NEW;
END;
$$;
CREATE TRIGGER chatbot_message_assign_seq
    BEFORE INSERT ON chatbot_message
    FOR EACH ROW EXECUTE FUNCTION chatbot_message_assign_seq();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS chatbot_message_assign_seq ON chatbot_message;
DROP FUNCTION IF EXISTS chatbot_message_assign_seq();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("chatbot", "0005_conversation_model_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="seq",
            field=models.PositiveIntegerField(db_default=0, editable=False),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("conversation", "seq"), name="uniq_message_seq_per_conversation"),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.CheckConstraint(
                condition=models.Q(("sender_kind__in", ["user", "bot", "visitor", "api_key", "system"])),
                name="chatbot_message_sender_kind_known",
            ),
        ),
        migrations.RunSQL(CREATE_TRIGGER, reverse_sql=DROP_TRIGGER),
    ]
