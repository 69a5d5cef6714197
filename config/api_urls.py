"""/api/v1/: one router for the viewsets, plus the spend and KPI questions."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from metrics.api.actions import ActionViewSet
from metrics.api.alerts import AlertViewSet
from metrics.api.budgets import BudgetViewSet
from metrics.api.policies import PolicyViewSet
from metrics.api.recommendations import RecommendationViewSet
from metrics.api.records import RecordViewSet
from metrics.api.spend import ComparisonApi, DriversApi, KpiApi, RankingApi, SpendApi
from metrics.api.views import (
    AllocationRuleViewSet,
    ImportBatchViewSet,
    ImportJobViewSet,
    TeamViewSet,
)

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("allocation-rules", AllocationRuleViewSet, basename="allocation-rule")
router.register("imports", ImportBatchViewSet, basename="import")
router.register("import-jobs", ImportJobViewSet, basename="import-job")
router.register("records", RecordViewSet, basename="record")
router.register("budgets", BudgetViewSet, basename="budget")
router.register("alerts", AlertViewSet, basename="alert")
router.register("recommendations", RecommendationViewSet, basename="recommendation")
router.register("actions", ActionViewSet, basename="action")
router.register("policies", PolicyViewSet, basename="policy")

urlpatterns = [
    path("spend/", SpendApi.as_view(), name="spend"),
    path("kpis/", KpiApi.as_view(), name="kpis"),
    path("rankings/", RankingApi.as_view(), name="rankings"),
    path("comparison/", ComparisonApi.as_view(), name="comparison"),
    path("drivers/", DriversApi.as_view(), name="drivers"),
    *router.urls,
]
