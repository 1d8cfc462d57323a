"""A provider's base URL cannot aim Docent at internal hosts (cloud metadata, databases, loopback)."""

import pytest

from apps.chatbot_provider.clients import ChatMessage, embed_texts, stream_chat
from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.chatbot_provider.tests.loopback import Behaviour

pytestmark = pytest.mark.django_db
URL = "/api/v1/providers"


def _create(client, base_url):
    return client.post(
        URL,
        {"name": "Local", "kind": "openai_compatible", "base_url": base_url, "default_chat_model": "m"},
        format="json",
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://[fd00:ec2::254]/v1",  # AWS metadata over IPv6 (unique local)
        "http://10.0.0.5:5432/v1",  # a private database
        "http://192.168.1.20:6379/v1",  # a private redis
        "http://[::ffff:169.254.169.254]/v1",  # metadata as an IPv4-mapped IPv6 address
        "http://0.0.0.0:8000/v1",  # unspecified
        "http://224.0.0.1/v1",  # multicast
    ],
)
def test_an_internal_base_url_is_refused_with_a_clear_400(admin_client, organization, settings, base_url):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = False
    response = _create(admin_client, base_url)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "non-public address" in error["details"]["base_url"][0]
    assert not ChatbotProvider.objects.for_org(organization).exists()


def test_the_metadata_address_is_refused_even_when_private_networks_are_allowed(admin_client, settings):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = True
    response = _create(admin_client, "http://169.254.169.254/v1")
    assert response.status_code == 400
    assert "base_url" in response.json()["error"]["details"]


def test_loopback_and_private_servers_need_the_setting(admin_client, settings):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = False
    assert _create(admin_client, "http://127.0.0.1:11434/v1").status_code == 400
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = True
    assert _create(admin_client, "http://127.0.0.1:11434/v1").status_code == 201


def test_a_private_server_is_accepted_when_private_networks_are_allowed(admin_client, settings):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = True
    assert _create(admin_client, "http://10.1.2.3:8000/v1").status_code == 201


def test_other_schemes_and_credentials_in_the_url_are_refused(admin_client, settings):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = True
    assert _create(admin_client, "ftp://example.com/v1").status_code == 400
    response = _create(admin_client, "http://user:pw@127.0.0.1:11434/v1")
    assert response.status_code == 400
    assert "base_url" in response.json()["error"]["details"]


def test_changing_the_base_url_to_an_internal_host_is_refused(admin_client, organization, settings):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = False
    provider = ChatbotProviderFactory(organization=organization, kind="openai", base_url="")
    response = admin_client.patch(f"{URL}/{provider.id}", {"base_url": "http://169.254.169.254/v1"}, format="json")
    assert response.status_code == 400
    assert "non-public address" in response.json()["error"]["details"]["base_url"][0]
    provider.refresh_from_db()
    assert provider.base_url == ""


def test_test_connection_checks_the_stored_url_before_calling_it(admin_client, compatible_provider, loopback, settings):
    # A provider saved while private networks were allowed; the setting has been turned off since.
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = False
    body = admin_client.post(f"{URL}/{compatible_provider.id}/test").json()
    assert body["ok"] is False
    assert body["error_code"] == "provider_address_blocked"
    assert "non-public address" in body["message"]
    assert loopback.requests == []


def test_chat_and_embeddings_check_the_url_before_each_call(compatible_provider, loopback, settings):
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = False
    from apps.chatbot_provider.errors import ProviderAddressBlocked

    with pytest.raises(ProviderAddressBlocked):
        list(stream_chat(provider=compatible_provider, messages=[ChatMessage("user", "hi")], model="m"))
    with pytest.raises(ProviderAddressBlocked):
        embed_texts(provider=compatible_provider, texts=["a"], model="e", dimensions=8)
    assert loopback.requests == []
    settings.PROVIDER_ALLOW_PRIVATE_NETWORKS = True
    assert list(stream_chat(provider=compatible_provider, messages=[ChatMessage("user", "hi")], model="m"))


@pytest.mark.parametrize("call", ["chat", "embeddings"])
def test_an_error_page_from_the_server_is_not_echoed(admin_client, compatible_provider, loopback, call):
    compatible_provider.max_retries = 0
    if call == "embeddings":
        compatible_provider.default_chat_model = ""
    compatible_provider.save()
    loopback.state.default = Behaviour(status=500, raw_body=b"<html>internal dashboard SECRET-ROW-42</html>")
    body = admin_client.post(f"{URL}/{compatible_provider.id}/test").json()
    assert body["ok"] is False
    assert "HTTP 500" in body["message"], body["message"]
    assert "SECRET-ROW-42" not in body["message"], body["message"]


def test_a_redirect_is_not_followed(admin_client, compatible_provider, loopback):
    compatible_provider.max_retries = 0
    compatible_provider.save()
    loopback.state.default = Behaviour(status=307, location=f"{loopback.openai_base_url}/internal-only")
    body = admin_client.post(f"{URL}/{compatible_provider.id}/test").json()
    assert body["ok"] is False
    assert [r.path for r in loopback.requests] == ["/v1/chat/completions"]
