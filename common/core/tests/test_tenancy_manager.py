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


@pytest.mark.django_db
def test_a_bare_read_of_a_tenant_model_is_refused_while_scoped_reads_work(organization, settings):
    from apps.documents.tests.factories import CollectionFactory
    from common.core.models import UnscopedQueryError

    settings.TENANCY_STRICT = True
    collection = CollectionFactory(organization=organization)
    for bare in (
        lambda: list(ChatbotProvider.objects.all()),
        lambda: ChatbotProvider.objects.filter(name="p").first(),
        lambda: ChatbotProvider.objects.count(),
        lambda: ChatbotProvider.objects.exists(),
        lambda: ChatbotProvider.objects.filter(name="p").update(name="q"),
        lambda: ChatbotProvider.objects.get_or_create(organization=organization, name="p", kind="offline"),
    ):
        with pytest.raises(UnscopedQueryError, match="without an organization"):
            bare()
    assert ChatbotProvider.objects.for_org(organization).count() == 0
    assert ChatbotProvider.objects.unscoped().count() == 0
    assert list(ChatbotProvider.objects.none()) == []
    # A related manager is scoped by its parent row.
    assert list(collection.documents.all()) == []


@pytest.mark.django_db
def test_without_strict_mode_a_bare_read_still_answers(organization, settings):
    settings.TENANCY_STRICT = False
    ChatbotProvider.objects.create(organization=organization, name="p", kind="offline")
    assert ChatbotProvider.objects.count() == 1


def test_an_api_view_cannot_override_get_queryset():
    from apps.organizations.views_base import OrganizationAPIView

    with pytest.raises(TypeError, match="restricted_by"):

        class Leaky(OrganizationAPIView):
            def get_queryset(self):
                return ChatbotProvider.objects.unscoped()
