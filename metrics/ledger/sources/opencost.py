"""OpenCost / Kubecost allocation API responses (JSON), aggregated by namespace.

Shape: `{"code": 200, "data": [set, ...]}` where each set (one per `step` window) maps an
allocation name to `{name, properties: {cluster, namespace, labels, namespaceLabels, ...},
window: {start, end}, start, end, cpuCost, gpuCost, gpuHours, ramCost, pvCost, networkCost,
loadBalancerCost, sharedCost, externalCost, totalCost, ...}`. One ledger record per allocation
and window; `__idle__` (cluster capacity nobody requested) is kept as its own record so idle
spend stays visible instead of being spread silently.

Money is read with `parse_float=Decimal`, so each amount keeps the exact text OpenCost wrote.
OpenCost prices at on-demand list prices in the currency it is configured with; the API does not
say which, so records are USD (the default). Tags carry the namespace and cluster (and the
namespace labels, so a `team` label allocates by default) for allocation rules to match.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from metrics.ledger.sources.base import AI_SERVICE_CATEGORY, IngestError
from metrics.ledger.sources.json_toolkit import (
    decimal_value,
    frames,
    is_json_text,
    iso_time,
    load_json,
    raw_json,
    text_value,
)

NAME = "opencost"

COST_FIELDS = {
    "cpuCost": "CPU",
    "gpuCost": "GPU",
    "ramCost": "RAM",
    "pvCost": "storage",
    "networkCost": "network",
    "loadBalancerCost": "load balancers",
    "sharedCost": "shared",
    "externalCost": "external",
}


def sniff(path: Path, head: str) -> bool:
    return (
        is_json_text(head) and '"data"' in head and ('"totalCost"' in head or '"cpuCost"' in head)
    )


def parse(path: Path) -> Iterator[pd.DataFrame]:
    file = str(path)
    doc = load_json(path)
    if not isinstance(doc, dict) or "data" not in doc:
        raise IngestError(file, 0, "-", 'expected an allocation response {"code", "data"}')
    code = doc.get("code", 200)
    if code != 200:
        raise IngestError(
            file, 0, "code", f"the API answered {code}: {text_value(doc, 'message') or '?'}"
        )
    data = doc["data"]
    sets = [data] if isinstance(data, dict) else data
    if not isinstance(sets, list):
        raise IngestError(file, 0, "data", "expected an array of allocation sets")
    yield from frames(_allocation_rows(sets, file=file), file=file)


def _allocation_rows(sets: list[Any], *, file: str) -> Iterator[dict[str, Any]]:
    line = 0
    for i, allocation_set in enumerate(sets):
        if allocation_set is None:
            continue
        if not isinstance(allocation_set, dict):
            raise IngestError(file, 0, f"data[{i}]", "expected an object of allocations")
        for key, allocation in allocation_set.items():
            line += 1
            if not isinstance(allocation, dict):
                raise IngestError(file, line, f"data[{i}].{key}", "expected an allocation object")
            yield _row(key, allocation, file=file, line=line)


def _row(key: str, allocation: dict[str, Any], *, file: str, line: int) -> dict[str, Any]:
    properties = allocation.get("properties") or {}
    if not isinstance(properties, dict):
        raise IngestError(file, line, "properties", "expected an object")
    name = text_value(allocation, "name") or key
    cluster = text_value(properties, "cluster") or "default-cluster"
    # __idle__, __unallocated__ ...: OpenCost's own buckets, not namespaces.
    special = name.startswith("__") and name.endswith("__")
    namespace = "" if special else text_value(properties, "namespace") or name
    # The set's window (one `step`), so records of one step line up across namespaces.
    window = allocation.get("window")
    window = window if isinstance(window, dict) else {}
    start = iso_time(
        window.get("start") or allocation.get("start"), file=file, line=line, field="window.start"
    )
    end = iso_time(
        window.get("end") or allocation.get("end"), file=file, line=line, field="window.end"
    )

    costs = {
        field: decimal_value(allocation[field], file=file, line=line, field=field)
        for field in COST_FIELDS
        if allocation.get(field) is not None
    }
    total = format(
        decimal_value(allocation.get("totalCost"), file=file, line=line, field="totalCost"), "f"
    )
    gpu_hours = (
        decimal_value(allocation["gpuHours"], file=file, line=line, field="gpuHours")
        if allocation.get("gpuHours") is not None
        else Decimal(0)
    )
    uses_gpu = costs.get("gpuCost", Decimal(0)) > 0
    parts = (
        ", ".join(
            f"{label} {format(costs[f], 'f')}" for f, label in COST_FIELDS.items() if costs.get(f)
        )
        or "no cost"
    )
    subject = f"namespace {namespace}" if namespace else f"{name} capacity"
    return {
        "source_line": line,
        "charge_period_start": start,
        "charge_period_end": end,
        "billing_account_id": cluster,
        "billing_account_name": cluster,
        "billing_account_type": "Kubernetes cluster",
        "sub_account_id": namespace,
        "sub_account_name": namespace,
        "sub_account_type": "Kubernetes namespace" if namespace else "",
        "charge_category": "Usage",
        "charge_frequency": "Usage-Based",
        "charge_description": f"OpenCost allocation for {subject} on {cluster}: {parts}",
        "billed_cost": total,
        "effective_cost": total,
        "list_cost": total,  # OpenCost prices at on-demand list prices
        "billing_currency": "USD",
        "pricing_category": "Standard",
        "provider": "kubernetes",
        "provider_name": "Kubernetes",
        "service_name": "Kubernetes",
        "service_category": AI_SERVICE_CATEGORY if uses_gpu else "Compute",
        "service_subcategory": "Machine Learning" if uses_gpu else "Containers",
        "resource_id": f"{cluster}/{namespace or name}",
        "resource_name": namespace or name,
        "resource_type": "Kubernetes namespace" if namespace else "Kubernetes idle capacity",
        "gpu_hours": format(gpu_hours, "f"),
        "application_key": namespace,
        "tags": _tags(properties, namespace=namespace, cluster=cluster),
        "raw": raw_json(allocation),
    }


def _tags(properties: dict[str, Any], *, namespace: str, cluster: str) -> str:
    tags: dict[str, str] = {}
    for key in ("labels", "namespaceLabels"):
        labels = properties.get(key)
        if isinstance(labels, dict):
            tags.update({str(k): text_value(labels, k) for k in labels})
    tags["cluster"] = cluster
    if namespace:
        tags["namespace"] = namespace
    return json.dumps(tags, sort_keys=True)
