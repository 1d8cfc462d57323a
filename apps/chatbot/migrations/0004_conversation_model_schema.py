"""One conversation model for every door (ADR 0023), step 1: the new columns and the Participant table.

Message.seq starts nullable; 0005 numbers the existing messages and 0006 makes it required, unique per
conversation and assigned by the database.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chatbot', '0003_min_relevance_is_a_cosine'),
        ('organizations', '0003_audit_actor'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Participant',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('kind', models.CharField(choices=[('user', 'Member'), ('bot', 'Bot'), ('visitor', 'Widget visitor')], max_length=10)),
                ('visitor_id', models.CharField(blank=True, default='', max_length=64)),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('member', 'Member')], default='member', max_length=10)),
                ('joined_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_read_seq', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name='conversation',
            name='kind',
            field=models.CharField(choices=[('bot', 'With a bot'), ('direct', 'Direct (one-to-one room)'), ('group', 'Group room')], default='bot', max_length=10),
        ),
        migrations.AddField(
            model_name='conversation',
            name='last_seq',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='conversation',
            name='visitor_id',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='message',
            name='sender_api_key_id',
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='sender_bot',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chatbot.chatbot'),
        ),
        migrations.AddField(
            model_name='message',
            name='sender_kind',
            field=models.CharField(choices=[('user', 'Member'), ('bot', 'Bot'), ('visitor', 'Widget visitor'), ('api_key', 'API client'), ('system', 'System')], default='', max_length=10),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='message',
            name='sender_user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='message',
            name='sender_visitor_id',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='message',
            name='seq',
            field=models.PositiveIntegerField(null=True, editable=False),
        ),
        migrations.AlterField(
            model_name='conversation',
            name='bot',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='conversations', to='chatbot.chatbot'),
        ),
        migrations.AlterField(
            model_name='conversation',
            name='source',
            field=models.CharField(choices=[('api', 'API'), ('web', 'Web UI'), ('widget', 'Widget'), ('room', 'Room')], default='api', max_length=10),
        ),
        migrations.AddConstraint(
            model_name='conversation',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'bot'), _negated=True), ('bot__isnull', False), _connector='OR'), name='chatbot_conversation_has_bot'),
        ),
        migrations.AddField(
            model_name='participant',
            name='bot',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='participations', to='chatbot.chatbot'),
        ),
        migrations.AddField(
            model_name='participant',
            name='conversation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='participants', to='chatbot.conversation'),
        ),
        migrations.AddField(
            model_name='participant',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.organization'),
        ),
        migrations.AddField(
            model_name='participant',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='participant',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('bot__isnull', True), ('kind', 'user'), ('user__isnull', False), ('visitor_id', '')), models.Q(('bot__isnull', False), ('kind', 'bot'), ('user__isnull', True), ('visitor_id', '')), models.Q(('bot__isnull', True), ('kind', 'visitor'), ('user__isnull', True), models.Q(('visitor_id', ''), _negated=True)), _connector='OR'), name='chatbot_participant_one_identity'),
        ),
        migrations.AddConstraint(
            model_name='participant',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('conversation', 'user'), name='uniq_participant_user'),
        ),
        migrations.AddConstraint(
            model_name='participant',
            constraint=models.UniqueConstraint(condition=models.Q(('bot__isnull', False)), fields=('conversation', 'bot'), name='uniq_participant_bot'),
        ),
        migrations.AddConstraint(
            model_name='participant',
            constraint=models.UniqueConstraint(condition=models.Q(('visitor_id', ''), _negated=True), fields=('conversation', 'visitor_id'), name='uniq_participant_visitor'),
        ),
    ]
