"""A sample task for previewing a config, like Label Studio's "preview" in the config editor.

Label Studio builds one from ``core/utils/schema/data_examples.json`` (per ``$variable`` name, then per
tag type). We embed our own small samples here instead of reading that file, so a preview never
depends on a file that may be absent. Media point at local demo paths under ``/data/local-files/``.
"""
from __future__ import annotations

import copy
from typing import Any

from core.config.model import LabelingConfig, TagNode, VariableUse
from core.config.values import set_path, variable_paths

_DEMO = "/data/local-files/?d=demo"

_TEXT = ("Sample: The harbour was quiet at dawn. Maria unloaded three crates of oranges and "
         "signed the delivery note for Harbour Foods Ltd.")
_HTML = ("<div><h3>Sample: order #1042</h3><p><b>Maria Lopez</b> ordered three crates of oranges "
         "from <i>Harbour Foods Ltd.</i> on 4 March.</p></div>")

_SAMPLES_BY_TAG: dict[str, Any] = {
    "Text": _TEXT,
    "HyperText": _HTML,
    "Image": f"{_DEMO}/images/sample.jpg",
    "Audio": f"{_DEMO}/audio/sample.wav",
    "Video": f"{_DEMO}/video/sample.mp4",
    "Table": {"Order": 1042, "Customer": "Sample: Maria Lopez", "Item": "Oranges", "Crates": 3},
    "List": [
        {"id": 1, "title": "Sample: answer A", "body": "Oranges keep for weeks in a cool, dry room."},
        {"id": 2, "title": "Sample: answer B", "body": "Store oranges in the fridge to keep them fresh."},
        {"id": 3, "title": "Sample: answer C", "body": "Oranges should be eaten the day they are bought."},
    ],
    "Header": "Sample: header text",
    "Markdown": "**Sample:** markdown text",
    "Pdf": f"{_DEMO}/documents/sample.pdf",
    "Chat": [{"role": "user", "content": "Sample: hello"}, {"role": "assistant", "content": "Hi!"}],
}

_DYNAMIC_OPTIONS = [{"value": "Sample option 1"}, {"value": "Sample option 2"},
                    {"value": "Sample option 3"}]
_NESTED_OPTIONS = [
    {"value": "Sample group 1", "children": [{"value": "Sample 1.1"}, {"value": "Sample 1.2"}]},
    {"value": "Sample group 2", "children": [{"value": "Sample 2.1"}]},
]


def _paragraphs(node: TagNode) -> list[dict[str, Any]]:
    name_key = node.get("nameKey") or "author"
    text_key = node.get("textKey") or "text"
    lines = [("Alice", "Sample: Hi, Bob."), ("Bob", "Sample: Hello, Alice! How can I help?"),
             ("Alice", "Sample: I'd like to order oranges."), ("Bob", "Sample: Done. Anything else?")]
    return [{name_key: who, text_key: said} for who, said in lines]


def _time_series(node: TagNode) -> Any:
    if (node.get("valueType") or "url").lower() == "url":
        return f"{_DEMO}/timeseries/sample.csv"
    time_column = node.get("timeColumn") or "time"
    columns: dict[str, list[float]] = {time_column: [0, 1, 2, 3, 4, 5]}
    for channel in node.children:
        column = channel.get("column")
        if channel.tag == "Channel" and column:
            columns[column] = [0.0, 1.5, 0.8, 2.2, 1.9, 3.1]
    return columns


def _sample_for(use: VariableUse, node: TagNode | None) -> Any:
    """The sample value for one variable use: by attribute and tag, else a sample string."""
    if use.attr == "valuelist":
        return [f"{_DEMO}/images/page-1.jpg", f"{_DEMO}/images/page-2.jpg"]
    if use.attr == "audiourl":
        return _SAMPLES_BY_TAG["Audio"]
    if use.attr == "framerate":
        return 25
    if node is not None and node.kind.is_control and node.kind.option_kinds:
        nested = (node.get("allowNested") or "").lower() == "true" or use.tag == "Taxonomy"
        return copy.deepcopy(_NESTED_OPTIONS if nested else _DYNAMIC_OPTIONS)
    if node is not None and use.tag == "Paragraphs":
        return _paragraphs(node)
    if node is not None and use.tag == "TimeSeries":
        return _time_series(node)
    if use.tag in _SAMPLES_BY_TAG and use.template.strip().startswith("$"):
        return copy.deepcopy(_SAMPLES_BY_TAG[use.tag])
    return f"Sample: {use.variable}"


def generate_sample_task(cfg: LabelingConfig) -> dict[str, Any]:
    """Sample task *data* for previewing ``cfg`` (the ``data`` of a task, not the whole task).

    Starts from the data of the config's trailing ``<!-- {...} -->`` comment when there is one, then
    fills every variable the comment lacks with a per-tag sample, so the preview always has a value
    for each ``$variable``. Nested templates (``$a.b``, ``$arr[0]``) get nested data.
    """
    data: dict[str, Any] = {}
    if cfg.sample_task and isinstance(cfg.sample_task.get("data"), dict):
        data = copy.deepcopy(cfg.sample_task["data"])
    nodes = {(n.tag, n.line): n for n in cfg.root.walk()}
    # Objects first: an Image and a Header both reading "$image" should get the image URL.
    uses = sorted(cfg.variable_uses, key=lambda u: 0 if nodes[(u.tag, u.line)].kind.is_object else 1)
    for use in uses:
        node = nodes.get((use.tag, use.line))
        for variable, steps in variable_paths(use.template):
            if variable == use.variable:
                set_path(data, variable, steps, _sample_for(use, node))
    return data
