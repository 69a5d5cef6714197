from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.models import Team
from portal.roles import user_roles


def home(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.visible_to(request.user)
    return render(
        request,
        "portal/home.html",
        {"teams": teams, "roles": user_roles(request.user)},
    )


def signed_in(request: HttpRequest) -> User:
    """The signed-in user of a login_required view, typed as such."""
    user = request.user
    assert isinstance(user, User), "login_required must guard this view"
    return user
