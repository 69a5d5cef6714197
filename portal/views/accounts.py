from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal import conf
from portal.accounts import AccountError, user_sign_up
from portal.forms import SignUpForm


def signup(request: HttpRequest) -> HttpResponse:
    if not conf.self_signup_enabled():
        raise Http404("Self sign-up is turned off; ask HR for an invitation.")
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_sign_up(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except AccountError as exc:
            form.add_error("email", str(exc))
        else:
            login(request, user, backend="portal.auth.EmailBackend")
            messages.success(request, "Welcome! Start with the first module of the Crawl track.")
            return redirect("portal:dashboard")
    return render(request, "portal/auth/signup.html", {"form": form})
