from portal.learning import team_learning_summary, user_learning_summary


def test_learning_summaries_for_slack(db, people, teams):
    assert user_learning_summary(people["engineer"]).startswith("0 of ")
    text = team_learning_summary(teams["ml-platform"])
    assert text == "0 modules completed across 3 people, 0 valid credentials"
    assert team_learning_summary(teams["support-assistant"]) == ""


def test_one_person_is_one_person(db, people, teams):
    # search has one member (bob, the outsider)
    text = team_learning_summary(teams["search"])
    assert text == "0 modules completed across 1 person, 0 valid credentials"


def test_optional_and_retired_modules_never_count_against_the_required_total(
    people, curriculum, client
):
    # "12 of 10" was possible: every completed module counted against the required total.
    from curriculum.models import Module
    from portal.learning import required_modules
    from tests.portal.conftest import complete_module

    engineer = people["engineer"]
    complete_module(engineer, "alpha")
    complete_module(engineer, "beta")
    Module.objects.filter(slug="beta").update(required_for_exam=False)
    assert required_modules(engineer).done == 1 and required_modules(engineer).total == 1
    assert user_learning_summary(engineer) == "1 of 1 modules done"
    Module.objects.filter(slug="alpha").update(retired=True)
    assert user_learning_summary(engineer) == "0 of 0 modules done"
    Module.objects.filter(slug="alpha").update(retired=False)
    # the people list (HR) shows the same count
    client.force_login(people["hr"])
    html = client.get("/people/").content.decode()
    assert "1 / 1" in html and "2 / 1" not in html
