"""Every tag the config language calls supported has something that draws it.

The widget modules import streamlit-drawable-canvas, which only loads inside a Streamlit runtime, so the
registry is read from an AppTest run.
"""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import TAG_KINDS, WIDGET_TAGS
from core.config.registry import TagCategory

# Layout tags the interface walker draws itself (views/widgets/interface.py).
WALKER_TAGS = {"View", "Collapse", "Markdown", "Style", "Filter", "Header"}
# Region controls on objects that have no region widget yet (the page says so when a config uses them).
KNOWN_GAPS: set[tuple[str, str]] = set()


def _registry_script() -> None:
    import streamlit as st

    from views.widgets.base import CONTROL_WIDGETS, OBJECT_VIEWS, REGION_WIDGETS
    from views.widgets.interface import render_interface  # noqa: F401 - imports every widget module

    st.session_state["registry"] = {
        "controls": sorted(CONTROL_WIDGETS),
        "objects": sorted(OBJECT_VIEWS),
        "regions": sorted(REGION_WIDGETS),
    }


def test_every_supported_control_object_and_layout_tag_has_a_renderer():
    at = AppTest.from_function(_registry_script, default_timeout=60).run()
    assert not at.exception, at.exception
    registry = at.session_state["registry"]
    missing = []
    for tag in sorted(WIDGET_TAGS - WALKER_TAGS):
        kind = TAG_KINDS[tag]
        if kind.category is TagCategory.OBJECT:
            if tag not in registry["objects"] and tag not in registry["regions"]:
                missing.append(tag)
        elif kind.category is TagCategory.CONTROL:
            if kind.is_region:
                missing += [
                    f"{tag} on {target}"
                    for target in kind.to_kinds
                    if target not in registry["regions"] and (tag, target) not in KNOWN_GAPS
                ]
            elif tag not in registry["controls"]:
                missing.append(tag)
    assert missing == []
