"""The review settings of a project (core.projects): the verification share and anonymous reviews, saved,
checked and audited like every other setting."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import QuorumError
from core.projects import ProjectSettings, get_project
from storage.models import AuditEvent
from tests.core.test_project_settings import save, team  # noqa: F401 - the team fixture


def test_the_review_settings_are_saved_and_audited(make_uow, team):  # noqa: F811
    admin, manager, _, project = team
    assert (project.settings.verify_rate, project.settings.anonymize_reviews) == (0.0, False)
    out = save(make_uow, manager, project, verify_rate=0.25, anonymize_reviews=True)
    assert set(out.changed) == {"verify_rate", "anonymize_reviews"}
    with make_uow() as uow:
        saved = get_project(uow, manager, project.id).settings
        detail = uow.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "project.settings")).all()[-1]
    assert (saved.verify_rate, saved.anonymize_reviews) == (0.25, True)
    assert detail["changed"]["verify_rate"] == [0.0, 0.25]


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), True])
def test_a_verification_share_outside_0_to_1_is_refused(rate):
    with pytest.raises(QuorumError, match="verification share"):
        ProjectSettings(verify_rate=rate).checked()


def test_anonymous_reviews_must_be_yes_or_no():
    with pytest.raises(QuorumError, match="anonymous reviews"):
        ProjectSettings(anonymize_reviews="yes").checked()  # type: ignore[arg-type]
    assert ProjectSettings(verify_rate=1).checked().verify_rate == 1.0
