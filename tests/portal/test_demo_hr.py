"""seed_demo's HR part on the real curriculum and rubrics: idempotent, and shows everything."""

import io

import pytest

from curriculum.services import curriculum_sync
from portal.demo_hr import seed_hr
from portal.demo_people import seed_learning, seed_people
from portal.hr import candidates_compare
from portal.models import Candidacy, Credential, Evaluation, Rubric
from portal.rubrics import rubric_sync


@pytest.mark.django_db
def test_seed_hr_shows_the_hr_workflow_and_is_idempotent(signing_key):
    curriculum_sync()
    rubric_sync()
    seed_people()
    out = io.StringIO()
    seed_learning(out)
    seed_hr(out)
    counts = (Evaluation.objects.count(), Candidacy.objects.count(), Credential.objects.count())
    seed_hr(out)
    assert counts == (
        Evaluation.objects.count(),
        Candidacy.objects.count(),
        Credential.objects.count(),
    )
    carol = Evaluation.objects.get(subject__email="carol@example.com")
    assert (
        carol.shared_with_subject and carol.rubric_version.rubric.slug == "finops-ai-practitioner"
    )
    assert carol.levels.exclude(level="").count() == 7
    _version, rows = candidates_compare(Rubric.objects.get(slug="ai-platform-engineer"))
    assert len(rows) == 2 and all(r.evaluation is not None for r in rows)
    assert {r.credential_state for r in rows} == {"Valid", "No credential"}
    eve = Credential.objects.get(user__email="eve@example.com")
    assert eve.state() == Credential.State.EXPIRED
    assert "eve's credential has expired" in out.getvalue()
