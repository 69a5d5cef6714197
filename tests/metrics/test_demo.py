import io

from django.db.models import Sum

from metrics.models import CostRecord, DailyCost, ImportBatch
from metrics.synthetic.demo import seed_usage
from portal.demo_people import seed_people


def test_demo_usage_is_allocated_and_idempotent(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seed_people()
    seed_usage(io.StringIO(), days=10, rows=1500)
    counts = (CostRecord.objects.count(), ImportBatch.objects.count())
    total = DailyCost.objects.aggregate(s=Sum("effective_cost"))["s"]
    assert counts[0] > 1000 and total > 0
    seed_usage(io.StringIO(), days=10, rows=1500)
    assert counts == (CostRecord.objects.count(), ImportBatch.objects.count())
    assert DailyCost.objects.aggregate(s=Sum("effective_cost"))["s"] == total
    # the demo's application rules allocate OpenAI and Anthropic usage to teams
    open_share = DailyCost.objects.filter(
        team__isnull=True, provider__in=["openai", "anthropic"]
    ).count()
    assert open_share == 0


def test_demo_ships_two_policies_and_one_proposed_action(db, settings, tmp_path):
    from metrics.models import RemediationAction, RemediationPolicy
    from metrics.synthetic.demo import seed_run_stage

    settings.MEDIA_ROOT = tmp_path
    seed_people()
    seed_usage(io.StringIO(), days=10, rows=1500)
    seed_run_stage(io.StringIO())
    seed_run_stage(io.StringIO())
    assert RemediationPolicy.objects.count() == 2
    (action,) = RemediationAction.objects.all()
    assert action.status == "proposed" and action.policy.approvers.get().email == "lead@example.com"
    assert action.expected_effect["summary"] and action.dry_run_result["executor"] == "litellm"
