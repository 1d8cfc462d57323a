"""min_relevance may be empty: the floor calibrated for each collection's embedder (ADR 0017). Bots still on the
old default (0.2, calibrated for the offline embedder only) move to it."""

from django.db import migrations, models


def to_calibrated(apps, schema_editor):
    apps.get_model("chatbot", "Chatbot").objects.filter(min_relevance=0.2).update(min_relevance=None)


def to_fixed(apps, schema_editor):
    apps.get_model("chatbot", "Chatbot").objects.filter(min_relevance__isnull=True).update(min_relevance=0.2)


class Migration(migrations.Migration):
    dependencies = [("chatbot", "0008_merge_20261201_0843")]

    operations = [
        migrations.AlterField(
            model_name="chatbot",
            name="min_relevance",
            field=models.FloatField(blank=True, default=None, null=True),
        ),
        migrations.RunPython(to_calibrated, to_fixed),
    ]
