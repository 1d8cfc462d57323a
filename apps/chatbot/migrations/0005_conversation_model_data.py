"""One conversation model (ADR 0023), step 2: number and attribute the messages already stored, and record
who took part in each conversation. Nothing is deleted or rewritten except the new columns.

- Message.seq: 1..n per conversation in the order the messages were written (created_at, then id);
  Conversation.last_seq: n.
- Senders: answers were written by the conversation's bot; questions by the member who opened the
  conversation, else by a widget visitor (widget conversations) or an API client (the key is not known).
- Participants: the bot, and the member who opened the conversation (as its owner).
"""

from django.db import migrations

NUMBER_MESSAGES = """
UPDATE chatbot_message AS m
   SET seq = numbered.seq
  FROM (
        SELECT id, row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, id) AS seq
          FROM chatbot_message
       ) AS numbered
 WHERE m.id = numbered.id
"""

COUNT_MESSAGES = """
UPDATE chatbot_conversation AS c
   SET last_seq = counted.last_seq
  FROM (SELECT conversation_id, max(seq) AS last_seq FROM chatbot_message GROUP BY conversation_id) AS counted
 WHERE c.id = counted.conversation_id
"""

ATTRIBUTE_MESSAGES = """
UPDATE chatbot_message AS m
   SET sender_kind = CASE
           WHEN m.role = 'assistant' THEN 'bot'
           WHEN c.user_id IS NOT NULL OR c.source = 'web' THEN 'user'
           WHEN c.source = 'widget' THEN 'visitor'
           ELSE 'api_key'
       END,
       sender_bot_id = CASE WHEN m.role = 'assistant' THEN c.bot_id END,
       sender_user_id = CASE WHEN m.role <> 'assistant' THEN c.user_id END
  FROM chatbot_conversation AS c
 WHERE c.id = m.conversation_id
"""

ADD_BOT_PARTICIPANTS = """
INSERT INTO chatbot_participant
       (id, created_at, updated_at, organization_id, conversation_id, kind, bot_id, user_id, visitor_id, role,
        joined_at, last_read_seq)
SELECT gen_random_uuid(), c.created_at, c.created_at, c.organization_id, c.id, 'bot', c.bot_id, NULL, '',
       'member', c.created_at, c.last_seq
  FROM chatbot_conversation AS c
 WHERE c.bot_id IS NOT NULL
"""

ADD_USER_PARTICIPANTS = """
INSERT INTO chatbot_participant
       (id, created_at, updated_at, organization_id, conversation_id, kind, bot_id, user_id, visitor_id, role,
        joined_at, last_read_seq)
SELECT gen_random_uuid(), c.created_at, c.created_at, c.organization_id, c.id, 'user', NULL, c.user_id, '',
       'owner', c.created_at, c.last_seq
  FROM chatbot_conversation AS c
 WHERE c.user_id IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("chatbot", "0004_conversation_model_schema"),
    ]

    operations = [
        migrations.RunSQL(sql, reverse_sql=migrations.RunSQL.noop)
        for sql in (NUMBER_MESSAGES, COUNT_MESSAGES, ATTRIBUTE_MESSAGES, ADD_BOT_PARTICIPANTS, ADD_USER_PARTICIPANTS)
    ]
