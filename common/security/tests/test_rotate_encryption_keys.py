"""`manage.py rotate_encryption_keys`: after a new key is prepended, stored secrets move to it."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory

pytestmark = pytest.mark.django_db


def _stored(provider):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM chatbot_provider_chatbotprovider WHERE id = %s", [provider.pk])
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_stored_keys_with_the_new_key(organization, other_organization, settings, capsys):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    first = ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-first-secret-1111")
    second = ChatbotProviderFactory(organization=other_organization, kind="openai", api_key="sk-second-secret-22")
    keyless = ChatbotProviderFactory(organization=organization, kind="offline", api_key="")
    old_ciphertext = _stored(first)

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")
    out = capsys.readouterr().out
    assert "chatbot_provider.ChatbotProvider.api_key: 2 re-encrypted, 0 already current" in out

    assert _stored(first) != old_ciphertext
    assert Fernet(new_key.encode()).decrypt(_stored(first).encode()) == b"sk-first-secret-1111"
    assert _stored(keyless) == ""
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything still reads
    assert ChatbotProvider.objects.unscoped().get(pk=first.pk).api_key == "sk-first-secret-1111"
    assert ChatbotProvider.objects.unscoped().get(pk=second.pk).api_key == "sk-second-secret-22"


def test_rotation_is_idempotent(organization, settings, capsys):
    provider = ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-same-secret-3333")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_encryption_keys")
    after_first = _stored(provider)
    capsys.readouterr()
    call_command("rotate_encryption_keys")
    assert "0 re-encrypted, 1 already current" in capsys.readouterr().out
    assert _stored(provider) == after_first


def test_a_secret_no_key_can_read_is_reported_and_left_alone(organization, settings, capsys):
    provider = ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-orphan-secret-44")
    before = _stored(provider)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key was dropped too early
    with pytest.raises(CommandError):
        call_command("rotate_encryption_keys")
    assert "1 cannot be decrypted" in capsys.readouterr().out
    assert _stored(provider) == before
