"""AWS Cost and Usage Report: legacy CUR (`lineItem/UnblendedCost` headers, or the snake-case
Athena/Parquet form) and CUR 2.0 from Data Exports (`line_item_unblended_cost`, with the
`product` and `resource_tags` map columns). CSV, gzip CSV or Parquet.

Legacy headers are renamed to their CUR 2.0 snake-case names (AWS's own rule:
`savingsPlan/SavingsPlanARN` -> `savings_plan_savings_plan_a_r_n`), so one code path serves both.

Costs:
- BilledCost = `line_item_unblended_cost` (what the invoice shows).
- EffectiveCost follows the FinOps Foundation's FOCUS converter for AWS (AWS's amortization
  columns, documented in "Understanding your amortized reservation data" and the Savings Plans
  CUR page):
  DiscountedUsage -> `reservation_effective_cost`;
  SavingsPlanCoveredUsage -> `savings_plan_savings_plan_effective_cost`;
  RIFee -> unused amortized upfront fee + unused recurring fee (the unused part of the RI,
  the used part already sits on the DiscountedUsage rows);
  SavingsPlanRecurringFee -> total commitment to date - used commitment (the unused part);
  SavingsPlanNegation, SavingsPlanUpfrontFee and an RI's upfront `Fee` -> 0 (they are
  amortized into the covered usage);
  everything else -> unblended cost.
- ListCost = `pricing_public_on_demand_cost`.

Bedrock token lines (usage types `*-input-tokens`, `*-output-tokens`, `*-mantle-input-tokens-*`,
`*-cache-read-input-token-count`, `*-cache-write-input-token-count`, and the Marketplace form
`...InputTokenCount...`) fill the token columns from the usage amount, scaled by the pricing
unit when that says "1K"/"1M" tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from metrics.ledger.sources import csv_reader
from metrics.ledger.sources import tabular as c
from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError

NAME = "aws-cur"
PROVIDER = "aws"
PROVIDER_NAME = "AWS"

_TAG_PREFIX_LEGACY = "resourceTags/user:"
_TAG_PREFIX_SNAKE = "resource_tags_user_"

# Canonical (CUR 2.0) names of the columns this parser reads.
_REQUIRED = [
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_unblended_cost",
    "line_item_currency_code",
    "bill_payer_account_id",
]
_OPTIONAL = [
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_billing_entity",
    "bill_payer_account_name",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_line_item_description",
    "product",
    "product_product_name",
    "product_servicecode",
    "product_region_code",
    "product_region",
    "product_location",
    "product_sku",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "pricing_term",
    "pricing_unit",
    "pricing_rate_id",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "reservation_reservation_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "savings_plan_savings_plan_a_r_n",
    "resource_tags",
]

_CHARGE_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Credit",
    "BundledDiscount": "Credit",
    "Discount": "Credit",
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "DistributorDiscount": "Credit",
}
_CHARGE_FREQUENCY = {
    "Fee": "One-Time",
    "SavingsPlanUpfrontFee": "One-Time",
    "RIFee": "Recurring",
    "SavingsPlanRecurringFee": "Recurring",
    "Tax": "One-Time",
    "Credit": "One-Time",
    "Refund": "One-Time",
}
_USAGE_TYPES = {"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"}

# line_item_product_code -> FOCUS ServiceCategory (after the FOCUS converters' AWS mapping).
_SERVICE_CATEGORY = {
    **dict.fromkeys(
        [
            "AmazonBedrock",
            "AmazonSageMaker",
            "AmazonQ",
            "AmazonKendra",
            "AmazonLex",
            "AmazonPolly",
            "AmazonRekognition",
            "AmazonTextract",
            "AmazonPersonalize",
            "AmazonForecast",
            "AmazonFraudDetector",
            "AmazonCodeWhisperer",
            "AmazonDevOpsGuru",
            "AmazonComprehendMedical",
            "AmazonHealthLake",
            "comprehend",
            "transcribe",
            "translate",
            "AWSDeepRacer",
        ],
        AI_SERVICE_CATEGORY,
    ),
    **dict.fromkeys(
        [
            "AmazonEC2",
            "AWSLambda",
            "AmazonECS",
            "AmazonEKS",
            "AmazonECR",
            "AmazonECRPublic",
            "AmazonLightsail",
            "AWSAppRunner",
            "AWSOutposts",
            "AmazonAppStream",
            "AWSBatch",
            "AmazonWorkSpaces",
        ],
        "Compute",
    ),
    **dict.fromkeys(
        [
            "AmazonS3",
            "AmazonEFS",
            "AmazonFSx",
            "AmazonGlacier",
            "AmazonS3GlacierDeepArchive",
            "AWSBackup",
            "AWSStorageGateway",
            "AmazonEBS",
        ],
        "Storage",
    ),
    **dict.fromkeys(
        [
            "AmazonRDS",
            "AmazonDynamoDB",
            "AmazonElastiCache",
            "AmazonDocDB",
            "AmazonNeptune",
            "AmazonRedshift",
            "AmazonTimestream",
            "AmazonMemoryDB",
            "AmazonMCS",
        ],
        "Databases",
    ),
    **dict.fromkeys(
        [
            "AmazonVPC",
            "AWSDataTransfer",
            "AmazonCloudFront",
            "AmazonRoute53",
            "AWSELB",
            "AmazonApiGateway",
            "AWSDirectConnect",
            "AWSGlobalAccelerator",
            "AWSCloudMap",
            "AWSNetworkFirewall",
        ],
        "Networking",
    ),
    **dict.fromkeys(
        [
            "AWSGlue",
            "AmazonAthena",
            "AmazonKinesis",
            "AmazonKinesisFirehose",
            "AmazonKinesisAnalytics",
            "AmazonES",
            "AmazonMSK",
            "AmazonQuickSight",
            "ElasticMapReduce",
            "AWSLakeFormation",
            "AWSDataExchange",
        ],
        "Analytics",
    ),
    **dict.fromkeys(
        [
            "AmazonCloudWatch",
            "AWSCloudTrail",
            "AWSConfig",
            "AWSCloudFormation",
            "AWSSystemsManager",
            "AWSServiceCatalog",
            "AWSCostExplorer",
            "AWSBudgets",
            "AmazonGrafana",
            "AmazonPrometheus",
            "AWSMigrationHubRefactorSpaces",
            "AWSCloudShell",
        ],
        "Management and Governance",
    ),
    **dict.fromkeys(
        [
            "AWSQueueService",
            "AmazonSNS",
            "AmazonStates",
            "AmazonMQ",
            "AmazonMWAA",
            "AmazonEventBridge",
            "AppFlow",
        ],
        "Integration",
    ),
    **dict.fromkeys(
        [
            "awskms",
            "AWSSecretsManager",
            "AWSCertificateManager",
            "AmazonGuardDuty",
            "AWSSecurityHub",
            "AmazonInspectorV2",
            "awswaf",
            "AWSShield",
            "AmazonCognito",
            "AmazonMacie",
        ],
        "Security",
    ),
    **dict.fromkeys(["AWSIoT", "AWSGreengrass", "AWSIoTAnalytics"], "Internet of Things"),
    **dict.fromkeys(["AWSCodeCommit", "CodeBuild", "AWSCodePipeline"], "Developer Tools"),
    # Savings Plans fees belong with what they cover.
    "ComputeSavingsPlans": "Compute",
    "MachineLearningSavingsPlans": AI_SERVICE_CATEGORY,
    "DatabaseSavingsPlans": "Databases",
}
# Fallback display names when the file has no product name (CUR 2.0 without the product map).
_SERVICE_NAME = {
    "AmazonBedrock": "Amazon Bedrock",
    "AmazonSageMaker": "Amazon SageMaker",
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonRDS": "Amazon Relational Database Service",
    "AmazonDynamoDB": "Amazon DynamoDB",
    "AWSLambda": "AWS Lambda",
    "AmazonEKS": "Amazon Elastic Container Service for Kubernetes",
    "AmazonECS": "Amazon Elastic Container Service",
    "AmazonCloudWatch": "AmazonCloudWatch",
    "AmazonVPC": "Amazon Virtual Private Cloud",
    "AWSDataTransfer": "AWS Data Transfer",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
}

# Usage-type endings of Bedrock token lines -> our token column.
_TOKEN_KINDS = [
    (re.compile(r"cache-?read-?input-?token-?count", re.I), "cached_input_tokens"),
    (re.compile(r"cache-?write-?input-?token-?count", re.I), "cache_write_tokens"),
    (re.compile(r"(?:^|[-_:])input-?tokens?(?:-?count)?(?:$|-)", re.I), "input_tokens"),
    (re.compile(r"(?:^|[-_:])output-?tokens?(?:-?count)?(?:$|-)", re.I), "output_tokens"),
]
_TOKEN_COLUMNS = ["input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens"]
_REGION_PREFIX = re.compile(r"^[A-Z]{2,4}\d?-(?=.)")
_TOKEN_SUFFIX = re.compile(
    r"-(?:(?:batch|flex|priority|cross-region(?:-global)?|global)-)*"
    r"(?:mantle-)?(?:input|output)-tokens.*$"
    r"|-cache-(?:read|write)-input-token-count$",
    re.I,
)
_MARKETPLACE_EDITION = re.compile(r"\s*\(Amazon Bedrock Edition\)\s*$", re.I)


def canonical(name: str) -> str:
    """CUR 2.0 name of a legacy header (`lineItem/UnblendedCost` -> `line_item_unblended_cost`)."""
    name = name.strip()
    if "/" not in name:
        return name.lower()
    category, field = name.split("/", 1)
    return f"{_snake(category)}_{_snake(field)}"


def _snake(part: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", part).lower()


def sniff(path: Path, head: str) -> bool:
    if path.suffix.lower() == ".parquet" or head.startswith("PAR1"):
        try:
            names = {canonical(n) for n in c.parquet_columns(path)}
        except IngestError:
            return False
    else:
        names = {canonical(n) for n in csv_reader.sniff_header(head)}
    return "line_item_unblended_cost" in names and "line_item_line_item_type" in names


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    parquet = csv_reader.is_parquet(path)
    header = c.parquet_columns(path) if parquet else csv_reader.csv_header(path)
    columns, tag_columns = _split_columns(header)
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise IngestError(file, 1, missing[0], "a required AWS CUR column is missing")
    wanted = [columns[n] for n in _REQUIRED + _OPTIONAL if n in columns] + list(tag_columns)
    chunks = (
        c.read_parquet_chunks(path, wanted) if parquet else csv_reader.read_csv_chunks(path, wanted)
    )
    currency = c.CurrencyGuard(file, columns["line_item_currency_code"])
    for chunk in chunks:
        # Per chunk: Parquet map columns arrive spread into one column per key.
        columns, tag_columns = _split_columns(list(chunk.columns))
        frame = _normalize(chunk, columns, tag_columns, file=file, currency=currency)
        yield c.finish(frame, file=file)


def _split_columns(header: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical name -> header as written, tag column as written -> tag key)."""
    columns: dict[str, str] = {}
    tag_columns: dict[str, str] = {}
    for raw in header:
        if raw.startswith(_TAG_PREFIX_LEGACY):
            tag_columns[raw] = raw[len(_TAG_PREFIX_LEGACY) :]
        elif raw.lower().startswith(_TAG_PREFIX_SNAKE):
            tag_columns[raw] = raw[len(_TAG_PREFIX_SNAKE) :]
        else:
            columns.setdefault(canonical(raw), raw)
    return columns, tag_columns


def _normalize(
    chunk: pd.DataFrame,
    columns: dict[str, str],
    tag_columns: dict[str, str],
    *,
    file: str,
    currency: c.CurrencyGuard,
) -> pd.DataFrame:
    def col(name: str) -> str | None:
        return columns.get(name)

    def txt(name: str) -> pd.Series:
        return c.text(chunk, col(name))

    def cash(name: str, required: bool = False) -> pd.Series:
        return c.money(chunk, col(name), file=file, required=required)

    lines = c.line_numbers(chunk)
    out = pd.DataFrame(index=chunk.index)
    out["source_line"] = lines.astype("int64")

    line_type = txt("line_item_line_item_type")
    blank = line_type.eq("")
    if blank.any():
        raise IngestError(
            file,
            int(lines[blank].iloc[0]),
            columns["line_item_line_item_type"],
            "a line item type is required",
        )

    # Times
    def times(name: str, required: bool = True) -> pd.Series:
        return c.times(
            chunk[columns[name]], file=file, column=columns[name], lines=lines, required=required
        )

    out["charge_period_start"] = times("line_item_usage_start_date")
    out["charge_period_end"] = times("line_item_usage_end_date")
    if col("bill_billing_period_start_date"):
        out["billing_period_start"] = times("bill_billing_period_start_date")
    else:
        out["billing_period_start"] = c.month_start(out["charge_period_start"])
    if col("bill_billing_period_end_date"):
        out["billing_period_end"] = times("bill_billing_period_end_date")
    else:
        out["billing_period_end"] = c.next_month(out["billing_period_start"])

    # Costs
    billed = cash("line_item_unblended_cost", required=True)
    out["billed_cost"] = billed
    out["effective_cost"] = _effective_cost(chunk, line_type, billed, columns, file=file)
    out["list_cost"] = cash("pricing_public_on_demand_cost")
    out["list_unit_price"] = cash("pricing_public_on_demand_rate")
    usage_amount = cash("line_item_usage_amount")
    is_usage = line_type.isin(_USAGE_TYPES)
    out["pricing_quantity"] = usage_amount
    out["consumed_quantity"] = usage_amount.where(is_usage, None)
    unit = txt("pricing_unit")
    out["pricing_unit"] = unit
    out["consumed_unit"] = unit.where(is_usage, "")

    # Accounts and currency
    payer = txt("bill_payer_account_id")
    currency_code = currency.check(payer, txt("line_item_currency_code"))
    out["billing_currency"] = currency_code
    out["billing_account_id"] = payer
    out["billing_account_name"] = txt("bill_payer_account_name")
    out["sub_account_id"] = txt("line_item_usage_account_id")
    out["sub_account_name"] = txt("line_item_usage_account_name")
    out["invoice_id"] = txt("bill_invoice_id")
    out["invoice_issuer_name"] = txt("bill_invoicing_entity")
    billing_entity = txt("bill_billing_entity")
    out["publisher_name"] = billing_entity.where(billing_entity.ne("AWS"), "Amazon Web Services")

    # Charge classification
    out["charge_category"] = c.map_values(line_type, _CHARGE_CATEGORY, "Adjustment")
    out["charge_class"] = line_type.eq("Refund").map({True: "Correction", False: ""})
    out["charge_frequency"] = c.map_values(line_type, _CHARGE_FREQUENCY, "Usage-Based")
    out["charge_description"] = txt("line_item_line_item_description")
    usage_type = txt("line_item_usage_type")
    term = txt("pricing_term")
    committed = line_type.isin(["DiscountedUsage", "SavingsPlanCoveredUsage"])
    spot = is_usage & usage_type.str.contains("SpotUsage", regex=False)
    out["pricing_category"] = c.pick(
        [
            (committed, pd.Series("Committed", index=chunk.index)),
            (spot, pd.Series("Dynamic", index=chunk.index)),
            (is_usage & term.isin(["OnDemand", ""]), pd.Series("Standard", index=chunk.index)),
        ],
        pd.Series("", index=chunk.index, dtype=object),
    )
    _commitment_columns(out, line_type, txt)

    # Service, product, location
    product_code = txt("line_item_product_code")
    product_map = _product_attributes(chunk, col("product"), file=file)
    product_name = txt("product_product_name")
    if col("product_product_name") is None and product_map is not None:
        product_name = product_map["product_name"]
    marketplace_bedrock = product_name.str.contains("Amazon Bedrock Edition", case=False)
    service_name = product_name.where(
        product_name.ne(""), c.map_values(product_code, _SERVICE_NAME)
    )
    service_name = service_name.where(service_name.ne(""), product_code)
    service_name = service_name.where(~marketplace_bedrock, "Amazon Bedrock")
    out["service_name"] = service_name
    category = c.map_values(product_code, _SERVICE_CATEGORY, "Other")
    is_ai_service = product_code.isin(["AmazonBedrock"]) | marketplace_bedrock
    out["service_category"] = category.where(~is_ai_service, AI_SERVICE_CATEGORY)
    region = txt("product_region_code")
    legacy_region = txt("product_region")
    if product_map is not None:
        legacy_region = legacy_region.where(legacy_region.ne(""), product_map["region"])
    out["region_id"] = region.where(region.ne(""), legacy_region)
    location = txt("product_location")
    if product_map is not None and col("product_location") is None:
        location = product_map["location"]
    out["region_name"] = location
    out["availability_zone"] = txt("line_item_availability_zone")
    out["resource_id"] = txt("line_item_resource_id")
    out["sku_id"] = txt("product_sku")
    out["sku_price_id"] = txt("pricing_rate_id")
    out["sku_meter"] = usage_type

    # Tags
    if tag_columns:
        tags, app = c.tags_from_columns(chunk, tag_columns)
    elif col("resource_tags"):
        tags, app = c.tags_from_text(
            chunk[columns["resource_tags"]], _user_tags, file=file, column=columns["resource_tags"]
        )
    else:
        tags = pd.Series(None, index=chunk.index, dtype=object)
        app = pd.Series("", index=chunk.index, dtype=object)
    out["tags"] = tags
    out["application_key"] = app

    # AI: Bedrock tokens and model
    bedrock = product_code.eq("AmazonBedrock") | marketplace_bedrock
    model = pd.Series("", index=chunk.index, dtype=object)
    for name in _TOKEN_COLUMNS:
        out[name] = pd.Series(0, index=chunk.index, dtype="int64")
    if bedrock.any():
        model = _bedrock_models(usage_type, product_name, marketplace_bedrock).where(bedrock, "")
        token_rows = bedrock & is_usage
        factor = _unit_factor(unit)
        for pattern, name in _TOKEN_KINDS:
            hit = token_rows & usage_type.str.contains(pattern)
            token_rows = token_rows & ~hit
            if hit.any():
                out[name] = c.token_counts(usage_amount, factor, hit)
    out["model"] = model

    out["provider"] = PROVIDER
    out["provider_name"] = PROVIDER_NAME
    out["raw"] = None
    return out


def _effective_cost(
    chunk: pd.DataFrame,
    line_type: pd.Series,
    billed: pd.Series,
    columns: dict[str, str],
    *,
    file: str,
) -> pd.Series:
    zero = pd.Series("0", index=chunk.index, dtype=object)

    def amount(name: str, mask: pd.Series) -> pd.Series:
        column = columns.get(name)
        values = c.money(chunk, column, file=file)
        c.require_values(
            values,
            mask,
            file=file,
            column=column or name,
            why=f"for {line_type[mask].iloc[0]} line items",
        )
        return values

    choices: list[tuple[pd.Series, pd.Series]] = []
    covered = line_type.eq("SavingsPlanCoveredUsage")
    if covered.any():
        choices.append((covered, amount("savings_plan_savings_plan_effective_cost", covered)))
    discounted = line_type.eq("DiscountedUsage")
    if discounted.any():
        choices.append((discounted, amount("reservation_effective_cost", discounted)))
    recurring = line_type.eq("SavingsPlanRecurringFee")
    if recurring.any():
        total = amount("savings_plan_total_commitment_to_date", recurring)
        used = amount("savings_plan_used_commitment", recurring)
        unused = c.decimal_combine([total, used], recurring, (1, -1))
        choices.append((recurring, unused.reindex(chunk.index)))
    ri_fee = line_type.eq("RIFee")
    if ri_fee.any():
        upfront = amount("reservation_unused_amortized_upfront_fee_for_billing_period", ri_fee)
        fee = amount("reservation_unused_recurring_fee", ri_fee)
        unused = c.decimal_combine([upfront, fee], ri_fee)
        choices.append((ri_fee, unused.reindex(chunk.index)))
    arn = c.text(chunk, columns.get("reservation_reservation_a_r_n"))
    amortized_away = line_type.isin(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]) | (
        line_type.eq("Fee") & arn.ne("")
    )
    choices.append((amortized_away, zero))
    return c.pick(choices, billed)


def _commitment_columns(
    out: pd.DataFrame, line_type: pd.Series, txt: Callable[[str], pd.Series]
) -> None:
    ri_rows = line_type.isin(["DiscountedUsage", "RIFee"]) | (
        line_type.eq("Fee") & txt("reservation_reservation_a_r_n").ne("")
    )
    sp_rows = line_type.str.startswith("SavingsPlan")
    ri_arn = txt("reservation_reservation_a_r_n")
    sp_arn = txt("savings_plan_savings_plan_a_r_n")
    empty = pd.Series("", index=line_type.index, dtype=object)
    out["commitment_discount_id"] = c.pick([(ri_rows, ri_arn), (sp_rows, sp_arn)], empty)
    has_id = out["commitment_discount_id"].ne("")
    out["commitment_discount_type"] = c.pick(
        [
            (ri_rows & has_id, pd.Series("Reserved Instance", index=line_type.index)),
            (sp_rows & has_id, pd.Series("Savings Plan", index=line_type.index)),
        ],
        empty,
    )
    out["commitment_discount_category"] = c.pick(
        [
            (ri_rows & has_id, pd.Series("Usage", index=line_type.index)),
            (sp_rows & has_id, pd.Series("Spend", index=line_type.index)),
        ],
        empty,
    )
    covered = line_type.isin(["DiscountedUsage", "SavingsPlanCoveredUsage"]) & has_id
    out["commitment_discount_status"] = covered.map({True: "Used", False: ""})


def _product_attributes(
    chunk: pd.DataFrame, column: str | None, *, file: str
) -> pd.DataFrame | None:
    """product_name / region / location from the CUR 2.0 `product` map column."""
    if column is None:
        return None
    values = chunk[column].astype(str).str.strip()
    codes, uniques = pd.factorize(values)
    rows: list[tuple[str, str, str]] = []
    for raw in uniques:
        attrs: dict[str, object] = {}
        if raw and raw not in ("NULL", "null"):
            try:
                attrs = _parse_map(raw)
            except ValueError as exc:
                line = int(values.index[(values == raw).to_numpy()][0])
                raise IngestError(file, line, column, f"not a readable map: {exc}") from exc
        rows.append(
            (
                str(attrs.get("product_name", "")),
                str(attrs.get("region", "")),
                str(attrs.get("location", "")),
            )
        )
    table = pd.DataFrame(rows, columns=["product_name", "region", "location"], dtype=object)
    picked = table.iloc[codes] if len(table) else table.reindex(range(len(values)))
    picked = picked.fillna("")
    picked.index = chunk.index
    return picked


def _parse_map(raw: str) -> dict[str, object]:
    """A CUR 2.0 map cell: JSON (`{"k":"v"}`) or the Athena/Hive form (`{k=v, k2=v2}`)."""
    try:
        return c.json_object(raw)
    except ValueError:
        body = raw.strip()
        if not (body.startswith("{") and body.endswith("}")) or "=" not in body:
            raise
        pairs = [p.split("=", 1) for p in body[1:-1].split(", ") if p]
        if any(len(p) != 2 for p in pairs):
            raise
        return {k.strip(): v.strip() for k, v in pairs}


def _user_tags(raw: str) -> dict[str, object] | None:
    """User tags from the CUR 2.0 `resource_tags` map (`user_team` / `user:team` -> `team`)."""
    tags: dict[str, object] = {}
    for key, value in _parse_map(raw).items():
        for prefix in ("user_", "user:"):
            if key.startswith(prefix) and value not in (None, ""):
                tags[key[len(prefix) :]] = value
    return tags or None


def _unit_factor(unit: pd.Series) -> pd.Series:
    """Tokens per usage unit: 1000 for "1K tokens", 1e6 for "1M tokens", else 1."""
    lowered = unit.str.lower()
    factor = pd.Series(1, index=unit.index, dtype="int64")
    factor = factor.mask(lowered.str.contains(r"\b(?:1k|1,000|1000|thousand)\b"), 1000)
    factor = factor.mask(lowered.str.contains(r"\b(?:1m|1,000,000|1000000|million)\b"), 1_000_000)
    return factor


def _bedrock_models(
    usage_type: pd.Series, product_name: pd.Series, marketplace: pd.Series
) -> pd.Series:
    """Readable model names: "USE1-Claude3.5Sonnet-input-tokens" -> "Claude 3.5 Sonnet"."""
    codes, uniques = pd.factorize(usage_type)
    names = [_readable_model(u) for u in uniques]
    from_usage = pd.Series([names[i] if i >= 0 else "" for i in codes], index=usage_type.index)
    from_product = product_name.str.replace(_MARKETPLACE_EDITION, "", regex=True)
    return from_product.where(marketplace, from_usage).astype(object)


def _readable_model(usage_type: str) -> str:
    if not any(p.search(usage_type) for p, _ in _TOKEN_KINDS):
        return ""
    name = _REGION_PREFIX.sub("", usage_type)
    name = _TOKEN_SUFFIX.sub("", name)
    name = re.sub(r"(?<=[a-z])(?=[A-Z0-9])", " ", name)
    name = re.sub(r"(?<=[0-9.])(?=[A-Z][a-z])", " ", name)
    return " ".join(name.replace("-", " ").split())
