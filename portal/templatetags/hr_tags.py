from __future__ import annotations

from typing import Any

from django import template

from portal.hr import is_candidate

register = template.Library()


@register.filter(name="is_candidate")
def is_candidate_filter(user: Any) -> bool:
    """External candidates see no spend and no team."""
    return is_candidate(user)
