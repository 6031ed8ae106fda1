"""Object views: how each object tag shows its task data (Text, HyperText, Image, Audio, Video, ...).

Everything from the task is escaped or sanitised before it reaches HTML; media are shown only when
``core.media`` resolves them inside the allow-list.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.config import ObjectTag, resolve_value
from core.sanitize import escape_text, sanitize_html
from views.widgets.base import WidgetContext, object_view


def task_value(obj: ObjectTag, ctx: WidgetContext) -> Any:
    return resolve_value(obj.value, ctx.data)


def media_unavailable(what: str, url: object) -> None:
    st.warning(f"{what} not available: {escape_text(url)!s} is not in an allowed location.", icon=":material/hide_image:")


@object_view("Text")
def show_text(obj: ObjectTag, ctx: WidgetContext) -> None:
    text = task_value(obj, ctx)
    st.html(
        f'<div class="quorum-text" style="white-space: pre-wrap; font-size: 1.05rem; line-height: 1.6;">'
        f"{escape_text(text)}</div>"
    )


@object_view("HyperText")
def show_hypertext(obj: ObjectTag, ctx: WidgetContext) -> None:
    st.html(f'<div class="quorum-hypertext">{sanitize_html(task_value(obj, ctx))}</div>')


@object_view("Header")
def show_header(obj: ObjectTag, ctx: WidgetContext) -> None:
    # Label Studio takes the text from ``value`` or, failing that, the tag's own text
    # (``<Header size="4">Overall quality</Header>``); the walker hands us the TagNode, which has it.
    text = resolve_value(obj.get("value") or getattr(obj, "text", "") or "", ctx.data)
    if text and ctx.disabled:  # read-only answers side by side: the question once per column, in small type
        st.caption(f"**{escape_text(text)}**")
    elif text:
        st.markdown(f"#### {escape_text(text)}")


def _show_media(obj: ObjectTag, ctx: WidgetContext, what: str, player: Callable[[str], object]) -> None:
    """Play or show an allow-listed media file or URL; say so when the task's URL is not allowed."""
    url = task_value(obj, ctx)
    media = ctx.resolve_media(url)
    if not media.available:
        media_unavailable(what, url)
        return
    player(str(media.path) if media.path else str(media.url))


@object_view("Image")
def show_image(obj: ObjectTag, ctx: WidgetContext) -> None:
    _show_media(obj, ctx, "Image", lambda source: st.image(source, width="stretch"))


@object_view("Audio")
def show_audio(obj: ObjectTag, ctx: WidgetContext) -> None:
    _show_media(obj, ctx, "Audio", st.audio)


@object_view("Video")
def show_video(obj: ObjectTag, ctx: WidgetContext) -> None:
    _show_media(obj, ctx, "Video", st.video)


@object_view("Paragraphs")
def show_paragraphs(obj: ObjectTag, ctx: WidgetContext) -> None:
    paragraphs = task_value(obj, ctx)
    name_key = obj.get("nameKey") or "author"
    text_key = obj.get("textKey") or "text"
    rows = []
    for paragraph in paragraphs if isinstance(paragraphs, list) else []:
        if isinstance(paragraph, dict):
            rows.append(
                f"<p><b>{escape_text(paragraph.get(name_key, ''))}</b>"
                f"{': ' if paragraph.get(name_key) else ''}{escape_text(paragraph.get(text_key, ''))}</p>"
            )
    st.html("".join(rows) or "<p><i>(no paragraphs)</i></p>")


@object_view("Table")
def show_table(obj: ObjectTag, ctx: WidgetContext) -> None:
    value = task_value(obj, ctx)
    if isinstance(value, dict):
        st.dataframe(pd.DataFrame({"field": list(value), "value": [str(v) for v in value.values()]}), hide_index=True)
    elif isinstance(value, list):
        st.dataframe(pd.DataFrame(value), hide_index=True)
    else:
        st.write(escape_text(value))


@object_view("List")
def show_list(obj: ObjectTag, ctx: WidgetContext) -> None:
    items = task_value(obj, ctx)
    if obj.get("title"):
        st.markdown(f"**{escape_text(obj.get('title'))}**")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            body = sanitize_html(item.get("html")) if item.get("html") else escape_text(item.get("body", ""))
            st.html(
                f"<div style='border:1px solid #ddd;border-radius:6px;padding:6px 10px;margin:4px 0'>"
                f"<b>{escape_text(item.get('title', item.get('id', '')))}</b><br>{body}</div>"
            )


@object_view("TimeSeries")
def show_timeseries(obj: ObjectTag, ctx: WidgetContext) -> None:
    import plotly.express as px

    value = task_value(obj, ctx)
    time_column = obj.get("timeColumn")
    if not isinstance(value, dict):
        st.warning("This time series is given as a URL; only inline JSON columns are shown.")
        return
    frame = pd.DataFrame(value)
    x = time_column if time_column in frame else None
    columns = [c for c in frame.columns if c != x]
    st.plotly_chart(px.line(frame, x=x, y=columns), key=ctx.key("ts", obj.name))
