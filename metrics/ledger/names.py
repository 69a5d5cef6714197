"""Readable names for application keys (OpenAI projects, Anthropic workspaces, API keys,
application tags).

Two sources, in this order of precedence:

1. An active application allocation rule with an `application_name`: the name a person chose
   for the keys its pattern matches (shell-style, case-insensitive, as allocation does).
2. The provider's own data, kept in `ApplicationName` by every import: the sub-account name
   when the key is the sub-account id (OpenAI `project_name`, FOCUS `SubAccountName`), else
   the resource name when the key is the resource id (an API key with a name).

Keys with neither keep showing the key itself. Reading goes through
`metrics.queries.readable_names`; this module maintains the table.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from django.db.models import Value

from metrics.models import AllocationRule, ApplicationName, CostRecord


def _provider_name(key: str, sub_id: str, sub_name: str, res_id: str, res_name: str) -> str:
    sub_name, res_name = (sub_name or "").strip(), (res_name or "").strip()
    if key == sub_id and sub_name and sub_name != key:
        return sub_name
    if key == res_id and res_name and res_name != key:
        return res_name
    return ""


def application_names_refresh(*, batch_id: int) -> int:
    """Record the provider-given names of the application keys of one import batch.

    Upserts by key (a later import's name replaces an earlier one), so running it twice
    changes nothing. Returns the number of keys named."""
    rows = (
        CostRecord.objects.filter(batch_id=batch_id)
        .exclude(application_key="")
        .values_list(
            "application_key", "sub_account_id", "sub_account_name", "resource_id", "resource_name"
        )
        .order_by()
        .distinct()
    )
    names: dict[str, str] = {}
    for key, sub_id, sub_name, res_id, res_name in rows:
        name = _provider_name(key, sub_id, sub_name, res_id, res_name)
        if name:
            names[key] = name
    return application_names_store(names)


def application_names_store(names: dict[str, str]) -> int:
    """Upsert {application key: provider-given name} (the import computes them from its
    chunks as it reads them, see `metrics.ledger.ingest`). Returns the number of keys."""
    if names:
        ApplicationName.objects.bulk_create(
            [ApplicationName(key=k, name=v[:300]) for k, v in sorted(names.items())],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["name", "updated_at"],
        )
    return len(names)


def names_for(keys: Iterable[str]) -> dict[str, str]:
    """{key: readable name} for the keys that have one (rules first, then provider data).
    One query (a UNION of the provider names and the named application rules) whatever the
    number of keys."""
    wanted = sorted({k for k in keys if k})
    if not wanted:
        return {}
    provider = (
        ApplicationName.objects.filter(key__in=wanted)
        .order_by()
        .values_list("key", "name", Value(0), Value(0), Value(False))
    )
    rules = (
        AllocationRule.objects.filter(active=True, field=AllocationRule.Field.APPLICATION)
        .exclude(application_name="")
        .order_by()
        .values_list("pattern", "application_name", "priority", "id", Value(True))
    )
    out: dict[str, str] = {}
    named_by_rule: list[tuple[int, int, str, str]] = []
    for key_or_pattern, name, priority, pk, is_rule in provider.union(rules, all=True):
        if is_rule:
            named_by_rule.append((priority, pk, key_or_pattern, name))
        else:
            out[key_or_pattern] = name
    # The rule that would allocate (lowest priority number, then oldest) is applied last.
    for _, _, pattern, name in sorted(named_by_rule, reverse=True):
        regex = re.compile(fnmatch.translate(pattern.strip()), re.IGNORECASE)
        for key in wanted:
            if regex.match(key):
                out[key] = name
    return out
