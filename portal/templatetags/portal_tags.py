from __future__ import annotations

import functools

from django import template
from django.utils.safestring import SafeString, mark_safe

from curriculum.rendering import render_markdown_inline
from portal.people import Navigation, navigation_for

register = template.Library()


@functools.lru_cache(maxsize=4096)
def _inline(text: str) -> str:
    return render_markdown_inline(text)


@register.filter
def markdown_inline(text: str) -> SafeString:
    """Author text (prompts, choices, explanations) as sanitized inline HTML."""
    # render_markdown_inline sanitizes with the curriculum's allow-list (nh3).
    return mark_safe(_inline(str(text)))  # noqa: S308


@register.filter
def percent_bar(value: int) -> str:
    """A width for a progress bar, clamped to 0..100."""
    return f"{max(0, min(100, int(value)))}%"


@register.simple_tag(takes_context=True)
def portal_navigation(context: template.Context) -> Navigation:
    """The menu items the signed-in person gets (portal.people.navigation_for)."""
    return navigation_for(context.get("user"))
