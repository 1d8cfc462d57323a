"""`manage.py text_index_rebuild`: rebuild the full-text postings and term statistics from the chunks.

The triggers keep them in step with every chunk write; run this after changing the BM25 parameters of the
stored impacts or to repair a database restored without them. Writers of chunks wait while it runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction


class Command(BaseCommand):
    help = "Rebuild the full-text postings and term statistics (BM25) from the stored chunks."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT documents_text_index_rebuild()")
            row = cursor.fetchone()
            cursor.execute("ANALYZE documents_chunkterm")
        self.stdout.write(f"Rebuilt {int(row[0] if row else 0):,} postings.")
