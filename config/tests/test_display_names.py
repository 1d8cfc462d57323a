"""Every name an API or a web form accepts for people to see (organization, bot, collection, provider and
API-key names, document titles, people's names) refuses control characters and direction overrides.

The request serializers are discovered from the URL configuration, as for integer inputs."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.api_keys.web_views import APIKeyForm
from apps.auth.forms import SignupForm
from apps.chatbot_provider.web_views import ProviderForm
from apps.organizations.forms import AcceptNewUserForm, OrganizationRenameForm
from common.core.exceptions import api_exception_handler
from config.tests.test_integer_inputs import input_serializers

NAME_FIELDS = {"name", "title", "full_name", "organization_name"}
HOSTILE = ["Line\nbreak", "Tab\tbed", "\x1b[2JClear", "Bell\x07", "Evil\u202egnp.exe"]

CASES = [
    pytest.param(cls, name, id=f"{endpoint} {name}")
    for cls, endpoint in input_serializers().items()
    for name, field in cls().fields.items()
    if name in NAME_FIELDS and isinstance(field, serializers.CharField) and not field.read_only
]


def test_name_inputs_were_discovered():
    ids = {case.id for case in CASES}
    assert {"POST /api/v1/organizations name", "POST /api/v1/bots name", "POST /api/v1/api-keys name"} <= ids
    assert "POST /api/v1/collections/{collection_id}/documents/text title" in ids


@pytest.mark.parametrize(("serializer_class", "name"), CASES)
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_name_with_control_characters_is_a_400_naming_the_field(serializer_class, name, value):
    serializer = serializer_class(data={name: value}, partial=True)
    with pytest.raises(ValidationError) as raised:
        serializer.is_valid(raise_exception=True)
    response = api_exception_handler(raised.value, {})
    assert response is not None and response.status_code == 400
    assert response.data["error"]["code"] == "validation_error"
    assert name in response.data["error"]["details"]


@pytest.mark.parametrize(
    ("form_class", "name"),
    [
        (APIKeyForm, "name"),
        (ProviderForm, "name"),
        (OrganizationRenameForm, "name"),
        (SignupForm, "full_name"),
        (SignupForm, "organization_name"),
        (AcceptNewUserForm, "full_name"),
    ],
)
def test_web_forms_refuse_names_with_control_characters(form_class, name):
    form = form_class(data={name: "Evil\u202egnp.exe"})
    form.is_valid()
    assert name in form.errors
    assert "control characters" in " ".join(form.errors[name])
