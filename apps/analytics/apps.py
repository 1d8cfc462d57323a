"""The analytics app: reads what the other apps store (conversations, answers, feedback, API usage); no writes."""

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "apps.analytics"
    label = "analytics"
    verbose_name = "Analytics"
