"""Object-level permission matrix over EVERY portal URL.

The standing learner (alice, "owner") has a passed attempt with its credential and an open
attempt. Each other persona asks for alice's objects and must get a 404, a 403 or a redirect
to sign in, and never a page that carries alice's data, except where sharing is the point
(the public credential page) or the role exists for it (HR everyone; the lead of her team).
A URL added to portal/urls.py without a row here fails the test.
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, reverse
from django.utils import timezone

from portal.hr import evaluation_start
from portal.models import AttemptQuestion, ExamAttempt, SummaryBatch
from portal.roles import Role
from portal.urls import urlpatterns
from tests.factories import UserFactory
from tests.portal.conftest import complete_all

LOGIN = "login"  # a redirect to the sign-in page
PERSONAS = ["anonymous", "owner", "outsider", "teammate", "hr", "lead", "admin"]
SECRET = "alice@example.com"


def row(anonymous, owner, outsider, teammate, hr, lead, admin, *, private=True, method="get"):
    return {
        "expect": dict(zip(PERSONAS, [anonymous, owner, outsider, teammate, hr, lead, admin])),
        "private": private,  # non-owners who get a 200 must not see alice's data
        "method": method,
    }


def everyone(code, **kwargs):
    return row(code, code, code, code, code, code, code, **kwargs)


def signed_in(code, **kwargs):
    return row(LOGIN, code, code, code, code, code, code, **kwargs)


MATRIX = {
    "home": everyone(200),
    "login": everyone(200),
    "logout": everyone(302, method="post"),
    "signup": row(200, 302, 302, 302, 302, 302, 302),
    "password_reset": everyone(200),
    "password_reset_done": everyone(200),
    "password_reset_confirm": everyone(200),  # with a bogus token: "link no longer valid"
    "password_reset_complete": everyone(200),
    "catalogue": signed_in(200),
    "dashboard": signed_in(200),
    "spend": row(LOGIN, 200, 200, 200, 403, 200, 200, private=False),  # own teams only
    "spend_org": row(LOGIN, 403, 403, 403, 403, 403, 200, private=False),  # FinOps admins
    "spend_records": row(LOGIN, 200, 200, 200, 403, 200, 200, private=False),  # own teams
    "spend_records_csv": row(LOGIN, 200, 200, 200, 403, 200, 200, private=False),
    # FinOps admins only; 400 = allowed, but no month given (test_board_report downloads one)
    "board_report": row(LOGIN, 403, 403, 403, 403, 403, 400, private=False),
    "xapi_statements": row(LOGIN, 403, 403, 403, 403, 403, 200, private=False),
    "module_detail": signed_in(200),
    "section_read": signed_in(302, method="post"),
    "module_quiz": signed_in(200),
    "exam_home": signed_in(200),
    "attempt_question": row(LOGIN, 200, 404, 404, 404, 404, 404),
    "attempt_finish": row(LOGIN, 200, 404, 404, 404, 404, 404),
    "attempt_report": row(LOGIN, 200, 404, 404, 404, 404, 404),
    "my_credentials": signed_in(200),
    "revocation_list": everyone(200),
    "credential_verify": everyone(200, private=False),  # public by design
    "credential_json": everyone(200, private=False),  # public by design
    "credential_revoke": row(LOGIN, 403, 403, 403, 302, 403, 302, method="post"),
    "issuer": everyone(200),
    "people": row(LOGIN, 403, 403, 403, 200, 200, 403, private=False),
    "people_invite": row(LOGIN, 403, 403, 403, 200, 403, 200),
    "person_detail": row(LOGIN, 403, 403, 403, 200, 200, 403, private=False),
    # HR (#11): HR everything; a team lead the evaluations and summaries of their team's
    # members; a person their own summary, and an evaluation only once HR shares it.
    "hr_home": row(LOGIN, 403, 403, 403, 200, 403, 403, private=False),
    "hr_rubric": row(LOGIN, 403, 403, 403, 200, 403, 403, private=False),
    "hr_rubric_edit": row(LOGIN, 403, 403, 403, 200, 403, 403),
    "hr_candidate_invite": row(LOGIN, 403, 403, 403, 200, 403, 403),
    "hr_compare": row(LOGIN, 403, 403, 403, 200, 403, 403),
    "hr_evaluation_start": row(LOGIN, 403, 403, 403, 302, 403, 403, method="post"),
    "hr_evaluation": row(LOGIN, 404, 404, 404, 200, 200, 404, private=False),
    "person_summary": row(LOGIN, 200, 404, 404, 200, 200, 404, private=False),
    "hr_bulk": row(LOGIN, 403, 403, 403, 200, 403, 403, private=False),
    "hr_bulk_status": row(LOGIN, 403, 403, 403, 200, 403, 403),
    "hr_bulk_download": row(LOGIN, 403, 403, 403, 404, 403, 403),  # HR's own, not built yet
    "hr_log": row(LOGIN, 403, 403, 403, 200, 403, 403, private=False),
    # The Run stage: everyone signed in sees the actions of their teams (none here); an
    # action id they may not see (here: none exists) is 404 for reading and deciding.
    "remediation": signed_in(200, private=False),
    "connections": row(LOGIN, 403, 403, 403, 403, 403, 200, private=False),  # FinOps admins
    "remediation_action": signed_in(404),
    "remediation_decide": signed_in(404, method="post"),
    "my_summary": signed_in(200),
    "paper_preference": signed_in(302, method="post"),
}


@pytest.fixture
def world(people, certified, curriculum, rubric):
    engineer = people["engineer"]
    evaluation = evaluation_start(subject=engineer, rubric=rubric, by=people["hr"])
    batch = SummaryBatch.objects.create(
        requested_by=people["hr"],
        subject_ids=[engineer.pk],
        total=1,
        expires_at=timezone.now() + timedelta(hours=24),
    )
    passed = ExamAttempt.objects.get(user=engineer)
    open_attempt = ExamAttempt.objects.create(
        user=engineer,
        exam=curriculum,
        exam_version=1,
        started_at=timezone.now(),
        deadline=timezone.now() + timedelta(minutes=15),
        question_count=passed.question_count,
        pass_mark=passed.pass_mark,
    )
    AttemptQuestion.objects.bulk_create(
        AttemptQuestion(
            attempt=open_attempt,
            position=item.position,
            question=item.question,
            domain=item.domain,
            choice_order=item.choice_order,
        )
        for item in AttemptQuestion.objects.filter(attempt=passed)
    )
    complete_all(people["outsider"])  # the outsider has progress of their own
    admin = UserFactory(email="admin2@example.com", roles=[Role.FINOPS_ADMIN, Role.LEARNER])
    return {
        "rubric": rubric,
        "evaluation": evaluation,
        "batch": batch,
        "passed": passed,
        "open": open_attempt,
        "credential": certified,
        "users": {
            "owner": engineer,
            "outsider": people["outsider"],
            "teammate": people["teammate"],
            "hr": people["hr"],
            "lead": people["lead"],
            "admin": admin,
        },
    }


def kwargs_for(name, world):
    return {
        "password_reset_confirm": {"uidb64": "MQ", "token": "bogus-token"},
        "module_detail": {"slug": "alpha"},
        "section_read": {"slug": "alpha"},
        "module_quiz": {"slug": "alpha"},
        "attempt_question": {"attempt_id": world["open"].public_id, "position": 1},
        "attempt_finish": {"attempt_id": world["open"].public_id},
        "attempt_report": {"attempt_id": world["passed"].public_id},
        "credential_verify": {"credential_id": world["credential"].pk},
        "credential_json": {"credential_id": world["credential"].pk},
        "credential_revoke": {"credential_id": world["credential"].pk},
        "person_detail": {"user_id": world["users"]["owner"].pk},
        "hr_rubric": {"slug": world["rubric"].slug},
        "hr_rubric_edit": {"slug": world["rubric"].slug},
        "hr_candidate_invite": {"slug": world["rubric"].slug},
        "hr_compare": {"slug": world["rubric"].slug},
        "hr_evaluation_start": {"slug": world["rubric"].slug},
        "hr_evaluation": {"evaluation_id": world["evaluation"].public_id},
        "person_summary": {"user_id": world["users"]["owner"].pk},
        "hr_bulk_status": {"batch_id": world["batch"].pk},
        "hr_bulk_download": {"batch_id": world["batch"].pk},
        "remediation_action": {"action_id": 999999},
        "remediation_decide": {"action_id": 999999, "decision": "approve"},
    }.get(name, {})


def test_every_portal_url_is_in_the_matrix():
    names = {p.name for p in urlpatterns if isinstance(p, URLPattern)}
    assert names == set(MATRIX)


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_url_leaks_another_learners_data(client, world, persona):
    if persona != "anonymous":
        client.force_login(world["users"][persona])
    failures = []
    for name, spec in MATRIX.items():
        url = reverse(f"portal:{name}", kwargs=kwargs_for(name, world))
        data = {
            "section_read": {"section": "learning-objectives"},
            "credential_revoke": {"reason": "matrix test"},
            "hr_evaluation_start": {"user": world["users"]["owner"].pk},
            "paper_preference": {"paper_size": "a4"},
        }.get(name, {})
        response = getattr(client, spec["method"])(url, data)
        expected = spec["expect"][persona]
        got = response.status_code
        if expected == LOGIN:
            ok = got == 302 and "/accounts/login/" in response["Location"]
        else:
            ok = got == expected
        if not ok:
            failures.append(f"{name}: expected {expected}, got {got}")
            continue
        if name == "logout":  # signed out now: sign back in for the next URLs
            if persona != "anonymous":
                client.force_login(world["users"][persona])
            continue
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        leaked = SECRET in body or str(world["open"].public_id) in body
        if persona != "owner" and spec["private"] and got == 200 and leaked:
            failures.append(f"{name}: shows alice's data to {persona}")
        # The LRS export is the one place (admins only) where statements carry attempt ids.
        exempt = name == "xapi_statements"
        if persona != "owner" and not exempt and str(world["passed"].public_id) in body:
            failures.append(f"{name}: shows alice's attempt id to {persona}")
    assert failures == []


def test_team_lead_sees_only_the_members_of_teams_they_lead(client, world, people):
    client.force_login(people["lead"])
    html = client.get(reverse("portal:people")).content.decode()
    assert "alice@example.com" in html and "dan@example.com" in html
    assert "bob@example.com" not in html and "hr@example.com" not in html
    outsider = reverse("portal:person_detail", kwargs={"user_id": people["outsider"].pk})
    assert client.get(outsider).status_code == 404


def test_hr_sees_everyone_but_no_exam_answers(client, world, people):
    client.force_login(people["hr"])
    html = client.get(reverse("portal:people")).content.decode()
    assert all(email in html for email in ("alice@", "bob@", "dan@"))
    # Staff who never learn are not listed (the fixture's lead has no Learner role) ...
    rows = html[html.index("<tbody>") : html.index("</tbody>")]
    assert not any(email in rows for email in ("lead@", "hr@", "finops@"))
    # ... until they do.
    from tests.portal.conftest import complete_module

    complete_module(people["lead"], "alpha", quiz=False)
    assert "lead@" in client.get(reverse("portal:people")).content.decode()
    detail = client.get(
        reverse("portal:person_detail", kwargs={"user_id": people["engineer"].pk})
    ).content.decode()
    assert "Module Alpha" in detail and "Test exam" in detail
    assert str(world["passed"].public_id) not in detail


def test_learners_see_only_their_own_attempts_on_the_exam_page(client, world, people):
    client.force_login(people["outsider"])
    html = client.get(reverse("portal:exam_home")).content.decode()
    assert str(world["passed"].public_id) not in html
    client.force_login(people["engineer"])
    html = client.get(reverse("portal:exam_home")).content.decode()
    assert "Resume the exam" in html
