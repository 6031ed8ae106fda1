"""The behaviour half of the tag registry (core/tags): every labelable kind says what it does.

* every labelable control kind (``TAG_KINDS``: category CONTROL, ``has_widget``) and the result-making Chat
  object has a :class:`core.tags.TagBehaviour`; an empty slot (agreement, consensus, gold) must come with a
  ``fallback``; attrs parsers give frozen dataclasses; every export name is a format of the registry;
* ``majority_vote`` (core/tags/choices.py) and :class:`metrics.consensus.MajorityVote` agree on random votes,
  ties and "no answer" included;
* ``cli.py config check FILE --format json`` over every Label Studio template names, per control, the
  callables the registry resolves (or the fallback that applies instead).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import config as config_command
from core.config import TAG_KINDS, parse_config
from core.config.registry import TagCategory
from core.formats.registry import FORMATS
from core.tags import BEHAVIOURS, attrs_of, behaviour_of
from core.tags.choices import majority_vote
from core.tags.spec import ControlAttrs, ControlInput, Fallback, TagBehaviour, canonical
from metrics.consensus import MajorityVote
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[2]

LABELABLE = sorted(k.name for k in TAG_KINDS.values() if k.category is TagCategory.CONTROL and k.has_widget)
RESULT_OBJECTS = sorted(k.name for k in TAG_KINDS.values() if k.is_object and k.has_widget and k.result_type)
EXPECTED_LABELABLE = {
    "Choices", "Labels", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "KeyPointLabels", "KeyPoint",
    "TextArea", "Rating", "Number", "DateTime", "Taxonomy", "Pairwise", "Ranker", "Relations", "HyperTextLabels",
    "ParagraphLabels", "TimeSeriesLabels", "TimelineLabels",
}


# --- the registry walk -----------------------------------------------------------------------------------


def test_the_labelable_kinds_are_the_twenty_of_issue_12_plus_chat() -> None:
    assert set(LABELABLE) == EXPECTED_LABELABLE, "the labelable control kinds changed: update this test and core/tags"
    assert RESULT_OBJECTS == ["Chat"]


@pytest.mark.parametrize("tag", LABELABLE + RESULT_OBJECTS)
def test_every_labelable_kind_has_a_behaviour_with_no_silent_empty_slot(tag: str) -> None:
    behaviour = behaviour_of(tag)
    assert isinstance(behaviour, TagBehaviour), f"{tag} has no behaviour in core/tags"
    assert behaviour_of(tag.lower()) is behaviour and behaviour_of(tag.upper()) is behaviour
    empty = [slot for slot in ("agreement", "consensus", "gold") if getattr(behaviour, slot) is None]
    if empty:
        assert isinstance(behaviour.fallback, Fallback), f"{tag}: {', '.join(empty)} None without a fallback"
    for slot in ("agreement", "consensus"):
        fn = getattr(behaviour, slot)
        assert fn is None or callable(fn), f"{tag}.{slot} is not callable"
        assert fn is None or fn.__name__ not in ("<lambda>", ""), f"{tag}.{slot} has no name for config check"
    if behaviour.gold is not None:
        assert callable(behaviour.gold.evidence) and callable(behaviour.gold.summarise), f"{tag}.gold"
        assert behaviour.gold.name, f"{tag}.gold has no name"
    assert callable(behaviour.validate) and callable(behaviour.attrs) and callable(behaviour.options)
    assert behaviour.level in (None, "nominal", "ordinal", "interval"), f"{tag}.level {behaviour.level!r}"
    unknown = [name for name in behaviour.exports if name not in FORMATS]
    assert not unknown, f"{tag} exports to unknown formats {unknown}; known: {sorted(FORMATS)}"


def _config_with(tag: str) -> str:
    """A minimal config holding one ``tag`` (attrs parsers need a real ControlTag)."""
    objects = {"Choices": "Text", "Labels": "Text", "TextArea": "Text", "Rating": "Text", "Number": "Text",
               "DateTime": "Text", "Taxonomy": "Text", "Pairwise": "Text", "Ranker": "List",
               "HyperTextLabels": "HyperText", "ParagraphLabels": "Paragraphs", "TimeSeriesLabels": "TimeSeries",
               "TimelineLabels": "Video", "Relations": "Text"}
    obj = objects.get(tag, "Image")
    inner = {"Choices": '<Choice value="A"/>', "Taxonomy": '<Choice value="A"/>', "Ranker": '<Bucket name="b"/>',
             "Relations": '<Relation value="r"/>'}.get(tag, '<Label value="A"/>' if TAG_KINDS[tag].option_kinds else "")
    channel = '<Channel column="v"/>' if obj == "TimeSeries" else ""
    extra = '<Labels name="ner" toName="obj"><Label value="X"/></Labels>' if tag == "Relations" else ""
    return (f'<View><{obj} name="obj" value="$obj">{channel}</{obj}>{extra}'
            f'<{tag} name="ctl" toName="obj">{inner}</{tag}></View>')


@pytest.mark.parametrize("tag", LABELABLE)
def test_attrs_parsers_return_frozen_dataclasses_and_result_types_resolve(tag: str) -> None:
    cfg = parse_config(_config_with(tag))
    control = next(c for c in cfg.controls.values() if c.tag == tag)
    parsed = behaviour_of(tag).attrs(control)
    assert isinstance(parsed, ControlAttrs) and dataclasses.is_dataclass(parsed)
    assert type(parsed).__dataclass_params__.frozen, f"{tag}: {type(parsed).__name__} is not frozen"
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.per_region = True  # type: ignore[misc]
    assert attrs_of(control) == parsed
    assert cfg.result_type(control.name) == TAG_KINDS[tag].result_type
    assert TAG_KINDS[tag].result_type, f"{tag} declares no result type"


def test_result_types_resolve_back_to_one_kind() -> None:
    by_type: dict[str, list[str]] = {}
    for name in LABELABLE + RESULT_OBJECTS:
        by_type.setdefault(str(TAG_KINDS[name].result_type), []).append(name)
    assert all(len(names) == 1 for names in by_type.values()), by_type
    assert set(BEHAVIOURS) >= set(LABELABLE) | set(RESULT_OBJECTS)


# --- majority_vote vs metrics.consensus.MajorityVote ----------------------------------------------------------

VOTE_CFG = parse_config('<View><Text name="t" value="$t"/><Choices name="c" toName="t" choice="multiple">'
                        '<Choice value="A"/><Choice value="B"/><Choice value="C"/></Choices></View>')
NO_ANSWER = "(no answer)"
ANSWER = st.one_of(st.none(), st.lists(st.sampled_from("ABC"), min_size=1, max_size=2, unique=True))


def _item(choices: list[str]) -> dict:
    return {"from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": choices}}


@settings(max_examples=200, deadline=None)
@given(answers=st.lists(ANSWER, min_size=1, max_size=7))
def test_majority_vote_and_metrics_majority_vote_pick_the_same_winner_or_none(answers: list[list[str] | None]) -> None:
    control = VOTE_CFG.controls["c"]
    per_annotation = [[] if a is None else [_item(a)] for a in answers]
    ours = majority_vote(ControlInput(control, per_annotation, {"t": "x"}, VOTE_CFG))
    labels = [NO_ANSWER if a is None else canonical(sorted(a)) for a in answers]
    frame = pd.DataFrame({"task": 1, "annotator": range(len(answers)), "label": labels})
    theirs = MajorityVote().fit_predict(frame).iloc[0]
    if isinstance(theirs, float) and math.isnan(theirs):
        assert ours is None, f"MajorityVote sees a tie in {labels}, majority_vote picked {ours}"
    elif theirs == NO_ANSWER:
        assert ours == [], f"'no answer' wins {labels}, majority_vote gave {ours}"
    else:
        assert ours is not None and len(ours) == 1, f"MajorityVote picks {theirs} in {labels}, majority_vote {ours}"
        assert canonical(sorted(ours[0]["value"]["choices"])) == theirs


# --- config check over every Label Studio template --------------------------------------------------------


def _templates() -> list[Path]:
    root = shared_path("ls-templates")
    found = sorted(root.glob("*.xml")) + sorted((root / "config-xml").glob("*.xml"))
    assert len(found) >= 40, f"expected the Label Studio templates in {root}, found {len(found)}"
    return found


def _check_in_process(path: Path) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = config_command._check(argparse.Namespace(file=str(path), format="json", json=False))
    return code, json.loads(out.getvalue())


def _assert_plan_matches_registry(path: Path, report: dict) -> None:
    cfg = parse_config(path.read_text(encoding="utf-8-sig"))
    assert report["controls"], f"{path.name}: config check lists no controls"
    for entry in report["controls"]:
        where = f"{path.name}: {entry['tag']} {entry['name']!r}"
        behaviour = behaviour_of(entry["tag"])
        assert behaviour is not None, f"{where}: no behaviour"
        has_both = entry["agreement"] is not None and entry["consensus"] is not None
        assert has_both or entry["fallback"], f"{where}: neither agreement+consensus nor a fallback: {entry}"
        control = cfg.controls.get(entry["name"])
        if control is None:  # a result-making object: an editable Chat
            assert entry["tag"] == "Chat" and entry["fallback"] == Fallback.REVIEW.value, where
            continue
        # perRegion controls go through their family's builder per consensus region (core.quality.per_region_consensus)
        assert entry["agreement"] == (behaviour.agreement.__name__ if behaviour.agreement else None), where
        assert entry["consensus"] == (behaviour.consensus.__name__ if behaviour.consensus else None), where
        assert entry["gold"] == (behaviour.gold.name if behaviour.gold else None), where
        # every control goes to the universal formats; its family's own only where they apply to the config
        assert entry["exports"][:4] == ["JSON", "JSON_MIN", "CSV", "TSV"], where
        assert set(entry["exports"][4:]) <= set(behaviour.exports), where
        assert entry["per_region"] == control.per_region, where
        assert entry["fallback"] == (behaviour.fallback.value if behaviour.fallback and not has_both else None), where


def test_config_check_json_names_the_registry_callables_for_every_template() -> None:
    supported, failures = 0, []
    for path in _templates():
        code, report = _check_in_process(path)
        if not report["supported"]:
            assert code != 0 and report["problems"], f"{path.name}: unsupported without a problem"
            continue
        supported += 1
        assert code == 0, f"{path.name}: supported but exit {code}"
        try:
            _assert_plan_matches_registry(path, report)
        except AssertionError as exc:  # collect them all: one template's failure should not hide the others
            failures.append(str(exc).splitlines()[0])
    assert not failures, f"{len(failures)} template controls disagree with the registry:\n" + "\n".join(failures)
    assert supported >= 40, f"only {supported} templates are supported"


@pytest.mark.parametrize("name", [
    "chat__chat_eval.xml", "natural-language-processing__relation-extraction.xml",
    "computer-vision__object-detection-with-bounding-boxes.xml",
])
def test_config_check_json_from_the_command_line(name: str) -> None:
    path = shared_path("ls-templates", name)
    proc = subprocess.run([sys.executable, "cli.py", "config", "check", str(path), "--format", "json"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["supported"]
    assert report == _check_in_process(path)[1]
    _assert_plan_matches_registry(path, report)


def test_every_labelable_region_kind_names_its_regions() -> None:
    """Messages say "box 2", "span 1", "segment 3" -- the family's word, not a table of tag names elsewhere."""
    from core.config.registry import TAG_KINDS

    unnamed = [k.name for k in TAG_KINDS.values() if k.is_control and k.has_widget and k.is_region
               and (behaviour_of(k.name) is None or behaviour_of(k.name).region_noun == "region")]
    assert not unnamed, unnamed
