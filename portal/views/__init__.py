from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.models import Team
from portal.roles import user_roles


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: where the person stands (learning, exam, credential) and their teams."""
    context: dict[str, Any] = {"roles": user_roles(request.user)}
    if isinstance(request.user, User):
        from portal.people import can_view_people, navigation_for
        from portal.views.learn import learning_overview

        menu = navigation_for(request.user)
        context["menu"] = menu
        context["teams"] = list(Team.objects.visible_to(request.user))
        context["can_view_people"] = can_view_people(request.user)
        if menu.learning:
            context.update(learning_overview(request.user))
    return render(request, "portal/home.html", context)


def signed_in(request: HttpRequest) -> User:
    """The signed-in user of a login_required view, typed as such."""
    user = request.user
    assert isinstance(user, User), "login_required must guard this view"
    return user
