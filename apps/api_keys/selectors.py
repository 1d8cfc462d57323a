"""Reads of the api_keys app: keys of an organization and usage per day (stored rows + today's live counters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from apps.api_keys import limits
from apps.api_keys.models import APIKey, APIKeyUsageDaily, OrganizationAPILimits
from apps.organizations.models import Organization
from common.core.errors import NotFound, ValidationFailed

MAX_USAGE_DAYS = 366


@dataclass(frozen=True)
class UsageDay:
    date: date
    api_key_id: UUID | None
    requests: int
    tokens: int
    errors: int


def api_key_list(*, organization: Organization) -> QuerySet[APIKey]:
    return APIKey.objects.for_org(organization).select_related("created_by")


def api_key_get(*, organization: Organization, api_key_id: UUID) -> APIKey:
    api_key = APIKey.objects.for_org(organization).filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound("API key not found.")
    return api_key


def organization_api_limits(*, organization: Organization) -> OrganizationAPILimits:
    return OrganizationAPILimits.objects.for_org(organization).first() or OrganizationAPILimits(
        organization=organization
    )


def usage_window(*, start: date | None, end: date | None, default_days: int = 30) -> tuple[date, date]:
    today = timezone.now().date()
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise ValidationFailed(details={"start": ["start must not be after end."]})
    if (end - start).days >= MAX_USAGE_DAYS:
        raise ValidationFailed(details={"start": [f"At most {MAX_USAGE_DAYS} days at a time."]})
    return start, end


def usage_per_key_day(
    *, organization: Organization, start: date, end: date, api_key_id: UUID | None = None
) -> list[UsageDay]:
    """Requests, tokens and errors per key per day, oldest first. Today's figures are live."""
    rows = APIKeyUsageDaily.objects.for_org(organization).filter(date__gte=start, date__lte=end)
    if api_key_id is not None:
        rows = rows.filter(api_key_id=api_key_id)
    found: dict[tuple[date, UUID], UsageDay] = {
        (r.date, r.api_key_id): UsageDay(r.date, r.api_key_id, r.requests, r.tokens, r.errors) for r in rows
    }
    today = timezone.now().date()
    if start <= today <= end:
        for (key_id, _org_id), values in limits.day_counters(today, organization_id=organization.pk).items():
            if api_key_id is not None and key_id != api_key_id:
                continue
            found[(today, key_id)] = UsageDay(today, key_id, values["requests"], values["tokens"], values["errors"])
    return sorted(found.values(), key=lambda u: (u.date, str(u.api_key_id)))


def usage_per_day(*, organization: Organization, start: date, end: date) -> list[UsageDay]:
    """The organization's API usage per day (all keys together), oldest first; days without use omitted."""
    per_day: dict[date, list[int]] = {}
    for usage in usage_per_key_day(organization=organization, start=start, end=end):
        totals = per_day.setdefault(usage.date, [0, 0, 0])
        totals[0] += usage.requests
        totals[1] += usage.tokens
        totals[2] += usage.errors
    return [UsageDay(day, None, *values) for day, values in sorted(per_day.items())]
