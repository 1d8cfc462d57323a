"""One document per content (SHA-256) in a collection, for uploads and pasted text.

Uploads were already de-duplicated by content, but two simultaneous uploads of the same file could both be
stored. Before the constraint is added, such copies are removed: the oldest document (the one re-uploads were
already answered with) is kept, later copies of the same bytes go with their chunks and stored files.
"""

from django.db import migrations, models, transaction
from django.db.models import Count


def remove_duplicate_content(apps, schema_editor):
    from django.core.files.storage import default_storage

    Document = apps.get_model("documents", "Document")
    names: list[str] = []
    candidates = Document.objects.exclude(sha256="").exclude(source="url")
    groups = candidates.values("collection_id", "sha256").annotate(n=Count("id")).filter(n__gt=1)
    for group in groups:
        copies = list(
            candidates.filter(collection_id=group["collection_id"], sha256=group["sha256"]).order_by("created_at")
        )
        for duplicate in copies[1:]:
            name = duplicate.file.name if duplicate.file else ""
            duplicate.delete()
            if name:
                names.append(name)
    # Fire the deferred foreign-key checks of the deletions now: PostgreSQL cannot add the constraint's index
    # to a table with pending trigger events in the same transaction.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def delete_files() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete_files, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(remove_duplicate_content, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.UniqueConstraint(
                condition=models.Q(models.Q(("sha256", ""), _negated=True), models.Q(("source", "url"), _negated=True)),
                fields=("collection", "sha256"),
                name="uniq_document_content_per_collection",
            ),
        ),
    ]
