"""factory_boy factories for the test objects many files build: teams, users with roles and
a team, and daily cost rollups. A test names only the fields its assertion depends on.

    DailyCostFactory(team=team, day=day, cost="12.50")  # billed and effective cost 12.50
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from metrics.models import DailyCost, Team, TeamMembership


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class UserFactory(DjangoModelFactory):
    """A user whose username is the email and whose password is "pw-<email>".

    UserFactory(email=..., roles=[Role.LEARNER], team=team, team__lead=True): the groups of
    the roles (portal.roles.ensure_role_groups made them) and a membership, as lead or member."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.LazyAttribute(lambda o: "pw-" + o.email)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, **kwargs)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get(name=role.value))

    @factory.post_generation
    def team(self, create, extracted, lead=False, **kwargs):
        if extracted is not None:
            TeamMembership.objects.create(
                team=extracted,
                user=self,
                role=TeamMembership.Role.LEAD if lead else TeamMembership.Role.MEMBER,
            )


class DailyCostFactory(DjangoModelFactory):
    """One rollup row: OpenAI gpt-4o in USD on 5 October 2026 unless told otherwise; `cost`
    sets billed and effective cost alike (a str or number, stored as Decimal)."""

    class Meta:
        model = DailyCost

    class Params:
        cost = 1

    team = None
    day = date(2026, 10, 5)
    provider = "openai"
    model = "gpt-4o"
    currency = "USD"
    effective_cost = factory.LazyAttribute(lambda o: Decimal(str(o.cost)))
    billed_cost = factory.LazyAttribute(lambda o: Decimal(str(o.cost)))
