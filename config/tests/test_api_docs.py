"""The API reference pages load their scripts from Docent's own static files, so they work offline."""

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_reference_needs_no_third_party_host(client, path):
    page = client.get(path).content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page


def test_the_swagger_ui_script_is_a_static_file_of_ours(client):
    page = client.get("/api/docs/").content.decode()
    script = page.split('src="/static/', 1)[1].split('"', 1)[0]
    assert script.endswith(".js")
    assert finders.find(script) is not None  # collectstatic ships it
