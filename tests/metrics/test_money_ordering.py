"""Money orders and compares as numbers on every database (SQLite stores it as text)."""

from decimal import Decimal as D

from django.db.models import F, Max, Sum

from metrics.models import Recommendation


def rec(team, key, saving):
    return Recommendation.objects.create(
        kind="downsize",
        dedupe_key=key,
        team=team,
        title=key,
        estimated_monthly_saving=D(saving),
    )


def test_money_orders_numerically(teams):
    team = teams["search"]
    for key, saving in [("a", "950"), ("b", "1800"), ("c", "99.5"), ("d", "1800.25"), ("e", "-3")]:
        rec(team, key, saving)
    by_saving = Recommendation.objects.order_by("-estimated_monthly_saving", "pk")
    assert [r.dedupe_key for r in by_saving] == ["d", "b", "a", "c", "e"]
    # The model's default ordering too.
    assert [r.dedupe_key for r in Recommendation.objects.all()] == ["d", "b", "a", "c", "e"]
    ascending = Recommendation.objects.order_by("estimated_monthly_saving")
    assert [r.dedupe_key for r in ascending] == ["e", "c", "a", "b", "d"]


def test_money_compares_numerically_and_stays_exact(teams):
    team = teams["search"]
    rec(team, "small", "950")
    rec(team, "big", "1800")
    rec(team, "exact", "1234.567890123456789")
    over = Recommendation.objects.filter(estimated_monthly_saving__gt=D("1000"))
    assert sorted(r.dedupe_key for r in over) == ["big", "exact"]
    assert Recommendation.objects.filter(estimated_monthly_saving__lte=950).count() == 1
    assert Recommendation.objects.filter(estimated_monthly_saving=D("950.00")).count() == 1
    assert Recommendation.objects.filter(estimated_monthly_saving__range=(900, 1300)).count() == 2
    # Reading it back is still exact (not through a float).
    assert Recommendation.objects.get(dedupe_key="exact").estimated_monthly_saving == D(
        "1234.567890123456789"
    )
    assert Recommendation.objects.values_list("estimated_monthly_saving", flat=True).get(
        dedupe_key="exact"
    ) == D("1234.567890123456789")
    assert Recommendation.objects.aggregate(m=Max("estimated_monthly_saving"))["m"] == D(1800)
    total = Recommendation.objects.aggregate(s=Sum("estimated_monthly_saving"))["s"]
    assert abs(total - D("3984.567890123456789")) < D("0.000001")
    # Updates through F() keep working.
    Recommendation.objects.filter(dedupe_key="small").update(
        estimated_monthly_saving=F("estimated_monthly_saving") + 100
    )
    assert Recommendation.objects.get(dedupe_key="small").estimated_monthly_saving == D(1050)
