"""Template filters for answers: Markdown rendered safely (the bot's text is never trusted as HTML)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    # `html: False` escapes any HTML in the text; markdown-it refuses javascript:, vbscript:, file: and data:
    # links by itself. Images are off: an answer must not make the admin's browser fetch a URL.
    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    renderer.enable(["table", "strikethrough"]).disable("image")

    def link_open(_self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        tokens[idx].attrSet("target", "_blank")
        return str(_self.renderToken(tokens, idx, options, env))

    renderer.add_render_rule("link_open", link_open)
    return renderer


def markdown_html(text: str) -> str:
    return str(_renderer().render(text or ""))


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """`{{ message.content|markdown }}`: headings, lists, emphasis, code, tables and links; raw HTML escaped."""
    return mark_safe(markdown_html(text))  # noqa: S308 - the renderer escapes every HTML tag in the text
