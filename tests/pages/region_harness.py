"""The AppTest script shared by the region widget tests: one region widget on one object.

Inputs come from session state (``xml``, ``data``, ``object``, ``items_in``, ``media``, ``disabled``,
``feed_back``); the widget's result lands in ``st.session_state["out"]``.
"""


def region_widget_app() -> None:
    from pathlib import Path

    import streamlit as st

    import views.widgets.audio_regions  # noqa: F401 - registers the widget
    import views.widgets.image_regions  # noqa: F401
    import views.widgets.text_regions  # noqa: F401
    import views.widgets.video_regions  # noqa: F401
    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from views.widgets.base import REGION_WIDGETS, WidgetContext

    cfg = parse_config(st.session_state["xml"])
    media = st.session_state.get("media")
    ctx = WidgetContext(cfg=cfg, data=st.session_state.get("data", {}), key_prefix="t1",
                        hotkeys=auto_hotkeys(cfg),
                        resolve_media=lambda url: MediaRef(path=Path(media)) if media else MediaRef(),
                        disabled=st.session_state.get("disabled", False))
    obj = cfg.objects[st.session_state["object"]]
    controls = [c for c in cfg.controls.values() if obj.name in c.to_names]
    items = st.session_state.get("items_in", [])
    if st.session_state.get("feed_back") and "out" in st.session_state:
        items = st.session_state["out"]  # a page that passes the last result back in
    st.session_state["out"] = REGION_WIDGETS[obj.tag](obj, controls, items, ctx)
