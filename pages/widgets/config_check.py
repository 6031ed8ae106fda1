"""Live validation and preview of a labeling config, shared by the new-project page and the project
settings' config editor: every problem listed, or a summary and the interface on a sample task."""
from __future__ import annotations

import streamlit as st

from core.config import LabelingConfig, config_problems, generate_sample_task
from core.errors import ConfigError
from core.media import resolve_media
from core.settings import load_settings
from pages.widgets.base import WidgetContext
from pages.widgets.interface import render_interface


def show_config_check(xml: str, *, key_prefix: str) -> LabelingConfig | None:
    """Show whether ``xml`` is a usable config (and a disabled preview when it is); the parsed config,
    or None when it is empty or has problems."""
    if not xml.strip():
        return None
    try:
        cfg, problems = config_problems(xml)
    except ConfigError as exc:  # not usable XML at all
        cfg, problems = None, [str(exc)]
    if problems:
        st.error("This config cannot be used yet:\n\n" + "\n".join(f"- {p}" for p in problems))
        return None
    if cfg is None:
        return None
    st.success(f"Valid: {len(cfg.objects)} object tag(s), {len(cfg.controls)} control(s); "
               f"data fields: {', '.join(cfg.variables) or 'none'}")
    settings = load_settings()
    with st.container(border=True):
        st.caption("Preview on a sample task")
        render_interface(
            [],
            WidgetContext(
                cfg=cfg, data=generate_sample_task(cfg), key_prefix=key_prefix, hotkeys={},
                resolve_media=lambda url: resolve_media(url, settings), disabled=True,
            ),
        )
    return cfg
