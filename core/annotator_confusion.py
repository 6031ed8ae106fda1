"""Between annotators, label by label (issue 14, item 2): each annotator's confusion matrix against a
reference, and which pairs of annotators disagree about which label.

Both are pure functions of the long label frames :mod:`core.analytics` builds in its one pass over the
annotations (``ProjectAnalytics.label_frames``: single-choice control -> ``task``, ``annotator`` (user id),
``label``) and of its reference labels (``ProjectAnalytics.gold_labels`` / ``consensus_labels``: control ->
label per task), so they read nothing again. For a caller without those (the CLI, a test),
:func:`reference_labels` reads the references in one set-based query, and :func:`choice_controls_of` gives
the controls' options in config order (both need ``Action.ANALYTICS``).

* :func:`confusion_matrices`: per single-choice control and annotator, the counts of (reference label, their
  label) over their tasks with a reference -- rows the reference, columns the annotator
  (:func:`metrics.confusion.confusion_matrices`), labels in the config's order when given;
* :func:`label_disagreements`: per control, label and pair of annotators, on the tasks both answered where at
  least one of the two chose the label, how often the other did not
  (:func:`metrics.label_agreement.pairwise_label_disagreement`): "Ana and Ben disagree on Neutral 40%
  (n=25)". A multi-choice frame (its labels the JSON lists of :mod:`core.analytics`) counts label by label.

Skips and imported gold annotations are not in the frames (core.analytics' rule), so a task's imported gold is
never compared with itself; the consensus of a single annotation is no reference (it is that answer).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.permissions import Action, require
from core.project_analytics import ChoiceControl, choice_controls, choice_rows, chosen_labels
from core.quality import project_config
from core.uow import UnitOfWork
from core.users import UserInfo
from metrics.confusion import confusion_matrices as per_annotator_matrices
from metrics.label_agreement import pairwise_label_disagreement
from storage.repositories import project_analytics as repo

GROUND_TRUTH = "ground truth"
CONSENSUS = "consensus"
REFERENCES = {GROUND_TRUTH: repo.REFERENCE_GROUND_TRUTH, CONSENSUS: repo.REFERENCE_CONSENSUS}
DISAGREEMENT_COLUMNS = ["control", "label", "user_a", "user_b", "annotator_a", "annotator_b", "n_tasks", "n_disagree",
                        "disagreement"]


@dataclass(frozen=True)
class ReferenceLabels:
    """What the annotators are compared with: per whole-task single-choice control, a label per task."""

    against: str  # GROUND_TRUTH or CONSENSUS
    labels: dict[str, pd.Series]  # single-choice control -> reference label, indexed by task id


def choice_controls_of(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> dict[str, ChoiceControl]:
    """The project's whole-task choice controls with their options in config order (for the order of a
    confusion matrix's labels) and whether each takes several. Needs ``Action.ANALYTICS``."""
    project = require(uow, user, project_id, Action.ANALYTICS)
    return choice_controls(project_config(project.config_xml))


def reference_labels(uow: UnitOfWork, user: UserInfo, *, project_id: int, against: str) -> ReferenceLabels:
    """The reference label per task of each whole-task single-choice control: ``against`` is
    ``"ground truth"`` or ``"consensus"`` (resting on two or more annotations). A reference that chose no
    label or several for a control has none for it. Needs ``Action.ANALYTICS``."""
    if against not in REFERENCES:
        raise ValueError(f"unknown reference {against!r}; expected one of {sorted(REFERENCES)}")
    project = require(uow, user, project_id, Action.ANALYTICS)
    cfg = project_config(project.config_xml)
    single = [name for name, control in choice_controls(cfg).items() if not control.multiple]
    found: dict[str, dict[int, str]] = {name: {} for name in single}
    if single:
        decoded: dict[int, dict[str, tuple[str, ...]]] = {}  # by id(): equal texts are one decoded object
        for task_id, result in repo.reference_results(uow.session, project_id, REFERENCES[against]):
            chosen = decoded.get(id(result))
            if chosen is None:
                chosen = decoded[id(result)] = chosen_labels(cfg, result, single)
            for name, labels in chosen.items():
                if len(labels) == 1:
                    found[name][task_id] = labels[0]
    return ReferenceLabels(against, {name: pd.Series(by_task, dtype=object) for name, by_task in found.items()
                                     if by_task})


def _name(names: Mapping[int, str], user_id: Any) -> str:
    return names.get(int(user_id), str(user_id))


def confusion_matrices(label_frames: Mapping[str, pd.DataFrame], references: Mapping[str, pd.Series], *,
                       names: Mapping[int, str],
                       controls: Mapping[str, ChoiceControl] | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """Per single-choice control with a reference, per annotator (by display name; ``names``: user id ->
    name, as ``ProjectAnalytics.names``), the confusion matrix of their labels against ``references``
    (control -> label per task: ``ProjectAnalytics.gold_labels``, ``consensus_labels`` or
    :attr:`ReferenceLabels.labels`): an int frame, rows the reference label (index ``reference``), columns
    the annotator's (``label``), in the order of the control's options when ``controls`` gives them, then
    any other label seen. Annotators are in name order; one with no task that has a reference is absent, and
    so is a control without any."""
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for name, truth in references.items():
        frame = label_frames.get(name)
        if frame is None or frame.empty or truth.empty:
            continue
        control = (controls or {}).get(name)
        if control is not None and control.multiple:
            continue  # a confusion matrix needs one label per answer
        matrices = per_annotator_matrices(frame[["task", "annotator", "label"]], truth,
                                          categories=list(control.labels) if control is not None else None)
        if matrices:
            out[name] = {_name(names, user_id): matrices[user_id]
                         for user_id in sorted(matrices, key=lambda u: _name(names, u))}
    return out


def label_disagreements(label_frames: Mapping[str, pd.DataFrame], *, names: Mapping[int, str],
                        controls: Mapping[str, ChoiceControl] | None = None) -> pd.DataFrame:
    """Per control of ``label_frames``, label and pair of annotators: ``n_tasks`` shared tasks where at least
    one of the two chose the label, ``n_disagree`` of them where only one did, and ``disagreement`` = their
    share (DISAGREEMENT_COLUMNS; ``user_a < user_b``, names from ``names``). ``controls`` gives the label
    order and which frames are multi-choice (their labels JSON lists, judged label by label); without it
    every frame is read as single-choice. Sorted by control, label, then disagreement, highest first."""
    parts = []
    for name, frame in label_frames.items():
        if frame.empty:
            continue
        control = (controls or {}).get(name) or ChoiceControl(name, (), False)
        pairs = pairwise_label_disagreement(choice_rows(frame, control))
        if pairs.empty:
            continue
        rank = {label: i for i, label in enumerate(control.labels)}
        pairs = pairs.rename(columns={"annotator_a": "user_a", "annotator_b": "user_b"}).assign(
            control=name,
            annotator_a=lambda f: f["user_a"].map(lambda u: _name(names, u)),
            annotator_b=lambda f: f["user_b"].map(lambda u: _name(names, u)),
            _rank=lambda f: f["label"].map(lambda v: rank.get(v, len(rank))),
        )
        pairs = pairs.sort_values(["_rank", "label", "disagreement", "annotator_a", "annotator_b"],
                                  ascending=[True, True, False, True, True], kind="stable")
        parts.append(pairs[DISAGREEMENT_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=DISAGREEMENT_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"user_a": np.int64, "user_b": np.int64, "n_tasks": np.int64, "n_disagree": np.int64,
                       "disagreement": float})
