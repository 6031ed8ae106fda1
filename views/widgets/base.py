"""The contract every labeling widget keeps, and the registry the labeling page looks them up in.

A labeling interface is the config's tag tree. Object tags (Text, Image ...) are *shown*; control tags
(Choices, RectangleLabels ...) are *widgets* that turn the stored Label Studio result items of one control
into Streamlit widgets and back. Region controls (spans, boxes, audio segments) are drawn *on* their
object, so one region renderer per object kind shows the object and edits every region control pointed
at it. Adding a tag means registering one function here, never an ``if tag == ...`` chain in a page.

A control answered per region (``perRegion="true"``, read once by ``core.tags.attrs_of``) is drawn by its
object's region widget, in the panel of the selected region, with the compact input its family registers
in :data:`REGION_ANSWER_INPUTS` -- the same code as its whole-task widget (``controls.py``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.config import ControlTag, LabelingConfig, ObjectTag
from core.media import MediaRef
from core.tags import attrs_of

ResultItem = dict[str, Any]


@dataclass(frozen=True)
class WidgetContext:
    """What a widget may know besides its own tag: the task, keys, hotkeys, media and read-only mode."""

    cfg: LabelingConfig
    data: dict[str, Any]
    key_prefix: str  # unique per task and user, so widget state never leaks between tasks
    hotkeys: dict[tuple[str, str], str]
    resolve_media: Callable[[object], MediaRef]
    disabled: bool = False
    all_items: list[ResultItem] = field(default_factory=list)  # every item of the annotation (per-region links)
    # The labeling page's task: set there only. Widgets may then keep their answer in the browser until
    # submit (views/widgets/components/browser_answers.py) and add their control's name to ``in_browser``.
    task_id: int | None = None
    in_browser: set[str] = field(default_factory=set)

    def key(self, *parts: object) -> str:
        return "_".join([self.key_prefix, *(str(p) for p in parts)])


# (control tag, its current items, context) -> the control's new items
ControlRenderer = Callable[[ControlTag, list[ResultItem], WidgetContext], list[ResultItem]]
# (control tag, its stored answer or None, session-state key, context) -> the answer (``value[value_key]``)
# or None: the compact input of one control for one region, in the selected region's panel
AnswerInput = Callable[[ControlTag, Any, str, WidgetContext], Any]
# (object tag, context) -> None: shows the object
ObjectRenderer = Callable[[ObjectTag, WidgetContext], None]
# (object tag, region controls on it, their current items, context) -> their new items; also shows the object
RegionRenderer = Callable[[ObjectTag, list[ControlTag], list[ResultItem], WidgetContext], list[ResultItem]]

CONTROL_WIDGETS: dict[str, ControlRenderer] = {}
REGION_ANSWER_INPUTS: dict[str, AnswerInput] = {}
OBJECT_VIEWS: dict[str, ObjectRenderer] = {}
REGION_WIDGETS: dict[str, RegionRenderer] = {}


def control_widget(*tags: str) -> Callable[[ControlRenderer], ControlRenderer]:
    def register(fn: ControlRenderer) -> ControlRenderer:
        for tag in tags:
            CONTROL_WIDGETS[tag] = fn
        return fn

    return register


def region_answer_input(*tags: str) -> Callable[[AnswerInput], AnswerInput]:
    def register(fn: AnswerInput) -> AnswerInput:
        for tag in tags:
            REGION_ANSWER_INPUTS[tag] = fn
        return fn

    return register


def answers_per_region(control: ControlTag) -> bool:
    """Whether ``control`` answers for each region of its object (``perRegion="true"``) rather than per task:
    then its object's region widget draws it, next to the selected region."""
    return not control.kind.is_region and attrs_of(control).per_region


def object_view(*tags: str) -> Callable[[ObjectRenderer], ObjectRenderer]:
    def register(fn: ObjectRenderer) -> ObjectRenderer:
        for tag in tags:
            OBJECT_VIEWS[tag] = fn
        return fn

    return register


def region_widget(*object_tags: str) -> Callable[[RegionRenderer], RegionRenderer]:
    def register(fn: RegionRenderer) -> RegionRenderer:
        for tag in object_tags:
            REGION_WIDGETS[tag] = fn
        return fn

    return register


def result_item(control: ControlTag, value: dict[str, Any], *, to_name: str | None = None, **extra: Any) -> ResultItem:
    """One Label Studio result item of ``control``."""
    return {
        "from_name": control.name,
        "to_name": to_name or (control.to_names[0] if control.to_names else ""),
        "type": control.kind.result_type,
        "value": value,
        **extra,
    }


def first_value(items: list[ResultItem], key: str, default: Any = None) -> Any:
    """The ``value[key]`` of the first item (whole-task controls have at most one item)."""
    for item in items:
        value = item.get("value", {})
        if key in value:
            return value[key]
    return default
