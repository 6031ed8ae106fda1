"""The export-format registry: which formats a config can fill, lookup by name, and the schema adapter."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from commands import convert
from core.config import parse_config
from core.errors import ConfigError
from core.formats.registry import FORMATS, get_format, supported_formats
from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec, schema_from_config

from .conftest import box, image_schema, image_task


def names(schema: ExportSchema) -> set[str]:
    return {fmt.name for fmt in supported_formats(schema)}


ALWAYS = {"JSON", "JSON_MIN", "CSV", "TSV"}


def test_every_config_gets_label_studio_json_min_csv_and_tsv() -> None:
    assert names(ExportSchema()) == ALWAYS


def test_image_boxes_get_coco_yolo_obb_and_voc_but_not_conll(images: ExportSchema) -> None:
    assert names(images) == ALWAYS | {"COCO", "YOLO", "YOLO_OBB", "VOC"}


def test_keypoints_without_rectangles_get_coco_but_not_yolo() -> None:
    schema = ExportSchema(controls=(ControlSpec("kp", "KeyPointLabels", ("img",), ("a",)),),
                          objects=(ObjectSpec("img", "Image", "image"),))
    assert names(schema) == ALWAYS | {"COCO", "YOLO_OBB"}  # tests/core/test_keypoint_exports.py


def test_text_spans_get_conll_and_audio_transcripts_get_asr() -> None:
    ner = ExportSchema(controls=(ControlSpec("ner", "Labels", ("t",), ("PER",)),), objects=(ObjectSpec("t", "Text", "text"),))
    asr = ExportSchema(controls=(ControlSpec("tr", "TextArea", ("a",)),), objects=(ObjectSpec("a", "Audio", "audio"),))
    assert names(ner) == ALWAYS | {"CONLL2003"}
    assert names(asr) == ALWAYS | {"ASR_MANIFEST"}


def test_two_data_keys_or_a_value_list_keep_only_the_generic_formats() -> None:
    two = ExportSchema(controls=(ControlSpec("b", "RectangleLabels", ("i", "j"), ("x",)),),
                       objects=(ObjectSpec("i", "Image", "a"), ObjectSpec("j", "Image", "b")))
    pages = ExportSchema(controls=(ControlSpec("b", "RectangleLabels", ("i",), ("x",)),),
                         objects=(ObjectSpec("i", "Image", "pages", is_list=True),))
    assert names(two) == ALWAYS
    assert "COCO" not in names(pages) and "VOC" not in names(pages)


def test_unknown_format_name_lists_the_valid_ones() -> None:
    assert get_format("coco") is FORMATS["COCO"]
    with pytest.raises(ValueError, match=r"unknown export format 'PNG'; valid formats: JSON, JSON_MIN"):
        get_format("PNG")


def test_every_format_declares_a_layout_and_its_file() -> None:
    for fmt in FORMATS.values():
        assert fmt.layout in ("file", "folder")
        assert (fmt.filename is not None) == (fmt.layout == "file"), fmt.name


def test_schema_from_parsed_config_keeps_aliases_attributes_and_data_keys() -> None:
    cfg = parse_config("""<View>
      <Image name="img" value="$photo"/>
      <RectangleLabels name="box" toName="img">
        <Label value="Car" category="4"/><Label value="Person" alias="P"/>
      </RectangleLabels>
      <KeyPointLabels name="kp" toName="img"><Label value="nose" model_index="0"/></KeyPointLabels>
    </View>""")
    schema = schema_from_config(cfg)
    assert schema.data_keys == ("photo",)
    assert schema.control_by_name["box"].labels == ("Car", "P")
    assert schema.control_by_name["box"].label_attrs["Car"]["category"] == "4"
    assert schema.control_by_name["kp"].label_attrs["nose"]["model_index"] == "0"
    assert schema.object_tags == {"Image"}


def convert_args(tmp_path: Path, fmt: str, config: str) -> argparse.Namespace:
    (tmp_path / "config.xml").write_text(config)
    export = tmp_path / "export.json"
    import json
    export.write_text(json.dumps([image_task(1, "/data/upload/1/cat.jpg", box(10, 20, 30, 40, "Car"))]))
    return argparse.Namespace(input=export, config=tmp_path / "config.xml", to=fmt, out=tmp_path / "out", json=False)


IMAGE_CONFIG = """<View><Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>"""


def test_convert_command_writes_the_converter_layout(tmp_path: Path) -> None:
    assert convert.run(convert_args(tmp_path, "YOLO", IMAGE_CONFIG)) == 0
    assert (tmp_path / "out" / "classes.txt").read_text() == "Car\n"
    assert (tmp_path / "out" / "labels" / "cat.txt").read_text().startswith("0 0.25 0.4")


def test_convert_command_refuses_a_format_the_config_cannot_fill(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"CONLL2003 needs Text \+ Labels"):
        convert.run(convert_args(tmp_path, "CONLL2003", IMAGE_CONFIG))


def test_image_schema_helper_matches_a_parsed_config() -> None:
    assert {c.tag for c in image_schema().controls} == {"RectangleLabels", "PolygonLabels"}
