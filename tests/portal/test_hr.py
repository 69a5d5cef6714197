"""Evaluations, proposals from evidence, candidates, and who sees which evaluation."""

import pytest
from django.core import mail
from django.urls import reverse

from portal.hr import (
    EvaluationError,
    LevelInput,
    candidate_invite,
    candidates_compare,
    evaluation_start,
    evaluation_update,
    evaluations_visible_to,
    person_evidence,
    propose_levels,
)
from portal.models import Candidacy, EvaluationLevel
from portal.roles import Role
from tests.portal.conftest import complete_all, complete_module, take_exam


def levels_of(evaluation):
    return {row.competency: row for row in EvaluationLevel.objects.filter(evaluation=evaluation)}


def test_no_evidence_proposes_nothing_and_says_why(rubric, people):
    proposals = propose_levels(rubric.current(), person_evidence(people["outsider"]))
    assert {p.level for p in proposals.values()} == {""}
    assert "Module 'Module Alpha' not completed" in proposals["visibility"].evidence
    assert "Exam domain 'Domain A': no exam result" in proposals["visibility"].evidence


def test_one_module_done_proposes_the_first_level(rubric, people):
    complete_module(people["outsider"], "alpha")
    proposals = propose_levels(rubric.current(), person_evidence(people["outsider"]))
    assert proposals["visibility"].level == "aware"
    assert proposals["economics"].level == ""
    assert any(
        line.startswith("Module 'Module Alpha' completed 20")
        for line in proposals["visibility"].evidence
    )


def test_a_perfect_pass_with_a_credential_proposes_the_third_level_never_the_top(
    certified, rubric, people
):
    proposals = propose_levels(rubric.current(), person_evidence(people["engineer"]))
    assert proposals["visibility"].level == "advanced"
    assert proposals["economics"].level == "advanced"
    evidence = proposals["visibility"].evidence
    assert any(
        line.startswith("Exam domain 'Domain A': ") and line.endswith("(100%)") for line in evidence
    )
    assert any(line.startswith("Credential valid (expires ") for line in evidence)


def test_a_weak_domain_score_lowers_the_proposal(curriculum, rubric, people):
    learner = people["outsider"]
    complete_all(learner)
    attempt = take_exam(learner, curriculum, correct=8)  # a pass: 8/10
    assert attempt.passed
    scores = {d["slug"]: d for d in attempt.domain_scores}
    proposals = propose_levels(rubric.current(), person_evidence(learner))
    for competency, domain in (("visibility", "domain-a"), ("economics", "domain-b")):
        share = scores[domain]["correct"] / scores[domain]["total"]
        expected = "advanced" if share >= 0.8 else "practitioner"  # a valid credential
        assert proposals[competency].level == expected


def test_hr_confirms_or_overrides_each_level_with_a_note(certified, rubric, people):
    evaluation = evaluation_start(subject=people["engineer"], rubric=rubric, by=people["hr"])
    rows = levels_of(evaluation)
    assert rows["visibility"].proposed_level == "advanced" and rows["visibility"].evidence
    with pytest.raises(EvaluationError, match="say why you override"):
        evaluation_update(
            evaluation=evaluation,
            levels={"visibility": LevelInput("expert")},
            recommendation="yes",
            summary="",
            shared=False,
            by=people["hr"],
        )
    assert levels_of(evaluation)["visibility"].level == ""  # all or nothing
    with pytest.raises(EvaluationError, match="unknown level"):
        evaluation_update(
            evaluation=evaluation,
            levels={"visibility": LevelInput("guru", note="x")},
            recommendation="yes",
            summary="",
            shared=False,
            by=people["hr"],
        )
    evaluation_update(
        evaluation=evaluation,
        levels={
            "visibility": LevelInput(
                "expert", note="Led the allocation redesign", interview_notes="Strong"
            ),
            "economics": LevelInput("advanced"),
        },
        recommendation="strong_yes",
        summary="Hire",
        shared=False,
        by=people["hr"],
    )
    rows = levels_of(evaluation)
    # the reviewer overrode the proposal for visibility and kept it for economics
    assert rows["visibility"].level == "expert" != rows["visibility"].proposed_level
    assert rows["economics"].level == "advanced" == rows["economics"].proposed_level
    evaluation.refresh_from_db()
    assert evaluation.recommendation == "strong_yes"


def test_who_sees_which_evaluation(certified, rubric, people, django_user_model):
    of_engineer = evaluation_start(subject=people["engineer"], rubric=rubric, by=people["hr"])
    of_outsider = evaluation_start(subject=people["outsider"], rubric=rubric, by=people["hr"])
    candidate = candidate_invite(
        email="cand@example.com",
        first_name="Cam",
        last_name="Didate",
        rubric=rubric,
        invited_by=people["hr"],
    )
    of_candidate = evaluation_start(subject=candidate, rubric=rubric, by=people["hr"])
    assert of_candidate.is_candidate
    visible = lambda who: set(evaluations_visible_to(people[who]).values_list("pk", flat=True))  # noqa: E731
    assert visible("hr") == {of_engineer.pk, of_outsider.pk, of_candidate.pk}
    assert visible("lead") == {of_engineer.pk}  # their team's member, not the candidate
    assert visible("engineer") == set()  # not shared yet
    assert visible("teammate") == set() and visible("outsider") == set()
    of_engineer.shared_with_subject = True
    of_engineer.save()
    assert visible("engineer") == {of_engineer.pk}
    assert visible("teammate") == set()


def test_candidate_invitation_no_team_no_spend(
    rubric, people, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        candidate = candidate_invite(
            email="Cand@Example.com",
            first_name="Cam",
            last_name="Didate",
            rubric=rubric,
            invited_by=people["hr"],
        )
    assert candidate.email == "cand@example.com"
    assert Candidacy.objects.get(user=candidate).rubric == rubric
    assert set(candidate.groups.values_list("name", flat=True)) == {
        Role.LEARNER.value,
        Role.CANDIDATE.value,
    }
    assert not candidate.team_memberships.exists()
    assert len(mail.outbox) == 1 and "cand@example.com" in mail.outbox[0].to
    client.force_login(candidate)
    assert client.get(reverse("portal:spend")).status_code == 403
    home = client.get(reverse("portal:catalogue")).content.decode()
    assert 'href="/dashboard/"' not in home  # no Spend link in the navigation
    assert client.get(reverse("portal:exam_home")).status_code == 200


def test_invite_and_evaluate_through_the_pages(rubric, people, client):
    client.force_login(people["hr"])
    response = client.post(
        reverse("portal:hr_candidate_invite", kwargs={"slug": rubric.slug}),
        {"email": "new@example.com", "first_name": "New", "last_name": "Person"},
    )
    assert response.status_code == 302
    candidate = Candidacy.objects.get(user__email="new@example.com").user
    response = client.post(
        reverse("portal:hr_evaluation_start", kwargs={"slug": rubric.slug}), {"user": candidate.pk}
    )
    assert response.status_code == 302
    url = response["Location"]
    page = client.get(url).content.decode()
    assert "Proposed from the evidence" in page and "no evidence" in page
    response = client.post(
        url,
        {
            "level-visibility": "practitioner",
            "note-visibility": "Showed a real allocation model in the interview",
            "interview-visibility": "Walked through tags <b>and</b> keys",
            "level-economics": "",
            "recommendation": "yes",
            "summary": "Good",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    page = client.get(url).content.decode()
    assert "Walked through tags &lt;b&gt;and&lt;/b&gt; keys" in page
    compare = client.get(
        reverse("portal:hr_compare", kwargs={"slug": rubric.slug})
    ).content.decode()
    assert "New Person" in compare and "Practitioner" in compare and "Yes" in compare


def test_comparison_shows_levels_exam_domains_and_credential_status(
    certified, curriculum, rubric, people
):
    first = candidate_invite(
        email="c1@example.com",
        first_name="C",
        last_name="One",
        rubric=rubric,
        invited_by=people["hr"],
    )
    second = candidate_invite(
        email="c2@example.com",
        first_name="C",
        last_name="Two",
        rubric=rubric,
        invited_by=people["hr"],
    )
    complete_all(first)
    take_exam(first, curriculum, correct=10)
    evaluation = evaluation_start(subject=first, rubric=rubric, by=people["hr"])
    evaluation_update(
        evaluation=evaluation,
        levels={"visibility": LevelInput("advanced")},
        recommendation="yes",
        summary="",
        shared=False,
        by=people["hr"],
    )
    _version, rows = candidates_compare(rubric)
    assert [r.person for r in rows] == [first, second]
    assert rows[0].levels["visibility"] == "Advanced" and rows[0].credential_state == "Valid"
    assert {d["slug"] for d in rows[0].exam.domains} == {"domain-a", "domain-b"}
    assert (
        rows[1].evaluation is None
        and rows[1].exam is None
        and rows[1].credential_state == "No credential"
    )


def test_leads_and_people_find_the_evaluations_they_may_read(certified, rubric, people, client):
    evaluation = evaluation_start(subject=people["engineer"], rubric=rubric, by=people["hr"])
    url = reverse("portal:hr_evaluation", kwargs={"evaluation_id": evaluation.public_id})
    detail = reverse("portal:person_detail", kwargs={"user_id": people["engineer"].pk})
    client.force_login(people["lead"])
    assert url in client.get(detail).content.decode()
    page = client.get(url).content.decode()
    assert "Save the evaluation" not in page  # read only for a lead
    assert client.post(url, {"recommendation": "no"}).status_code == 403
    client.force_login(people["engineer"])
    assert url not in client.get(reverse("portal:my_credentials")).content.decode()
    assert client.get(url).status_code == 404
    evaluation.shared_with_subject = True
    evaluation.save()
    assert url in client.get(reverse("portal:my_credentials")).content.decode()
    assert client.get(url).status_code == 200
