"""The template gallery (core/templates): every config is well-formed and self-consistent, the index
and the XML files agree, and the simple label editor round-trips."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import defusedxml.ElementTree as DET
import pytest

from core.config import check_task_data, validate_config
from core.errors import ConfigError, NotFoundError
from core.templates import (
    GROUPS,
    Template,
    get_template,
    label_names,
    list_templates,
    sample_task,
    set_label_names,
)
from core.templates.catalog import GROUP_KEYS, INDEX

ROOT = Path(__file__).resolve().parents[2]
XML_DIR = ROOT / "core" / "templates" / "xml"
DEMO_DIR = ROOT / "assets"

OBJECT_TAGS = {"Text", "HyperText", "Image", "Audio", "Video", "Paragraphs", "Table", "List",
               "TimeSeries"}
CONTROL_TAGS = {"Choices", "Labels", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon",
                "KeyPointLabels", "KeyPoint", "TextArea", "Rating", "Number", "DateTime", "Taxonomy",
                "Pairwise", "Ranker", "Relations", "HyperTextLabels", "ParagraphLabels",
                "TimeSeriesLabels", "TimelineLabels"}
OTHER_TAGS = {"View", "Header", "Style", "Choice", "Label", "Bucket", "Relation", "Channel"}
ALLOWED_TAGS = OBJECT_TAGS | CONTROL_TAGS | OTHER_TAGS
OPTION_CONTROLS = {"Choices": "Choice", "Labels": "Label", "RectangleLabels": "Label",
                   "PolygonLabels": "Label", "KeyPointLabels": "Label", "HyperTextLabels": "Label",
                   "ParagraphLabels": "Label", "TimeSeriesLabels": "Label", "Taxonomy": "Choice",
                   "Ranker": "Bucket", "Relations": "Relation"}
DATA_TYPE_TAG = {"text": "Text", "image": "Image", "audio": "Audio", "video": "Video",
                 "html": "HyperText", "dialogue": "Paragraphs", "table": "Table",
                 "timeseries": "TimeSeries"}
VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

TEMPLATES = list_templates()
IDS = [t.slug for t in TEMPLATES]
TRICKY = ["Fish & chips", "<script>alert(1)</script>", 'Say "hi"', "it's", "A > B; C < D",
          "Ünïcode — ✓"]


def _elements(template: Template):
    root = DET.fromstring(template.xml, forbid_dtd=True)
    return root, [el for el in root.iter() if isinstance(el.tag, str)]


# -- index and files -------------------------------------------------------------------------------

def test_groups_are_in_ui_order():
    assert GROUPS == ("Computer vision", "Natural language processing", "Audio and speech",
                      "Conversational AI", "Ranking and scoring", "Structured data", "Time series",
                      "Video", "Generative AI")
    assert tuple(title for _, title in GROUP_KEYS) == GROUPS


def test_index_and_files_agree_one_to_one():
    files = sorted(p.name for p in XML_DIR.glob("*.xml"))
    indexed = sorted(f"{key}__{slug}.xml" for key, slug, *_ in INDEX)
    assert len(indexed) == len(set(indexed)), "an index row appears twice"
    assert files == indexed
    assert sorted(p.name for p in XML_DIR.iterdir()) == files, "non-XML file in core/templates/xml"


def test_slugs_are_unique_and_well_formed():
    slugs = [slug for _, slug, *_ in INDEX]
    assert len(slugs) == len(set(slugs))
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug


def test_every_group_has_templates_and_the_gallery_is_about_thirty():
    assert {t.group for t in TEMPLATES} == set(GROUPS)
    assert 28 <= len(TEMPLATES) <= 40


def test_list_templates_is_in_gallery_order():
    keys = [(GROUPS.index(t.group), t.title.casefold()) for t in TEMPLATES]
    assert keys == sorted(keys)
    assert len({t.title for t in TEMPLATES}) == len(TEMPLATES), "titles must be unique"


def test_template_fields_come_from_the_index():
    by_slug = {slug: (key, title, description, data_type)
               for key, slug, title, description, data_type in INDEX}
    groups = dict(GROUP_KEYS)
    for t in TEMPLATES:
        key, title, description, data_type = by_slug[t.slug]
        assert (t.group, t.title, t.description, t.data_type) == (groups[key], title, description,
                                                                  data_type)
        assert t.xml == (XML_DIR / t.filename).read_text(encoding="utf-8")
        assert t.description.endswith(".") and len(t.description) < 120


def test_get_template_returns_the_template():
    for t in TEMPLATES:
        assert get_template(t.slug) is t


def test_unknown_slug_raises_not_found_listing_valid_slugs():
    with pytest.raises(NotFoundError) as info:
        get_template("no-such-template")
    message = str(info.value)
    assert "no-such-template" in message
    for t in TEMPLATES:
        assert t.slug in message


# -- every config ----------------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_config_is_a_view_using_only_allowed_tags(template):
    root, elements = _elements(template)
    assert root.tag == "View"
    unknown = {el.tag for el in elements} - ALLOWED_TAGS
    assert not unknown, f"tags outside the allowed set: {unknown}"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_names_are_unique_and_to_names_point_at_objects(template):
    _, elements = _elements(template)
    names = [el.get("name") for el in elements if el.get("name")]
    assert len(names) == len(set(names)), f"duplicate names in {names}"
    objects = {el.get("name"): el for el in elements if el.tag in OBJECT_TAGS}
    controls = [el for el in elements if el.tag in CONTROL_TAGS]
    assert objects and controls
    for obj in objects.values():
        assert obj.get("name") and obj.get("value"), f"<{obj.tag}> needs name and value"
    for control in controls:
        assert control.get("name"), f"<{control.tag}> has no name"
        if control.tag == "Relations":
            # Label Studio's Relations links any two regions; it takes no toName
            assert control.get("toName") is None
            continue
        targets = [n.strip() for n in (control.get("toName") or "").split(",") if n.strip()]
        assert targets, f'<{control.tag} name="{control.get("name")}"> has no toName'
        for target in targets:
            assert target in objects, f'{control.get("name")}: toName "{target}" is no object tag'
        if control.tag == "Pairwise":
            assert len(targets) == 2
        if control.tag == "Ranker":
            assert all(objects[t].tag == "List" for t in targets)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_option_controls_have_distinct_options_and_hotkeys(template):
    _, elements = _elements(template)
    for control in (el for el in elements if el.tag in OPTION_CONTROLS):
        option_tag = OPTION_CONTROLS[control.tag]
        options = [el for el in control.iter(option_tag)]
        assert options, f'<{control.tag} name="{control.get("name")}"> has no options'
        key = "name" if option_tag == "Bucket" else "value"
        values = [o.get(key) for o in options]
        assert all(values) and len(values) == len(set(values)), values
    hotkeys = [el.get("hotkey").lower() for el in elements if el.get("hotkey")]
    assert len(hotkeys) == len(set(hotkeys)), f"hotkey used twice: {hotkeys}"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_data_type_matches_an_object_tag(template):
    _, elements = _elements(template)
    assert DATA_TYPE_TAG[template.data_type] in {el.tag for el in elements}


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_sample_task_is_json_with_every_variable(template):
    assert re.search(r"-->\s*\Z", template.xml), "the config must end with the sample-task comment"
    task = sample_task(template.xml)
    assert set(task) == {"data"}
    data = task["data"]
    assert isinstance(data, dict) and data
    _, elements = _elements(template)
    variables = {v for el in elements for value in el.attrib.values() for v in VARIABLE.findall(value)}
    assert variables, "the config reads no task data"
    missing = variables - set(data)
    assert not missing, f"sample task lacks {missing}"
    assert template.sample_task() == task


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_sample_media_points_at_existing_demo_files(template):
    data = sample_task(template.xml)["data"]
    for value in data.values():
        if isinstance(value, str) and value.startswith("/data/local-files/"):
            relative = parse_qs(urlparse(value).query)["d"][0]
            assert (DEMO_DIR / relative).is_file(), f"{value} is not a demo file"


def test_image_and_audio_templates_use_the_demo_files():
    for t in TEMPLATES:
        if t.data_type in ("image", "audio"):
            values = sample_task(t.xml)["data"].values()
            assert any(isinstance(v, str) and "?d=demo/" in v for v in values), t.slug


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_template_passes_the_config_validator(template):
    cfg = validate_config(template.xml)
    assert check_task_data(cfg, sample_task(template.xml)["data"]) == []


# -- simple editor ---------------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_label_names_matches_the_xml(template):
    _, elements = _elements(template)
    expected = {}
    for el in elements:
        if el.tag in OPTION_CONTROLS and el.tag not in ("Taxonomy", "Ranker"):
            option_tag = OPTION_CONTROLS[el.tag]
            expected[el.get("name")] = [o.get("value") for o in el if o.tag == option_tag]
    assert label_names(template.xml) == expected


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_setting_the_same_names_changes_nothing(template):
    for control, names in label_names(template.xml).items():
        assert set_label_names(template.xml, control, names) == template.xml


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_set_label_names_round_trips_tricky_names(template):
    before = label_names(template.xml)
    sample = sample_task(template.xml)
    for control, names in before.items():
        new_names = [names[0], *TRICKY]
        xml = set_label_names(template.xml, control, new_names)
        root = DET.fromstring(xml, forbid_dtd=True)
        assert root.tag == "View"
        after = label_names(xml)
        assert after[control] == new_names
        assert {k: v for k, v in after.items() if k != control} == \
            {k: v for k, v in before.items() if k != control}
        assert sample_task(xml) == sample
        # the kept option keeps its attributes; the control keeps its own attributes
        old_root = DET.fromstring(template.xml)
        old_control = next(el for el in old_root.iter() if el.get("name") == control)
        new_control = next(el for el in root.iter() if el.get("name") == control)
        assert new_control.attrib == old_control.attrib
        assert list(new_control)[0].attrib == list(old_control)[0].attrib
        hotkeys = [el.get("hotkey") for el in root.iter() if el.get("hotkey")]
        assert len(hotkeys) == len(set(hotkeys))
        validate_config(xml)


def test_set_label_names_keeps_the_rest_of_the_text():
    xml = get_template("named-entity-recognition").xml
    new = set_label_names(xml, "entities", ["Person", "Ship & boat", "Location"])
    head, tail = xml.split('<Labels name="entities"', 1)
    assert new.startswith(head + '<Labels name="entities" toName="text">\n')
    assert new.endswith(tail[tail.index("</Labels>"):])
    assert '    <Label value="Person" hotkey="1" background="#ff6f61"/>\n' in new
    assert '    <Label value="Ship &amp; boat" hotkey="2"/>\n' in new


def test_new_options_get_free_hotkeys_only_when_the_control_uses_them():
    xml = get_template("content-moderation").xml  # violations use 1-6, decision uses q w e t
    new = set_label_names(xml, "violations", ["Spam or scam", "Impersonation", "Self-harm"])
    root = DET.fromstring(new)
    options = {o.get("value"): o.get("hotkey") for o in root.iter("Choice")}
    assert options["Spam or scam"] == "3"
    assert options["Impersonation"] == "1" and options["Self-harm"] == "2"
    plain = ('<View><Text name="t" value="$t"/>'
             '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
    assert "hotkey" not in set_label_names(plain, "c", ["a", "b"])


def test_set_label_names_on_a_self_closing_or_single_line_control():
    xml = '<View><Text name="t" value="$t"/><Labels name="l" toName="t"/></View>'
    new = set_label_names(xml, "l", ["x & y", "z"])
    assert label_names(new) == {"l": ["x & y", "z"]}
    assert new.startswith('<View><Text name="t" value="$t"/><Labels name="l" toName="t">')
    one_line = ('<View><Text name="t" value="$t"/><Choices name="c" toName="t" choice="multiple">'
                '<Choice value="a" hotkey="a"/><Choice value="b" hotkey="b"/></Choices></View>')
    new = set_label_names(one_line, "c", ["b", "c"])
    assert label_names(new) == {"c": ["b", "c"]}
    root = DET.fromstring(new)
    assert root.find("Choices").get("choice") == "multiple"
    assert [c.get("hotkey") for c in root.iter("Choice")] == ["b", "1"]


def test_set_label_names_keeps_quoted_gt_and_non_ascii_in_the_start_tag():
    xml = ('<View><Text name="t" value="$t"/>\n  <Choices name="c" toName="t" hint="a > b" '
           "title='é'>\n    <Choice value=\"a\"/>\n  </Choices>\n</View>")
    new = set_label_names(xml, "c", ["a", "b"])
    assert "<Choices name=\"c\" toName=\"t\" hint=\"a > b\" title='é'>\n    <Choice value=\"a\"/>\n" \
           "    <Choice value=\"b\"/>\n  </Choices>\n</View>" in new


def test_label_names_skips_dynamic_and_taxonomy_controls():
    xml = ('<View><Text name="t" value="$t"/><Choices name="dyn" toName="t" value="$options"/>'
           '<Taxonomy name="tax" toName="t"><Choice value="A"><Choice value="B"/></Choice></Taxonomy>'
           '<Labels name="l" toName="t"><Label value="X"/></Labels></View>')
    assert label_names(xml) == {"l": ["X"]}
    with pytest.raises(ConfigError, match="nested"):
        set_label_names(xml, "tax", ["A"])
    with pytest.raises(ConfigError, match=r"\$options"):
        set_label_names(xml, "dyn", ["A"])


@pytest.mark.parametrize("names, message", [
    ([], "at least one"),
    (["a", "  "], "empty"),
    (["a", "a"], "twice"),
    (["a\x00"], "character"),
    ("abc", "list"),
])
def test_set_label_names_rejects_bad_names(names, message):
    xml = get_template("text-classification").xml
    with pytest.raises(ConfigError, match=message):
        set_label_names(xml, "topic", names)


def test_set_label_names_rejects_unknown_controls_and_bad_xml():
    xml = get_template("text-classification").xml
    with pytest.raises(ConfigError, match="no control") as info:
        set_label_names(xml, "nope", ["a"])
    assert "topic" in str(info.value)
    with pytest.raises(ConfigError, match="has no Choice/Label"):
        set_label_names(xml, "text", ["a"])
    with pytest.raises(ConfigError):
        label_names("<View><Choices")
    with pytest.raises(ConfigError, match="View"):
        label_names("<Form/>")
    bomb = ('<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaa">]>'
            '<View><Text name="t" value="&a;"/></View>')
    with pytest.raises(ConfigError):
        label_names(bomb)


def test_sample_task_edge_cases():
    assert sample_task("<View/>") == {}
    assert sample_task("<View/>\n<!-- just a note -->") == {}
    with pytest.raises(ConfigError, match="JSON"):
        sample_task('<View/>\n<!-- {"data": {,} } -->')
