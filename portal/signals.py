from typing import Any

from portal.models import Profile


def create_profile(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    """Every user has a profile from the moment it exists."""
    if created:
        Profile.objects.get_or_create(user=instance)
