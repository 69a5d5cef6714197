"""The catalog file (`metrics/data/model_prices.yaml`): validated entry by entry, upserted
into ModelPrice by `manage.py load_prices`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from metrics.economics.pricing.repricing import price_changes_batched
from metrics.models import ModelPrice

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "data" / "model_prices.yaml"

PRICE_FIELDS = {
    "input": "input_per_mtok",
    "cached_input": "cached_input_per_mtok",
    "cache_write": "cache_write_per_mtok",
    "output": "output_per_mtok",
    "batch_input": "batch_input_per_mtok",
    "batch_output": "batch_output_per_mtok",
}
REQUIRED = ("provider", "model", "effective_date", "input", "output")
TIERS = {"", "frontier", "small"}


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CatalogError(f"{where}: {value!r} is not a price")
    try:
        number = Decimal(str(value))  # str(): a YAML float keeps its written digits
    except InvalidOperation as exc:
        raise CatalogError(f"{where}: {value!r} is not a price") from exc
    if not number.is_finite() or number < 0:
        raise CatalogError(f"{where}: {value!r} is not a price")
    return number


def _entry_values(entry: Any, where: str, default_currency: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected a mapping")
    missing = [k for k in REQUIRED if entry.get(k) in (None, "")]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    unknown = set(entry) - {
        *REQUIRED,
        *PRICE_FIELDS,
        "currency",
        "tier",
        "parameters_billion",
        "source_url",
        "note",
    }
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    day = entry["effective_date"]
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError as exc:
            raise CatalogError(f"{where}.effective_date: {day!r} is not a date") from exc
    if not isinstance(day, date):
        raise CatalogError(f"{where}.effective_date: {day!r} is not a date")
    tier = str(entry.get("tier") or "")
    if tier not in TIERS:
        raise CatalogError(f"{where}.tier: {tier!r} is not frontier or small")
    params = entry.get("parameters_billion")
    if params is not None and (isinstance(params, bool) or not isinstance(params, int | float)):
        raise CatalogError(f"{where}.parameters_billion: {params!r} is not a number")
    values: dict[str, Any] = {
        "provider": str(entry["provider"]).strip().lower(),
        "model": str(entry["model"]).strip(),
        "effective_date": day,
        "currency": str(entry.get("currency") or default_currency).upper(),
        "tier": tier,
        "parameters_billion": float(params) if params is not None else None,
        "source_url": str(entry.get("source_url") or ""),
        "note": str(entry.get("note") or "")[:300],
    }
    for key, column in PRICE_FIELDS.items():
        values[column] = _decimal(entry.get(key), f"{where}.{key}")
    return values


def read_catalog(path: Path = DEFAULT_CATALOG) -> list[dict[str, Any]]:
    """Validated ModelPrice field values of every entry of a catalog file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise CatalogError(f"{path}: expected a mapping with a `models` list")
    currency = str(doc.get("currency") or "USD")
    entries = [
        _entry_values(e, f"{path}: models[{i}]", currency) for i, e in enumerate(doc["models"])
    ]
    seen: set[tuple[str, str, date]] = set()
    for i, v in enumerate(entries):
        key = (v["provider"], v["model"].lower(), v["effective_date"])
        if key in seen:
            raise CatalogError(f"{path}: models[{i}]: duplicate {key[0]}/{key[1]} on {key[2]}")
        seen.add(key)
    return entries


def prices_load(*, path: Path = DEFAULT_CATALOG) -> LoadResult:
    """Upsert the catalog file into ModelPrice by (provider, model, effective date).

    Idempotent: unchanged rows are not written. Rows in the database that the file does not
    list (added in the admin) are kept. Changed prices queue one re-pricing of the ledger.
    """
    entries = read_catalog(path)
    result = LoadResult()
    with transaction.atomic(), price_changes_batched():
        for values in entries:
            row = ModelPrice.objects.filter(
                provider=values["provider"],
                model__iexact=values["model"],
                effective_date=values["effective_date"],
            ).first()
            if row is None:
                ModelPrice.objects.create(**values)
                result.created += 1
                continue
            changed = [k for k, v in values.items() if getattr(row, k) != v]
            if not changed:
                result.unchanged += 1
                continue
            for k in changed:
                setattr(row, k, values[k])
            row.save()
            result.updated += 1
    return result
