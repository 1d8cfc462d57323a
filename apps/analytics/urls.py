"""Analytics routes, mounted under /api/v1/."""

from django.urls import path

from apps.analytics import api

urlpatterns = [
    path("usage", api.UsageAPI.as_view(), name="usage"),
    path("analytics/summary", api.AnalyticsSummaryAPI.as_view(), name="analytics-summary"),
    *[path(f"analytics/{name}", view.as_view(), name=f"analytics-{name}") for name, view in api.CHART_APIS.items()],
]
