"""Colour attributes (``<Label background>``, ``fillColor``, ``strokeColor``): only a plain colour reaches CSS;
anything else reads as unset and the config check warns, naming the tag and the attribute."""
from __future__ import annotations

import pytest

from core.config import config_problems, config_warnings, css_color, parse_config


@pytest.mark.parametrize("color", [
    "red", "RebeccaPurple", "transparent", "#fff", "#ffff", "#a1b2c3", "#a1b2c3d4", " #A1B2C3 ",
    "rgb(1, 2, 3)", "rgba(10%, 20%, 30%, .5)", "hsl(120, 50%, 40%)", "hsla(120,50%,40%,0.3)", "rgb(1 2 3 / 50%)",
])
def test_plain_colours_are_kept(color: str) -> None:
    assert css_color(color) == color.strip()


@pytest.mark.parametrize("color", [
    "red; } body { background: url(//tracker.example.net/p.gif) }", "red;color:blue", "url(x)", "#12345",
    "rgb(1, 2, 3); x:y", "rgb(var(--x), 2, 3)", "expression(alert(1))", "notacolour", "", "#fff}", None,
    "rgb(1,2)", "rgb(calc(1), 2, 3)",
])
def test_anything_else_is_not_a_colour(color: object) -> None:
    assert css_color(color) is None


XML = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text">
    <Label value="Person" background="red; } .x { background: url(//tracker.example.net/p.gif) }"/>
    <Label value="Place" background="#00ff00"/>
  </Labels>
</View>"""


def test_a_label_background_that_is_no_colour_falls_back_to_the_palette() -> None:
    person, place = parse_config(XML).controls["ner"].options
    assert person.background is None  # the widget's palette colour is used
    assert place.background == "#00ff00"
    assert "url(" in (person.get("background") or "")  # kept as written, for exports and the config text


def test_the_config_check_warns_and_does_not_refuse() -> None:
    cfg, problems = config_problems(XML)
    assert problems == [] and cfg is not None
    (warning,) = config_warnings(cfg)
    assert warning.tag == "Label" and warning.line == 4
    assert warning.message.startswith('<Label value="Person"> at line 4: background="red; }')
    assert "is not a colour" in warning.message


def test_fill_and_stroke_colours_are_checked_too() -> None:
    cfg = parse_config('<View><Image name="img" value="$img"/>'
                       '<Rectangle name="box" toName="img" fillColor="blue;}"/></View>')
    (warning,) = config_warnings(cfg)
    assert warning.tag == "Rectangle" and 'fillColor="blue;}"' in warning.message
