"""Variables: which data keys a config reads and what a value template resolves to."""
from __future__ import annotations

from core.config import parse_config, resolve_value, variables_in


def test_variables_are_every_data_key_the_config_reads_in_order() -> None:
    cfg = parse_config('<View><Header value="Hello $user, see $a.b"/>'
                       '<Image name="img" value="$image"/><Text name="t" value="$arr[0]"/>'
                       '<Paragraphs name="p" value="$dialogue" audioUrl="$audio"/>'
                       '<Choices name="c" toName="img" value="$opts"/>'
                       '<Image name="pages" valueList="$pages"/></View>')
    assert cfg.variables == ("user", "a", "image", "arr", "dialogue", "audio", "opts", "pages")
    assert cfg.objects["t"].variables == ("arr",)
    assert cfg.objects["p"].variables == ("dialogue", "audio")
    assert cfg.objects["pages"].value == "$pages"


def test_option_values_are_literals_not_variables() -> None:
    cfg = parse_config('<View><Text name="t" value="$t"/><Choices name="c" toName="t">'
                       '<Choice value="$price"/></Choices></View>')
    assert cfg.variables == ("t",)


def test_variables_in_ignores_dollar_amounts() -> None:
    assert variables_in("Costs $5 or $x_1.y") == ("x_1",)


def test_resolve_single_variable_returns_the_raw_value() -> None:
    data = {"image": "a.jpg", "a": {"b": [1, 2]}, "arr": ["first", "second"]}
    assert resolve_value("$image", data) == "a.jpg"
    assert resolve_value("$a.b", data) == [1, 2]
    assert resolve_value("$a.b[1]", data) == 2
    assert resolve_value("$arr[0]", data) == "first"


def test_resolve_missing_single_variable_is_none() -> None:
    assert resolve_value("$nope", {}) is None
    assert resolve_value("$a.c", {"a": {"b": 1}}) is None
    assert resolve_value("$arr[5]", {"arr": [1]}) is None


def test_resolve_text_with_embedded_variables() -> None:
    data = {"name": "Ada", "n": 3, "obj": {"k": "v"}}
    assert resolve_value("Hello $name, you have $n tasks ($obj.k).", data) == "Hello Ada, you have 3 tasks (v)."
    assert resolve_value("Hi $missing!", data) == "Hi $missing!"
    assert resolve_value("plain text", data) == "plain text"
