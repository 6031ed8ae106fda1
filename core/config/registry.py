"""The tag registry: one :class:`TagKind` per Label Studio tag type, registered once in :data:`TAG_KINDS`.

Adding a tag means adding one ``TagKind`` here, not touching ``if tag == ...`` chains elsewhere
(ARCHITECTURE.md, "The tag registry"). Everything the rest of Quorum needs to know about a tag type --
its category, the ``type`` and value key of its results, which object tags it may label, which
attributes it requires, whether it draws regions, whether Quorum can show it -- lives in its kind.

Sources for the facts below: Label Studio's ``tags.json`` and the tag docs, summarised in
``../shared/reference/label-studio-formats.md`` section "a".

What a tag *does* -- its attribute parser, value validator, agreement, consensus, gold scorer and export
formats -- is not here: it lives in one module per tag family under ``core/tags/`` and is reached with
``core.tags.behaviour_of(tag)``; ``tests/core/test_tag_behaviours.py`` walks every labelable kind of this
registry and fails on one without a behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class TagCategory(str, Enum):
    """What a tag is in the labeling interface."""

    OBJECT = "object"    # shows task data (Image, Text ...); needs ``name`` and ``value``
    CONTROL = "control"  # produces results (Choices, RectangleLabels ...); needs ``name`` and ``toName``
    VISUAL = "visual"    # layout or decoration only (View, Header, Style ...); produces nothing
    CHILD = "child"      # only meaningful inside a parent tag (Choice, Label, Channel ...)


@dataclass(frozen=True)
class TagKind:
    """Everything Quorum knows about one tag type.

    Attributes
    ----------
    name:
        Canonical spelling (``"RectangleLabels"``); tag names are case-insensitive in Label Studio.
    category:
        See :class:`TagCategory`.
    has_widget:
        Whether Quorum can show this tag (objects, visual tags) and label with it (controls). A config
        using a kind with ``has_widget=False`` is refused by ``config check``. For CHILD kinds it means
        the parent's widget renders them (Choice inside Choices); they have no renderer of their own.
        :data:`WIDGET_TAGS` is the set of tags ``views/widgets/`` must provide a renderer for.
    result_type:
        Controls: the ``type`` of a Label Studio result (``"rectanglelabels"``). Objects that make
        results themselves (Chat: the messages a labeler adds, ``"chatmessage"``) name that type too;
        their items carry the object's own name as ``from_name`` and ``to_name``. None otherwise.
    value_key:
        Controls (and result-making objects): the key inside the result's ``value`` that holds the
        answer (``"choices"``, ``"chatmessage"``,
        ``"text"`` for TextArea, ``"rating"``). None for pure geometry tools (``Rectangle``,
        ``Polygon`` ...) whose value is only coordinates. Relations keep ``labels`` at the top level of
        the result (``{"type": "relation", "from_id", "to_id", "labels": [...]}``).
    to_kinds:
        Controls: the object kinds its ``toName`` may name.
    required_attrs:
        Attributes that must be present (lower-case, as Label Studio reads them). An entry
        ``"value|valuelist"`` means one of them.
    is_region:
        Whether a result of this control is a region (a box, a span, a time interval ...) rather than
        a whole-task answer. Relations connect regions, so they exist only when some region kind does.
    option_kinds:
        Child kinds read as the control's options (Choice, Label, Relation, Bucket).
    needs_options:
        A control of this kind without any option is an error unless its options come from the task
        (``value="$options"``, Label Studio's dynamic labels/choices) or from ``apiUrl`` (Taxonomy).
    parent_kinds:
        CHILD kinds: the tags they may sit in (View between them is allowed).
    """

    name: str
    category: TagCategory
    has_widget: bool
    result_type: str | None = None
    value_key: str | None = None
    to_kinds: frozenset[str] = frozenset()
    required_attrs: tuple[str, ...] = ()
    is_region: bool = False
    option_kinds: frozenset[str] = frozenset()
    needs_options: bool = False
    parent_kinds: frozenset[str] = frozenset()

    @property
    def is_object(self) -> bool:
        return self.category is TagCategory.OBJECT

    @property
    def is_control(self) -> bool:
        return self.category is TagCategory.CONTROL

    @property
    def is_child(self) -> bool:
        return self.category is TagCategory.CHILD

    @property
    def is_visual(self) -> bool:
        return self.category is TagCategory.VISUAL


# --- object kinds -------------------------------------------------------------------------------
_OBJECT_REQUIRED = ("name", "value")
SUPPORTED_OBJECTS = ("Text", "HyperText", "Image", "Audio", "Video", "Paragraphs", "Table", "List",
                     "TimeSeries", "Chat")
UNSUPPORTED_OBJECTS = ("Pdf", "Dialog")
ALL_OBJECTS = frozenset(SUPPORTED_OBJECTS + UNSUPPORTED_OBJECTS)

_LABEL_PARENTS = ("Labels", "RectangleLabels", "PolygonLabels", "KeyPointLabels", "HyperTextLabels",
                  "ParagraphLabels", "TimeSeriesLabels", "BrushLabels", "BitmaskLabels",
                  "EllipseLabels", "VectorLabels", "VideoVectorLabels", "TimelineLabels", "OcrLabels")


def _obj(name: str, *, has_widget: bool = True, required: tuple[str, ...] = _OBJECT_REQUIRED,
         result_type: str | None = None, value_key: str | None = None) -> TagKind:
    return TagKind(name, TagCategory.OBJECT, has_widget, required_attrs=required,
                   result_type=result_type, value_key=value_key)


def _ctl(name: str, result_type: str, value_key: str | None, to: frozenset[str] | tuple[str, ...], *,
         has_widget: bool = True, region: bool = False, options: tuple[str, ...] = (),
         needs_options: bool = False, required: tuple[str, ...] = ("name", "toname")) -> TagKind:
    return TagKind(name, TagCategory.CONTROL, has_widget, result_type=result_type, value_key=value_key,
                   to_kinds=frozenset(to), required_attrs=required, is_region=region,
                   option_kinds=frozenset(options), needs_options=needs_options)


def _vis(name: str, *, has_widget: bool = True, required: tuple[str, ...] = ()) -> TagKind:
    return TagKind(name, TagCategory.VISUAL, has_widget, required_attrs=required)


def _child(name: str, parents: tuple[str, ...], *, has_widget: bool = True,
           required: tuple[str, ...] = ("value",)) -> TagKind:
    return TagKind(name, TagCategory.CHILD, has_widget, required_attrs=required,
                   parent_kinds=frozenset(parents))


_ANY = ALL_OBJECTS
_SPAN_OBJECTS = ("Text", "HyperText", "Audio", "Image", "Paragraphs", "TimeSeries")

_KINDS: tuple[TagKind, ...] = (
    # Objects Quorum can show.
    _obj("Text"), _obj("HyperText"),
    # Multi-page documents give Image a ``valueList`` instead of a ``value``.
    _obj("Image", required=("name", "value|valuelist")),
    _obj("Audio"), _obj("Video"), _obj("Paragraphs"), _obj("Table"), _obj("List"), _obj("TimeSeries"),
    # Chat shows a conversation ([{role, content}]) and, with editable="true", makes results itself:
    # each message the labeler adds is a "chatmessage" item (Enterprise-only in Label Studio; its
    # llm="..." auto-reply cannot be honoured here -- see core.config.validation.config_warnings).
    # Its messages are regions that perRegion controls answer for (views/widgets/chat_regions.py).
    _obj("Chat", result_type="chatmessage", value_key="chatmessage"),
    # Objects Quorum cannot show (Pdf needs OcrLabels).
    _obj("Pdf", has_widget=False), _obj("Dialog", has_widget=False),

    # Controls Quorum can label with.
    _ctl("Choices", "choices", "choices", _ANY, options=("Choice",), needs_options=True),
    _ctl("Labels", "labels", "labels", _SPAN_OBJECTS, region=True, options=("Label",),
         needs_options=True),
    _ctl("RectangleLabels", "rectanglelabels", "rectanglelabels", ("Image",), region=True,
         options=("Label",), needs_options=True),
    _ctl("Rectangle", "rectangle", None, ("Image",), region=True),
    _ctl("PolygonLabels", "polygonlabels", "polygonlabels", ("Image",), region=True,
         options=("Label",), needs_options=True),
    _ctl("Polygon", "polygon", None, ("Image",), region=True),
    _ctl("KeyPointLabels", "keypointlabels", "keypointlabels", ("Image",), region=True,
         options=("Label",), needs_options=True),
    _ctl("KeyPoint", "keypoint", None, ("Image",), region=True),
    _ctl("TextArea", "textarea", "text", _ANY),
    _ctl("Rating", "rating", "rating", _ANY),
    _ctl("Number", "number", "number", _ANY),
    _ctl("DateTime", "datetime", "datetime", _ANY),
    _ctl("Taxonomy", "taxonomy", "taxonomy", _ANY, options=("Choice",), needs_options=True),
    _ctl("Pairwise", "pairwise", "selected", _ANY),
    _ctl("Ranker", "ranker", "ranker", ("List",), options=("Bucket",)),
    # Relations usually has neither name nor toName: it links any two regions of the annotation.
    _ctl("Relations", "relation", "labels", (), options=("Relation",), required=()),
    _ctl("HyperTextLabels", "hypertextlabels", "hypertextlabels", ("HyperText",), region=True,
         options=("Label",), needs_options=True),
    _ctl("ParagraphLabels", "paragraphlabels", "paragraphlabels", ("Paragraphs",), region=True,
         options=("Label",), needs_options=True),
    _ctl("TimeSeriesLabels", "timeserieslabels", "timeserieslabels", ("TimeSeries",), region=True,
         options=("Label",), needs_options=True),
    # Frame ranges on a Video (views/widgets/video_regions.py).
    _ctl("TimelineLabels", "timelinelabels", "timelinelabels", ("Video",), region=True, options=("Label",),
         needs_options=True),

    # Controls Quorum knows but cannot label with (no widget): pixel masks, ellipses, vectors,
    # video tracking, OCR on PDF, custom React UIs.
    _ctl("BrushLabels", "brushlabels", "brushlabels", ("Image",), has_widget=False, region=True,
         options=("Label",), needs_options=True),
    _ctl("Brush", "brush", None, ("Image",), has_widget=False, region=True),
    _ctl("BitmaskLabels", "bitmasklabels", "bitmasklabels", ("Image",), has_widget=False, region=True,
         options=("Label",), needs_options=True),
    _ctl("Bitmask", "bitmask", None, ("Image",), has_widget=False, region=True),
    _ctl("MagicWand", "brush", None, ("Image",), has_widget=False, region=True),
    _ctl("EllipseLabels", "ellipselabels", "ellipselabels", ("Image",), has_widget=False,
         region=True, options=("Label",), needs_options=True),
    _ctl("Ellipse", "ellipse", None, ("Image",), has_widget=False, region=True),
    _ctl("VectorLabels", "vectorlabels", "vectorlabels", ("Image",), has_widget=False, region=True,
         options=("Label",), needs_options=True),
    _ctl("Vector", "vector", None, ("Image",), has_widget=False, region=True),
    _ctl("VideoRectangle", "videorectangle", "sequence", ("Video",), has_widget=False, region=True),
    _ctl("VideoVectorLabels", "videovectorlabels", "videovectorlabels", ("Video",),
         has_widget=False, region=True, options=("Label",), needs_options=True),
    _ctl("VideoVector", "videovector", None, ("Video",), has_widget=False, region=True),
    _ctl("OcrLabels", "ocrlabels", "ocrlabels", ("Pdf",), has_widget=False, region=True,
         options=("Label",), needs_options=True),
    _ctl("ReactCode", "reactcode", "reactcode", _ANY, has_widget=False, required=("name",)),

    # Visual tags. Collapse/Panel map to an expander, Markdown to markdown; Filter (a search box over
    # long label lists) may be shown or left out without changing any result.
    _vis("View"), _vis("Header"), _vis("Style"), _vis("Collapse"), _vis("Markdown"), _vis("Filter"),
    # Repeater rewrites its children per item of a list; PagedView pages its children. Not supported.
    _vis("Repeater", has_widget=False, required=("on",)), _vis("PagedView", has_widget=False),

    # Children, rendered by their parent's widget.
    _child("Choice", ("Choices", "Taxonomy", "Choice")),
    _child("Label", _LABEL_PARENTS),
    _child("Relation", ("Relations",)),
    _child("Bucket", ("Ranker",), required=("name",)),
    _child("Channel", ("TimeSeries", "MultiChannel"), required=("column",)),
    _child("Shortcut", ("TextArea", "Labels"), required=("value",)),
    _child("Panel", ("Collapse",), required=()),
    _child("MultiChannel", ("TimeSeries",), has_widget=False, required=()),
)

TAG_KINDS: dict[str, TagKind] = {kind.name: kind for kind in _KINDS}
"""Every tag type Quorum knows, by canonical name. Registered once; do not mutate at runtime."""

if len(TAG_KINDS) != len(_KINDS):  # pragma: no cover - guards against a copy-paste duplicate
    raise RuntimeError("a tag kind is registered twice")

# Legacy spellings Label Studio still registers under another name.
TAG_ALIASES: dict[str, str] = {"audioplus": "Audio"}

_BY_LOWER: dict[str, str] = {name.lower(): name for name in TAG_KINDS} | TAG_ALIASES

SUPPORTED_TAGS: frozenset[str] = frozenset(k.name for k in _KINDS if k.has_widget)
"""Tags a config may use in Quorum (children included)."""

WIDGET_TAGS: frozenset[str] = frozenset(k.name for k in _KINDS if k.has_widget and not k.is_child)
"""Tags ``views/widgets/`` must provide a renderer for: the one place that says which tags have one."""


def canonical_tag(tag: str) -> str | None:
    """The canonical name of ``tag`` (any case, or a legacy alias), or None for an unknown tag."""
    return _BY_LOWER.get(tag.lower())


def kind_of(tag: str) -> TagKind | None:
    """The :class:`TagKind` for ``tag`` written in any case, or None for an unknown tag."""
    name = canonical_tag(tag)
    return TAG_KINDS[name] if name else None


def supported_tags_text() -> str:
    """The supported tags grouped by category, for error messages ("supported tags: ...")."""
    parts = []
    for category in TagCategory:
        names = sorted(k.name for k in _KINDS if k.has_widget and k.category is category)
        parts.append(f"{category.value}s {', '.join(names)}")
    return "; ".join(parts)
