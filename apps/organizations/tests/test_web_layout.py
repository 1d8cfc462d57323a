"""The shared layout: role-aware navigation, the dashboard's next steps, and readable error pages."""

import pytest

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def signed_in(client, organization, role):
    membership = MembershipFactory(organization=organization, role=role)
    client.force_login(membership.user)
    return membership


def _nav(page: str) -> str:
    return page.split("<nav>", 1)[1].split("</nav>", 1)[0]


def test_a_member_sees_no_nav_entries_for_admin_only_pages(client, organization):
    signed_in(client, organization, Role.MEMBER)
    nav = _nav(client.get("/documents/").content.decode())
    assert 'href="/documents/"' in nav and 'href="/bots/"' in nav and 'href="/members/"' in nav
    assert 'href="/providers/"' not in nav
    assert 'href="/api-keys/"' not in nav
    assert 'href="/webhooks/"' not in nav
    assert 'href="/conversations/"' not in nav and 'href="/analytics/"' not in nav


def test_an_admin_sees_every_nav_entry_and_the_current_page_is_marked(client, organization):
    signed_in(client, organization, Role.ADMIN)
    nav = _nav(client.get("/bots/").content.decode())
    for href in (
        "/",
        "/documents/",
        "/bots/",
        "/rooms/",
        "/handoffs/",
        "/conversations/",
        "/analytics/",
        "/providers/",
        "/api-keys/",
        "/webhooks/",
        "/members/",
        "/api/docs/",
    ):
        assert f'href="{href}"' in nav
    assert '<a href="/bots/" class="active" aria-current="page">Bots</a>' in nav
    assert '<a href="/documents/" class="active"' not in nav


def test_every_nav_entry_opens_for_an_admin(client, organization):
    signed_in(client, organization, Role.ADMIN)
    nav = _nav(client.get("/").content.decode())
    hrefs = [part.split('"', 1)[0] for part in nav.split('href="')[1:]]
    assert len(hrefs) == 12
    for href in hrefs:
        assert client.get(href).status_code == 200, href


def test_the_member_dashboard_offers_only_what_members_can_do(client, organization):
    signed_in(client, organization, Role.MEMBER)
    page = client.get("/").content.decode()
    assert "Try the bots" in page
    assert "/api-keys/" not in page and "/providers/" not in page and "/bots/new/" not in page


def test_the_admin_dashboard_lists_the_setup_steps_in_order(client, organization):
    signed_in(client, organization, Role.OWNER)
    page = client.get("/").content.decode()
    steps = [
        page.index(href)
        for href in ('href="/documents/">Upload', '/providers/">Connect', "/bots/new/", '/api-keys/">Create')
    ]
    assert steps == sorted(steps)


def test_a_forbidden_page_explains_why_inside_the_layout(client, organization):
    signed_in(client, organization, Role.MEMBER)
    response = client.get("/api-keys/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page
    assert "This action needs the admin role or higher." in page
    assert "<nav>" in page  # the user can navigate away


def test_a_missing_page_is_a_friendly_html_page(client, organization):
    signed_in(client, organization, Role.MEMBER)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "Resolver404" not in page
    missing_bot = client.get("/bots/00000000-0000-0000-0000-000000000000/chat/")
    assert missing_bot.status_code == 404
    assert "Bot not found." in missing_bot.content.decode()


def test_leaving_removing_and_revoking_ask_for_confirmation_first(client, organization):
    from apps.organizations.tests.factories import InvitationFactory

    signed_in(client, organization, Role.OWNER)
    other = MembershipFactory(organization=organization, role=Role.MEMBER)
    InvitationFactory(organization=organization, email="new@example.com")
    page = client.get("/members/").content.decode()
    assert f'data-confirm="Leave {organization.name}?' in page
    assert f'data-confirm="Remove {other.user.email} from {organization.name}?"' in page
    assert 'data-confirm="Revoke the invitation for new@example.com?"' in page
