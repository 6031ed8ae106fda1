"""A labeler's progress (core.labeling.my_progress) counts a task a reviewer returned to them once: to do, not
also as submitted; once corrected, it is handled again."""
from __future__ import annotations

from sqlalchemy import select

from core.labeling import my_progress, submit_annotation
from core.review import return_to_authors
from storage.models import Annotation
from tests.core.test_review_queue import Team, call, choice


def test_a_returned_task_counts_once_as_to_do_until_its_author_corrects_it(make_uow):
    team = Team(make_uow, n_tasks=3)
    ana = team.annotators[0]
    task_id = team.pair("Positive", "Negative")

    def progress():
        with make_uow() as uow:
            return my_progress(uow, ana, project_id=team.project.id)

    before = progress()
    assert (before.submitted, before.left_for_me, before.total, before.returned_task_ids) == (1, 2, 3, ())
    with make_uow() as uow:
        anas = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task_id,
                                                              Annotation.completed_by_id == ana.id))
    call(make_uow, return_to_authors, team.reviewers[0], task_id=task_id, comment="look again", annotation_ids=[anas])
    returned = progress()
    # to do again, not done: the total stays 3 (it was 4 when the task counted both ways)
    assert (returned.submitted, returned.left_for_me, returned.total, returned.returned_task_ids) == \
        (0, 3, 3, (task_id,))
    with make_uow() as uow:  # Ana corrects her answer
        submit_annotation(uow, ana, task_id=task_id, result=choice("Negative"))
        uow.commit()
    after = progress()
    assert (after.submitted, after.handled, after.total, after.returned_task_ids) == (1, 1, 3, ())
