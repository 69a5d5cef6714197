from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from metrics.models import Team


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ["id", "slug", "name", "slack_channel_id", "slack_usergroup_id", "time_zone"]


class TeamViewSet(viewsets.ReadOnlyModelViewSet[Team]):
    """Teams the caller may see: all for FinOps admins, otherwise their own."""

    serializer_class = TeamSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.visible_to(self.request.user).order_by("name")
