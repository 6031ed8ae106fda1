"""views.widgets.review_compare.show_differences through AppTest: what the review page draws per family."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
COINS = ROOT / "assets/demo/images/coins.jpg"
BOX_XML = (ROOT / "assets/demo/image-boxes/config.xml").read_text()
NER_XML = (ROOT / "assets/demo/named-entities/config.xml").read_text()
AUDIO_XML = """<View>
  <Audio name="audio" value="$audio"/>
  <Header value="Type exactly what the caller says"/>
  <TextArea name="transcription" toName="audio"/>
  <Choices name="quality" toName="audio"><Choice value="Clear"/><Choice value="Noisy"/><Choice value="Bad"/></Choices>
  <Rating name="stars" toName="audio"/>
</View>"""
TEXT = "Ada Lovelace met <Charles> Babbage in London."


def compare_app() -> None:
    """The harness: inputs from session state (``xml``, ``data``, ``annotations``, ``media``); the consensus
    is computed as the review page gets it (core.quality)."""
    from pathlib import Path

    import streamlit as st

    from core.config import parse_config
    from core.media import MediaRef
    from core.quality import compute_consensus
    from views.widgets.review_compare import show_differences

    cfg = parse_config(st.session_state["xml"])
    annotations = st.session_state["annotations"]
    data = st.session_state.get("data", {})
    outcome = compute_consensus(cfg, data, [result for _, result in annotations])
    media = st.session_state.get("media")
    st.session_state["out"] = show_differences(
        cfg, data, annotations, outcome.result, lambda url: MediaRef(path=Path(media)) if media else MediaRef(),
        "t1", no_consensus=outcome.missing)


def _app(xml: str, annotations: list, *, data: dict | None = None, media: Path | None = None) -> AppTest:
    at = AppTest.from_function(compare_app, default_timeout=30)
    at.session_state["xml"] = xml
    at.session_state["annotations"] = annotations
    at.session_state["data"] = data or {}
    if media is not None:
        at.session_state["media"] = str(media)
    at.run()
    assert not at.exception, at.exception
    return at


def _html(at: AppTest) -> str:
    return "\n".join(el.proto.body for el in at.get("html"))


def box(x: float, y: float, label: str = "Coin") -> dict:
    return {"id": f"b{x}{y}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 384, "original_height": 303, "image_rotation": 0,
            "value": {"x": x, "y": y, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": [label]}}


def _traces_by_annotator(figure: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for trace in figure["data"]:
        out.setdefault(trace.get("legendgroup"), []).append(trace)
    return out


def test_image_regions_overlay_each_annotator_and_mark_the_box_only_one_drew() -> None:
    annotations = [("alice", [box(10, 10), box(60, 60, "Person")]), ("bob", [box(11, 10)]), ("carol", [box(10, 11)])]
    at = _app(BOX_XML, annotations, data={"image": "/data/local-files/?d=demo/images/coins.jpg"}, media=COINS)
    charts = {el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}
    assert len(charts) == 2  # every annotator, and the consensus beside it
    overlay, consensus = list(charts.values())
    assert overlay["layout"]["images"][0]["source"].startswith("data:image/jpeg;base64,")  # through the resolver
    traces = _traces_by_annotator(overlay)
    assert set(traces) == {"alice", "bob", "carol"}
    dashed = [t for t in traces["alice"] if t["line"]["dash"] == "dash"]
    assert len(dashed) == 1 and "only alice drew it" in dashed[0]["text"]
    assert [a["text"] for a in overlay["layout"]["annotations"]] == ["Person · alice"]
    assert [a["text"] for a in consensus["layout"]["annotations"]] == ["Coin 3/3"]
    assert "only alice drew it" in at.markdown[-1].value
    # bob switched off: his box is not drawn any more
    at.button_group(key="t1_label_who").set_value(["alice", "carol"]).run()
    overlay = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert set(_traces_by_annotator(overlay)) == {"alice", "carol"}
    # only the differences: the boxes everyone drew are hidden
    at.toggle(key="t1_label_odd").set_value(True).run()
    overlay = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["legendgroup"] for t in overlay["data"]] == ["alice"]


def test_the_overlay_and_the_consensus_pictures_line_up_side_by_side() -> None:
    """Captions of different lengths sit in a row of their own; the two figures share the next row and have the
    same box (height, margins, no legend taking room on one side), so the pictures are level."""
    annotations = [("alice", [box(10, 10)]), ("bob", [box(11, 10)]), ("a much longer annotator name", [box(60, 60)])]
    at = _app(BOX_XML, annotations, data={"image": "/data/local-files/?d=demo/images/coins.jpg"}, media=COINS)
    rows = [block for block in at.get("flex_container")
            if [c.type for c in block.children.values()][:1] == ["column"]
            and any(c.get("plotly_chart") for c in block.children.values())]
    assert len(rows) == 1  # both figures in one row ...
    columns = list(rows[0].children.values())
    assert [[el.type for el in c.children.values()] for c in columns] == [["plotly_chart"], ["plotly_chart"]]
    overlay, consensus = (json.loads(c.get("plotly_chart")[0].proto.spec)["layout"] for c in columns)
    for key in ("height", "margin", "showlegend"):  # ... with the same box
        assert overlay[key] == consensus[key], key
    assert overlay["showlegend"] is False and overlay["margin"]["autoexpand"] is False
    assert "a much longer annotator name" in _html(at)  # the colours are named in the caption row instead


def test_an_image_the_resolver_refuses_is_not_drawn() -> None:
    annotations = [("alice", [box(10, 10)]), ("bob", [box(50, 50)])]
    at = _app(BOX_XML, annotations, data={"image": "https://elsewhere.example/x.jpg"})
    assert not at.get("plotly_chart")
    assert "not available" in at.warning[0].value


def test_text_spans_on_one_copy_of_the_text_with_disagreements_highlighted_and_escaped() -> None:
    def span(start: int, end: int, label: str) -> dict:
        return {"id": f"s{start}{label}", "from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": start, "end": end, "labels": [label]}}

    start = TEXT.index("<Charles>")
    annotations = [("alice", [span(0, 12, "PER"), span(start, start + 17, "PER")]),
                   ("bob", [span(0, 12, "PER"), span(start, start + 17, "PER")]),
                   ("<i>carol</i>", [span(0, 12, "PER"), span(start, start + 17, "ORG")])]
    at = _app(NER_XML, annotations, data={"text": TEXT})
    body = _html(at)
    assert body.count("Ada Lovelace") == 2  # once in the text, once in the table
    assert "&lt;Charles&gt; Babbage" in body and "<Charles>" not in body
    assert "&lt;i&gt;carol&lt;/i&gt;" in body and "<i>carol" not in body
    assert body.count("background-color:rgba(255, 193, 7, 0.30)") == 1  # the span read as PER and as ORG
    assert "1 of 2 span group(s) differ" in body
    (comparison,) = at.session_state["out"]
    assert comparison.summary.startswith("alice: PER ×2")


def test_transcripts_votes_and_ratings() -> None:
    said = "I was charged twice on my card"
    annotations = [
        ("alice", [{"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": [said]}},
                   {"from_name": "quality", "to_name": "audio", "type": "choices", "value": {"choices": ["Clear"]}},
                   {"from_name": "stars", "to_name": "audio", "type": "rating", "value": {"rating": 4}}]),
        ("bob", [{"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": [said]}},
                 {"from_name": "quality", "to_name": "audio", "type": "choices", "value": {"choices": ["Clear"]}},
                 {"from_name": "stars", "to_name": "audio", "type": "rating", "value": {"rating": 2}}]),
        ("carol", [{"from_name": "transcription", "to_name": "audio", "type": "textarea",
                    "value": {"text": ["I was charged to us on my card"]}},
                   {"from_name": "quality", "to_name": "audio", "type": "choices", "value": {"choices": ["Noisy"]}},
                   {"from_name": "stars", "to_name": "audio", "type": "rating", "value": {"rating": 5}}]),
    ]
    at = _app(AUDIO_XML, annotations, data={"audio": "a.wav"})
    body = _html(at)
    assert "<del>twice</del> <ins>to us</ins>" in body
    assert body.count("same words as the consensus") == 2
    assert "Clear <b>✓ consensus</b>" in body and "<td>Bad</td><td style=\"width:3em\">0</td>" in body
    questions = [md.value for md in at.markdown if md.value.startswith("**")]
    assert questions[0].startswith("**Type exactly what the caller says**") and questions[1].startswith("**Quality**")
    (spread,) = at.get("plotly_chart")
    values = [(t["x"][0], t.get("text", [""])[0]) for t in json.loads(spread.proto.spec)["data"]]
    assert (4, "alice") in values and (2, "bob") in values and (5, "carol") in values
    assert any("min **2** · median **4** · max **5** · spread **3**" in md.value for md in at.markdown)
