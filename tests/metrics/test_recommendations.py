"""Recommendations on crafted rollups: each kind fires on its pattern with hand-computed
savings, and not on counter-examples (zero output tokens, zero requests, no history, mixed
currencies, interactive traffic, already discounted). Idempotent upserts, 30-day quiet after a
dismissal, and dismissal needs a reason and a right to."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from metrics.advice.recommendations.lifecycle import (
    recommendation_dismiss,
    recommendation_refresh,
    recommendations_find,
    suggested_action,
)
from metrics.advice.recommendations.workloads import AdviceConfig
from metrics.ledger.ingest import billing_import
from metrics.models import DailyCost, ModelPrice, Recommendation

D = Decimal
AS_OF = date(2025, 4, 1)
WINDOW = [date(2025, 3, 2) + timedelta(days=i) for i in range(30)]  # the 30 days before AS_OF


@pytest.fixture
def catalog(db):
    rows = [
        ("openai", "gpt-4o", "2024-10-02", "2.50", "1.25", None, "10", "1.25", "5", "frontier"),
        (
            "openai",
            "gpt-4o-mini",
            "2024-07-18",
            "0.15",
            "0.075",
            None,
            "0.60",
            "0.075",
            "0.30",
            "small",
        ),
        (
            "anthropic",
            "claude-sonnet-4",
            "2025-05-22",
            "3",
            "0.30",
            "3.75",
            "15",
            "1.50",
            "7.50",
            "frontier",
        ),
        (
            "anthropic",
            "claude-3-7-sonnet",
            "2025-02-24",
            "3",
            "0.30",
            "3.75",
            "15",
            "1.50",
            "7.50",
            "frontier",
        ),
        (
            "anthropic",
            "claude-3-5-haiku",
            "2024-11-04",
            "0.80",
            "0.08",
            "1",
            "4",
            "0.40",
            "2",
            "small",
        ),
    ]
    for provider, model, day, i, c, w, o, bi, bo, tier in rows:
        ModelPrice.objects.create(
            provider=provider,
            model=model,
            effective_date=date.fromisoformat(day),
            input_per_mtok=D(i),
            cached_input_per_mtok=D(c),
            cache_write_per_mtok=D(w) if w else None,
            output_per_mtok=D(o),
            batch_input_per_mtok=D(bi),
            batch_output_per_mtok=D(bo),
            tier=tier,
        )


def usage(team, days, *, model, app, provider="openai", tokens, req, cost, currency="USD"):
    i, c, w, o = tokens
    for day in days:
        DailyCost.objects.create(
            team=team,
            day=day,
            provider=provider,
            service_category="AI and Machine Learning",
            model=model,
            application_key=app,
            currency=currency,
            billed_cost=D(cost),
            effective_cost=D(cost),
            input_tokens=i,
            cached_input_tokens=c,
            cache_write_tokens=w,
            output_tokens=o,
            model_requests=req,
        )


def found(**filters):
    return {
        (f.kind, f.subject): f
        for f in recommendations_find(as_of=AS_OF)
        if all(getattr(f, k) == v for k, v in filters.items())
    }


# A classifier: 500 prompt and 50 output tokens per request, every day, on gpt-4o.
# Per day at gpt-4o: 0.5M x 2.50 + 0.05M x 10 = 1.75; at gpt-4o-mini: 0.075 + 0.03 = 0.105.
CLASSIFIER = {"model": "gpt-4o-2024-08-06", "tokens": (500_000, 0, 0, 50_000), "req": 1000}


def test_downsizing_fires_on_short_uniform_frontier_workloads(catalog, teams):
    team = teams["ml-platform"]
    usage(team, WINDOW, app="classifier", cost="1.75", **CLASSIFIER)
    f = found(kind="downsize")[("downsize", "classifier on openai/gpt-4o")]
    assert f.team_id == team.pk and f.currency == "USD"
    assert f.monthly_saving == D("49.35")  # 30 x (1.75 - 0.105)
    assert f.title == (
        "Route classifier on openai/gpt-4o to gpt-4o-mini: about $49.35 a month (94%) less"
    )
    ev = f.evidence
    assert (ev["model_from"], ev["model_to"]) == ("gpt-4o", "gpt-4o-mini")
    assert ev["avg_input_tokens_per_request"] == 500.0
    assert ev["avg_output_tokens_per_request"] == 50.0
    assert ev["cv_output_tokens_per_request"] == 0.0 and ev["token_density"] == 11.0
    assert ev["monthly_spend"] == "52.50" and ev["saving_pct"] == 94.0
    assert suggested_action(Recommendation(kind="downsize", subject=f.subject, evidence=ev)) == (
        "model_route",
        {
            "application_key": "classifier",
            "provider": "openai",
            "from_model": "gpt-4o",
            "to_model": "gpt-4o-mini",
        },
    )


def test_downsizing_counter_examples(catalog, teams):
    team = teams["ml-platform"]
    # Output length varies day to day (20 or 300 tokens per request): not uniform.
    for n, day in enumerate(WINDOW):
        out = 20_000 if n % 2 else 300_000
        usage(
            team,
            [day],
            app="varied",
            model="gpt-4o",
            tokens=(500_000, 0, 0, out),
            req=1000,
            cost="4",
        )
    # Long prompts: 5000 tokens per request.
    usage(
        team,
        WINDOW,
        app="long",
        model="gpt-4o",
        tokens=(5_000_000, 0, 0, 50_000),
        req=1000,
        cost="13",
    )
    # Zero requests (request count unknown) and zero output tokens (embeddings-like).
    usage(
        team,
        WINDOW,
        app="no-requests",
        model="gpt-4o",
        tokens=(500_000, 0, 0, 50_000),
        req=0,
        cost="1.75",
    )
    usage(
        team,
        WINDOW,
        app="no-output",
        model="gpt-4o",
        tokens=(500_000, 0, 0, 0),
        req=1000,
        cost="1.25",
    )
    # No history: three days only.
    usage(team, WINDOW[-3:], app="new", cost="1.75", **CLASSIFIER)
    # Already on the small model, and the same workload billed in EUR (catalog is USD).
    usage(
        team,
        WINDOW,
        app="mini",
        model="gpt-4o-mini",
        tokens=(500_000, 0, 0, 50_000),
        req=1000,
        cost="0.105",
    )
    usage(team, WINDOW, app="euro", currency="EUR", cost="1.75", **CLASSIFIER)
    assert found(kind="downsize") == {}


def test_prompt_caching_fires_on_large_uncached_prompts(catalog, teams):
    team = teams["search"]
    # Anthropic reports no request counts. 10M uncached prompt tokens a day, hit ratio 0.
    usage(
        team,
        WINDOW,
        provider="anthropic",
        model="claude-3-7-sonnet-20250219",
        app="rag",
        tokens=(10_000_000, 0, 0, 100_000),
        req=0,
        cost="31.50",
    )
    f = found(kind="caching")[("caching", "rag on anthropic/claude-3-7-sonnet")]
    # At a 50% hit ratio: 5M move to the cache (0.30) and 0.5M are cache writes (3.75):
    # before 30 + 1.5 = 31.5, after 4.5M x 3 + 5M x 0.30 + 0.5M x 3.75 + 1.5 = 18.375.
    assert f.monthly_saving == D("393.75")  # 30 x 13.125
    assert f.evidence["cache_hit_ratio"] == 0.0 and f.evidence["assumed_hit_ratio"] == 0.5
    assert f.evidence["request_count_known"] is False
    assert not found(kind="downsize")  # zero requests: the request shape is unknown


def test_prompt_caching_counter_examples(catalog, teams):
    team = teams["search"]
    # Already caching well: hit ratio 0.6.
    usage(
        team,
        WINDOW,
        app="cached",
        model="gpt-4o",
        tokens=(4_000_000, 6_000_000, 0, 10_000),
        req=1000,
        cost="17.6",
    )
    # Short prompts: 500 tokens per request (below the 1024-token cache minimum).
    usage(
        team,
        WINDOW,
        app="short",
        model="gpt-4o",
        tokens=(5_000_000, 0, 0, 10_000),
        req=10_000,
        cost="12.6",
    )
    # Small volume: 100k prompt tokens a day.
    usage(
        team,
        WINDOW,
        app="tiny",
        model="gpt-4o",
        tokens=(100_000, 0, 0, 10_000),
        req=10,
        cost="0.35",
    )
    assert found(kind="caching") == {}


def test_batch_fires_on_steady_non_interactive_volume(catalog, teams):
    team = teams["search"]
    usage(
        team,
        WINDOW,
        app="nightly",
        model="gpt-4o-mini",
        tokens=(40_000_000, 0, 0, 2_000_000),
        req=20_000,
        cost="7.20",
    )
    f = found(kind="batch")[("batch", "nightly on openai/gpt-4o-mini")]
    assert f.monthly_saving == D("108.00")  # 30 x 7.20 x 50%
    assert f.evidence["weekend_to_weekday_ratio"] == 1.0
    assert f.evidence["batch_discount_pct"] == 50.0


def test_batch_counter_examples(catalog, teams):
    team = teams["search"]
    weekdays = [d for d in WINDOW if d.weekday() < 5]
    usage(
        team,
        weekdays,
        app="office-hours",
        model="gpt-4o-mini",
        tokens=(40_000_000, 0, 0, 2_000_000),
        req=20_000,
        cost="7.20",
    )
    # Already billed at the batch price.
    usage(
        team,
        WINDOW,
        app="batched",
        model="gpt-4o-mini",
        tokens=(40_000_000, 0, 0, 2_000_000),
        req=20_000,
        cost="3.60",
    )
    # Bursty: volume on a third of the days only.
    usage(
        team,
        WINDOW[::3],
        app="bursty",
        model="gpt-4o-mini",
        tokens=(40_000_000, 0, 0, 2_000_000),
        req=20_000,
        cost="7.20",
    )
    assert found(kind="batch") == {}


def test_token_bloat_against_the_rest_of_the_team(catalog, teams):
    team = teams["support-assistant"]
    # "lean": density 10; "bloated": 9.9M prompt tokens per 100k output tokens, density 100.
    usage(
        team,
        WINDOW,
        app="lean",
        model="gpt-4o-mini",
        tokens=(900_000, 0, 0, 100_000),
        req=100,
        cost="0.195",
    )
    usage(
        team,
        WINDOW,
        app="bloated",
        model="gpt-4o-mini",
        tokens=(9_900_000, 0, 0, 100_000),
        req=100,
        cost="1.545",
    )
    bloat = found(kind="token_bloat")
    assert set(bloat) == {("token_bloat", "bloated on openai/gpt-4o-mini")}
    f = next(iter(bloat.values()))
    assert f.evidence["token_density"] == 100.0 and f.evidence["team_norm_density"] == 10.0
    assert f.monthly_saving == D("40.50")  # 9M prompt tokens a day too many x 0.15 x 30

    # A team with a single workload has no norm; zero output tokens give no density.
    alone = teams["search"]
    usage(
        alone,
        WINDOW,
        app="only",
        model="gpt-4o-mini",
        tokens=(9_900_000, 0, 0, 100_000),
        req=100,
        cost="1.545",
    )
    usage(
        alone,
        WINDOW,
        provider="openai",
        app="embed",
        model="gpt-4o-mini",
        tokens=(9_900_000, 0, 0, 0),
        req=100,
        cost="1.485",
        currency="EUR",
    )
    assert set(found(kind="token_bloat")) == set(bloat)


def opencost(tmp_path, windows):
    """An OpenCost allocation response: windows = [(day, {name: (namespace|None, gpu_cost,
    gpu_efficiency)})]."""
    sets = []
    for day, allocations in windows:
        start = f"{day.isoformat()}T00:00:00Z"
        end = f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z"
        sets.append(
            {
                name: {
                    "name": name,
                    "properties": {
                        "cluster": "gke-1",
                        **(
                            {"namespace": ns, "namespaceLabels": {"team": "ml-platform"}}
                            if ns
                            else {}
                        ),
                    },
                    "window": {"start": start, "end": end},
                    "gpuHours": 24 if ns else 0,
                    "gpuCost": cost,
                    "gpuEfficiency": eff,
                    "totalCost": cost,
                }
                for name, (ns, cost, eff) in allocations.items()
            }
        )
    path = tmp_path / "opencost.json"
    path.write_text(json.dumps({"code": 200, "data": sets}))
    return billing_import(path, source="opencost")


def test_gpu_idle_overprovisioned_and_cold_start(catalog, teams, tmp_path):
    days = WINDOW[:10]
    windows = []
    for n, day in enumerate(days):
        allocations = {
            "ml-training": ("ml-training", 100, 0.2),
            "__idle__": (None, 100, None),
        }
        if n % 3 != 2:  # burst: 2 days on, 1 day off; the first day of a spin-up idles
            allocations["burst"] = ("burst", 50, 0.05 if n % 3 == 0 else 0.9)
        windows.append((day, allocations))
    opencost(tmp_path, windows)
    gpu = found(kind="gpu_idle")
    idle = gpu[("gpu_idle", "GPU pool of cluster gke-1")]
    # GPU cost: training 1000, idle 1000, burst 7 x 50 = 350. Idle above a 10% target:
    # 1000 - 235 = 765 (the window is the month: 30-day lookback).
    assert idle.team_id is None and idle.monthly_saving == D("765.00")
    assert idle.evidence["idle_share"] == pytest.approx(1000 / 2350, abs=1e-4)
    training = [f for k, f in gpu.items() if "ml-training" in k[1]]
    assert len(training) == 1 and training[0].dedupe_key.startswith("gpu_overprovisioned:")
    assert training[0].monthly_saving == (D(1000) * D(str(1 - 0.2 / 0.7))).quantize(D("0.01"))
    burst = {f.dedupe_key.split(":")[0]: f for k, f in gpu.items() if "burst" in k[1]}
    # 4 spin-ups, each idling its first 50; cold start = 200 of 350; half assumed avoidable.
    assert burst["gpu_cold_start"].monthly_saving == D("100.00")
    assert burst["gpu_cold_start"].evidence["cold_start_share"] == pytest.approx(
        200 / 350, abs=1e-4
    )
    # The board report measures the same cold starts (the training pool is busy from its start).
    from portal.board_report import gpu_cold_start

    assert gpu_cold_start(days[0], days[-1] + timedelta(days=1)) == {"USD": D("200.00")}
    assert suggested_action(
        Recommendation(kind="gpu_idle", subject=idle.subject, evidence=idle.evidence)
    ) == ("gpu_scale_down", {"cluster": "gke-1", "target_idle_share": 0.1})


def test_gpu_counter_example_busy_cluster(catalog, teams, tmp_path):
    opencost(
        tmp_path,
        [
            (day, {"ml-training": ("ml-training", 100, 0.9), "__idle__": (None, 5, None)})
            for day in WINDOW[:10]
        ],
    )
    assert found(kind="gpu_idle") == {}


def test_no_history_gives_no_recommendations(catalog, teams):
    assert recommendations_find(as_of=AS_OF) == []
    assert recommendation_refresh(as_of=AS_OF).as_dict()["created"] == 0


# --- Upserts and dismissals ----------------------------------------------------------------


def test_refresh_is_idempotent_updates_numbers_and_removes_stale(catalog, teams):
    team = teams["ml-platform"]
    usage(team, WINDOW, app="classifier", cost="1.75", **CLASSIFIER)
    first = recommendation_refresh(as_of=AS_OF)
    assert first.created == 2  # downsizing, and batch (steady all week)
    rec = Recommendation.objects.get(kind="downsize")
    assert rec.estimated_monthly_saving == D("49.35") and rec.status == "open"

    again = recommendation_refresh(as_of=AS_OF)
    assert (again.created, again.updated) == (0, 2)
    assert Recommendation.objects.count() == 2

    DailyCost.objects.filter(day=WINDOW[-1]).update(effective_cost=D("3.75"))  # 2 more
    recommendation_refresh(as_of=AS_OF)
    rec.refresh_from_db()
    assert rec.estimated_monthly_saving == D("51.35")

    DailyCost.objects.all().delete()  # the workload is gone: the open one goes too
    assert recommendation_refresh(as_of=AS_OF).removed == 2
    assert not Recommendation.objects.exists()


def test_a_dismissed_recommendation_stays_quiet_for_30_days(catalog, teams, people):
    usage(teams["ml-platform"], WINDOW, app="classifier", cost="1.75", **CLASSIFIER)
    recommendation_refresh(as_of=AS_OF)
    rec = Recommendation.objects.get(kind="downsize")
    recommendation_dismiss(
        recommendation=rec, user=people["engineer"], reason="needs gpt-4o quality"
    )
    rec.refresh_from_db()
    assert (rec.status, rec.dismissed_reason, rec.dismissed_by) == (
        "dismissed",
        "needs gpt-4o quality",
        people["engineer"],
    )

    result = recommendation_refresh(as_of=AS_OF)
    assert (result.kept_dismissed, result.updated, result.removed) == (1, 1, 0)
    rec.refresh_from_db()
    assert rec.status == "dismissed" and rec.estimated_monthly_saving == D("49.35")

    Recommendation.objects.filter(pk=rec.pk).update(updated_at=timezone.now() - timedelta(days=31))
    assert recommendation_refresh(as_of=AS_OF).reopened == 1
    rec.refresh_from_db()
    assert rec.status == "open" and rec.dismissed_reason == ""
    assert rec.evidence["previous_dismissal"]["reason"] == "needs gpt-4o quality"


def test_dismiss_needs_a_reason_and_a_right_to(catalog, teams, people):
    usage(teams["ml-platform"], WINDOW, app="classifier", cost="1.75", **CLASSIFIER)
    recommendation_refresh(as_of=AS_OF)
    rec = Recommendation.objects.get(kind="downsize")
    with pytest.raises(ValidationError):
        recommendation_dismiss(recommendation=rec, user=people["engineer"], reason="  ")
    for who in ("outsider", "hr"):
        with pytest.raises(PermissionDenied):
            recommendation_dismiss(recommendation=rec, user=people[who], reason="no")
    rec.refresh_from_db()
    assert rec.status == "open"
    recommendation_dismiss(recommendation=rec, user=people["admin"], reason="known, planned Q3")
    rec.refresh_from_db()
    assert rec.status == "dismissed" and rec.dismissed_by == people["admin"]


def test_thresholds_come_from_settings(settings):
    settings.ADVICE_THRESHOLDS = {"lookback_days": 14, "min_monthly_saving": "25"}
    cfg = AdviceConfig.from_settings()
    assert cfg.lookback_days == 14 and cfg.min_monthly_saving == D("25")
    settings.ADVICE_THRESHOLDS = {"no_such_threshold": 1}
    with pytest.raises(ValueError, match="no_such_threshold"):
        AdviceConfig.from_settings()
