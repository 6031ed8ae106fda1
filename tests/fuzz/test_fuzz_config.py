"""Hostile labeling configs (untrusted XML from users and Label Studio exports): parsing and validating any text
either gives a config or raises ConfigError; never another exception, never a hang. A parsed config's checks of
task data (what every import runs per task) take any data too.
"""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.config import (
    TAG_KINDS,
    LabelingConfig,
    check_task_data,
    config_problems,
    config_warnings,
    parse_config,
    validate_config,
)
from core.errors import ConfigError
from tests.fuzz.harness import FUZZ, JSON_VALUES, TEXT, mutated, no_hang

pytestmark = pytest.mark.fuzz

TAGS = st.one_of(
    st.sampled_from(sorted(TAG_KINDS)),
    st.sampled_from(sorted(TAG_KINDS)).map(str.lower),
    st.sampled_from(["Foo", "x:View", "script", "View "]),
)
ATTR_NAMES = st.sampled_from([
    "name", "toName", "value", "valueList", "alias", "hotkey", "background", "choice", "maxRating", "showInline",
    "minMessages", "maxMessages", "editable", "messageroles", "llm", "apiUrl", "audioUrl", "frameRate", "selected",
    "required", "perRegion", "whenTagName", "visibleWhen", "style", "onclick", "xmlns",
])
ATTR_VALUES = st.one_of(
    TEXT,
    st.sampled_from(["$text", "$a.b", "$arr[0]", "$a[" + "9" * 4400 + "]", "$", "$$x", "Task: $title", "text",
                     "img,txt", ",", " ", "-1", "7", "true", "false", "#ff0000", "red", "url(javascript:x)"]),
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    """One XML element with attributes and children, as text (well-formed unless a mutation breaks it)."""
    tag = draw(TAGS).strip() or "View"
    attrs = draw(st.dictionaries(ATTR_NAMES, ATTR_VALUES, max_size=4))
    attr_text = "".join(f' {key}="{_escape(value)}"' for key, value in attrs.items())
    children = draw(st.lists(elements(depth + 1), max_size=3)) if depth < 3 else []
    text = _escape(draw(st.sampled_from(["", "hello", "$text"])))
    return f"<{tag}{attr_text}>{text}{''.join(children)}</{tag}>"


SAMPLE_COMMENTS = st.one_of(
    st.just(""),
    st.builds(lambda value: f"\n<!-- {value} -->", st.sampled_from([
        '{"data": {"text": "x"}}', '[{"text": 1}]', '{"a": 1,}', "// c\n{}", "[" * 3000 + "]" * 3000,
        '{"n": ' + "9" * 4400 + "}", "{--}", "not json",
    ])),
)
CONFIGS = st.builds(lambda root, comment: f"<View>{root}</View>{comment}", elements(), SAMPLE_COMMENTS)


def check_config(xml: Any) -> LabelingConfig | None:
    """Parse and validate ``xml`` every way; return the parsed config, or None when it was refused."""
    with no_hang():
        for allow_unsupported in (False, True):
            try:
                validate_config(xml, allow_unsupported=allow_unsupported)
            except ConfigError as exc:
                assert str(exc), "a refusal must say why"
            try:
                config_problems(xml, allow_unsupported=allow_unsupported)
            except ConfigError:
                pass
        try:
            cfg = parse_config(xml)
        except ConfigError:
            return None
        config_warnings(cfg)
        return cfg


@FUZZ
@given(xml=st.one_of(st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example(xml="")
@example(xml="<View/><!-- " + "[" * 100_000 + " -->")  # nesting deeper than the JSON decoder's recursion limit
@example(xml="\ud800<View/>")
@example(xml='<?xml version="1.0" encoding="UTF-16"?><View/>')
@example(xml='<!DOCTYPE x [<!ENTITY a "aaaa">]><View>&a;</View>')
@example(xml="<View>" * 300 + "</View>" * 300)
def test_any_text_is_a_config_or_a_config_error(xml: str) -> None:
    check_config(xml)


@FUZZ
@given(xml=mutated(CONFIGS.map(lambda text: text.encode("utf-8", "surrogatepass"))).map(
    lambda raw: raw.decode("utf-8", "replace")))
def test_structured_configs_mutated_are_a_config_or_a_config_error(xml: str) -> None:
    check_config(xml)


@FUZZ
@given(xml=CONFIGS, data=st.one_of(st.dictionaries(TEXT, JSON_VALUES, max_size=4), JSON_VALUES))
@example(xml='<View><Text name="t" value="$a[' + "9" * 4400 + ']"/></View>', data={"a": [1]})
@example(xml='<View><Text name="t" value="$a.b[0].c"/></View>', data={"a": {"b": "string"}})
def test_a_parsed_configs_task_data_check_takes_any_data(xml: str, data: Any) -> None:
    cfg = check_config(xml)
    if cfg is not None:
        with no_hang():
            problems = check_task_data(cfg, data)
        assert all(isinstance(problem, str) and problem for problem in problems)


def test_values_that_are_not_text_are_refused_as_config_errors() -> None:
    for value in (None, b"<View/>", 42):
        with pytest.raises(ConfigError, match="must be text"):
            parse_config(value)  # type: ignore[arg-type]
