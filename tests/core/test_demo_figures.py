"""The seeded demo's figures: active times recorded as a real session does, and the same annotation counts on
the Home card, the Quality page and My work."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.analytics import compute_project_analytics
from core.demo import ACTIVE_SHARE, demo_active_time, seed_demo
from core.my_work import work_progress
from core.projects import list_my_projects
from core.uow import UowFactory
from core.users import UserInfo, to_info
from storage.models import Annotation
from storage.repositories import users as users_repo


@pytest.fixture
def demo(make_uow: UowFactory) -> dict[str, UserInfo]:
    seed_demo(make_uow)
    with make_uow() as uow:
        return {u.username: to_info(u) for u in users_repo.all_users(uow.session)}


def test_every_seeded_annotation_has_an_active_time_a_bit_below_its_lead_time(
    make_uow: UowFactory, demo: dict[str, UserInfo]
) -> None:
    with make_uow() as uow:
        rows = uow.session.execute(select(Annotation.lead_time_s, Annotation.active_time_s, Annotation.created_at)).all()
    assert rows and all(lead is not None for lead, _, _ in rows)
    low, high = ACTIVE_SHARE
    for lead, active, created_at in rows:
        assert active is not None and low * lead - 1e-3 <= active <= high * lead + 1e-3, (lead, active)
        assert active == demo_active_time(lead, created_at)  # the same on every seed and database


def test_the_demo_active_time_is_deterministic_and_varies() -> None:
    at = dt.datetime(2026, 11, 22, 12, 31, 10)
    assert demo_active_time(7.112, at) == demo_active_time(7.112, at) == 6.373
    times = {demo_active_time(10.0, at + dt.timedelta(minutes=m)) for m in range(20)}
    assert len(times) > 10 and all(7.0 <= t <= 9.5 for t in times)


def test_home_card_quality_page_and_my_work_count_the_same_annotations_on_the_demo(
    make_uow: UowFactory, demo: dict[str, UserInfo]
) -> None:
    with make_uow() as uow:
        cards = {p.title: p for p in list_my_projects(uow, demo["admin"])}
        quality = {title: compute_project_analytics(uow, project_id=card.id) for title, card in cards.items()}
        own = {p.title: p for p in work_progress(uow, demo["annotator2"], user_id=demo["annotator2"].id)}
        cards_of_annotator2 = {p.title: p for p in list_my_projects(uow, demo["annotator2"])}
    # 106 stored, 7 of them imported ground truth: the Quality page's 99, now the card's too.
    assert cards["Product review sentiment"].n_annotations == quality["Product review sentiment"].n_annotations == 99
    for title, card in cards.items():
        assert card.n_annotations == quality[title].n_annotations, title
        people = quality[title].annotators.set_index("username")
        assert own[title].annotations == people.loc["annotator2", "annotations"], title
        assert cards_of_annotator2[title].my_annotations == own[title].annotations, title
        # Active time now shows for the demo annotators, as for a real session.
        assert people.loc[["annotator1", "annotator2", "annotator3", "annotator4"], "active_median_s"].notna().all()
