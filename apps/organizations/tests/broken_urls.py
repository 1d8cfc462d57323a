"""A deliberately unscoped endpoint, to prove the tenant isolation checker catches one."""

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.organizations.models import Invitation
from apps.organizations.serializers import InvitationSerializer
from apps.organizations.views_base import OrganizationAPIView
from common.core.errors import NotFound


class LeakyInvitationListAPI(OrganizationAPIView):
    model = Invitation

    @extend_schema(responses=InvitationSerializer(many=True))
    def get(self, request: Any) -> Response:
        return Response(InvitationSerializer(Invitation.objects.unscoped(), many=True).data)  # the bug


class LeakyInvitationDetailAPI(OrganizationAPIView):
    model = Invitation

    @extend_schema(responses=InvitationSerializer)
    def get(self, request: Any, pk: Any) -> Response:
        return Response(InvitationSerializer(Invitation.objects.unscoped().get(pk=pk)).data)  # the bug


urlpatterns = [
    path("api/v1/leaky/invitations", LeakyInvitationListAPI.as_view()),
    path("api/v1/leaky/invitations/<uuid:pk>", LeakyInvitationDetailAPI.as_view()),
]


class ProbeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=20)
    invitation_id = serializers.UUIDField()


class LeakyCreateAPI(OrganizationAPIView):
    """Takes another organization's invitation id without checking its organization."""

    @extend_schema(request=ProbeInputSerializer, responses={201: InvitationSerializer})
    def post(self, request: Any) -> Response:
        data = ProbeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = Invitation.objects.unscoped().get(pk=data.validated_data["invitation_id"])  # the bug
        return Response(InvitationSerializer(invitation).data, status=201)


class ScopedCreateAPI(OrganizationAPIView):
    """The same, done right: the reference is read through for_org, so B's id is simply not found."""

    @extend_schema(request=ProbeInputSerializer, responses={201: InvitationSerializer})
    def post(self, request: Any) -> Response:
        data = ProbeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = (
            Invitation.objects.for_org(self.organization).filter(pk=data.validated_data["invitation_id"]).first()
        )
        if invitation is None:
            raise NotFound("Invitation not found.")
        return Response(InvitationSerializer(invitation).data, status=201)


class LeakyRelatedFieldSerializer(serializers.Serializer):
    invitation = serializers.PrimaryKeyRelatedField(queryset=Invitation.objects.unscoped())  # the bug


class LeakyRelatedCreateAPI(OrganizationAPIView):
    @extend_schema(request=LeakyRelatedFieldSerializer, responses={201: InvitationSerializer})
    def post(self, request: Any) -> Response:
        data = LeakyRelatedFieldSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(InvitationSerializer(data.validated_data["invitation"]).data, status=201)


urlpatterns += [
    path("api/v1/leaky/create", LeakyCreateAPI.as_view()),
    path("api/v1/leaky/create-related", LeakyRelatedCreateAPI.as_view()),
    path("api/v1/scoped/create", ScopedCreateAPI.as_view()),
]
