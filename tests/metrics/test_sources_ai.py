"""The AI provider parsers (OpenAI, Anthropic, OpenCost) and the usage generator.

parse() is called directly: no database. Expected totals are computed independently from the
JSON with json + Decimal, never from the parser's own helpers.
"""

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from metrics.ledger.sources import anthropic, focus, openai, opencost, registry
from metrics.ledger.sources.base import LEDGER_COLUMNS, IngestError
from metrics.synthetic import generator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "billing"
COOKBOOK = "data/billing/openai_cookbook/openai_usage_completions_1d_ungrouped.json"


def frame_of(parser, path):
    # parsers yield pandas frames or Arrow tables of the same ledger columns
    chunks = [c.to_pandas() if isinstance(c, pa.Table) else c for c in parser.parse(path)]
    for chunk in chunks:
        assert list(chunk.columns) == LEDGER_COLUMNS
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=LEDGER_COLUMNS)


def load(path):
    return json.loads(Path(path).read_text(), parse_float=Decimal)


def results(doc):
    pages = doc if isinstance(doc, list) and doc and "data" in doc[0] else [doc]
    for page in pages:
        buckets = page["data"] if isinstance(page, dict) else page
        for bucket in buckets:
            yield from bucket["results"]


def money(series):
    return sum((Decimal(v) for v in series), Decimal(0))


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


# --- OpenAI -------------------------------------------------------------------------------


def test_openai_costs_page_money_is_exact():
    path = FIXTURES / "openai_costs_page.json"
    assert registry.detect(path) is openai
    frame = frame_of(openai, path)
    doc = load(path)

    expected = sum(Decimal(r["amount"]["value"]) for r in results(doc))
    assert money(frame["billed_cost"]) == expected
    assert money(frame["effective_cost"]) == expected
    assert len(frame) == len(list(results(doc)))
    assert set(frame["billing_currency"]) == {"USD"}
    first = next(results(doc))
    row = frame.iloc[0]
    assert row["charge_description"] == first["line_item"] == "gpt-4o-2024-08-06, input"
    assert row["model"] == "gpt-4o-2024-08-06"
    assert row["application_key"] == row["sub_account_id"] == first["project_id"]
    assert (frame[["input_tokens", "output_tokens", "model_requests"]] == 0).all().all()


def test_openai_grouped_usage_tokens_store_the_uncached_part():
    path = FIXTURES / "openai_usage_completions_grouped.json"
    frame = frame_of(openai, path)
    rows = list(results(load(path)))

    assert len(frame) == len(rows)  # the empty Sunday bucket gives no rows
    # OpenAI's input_tokens include the cached ones; the ledger keeps them apart.
    assert frame["input_tokens"].sum() + frame["cached_input_tokens"].sum() == sum(
        r["input_tokens"] for r in rows
    )
    assert frame["cached_input_tokens"].sum() == sum(r["input_cached_tokens"] for r in rows)
    assert frame["output_tokens"].sum() == sum(r["output_tokens"] for r in rows)
    assert frame["model_requests"].sum() == sum(r["num_model_requests"] for r in rows)
    assert set(frame["billed_cost"]) == set(frame["effective_cost"]) == {"0"}
    assert frame["charge_description"].str.startswith("Unpriced usage").all()
    assert frame["model"].nunique() == 3
    assert frame["application_key"].nunique() == 2
    assert frame["source_line"].tolist() == list(range(1, len(rows) + 1))
    assert (frame["provider"] == "openai").all()
    assert (frame["service_category"] == "AI and Machine Learning").all()


def test_openai_times_periods_and_raw():
    frame = frame_of(openai, FIXTURES / "openai_usage_completions_grouped.json")
    row = frame.iloc[0]
    assert row["charge_period_start"] == pd.Timestamp("2025-03-03", tz="UTC")
    assert row["charge_period_end"] == pd.Timestamp("2025-03-04", tz="UTC")
    assert row["billing_period_start"] == pd.Timestamp("2025-03-01", tz="UTC")
    assert row["billing_period_end"] == pd.Timestamp("2025-04-01", tz="UTC")
    raw = json.loads(row["raw"])
    assert raw["start_time"] == 1740960000
    assert raw["object"] == "organization.usage.completions.result"


def test_openai_cookbook_sample(shared_dir):
    path = shared_dir / COOKBOOK
    assert registry.detect(path) is openai
    frame = frame_of(openai, path)
    buckets = load(path)
    rows = [r for b in buckets for r in b["results"]]

    assert len(buckets) == 31
    assert len(frame) == 26 == sum(1 for b in buckets if b["results"])
    assert frame["input_tokens"].sum() + frame["cached_input_tokens"].sum() == sum(
        r["input_tokens"] for r in rows
    )
    assert frame["cached_input_tokens"].sum() == sum(r["input_cached_tokens"] for r in rows)
    assert frame["output_tokens"].sum() == sum(r["output_tokens"] for r in rows)
    assert frame["model_requests"].sum() == sum(r["num_model_requests"] for r in rows)
    # The first bucket starts mid-day: the charge period is the bucket, not a whole day.
    assert frame["charge_period_start"].iloc[0] == pd.Timestamp(1736616660, unit="s", tz="UTC")


def test_openai_list_of_pages_counts_items_across_pages(tmp_path):
    page = load(FIXTURES / "openai_costs_page.json")
    first, second = dict(page, data=page["data"][:2]), dict(page, data=page["data"][2:])
    path = tmp_path / "pull.json"
    path.write_text(json.dumps([first, second], default=str))
    frame = frame_of(openai, path)
    assert frame["source_line"].tolist() == list(range(1, len(list(results(page))) + 1))


def test_openai_other_usage_endpoints(tmp_path):
    bucket = {"object": "bucket", "start_time": 1740960000, "end_time": 1741046400}
    doc = {
        "object": "page",
        "data": [
            dict(
                bucket,
                results=[
                    {
                        "object": "organization.usage.images.result",
                        "images": 40,
                        "num_model_requests": 38,
                        "model": "dall-e-3",
                        "project_id": "proj_a",
                    },
                    {
                        "object": "organization.usage.embeddings.result",
                        "input_tokens": 9000,
                        "num_model_requests": 30,
                        "model": "text-embedding-3-small",
                        "api_key_id": "key_1",
                    },
                ],
            )
        ],
        "has_more": False,
        "next_page": None,
    }
    frame = frame_of(openai, write(tmp_path, "other.json", doc))
    images, embeddings = frame.iloc[0], frame.iloc[1]
    assert (images["pricing_quantity"], images["pricing_unit"]) == ("40", "Images")
    assert images["model_requests"] == 38
    assert embeddings["input_tokens"] == 9000
    assert embeddings["application_key"] == "key_1"  # no project: the API key


# --- Anthropic ----------------------------------------------------------------------------


def test_anthropic_usage_tokens():
    path = FIXTURES / "anthropic_usage_messages.json"
    assert registry.detect(path) is anthropic
    frame = frame_of(anthropic, path)
    rows = list(results(load(path)))

    assert len(frame) == len(rows)
    assert frame["input_tokens"].sum() == sum(r["uncached_input_tokens"] for r in rows)
    assert frame["cached_input_tokens"].sum() == sum(r["cache_read_input_tokens"] for r in rows)
    assert frame["cache_write_tokens"].sum() == sum(
        r["cache_creation"]["ephemeral_5m_input_tokens"]
        + r["cache_creation"]["ephemeral_1h_input_tokens"]
        for r in rows
    )
    assert frame["output_tokens"].sum() == sum(r["output_tokens"] for r in rows)
    assert set(frame["billed_cost"]) == {"0"}
    # the default workspace (null) falls back to the API key as application
    default = frame[frame["sub_account_id"] == ""]
    assert len(default) and default["application_key"].str.startswith("apikey_").all()
    assert frame["charge_period_start"].iloc[0] == pd.Timestamp("2025-03-03", tz="UTC")


def test_anthropic_cost_report_converts_cents_exactly():
    path = FIXTURES / "anthropic_cost_report.json"
    assert registry.detect(path) is anthropic
    frame = frame_of(anthropic, path)
    rows = list(results(load(path)))

    cents = sum(Decimal(r["amount"]) for r in rows)
    assert money(frame["billed_cost"]) == cents / 100
    assert money(frame["effective_cost"]) == cents / 100
    assert len(frame) == len(rows)
    search = frame[frame["charge_description"] == "Web Search Usage"]
    assert len(search) and (search["model"] == "").all()


@pytest.mark.parametrize(
    ("cents", "dollars"),
    [("123.45", "1.2345"), ("123.78912", "1.2378912"), ("0.00001", "0.0000001"), ("7", "0.07")],
)
def test_anthropic_cents_to_dollars(tmp_path, cents, dollars):
    doc = {
        "data": [
            {
                "starting_at": "2025-08-01T00:00:00Z",
                "ending_at": "2025-08-02T00:00:00Z",
                "results": [{"amount": cents, "currency": "USD", "cost_type": "tokens"}],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    frame = frame_of(anthropic, write(tmp_path, "cost.json", doc))
    assert Decimal(frame["billed_cost"].iloc[0]) == Decimal(dollars)


# --- OpenCost -----------------------------------------------------------------------------


def test_opencost_allocations():
    path = FIXTURES / "opencost_allocation.json"
    assert registry.detect(path) is opencost
    frame = frame_of(opencost, path)
    doc = load(path)
    allocations = [a for step in doc["data"] for a in step.values()]

    assert len(frame) == len(allocations) == 12  # 3 days x (3 namespaces + __idle__)
    assert money(frame["billed_cost"]) == sum(a["totalCost"] for a in allocations)
    assert money(frame["gpu_hours"]) == sum(a.get("gpuHours", 0) for a in allocations)
    idle = frame[frame["resource_name"] == "__idle__"]
    assert len(idle) == 3 and (idle["application_key"] == "").all()
    gpu = frame[frame["application_key"] == "ml-training"].iloc[0]
    assert gpu["service_category"] == "AI and Machine Learning"
    assert json.loads(gpu["tags"])["namespace"] == "ml-training"
    assert json.loads(gpu["tags"])["team"] == "ml-platform"  # the namespace label
    assert gpu["resource_id"] == "prod-gke-us-central1/ml-training"
    search = frame[frame["application_key"] == "search-api"].iloc[0]
    assert search["service_category"] == "Compute"
    assert (frame["provider"] == "kubernetes").all()


# --- errors name the file, the item and the field -------------------------------------------


def test_bad_json_names_the_file(tmp_path):
    path = write(tmp_path, "broken.json", '{"object": "page", "data": [')
    with pytest.raises(IngestError) as exc:
        list(openai.parse(path))
    assert exc.value.file == str(path)
    assert "not valid JSON" in exc.value.reason and "line 1" in exc.value.reason


@pytest.mark.parametrize("parser", [openai, anthropic, opencost])
def test_wrong_shape(tmp_path, parser):
    path = write(tmp_path, "shape.json", {"object": "list", "items": []})
    with pytest.raises(IngestError) as exc:
        list(parser.parse(path))
    assert str(path) in str(exc.value)
    assert "expected" in exc.value.reason


def test_bucket_without_results(tmp_path):
    doc = {"object": "page", "data": [{"object": "bucket", "start_time": 1, "end_time": 2}]}
    with pytest.raises(IngestError) as exc:
        list(openai.parse(write(tmp_path, "nores.json", doc)))
    assert exc.value.column == "data[0].results"


def test_text_in_a_token_field(tmp_path):
    doc = load(FIXTURES / "openai_usage_completions_grouped.json")
    doc["data"][1]["results"][2]["input_tokens"] = "lots"
    path = write(tmp_path, "usage.json", json.dumps(doc, default=str))
    with pytest.raises(IngestError) as exc:
        list(openai.parse(path))
    per_bucket = len(doc["data"][0]["results"])
    assert (exc.value.file, exc.value.row, exc.value.column) == (
        str(path),
        per_bucket + 3,
        "input_tokens",
    )
    assert "'lots' is not a whole number" in str(exc.value)


def test_text_in_a_money_field(tmp_path):
    doc = load(FIXTURES / "openai_costs_page.json")
    doc["data"][0]["results"][4]["amount"]["value"] = "12.5 USD"
    path = write(tmp_path, "costs.json", json.dumps(doc, default=str))
    with pytest.raises(IngestError) as exc:
        list(openai.parse(path))
    assert str(exc.value) == f"{path}:5:amount.value: '12.5 USD' is not a decimal number"


def test_text_in_an_anthropic_amount(tmp_path):
    doc = load(FIXTURES / "anthropic_cost_report.json")
    doc["data"][0]["results"][0]["amount"] = "12,50"
    path = write(tmp_path, "cost.json", json.dumps(doc, default=str))
    with pytest.raises(IngestError, match=r"cost\.json:1:amount: '12,50' is not a decimal"):
        list(anthropic.parse(path))


def test_text_in_an_opencost_cost(tmp_path):
    doc = load(FIXTURES / "opencost_allocation.json")
    doc["data"][0]["search-api"]["totalCost"] = "n/a"
    path = write(tmp_path, "alloc.json", json.dumps(doc, default=str))
    with pytest.raises(IngestError) as exc:
        list(opencost.parse(path))
    assert (exc.value.row, exc.value.column) == (2, "totalCost")


def test_cached_tokens_above_input_are_rejected(tmp_path):
    doc = [
        {
            "object": "bucket",
            "start_time": 1740960000,
            "end_time": 1741046400,
            "results": [
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": 10,
                    "input_cached_tokens": 20,
                    "output_tokens": 1,
                    "num_model_requests": 1,
                }
            ],
        }
    ]
    with pytest.raises(IngestError, match="input_cached_tokens: cached"):
        list(openai.parse(write(tmp_path, "over.json", doc)))


# --- the generator --------------------------------------------------------------------------

END = date(2025, 3, 15)


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    out = tmp_path_factory.mktemp("native")
    return generator.generate(days=14, teams=4, rows=2_000, out=out, seed=3, end=END)


EXPECTED_PARSER = {
    "openai_usage_and_costs.json": "openai",
    "anthropic_usage_and_costs.json": "anthropic",
    "aws_cur2_bedrock.csv": "aws-cur",
    "azure_openai_actual_cost.csv": "azure",
    "gcp_vertex_billing_export.csv": "gcp",
    "opencost_allocation.json": "opencost",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PARSER))
def test_generated_native_files_are_detected_and_parse(native, name):
    path = next(p for p in native if p.name == name)
    parser = registry.detect(path)
    assert EXPECTED_PARSER[name] == parser.NAME
    frame = frame_of(parser, path)
    assert len(frame) > 0
    assert money(frame["effective_cost"]) > 0
    if name != "opencost_allocation.json":
        assert frame["model"].ne("").any()
        assert frame["input_tokens"].sum() > 0


def test_generated_openai_bundle_matches_its_json(native):
    path = next(p for p in native if p.name == "openai_usage_and_costs.json")
    doc = load(path)
    frame = frame_of(openai, path)
    rows = list(results(doc))
    costs = [r for r in rows if r["object"] == "organization.costs.result"]
    assert money(frame["billed_cost"]) == sum(Decimal(r["amount"]["value"]) for r in costs)
    usage = [r for r in rows if r["object"] != "organization.costs.result"]
    assert frame["input_tokens"].sum() + frame["cached_input_tokens"].sum() == sum(
        r["input_tokens"] for r in usage
    )


def test_generated_focus_file(tmp_path):
    plan = generator.make_plan(days=14, teams=4, rows=5_000, seed=3, end=END)
    (path,) = generator.generate(
        days=14, teams=4, rows=5_000, out=tmp_path, seed=3, output_format="focus", end=END
    )
    assert registry.detect(path) is focus
    frame = frame_of(focus, path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)

    assert len(frame) == len(raw) == plan.rows >= 5_000
    for column in generator.FOCUS_COLUMNS + generator.X_COLUMNS:
        assert column in raw.columns
    assert money(frame["billed_cost"]) == money(raw["BilledCost"])
    assert frame["input_tokens"].sum() == raw["x_InputTokens"].astype(int).sum()
    assert frame["charge_period_start"].min() == pd.Timestamp("2025-03-01", tz="UTC")
    assert frame["charge_period_start"].max() == pd.Timestamp("2025-03-14", tz="UTC")
    assert raw["BilledCost"].str.fullmatch(r"\d+(\.\d{1,10})?").all()  # <= 10 places
    teams = {json.loads(t)["team"] for t in raw["Tags"]}
    assert teams == {"ml-platform", "search", "support-assistant", "team-4"}
    assert set(frame["provider"]) == {"openai", "anthropic", "aws", "azure", "gcp", "kubernetes"}


def test_generator_is_deterministic(tmp_path):
    def digest(seed, folder):
        (path,) = generator.generate(
            days=7,
            teams=3,
            rows=3_000,
            out=tmp_path / folder,
            seed=seed,
            output_format="focus",
            end=END,
        )
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(11, "a") == digest(11, "b")
    assert digest(11, "a") != digest(12, "c")


def test_generated_usage_has_weekly_rhythm_spikes_and_a_downsizing_candidate():
    plan = generator.make_plan(days=28, teams=3, rows=20_000, seed=5, end=END)
    facts = list(generator.iter_facts(plan))
    day = pd.Series([d for f in facts for d in f.day])
    stream = pd.Series([s for f in facts for s in f.stream])
    requests = pd.Series([r for f in facts for r in f.requests])
    prompt = pd.Series(
        [i + c for f in facts for i, c in zip(f.input_tokens, f.cached_tokens, strict=True)]
    )
    frame = pd.DataFrame({"day": day, "stream": stream, "requests": requests, "prompt": prompt})
    weekday = frame["day"].map(lambda d: plan.days[d].weekday())
    per_day = frame.groupby([weekday, "day"])["requests"].sum().groupby(level=0).median()
    assert per_day.loc[[0, 1, 2, 3]].min() > 2 * per_day.loc[[5, 6]].max()
    assert plan.spikes and all(4 <= f <= 8 for f in plan.spikes.values())

    opus = next(i for i, s in enumerate(plan.streams) if s.offering.model.startswith("claude-opus"))
    assert plan.streams[opus].team == "support-assistant"
    rows = frame[frame["stream"] == opus]
    per_request = rows["prompt"] / rows["requests"]
    assert per_request.mean() < 500  # short prompts
    assert per_request.std() / per_request.mean() < 0.1  # and uniform ones


def test_generator_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        generator.make_plan(days=0, teams=3, rows=10, seed=1)


@pytest.mark.parametrize(
    ("parser", "name"),
    [
        (openai, "openai_usage_completions_grouped.json"),
        (anthropic, "anthropic_usage_messages.json"),
        (opencost, "opencost_allocation.json"),
    ],
)
def test_json_sources_yield_frames_of_at_most_chunk_rows(monkeypatch, parser, name):
    from metrics.ledger.sources import json_toolkit

    whole = frame_of(parser, FIXTURES / name)
    assert len(whole) >= 3
    monkeypatch.setattr(json_toolkit, "CHUNK_ROWS", 2)
    chunks = list(parser.parse(FIXTURES / name))
    assert [len(c) for c in chunks] == [2] * (len(whole) // 2) + [len(whole) % 2] * (len(whole) % 2)
    assert (
        pd.concat(chunks, ignore_index=True)["source_line"].tolist()
        == whole["source_line"].tolist()
    )
