"""Google Cloud Billing export (standard or detailed usage cost), as exported from BigQuery:
CSV with flattened headers (`service.description` or `service_description`, `labels` and
`credits` as JSON text) or JSON lines with the nested records BigQuery writes.

Costs: BilledCost = `cost`; EffectiveCost = `cost` + the sum of `credits[].amount` (credits are
negative: sustained-use and committed-use discounts, free tier, promotions). ListCost =
`cost_at_list` where the export has it.

Tags are the project's labels overlaid with the resource's labels (a resource label wins).

Vertex AI / Gemini lines (SKUs like "Gemini 1.5 Pro Input Text Tokens", "... Output ...",
"... Cached ...") set the model and the token columns from `usage.amount` when `usage.unit` is
a token count ("count", "tokens", or a 1K/1M multiple of one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from metrics.ledger.sources import csv_reader
from metrics.ledger.sources import tabular as c
from metrics.ledger.sources.base import (
    AI_SERVICE_CATEGORY,
    IngestError,
    decimal_strings,
    read_head,
)

NAME = "gcp"
PROVIDER = "gcp"
PROVIDER_NAME = "Google Cloud"

_REQUIRED = ["billing_account_id", "usage_start_time", "usage_end_time", "cost", "currency"]
_OPTIONAL = [
    "service_id",
    "service_description",
    "sku_id",
    "sku_description",
    "project_id",
    "project_name",
    "project_labels",
    "labels",
    "location_location",
    "location_region",
    "location_zone",
    "resource_name",
    "resource_global_name",
    "usage_amount",
    "usage_unit",
    "usage_amount_in_pricing_units",
    "usage_pricing_unit",
    "credits",
    "credits_amount",
    "invoice_month",
    "cost_type",
    "cost_at_list",
    "price_effective_price",
    "seller_name",
]
_MONEY_JSON = ("cost", "cost_at_list", "usage_amount", "usage_amount_in_pricing_units")

_CHARGE_CATEGORY = {
    "regular": "Usage",
    "tax": "Tax",
    "adjustment": "Adjustment",
    "rounding_error": "Adjustment",
}
_AI_SERVICES = {
    "vertex ai",
    "gemini api",
    "generative language api",
    "cloud vision api",
    "cloud natural language api",
    "cloud speech api",
    "cloud text-to-speech api",
    "cloud translation api",
    "document ai",
    "dialogflow",
    "contact center ai",
    "notebooks",
    "cloud tpu",
}
_SERVICE_CATEGORY = {
    **dict.fromkeys(_AI_SERVICES, AI_SERVICE_CATEGORY),
    **dict.fromkeys(
        [
            "compute engine",
            "kubernetes engine",
            "cloud run",
            "cloud run functions",
            "cloud functions",
            "app engine",
            "google cloud vmware engine",
            "batch",
            "artifact registry",
        ],
        "Compute",
    ),
    **dict.fromkeys(
        ["cloud storage", "filestore", "backup and dr service", "persistent disk"], "Storage"
    ),
    **dict.fromkeys(
        [
            "cloud sql",
            "cloud spanner",
            "cloud bigtable",
            "firestore",
            "cloud firestore",
            "cloud memorystore for redis",
            "alloydb",
            "datastore",
        ],
        "Databases",
    ),
    **dict.fromkeys(
        [
            "networking",
            "cloud load balancing",
            "cloud cdn",
            "cloud dns",
            "cloud nat",
            "cloud vpn",
            "cloud interconnect",
            "network intelligence center",
        ],
        "Networking",
    ),
    **dict.fromkeys(
        [
            "bigquery",
            "bigquery reservation api",
            "bigquery storage api",
            "dataflow",
            "dataproc",
            "cloud composer",
            "looker",
            "pub/sub lite",
            "datastream",
        ],
        "Analytics",
    ),
    **dict.fromkeys(
        ["cloud pub/sub", "pub/sub", "cloud tasks", "cloud scheduler", "workflows", "eventarc"],
        "Integration",
    ),
    **dict.fromkeys(
        ["cloud logging", "cloud monitoring", "stackdriver monitoring", "cloud trace"],
        "Management and Governance",
    ),
    **dict.fromkeys(
        [
            "secret manager",
            "cloud key management service (kms)",
            "security command center",
            "identity platform",
            "cloud armor",
        ],
        "Security",
    ),
    **dict.fromkeys(["cloud build", "cloud source repositories"], "Developer Tools"),
    "support": "Other",
}
# "Gemini 1.5 Pro Input Text Tokens" -> model "Gemini 1.5 Pro", kind "input".
_MODEL_SKU = re.compile(
    r"^(?P<model>.+?)\s+(?:(?:long|short|>\s*\d+k|<=?\s*\d+k)\s+(?:context\s+)?)?"
    r"(?:batch\s+|online\s+)?(?P<kind>cached|cache|input|output)\b",
    re.I,
)
_TOKEN_KINDS = [
    ("cached_input_tokens", re.compile(r"\bcache(?:d)?\b", re.I)),
    ("output_tokens", re.compile(r"\boutput\b", re.I)),
    ("input_tokens", re.compile(r"\binput\b", re.I)),
]
_CACHE_STORAGE = re.compile(r"\bcache\w*\b.*\bstorage\b|\bstorage\b", re.I)


def canonical(name: str) -> str:
    return name.strip().lower().replace(".", "_").replace("/", "_")


def _is_jsonl(head: str) -> bool:
    return head.lstrip("\ufeff \r\n\t").startswith("{")


def sniff(path: Path, head: str) -> bool:
    if _is_jsonl(head):
        first = head.lstrip("\ufeff \r\n\t").split("\n", 1)[0]
        return '"billing_account_id"' in first and '"service"' in first and '"cost"' in first
    names = {canonical(n) for n in csv_reader.sniff_header(head)}
    return {"billing_account_id", "service_description", "cost", "usage_start_time"} <= names


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    if _is_jsonl(read_head(path, 4096)):
        labels = {name: _json_label(name) for name in _REQUIRED + _OPTIONAL}
        guard = c.CurrencyGuard(file, "currency")
        for chunk in _jsonl_chunks(path):
            yield c.finish(_normalize(chunk, labels, file=file, guard=guard), file=file)
        return
    columns: dict[str, str] = {}
    for raw in csv_reader.csv_header(path):
        columns.setdefault(canonical(raw), raw)
    for name in _REQUIRED:
        if name not in columns:
            raise IngestError(file, 1, name, "a required GCP billing export column is missing")
    guard = c.CurrencyGuard(file, columns["currency"])
    wanted = [columns[n] for n in _REQUIRED + _OPTIONAL if n in columns]
    for chunk in csv_reader.read_csv_chunks(path, wanted):
        chunk = _from_csv(chunk, columns, file=file)
        yield c.finish(_normalize(chunk, columns, file=file, guard=guard), file=file)


# The nested records of a BigQuery billing export row.
_RECORDS = ("service", "sku", "project", "location", "resource", "usage", "invoice", "price")


def _json_label(name: str) -> str:
    """Dotted JSON path of a canonical name, for messages: usage_amount -> usage.amount."""
    if name in ("usage_start_time", "usage_end_time"):
        return name
    for record in _RECORDS:
        if name.startswith(record + "_"):
            return f"{record}.{name[len(record) + 1 :]}"
    return name


# --- CSV -----------------------------------------------------------------------------------


def _from_csv(chunk: pd.DataFrame, columns: dict[str, str], *, file: str) -> pd.DataFrame:
    """Rename to canonical names and reduce `credits` and the label columns to text."""
    renamed = chunk.rename(columns={raw: name for name, raw in columns.items()})
    index = renamed.index
    if "credits" in renamed.columns:
        renamed["credits_total"] = _credit_totals(
            renamed["credits"], file=file, column=columns["credits"]
        )
    elif "credits_amount" in renamed.columns:
        renamed["credits_total"] = c.money(renamed, "credits_amount", file=file)
    else:
        renamed["credits_total"] = pd.Series(None, index=index, dtype=object)
    label_columns = [n for n in ("project_labels", "labels") if n in renamed.columns]
    tags, app = _label_tags(renamed, label_columns, columns, file=file)
    renamed["tags"] = tags
    renamed["application_key"] = app
    return renamed


def _credit_totals(values: pd.Series, *, file: str, column: str) -> pd.Series:
    text = values.astype(str).str.strip()
    codes, uniques = pd.factorize(text)
    totals: list[str | None] = []
    for raw in uniques:
        try:
            totals.append(_sum_credits(raw))
        except ValueError as exc:
            line = int(text.index[(text == raw).to_numpy()][0])
            raise IngestError(file, line, column, f"credits are not readable: {exc}") from exc
    return pd.Series(np.array(totals or [None], dtype=object)[codes], index=values.index)


def _sum_credits(raw: str) -> str | None:
    """Total of a credits cell: a JSON array of {amount: ...}, or a plain number."""
    if raw in ("", "[]", "NULL", "null"):
        return None
    if not raw.startswith("["):
        try:
            return str(Decimal(raw))
        except InvalidOperation as exc:
            raise ValueError(f"{raw!r} is neither a number nor a JSON array") from exc
    try:
        items = json.loads(raw, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    return _credit_list_total(items)


def _credit_list_total(items: object) -> str | None:
    if not isinstance(items, list):
        raise ValueError("credits must be a list")
    if not items:
        return None
    total = Decimal(0)
    for item in items:
        if not isinstance(item, dict) or "amount" not in item:
            raise ValueError("each credit needs an amount")
        try:
            total += Decimal(str(item["amount"]))
        except InvalidOperation as exc:
            raise ValueError(f"credit amount {item['amount']!r} is not a number") from exc
    return str(total)


def _label_tags(
    frame: pd.DataFrame, label_columns: list[str], columns: dict[str, str], *, file: str
) -> tuple[pd.Series, pd.Series]:
    index = frame.index
    if not label_columns:
        return pd.Series(None, index=index, dtype=object), pd.Series("", index=index)
    values = frame[label_columns].astype(str)
    codes, uniques = pd.MultiIndex.from_frame(values).factorize()
    tag_json: list[str | None] = []
    app_keys: list[str] = []
    for combo in uniques:
        merged: dict[str, str] = {}
        for name, raw in zip(label_columns, combo, strict=True):
            try:
                merged.update(_labels(str(raw).strip()))
            except ValueError as exc:
                bad = values[name].str.strip() == str(raw).strip()
                line = int(index[bad.to_numpy()][0])
                raise IngestError(file, line, columns[name], f"labels: {exc}") from exc
        tag_json.append(json.dumps(merged, ensure_ascii=False) if merged else None)
        app_keys.append(c.application_key(merged))
    return (
        pd.Series(np.array(tag_json, dtype=object)[codes], index=index),
        pd.Series(np.array(app_keys, dtype=object)[codes], index=index),
    )


def _labels(raw: str | object) -> dict[str, str]:
    """Labels as BigQuery writes them: `[{"key": k, "value": v}]` (or a plain JSON object)."""
    if raw in ("", None, "[]", "{}", "NULL", "null"):
        return {}
    value = json.loads(raw) if isinstance(raw, str) else raw
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        out: dict[str, str] = {}
        for item in value:
            if not isinstance(item, dict) or "key" not in item:
                raise ValueError("each label needs a key")
            out[str(item["key"])] = "" if item.get("value") is None else str(item["value"])
        return out
    raise ValueError("not a list of key/value labels")


# --- JSON lines ----------------------------------------------------------------------------


_NESTED = ("project_labels", "labels", "credits")
_JSON_FIELDS = [n for n in _REQUIRED + _OPTIONAL if n not in _NESTED]
_JSON_DERIVED = ["credits_total", "tags", "application_key"]


def _jsonl_chunks(path: Path) -> Iterator[pd.DataFrame]:
    """Records of a JSON-lines export as frames of the CSV's canonical text columns.

    Floats are kept as their source text (parse_float=str), so costs never pass through a
    float. JSON has to be decoded line by line; each line is read straight into column lists
    (no intermediate row dicts), and labels are serialized once per distinct label set.
    """
    import gzip

    file = str(path)
    opener = gzip.open if csv_reader.is_gzip(path) else open
    fields = [(name, _json_label(name).split(".", 1)) for name in _JSON_FIELDS]
    data: dict[str, list[object]] = {name: [] for name in _JSON_FIELDS + _JSON_DERIVED}
    lines: list[int] = []
    tag_cache: dict[tuple[object, object], tuple[str | None, str]] = {}
    number = 0
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, parse_float=str)
                except json.JSONDecodeError as exc:
                    raise IngestError(file, number, "-", f"not JSON ({exc.msg})") from exc
                except RecursionError as exc:
                    raise IngestError(file, number, "-", "JSON nested too deeply") from exc
                if not isinstance(record, dict):
                    raise IngestError(file, number, "-", "each line must be a JSON object")
                for name, keys in fields:
                    value = record.get(keys[0])
                    if len(keys) == 2:
                        value = value.get(keys[1]) if isinstance(value, dict) else None
                    data[name].append("" if value is None else value)
                _json_extras(record, data, tag_cache, file=file, line=number)
                lines.append(number)
                if len(lines) >= c.CHUNK_ROWS:
                    yield _frame(data, lines)
                    data = {name: [] for name in data}
                    lines = []
    except (EOFError, OSError) as exc:
        raise IngestError(
            file, number + 1, "-", f"the file is truncated or corrupt ({exc})"
        ) from exc
    if lines:
        yield _frame(data, lines)


def _json_extras(
    record: dict[str, object],
    data: dict[str, list[object]],
    tag_cache: dict[tuple[object, object], tuple[str | None, str]],
    *,
    file: str,
    line: int,
) -> None:
    """Credits total, tags JSON and application key of one JSON record."""
    credits = record.get("credits")
    try:
        data["credits_total"].append(_credit_list_total(credits) if credits else None)
    except ValueError as exc:
        raise IngestError(file, line, "credits", str(exc)) from exc
    project = record.get("project")
    project_labels = project.get("labels") if isinstance(project, dict) else None
    labels = record.get("labels")
    try:
        key = (_label_pairs(project_labels), _label_pairs(labels))
    except ValueError as exc:
        raise IngestError(file, line, "labels", str(exc)) from exc
    cached = tag_cache.get(key)
    if cached is None:
        tags = dict(key[0]) | dict(key[1])
        text = json.dumps(tags, ensure_ascii=False) if tags else None
        cached = tag_cache[key] = (text, c.application_key(tags))
    data["tags"].append(cached[0])
    data["application_key"].append(cached[1])


def _label_pairs(labels: object) -> tuple[tuple[str, str], ...]:
    if not labels:
        return ()
    return tuple(_labels(labels).items())


def _frame(data: dict[str, list[object]], lines: list[int]) -> pd.DataFrame:
    index = pd.Index(lines)
    frame = pd.DataFrame(
        {
            name: pd.Series(values, index=index, dtype=object).astype(str)
            for name, values in data.items()
            if name not in ("credits_total", "tags")
        },
        index=index,
    )
    frame["credits_total"] = pd.Series(data["credits_total"], index=index, dtype=object)
    frame["tags"] = pd.Series(data["tags"], index=index, dtype=object)
    return frame


# --- normalizing ---------------------------------------------------------------------------


def _normalize(
    chunk: pd.DataFrame, columns: dict[str, str], *, file: str, guard: c.CurrencyGuard
) -> pd.DataFrame:
    """`chunk` has canonical column names; `columns` maps them to the names in the file."""
    index = chunk.index
    lines = c.line_numbers(chunk)

    def label(name: str) -> str:
        return columns.get(name, name)

    def txt(name: str) -> pd.Series:
        if name not in chunk.columns:
            return pd.Series("", index=index, dtype=object)
        return chunk[name].astype(str).str.strip()

    def cash(name: str, required: bool = False) -> pd.Series:
        if name not in chunk.columns:
            return pd.Series(None, index=index, dtype=object)
        return decimal_strings(
            chunk[name], file=file, column=label(name), lines=lines, required=required
        )

    out = pd.DataFrame(index=index)
    out["source_line"] = lines.astype("int64")
    out["charge_period_start"] = c.times(
        chunk["usage_start_time"], file=file, column=label("usage_start_time"), lines=lines
    )
    out["charge_period_end"] = c.times(
        chunk["usage_end_time"], file=file, column=label("usage_end_time"), lines=lines
    )
    month = txt("invoice_month")
    start = c.month_start(out["charge_period_start"])
    if month.ne("").any():
        bad = month.ne("") & ~month.str.fullmatch(r"\d{6}")
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            raise IngestError(
                file,
                int(lines.iloc[i]),
                label("invoice_month"),
                f"{month.iloc[i]!r} is not a YYYYMM invoice month",
            )
        invoiced = pd.to_datetime(month.where(month.ne("")), format="%Y%m", utc=True)
        start = invoiced.where(month.ne(""), start)
    out["billing_period_start"] = start
    out["billing_period_end"] = c.next_month(start)

    cost = cash("cost", required=True)
    credits = chunk["credits_total"].astype(object)
    credits = credits.where(credits.notna(), None)
    has_credit = credits.notna()
    effective = cost.copy()
    if has_credit.any():
        summed = c.decimal_combine([cost, credits], has_credit)
        effective = summed.reindex(index).where(has_credit, cost)
    out["billed_cost"] = cost
    out["effective_cost"] = effective
    out["list_cost"] = cash("cost_at_list")
    out["contracted_unit_price"] = cash("price_effective_price")

    account = txt("billing_account_id")
    blank = account.eq("")
    if blank.any():
        line = int(lines[blank].iloc[0])
        raise IngestError(file, line, label("billing_account_id"), "a value is required")
    currency = guard.check(account, txt("currency"))
    out["billing_currency"] = currency
    out["billing_account_id"] = account
    out["sub_account_id"] = txt("project_id")
    out["sub_account_name"] = txt("project_name")
    out["sub_account_type"] = out["sub_account_id"].ne("").map({True: "Project", False: ""})

    cost_type = txt("cost_type").str.lower()
    out["charge_category"] = c.map_values(cost_type, _CHARGE_CATEGORY, "Usage").where(
        cost_type.ne(""), "Usage"
    )
    out["charge_class"] = cost_type.eq("adjustment").map({True: "Correction", False: ""})
    is_usage = out["charge_category"].eq("Usage")
    out["charge_frequency"] = is_usage.map({True: "Usage-Based", False: "One-Time"})

    service = txt("service_description")
    sku = txt("sku_description")
    out["service_name"] = service
    category = c.map_lower(service, _SERVICE_CATEGORY, "Other")
    out["service_category"] = category
    out["charge_description"] = sku
    out["sku_id"] = txt("sku_id")
    out["sku_meter"] = sku
    seller = txt("seller_name")
    out["publisher_name"] = seller.where(seller.ne(""), "Google Cloud")
    out["invoice_issuer_name"] = "Google"

    region = txt("location_region")
    out["region_id"] = region.where(region.ne(""), txt("location_location"))
    out["region_name"] = out["region_id"]
    out["availability_zone"] = txt("location_zone")
    global_name = txt("resource_global_name")
    resource = txt("resource_name")
    out["resource_id"] = global_name.where(global_name.ne(""), resource)
    out["resource_name"] = resource

    amount = cash("usage_amount")
    unit = txt("usage_unit")
    out["consumed_quantity"] = amount.where(is_usage, None)
    out["consumed_unit"] = unit.where(is_usage, "")
    pricing_amount = cash("usage_amount_in_pricing_units")
    pricing_unit = txt("usage_pricing_unit")
    out["pricing_quantity"] = pricing_amount.where(pricing_amount.notna(), amount)
    out["pricing_unit"] = pricing_unit.where(pricing_unit.ne(""), unit)

    out["tags"] = chunk["tags"]
    out["application_key"] = txt("application_key")

    ai = category.eq(AI_SERVICE_CATEGORY)
    _tokens(out, ai & is_usage, sku, amount, unit)

    out["provider"] = PROVIDER
    out["provider_name"] = PROVIDER_NAME
    out["raw"] = None
    return out


def _tokens(
    out: pd.DataFrame, ai_usage: pd.Series, sku: pd.Series, amount: pd.Series, unit: pd.Series
) -> None:
    index = out.index
    for name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        out[name] = pd.Series(0, index=index, dtype="int64")
    out["model"] = ""
    if not ai_usage.any():
        return
    codes, uniques = pd.factorize(sku)
    models = [_model(s) for s in uniques]
    model = pd.Series([models[i] if i >= 0 else "" for i in codes], index=index, dtype=object)
    out["model"] = model.where(ai_usage, "")
    factor = _unit_factor(unit)
    tokens = (
        ai_usage
        & sku.str.contains(r"\btokens?\b", case=False)
        & ~sku.str.contains(_CACHE_STORAGE)
        & factor.gt(0)
    )
    remaining = tokens.copy()
    for column, pattern in _TOKEN_KINDS:
        hit = remaining & sku.str.contains(pattern)
        remaining &= ~hit
        if hit.any():
            out[column] = c.token_counts(amount, factor, hit)


def _model(sku: str) -> str:
    found = _MODEL_SKU.match(sku)
    return found.group("model").strip() if found else ""


def _unit_factor(unit: pd.Series) -> pd.Series:
    """Tokens per usage unit: 1 for counts/tokens, 1000 or 1e6 for 1K/1M; 0 = not tokens."""
    codes, uniques = pd.factorize(unit.str.lower().str.strip())
    factors = [_factor(u) for u in uniques]
    return pd.Series([factors[i] if i >= 0 else 0 for i in codes], index=unit.index, dtype="int64")


def _factor(unit: str) -> int:
    words = set(unit.replace("-", " ").split())
    if not words:
        return 1  # no unit given: the amount is the count itself
    if not words & {"count", "counts", "token", "tokens"}:
        return 0
    if words & {"1k", "k", "thousand", "1000"}:
        return 1000
    if words & {"1m", "m", "million", "1000000"}:
        return 1_000_000
    return 1
