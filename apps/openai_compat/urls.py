"""OpenAI-compatible routes, mounted under /openai/v1/ (so that `base_url=".../openai/v1"` works in OpenAI clients)."""

from django.urls import path, re_path

from apps.openai_compat import api
from apps.openai_compat.errors import unknown_url

urlpatterns = [
    path("models", api.ModelListView.as_view(), name="openai-model-list"),
    path("models/<str:pk>", api.ModelDetailView.as_view(), name="openai-model-detail"),
    path("chat/completions", api.ChatCompletionsView.as_view(), name="openai-chat-completions"),
    re_path(r"^.*$", unknown_url),
]
