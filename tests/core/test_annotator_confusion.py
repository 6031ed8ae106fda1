"""core.annotator_confusion on SQLite and PostgreSQL: the reference labels read from ground truth and consensus,
each annotator's confusion matrix against them, and who disagrees with whom per label (hand-counted)."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from core.annotator_confusion import (
    CONSENSUS,
    GROUND_TRUTH,
    choice_controls_of,
    confusion_matrices,
    label_disagreements,
    reference_labels,
)
from core.errors import PermissionDeniedError
from core.uow import UowFactory
from storage.models import Consensus, GroundTruth, Task
from tests.core.helpers import make_project, make_user

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Choices name="topics" toName="text" choice="multiple"><Choice value="Price"/><Choice value="Staff"/></Choices>
</View>"""


def sentiment(*labels: str) -> list[dict[str, Any]]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": list(labels)}}]


@pytest.fixture
def project(make_uow: UowFactory) -> dict[str, Any]:
    """Four tasks: gold on t1 (Positive), t2 (Negative), t3 (two labels: none for a single choice); consensus
    on t1 (Positive, 3 answers), t2 (Neutral, 2 answers), t4 (Positive, a single answer: no reference)."""
    admin = make_user(make_uow, "admin", admin=True)
    boss, ana, ben, cy = (make_user(make_uow, n) for n in ("boss", "ana", "ben", "cy"))
    info = make_project(make_uow, admin, config=CONFIG, members={"manager": [boss], "annotator": [ana, ben, cy]})
    with make_uow() as uow:
        tasks = []
        for _ in range(4):
            row = Task(project_id=info.id, data={"text": "t"}, overlap=3, state="done")
            uow.session.add(row)
            uow.session.flush()
            tasks.append(row.id)
        t1, t2, t3, t4 = tasks
        for t, result in ((t1, sentiment("Positive")), (t2, sentiment("Negative")),
                          (t3, sentiment("Positive", "Neutral"))):
            uow.session.add(GroundTruth(task_id=t, result=result, source="review"))
        for t, result, n in ((t1, sentiment("Positive"), 3), (t2, sentiment("Neutral"), 2),
                             (t4, sentiment("Positive"), 1)):
            uow.session.add(Consensus(task_id=t, result=result, method="majority_vote", agreement=1.0, n_annotations=n))
        uow.commit()
    names = {ana.id: "Ana", ben.id: "Ben", cy.id: "Cy"}
    # core.analytics' label frame of the single-choice control: ana t1 P, t2 N, t3 P; ben t1 N, t2 N; cy t1 P
    frame = pd.DataFrame([(t1, ana.id, "Positive"), (t2, ana.id, "Negative"), (t3, ana.id, "Positive"),
                          (t1, ben.id, "Negative"), (t2, ben.id, "Negative"), (t1, cy.id, "Positive")],
                         columns=["task", "annotator", "label"])
    return {"project": info, "boss": boss, "ana": ana, "tasks": tasks, "names": names, "frame": frame}


def test_reference_labels_come_from_ground_truth_or_a_consensus_of_several(make_uow: UowFactory, project) -> None:
    t1, t2, _, _ = project["tasks"]
    with make_uow() as uow:
        gold = reference_labels(uow, project["boss"], project_id=project["project"].id, against=GROUND_TRUTH)
        consensus = reference_labels(uow, project["boss"], project_id=project["project"].id, against=CONSENSUS)
    assert gold.labels["sentiment"].to_dict() == {t1: "Positive", t2: "Negative"}  # t3's two labels: none
    assert consensus.labels["sentiment"].to_dict() == {t1: "Positive", t2: "Neutral"}  # t4: a single answer
    assert set(gold.labels) == {"sentiment"}  # a multi-choice control has no confusion matrix


def test_confusion_matrices_against_ground_truth_and_consensus(make_uow: UowFactory, project) -> None:
    with make_uow() as uow:
        gold = reference_labels(uow, project["boss"], project_id=project["project"].id, against=GROUND_TRUTH)
        consensus = reference_labels(uow, project["boss"], project_id=project["project"].id, against=CONSENSUS)
        controls = choice_controls_of(uow, project["boss"], project_id=project["project"].id)
    frames = {"sentiment": project["frame"]}
    against_gold = confusion_matrices(frames, gold.labels, names=project["names"], controls=controls)["sentiment"]
    assert list(against_gold) == ["Ana", "Ben", "Cy"]
    ana = against_gold["Ana"]
    assert list(ana.index) == ["Positive", "Negative", "Neutral"] == list(ana.columns)  # the config's order
    assert ana.loc["Positive", "Positive"] == 1 and ana.loc["Negative", "Negative"] == 1
    assert ana.to_numpy().sum() == 2  # t3 has no single-label gold
    assert against_gold["Ben"].loc["Positive", "Negative"] == 1 and against_gold["Ben"].to_numpy().sum() == 2
    assert against_gold["Cy"].to_numpy().sum() == 1
    against_consensus = confusion_matrices(frames, consensus.labels, names=project["names"], controls=controls)
    assert against_consensus["sentiment"]["Ana"].loc["Neutral", "Negative"] == 1
    assert against_consensus["sentiment"]["Ben"].loc["Neutral", "Negative"] == 1


def test_label_disagreements_name_who_disagrees_with_whom(project) -> None:
    out = label_disagreements({"sentiment": project["frame"]}, names=project["names"])
    table = out.set_index(["annotator_a", "annotator_b", "label"])
    # Ana-Ben share t1 (P vs N) and t2 (N, N); Ana-Cy share t1 (P, P); Ben-Cy share t1 (N vs P)
    assert table.loc[("Ana", "Ben", "Positive"), ["n_tasks", "n_disagree"]].tolist() == [1, 1]
    assert table.loc[("Ana", "Ben", "Negative"), ["n_tasks", "n_disagree"]].tolist() == [2, 1]
    assert table.loc[("Ana", "Ben", "Negative"), "disagreement"] == pytest.approx(0.5)
    assert table.loc[("Ana", "Cy", "Positive"), "disagreement"] == pytest.approx(0.0)
    assert table.loc[("Ben", "Cy", "Positive"), "disagreement"] == pytest.approx(1.0)
    assert set(out["control"]) == {"sentiment"}
    assert (out["user_a"] < out["user_b"]).all()
    # within a label, the highest disagreement first
    positive = out[out["label"] == "Positive"]["disagreement"].tolist()
    assert positive == sorted(positive, reverse=True)


def test_multi_choice_disagreements_count_label_by_label(make_uow: UowFactory, project) -> None:
    ana, t1 = project["ana"].id, project["tasks"][0]
    ben = next(uid for uid, name in project["names"].items() if name == "Ben")
    topics = pd.DataFrame([(t1, ana, json.dumps(["Price", "Staff"])), (t1, ben, json.dumps(["Price"]))],
                          columns=["task", "annotator", "label"])
    with make_uow() as uow:
        controls = choice_controls_of(uow, project["boss"], project_id=project["project"].id)
    out = label_disagreements({"topics": topics}, names=project["names"], controls=controls).set_index("label")
    assert out.loc["Price", "disagreement"] == 0.0 and out.loc["Staff", "disagreement"] == 1.0


def test_an_annotator_cannot_read_the_references(make_uow: UowFactory, project) -> None:
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            reference_labels(uow, project["ana"], project_id=project["project"].id, against=GROUND_TRUTH)
        with pytest.raises(ValueError, match="unknown reference"):
            reference_labels(uow, project["boss"], project_id=project["project"].id, against="majority")
