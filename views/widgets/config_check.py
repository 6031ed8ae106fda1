"""Live validation and preview of a labeling config, shared by the new-project page and the project
settings' config editor: every problem listed, or a summary and the interface on a sample task."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import LabelingConfig, config_problems, config_warnings, generate_sample_task
from core.errors import ConfigError
from core.media import resolve_media
from core.sanitize import escape_markdown
from core.settings import load_settings
from core.tags.plan import fallback_notes, quality_plan
from views.widgets.base import WidgetContext
from views.widgets.interface import render_interface
from views.widgets.task_view import MediaResolver


def show_config_check(xml: str, *, key_prefix: str, sample: dict[str, Any] | None = None,
                      media: MediaResolver | None = None) -> LabelingConfig | None:
    """Show whether ``xml`` is a usable config (and a live preview when it is); the parsed config, or None
    when it is empty or has problems.

    The preview is the labeling interface as labelers get it (label buttons, drawing tools, hotkeys), working
    but saving nothing, on ``sample`` (a project's own task data) when it has every field the config reads,
    else on a generated sample task. ``media`` resolves the sample's media (the project's resolver, which
    knows its cloud storage); by default the app's allow-listed folders and URLs.
    """
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
    answered = quality_plan(cfg)  # controls, and objects that make results themselves (an editable Chat)
    st.success(f"Valid: {len(cfg.objects)} object tag(s), {len(answered)} control(s); "
               f"data fields: {', '.join(cfg.variables) or 'none'}")
    warnings = config_warnings(cfg)  # accepted, but read differently from Label Studio (a colour that is none ...)
    if warnings:
        st.warning("Accepted, with notes:\n\n" + "\n".join(f"- {escape_markdown(w.message)}" for w in warnings),
                   icon=":material/info:")
    fallbacks = fallback_notes(cfg)  # answers no function compares or merges: what happens instead
    if fallbacks:
        st.info("How these answers are settled:\n\n" + "\n".join(f"- {escape_markdown(n)}" for n in fallbacks),
                icon=":material/rule:")
    settings = load_settings()
    own = sample is not None and all(variable in sample for variable in cfg.variables)
    with st.container(border=True):
        st.caption("Preview on one of the project's tasks (try it: nothing is saved)" if own
                   else "Preview on a sample task (try it: nothing is saved)")
        render_interface(
            [],
            WidgetContext(
                cfg=cfg, data=sample if own else generate_sample_task(cfg),  # type: ignore[arg-type]
                key_prefix=key_prefix, hotkeys={},
                resolve_media=media if own and media is not None else (lambda url: resolve_media(url, settings)),
                disabled=False,
            ),
        )
    return cfg
