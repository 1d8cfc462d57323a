"""The dashboard and the analytics page, mounted at the site root."""

from django.urls import path

from apps.analytics import web_views

urlpatterns = [
    path("", web_views.dashboard_view, name="dashboard"),
    path("analytics/", web_views.analytics_page, name="analytics-page"),
]
