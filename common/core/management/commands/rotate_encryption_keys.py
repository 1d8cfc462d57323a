"""`manage.py rotate_encryption_keys`: re-encrypt every stored secret with the newest FIELD_ENCRYPTION_KEYS key.

Run it after prepending a new key (and restarting), before removing the old one. Every EncryptedTextField of
every model is visited; ciphertext is read and written as stored (never decrypted into Python objects), one
row at a time with its own UPDATE guarded by the old value, so a concurrent change is never overwritten.
Idempotent: secrets the newest key already encrypts are left alone. Exits with an error when some secret
cannot be decrypted by any configured key (it is left untouched).
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from common.security.encryption import EncryptedTextField, fernet, is_current, rotate


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the newest key of FIELD_ENCRYPTION_KEYS (after prepending a new key)."

    def handle(self, *args: Any, **options: Any) -> None:
        fernet()  # fails clearly when FIELD_ENCRYPTION_KEYS is missing or malformed
        unreadable_total = 0
        quote = connection.ops.quote_name
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedTextField):
                    continue
                table, column, pk = model._meta.db_table, field.column, model._meta.pk.column  # type: ignore[union-attr]
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # names from the models
                        f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> ''"
                    )
                    rows = cursor.fetchall()
                rotated = current = unreadable = 0
                for row_pk, ciphertext in rows:
                    if is_current(ciphertext):
                        current += 1
                        continue
                    try:
                        new = rotate(ciphertext)
                    except InvalidToken:
                        unreadable += 1
                        continue
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {quote(table)} SET {quote(column)} = %s "  # names from the models
                            f"WHERE {quote(pk)} = %s AND {quote(column)} = %s",
                            [new, row_pk, ciphertext],
                        )
                        rotated += cursor.rowcount
                unreadable_total += unreadable
                label = f"{model._meta.label}.{field.name}"
                line = f"{label}: {rotated} re-encrypted, {current} already current"
                if unreadable:
                    line += f", {unreadable} cannot be decrypted with any configured key"
                self.stdout.write(line)
        if unreadable_total:
            raise CommandError(
                f"{unreadable_total} stored secret(s) cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
                "add back the key that encrypted them and run the command again."
            )
