"""Stand-in endpoints (what the chatbot and documents apps will add) for the restriction tests."""

from django.urls import include, path
from rest_framework.response import Response

from apps.organizations.views_base import OrganizationAPIView


class BotAnswer(OrganizationAPIView):
    required_scopes = {"POST": "chat"}

    def post(self, request, bot_id):
        return Response({"bot": str(bot_id)})


class CollectionDetail(OrganizationAPIView):
    required_scopes = {"GET": "documents:read"}
    resource_kwargs = {"pk": "collection"}

    def get(self, request, pk):
        return Response({"collection": str(pk)})


urlpatterns = [
    path("api/v1/test-bots/<uuid:bot_id>/answer", BotAnswer.as_view()),
    path("api/v1/test-collections/<uuid:pk>", CollectionDetail.as_view()),
    path("", include("config.urls")),
]
