"""Admin for providers: the API key is never shown, only a masked hint."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.chatbot_provider.models import ChatbotProvider
from common.core.admin import CrossOrganizationAdmin
from common.security.encryption import mask


class ProviderAdminForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Leave empty to keep the stored key."
    )

    base_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = ChatbotProvider
        fields = [
            "organization",
            "name",
            "kind",
            "api_key",
            "base_url",
            "default_chat_model",
            "default_embedding_model",
            "timeout_seconds",
            "max_retries",
        ]

    def clean_api_key(self) -> str:
        value = self.cleaned_data.get("api_key") or ""
        return value or (self.instance.api_key if self.instance.pk else "")


@admin.register(ChatbotProvider)
class ChatbotProviderAdmin(CrossOrganizationAdmin):
    form = ProviderAdminForm
    list_display = ("name", "kind", "organization", "key_hint", "default_chat_model", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name",)

    @admin.display(description="API key")
    def key_hint(self, obj: ChatbotProvider) -> str:
        return mask(obj.api_key) if obj.api_key else "—"
