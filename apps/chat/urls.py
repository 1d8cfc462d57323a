"""URL routes of the chat app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.chat import api

router = SimpleRouter(trailing_slash=False)
router.register("rooms", api.RoomViewSet, basename="room")

urlpatterns = [
    path("realtime/tickets", api.RealtimeTicketAPI.as_view(), name="realtime-ticket"),
    path("rooms/<uuid:pk>/members/<uuid:user_id>", api.RoomMemberAPI.as_view(), name="room-member"),
    path("rooms/<uuid:pk>/bots/<uuid:bot_id>", api.RoomBotAPI.as_view(), name="room-bot"),
    *router.urls,
]
