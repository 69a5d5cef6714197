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
