"""Organization pages, mounted at the site root."""

from django.urls import path

from apps.organizations import web_views as views

urlpatterns = [
    path("members/", views.members_view, name="members"),
    path("members/invite/", views.invite_view, name="members-invite"),
    path("members/leave/", views.member_leave_view, name="members-leave"),
    path("members/<str:membership_id>/role/", views.member_role_view, name="members-role"),
    path("members/<str:membership_id>/remove/", views.member_remove_view, name="members-remove"),
    path("invitations/<str:invitation_id>/revoke/", views.invitation_revoke_view, name="invitations-revoke"),
    path("invitations/<str:invitation_id>/resend/", views.invitation_resend_view, name="invitations-resend"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitations-accept"),
    path("switch-organization/", views.switch_organization_view, name="switch-organization"),
    path("settings/organization/", views.organization_settings_view, name="organization-settings"),
    path("settings/organization/delete/", views.organization_delete_view, name="organization-delete"),
    path("settings/audit/", views.audit_log_view, name="audit-log"),
    path("organizations/new/", views.organization_create_view, name="organization-new"),
]
