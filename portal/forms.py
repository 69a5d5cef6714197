from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import User

from metrics.models import Team
from portal.accounts import email_taken


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="Work e-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    first_name = forms.CharField(
        label="First name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not only digits, not a common password.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        if email_taken(email):
            raise forms.ValidationError(
                "An account with this e-mail already exists. Sign in or reset your password."
            )
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            candidate = User(
                username=data.get("email", ""),
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="No team (learning only)",
        help_text="Their spend pages and Slack answers show this team's costs. Without a team "
        "they can learn but see no spend until a FinOps admin adds them to one.",
    )

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        if email_taken(email):
            raise forms.ValidationError("This person already has an account.")
        return email


class RevokeForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)


class CandidateInviteForm(forms.Form):
    """An external candidate: the same invitation as a learner, without a team."""

    email = forms.EmailField(label="E-mail")
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        if email_taken(email):
            raise forms.ValidationError("This person already has an account.")
        return email


class PaperForm(forms.Form):
    paper_size = forms.ChoiceField(
        label="Paper size for PDF summaries",
        choices=[("", "From my language"), ("a4", "A4"), ("letter", "US Letter")],
        required=False,
    )
