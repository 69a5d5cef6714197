"""FOCUS 1.2 export of the ledger (CSV or Parquet), with the AI columns as `x_` extensions.

`focus_export(out=..., start=..., end=..., team=...)` is the one service behind
`manage.py export_focus`. Contract:

- Reads CostRecord rows with one streamed query (a server-side cursor on PostgreSQL), in
  chunks of CHUNK_ROWS: memory stays bounded for any ledger size. Writes to a temporary file
  beside `out` and renames it at the end, so a failed export leaves no half-written file.
- Money and quantities are written exactly as stored: plain decimal text (CSV) or DECIMAL
  (Parquet); never a float, never an exponent. Timestamps are `YYYY-MM-DDTHH:MM:SSZ`.
  Nulls are empty fields (CSV) or nulls (Parquet).
- The ledger keeps what each source said; the export is the FOCUS 1.2 view of it. Where the
  stored data leaves a FOCUS column without a value the spec requires, or holds a value the
  spec does not allow, the export applies the derivations in `focus_frame` (each one names
  the FOCUS rule it satisfies). No derivation ever creates an amount that was not stored,
  except ListCost/ContractedCost where the spec itself defines them (see `_cost_or_derived`).
- Safe to run at any time, any number of times: it only reads.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
from django.db import connection

from metrics.ledger.csv_safety import GUARD_PATTERN
from metrics.ledger.providers import first_party_issuers, focus_name
from metrics.ledger.sources.base import INT_COLUMNS, MONEY_COLUMNS, TEXT_COLUMNS, TIME_COLUMNS
from metrics.models import Team

FOCUS_VERSION = "1.2"
CHUNK_ROWS = 10_000
SUFFIXES = (".csv", ".parquet")
# Parquet money/quantity columns are DECIMAL(38, scale), the scale being the most decimal
# places any exported amount has (PostgreSQL stores at most 12; SQLite keeps the source text).
PARQUET_PRECISION = 38


class ExportError(ValueError):
    """Bad export arguments (unknown team, unsupported suffix, end before start)."""


@dataclass(frozen=True)
class ExportResult:
    rows: int
    path: Path


# --- columns -------------------------------------------------------------------------------

# Ledger columns read from the database, by kind (the parsers' contract,
# metrics.ledger.sources.base).
# `cost_source` is our own bookkeeping, not part of the export.
MONEY = MONEY_COLUMNS
TIMES = TIME_COLUMNS
INTS = INT_COLUMNS
TEXT = [c for c in TEXT_COLUMNS if c != "cost_source"]

# The FOCUS 1.2 Cost and Usage columns we write, in output order (the spec's alphabetical
# order), with their kind. Left out: PricingCurrencyContractedUnitPrice, ...EffectiveCost and
# ...ListUnitPrice, which only apply when pricing and billing currencies differ and which the
# ledger does not store (the spec requires them non-null when present, so they stay absent).
FOCUS_COLUMNS: list[tuple[str, str]] = [
    ("AvailabilityZone", "text"),
    ("BilledCost", "money"),
    ("BillingAccountId", "text"),
    ("BillingAccountName", "text"),
    ("BillingAccountType", "text"),
    ("BillingCurrency", "text"),
    ("BillingPeriodEnd", "time"),
    ("BillingPeriodStart", "time"),
    ("CapacityReservationId", "text"),
    ("CapacityReservationStatus", "text"),
    ("ChargeCategory", "text"),
    ("ChargeClass", "text"),
    ("ChargeDescription", "text"),
    ("ChargeFrequency", "text"),
    ("ChargePeriodEnd", "time"),
    ("ChargePeriodStart", "time"),
    ("CommitmentDiscountCategory", "text"),
    ("CommitmentDiscountId", "text"),
    ("CommitmentDiscountName", "text"),
    ("CommitmentDiscountQuantity", "money"),
    ("CommitmentDiscountStatus", "text"),
    ("CommitmentDiscountType", "text"),
    ("CommitmentDiscountUnit", "text"),
    ("ConsumedQuantity", "money"),
    ("ConsumedUnit", "text"),
    ("ContractedCost", "money"),
    ("ContractedUnitPrice", "money"),
    ("EffectiveCost", "money"),
    ("InvoiceId", "text"),
    ("InvoiceIssuerName", "text"),
    ("ListCost", "money"),
    ("ListUnitPrice", "money"),
    ("PricingCategory", "text"),
    ("PricingCurrency", "text"),
    ("PricingQuantity", "money"),
    ("PricingUnit", "text"),
    ("ProviderName", "text"),
    ("PublisherName", "text"),
    ("RegionId", "text"),
    ("RegionName", "text"),
    ("ResourceId", "text"),
    ("ResourceName", "text"),
    ("ResourceType", "text"),
    ("ServiceCategory", "text"),
    ("ServiceName", "text"),
    ("ServiceSubcategory", "text"),
    ("SkuId", "text"),
    ("SkuMeter", "text"),
    ("SkuPriceDetails", "json"),
    ("SkuPriceId", "text"),
    ("SubAccountId", "text"),
    ("SubAccountName", "text"),
    ("SubAccountType", "text"),
    ("Tags", "json"),
]
# The AI columns, as extensions (FOCUS requires the `x_` prefix for custom columns).
EXTENSION_COLUMNS: list[tuple[str, str]] = [
    ("x_Provider", "text"),
    ("x_Model", "text"),
    ("x_InputTokens", "int"),
    ("x_CachedInputTokens", "int"),
    ("x_CacheWriteTokens", "int"),
    ("x_OutputTokens", "int"),
    ("x_ModelRequests", "int"),
    ("x_GpuHours", "money"),
    ("x_ApplicationKey", "text"),
    ("x_Team", "text"),
]
COLUMNS = FOCUS_COLUMNS + EXTENSION_COLUMNS
COLUMN_NAMES = [name for name, _ in COLUMNS]

# FOCUS 1.2 allowed values (the spec's tables, as the validator's rule set encodes them).
CHARGE_CATEGORIES = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"]
CHARGE_FREQUENCIES = ["One-Time", "Recurring", "Usage-Based"]
PRICING_CATEGORIES = ["Standard", "Committed", "Dynamic", "Other"]
COMMITMENT_DISCOUNT_CATEGORIES = ["Spend", "Usage"]
COMMITMENT_DISCOUNT_STATUSES = ["Used", "Unused"]
SERVICE_SUBCATEGORIES: dict[str, list[str]] = {
    "AI and Machine Learning": [
        "AI Platforms",
        "Bots",
        "Generative AI",
        "Machine Learning",
        "Natural Language Processing",
    ],
    "Analytics": [
        "Analytics Platforms",
        "Business Intelligence",
        "Data Processing",
        "Search",
        "Streaming Analytics",
    ],
    "Business Applications": ["Productivity and Collaboration"],
    "Compute": [
        "Containers",
        "End User Computing",
        "Quantum Compute",
        "Serverless Compute",
        "Virtual Machines",
    ],
    "Databases": [
        "Caching",
        "Data Warehouses",
        "Ledger Databases",
        "NoSQL Databases",
        "Relational Databases",
        "Time Series Databases",
    ],
    "Developer Tools": [
        "Developer Platforms",
        "Continuous Integration and Deployment",
        "Development Environments",
        "Source Code Management",
        "Quality Assurance",
    ],
    "Identity": ["Identity and Access Management"],
    "Integration": ["API Management", "Messaging", "Workflow Orchestration"],
    "Internet of Things": ["IoT Analytics", "IoT Platforms"],
    "Management and Governance": [
        "Architecture",
        "Compliance",
        "Cost Management",
        "Data Governance",
        "Disaster Recovery",
        "Endpoint Management",
        "Observability",
        "Support",
    ],
    "Media": ["Content Creation", "Gaming", "Media Streaming", "Mixed Reality"],
    "Migration": ["Data Migration", "Resource Migration"],
    "Mobile": [],
    "Multicloud": ["Multicloud Integration"],
    "Networking": [
        "Application Networking",
        "Content Delivery",
        "Network Connectivity",
        "Network Infrastructure",
        "Network Routing",
        "Network Security",
    ],
    "Security": [
        "Secret Management",
        "Security Posture Management",
        "Threat Detection and Response",
    ],
    "Storage": [
        "Backup Storage",
        "Block Storage",
        "File Storage",
        "Object Storage",
        "Storage Platforms",
    ],
    "Web": ["Application Platforms"],
    "Other": [],
}
for _category, _subs in SERVICE_SUBCATEGORIES.items():
    _subs.append(f"Other ({_category})")  # every category has its "Other (...)" subcategory
SERVICE_CATEGORIES = list(SERVICE_SUBCATEGORIES)

PRICING_CATEGORY_ALIASES = {
    "ondemand": "Standard",
    "payasyougo": "Standard",
    "spot": "Dynamic",
    "reserved": "Committed",
    "savingsplan": "Committed",
}


# --- the service ---------------------------------------------------------------------------


def focus_export(
    *,
    out: Path,
    start: date | None = None,
    end: date | None = None,
    team: str | None = None,
) -> ExportResult:
    """Write the ledger rows whose day (UTC day of ChargePeriodStart) is in [start, end]
    (both inclusive, either open) and, with `team`, allocated to that team slug, as FOCUS 1.2
    CSV or Parquet (chosen by the suffix of `out`). Returns the row count and the path."""
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExportError(
            f"{out}: unsupported file type {out.suffix or '(none)'!r}; use .csv or .parquet"
        )
    if start and end and end < start:
        raise ExportError(f"the end date {end} is before the start date {start}")
    team_id: int | None = None
    if team is not None:
        team_id = Team.objects.filter(slug=team).values_list("pk", flat=True).first()
        if team_id is None:
            known = ", ".join(Team.objects.values_list("slug", flat=True)) or "none yet"
            raise ExportError(f"unknown team {team!r} (teams: {known})")
    where, params = _where(start=start, end=end, team_id=team_id)
    services = _service_categories(where, params)
    scale = _decimal_scale(where, params) if suffix == ".parquet" else 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")  # renamed into place when done
    try:
        frames = (focus_frame(chunk, services=services) for chunk in _chunks(where, params))
        if suffix == ".parquet":
            rows = _write_parquet(tmp, frames, scale=scale)
        else:
            rows = _write_csv(tmp, frames)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(rows=rows, path=out)


# --- reading -------------------------------------------------------------------------------

READ_COLUMNS = MONEY + TIMES + INTS + TEXT + ["tags", "team_slug", "batch_sha256"]


def _where(*, start: date | None, end: date | None, team_id: int | None) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    if start:
        clauses.append("r.day >= %s")
        params.append(start.isoformat() if connection.vendor == "sqlite" else start)
    if end:
        clauses.append("r.day <= %s")
        params.append(end.isoformat() if connection.vendor == "sqlite" else end)
    if team_id is not None:
        clauses.append("r.team_id = %s")
        params.append(team_id)
    return " AND ".join(clauses), params


def _select_list() -> str:
    """Values come back as text the export writes unchanged: formatting happens in SQL."""
    sqlite = connection.vendor == "sqlite"
    parts = []
    for col in MONEY:
        # SQLite keeps exact decimal text (metrics.fields); PostgreSQL NUMERIC -> text is plain.
        parts.append(f"r.{col}" if sqlite else f"CAST(r.{col} AS text)")
    for col in TIMES:
        if sqlite:
            parts.append(f"strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', r.{col})")
        else:
            parts.append(f"to_char(r.{col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    parts.extend(f"r.{col}" for col in INTS + TEXT)
    parts.append("r.tags" if sqlite else "CAST(r.tags AS text)")
    parts.extend(["t.slug", "b.sha256"])
    return ", ".join(parts)


def _chunks(where: str, params: list[Any]) -> Iterator[pd.DataFrame]:
    sql = (
        f"SELECT {_select_list()} FROM metrics_costrecord r "  # noqa: S608 - no user text
        "JOIN metrics_importbatch b ON b.id = r.batch_id "
        "LEFT JOIN metrics_team t ON t.id = r.team_id "
        f"WHERE {where} ORDER BY r.id"
    )
    # chunked_cursor: a named (server-side) cursor on PostgreSQL, so rows arrive in batches.
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_ROWS):
            # dtype=object: values stay the text the database gave, with no type inference.
            yield pd.DataFrame(rows, columns=READ_COLUMNS, dtype=object)


def _service_categories(where: str, params: list[Any]) -> dict[str, tuple[str, str]]:
    """ServiceName -> (ServiceCategory, ServiceSubcategory) for the whole export.

    FOCUS: each ServiceName has one and only one ServiceCategory (ServiceName-C-005-C) and
    should have one ServiceSubcategory (ServiceName-C-008-C). Where the stored rows of one
    service disagree (e.g. AWS files EBS volumes under EC2 as Storage), the category and then
    the subcategory that most rows of that service carry is used for all of them.
    """
    sql = (
        "SELECT r.service_name, r.service_category, r.service_subcategory, r.provider, "  # noqa: S608
        "r.provider_name, COUNT(*) FROM metrics_costrecord r "
        f"WHERE {where} GROUP BY r.service_name, r.service_category, r.service_subcategory, "
        "r.provider, r.provider_name"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        groups = cursor.fetchall()
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    by_sub: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for service, category, sub, provider, provider_name, count in groups:
        name = _service_name(service, _provider_name(provider_name, provider))
        cat = _service_category(category)
        by_category[name][cat] += int(count)
        by_sub[(name, cat)][_service_subcategory(sub, cat)] += int(count)
    mapping = {}
    for name, cats in by_category.items():
        cat = _most_common(cats)
        mapping[name] = (cat, _most_common(by_sub[(name, cat)]))
    return mapping


def _decimal_scale(where: str, params: list[Any]) -> int:
    """Decimal places the Parquet DECIMAL columns need so that every amount is exact: the
    most any stored amount has, or a derived ListCost/ContractedCost (price x quantity)."""
    sqlite = connection.vendor == "sqlite"
    pos = "instr" if sqlite else "strpos"
    parts = []
    for col in MONEY:
        t = f"r.{col}" if sqlite else f"CAST(r.{col} AS text)"
        parts.append(
            f"MAX(CASE WHEN {pos}({t}, '.') > 0 THEN length(rtrim({t}, '0')) - {pos}({t}, '.') "
            f"ELSE 0 END), MAX(CASE WHEN {pos}({t}, '.') > 0 THEN {pos}({t}, '.') - 1 "
            f"ELSE length({t}) END)"
        )
    sql = f"SELECT {', '.join(parts)} FROM metrics_costrecord r WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = [int(v or 0) for v in cursor.fetchone()]
    digits = {col: [found[2 * i], found[2 * i + 1]] for i, col in enumerate(MONEY)}
    if sqlite:  # SQLite keeps the source's text, which may use an exponent ("5.64902E-05")
        exponent = " OR ".join(f"r.{col} LIKE '%%e%%'" for col in MONEY)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join('r.' + c for c in MONEY)} FROM metrics_costrecord r "  # noqa: S608
                f"WHERE ({where}) AND ({exponent})",
                params,
            )
            for row in cursor.fetchall():
                for col, value in zip(MONEY, row, strict=True):
                    if value and re.search("[eE]", value):
                        int_part, _, frac_part = plain_decimal(value).partition(".")
                        digits[col][0] = max(digits[col][0], len(frac_part.rstrip("0")))
                        digits[col][1] = max(digits[col][1], len(int_part))
    quantity = digits["pricing_quantity"]
    for price in ("list_unit_price", "contracted_unit_price"):
        digits[price + "*qty"] = [digits[price][0] + quantity[0], digits[price][1] + quantity[1]]
    fraction = max(d[0] for d in digits.values())
    whole = max(d[1] for d in digits.values())
    if whole + fraction > PARQUET_PRECISION:
        raise ExportError(
            f"an amount has {whole} digits before and {fraction} after the decimal point: more "
            f"than Parquet's DECIMAL({PARQUET_PRECISION}) holds exactly; export to .csv instead"
        )
    return max(fraction, 1)


def _most_common(counter: Counter[str]) -> str:
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]


# --- FOCUS values --------------------------------------------------------------------------


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _lookup(allowed: list[str]) -> dict[str, str]:
    return {_key(v): v for v in allowed}


_CHARGE_CATEGORY = _lookup(CHARGE_CATEGORIES)
_CHARGE_FREQUENCY = _lookup(CHARGE_FREQUENCIES)
_PRICING_CATEGORY = {**_lookup(PRICING_CATEGORIES), **PRICING_CATEGORY_ALIASES}
_CD_CATEGORY = _lookup(COMMITMENT_DISCOUNT_CATEGORIES)
_CD_STATUS = _lookup(COMMITMENT_DISCOUNT_STATUSES)
_SERVICE_CATEGORY = _lookup(SERVICE_CATEGORIES)


def _provider_name(provider_name: str, provider: str) -> str:
    """ProviderName MUST NOT be null: fall back to the provider key's FOCUS name."""
    return provider_name or focus_name(provider)


def _service_name(service_name: str, provider_name: str) -> str:
    """ServiceName MUST NOT be null: fall back to the provider's name."""
    return service_name or provider_name


def _service_category(category: str) -> str:
    """Allowed value, matched ignoring case, spacing and a plural "s"; else "Other"
    (ServiceName-C-006-C: "Other" when no suitable ServiceCategory is available)."""
    key = _key(category)
    return _SERVICE_CATEGORY.get(key) or _SERVICE_CATEGORY.get(key + "s") or "Other"


def _service_subcategory(sub: str, category: str) -> str:
    """An allowed subcategory of `category` (ServiceSubcategory-C-004-M), else its "Other"."""
    allowed = SERVICE_SUBCATEGORIES[category]
    lookup = _lookup(allowed)
    key = _key(sub)
    return lookup.get(key) or lookup.get(key + "s") or f"Other ({category})"


_UNIT_DATA = (
    "b|Kb|Mb|Gb|Tb|Pb|Eb|B|KB|MB|GB|TB|PB|EB|Kib|Mib|Gib|Tib|Pib|Eib|KiB|MiB|GiB|TiB|PiB|EiB"
)
_UNIT_TIME = "Year|Month|Day|Hour|Minute|Second"
_UNIT_TIMES = "Years|Months|Days|Hours|Minutes|Seconds"
_UNIT_COUNT = r"[A-Za-z][A-Za-z0-9]*(?:\s+[A-Za-z][A-Za-z0-9]*)*"
_UNIT_FORMAT = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            rf"^(?:{_UNIT_DATA}|{_UNIT_TIME}|{_UNIT_TIMES}|{_UNIT_COUNT})$",
            rf"^(?:{_UNIT_DATA}|{_UNIT_COUNT})-(?:{_UNIT_TIMES})$",
            rf"^(?:{_UNIT_DATA}|{_UNIT_COUNT}|{_UNIT_TIMES})/(?:{_UNIT_TIME})$",
            rf"^[0-9]+ (?:{_UNIT_DATA}|{_UNIT_TIME}|{_UNIT_TIMES}|{_UNIT_COUNT})$",
            rf"^(?:{_UNIT_DATA}|{_UNIT_COUNT}|{_UNIT_TIMES})/[0-9]+ (?:{_UNIT_TIMES})$",
        )
    )
)


def focus_unit(unit: str) -> str:
    """The FOCUS UnitFormat spelling of a unit (PricingUnit-C-003-O, ConsumedUnit-C-003-O).

    Conforming units are kept. Others are re-spelled without changing their meaning:
    "Lambda-GB-Seconds" -> "Lambda GB-Seconds", "GiB/Second-Months" -> "GiB per Second-Months".
    """
    if not unit or _UNIT_FORMAT.search(unit):
        return unit
    block = re.fullmatch(r"(\d+)\s*([KMB])", unit.strip(), re.IGNORECASE)
    if block:  # Azure's "10K": a block of 10,000 units
        size = int(block.group(1)) * {"k": 10**3, "m": 10**6, "b": 10**9}[block.group(2).lower()]
        return f"{size} Units"
    match = re.match(rf"^(.*\S)-({_UNIT_TIMES})$", unit)
    head, tail = (match.group(1), "-" + match.group(2)) if match else (unit, "")
    words = re.sub(r"[^A-Za-z0-9]+", " ", head.replace("/", " per ")).strip()
    candidate = f"{words}{tail}"
    return candidate if words and _UNIT_FORMAT.search(candidate) else unit


_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")


def plain_decimal(value: str) -> str:
    """Exact decimal text: no exponent, no "+", no trailing zeros past the first decimal.

    Always with a decimal point ("48" -> "48.0", "0.01200" -> "0.012"): CSV carries no
    types, and readers that infer them (the FOCUS validator, pandas, DuckDB) must see a
    decimal column (BilledCost-C-001-M: "MUST be of type Decimal"), not integers.
    """
    if _PLAIN.match(value):
        text = value
    else:
        try:
            text = format(Decimal(value), "f")
        except InvalidOperation as exc:
            raise ExportError(f"stored amount {value!r} is not a decimal number") from exc
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0") or "0"
    if whole == "-0" and fraction == "0":
        whole = "0"
    return f"{whole}.{fraction}"


def _plain_decimals(values: pd.Series) -> pd.Series:
    """`plain_decimal` for a column, computed once per distinct value."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    done = pd.Index([plain_decimal(str(v)) for v in uniques], dtype=object)
    out = pd.Series(done.take(codes), index=values.index, dtype=object)
    return out.where(codes >= 0, None)


def _blank_none(values: pd.Series) -> pd.Series:
    values = values.astype(object)
    return values.where(values.notna() & (values != ""), None)


def _mapped(values: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """Apply `fn` once per distinct value."""
    uniques = pd.unique(values.fillna(""))
    return values.fillna("").map({u: fn(u) for u in uniques})


def _cost_or_derived(
    cost: pd.Series, unit_price: pd.Series, quantity: pd.Series, billed: pd.Series, fix: pd.Series
) -> pd.Series:
    """ListCost / ContractedCost MUST NOT be null. Where the ledger has none, the spec defines
    the value: unit price x PricingQuantity when both are known (ListCost-C-009-C,
    ContractedCost-C-009-C), else the BilledCost (ListCost-C-008-C, ContractedCost-C-008-C:
    a charge whose unit price is null costs what was billed). Exact decimal arithmetic."""
    missing = cost.isna()
    if not missing.any():
        return cost
    out = cost.copy()
    product = missing & unit_price.notna() & quantity.notna() & fix
    for i in product[product].index:
        out[i] = plain_decimal(str(Decimal(unit_price[i]) * Decimal(quantity[i])))
    rest = missing & ~product
    out[rest] = billed[rest]
    return out


def focus_frame(chunk: pd.DataFrame, *, services: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """One chunk of ledger rows (READ_COLUMNS, values as text) -> FOCUS 1.2 columns.

    Pure: every derivation is a function of the row (and `services`, see
    `_service_categories`). On rows that already conform to FOCUS 1.2 it changes nothing.
    """
    c = chunk
    f = pd.DataFrame(index=c.index)
    text = {col: _blank_none(c[col]) for col in TEXT}
    money = {col: _plain_decimals(c[col]) for col in MONEY}

    category = _mapped(text["charge_category"], lambda v: _CHARGE_CATEGORY.get(_key(v), v))
    usage = category == "Usage"
    usage_or_purchase = usage | (category == "Purchase")
    tax = category == "Tax"
    # ChargeClass-C-005-C: "Correction" or null.
    correction = _mapped(text["charge_class"], lambda v: _key(v) == "correction").astype(bool)
    charge_class = pd.Series(None, index=c.index, dtype=object).where(~correction, "Correction")
    priced = usage_or_purchase & ~correction

    # Accounts. BillingAccountId MUST NOT be null: a source without one gets an id naming
    # the import it came from, which is unique and traces every such row to its file.
    account = text["billing_account_id"].where(
        text["billing_account_id"].notna(), "import-" + c["batch_sha256"].astype(str).str[:16]
    )
    sub_account = text["sub_account_id"]
    f["AvailabilityZone"] = text["availability_zone"]
    f["BilledCost"] = money["billed_cost"]
    f["BillingAccountId"] = account
    f["BillingAccountName"] = text["billing_account_name"]
    f["BillingAccountType"] = text["billing_account_type"]
    f["BillingCurrency"] = text["billing_currency"]
    f["BillingPeriodEnd"] = c["billing_period_end"]
    f["BillingPeriodStart"] = c["billing_period_start"]
    # The ledger has no capacity reservations: null is what the spec asks for charges that
    # are not related to one (CapacityReservationId-C-004-C, CapacityReservationStatus-C-003-C).
    f["CapacityReservationId"] = None
    f["CapacityReservationStatus"] = None
    f["ChargeCategory"] = category
    f["ChargeClass"] = charge_class

    # Provider, publisher, invoice issuer (all MUST NOT be null).
    provider_name = _provider_name_series(text["provider_name"], c["provider"])
    publisher = text["publisher_name"].where(text["publisher_name"].notna(), provider_name)
    issuer = text["invoice_issuer_name"]
    # An invoice issued by one of the provider's own legal entities ("Amazon Web Services
    # EMEA SARL" for ProviderName "AWS") is a first-party invoice; FOCUS marks third-party
    # invoicing by InvoiceIssuerName != ProviderName (BilledCost-C-005-C), so a first-party
    # issuer is written as the ProviderName. A missing issuer is the provider itself.
    first_party = issuer.isna() | _first_party(issuer, c["provider"], provider_name)
    issuer = issuer.where(~first_party, provider_name)

    service_name = text["service_name"].where(text["service_name"].notna(), provider_name)
    service_pair = service_name.map(services)
    service_category = service_pair.map(lambda p: p[0] if isinstance(p, tuple) else "Other")
    service_subcategory = service_pair.map(
        lambda p: p[1] if isinstance(p, tuple) else "Other (Other)"
    )

    # ChargeDescription SHOULD NOT be null (ChargeDescription-C-003-O).
    described = (service_name + " " + category.str.lower()).where(
        text["sku_meter"].isna(), text["sku_meter"]
    )
    f["ChargeDescription"] = text["charge_description"].where(
        text["charge_description"].notna(), described
    )
    # ChargeFrequency MUST NOT be null and MUST be an allowed value (ChargeFrequency-C-002/3);
    # a purchase is never "Usage-Based" (-C-004-C). Unknown: a usage charge is usage-based,
    # anything else is taken as one-time.
    frequency = _mapped(text["charge_frequency"], lambda v: _CHARGE_FREQUENCY.get(_key(v)))
    default_frequency = pd.Series("One-Time", index=c.index, dtype=object).where(
        ~usage, "Usage-Based"
    )
    frequency = frequency.where(frequency.notna(), default_frequency)
    frequency = frequency.where(
        ~((category == "Purchase") & (frequency == "Usage-Based")), "One-Time"
    )
    f["ChargeFrequency"] = frequency
    f["ChargePeriodEnd"] = c["charge_period_end"]
    f["ChargePeriodStart"] = c["charge_period_start"]

    # Commitment discounts: the descriptive columns are null without a CommitmentDiscountId
    # (CommitmentDiscount{Category,Name,Status,Type}-C-00x-C).
    cd_id = text["commitment_discount_id"]
    has_cd = cd_id.notna()
    cd_category = _mapped(
        text["commitment_discount_category"], lambda v: _CD_CATEGORY.get(_key(v), v or None)
    )
    cd_status = _mapped(
        text["commitment_discount_status"], lambda v: _CD_STATUS.get(_key(v), v or None)
    )
    f["CommitmentDiscountCategory"] = cd_category.where(has_cd, None)
    f["CommitmentDiscountId"] = cd_id
    f["CommitmentDiscountName"] = text["commitment_discount_name"].where(has_cd, None)
    # CommitmentDiscountQuantity-C-007-C: null unless a usage or purchase row of a commitment
    # discount that is not a correction; CommitmentDiscountUnit follows the quantity.
    cd_quantity = money["commitment_discount_quantity"].where(
        has_cd & usage_or_purchase & ~correction, None
    )
    f["CommitmentDiscountQuantity"] = cd_quantity
    f["CommitmentDiscountStatus"] = cd_status.where(has_cd, None)
    f["CommitmentDiscountType"] = text["commitment_discount_type"].where(has_cd, None)
    f["CommitmentDiscountUnit"] = _mapped(text["commitment_discount_unit"], focus_unit).where(
        cd_quantity.notna() & text["commitment_discount_unit"].notna(), None
    )
    # ConsumedQuantity-C-004-C: null unless ChargeCategory is "Usage" and the commitment
    # discount (if any) is not "Unused"; ConsumedUnit follows the quantity (-C-005-C).
    consumed = money["consumed_quantity"].where(
        usage & (f["CommitmentDiscountStatus"] != "Unused"), None
    )
    f["ConsumedQuantity"] = consumed
    f["ConsumedUnit"] = _mapped(text["consumed_unit"], focus_unit).where(
        consumed.notna() & text["consumed_unit"].notna(), None
    )

    # Prices and quantities are null for taxes (PricingQuantity-C-004-C, ListUnitPrice-C-004-C,
    # ContractedUnitPrice-C-005-C, SkuId-C-004-C, SkuPriceId-C-004-C, PricingCategory-C-003-C).
    not_tax = ~tax
    quantity = money["pricing_quantity"].where(not_tax, None)
    list_price = money["list_unit_price"].where(not_tax, None)
    contracted_price = money["contracted_unit_price"].where(not_tax, None)
    f["ContractedCost"] = _cost_or_derived(
        money["contracted_cost"], contracted_price, quantity, money["billed_cost"], ~correction
    )
    f["ContractedUnitPrice"] = contracted_price
    f["EffectiveCost"] = money["effective_cost"]
    f["InvoiceId"] = text["invoice_id"]
    f["InvoiceIssuerName"] = issuer
    f["ListCost"] = _cost_or_derived(
        money["list_cost"], list_price, quantity, money["billed_cost"], ~correction
    )
    f["ListUnitPrice"] = list_price
    # PricingCategory: an allowed value; null for taxes; required for usage and purchases
    # (PricingCategory-C-004-C): "Committed" when a commitment discount applies to usage,
    # else "Standard" (pricing at the agreed rate, PricingCategory-C-008-C).
    pricing_category = _mapped(
        text["pricing_category"], lambda v: _PRICING_CATEGORY.get(_key(v), "Other" if v else None)
    )
    default_pricing = pd.Series("Standard", index=c.index, dtype=object).where(
        ~(usage & has_cd), "Committed"
    )
    pricing_category = pricing_category.where(pricing_category.notna() | ~priced, default_pricing)
    f["PricingCategory"] = pricing_category.where(not_tax, None)
    # PricingCurrency MUST NOT be null: without a separate one, prices are in BillingCurrency.
    f["PricingCurrency"] = text["pricing_currency"].where(
        text["pricing_currency"].notna(), text["billing_currency"]
    )
    f["PricingQuantity"] = quantity
    # PricingUnit is null exactly when PricingQuantity is (PricingUnit-C-005/006-C). A source
    # that gave a quantity without its unit: the consumed unit when the quantities are the
    # same measurement, else the count unit "Units" (the quantity counts pricing units).
    unit = text["pricing_unit"]
    same = money["consumed_quantity"].notna() & (money["consumed_quantity"] == quantity)
    fallback = text["consumed_unit"].where(same & text["consumed_unit"].notna(), "Units")
    unit = unit.where(unit.notna(), fallback)
    f["PricingUnit"] = _mapped(unit, focus_unit).where(quantity.notna(), None)
    f["ProviderName"] = provider_name
    f["PublisherName"] = publisher
    # RegionName MUST be null when RegionId is (RegionName-C-004-C). A source that gave only
    # an identifier-shaped name ("us-sanjose-1", Oracle's region key) has given the id.
    region_id, region_name = text["region_id"], text["region_name"]
    id_like = region_name.fillna("").str.fullmatch(r"[a-z]{2,}[a-z0-9-]*[0-9]")
    region_id = region_id.where(region_id.notna() | ~id_like, region_name)
    f["RegionId"] = region_id
    f["RegionName"] = region_name.where(region_id.notna(), None)
    # Resource name and type describe a resource: null without a ResourceId.
    resource = text["resource_id"]
    f["ResourceId"] = resource
    f["ResourceName"] = text["resource_name"].where(resource.notna(), None)
    f["ResourceType"] = text["resource_type"].where(resource.notna(), None)
    f["ServiceCategory"] = service_category
    f["ServiceName"] = service_name
    f["ServiceSubcategory"] = service_subcategory
    sku = text["sku_id"].where(not_tax, None)
    f["SkuId"] = sku
    f["SkuMeter"] = text["sku_meter"].where(sku.notna(), None)  # SkuMeter-C-004-C
    f["SkuPriceDetails"] = None  # not stored; MAY be null (SkuPriceDetails-C-005-C)
    f["SkuPriceId"] = text["sku_price_id"].where(not_tax, None)
    f["SubAccountId"] = sub_account
    f["SubAccountName"] = text["sub_account_name"].where(sub_account.notna(), None)
    f["SubAccountType"] = text["sub_account_type"].where(sub_account.notna(), None)
    tags = c["tags"].astype(object)
    f["Tags"] = tags.where(tags.notna() & ~tags.isin(["", "{}", "null"]), None)

    f["x_Provider"] = text["provider"]
    f["x_Model"] = text["model"]
    for name, col in zip(
        ["x_InputTokens", "x_CachedInputTokens", "x_CacheWriteTokens", "x_OutputTokens"],
        INTS[:4],
        strict=True,
    ):
        f[name] = c[col].astype("int64")
    f["x_ModelRequests"] = c["model_requests"].astype("int64")
    f["x_GpuHours"] = money["gpu_hours"].where(money["gpu_hours"].notna(), "0")
    f["x_ApplicationKey"] = text["application_key"]
    f["x_Team"] = _blank_none(c["team_slug"])
    return f[COLUMN_NAMES]


def _provider_name_series(names: pd.Series, providers: pd.Series) -> pd.Series:
    fallback = providers.fillna("").map(lambda p: _provider_name("", p))
    return names.where(names.notna(), fallback)


def _first_party(issuers: pd.Series, providers: pd.Series, provider_names: pd.Series) -> pd.Series:
    """Whether each invoice issuer is one of the provider's own legal entities."""

    def check(issuer: str, provider: str, provider_name: str) -> bool:
        key = _key(issuer)
        # The provider's own legal entities (not a reseller or marketplace), or its name.
        prefixes = (*first_party_issuers(provider), _key(provider_name))
        return any(p and key.startswith(p) for p in prefixes)

    present = issuers.notna()
    keys = issuers.fillna("") + "\x1f" + providers.fillna("") + "\x1f" + provider_names.fillna("")
    verdict = {k: check(*k.split("\x1f")) for k in pd.unique(keys[present])}
    return keys.map(verdict).where(present, False).astype(bool)


# --- writing -------------------------------------------------------------------------------


FOCUS_TEXT_COLUMNS = [name for name, kind in COLUMNS if kind in ("text", "json")]


def _write_csv(path: Path, frames: Iterator[pd.DataFrame]) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMN_NAMES)
        for frame in frames:
            for (
                name
            ) in FOCUS_TEXT_COLUMNS:  # never a formula in a spreadsheet (metrics.ledger.csv_safety)
                frame[name] = frame[name].str.replace(GUARD_PATTERN, "'", regex=True)
            frame.to_csv(fh, header=False, index=False, na_rep="", lineterminator="\n")
            rows += len(frame)
    return rows


def _parquet_schema(scale: int) -> Any:
    import pyarrow as pa

    kinds = {
        "text": pa.string(),
        "json": pa.string(),
        "money": pa.decimal128(PARQUET_PRECISION, scale),
        "time": pa.timestamp("s", tz="UTC"),
        "int": pa.int64(),
    }
    return pa.schema([pa.field(name, kinds[kind]) for name, kind in COLUMNS])


def _write_parquet(path: Path, frames: Iterator[pd.DataFrame], *, scale: int) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = _parquet_schema(scale)
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for frame in frames:
            arrays = []
            for field in schema:
                values = frame[field.name]
                if pa.types.is_timestamp(field.type):
                    text = pa.array(values, type=pa.string())
                    parsed = pc.strptime(text, format="%Y-%m-%dT%H:%M:%SZ", unit="s")
                    arrays.append(parsed.cast(field.type))
                elif pa.types.is_decimal(field.type):
                    # string -> decimal is exact; it fails rather than round.
                    arrays.append(pa.array(values, type=pa.string()).cast(field.type))
                elif pa.types.is_integer(field.type):
                    arrays.append(pa.array(values, type=field.type))
                else:
                    arrays.append(pa.array(values.astype(object), type=field.type))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += len(frame)
        if rows == 0:
            writer.write_table(schema.empty_table())
    return rows
