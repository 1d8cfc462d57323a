"""The agent API and the bot's widget keys, mounted under /api/v1/."""

from django.urls import path

from apps.widget import api

urlpatterns = [
    path("handoffs", api.HandoffListAPI.as_view(), name="handoff-list"),
    path("handoffs/<uuid:conversation_id>", api.HandoffDetailAPI.as_view(), name="handoff-detail"),
    path("handoffs/<uuid:conversation_id>/claim", api.HandoffClaimAPI.as_view(), name="handoff-claim"),
    path("handoffs/<uuid:conversation_id>/messages", api.HandoffMessageAPI.as_view(), name="handoff-messages"),
    path("handoffs/<uuid:conversation_id>/typing", api.HandoffTypingAPI.as_view(), name="handoff-typing"),
    path("handoffs/<uuid:conversation_id>/release", api.HandoffReleaseAPI.as_view(), name="handoff-release"),
    path("handoffs/<uuid:conversation_id>/resolve", api.HandoffResolveAPI.as_view(), name="handoff-resolve"),
    path("bots/<uuid:pk>/widget/publishable-key", api.PublishableKeyRotateAPI.as_view(), name="bot-widget-key"),
    path("bots/<uuid:pk>/widget/identity-secret", api.IdentitySecretRotateAPI.as_view(), name="bot-identity-secret"),
    path("bots/<uuid:pk>/widget/usage", api.WidgetUsageAPI.as_view(), name="bot-widget-usage"),
]
