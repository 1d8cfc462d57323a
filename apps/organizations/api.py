"""Organization endpoints: my organizations, the current organization, members and invitations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.organizations import selectors, services
from apps.organizations import serializers as s
from apps.organizations.models import Invitation, Membership, Role
from apps.organizations.views_base import OrganizationAPIView, UserAPIView
from apps.users.services import user_issue_tokens
from common.core.errors import ValidationFailed
from common.core.schema import error_responses

ORG_TAGS = ["organizations"]
MEMBER_TAGS = ["members"]


class OrganizationListCreateAPI(UserAPIView):
    """The organizations the signed-in user belongs to (no organization context needed)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MyOrganizationSerializer(many=True), tags=ORG_TAGS, summary="My organizations")
    def get(self, request: Request) -> Response:
        memberships = selectors.organization_list_for_user(user=self.signed_in_user())
        return Response(s.MyOrganizationSerializer(memberships, many=True).data)

    @extend_schema(
        request=s.OrganizationCreateSerializer,
        responses={201: s.OrganizationSerializer, **error_responses(409)},
        tags=ORG_TAGS,
        summary="Create an organization (you become its owner)",
    )
    def post(self, request: Request) -> Response:
        data = s.OrganizationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.organization_create(actor=self.actor, name=data.validated_data["name"])
        return Response(s.OrganizationSerializer(organization).data, status=status.HTTP_201_CREATED)


class CurrentOrganizationAPI(OrganizationAPIView):
    required_roles = {"GET": Role.MEMBER, "PATCH": Role.ADMIN, "DELETE": Role.OWNER}

    @extend_schema(responses=s.OrganizationSerializer, tags=ORG_TAGS, summary="The current organization")
    def get(self, request: Request) -> Response:
        return Response(s.OrganizationSerializer(self.organization).data)

    @extend_schema(
        request=s.OrganizationUpdateSerializer,
        responses=s.OrganizationSerializer,
        tags=ORG_TAGS,
        summary="Rename the current organization",
    )
    def patch(self, request: Request) -> Response:
        data = s.OrganizationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.organization_update(
            organization=self.organization, actor=self.actor, name=data.validated_data["name"]
        )
        return Response(s.OrganizationSerializer(organization).data)

    @extend_schema(
        request=None,
        responses={204: None},
        tags=ORG_TAGS,
        summary="Delete the current organization and everything it owns (owner only)",
    )
    def delete(self, request: Request) -> Response:
        services.organization_delete(organization=self.organization, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListAPI(OrganizationAPIView):
    model = Membership
    required_roles = {"GET": Role.MEMBER}

    @extend_schema(responses=s.MemberSerializer(many=True), tags=MEMBER_TAGS, summary="Members of the organization")
    def get(self, request: Request) -> Response:
        return Response(s.MemberSerializer(selectors.member_list(organization=self.organization), many=True).data)


class MemberDetailAPI(OrganizationAPIView):
    model = Membership
    required_roles = {"GET": Role.MEMBER, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}

    def _membership(self, pk: UUID) -> Membership:
        return selectors.member_get(organization=self.organization, membership_id=pk)

    @extend_schema(responses=s.MemberSerializer, tags=MEMBER_TAGS, summary="One member")
    def get(self, request: Request, pk: UUID) -> Response:
        return Response(s.MemberSerializer(self._membership(pk)).data)

    @extend_schema(
        request=s.MemberUpdateSerializer,
        responses={200: s.MemberSerializer, 409: OpenApiResponse(description="The last owner cannot be demoted.")},
        tags=MEMBER_TAGS,
        summary="Change a member's role (only owners grant or change the owner role)",
    )
    def patch(self, request: Request, pk: UUID) -> Response:
        membership = self._membership(pk)
        data = s.MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=membership, actor=self.actor, role=data.validated_data["role"]
        )
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(
        request=None,
        responses={204: None, 409: OpenApiResponse(description="The last owner cannot be removed.")},
        tags=MEMBER_TAGS,
        summary="Remove a member (admins cannot remove owners)",
    )
    def delete(self, request: Request, pk: UUID) -> Response:
        membership = self._membership(pk)
        services.membership_remove(membership=membership, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberLeaveAPI(OrganizationAPIView):
    required_roles = {"POST": Role.MEMBER}

    @extend_schema(
        request=None,
        responses={204: None, 409: OpenApiResponse(description="The last owner cannot leave.")},
        tags=MEMBER_TAGS,
        summary="Leave the current organization",
    )
    def post(self, request: Request) -> Response:
        services.membership_leave(actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListCreateAPI(OrganizationAPIView):
    model = Invitation
    required_roles = {"GET": Role.ADMIN, "POST": Role.ADMIN}

    @extend_schema(responses=s.InvitationSerializer(many=True), tags=MEMBER_TAGS, summary="Pending invitations")
    def get(self, request: Request) -> Response:
        invitations = selectors.invitation_list_pending(organization=self.organization)
        return Response(s.InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        request=s.InvitationCreateSerializer,
        responses={201: s.InvitationSerializer, 409: OpenApiResponse(description="Already a member or invited.")},
        tags=MEMBER_TAGS,
        summary="Invite someone by email",
    )
    def post(self, request: Request) -> Response:
        data = s.InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(organization=self.organization, actor=self.actor, **data.validated_data)
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailAPI(OrganizationAPIView):
    model = Invitation
    required_roles = {"DELETE": Role.ADMIN}

    @extend_schema(request=None, responses={204: None}, tags=MEMBER_TAGS, summary="Revoke an invitation")
    def delete(self, request: Request, pk: UUID) -> Response:
        invitation = selectors.invitation_get(organization=self.organization, invitation_id=pk)
        services.invitation_revoke(invitation=invitation, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendAPI(OrganizationAPIView):
    model = Invitation
    required_roles = {"POST": Role.ADMIN}

    @extend_schema(
        request=None, responses=s.InvitationSerializer, tags=MEMBER_TAGS, summary="Email a fresh invitation link"
    )
    def post(self, request: Request, pk: UUID) -> Response:
        invitation = selectors.invitation_get(organization=self.organization, invitation_id=pk)
        invitation = services.invitation_resend(invitation=invitation, actor=self.actor)
        return Response(s.InvitationSerializer(invitation).data)


class InvitationAcceptAPI(UserAPIView):
    """Accept an invitation: signed in (the invited email) or, without an account, with a new password."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=s.InvitationAcceptSerializer,
        responses={
            200: s.InvitationAcceptedSerializer,
            201: s.InvitationAcceptedSerializer,
            400: OpenApiResponse(description="Invalid, expired, revoked or used invitation."),
            409: OpenApiResponse(description="An account exists for this email: sign in first."),
        },
        tags=MEMBER_TAGS,
        summary="Accept an invitation",
    )
    def post(self, request: Request) -> Response:
        data = s.InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = data.validated_data["token"]
        if self.actor.is_user:
            membership = services.invitation_accept(actor=self.actor, token=token)
            return Response(s.InvitationAcceptedSerializer.body(membership))
        password: Any = data.validated_data.get("password")
        if not password:
            raise ValidationFailed(
                "Sign in to accept, or choose a password to create your account.",
                details={"password": ["This field is required to create an account."]},
            )
        membership = services.invitation_accept_new_user(
            actor=self.actor, token=token, password=password, full_name=data.validated_data["full_name"]
        )
        tokens = user_issue_tokens(user=membership.user)
        return Response(s.InvitationAcceptedSerializer.body(membership, tokens), status=status.HTTP_201_CREATED)
