"""Provider keys at rest: ciphertext only, and the encryption key can rotate without losing them."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory

pytestmark = pytest.mark.django_db


def _stored(provider):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM chatbot_provider_chatbotprovider WHERE id = %s", [provider.id])
        return cursor.fetchone()[0]


def test_a_key_survives_rotation_and_is_reencrypted_with_the_new_key(organization, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    provider = ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-rotate-me-0001")
    before = _stored(provider)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    reloaded = ChatbotProvider.objects.for_org(organization).get(pk=provider.pk)
    assert reloaded.api_key == "sk-rotate-me-0001"
    reloaded.save(update_fields=["api_key"])
    after = _stored(provider)
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode()) == b"sk-rotate-me-0001"

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key retired
    assert ChatbotProvider.objects.for_org(organization).get(pk=provider.pk).api_key == "sk-rotate-me-0001"
