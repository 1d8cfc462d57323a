"""The widget's theme as a bot stores it (`Chatbot.widget_theme`): which keys exist and what values they take.

One checker for every door that writes a theme (the bot API, the bot page's theming form), so that what the
widget receives is always a known key with a safe value: colours are hex, sizes whole pixels in a range,
the font a plain family list. Unknown keys are refused rather than kept.
"""

from __future__ import annotations

import re
from typing import Any

from common.core.errors import ValidationFailed

COLOR_KEYS = (
    "primary_color",
    "text_color",
    "bubble_bot_bg",
    "bubble_bot_fg",
    "bubble_visitor_bg",
    "bubble_visitor_fg",
    "header_bg",
    "header_fg",
    "launcher_bg",
    "launcher_fg",
)
CHOICES = {"dark_mode": ("auto", "light", "dark"), "position": ("right", "left")}
PIXELS = {"width": (280, 800), "height": (360, 1000), "radius": (0, 32)}
THEME_KEYS = (*COLOR_KEYS, "font_family", *CHOICES, *PIXELS)
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FONT = re.compile(r"^[\w\s,'\"-]{1,200}$")


def widget_theme_clean(theme: Any) -> dict[str, Any]:
    """The theme with each value checked; raises ValidationFailed naming every bad key."""
    if not isinstance(theme, dict):
        raise ValidationFailed("The theme is an object.", details={"widget_theme": ["An object of theme keys."]})
    problems: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in theme.items():
        if key not in THEME_KEYS:
            problems[str(key)[:60]] = ["Unknown theme key."]
        elif key in COLOR_KEYS:
            if isinstance(value, str) and _COLOR.match(value):
                cleaned[key] = value.lower()
            else:
                problems[key] = ["A hex colour such as #1a73e8."]
        elif key in CHOICES:
            if value in CHOICES[key]:
                cleaned[key] = value
            else:
                problems[key] = [f"One of {', '.join(CHOICES[key])}."]
        elif key in PIXELS:
            low, high = PIXELS[key]
            if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                cleaned[key] = value
            else:
                problems[key] = [f"Whole pixels from {low} to {high}."]
        elif isinstance(value, str) and _FONT.match(value):
            cleaned[key] = value.strip()
        else:
            problems[key] = ["Font family names, separated by commas."]
    if problems:
        raise ValidationFailed("The widget theme has invalid values.", details={"widget_theme": problems})
    return cleaned
