"""The review page through AppTest: the demo reviewer scores the seeded tasks, opens one and resolves it."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.settings import REPO_ROOT, load_settings
from storage.db import dispose_engines
from storage.models import Annotation, GroundTruth, Project, Review, Task

APP = str(REPO_ROOT / "app.py")
TIMEOUT_S = 120
SENTIMENT = "Product review sentiment"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh demo database under tmp_path, and no cached engine or factory from another test."""
    import views.services

    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    monkeypatch.delenv("QUORUM_NO_DEMO", raising=False)
    views.services.uow_factory.clear()
    dispose_engines()
    yield tmp_path
    views.services.uow_factory.clear()
    dispose_engines()


def signed_in_reviewer() -> AppTest:
    """The demo's reviewer on the review page (the sentiment project set to review_first, so that any
    disagreement scored from here on goes to the queue too)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()  # the first run seeds the demo
    with make_uow_factory(load_settings())() as uow:
        uow.session.execute(
            update(Project).where(Project.title == SENTIMENT).values(escalation_order="review_first")
        )
        uow.commit()
    at.text_input(key="sign_in_username").input("reviewer")
    at.text_input(key="sign_in_password").input("reviewer-demo")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    at.switch_page("views/review.py").run()
    assert not at.exception, at.exception
    return at


QUEUE_KEYS = {"review_score_waiting": re.compile(r"review_queue_\d+_score$"),
              "review_open_next": re.compile(r"review_queue_\d+_next$")}  # the queue widget's keys, per project


def button(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    pattern = QUEUE_KEYS.get(key)
    return next(b for b in at.button if (pattern.match(b.key or "") if pattern else b.key == key))


def count(model, *where) -> int:  # type: ignore[no-untyped-def]
    with make_uow_factory(load_settings())() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_the_demo_reviewer_scores_the_queue_opens_a_task_and_accepts_an_answer(data_dir: Path) -> None:
    at = signed_in_reviewer()
    assert at.title[0].value == "Review"
    picker = at.selectbox(key="review_project_select")
    assert picker.format_func(picker.value) == SENTIMENT  # the first project the reviewer may review
    if any(QUEUE_KEYS["review_score_waiting"].match(b.key or "") for b in at.button):  # seeded imports are not scored yet
        button(at, "review_score_waiting").click().run()
        assert not at.exception, at.exception
    with make_uow_factory(load_settings())() as uow:
        sentiment_id = uow.session.scalar(select(Project.id).where(Project.title == SENTIMENT))
    waiting = count(Task, Task.state == "review", Task.project_id == sentiment_id)
    assert waiting > 0, "the demo has disagreements to review"
    assert at.metric[0].label == "Waiting for review" and at.metric[0].value == str(waiting)
    # Open the oldest task of the queue: one column and one Accept button per annotator.
    button(at, "review_open_next").click().run()
    assert not at.exception, at.exception
    accept = [b for b in at.button if (b.key or "").startswith("review_accept_")]
    assert len(accept) >= 2, "one Accept button per annotator"
    assert accept[0].label == "Accept" and accept[0].help.endswith("'s answer as the ground truth")
    before = count(GroundTruth)
    accept[0].click().run()
    assert not at.exception, at.exception
    assert count(GroundTruth) == before + 1
    assert count(Review, Review.verdict == "accepted") == 1


def test_sending_back_needs_a_comment_and_then_reopens_the_task(data_dir: Path) -> None:
    at = signed_in_reviewer()
    if any(QUEUE_KEYS["review_score_waiting"].match(b.key or "") for b in at.button):
        button(at, "review_score_waiting").click().run()
    button(at, "review_open_next").click().run()
    button(at, "review_send_back").click().run()
    assert any("comment is required" in e.value for e in at.error)
    assert count(Review) == 0
    reason = next(t for t in at.text_area if (t.key or "").startswith("review_reason_"))
    reason.input("Judge the product, not the delivery.")
    button(at, "review_send_back").click().run()  # nobody is chosen up front: the reviewer must choose
    assert any("choose at least one annotation" in e.value for e in at.error)
    assert count(Review) == 0
    chosen = next(m for m in at.multiselect if (m.key or "").startswith("review_reject_"))
    task_id = int(chosen.key.rsplit("_", 1)[1])
    with make_uow_factory(load_settings())() as uow:
        ids = list(uow.session.scalars(select(Annotation.id).where(Annotation.task_id == task_id,
                                                                  Annotation.was_cancelled.is_(False))))
    chosen.set_value(ids).run()
    to_whom = next(r for r in at.radio if (r.key or "").startswith("review_back_to_"))
    assert to_whom.value == "authors"  # by default the answers go back to the people who gave them
    to_whom.set_value("others").run()
    button(at, "review_send_back").click().run()
    assert not at.exception, at.exception
    assert count(Review, Review.verdict == "rejected", Review.comment == "Judge the product, not the delivery.") >= 2


def test_returning_one_answer_to_its_author_reopens_the_task_for_them(data_dir: Path) -> None:
    at = signed_in_reviewer()
    if any(QUEUE_KEYS["review_score_waiting"].match(b.key or "") for b in at.button):
        button(at, "review_score_waiting").click().run()
    button(at, "review_open_next").click().run()
    chosen = next(m for m in at.multiselect if (m.key or "").startswith("review_reject_"))
    task_id = int(chosen.key.rsplit("_", 1)[1])
    chosen.set_value([_first_annotation(task_id)]).run()
    next(t for t in at.text_area if (t.key or "").startswith("review_reason_")).input("Look at the last line.")
    button(at, "review_send_back").click().run()
    assert not at.exception, at.exception
    assert count(Review, Review.verdict == "returned", Review.comment == "Look at the last line.") == 1
    assert count(Task, Task.id == task_id, Task.state == "open") == 1


def _first_annotation(task_id: int) -> int:
    with make_uow_factory(load_settings())() as uow:
        return uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task_id,
                                                              Annotation.was_cancelled.is_(False))
                                  .order_by(Annotation.id).limit(1))


def test_the_reviewer_accepts_the_consensus_in_one_click_when_there_is_one(data_dir: Path) -> None:
    at = signed_in_reviewer()
    if any(QUEUE_KEYS["review_score_waiting"].match(b.key or "") for b in at.button):
        button(at, "review_score_waiting").click().run()
    button(at, "review_open_next").click().run()
    consensus = button(at, "review_consensus")
    assert consensus.label == "Accept the consensus"
    if consensus.disabled:  # a tie on this task: the button says why and nothing happens
        assert "No consensus" in (consensus.help or "")
        return
    before = count(GroundTruth)
    consensus.click().run()
    assert not at.exception, at.exception
    assert count(GroundTruth) == before + 1 and count(Review, Review.verdict == "consensus") == 1


def test_a_sent_back_annotation_and_its_comment_reach_its_author_on_the_label_page(data_dir: Path) -> None:
    from core.review import send_back
    from core.users import get_user
    from storage.models import User

    signed_in_reviewer()  # seeds the demo
    with make_uow_factory(load_settings())() as uow:
        project_id = uow.session.scalar(select(Project.id).where(Project.title == SENTIMENT))
        reviewer_id = uow.session.scalar(select(User.id).where(User.username == "reviewer"))
        task_id, annotation_id, author = uow.session.execute(
            select(Task.id, Annotation.id, User.username)
            .join(Annotation, Annotation.task_id == Task.id).join(User, User.id == Annotation.completed_by_id)
            .where(Task.project_id == project_id, Task.state == "review", Annotation.was_cancelled.is_(False))
            .order_by(Task.id, Annotation.id).limit(1)
        ).one()
        send_back(uow, get_user(uow, reviewer_id), task_id=task_id, comment="Judge the product, not the delivery.",
                  annotation_ids=[annotation_id])
        uow.commit()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.text_input(key="sign_in_username").input(author)
    at.text_input(key="sign_in_password").input("annotator-demo")
    at.button[0].click().run()
    at.switch_page("views/label.py").run()
    assert not at.exception, at.exception
    # a badge on the closed menu's button says something new arrived
    assert any("1 new review" in p.proto.popover.label for p in at.get("popover"))
    at.session_state["label_history_open"] = True  # the labeler opens it
    at.run()
    captions = [c.value for c in at.caption]
    # the reviewer's words as typed (markdown characters escaped, so a comment cannot format the page)
    assert f":red-badge[new] Task {task_id} · sent back: Judge the product, not the delivery\\." in captions, captions
    with make_uow_factory(load_settings())() as uow:  # looked at: no longer new
        assert uow.session.scalar(select(func.count(Review.id)).where(Review.seen_at.is_(None))) == 0
    # reopening the task says plainly that the answer is frozen and why, with the comment, and leads back
    at.session_state["QUORUM_CURRENT_TASK"] = task_id  # what its button in "My earlier tasks" does
    at.run()
    assert not at.exception, at.exception
    frozen = " ".join(i.value for i in at.info)
    assert "can no longer change" in frozen and "Judge the product, not the delivery" in frozen, frozen
    assert "nothing more is needed from you" in frozen
    assert not [w for w in at.warning if "sent this task back" in w.value]  # one message, not two
    at.button(key="label_back_to_queue").click().run()
    assert not at.exception, at.exception
    assert not [i for i in at.info if "can no longer change" in i.value]


EVIL_NAME = "**{}** [x](javascript:alert(1)) <img src=x>"


def test_display_names_show_as_typed_not_as_markdown(data_dir: Path) -> None:
    from storage.models import User

    from views.services import USER_ID_KEY

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()  # the first run seeds the demo
    with make_uow_factory(load_settings())() as uow:
        uow.session.execute(update(Project).where(Project.title == SENTIMENT).values(escalation_order="review_first"))
        for user in uow.session.scalars(select(User).where(User.username != "reviewer")):
            user.display_name = EVIL_NAME.format(user.username)
        at.session_state[USER_ID_KEY] = uow.session.scalar(select(User.id).where(User.username == "reviewer"))
        uow.commit()
    at.run()  # signed in: the pages of a reviewer are registered
    at.switch_page("views/review.py").run()
    if any(QUEUE_KEYS["review_score_waiting"].match(b.key or "") for b in at.button):
        button(at, "review_score_waiting").click().run()
    button(at, "review_open_next").click().run()
    assert not at.exception, at.exception
    accept = [b for b in at.button if (b.key or "").startswith("review_accept_")]
    radio = next(r for r in at.radio if (r.key or "").startswith("review_fix_source_"))
    shown = ([m.value for m in at.markdown] + [c.value for c in at.caption] + [b.help for b in accept]
             + [radio.format_func(o) for o in radio.options])
    unescaped = re.compile(r"(?<!\\)(<img|\[x\]|\*\*annotator)")  # markup characters without a backslash
    assert not [s for s in shown if unescaped.search(s)], shown
    escaped = [s for s in shown if "\\*\\*annotator" in s]
    assert escaped and all("\\[x\\]\\(javascript\\:alert\\(1\\)\\) \\<img src\\=x\\>" in s for s in escaped)
    assert len([s for s in escaped if s.startswith("Accept ")]) == len(accept)  # every button's tooltip
