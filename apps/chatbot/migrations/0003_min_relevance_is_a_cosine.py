"""min_relevance now compares with a hit's cosine similarity, not its relative fused score: new default 0.2.

Bots still on the old default (0.1) move to the new one; other values were chosen by someone and are kept.
"""

from django.db import migrations, models


def forwards(apps, schema_editor):
    apps.get_model("chatbot", "Chatbot").objects.filter(min_relevance=0.1).update(min_relevance=0.2)


class Migration(migrations.Migration):
    dependencies = [
        ("chatbot", "0002_bot_collections"),
    ]

    operations = [
        migrations.AlterField(
            model_name="chatbot",
            name="min_relevance",
            field=models.FloatField(default=0.2),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
