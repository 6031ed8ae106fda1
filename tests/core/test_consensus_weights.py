"""Consensus weights in core.quality (the module's "Consensus weights" rule): an annotation's vote counts its
author's weight in the whole-task majority vote, the median and the Ranker's Borda count; all weights 1 is
exactly the unweighted consensus; the agreement is never weighted."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import parse_config
from core.quality import compute_consensus
from core.tags.choices import majority_vote
from core.tags.spec import ControlInput, canonical
from metrics.consensus import WeightedVote

CHOICES = parse_config('<View><Text name="t" value="$t"/><Choices name="c" toName="t">'
                       '<Choice value="A"/><Choice value="B"/><Choice value="C"/></Choices></View>')
RATING = parse_config('<View><Text name="t" value="$t"/><Rating name="r" toName="t" maxRating="5"/></View>')
NO_ANSWER = "(no answer)"


def choice(label: str) -> list[dict]:
    return [{"from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": [label]}}]


def rating(stars: int) -> list[dict]:
    return [{"from_name": "r", "to_name": "t", "type": "rating", "value": {"rating": stars}}]


def test_two_votes_against_one_turn_when_the_two_weigh_0_3_each() -> None:
    votes = [choice("A"), choice("A"), choice("B")]
    assert compute_consensus(CHOICES, {"t": "x"}, votes).result == choice("A")
    weighted = compute_consensus(CHOICES, {"t": "x"}, votes, weights=[0.3, 0.3, 1.0])
    assert weighted.result == choice("B")
    assert weighted.agreement == pytest.approx(1 / 3)  # the agreement is the annotators', unweighted
    tied = compute_consensus(CHOICES, {"t": "x"}, votes, weights=[0.5, 0.5, 1.0])
    assert tied.result == [] and tied.missing == ("c",)  # 1.0 against 1.0: no consensus


def test_weights_of_one_are_the_plain_consensus() -> None:
    votes = [choice("A"), choice("B"), []]
    assert compute_consensus(CHOICES, {"t": "x"}, votes, weights=[1.0, 1.0, 1.0]) == compute_consensus(
        CHOICES, {"t": "x"}, votes)


def test_a_rating_takes_the_weighted_median() -> None:
    votes = [rating(2), rating(2), rating(5)]
    assert compute_consensus(RATING, {"t": "x"}, votes).result[0]["value"] == {"rating": 2}
    assert compute_consensus(RATING, {"t": "x"}, votes, weights=[0.3, 0.3, 1.0]).result[0]["value"] == {"rating": 5}


def test_weights_that_do_not_match_the_annotations_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="2 annotations but 3 weights"):
        compute_consensus(CHOICES, {"t": "x"}, [choice("A"), choice("B")], weights=[1, 1, 1])


ANSWER = st.one_of(st.none(), st.sampled_from("ABC"))
WEIGHT = st.integers(1, 10).map(lambda n: n / 10)  # tenths: ties happen, as with real weights


@settings(max_examples=200, deadline=None)
@given(votes=st.lists(st.tuples(ANSWER, WEIGHT), min_size=1, max_size=7))
def test_the_weighted_majority_vote_and_metrics_weighted_vote_pick_the_same_winner_or_none(votes) -> None:
    control = CHOICES.controls["c"]
    per_annotation = [[] if a is None else choice(a) for a, _ in votes]
    weights = tuple(w for _, w in votes)
    ours = majority_vote(ControlInput(control, per_annotation, {"t": "x"}, CHOICES, (), weights))
    labels = [NO_ANSWER if a is None else canonical([a]) for a, _ in votes]
    frame = pd.DataFrame({"task": 1, "annotator": range(len(votes)), "label": labels})
    theirs = WeightedVote(weights=dict(enumerate(weights))).fit_predict(frame).iloc[0]
    if isinstance(theirs, float) and math.isnan(theirs):
        assert ours is None, f"WeightedVote sees a tie in {votes}, majority_vote picked {ours}"
    elif theirs == NO_ANSWER:
        assert ours == [], f"'no answer' wins {votes}, majority_vote gave {ours}"
    else:
        assert ours is not None and canonical(ours[0]["value"]["choices"]) == theirs, (votes, ours, theirs)


def test_a_caller_computing_a_consensus_itself_gets_the_weights_recompute_task_uses(make_uow) -> None:
    from core.annotator_actions import set_consensus_weight
    from core.quality import consensus_weights_of
    from tests.core.helpers import make_project, make_user

    admin = make_user(make_uow, "admin", admin=True)
    ana, ben = make_user(make_uow, "ana"), make_user(make_uow, "ben")
    project = make_project(make_uow, admin, members={"annotator": [ana, ben]})
    with make_uow() as uow:
        set_consensus_weight(uow, admin, project_id=project.id, user_id=ben.id, weight=0.25)
        uow.commit()
    with make_uow() as uow:
        assert consensus_weights_of(uow, project.id, [ben.id, ana.id, admin.id, ben.id]) == [0.25, 1.0, 1.0, 0.25]
