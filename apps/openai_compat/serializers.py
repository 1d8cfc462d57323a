"""Request and response shapes of the OpenAI-compatible API (what the OpenAPI schema documents)."""

from __future__ import annotations

from rest_framework import serializers

ROLES = ["system", "developer", "user", "assistant", "tool"]


class OpenAIMessageInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLES)
    content = serializers.JSONField(
        required=False, allow_null=True, help_text="A string, or an array of text parts ({type: text, text})."
    )


class OpenAIStreamOptionsSerializer(serializers.Serializer):
    include_usage = serializers.BooleanField(required=False, default=False)


class ChatCompletionInputSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=200, help_text="The bot's id, as listed by GET /openai/v1/models.")
    messages = serializers.ListField(
        child=OpenAIMessageInputSerializer(),
        help_text="The conversation so far; the last one is the question. System and developer messages are "
        "ignored: the bot's own instructions stand.",
    )
    stream = serializers.BooleanField(required=False, default=False, allow_null=True)
    stream_options = OpenAIStreamOptionsSerializer(required=False, allow_null=True)
    temperature = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=2, help_text="Lowered to the bot's temperature."
    )
    max_tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000, help_text="Capped at the bot's limit."
    )
    max_completion_tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000, help_text="Same as max_tokens."
    )
    n = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=128, help_text="Only 1.")
    tools = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True)
    functions = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True)


class OpenAIUrlCitationSerializer(serializers.Serializer):
    start_index = serializers.IntegerField()
    end_index = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField()


class OpenAIAnnotationSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["url_citation"])
    url_citation = OpenAIUrlCitationSerializer()


class DocentSourceSerializer(serializers.Serializer):
    marker = serializers.IntegerField()
    document_id = serializers.UUIDField()
    document_title = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField(allow_blank=True)
    chunk_id = serializers.UUIDField()
    collection_id = serializers.UUIDField()
    snippet = serializers.CharField()
    score = serializers.FloatField()
    url = serializers.URLField()


class OpenAIAssistantMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["assistant"])
    content = serializers.CharField()
    refusal = serializers.CharField(allow_null=True)
    annotations = OpenAIAnnotationSerializer(many=True)
    docent_sources = DocentSourceSerializer(many=True, help_text="Docent extension: every source, in full.")


class ChatCompletionChoiceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    message = OpenAIAssistantMessageSerializer()
    finish_reason = serializers.ChoiceField(choices=["stop", "length"])
    logprobs = serializers.JSONField(allow_null=True)


class ChatCompletionUsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class ChatCompletionSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["chat.completion"])
    created = serializers.IntegerField()
    model = serializers.CharField()
    choices = ChatCompletionChoiceSerializer(many=True)
    usage = ChatCompletionUsageSerializer()


class OpenAIModelSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The bot's id: pass it as `model`.")
    object = serializers.ChoiceField(choices=["model"])
    created = serializers.IntegerField()
    owned_by = serializers.CharField(help_text="The organization's slug.")
    name = serializers.CharField(help_text="The bot's name.")


class OpenAIModelListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    data = OpenAIModelSerializer(many=True)  # type: ignore[assignment]  # OpenAI's name; the metaclass takes fields out


class OpenAIErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    type = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True)


class OpenAIErrorSerializer(serializers.Serializer):
    error = OpenAIErrorDetailSerializer()
