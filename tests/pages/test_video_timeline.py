"""TimelineLabels on a Video (views/widgets/video_regions.py): frame ranges as Label Studio stores them,
the video's length from its MP4 header, per-range answers, edits and deletion."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from views.widgets.video_regions import mp4_duration_s, to_frame, to_seconds
from tests.pages.region_harness import region_widget_app

VIDEO_XML = """<View>
  <Video name="video" value="$video" frameRate="25"/>
  <TimelineLabels name="events" toName="video"><Label value="Goal"/><Label value="Foul"/></TimelineLabels>
  <Choices name="clear" toName="video" perRegion="true"><Choice value="Clear"/><Choice value="Unclear"/></Choices>
</View>"""


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4_bytes(seconds: float, *, version: int = 0, timescale: int = 600) -> bytes:
    """A file with the boxes a player reads first: ftyp, then moov/mvhd with the movie's duration."""
    units = int(seconds * timescale)
    if version == 1:
        header = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, timescale, units)
    else:
        header = bytes(4) + struct.pack(">IIII", 0, 0, timescale, units)
    mvhd = _box(b"mvhd", header + bytes(80))
    return _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + _box(b"moov", _box(b"udta", b"") + mvhd)


def test_the_movie_header_gives_the_length_in_both_versions_and_junk_gives_none() -> None:
    assert mp4_duration_s(mp4_bytes(12.5)) == pytest.approx(12.5)
    assert mp4_duration_s(mp4_bytes(3600.25, version=1, timescale=90000)) == pytest.approx(3600.25)
    assert mp4_duration_s(b"RIFF....WAVEfmt ") is None
    assert mp4_duration_s(b"") is None
    assert mp4_duration_s(struct.pack(">I4s", 3, b"moov")) is None  # a size smaller than its header


def test_frames_count_from_one_at_the_tags_frame_rate() -> None:
    assert (to_frame(0.0, 25), to_frame(0.04, 25), to_frame(2.0, 25)) == (1, 2, 51)
    assert to_seconds(51, 25) == pytest.approx(2.0)


def _app(tmp_path: Path, items: list | None = None) -> AppTest:
    video = tmp_path / "match.mp4"
    video.write_bytes(mp4_bytes(10.0))
    at = AppTest.from_function(region_widget_app, default_timeout=30)
    at.session_state["xml"] = VIDEO_XML
    at.session_state["object"] = "video"
    at.session_state["data"] = {"video": "/data/upload/match.mp4"}
    at.session_state["items_in"] = items or []
    at.session_state["media"] = str(video)
    return at.run()


def test_a_range_typed_in_seconds_is_stored_in_frames_with_its_label_and_a_per_range_answer(tmp_path: Path) -> None:
    at = _app(tmp_path)
    assert not at.exception, at.exception
    at.button(key="t1_video_target_events_Foul").click().run()
    at.number_input(key="t1_video_new_start").set_value(2.0)
    at.number_input(key="t1_video_new_end").set_value(3.5)
    at.button(key="t1_video_add").click().run()
    assert not at.exception, at.exception
    (item,) = at.session_state["out"]
    assert item["type"] == "timelinelabels" and item["to_name"] == "video"
    assert item["value"] == {"ranges": [{"start": 51, "end": 88}], "timelinelabels": ["Foul"]}
    version = at.session_state["t1_video_regions"].version
    at.button(key=f"t1_video_pr_clear_{item['id']}_{version}_opt_Unclear").click().run()
    out = at.session_state["out"]
    answer = next(i for i in out if i["from_name"] == "clear")
    assert answer["id"] == item["id"] and answer["value"]["choices"] == ["Unclear"]
    assert answer["value"]["ranges"] == [{"start": 51, "end": 88}]


def test_ranges_past_the_end_are_clamped_and_a_range_can_be_nudged_and_deleted(tmp_path: Path) -> None:
    at = _app(tmp_path)
    at.number_input(key="t1_video_new_start").set_value(9.0)
    at.number_input(key="t1_video_new_end").set_value(10.0)
    at.button(key="t1_video_add").click().run()
    (item,) = at.session_state["out"]
    assert item["value"]["ranges"] == [{"start": 226, "end": 251}]  # 10 s x 25 fps: the last frame is 251
    version = at.session_state["t1_video_regions"].version
    at.number_input(key=f"t1_video_end_{item['id']}_{version}").set_value(240).run()
    assert at.session_state["out"][0]["value"]["ranges"] == [{"start": 226, "end": 240}]
    at.button(key=f"t1_video_del_{item['id']}").click().run()
    assert at.session_state["out"] == []


def test_stored_ranges_come_back_unchanged_and_are_listed_in_seconds_and_frames(tmp_path: Path) -> None:
    stored = {"id": "goal000001", "from_name": "events", "to_name": "video", "type": "timelinelabels",
              "value": {"ranges": [{"start": 26, "end": 50}], "timelinelabels": ["Goal"]}}
    at = _app(tmp_path, items=[stored])
    assert at.session_state["out"] == [stored]
    texts = [b.label for b in at.button] + [m.value for m in at.markdown] + [c.value for c in at.caption]
    shown = [t.replace("\\", "") for t in texts]  # as rendered: the list's text is Markdown-escaped
    assert any("1.00s - 2.00s (frames 26-50)" in t for t in shown), texts
