import io

from django.db.models import Sum

from metrics.demo import seed_usage
from metrics.models import CostRecord, DailyCost, ImportBatch
from portal.demo import seed_people


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
