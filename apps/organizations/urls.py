"""Organization, member and invitation routes, mounted under /api/v1/."""

from django.urls import path

from apps.organizations import api

urlpatterns = [
    path("organizations", api.OrganizationListCreateAPI.as_view(), name="organization-list"),
    path("organizations/current", api.CurrentOrganizationAPI.as_view(), name="organization-current"),
    path("members", api.MemberListAPI.as_view(), name="member-list"),
    path("members/leave", api.MemberLeaveAPI.as_view(), name="member-leave"),
    path("members/<uuid:pk>", api.MemberDetailAPI.as_view(), name="member-detail"),
    path("invitations", api.InvitationListCreateAPI.as_view(), name="invitation-list"),
    path("invitations/accept", api.InvitationAcceptAPI.as_view(), name="invitation-accept"),
    path("invitations/<uuid:pk>", api.InvitationDetailAPI.as_view(), name="invitation-detail"),
    path("invitations/<uuid:pk>/resend", api.InvitationResendAPI.as_view(), name="invitation-resend"),
]
