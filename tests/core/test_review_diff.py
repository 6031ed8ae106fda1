"""core.review_diff: what differs between annotators, per tag family, and the review table's answers."""
from __future__ import annotations

from core.config import parse_config
from core.quality import compute_consensus
from core.review_diff import (
    COMPARERS,
    RegionComparison,
    Spread,
    TextComparison,
    Votes,
    compare_task,
    difference_summary,
    question_of,
    word_diff,
)
from core.tags import BEHAVIOURS

IMAGE = """<View>
  <Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <KeyPointLabels name="kp" toName="img"><Label value="Eye"/></KeyPointLabels>
</View>"""

NER = """<View>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="LOC"/><Label value="MISC"/></Labels>
  <Text name="text" value="$text"/>
</View>"""

AUDIO = """<View>
  <Audio name="audio" value="$audio"/>
  <Header value="Type exactly what the caller says"/>
  <TextArea name="transcription" toName="audio"/>
  <Choices name="quality" toName="audio"><Choice value="Clear"/><Choice value="Noisy"/><Choice value="Bad"/></Choices>
  <Rating name="stars" toName="audio" maxRating="5"/>
  <Number name="speakers" toName="audio" min="0" max="10"/>
</View>"""

TEXT = "Ada Lovelace met Charles Babbage in London at the Royal Society."


def box(x: float, y: float, label: str, w: float = 20, h: float = 20) -> dict:
    return {"id": f"{label}{x}{y}", "from_name": "box", "to_name": "img", "type": "rectanglelabels",
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def span(start: int, end: int, label: str) -> dict:
    return {"id": f"s{start}{label}", "from_name": "ner", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": [label], "text": TEXT[start:end]}}


def whole(name: str, kind: str, key: str, answer: object) -> dict:
    return {"from_name": name, "to_name": "audio", "type": kind, "value": {key: answer}}


def _compare(xml: str, annotations: list[tuple[str, list[dict]]], data: dict) -> dict:
    cfg = parse_config(xml)
    outcome = compute_consensus(cfg, data, [r for _, r in annotations])
    return {c.control.name: c for c in compare_task(cfg, data, annotations, outcome.result,
                                                    no_consensus=outcome.missing)}


def test_every_family_has_a_comparer() -> None:
    assert {b.family for b in BEHAVIOURS.values()} <= set(COMPARERS)


def test_boxes_are_matched_to_the_consensus_and_a_lone_box_says_who_drew_it() -> None:
    alice = [box(10, 10, "Car"), box(60, 60, "Person")]
    bob = [box(11, 10, "Car")]
    carol = [box(10, 11, "Car"), box(60, 61, "Car")]  # the same place as alice's Person, another label
    got = _compare(IMAGE, [("alice", alice), ("bob", bob), ("carol", carol)], {"image": "x.jpg"})["box"]
    detail = got.detail
    assert isinstance(detail, RegionComparison) and detail.layout == "image"
    (car,) = detail.consensus
    assert car.label == "Car" and car.drawn_by == ("alice", "bob", "carol") and car.missed_by == ()
    lone = {r.annotator: r for r in detail.unmatched}
    assert set(lone) == {"alice", "carol"}
    assert lone["alice"].only_one and lone["alice"].note == "only alice drew it; carol drew it as Car"
    assert lone["carol"].note == "only carol drew it; alice drew it as Person"
    assert got.summary == "alice: Car ×1, Person ×1 · bob: Car ×1 · carol: Car ×2"
    assert not got.agree


def test_with_two_annotators_a_box_only_one_drew_stands_out_though_the_consensus_keeps_it() -> None:
    """Half the annotators is enough for the consensus, so with two a lone box is in it; it must still be
    marked for the reviewer as drawn by one person only."""
    alice = [box(10, 10, "Car"), box(60, 60, "Car")]
    bob = [box(11, 10, "Car")]
    detail = _compare(IMAGE, [("alice", alice), ("bob", bob)], {"image": "x.jpg"})["box"].detail
    assert isinstance(detail, RegionComparison)
    (lone,) = detail.unmatched
    assert lone.annotator == "alice" and lone.matched and detail.stands_out(lone)
    assert lone.note.startswith("only alice drew it")
    shared = [r for r in detail.regions if not detail.stands_out(r)]
    assert {r.annotator for r in shared} == {"alice", "bob"} and all(r.note == "" for r in shared)


def test_a_region_two_drew_but_the_consensus_left_out_names_both() -> None:
    alice, bob = [box(10, 10, "Car"), box(60, 60, "Car")], [box(10, 10, "Car"), box(60, 60, "Car")]
    carol, dave, erin = [box(10, 10, "Car")], [box(10, 10, "Car")], [box(10, 10, "Car")]
    got = _compare(IMAGE, [("alice", alice), ("bob", bob), ("carol", carol), ("dave", dave), ("erin", erin)],
                   {"image": "x.jpg"})["box"].detail
    assert isinstance(got, RegionComparison)
    notes = {r.annotator: r.note for r in got.unmatched}
    assert notes == {"alice": "alice and bob drew it; not in the consensus",
                     "bob": "bob and alice drew it; not in the consensus"}


def test_without_consensus_regions_are_compared_to_each_other() -> None:
    cfg = parse_config(IMAGE)
    (got,) = compare_task(cfg, {}, [("alice", [box(10, 10, "Car")]), ("bob", [box(10, 10, "Car")])], None)
    assert isinstance(got.detail, RegionComparison) and not got.detail.has_consensus
    assert [r.note for r in got.detail.regions] == ["alice and bob drew it; not in the consensus",
                                                    "bob and alice drew it; not in the consensus"]
    assert got.summary == "everyone: Car ×1"


def test_keypoints_match_by_distance() -> None:
    point = {"from_name": "kp", "to_name": "img", "type": "keypointlabels",
             "value": {"x": 50, "y": 50, "width": 1, "keypointlabels": ["Eye"]}}
    far = {**point, "value": {**point["value"], "x": 90}}
    got = _compare(IMAGE, [("alice", [point]), ("bob", [point]), ("carol", [far])], {"image": "x.jpg"})["kp"].detail
    assert isinstance(got, RegionComparison)
    assert [r.annotator for r in got.unmatched] == ["carol"] and got.consensus[0].missed_by == ("carol",)


def test_text_spans_keep_the_text_and_label_disagreements() -> None:
    alice = [span(0, 12, "PER"), span(35, 41, "LOC")]
    bob = [span(0, 12, "PER"), span(35, 41, "LOC")]
    carol = [span(0, 12, "PER"), span(35, 41, "MISC")]
    got = _compare(NER, [("alice", alice), ("bob", bob), ("carol", carol)], {"text": TEXT})["ner"]
    assert isinstance(got.detail, RegionComparison)
    assert got.detail.layout == "text" and got.detail.text == TEXT
    (odd,) = got.detail.unmatched
    assert odd.annotator == "carol" and odd.note == "only carol drew it; alice and bob drew it as LOC"
    assert got.summary == "alice: LOC ×1, PER ×1 · bob: LOC ×1, PER ×1 · carol: MISC ×1, PER ×1"


def test_choices_count_votes_per_option_including_none() -> None:
    anns = [("alice", [whole("quality", "choices", "choices", ["Clear"])]),
            ("bob", [whole("quality", "choices", "choices", ["Clear"])]),
            ("carol", [whole("quality", "choices", "choices", ["Noisy"])]), ("dave", [])]
    got = _compare(AUDIO, anns, {"audio": "a.wav"})["quality"]
    assert isinstance(got.detail, Votes)
    assert [(o.option, o.voters, o.in_consensus) for o in got.detail.options] == [
        ("Clear", ("alice", "bob"), True), ("Noisy", ("carol",), False), ("Bad", (), False)]
    assert got.detail.no_answer == ("dave",)
    assert got.summary == "Clear ×2 · Noisy ×1 · (no answer) ×1"


def test_transcripts_diff_word_by_word_against_the_consensus() -> None:
    said = "I would like to cancel my order please"
    anns = [("alice", [whole("transcription", "textarea", "text", [said])]),
            ("bob", [whole("transcription", "textarea", "text", [said])]),
            ("carol", [whole("transcription", "textarea", "text", ["I'd like to cancel the order please"])])]
    got = _compare(AUDIO, anns, {"audio": "a.wav"})["transcription"].detail
    assert isinstance(got, TextComparison) and got.consensus == said
    by = {d.annotator: d for d in got.diffs}
    assert by["alice"].is_consensus and not by["carol"].is_consensus
    assert by["carol"].ops == (("delete", "I would"), ("insert", "I'd"), ("equal", "like to cancel"),
                               ("delete", "my"), ("insert", "the"), ("equal", "order please"))


def test_word_diff_of_empty_texts() -> None:
    assert word_diff("", "") == ((), 1.0)
    assert word_diff("a b", "") == ((("delete", "a b"),), 0.0)


def test_numbers_and_ratings_show_their_spread() -> None:
    anns = [("alice", [whole("stars", "rating", "rating", 2), whole("speakers", "number", "number", 1)]),
            ("bob", [whole("stars", "rating", "rating", 5), whole("speakers", "number", "number", 2)]),
            ("carol", [whole("stars", "rating", "rating", 4)])]
    got = _compare(AUDIO, anns, {"audio": "a.wav"})
    stars = got["stars"].detail
    assert isinstance(stars, Spread)
    assert (stars.low, stars.median, stars.high, stars.range, stars.consensus) == (2, 4, 5, 3, 4)
    assert stars.scale == (1.0, 5.0)
    speakers = got["speakers"].detail
    assert isinstance(speakers, Spread) and speakers.unanswered == ("carol",) and speakers.scale == (0.0, 10.0)


def test_a_header_names_the_first_control_after_it_only() -> None:
    cfg = parse_config(AUDIO)
    assert question_of(cfg, "transcription") == "Type exactly what the caller says"
    assert question_of(cfg, "quality") == "Quality"


def test_difference_summary_of_region_controls_counts_labels_per_annotator() -> None:
    cfg = parse_config(NER)
    control = cfg.controls["ner"]
    summary = difference_summary(control, [("alice", [span(0, 3, "PER"), span(4, 12, "PER"), span(35, 41, "LOC")]),
                                           ("bob", [span(0, 12, "PER"), span(16, 31, "PER")]), ("carol", [])])
    assert summary == "alice: PER ×2, LOC ×1 · bob: PER ×2 · carol: nothing"


def test_review_table_answers_name_the_labels_not_the_region_count() -> None:
    cfg = parse_config(NER)
    results = [[span(35, 41, "MISC")], [span(35, 41, "MISC")], [span(35, 41, "LOC")]]
    (control,) = compute_consensus(cfg, {"text": TEXT}, results).controls
    assert control.answers == (("MISC", 2), ("LOC", 1))
    results = [[span(0, 12, "PER"), span(16, 31, "PER"), span(35, 41, "LOC")], [span(0, 12, "PER")], []]
    (control,) = compute_consensus(cfg, {"text": TEXT}, results).controls
    assert control.answers == (("2 PER + LOC", 1), ("PER", 1), ("(no answer)", 1))
    unlabelled = parse_config('<View><Image name="img" value="$i"/><Rectangle name="r" toName="img"/></View>')
    item = {"from_name": "r", "to_name": "img", "type": "rectangle",
            "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 0}}
    (control,) = compute_consensus(unlabelled, {}, [[item, item], [item, item]]).controls
    assert control.answers == (("2 regions", 2),)
