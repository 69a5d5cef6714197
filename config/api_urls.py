"""/api/v1/: one router; each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from metrics.api.views import TeamViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")

urlpatterns = router.urls
