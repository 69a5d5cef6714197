"""Azure Cost Management usage-details exports: Enterprise Agreement (EA) and Microsoft Customer
Agreement (MCA), actual-cost or amortized-cost datasets, as CSV or gzip CSV.

Headers are matched case-insensitively (MCA exports write `costInBillingCurrency`, EA exports
`CostInBillingCurrency`, older EA exports `Cost`).

Billed vs effective cost. One export file is either the *actual* or the *amortized* dataset and
the file does not say which, so both are read with the same per-row rules, after Microsoft's
"Convert Cost Management data to FOCUS" guidance:

- EffectiveCost = the row's cost (`CostInBillingCurrency`, or `Cost` in older EA files), except
  0 for reservation/savings-plan purchases, as FOCUS defines it (their cost reaches
  EffectiveCost through the amortized usage rows). In an amortized file that is the amortized
  cost. An actual file carries no amortization, so there the purchase appears in BilledCost
  only: import the amortized dataset for effective (amortized) spend.
- BilledCost = the row's cost, except 0 for rows that only exist as amortization: usage and
  unused-commitment rows priced by a reservation or savings plan (`PricingModel` Reservation or
  SavingsPlan with `ChargeType` Usage, UnusedReservation or UnusedSavingsPlan). In an actual
  file those rows already cost 0, so there BilledCost equals the cost on every row.

So an actual file gives BilledCost = EffectiveCost = cost, and an amortized file gives
EffectiveCost = cost with BilledCost excluding amortized commitment charges. Import one of the
two datasets per billing period, not both: they overlap for every non-commitment row.

Azure OpenAI meters (`Cognitive Services` / `Azure OpenAI` meters or the
`microsoft.cognitiveservices` service, meter names like "gpt-4o-0513 Input global Tokens")
fill the model and token columns: tokens = quantity x the unit's block size ("1K" -> 1000).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd

from metrics.ledger.sources import csv_reader
from metrics.ledger.sources import tabular as c
from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError

NAME = "azure"
PROVIDER = "azure"
PROVIDER_NAME = "Microsoft"

_COST = ("costinbillingcurrency", "cost", "pretaxcost")
_CURRENCY = ("billingcurrencycode", "billingcurrency", "currency")
_DATE = ("date", "usagedatetime")
_MCA_MARKERS = (
    "costinpricingcurrency",
    "exchangeratepricingtobilling",
    "paygcostinbillingcurrency",
    "invoiceid",
)
_OPTIONAL = [
    "billingaccountid",
    "billingaccountname",
    "billingprofileid",
    "billingprofilename",
    "billingperiodstartdate",
    "billingperiodenddate",
    "subscriptionid",
    "subscriptionguid",
    "subscriptionname",
    "chargetype",
    "frequency",
    "pricingmodel",
    "quantity",
    "unitofmeasure",
    "unitprice",
    "paygprice",
    "paygcostinbillingcurrency",
    "exchangeratepricingtobilling",
    "pricingcurrency",
    "pricingcurrencycode",
    "metercategory",
    "metersubcategory",
    "metername",
    "meterid",
    "productid",
    "productname",
    "product",
    "consumedservice",
    "resourceid",
    "resourcename",
    "resourcelocation",
    "availabilityzone",
    "tags",
    "publishername",
    "partnername",
    "invoiceid",
    "benefitid",
    "benefitname",
    "reservationid",
    "reservationname",
]

_CHARGE_CATEGORY = {
    "usage": "Usage",
    "purchase": "Purchase",
    "credit": "Credit",
    "tax": "Tax",
    "unusedreservation": "Usage",
    "unusedsavingsplan": "Usage",
    "refund": "Purchase",
}
_CHARGE_FREQUENCY = {"onetime": "One-Time", "recurring": "Recurring", "usagebased": "Usage-Based"}
_PRICING_CATEGORY = {
    "ondemand": "Standard",
    "spot": "Dynamic",
    "reservation": "Committed",
    "savingsplan": "Committed",
}
_COMMITMENT_MODELS = ("reservation", "savingsplan")
_AMORTIZED_CHARGES = ("usage", "unusedreservation", "unusedsavingsplan")

# ConsumedService -> (ServiceName, ServiceCategory, ServiceSubcategory), from the FinOps
# toolkit's Services.csv (the most common namespaces; the full table is not read at run time).
_SERVICES: dict[str, tuple[str, str, str]] = {
    "microsoft.cognitiveservices": ("Azure AI Services", AI_SERVICE_CATEGORY, "AI Platforms"),
    "microsoft.machinelearningservices": (
        "Azure Machine Learning",
        AI_SERVICE_CATEGORY,
        "Machine Learning",
    ),
    "microsoft.machinelearning": (
        "Azure Machine Learning",
        AI_SERVICE_CATEGORY,
        "Machine Learning",
    ),
    "microsoft.botservice": ("Azure AI Bot Service", AI_SERVICE_CATEGORY, ""),
    "microsoft.videoindexer": ("Azure AI Video Indexer", AI_SERVICE_CATEGORY, ""),
    "microsoft.search": ("Azure AI Search", "Analytics", ""),
    "microsoft.compute": ("Virtual Machines", "Compute", ""),
    "microsoft.classiccompute": ("Virtual Machines", "Compute", ""),
    "microsoft.containerservice": ("Azure Kubernetes Service", "Compute", ""),
    "microsoft.containerinstance": ("Azure Container Instances", "Compute", ""),
    "microsoft.containerregistry": ("Azure Container Registry", "Compute", ""),
    "microsoft.app": ("Azure Container Apps", "Compute", ""),
    "microsoft.batch": ("Batch", "Compute", ""),
    "microsoft.desktopvirtualization": ("Azure Virtual Desktop", "Compute", ""),
    "microsoft.billingbenefits": ("Azure Savings Plan for Compute", "Compute", ""),
    "microsoft.web": ("Azure App Service", "Web", ""),
    "microsoft.storage": ("Storage Accounts", "Storage", ""),
    "microsoft.classicstorage": ("Storage Accounts", "Storage", ""),
    "microsoft.netapp": ("Azure NetApp Files", "Storage", ""),
    "microsoft.dataprotection": ("Azure Backup", "Storage", ""),
    "microsoft.sql": ("Azure SQL Database", "Databases", ""),
    "microsoft.documentdb": ("Cosmos DB", "Databases", ""),
    "microsoft.dbformysql": ("Azure DB for MySQL", "Databases", ""),
    "microsoft.dbforpostgresql": ("Azure DB for PostgreSQL", "Databases", ""),
    "microsoft.dbformariadb": ("Azure DB for MariaDB", "Databases", ""),
    "microsoft.cache": ("Azure Cache for Redis", "Databases", ""),
    "microsoft.network": ("Virtual Network", "Networking", ""),
    "microsoft.classicnetwork": ("Virtual Network", "Networking", ""),
    "microsoft.cdn": ("Content Delivery Network", "Networking", ""),
    "microsoft.databricks": ("Azure Databricks", "Analytics", ""),
    "microsoft.synapse": ("Azure Synapse Analytics", "Analytics", ""),
    "microsoft.kusto": ("Azure Data Explorer", "Analytics", ""),
    "microsoft.hdinsight": ("HDInsight", "Analytics", ""),
    "microsoft.streamanalytics": ("Azure Stream Analytics", "Analytics", ""),
    "microsoft.fabric": ("Microsoft.Fabric", "Analytics", ""),
    "microsoft.datafactory": ("Azure Data Factory", "Integration", ""),
    "microsoft.eventhub": ("Event Hubs", "Integration", ""),
    "microsoft.servicebus": ("Service Bus", "Integration", ""),
    "microsoft.logic": ("Logic Apps", "Integration", ""),
    "microsoft.apimanagement": ("API Management", "Integration", ""),
    "microsoft.eventgrid": ("Event Grid", "Integration", ""),
    "microsoft.insights": ("Azure Monitor", "Management and Governance", ""),
    "microsoft.operationalinsights": ("Azure Monitor", "Management and Governance", ""),
    "microsoft.recoveryservices": ("Azure Site Recovery", "Management and Governance", ""),
    "microsoft.capacity": ("Azure Reservations", "Management and Governance", ""),
    "microsoft.keyvault": ("Key Vault", "Security", ""),
    "microsoft.security": ("Microsoft Defender for Cloud", "Security", ""),
    "microsoft.devices": ("Azure IoT Hub", "Internet of Things", ""),
    "microsoft.saas": ("Azure Marketplace", "Other", ""),
}
# MeterCategory fallback when the consumed service is blank or unknown.
_METER_CATEGORIES: dict[str, tuple[str, str]] = {
    "virtual machines": ("Virtual Machines", "Compute"),
    "storage": ("Storage Accounts", "Storage"),
    "bandwidth": ("Bandwidth", "Networking"),
    "virtual network": ("Virtual Network", "Networking"),
    "load balancer": ("Load Balancer", "Networking"),
    "sql database": ("Azure SQL Database", "Databases"),
    "sql managed instance": ("Azure SQL Managed Instance", "Databases"),
    "azure cosmos db": ("Cosmos DB", "Databases"),
    "log analytics": ("Azure Monitor", "Management and Governance"),
    "cognitive services": ("Azure AI Services", AI_SERVICE_CATEGORY),
    "azure openai": ("Azure AI Services", AI_SERVICE_CATEGORY),
    "azure openai service": ("Azure AI Services", AI_SERVICE_CATEGORY),
    "foundry models": ("Azure AI Services", AI_SERVICE_CATEGORY),
    "azure machine learning": ("Azure Machine Learning", AI_SERVICE_CATEGORY),
}
_AI_METER_CATEGORIES = (
    "cognitive services",
    "azure openai",
    "azure openai service",
    "foundry models",
    "azure ai services",
)
# UnitOfMeasure "10K" -> 10000 ("1 Hour" -> 1, "1M" -> 1000000, "100 Hours" -> 100).
_BLOCK = re.compile(r"^\s*(\d+(?:\.\d+)?)(?![\d.,])\s*([KMB](?![A-Za-z]))?\s*", re.I)
_BLOCK_MULTIPLIER = {"": 1, "k": 1000, "m": 1_000_000, "b": 1_000_000_000}
_BLOCK_OVERRIDES = {"10000s": 1}  # PricingUnits.csv lists this one as block size 1

_WORD = r"(?:^|[\s_-])(?:{})(?=$|[\s_-])"
_TOKEN_KINDS = [
    ("cached_input_tokens", re.compile(_WORD.format("cached|cache|cchd"), re.I)),
    ("output_tokens", re.compile(_WORD.format("output|outp|completion|compl"), re.I)),
    ("input_tokens", re.compile(_WORD.format("input|inp|prompt"), re.I)),
    ("input_tokens", re.compile(r"embedding", re.I)),
]
_MODEL_NOISE = re.compile(
    _WORD.format(
        r"input|inp|output|outp|cached|cache|cchd|tokens?|tkns?|global|glbl|gl|regional|regnl"
        r"|rgnl|datazone|data\s+zone|dzone|dz|batch|prompt|completion|compl"
    ),
    re.I,
)


def _columns(header: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in header:
        found.setdefault(raw.strip().lower(), raw)
    return found


def sniff(path: Path, head: str) -> bool:
    names = {n.lower() for n in csv_reader.sniff_header(head)}
    return (
        "metercategory" in names
        and any(n in names for n in _COST)
        and any(n in names for n in _DATE)
        and "billedcost" not in names
    )


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    columns = _columns(csv_reader.csv_header(path))

    def first(names: tuple[str, ...], label: str) -> str:
        for name in names:
            if name in columns:
                return name
        raise IngestError(file, 1, label, "a required Azure usage-details column is missing")

    cost = first(_COST, "CostInBillingCurrency")
    currency = first(_CURRENCY, "BillingCurrencyCode")
    date = first(_DATE, "Date")
    mca = any(m in columns for m in _MCA_MARKERS)
    account_names = ("billingprofileid", "billingaccountid") if mca else ("billingaccountid",)
    account = first(account_names, "BillingProfileId" if mca else "BillingAccountId")
    roles = {"cost": cost, "currency": currency, "date": date, "account": account}
    wanted = sorted({columns[n] for n in [*roles.values(), *_OPTIONAL] if n in columns})
    guard = c.CurrencyGuard(file, columns[currency])
    for chunk in csv_reader.read_csv_chunks(path, wanted):
        frame = _normalize(chunk, columns, roles, mca=mca, file=file, guard=guard)
        yield c.finish(frame, file=file)


def _normalize(
    chunk: pd.DataFrame,
    columns: dict[str, str],
    roles: dict[str, str],
    *,
    mca: bool,
    file: str,
    guard: c.CurrencyGuard,
) -> pd.DataFrame:
    index = chunk.index
    lines = c.line_numbers(chunk)

    def has(name: str) -> bool:
        return name in columns

    def txt(*names: str) -> pd.Series:
        for name in names:
            if has(name):
                return c.text(chunk, columns[name])
        return pd.Series("", index=index, dtype=object)

    def cash(name: str, required: bool = False) -> pd.Series:
        return c.money(chunk, columns.get(name), file=file, required=required)

    def times(name: str) -> pd.Series:
        return c.times(chunk[columns[name]], file=file, column=columns[name], lines=lines)

    out = pd.DataFrame(index=index)
    out["source_line"] = lines.astype("int64")

    day = pd.Timedelta(days=1)
    out["charge_period_start"] = times(roles["date"])
    out["charge_period_end"] = out["charge_period_start"] + day
    if has("billingperiodstartdate"):
        out["billing_period_start"] = times("billingperiodstartdate")
    else:
        out["billing_period_start"] = c.month_start(out["charge_period_start"])
    if has("billingperiodenddate"):
        # Azure's end date is inclusive (9/30); FOCUS periods end exclusively (10/1).
        out["billing_period_end"] = times("billingperiodenddate") + day
    else:
        out["billing_period_end"] = c.next_month(out["billing_period_start"])

    charge_type = txt("chargetype").str.lower()
    charge_type = charge_type.where(charge_type.ne(""), "usage")
    pricing_model = txt("pricingmodel").str.lower().str.replace(" ", "", regex=False)
    cost = cash(roles["cost"], required=True)
    amortized_only = pricing_model.isin(_COMMITMENT_MODELS) & charge_type.isin(_AMORTIZED_CHARGES)
    # FOCUS: a commitment purchase has EffectiveCost 0 (its cost is what the covered usage
    # carries when amortized); the invoice (BilledCost) keeps the purchase.
    commitment_purchase = pricing_model.isin(_COMMITMENT_MODELS) & charge_type.eq("purchase")
    out["effective_cost"] = cost.where(~commitment_purchase, "0")
    out["billed_cost"] = cost.where(~amortized_only, "0")
    list_price, contracted_price = cash("paygprice"), cash("unitprice")
    if mca and has("exchangeratepricingtobilling"):
        # MCA prices are in the pricing currency; FOCUS unit prices are in the billing one.
        rate = cash("exchangeratepricingtobilling")
        list_price = _convert(list_price, rate)
        contracted_price = _convert(contracted_price, rate)
    out["list_unit_price"] = list_price
    out["contracted_unit_price"] = contracted_price
    out["list_cost"] = cash("paygcostinbillingcurrency")

    account = txt(roles["account"])
    currency = guard.check(account, txt(roles["currency"]))
    out["billing_currency"] = currency
    out["pricing_currency"] = txt("pricingcurrency", "pricingcurrencycode").str.upper()
    out["billing_account_id"] = account
    out["billing_account_name"] = txt("billingprofilename" if mca else "billingaccountname")
    out["billing_account_type"] = "Billing Profile" if mca else "Billing Account"
    out["sub_account_id"] = txt("subscriptionid", "subscriptionguid")
    out["sub_account_name"] = txt("subscriptionname")
    sub_type = out["sub_account_id"].ne("").map({True: "Subscription", False: ""})
    out["sub_account_type"] = sub_type
    out["invoice_id"] = txt("invoiceid")
    partner = txt("partnername")
    out["invoice_issuer_name"] = partner.where(partner.ne(""), "Microsoft")
    publisher = txt("publishername")
    out["publisher_name"] = publisher.where(publisher.ne(""), "Microsoft")

    out["charge_category"] = c.map_values(charge_type, _CHARGE_CATEGORY, "Adjustment")
    out["charge_class"] = charge_type.eq("refund").map({True: "Correction", False: ""})
    frequency = txt("frequency").str.lower()
    out["charge_frequency"] = c.map_values(frequency, _CHARGE_FREQUENCY, "Other").where(
        frequency.ne(""), "Usage-Based"
    )
    out["pricing_category"] = c.map_values(pricing_model, _PRICING_CATEGORY)
    out["charge_description"] = txt("productname", "product")

    # Quantities: Azure's Quantity counts pricing blocks of UnitOfMeasure ("10K" operations).
    unit = txt("unitofmeasure")
    block = _block_sizes(unit)
    quantity = cash("quantity")
    is_usage = out["charge_category"].eq("Usage")
    out["pricing_quantity"] = quantity
    out["pricing_unit"] = unit
    out["consumed_quantity"] = c.decimal_times(quantity, block).where(is_usage, None)
    out["consumed_unit"] = _distinct_units(unit).where(is_usage, "")

    # Service
    service = txt("consumedservice").str.lower()
    meter_category = txt("metercategory")
    meter_name = txt("metername")
    service_name, category, subcategory, ai_flag = c.per_distinct(
        [service, meter_category], _service, 4
    )
    ai = ai_flag.eq("ai")
    out["service_name"] = service_name
    out["service_category"] = category
    out["service_subcategory"] = subcategory
    out["sku_meter"] = meter_name
    sku = txt("productid")
    out["sku_id"] = sku.where(sku.ne(""), txt("meterid"))

    location = txt("resourcelocation")
    out["region_name"] = location
    out["region_id"] = location.str.lower().str.replace(" ", "", regex=False)
    out["availability_zone"] = txt("availabilityzone")
    resource_id = txt("resourceid")
    out["resource_id"] = resource_id
    resource_name = txt("resourcename")
    if not has("resourcename"):  # MCA: the last segment of the id, as Microsoft's mapping does
        resource_name = resource_id.str.rstrip("/").str.rsplit("/", n=1).str[-1]
    out["resource_name"] = resource_name

    _commitments(out, txt, charge_type, pricing_model)

    if has("tags"):
        tags, app = c.tags_from_text(
            chunk[columns["tags"]], _azure_tags, file=file, column=columns["tags"]
        )
    else:
        tags = pd.Series(None, index=index, dtype=object)
        app = pd.Series("", index=index, dtype=object)
    out["tags"] = tags
    out["application_key"] = app

    _tokens(out, ai & is_usage, meter_name, quantity, block)

    out["provider"] = PROVIDER
    out["provider_name"] = PROVIDER_NAME
    out["raw"] = None
    return out


def _convert(prices: pd.Series, rate: pd.Series) -> pd.Series:
    """Prices x exchange rate, computed once per distinct (price, rate) pair."""

    def product(price: str, factor: str) -> tuple[str]:
        if not price:
            return ("",)
        return (c.plain(Decimal(price) * Decimal(factor or "1")),)

    (converted,) = c.per_distinct([prices.fillna(""), rate.fillna("")], product, 1)
    return converted.where(converted.ne(""), None)


def _service(consumed_service: str, meter_category: str) -> tuple[str, str, str, str]:
    """(ServiceName, ServiceCategory, ServiceSubcategory, "ai" or "") of a service/meter pair."""
    meter = meter_category.lower()
    ai = consumed_service == "microsoft.cognitiveservices" or meter in _AI_METER_CATEGORIES
    if consumed_service in _SERVICES:
        name, category, subcategory = _SERVICES[consumed_service]
    elif meter in _METER_CATEGORIES:
        (name, category), subcategory = _METER_CATEGORIES[meter], ""
    else:
        name, category, subcategory = meter_category or consumed_service, "Other", ""
    if ai:
        category = AI_SERVICE_CATEGORY
    return name, category, subcategory, "ai" if ai else ""


def _commitments(
    out: pd.DataFrame,
    txt: Callable[[str], pd.Series],
    charge_type: pd.Series,
    pricing_model: pd.Series,
) -> None:
    benefit = txt("benefitid")
    benefit = benefit.where(benefit.ne(""), txt("reservationid"))
    name = txt("benefitname")
    name = name.where(name.ne(""), txt("reservationname"))
    lowered = benefit.str.lower()
    reservation = lowered.str.contains("/microsoft.capacity/", regex=False) | (
        benefit.ne("") & pricing_model.eq("reservation") & ~lowered.str.contains("/providers/")
    )
    savings_plan = lowered.str.contains("/microsoft.billingbenefits/", regex=False)
    empty = pd.Series("", index=out.index, dtype=object)
    out["commitment_discount_id"] = benefit
    out["commitment_discount_name"] = name
    out["commitment_discount_type"] = c.pick(
        [
            (reservation, pd.Series("Reservation", index=out.index)),
            (savings_plan, pd.Series("Savings Plan", index=out.index)),
        ],
        empty,
    )
    out["commitment_discount_category"] = c.pick(
        [
            (reservation, pd.Series("Usage", index=out.index)),
            (savings_plan, pd.Series("Spend", index=out.index)),
        ],
        empty,
    )
    unused = charge_type.isin(["unusedreservation", "unusedsavingsplan"])
    used = ~unused & charge_type.eq("usage") & pricing_model.isin(_COMMITMENT_MODELS)
    out["commitment_discount_status"] = c.pick(
        [
            (unused, pd.Series("Unused", index=out.index)),
            (used, pd.Series("Used", index=out.index)),
        ],
        empty,
    )


def _tokens(
    out: pd.DataFrame,
    ai_usage: pd.Series,
    meter_name: pd.Series,
    quantity: pd.Series,
    block: pd.Series,
) -> None:
    index = out.index
    for name in ("input_tokens", "output_tokens", "cached_input_tokens"):
        out[name] = pd.Series(0, index=index, dtype="int64")
    out["model"] = ""
    if not ai_usage.any():
        return
    token_meter = ai_usage & (
        meter_name.str.contains("token", case=False)
        | meter_name.str.contains(_TOKEN_KINDS[0][1])
        | meter_name.str.contains(_TOKEN_KINDS[1][1])
        | meter_name.str.contains(_TOKEN_KINDS[2][1])
    )
    remaining = token_meter.copy()
    for column, pattern in _TOKEN_KINDS:
        hit = remaining & meter_name.str.contains(pattern)
        remaining &= ~hit
        if hit.any():
            out[column] = out[column] + c.token_counts(quantity, block, hit)
    codes, uniques = pd.factorize(meter_name)
    models = [_model_name(m) for m in uniques]
    model = pd.Series([models[i] if i >= 0 else "" for i in codes], index=index, dtype=object)
    out["model"] = model.where(token_meter, "")
    out.loc[token_meter, "consumed_unit"] = "Tokens"


def _model_name(meter_name: str) -> str:
    """ "gpt-4o-0513 Input global Tokens" -> "gpt-4o-0513"."""
    name = _MODEL_NOISE.sub("", meter_name)
    name = re.sub(r"[\s_]+", "-", name.strip(" -_")).lower()
    return name.removeprefix("az-")


def _block_sizes(unit: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(unit)
    sizes = [_block_size(u) for u in uniques]
    return pd.Series([sizes[i] if i >= 0 else 1 for i in codes], index=unit.index, dtype="int64")


def _block_size(unit: str) -> int:
    if unit in _BLOCK_OVERRIDES:
        return _BLOCK_OVERRIDES[unit]
    found = _BLOCK.match(unit)
    if not found:
        return 1
    number = Decimal(found.group(1)) * _BLOCK_MULTIPLIER[(found.group(2) or "").lower()]
    return int(number)


def _distinct_units(unit: pd.Series) -> pd.Series:
    """The unit without its block size: "10K" -> "Units", "1 Hour" -> "Hours"."""
    codes, uniques = pd.factorize(unit)
    names = [_distinct_unit(u) for u in uniques]
    return pd.Series([names[i] if i >= 0 else "" for i in codes], index=unit.index, dtype=object)


def _distinct_unit(unit: str) -> str:
    found = _BLOCK.match(unit)
    rest = (unit[found.end() :] if found else unit).strip()
    if not rest:
        return "Units" if unit else ""
    if rest.startswith("/"):
        return "Units" + rest.replace(" ", "")
    return {"Hour": "Hours", "Day": "Days", "Month": "Months"}.get(rest, rest)


def _azure_tags(raw: str) -> dict[str, object] | None:
    """Azure writes tags as JSON members without the braces: `"env": "prod","team": "x"`."""
    body = raw if raw.startswith("{") else "{" + raw + "}"
    return c.json_object(body) or None
