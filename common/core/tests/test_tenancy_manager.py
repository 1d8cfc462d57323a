import pytest

from apps.chatbot_provider.models import ChatbotProvider


@pytest.mark.django_db
def test_for_org_returns_only_that_organizations_rows(organization, other_organization):
    mine = ChatbotProvider.objects.create(organization=organization, name="p", kind="offline")
    ChatbotProvider.objects.create(organization=other_organization, name="p", kind="offline")
    assert list(ChatbotProvider.objects.for_org(organization)) == [mine]


def test_for_org_refuses_none():
    with pytest.raises(ValueError, match="unscoped"):
        ChatbotProvider.objects.for_org(None)
