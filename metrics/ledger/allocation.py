"""Allocation: which team owns each record.

Rules are tried in priority order; the first match wins. With no rule matching, a tag named
`team` (any case) whose value is a team slug allocates the record. Everything else is
unallocated (team = None), shown as its own bucket. Definitions: docs/definitions.md#allocation.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass

import pandas as pd

from metrics.models import AllocationRule, Team

RULE_COLUMNS = {
    AllocationRule.Field.SUB_ACCOUNT: ["sub_account_id", "sub_account_name"],
    AllocationRule.Field.BILLING_ACCOUNT: ["billing_account_id"],
    AllocationRule.Field.APPLICATION: ["application_key"],
    AllocationRule.Field.RESOURCE_ID: ["resource_id"],
    AllocationRule.Field.PROVIDER: ["provider"],
}


@dataclass(frozen=True)
class CompiledRule:
    team_id: int
    field: str
    tag_key: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Allocator:
    rules: list[CompiledRule]
    team_ids_by_slug: dict[str, int]

    @classmethod
    def load(cls) -> Allocator:
        rules = [
            CompiledRule(
                team_id=r.team_id,
                field=r.field,
                tag_key=("namespace" if r.field == AllocationRule.Field.NAMESPACE else r.tag_key)
                .strip()
                .lower(),
                regex=re.compile(fnmatch.translate(r.pattern.strip()), re.IGNORECASE),
            )
            for r in AllocationRule.objects.filter(active=True).order_by("priority", "id")
        ]
        slugs = {slug.lower(): pk for pk, slug in Team.objects.values_list("id", "slug")}
        return cls(rules=rules, team_ids_by_slug=slugs)

    def columns(self) -> list[str]:
        """The record columns `allocate` reads: the tags, and those the rules match."""
        found = ["tags"]
        for rule in self.rules:
            if not rule.tag_key:
                found.extend(c for c in RULE_COLUMNS.get(rule.field, []) if c not in found)  # type: ignore[call-overload]
        return found

    def allocate(self, frame: pd.DataFrame) -> pd.Series:
        """Team id per row (nullable Int64): explicit rules first, then the `team` tag."""
        team = pd.Series(pd.NA, index=frame.index, dtype="Int64")
        tags = _tag_maps(frame["tags"])
        for rule in self.rules:
            open_rows = team.isna()
            if not open_rows.any():
                break
            if rule.tag_key:
                values = tags.map(lambda t, k=rule.tag_key: t.get(k, "") if t else "")
                hit = values.astype(str).str.match(rule.regex) & (values != "")
            else:
                hit = pd.Series(False, index=frame.index)
                for col in RULE_COLUMNS.get(rule.field, []):  # type: ignore[call-overload]
                    col_values = frame[col].astype(str)
                    hit |= col_values.str.match(rule.regex) & (col_values != "")
            team = team.mask(open_rows & hit, rule.team_id)
        if team.isna().any() and self.team_ids_by_slug:
            by_tag = tags.map(
                lambda t: self.team_ids_by_slug.get(t.get("team", "").lower()) if t else None
            )
            team = team.fillna(
                pd.Series(pd.array(by_tag.tolist(), dtype="Int64"), index=team.index)
            )
        return team


def _tag_maps(tags: pd.Series) -> pd.Series:
    """Parse each distinct Tags JSON once into a dict with lower-case keys."""
    parsed: dict[str, dict[str, str]] = {}
    for value in pd.unique(tags.dropna()):
        try:
            obj = json.loads(value)
        except (TypeError, ValueError):
            obj = {}
        parsed[value] = (
            {str(k).lower(): str(v) for k, v in obj.items()} if isinstance(obj, dict) else {}
        )
    return tags.map(lambda v: parsed.get(v) if isinstance(v, str) else None)
