"""Sample tasks for previews and Label Studio's automatic hotkeys."""
from __future__ import annotations

from core.config import AUTO_HOTKEY_KEYS, auto_hotkeys, check_task_data, generate_sample_task, parse_config


def test_sample_task_has_a_value_for_every_variable() -> None:
    cfg = parse_config('<View><Header value="About $topic"/><Image name="img" value="$image"/>'
                       '<Text name="t" value="$doc.body"/><Audio name="a" value="$clips[0]"/>'
                       '<Paragraphs name="p" value="$chat" nameKey="role" textKey="content"/>'
                       '<Choices name="c" toName="img" value="$opts"/>'
                       '<TimeSeries name="ts" value="$ts" valueType="json" timeColumn="t">'
                       '<Channel column="speed"/></TimeSeries></View>')
    data = generate_sample_task(cfg)
    assert check_task_data(cfg, data) == []
    assert data["image"].startswith("/data/local-files/")
    assert isinstance(data["doc"]["body"], str)
    assert data["clips"][0].endswith(".wav")
    assert set(data["chat"][0]) == {"role", "content"}
    assert all("value" in option for option in data["opts"])
    assert set(data["ts"]) == {"t", "speed"}


def test_sample_task_prefers_the_config_comment_and_fills_what_it_lacks() -> None:
    cfg = parse_config('<View><Text name="t" value="$text"/><Image name="i" value="$image"/></View>\n'
                       '<!-- {"data": {"text": "From the comment"}} -->')
    data = generate_sample_task(cfg)
    assert data["text"] == "From the comment"
    assert "image" in data
    assert cfg.sample_task == {"data": {"text": "From the comment"}}  # not mutated


def test_explicit_hotkeys_win_and_the_rest_follow_label_studio_order() -> None:
    cfg = parse_config('<View><Text name="t" value="$t"/>'
                       '<Labels name="l" toName="t"><Label value="A"/><Label value="B" hotkey="1"/>'
                       '<Label value="C"/></Labels>'
                       '<Choices name="c" toName="t"><Choice value="X"/><Choice value="Y" alias="why"/></Choices>'
                       '<Rating name="r" toName="t" hotkey="3"/></View>')
    assert auto_hotkeys(cfg) == {("l", "A"): "2", ("l", "B"): "1", ("l", "C"): "4",
                                 ("c", "X"): "5", ("c", "Y"): "6"}


def test_hotkeys_run_out_after_the_key_pool() -> None:
    labels = "".join(f'<Label value="L{i}"/>' for i in range(len(AUTO_HOTKEY_KEYS) + 3))
    cfg = parse_config(f'<View><Text name="t" value="$t"/><Labels name="l" toName="t">{labels}</Labels></View>')
    keys = auto_hotkeys(cfg)
    assert len(keys) == len(AUTO_HOTKEY_KEYS)
    assert "".join(keys.values()) == AUTO_HOTKEY_KEYS


def test_taxonomy_and_buckets_get_no_automatic_hotkeys() -> None:
    cfg = parse_config('<View><Text name="t" value="$t"/><Taxonomy name="x" toName="t"><Choice value="a"/></Taxonomy>'
                       '<List name="li" value="$items"/><Ranker name="r" toName="li"><Bucket name="b" title="B"/></Ranker></View>')
    assert auto_hotkeys(cfg) == {}
