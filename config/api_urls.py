"""/api/v1/: one router; each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from metrics.api.views import AllocationRuleViewSet, ImportBatchViewSet, TeamViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("allocation-rules", AllocationRuleViewSet, basename="allocation-rule")
router.register("imports", ImportBatchViewSet, basename="import")

urlpatterns = router.urls
