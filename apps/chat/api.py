"""REST endpoints of the realtime layer: a single-use ticket to open the WebSocket."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.chat import services
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView

TAGS = ["realtime"]


class TicketOutputSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Pass as `/ws/?ticket=…` or the subprotocol `docent.ticket.<ticket>`.")
    expires_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="The WebSocket path to open.")


class RealtimeTicketAPI(OrganizationAPIView):
    """A ticket for one WebSocket connection (members only; API keys cannot open realtime connections)."""

    required_roles = {"POST": Role.MEMBER}

    @extend_schema(
        tags=TAGS,
        request=None,
        responses={201: TicketOutputSerializer},
        summary="Get a single-use ticket to open the realtime WebSocket",
    )
    def post(self, request: Request) -> Response:
        issued = services.realtime_ticket_issue(actor=self.actor)
        body = {"ticket": issued.ticket, "expires_at": issued.expires_at, "url": "/ws/"}
        return Response(TicketOutputSerializer(body).data, status=status.HTTP_201_CREATED)
