"""Processing lease and fair dispatch fields.

Documents already queued or processing when this runs have had their task sent: they are marked dispatched,
so the dispatcher does not send them a second time.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce


def mark_in_flight_as_dispatched(apps, schema_editor):
    Document = apps.get_model("documents", "Document")
    Document.objects.filter(status__in=["queued", "processing"]).update(
        dispatched_at=Coalesce(F("queued_at"), F("updated_at"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0002_document_content_unique_per_collection"),
        ("organizations", "0003_audit_actor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="document",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="document",
            name="lease_owner",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("dispatched_at__isnull", True), ("status", "queued")),
                fields=["organization", "queued_at"],
                name="document_waiting_dispatch",
            ),
        ),
        migrations.RunPython(mark_in_flight_as_dispatched, migrations.RunPython.noop),
    ]
