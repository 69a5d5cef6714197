"""Oracle Cloud Infrastructure cost reports (CSV or gzip CSV, `lineItem/referenceNo`,
`cost/myCost`, `tags/<namespace>.<key>` headers).

Costs: BilledCost = EffectiveCost = `cost/myCost` + `cost/myCostOverage` (the overage column is
usually blank). OCI reports carry no amortization, so the two are the same.

The header shares the `lineItem/` prefix with AWS's legacy CUR; `lineItem/tenantId` and
`cost/myCost` tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from metrics.ledger.sources import csv_reader
from metrics.ledger.sources import tabular as c
from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError

NAME = "oci"
PROVIDER = "oci"
PROVIDER_NAME = "Oracle"

_REQUIRED = [
    "lineItem/intervalUsageStart",
    "lineItem/intervalUsageEnd",
    "cost/myCost",
    "cost/currencyCode",
    "cost/subscriptionId",
]
_OPTIONAL = [
    "lineItem/referenceNo",
    "lineItem/tenantId",
    "lineItem/isCorrection",
    "product/service",
    "product/compartmentId",
    "product/compartmentName",
    "product/region",
    "product/availabilityDomain",
    "product/resourceId",
    "product/Description",
    "usage/billedQuantity",
    "usage/consumedQuantity",
    "usage/consumedQuantityUnits",
    "cost/productSku",
    "cost/unitPrice",
    "cost/myCostOverage",
    "cost/skuUnitDescription",
]
_TAG_PREFIX = "tags/"

_SERVICE_CATEGORY = {
    **dict.fromkeys(
        [
            "GENERATIVE_AI",
            "GENERATIVE_AI_AGENTS",
            "DATA_SCIENCE",
            "AI_LANGUAGE",
            "AI_VISION",
            "AI_SPEECH",
            "AI_DOCUMENT_UNDERSTANDING",
            "DIGITAL_ASSISTANT",
            "ANOMALY_DETECTION",
        ],
        AI_SERVICE_CATEGORY,
    ),
    **dict.fromkeys(["COMPUTE", "CONTAINER_ENGINE", "FUNCTIONS", "CONTAINER_INSTANCES"], "Compute"),
    **dict.fromkeys(
        ["BLOCK_STORAGE", "OBJECTSTORE", "OBJECT_STORAGE", "FILE_STORAGE", "ARCHIVE_STORAGE"],
        "Storage",
    ),
    **dict.fromkeys(
        ["DATABASE", "MYSQL", "NOSQL", "POSTGRESQL", "AUTONOMOUS_DATABASE", "EXADATA"],
        "Databases",
    ),
    **dict.fromkeys(
        ["NETWORK", "LOAD_BALANCER", "FASTCONNECT", "DNS", "NETWORK_FIREWALL"], "Networking"
    ),
    **dict.fromkeys(
        ["TELEMETRY", "LOGGING", "MONITORING", "NOTIFICATIONS", "LOGGING_ANALYTICS"],
        "Management and Governance",
    ),
    **dict.fromkeys(
        ["ORACLE_STREAMING_SERVICE", "STREAMING", "INTEGRATION", "QUEUE"], "Integration"
    ),
    **dict.fromkeys(["ANALYTICS", "DATA_FLOW", "DATA_INTEGRATION", "BIG_DATA"], "Analytics"),
    **dict.fromkeys(["VAULT", "KEY_MANAGEMENT", "CLOUD_GUARD", "WAF"], "Security"),
}


def sniff(path: Path, head: str) -> bool:
    names = set(csv_reader.sniff_header(head))
    return "cost/myCost" in names or "lineItem/tenantId" in names


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    header = csv_reader.csv_header(path)
    c.require_columns(file, header, *_REQUIRED)
    tag_columns = {h: h[len(_TAG_PREFIX) :] for h in header if h.startswith(_TAG_PREFIX)}
    wanted = [h for h in _REQUIRED + _OPTIONAL if h in header] + list(tag_columns)
    guard = c.CurrencyGuard(file, "cost/currencyCode")
    for chunk in csv_reader.read_csv_chunks(path, wanted):
        yield c.finish(_normalize(chunk, tag_columns, file=file, guard=guard), file=file)


def _normalize(
    chunk: pd.DataFrame, tag_columns: dict[str, str], *, file: str, guard: c.CurrencyGuard
) -> pd.DataFrame:
    index = chunk.index
    lines = c.line_numbers(chunk)

    def txt(name: str) -> pd.Series:
        return c.text(chunk, name if name in chunk.columns else None)

    def cash(name: str, required: bool = False) -> pd.Series:
        return c.money(chunk, name if name in chunk.columns else None, file=file, required=required)

    def times(name: str) -> pd.Series:
        return c.times(chunk[name], file=file, column=name, lines=lines)

    out = pd.DataFrame(index=index)
    out["source_line"] = lines.astype("int64")
    out["charge_period_start"] = times("lineItem/intervalUsageStart")
    out["charge_period_end"] = times("lineItem/intervalUsageEnd")
    out["billing_period_start"] = c.month_start(out["charge_period_start"])
    out["billing_period_end"] = c.next_month(out["billing_period_start"])

    cost = cash("cost/myCost", required=True)
    overage = cash("cost/myCostOverage")
    has_overage = overage.notna()
    if has_overage.any():
        total = c.decimal_combine([cost, overage], has_overage)
        cost = total.reindex(index).where(has_overage, cost)
    out["billed_cost"] = cost
    out["effective_cost"] = cost
    out["contracted_unit_price"] = cash("cost/unitPrice")

    account = txt("cost/subscriptionId")
    blank = account.eq("")
    if blank.any():
        line = int(lines[blank].iloc[0])
        raise IngestError(file, line, "cost/subscriptionId", "a value is required")
    currency = guard.check(account, txt("cost/currencyCode"))
    out["billing_currency"] = currency
    out["billing_account_id"] = account
    tenant = txt("lineItem/tenantId")
    out["sub_account_id"] = tenant
    # The root compartment carries the tenancy's name.
    root = txt("product/compartmentId").eq(tenant)
    out["sub_account_name"] = txt("product/compartmentName").where(root, "")
    out["sub_account_type"] = tenant.ne("").map({True: "Tenancy", False: ""})

    correction = txt("lineItem/isCorrection").str.lower().eq("true")
    out["charge_category"] = "Usage"
    out["charge_class"] = correction.map({True: "Correction", False: ""})
    out["charge_frequency"] = "Usage-Based"
    out["charge_description"] = txt("product/Description")
    service = txt("product/service")
    out["service_name"] = service
    out["service_category"] = c.map_values(service.str.upper(), _SERVICE_CATEGORY, "Other")
    out["sku_id"] = txt("cost/productSku")
    out["publisher_name"] = "Oracle"
    out["invoice_issuer_name"] = "Oracle"
    out["region_id"] = txt("product/region")
    out["region_name"] = out["region_id"]
    out["availability_zone"] = txt("product/availabilityDomain")
    out["resource_id"] = txt("product/resourceId")

    billed_quantity = cash("usage/billedQuantity")
    unit = txt("cost/skuUnitDescription")
    out["pricing_quantity"] = billed_quantity
    out["pricing_unit"] = unit
    if "usage/consumedQuantity" in chunk.columns:
        out["consumed_quantity"] = cash("usage/consumedQuantity")
        out["consumed_unit"] = txt("usage/consumedQuantityUnits")
    else:
        out["consumed_quantity"] = billed_quantity
        out["consumed_unit"] = unit

    tags, app = c.tags_from_columns(chunk, tag_columns)
    out["tags"] = tags
    out["application_key"] = app

    out["provider"] = PROVIDER
    out["provider_name"] = PROVIDER_NAME
    out["raw"] = None
    return out
