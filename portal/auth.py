from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

from portal.throttle import refuse_if_throttled


class EmailBackend(ModelBackend):
    """Sign in with an e-mail address (or the username, handled by ModelBackend)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        refuse_if_throttled(request, username)  # before any password is checked
        if not username or not password or "@" not in username:
            return None
        user = User._default_manager.filter(email__iexact=username).order_by("id").first()
        if user and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user of each request, loaded with the facts the menus need (one
        query, as before: see portal.people.navigation_annotations)."""
        from portal.people import navigation_annotations

        user = User._default_manager.filter(pk=user_id).annotate(**navigation_annotations()).first()
        return user if user is not None and self.user_can_authenticate(user) else None
