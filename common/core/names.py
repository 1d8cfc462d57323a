"""Names people see (organizations, people's full names): printable text only.

Control characters (line breaks, NUL, escape ...) and the invisible direction overrides that make a name
display as something else are refused, as a field error in the common format."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

from common.core.errors import ValidationFailed

_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
CONTROL_CHARACTERS_MESSAGE = "Names cannot contain control characters such as line breaks or tabs."


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cs") or char in _DIRECTION_CONTROLS for char in value)


def clean_display_name(value: str, *, field: str = "name") -> str:
    """The name without surrounding spaces; ValidationFailed naming `field` when it holds control characters."""
    value = value.strip()
    if has_control_characters(value):
        raise ValidationFailed(CONTROL_CHARACTERS_MESSAGE, details={field: [CONTROL_CHARACTERS_MESSAGE]})
    return value


def validate_no_control_characters(value: str) -> None:
    """The same check as a field validator (DRF serializers and Django forms)."""
    if has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")
