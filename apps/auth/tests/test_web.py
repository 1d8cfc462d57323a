"""The server-rendered sign-in, sign-up, password and verification pages."""

import pytest
from django.core import mail
from django.test import Client

from apps.auth.tests.helpers import link_token
from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import SESSION_KEY
from apps.organizations.tests.factories import MembershipFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
STRONG = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def member(organization):
    return MembershipFactory(organization=organization, role=Role.MEMBER)


def test_login_page_signs_in_and_opens_the_dashboard(client, member, password):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"email": member.user.email.upper(), "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(member.organization_id)
    page = client.get("/")
    assert page.status_code == 200
    assert member.organization.name in page.content.decode()


def test_login_page_shows_an_error_for_a_wrong_password(client, member):
    response = client.post("/login/", {"email": member.user.email, "password": "nope"})
    assert response.status_code == 200
    assert "The email or password is incorrect." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_page_shows_the_throttle_message(client, member, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_account": "2/min"},
    }
    for _ in range(2):
        assert client.post("/login/", {"email": member.user.email, "password": "nope"}).status_code == 200
    response = client.post("/login/", {"email": member.user.email, "password": "nope"})
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_login_refuses_a_post_without_csrf_token(member, password):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"email": member.user.email, "password": password})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_ignores_an_offsite_next(client, member, password):
    response = client.post(
        "/login/", {"email": member.user.email, "password": password, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_logout_is_a_post(client, member):
    client.force_login(member.user)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response["Location"] == "/login/"
    assert client.get("/")["Location"] == "/login/"


def test_signup_page_creates_the_account_and_organization(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/signup/",
            {"email": "web@example.com", "password": STRONG, "full_name": "Web", "organization_name": "Web Org"},
        )
    assert response.status_code == 302
    user = User.objects.get(email="web@example.com")
    assert Membership.objects.unscoped().get(user=user).organization.name == "Web Org"
    assert "verify-email" in mail.outbox[0].body
    assert "Please confirm your email address" in client.get("/").content.decode()


def test_signup_page_shows_field_errors(client):
    UserFactory(email="taken@example.com")
    response = client.post("/signup/", {"email": "Taken@example.com", "password": STRONG})
    assert response.status_code == 200
    assert "An account with this email already exists." in response.content.decode()
    weak = client.post("/signup/", {"email": "weak@example.com", "password": "password"})
    assert "This password is too common." in weak.content.decode()


def test_password_reset_pages_set_a_new_password_once(client, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/password-reset/", {"email": member.user.email})
    assert "Check your email" in sent.content.decode()
    token = link_token("password-reset")
    assert client.get(f"/password-reset/{token}/").status_code == 200
    mismatch = client.post(f"/password-reset/{token}/", {"new_password": STRONG, "new_password_again": "other"})
    assert "The two passwords differ." in mismatch.content.decode()
    done = client.post(f"/password-reset/{token}/", {"new_password": STRONG, "new_password_again": STRONG})
    assert done["Location"] == "/login/"
    assert client.get(f"/password-reset/{token}/").status_code == 400
    assert client.post("/login/", {"email": member.user.email, "password": STRONG}).status_code == 302


def test_password_reset_page_answers_the_same_for_unknown_emails(client):
    response = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_verify_email_page_needs_a_click_and_works_once(client, member, django_capture_on_commit_callbacks):
    from apps.auth.services import email_verification_send

    with django_capture_on_commit_callbacks(execute=True):
        email_verification_send(user=member.user)
    token = link_token("verify-email")
    assert client.get(f"/verify-email/{token}/").status_code == 200  # a link scanner's GET uses nothing up
    assert client.post(f"/verify-email/{token}/").status_code == 302
    member.user.refresh_from_db()
    assert member.user.email_verified_at is not None
    assert client.post(f"/verify-email/{token}/").status_code == 400


def test_change_password_page_keeps_this_session(client, member, password):
    client.force_login(member.user)
    response = client.post(
        "/account/password/",
        {"current_password": password, "new_password": STRONG, "new_password_again": STRONG},
    )
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    member.user.refresh_from_db()
    assert member.user.check_password(STRONG)


def test_a_failed_sign_in_shows_its_error_once(client):
    page = client.post("/login/", {"email": "nobody@example.com", "password": "wrong-password"}).content.decode()
    assert page.count("The email or password is incorrect.") == 1
