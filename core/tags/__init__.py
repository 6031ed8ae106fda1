"""What each tag kind *does*, one module per tag family: the behaviour half of the tag registry.

``core.config.registry.TAG_KINDS`` says what a tag is; :func:`behaviour_of` says what it does
(:class:`core.tags.spec.TagBehaviour`: attribute parser, value validator, agreement, consensus, gold
scorer, export formats, or the fallback that applies instead). Every other part of Quorum asks here
rather than comparing tag names. Families:

==================  ==============================================================================
``choices``         Choices, Taxonomy
``shapes``          RectangleLabels, Rectangle, PolygonLabels, Polygon
``keypoints``       KeyPointLabels, KeyPoint
``spans``           Labels, HyperTextLabels, ParagraphLabels
``time_ranges``     TimeSeriesLabels, TimelineLabels
``text_answers``    TextArea
``scalars``         Number, Rating, DateTime
``ordering``        Pairwise, Ranker
``relations``       Relations
``chat``            Chat (the messages a labeler adds to an editable conversation)
==================  ==============================================================================
"""
from __future__ import annotations

from core.config import ControlTag, canonical_tag
from core.tags import chat, choices, keypoints, ordering, relations, scalars, shapes, spans, text_answers, time_ranges
from core.tags.spec import ControlAttrs, Fallback, TagBehaviour

_FAMILIES = (choices, shapes, keypoints, spans, time_ranges, text_answers, scalars, ordering, relations, chat)

BEHAVIOURS: dict[str, TagBehaviour] = {}
"""Behaviour per canonical tag name, filled from the family modules once at import."""
for _family in _FAMILIES:
    for _name, _behaviour in _family.BEHAVIOURS.items():
        if _name in BEHAVIOURS:  # pragma: no cover - a copy-paste guard
            raise RuntimeError(f"tag kind {_name} has two behaviours")
        BEHAVIOURS[_name] = _behaviour


def behaviour_of(tag: str) -> TagBehaviour | None:
    """The behaviour of ``tag`` (any case), or None for a tag that makes no results."""
    name = canonical_tag(tag)
    return BEHAVIOURS.get(name) if name else None


def attrs_of(control: ControlTag) -> ControlAttrs:
    """``control``'s attributes parsed once by its family (each parser caches on the control:
    :func:`core.tags.spec.per_control`)."""
    behaviour = behaviour_of(control.tag)
    return behaviour.attrs(control) if behaviour is not None else ControlAttrs()


__all__ = ["BEHAVIOURS", "ControlAttrs", "Fallback", "TagBehaviour", "attrs_of", "behaviour_of"]
