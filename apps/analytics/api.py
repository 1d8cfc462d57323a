"""The analytics API: the figures of the analytics page as JSON (admins, or API keys with `analytics:read`),
and the organization's API usage per day (`/api/v1/usage`, moved here from api_keys with its URL)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analytics import selectors
from apps.analytics.serializers import WindowQuerySerializer
from apps.api_keys import selectors as api_key_selectors
from apps.api_keys.models import Scope
from apps.api_keys.serializers import UsageDaySerializer, UsageQuerySerializer
from apps.chatbot.selectors import bot_get
from apps.organizations.models import Role
from apps.organizations.views_base import OrganizationAPIView

TAGS = ["analytics"]


class _AnalyticsAPI(OrganizationAPIView):
    required_roles = {"GET": Role.ADMIN}
    required_scopes = {"GET": Scope.ANALYTICS_READ.value}

    def window(self, request: Request) -> selectors.Window:
        query = WindowQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        bot_id = query.validated_data.get("bot")
        if bot_id is not None:
            bot_get(organization=self.organization, bot_id=bot_id)  # another organization's bot: 404
        return selectors.window_make(
            start=query.validated_data.get("start"), end=query.validated_data.get("end"), bot_id=bot_id
        )


def _chart_api(name: str, summary: str) -> type[_AnalyticsAPI]:
    read = selectors.CHARTS[name]

    class ChartAPI(_AnalyticsAPI):
        @extend_schema(
            parameters=[WindowQuerySerializer],
            responses={200: OpenApiTypes.OBJECT, 403: OpenApiResponse(description="Missing scope or role")},
            tags=TAGS,
            summary=summary,
            operation_id=f"analytics_{name.replace('-', '_')}",
        )
        def get(self, request: Request) -> Response:
            window = self.window(request)
            return Response(
                {
                    "start": window.start,
                    "end": window.end,
                    "bot": window.bot_id,
                    "rows": read(organization=self.organization, window=window),
                }
            )

    ChartAPI.__name__ = ChartAPI.__qualname__ = "Analytics" + name.title().replace("-", "") + "API"
    ChartAPI.__doc__ = summary
    return ChartAPI


CHART_APIS: dict[str, Any] = {
    "volume": _chart_api("volume", "Conversations, questions and answers per day"),
    "answers": _chart_api("answers", 'Answers per day: answered, "don\'t know", failed'),
    "feedback": _chart_api("feedback", "Thumbs up and down per day"),
    "latency": _chart_api("latency", "Time to first token and total time, p50 and p95, per day"),
    "tokens": _chart_api("tokens", "Tokens per day and provider"),
    "bots": _chart_api("bots", "The window's figures bot by bot"),
    "dont-know": _chart_api("dont-know", 'Questions answered "don\'t know", grouped'),
    "api-usage": _chart_api("api-usage", "API requests, tokens and errors per day"),
}


class AnalyticsSummaryAPI(_AnalyticsAPI):
    """The window's totals."""

    @extend_schema(
        parameters=[WindowQuerySerializer],
        responses={200: OpenApiTypes.OBJECT, 403: OpenApiResponse(description="Missing scope or role")},
        tags=TAGS,
        summary="The window's totals",
        operation_id="analytics_summary",
    )
    def get(self, request: Request) -> Response:
        window = self.window(request)
        return Response(
            {
                "start": window.start,
                "end": window.end,
                "bot": window.bot_id,
                **selectors.summary(organization=self.organization, window=window),
            }
        )


class UsageAPI(_AnalyticsAPI):
    """The organization's API usage per day, all keys together (days without use omitted)."""

    @extend_schema(
        parameters=[UsageQuerySerializer],
        responses={200: UsageDaySerializer(many=True), 403: OpenApiResponse(description="Missing scope or role")},
        tags=TAGS,
        summary="API usage per day",
        operation_id="usage_list",
    )
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = api_key_selectors.usage_window(
            start=query.validated_data.get("start"), end=query.validated_data.get("end")
        )
        usage = api_key_selectors.usage_per_day(organization=self.organization, start=start, end=end)
        return Response(UsageDaySerializer(usage, many=True).data)
