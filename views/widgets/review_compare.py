"""Where the annotators of a task differ, drawn per control for the review page: :func:`show_differences`.

What is compared comes from :mod:`core.review_diff` (pure); this module only draws it, one renderer per
tag family in :data:`RENDERERS` (never an ``if tag ==`` chain):

* image regions (boxes, polygons, key points; Labels on image regions): every annotator's regions on one
  picture, each annotator in their own colour and switched on and off with the pills above it; a region
  that matches no consensus region is dashed and tagged with its label (hover says "only alice drew it");
  the proposed consensus is drawn beside it in the labels' colours, each region with how many drew it;
* text spans: one copy of the text, each annotator's spans as an underline of their colour on their own
  track (the consensus last, dark), the characters the annotators do not agree on highlighted, and a
  table of the spans that differ;
* time spans (audio seconds, time series, video frames): one lane per annotator and the consensus;
* choices (and Pairwise, dates): the votes per option, the consensus option marked;
* transcripts (TextArea): each answer against the consensus, word by word (``<del>`` what the consensus
  has and the annotator not, ``<ins>`` the other way round);
* numbers and ratings: the spread, every annotator's value on the control's scale with min / median / max;
* anything else: each annotator's answer as text.

Every user text (names, labels, texts, answers) is escaped (:func:`core.sanitize.escape_text` in HTML,
:func:`core.sanitize.escape_markdown` in Markdown); images come through the project's media resolver
only (the same one the labeling widgets use), never from a third-party host.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.config import ControlTag, LabelingConfig, resolve_value
from core.media import MediaRef
from core.review_diff import (
    ControlComparison,
    DrawnRegion,
    Listing,
    RegionComparison,
    Spread,
    TextComparison,
    Votes,
    compare_task,
)
from core.sanitize import escape_markdown, escape_text
from views.widgets.components.region_tools import label_colors, region_color, with_alpha
from views.widgets.image_regions import (
    DEFAULT_MAX_HEIGHT,
    DEFAULT_MAX_WIDTH,
    _display_copy,
    _read_media,
    _region_outline,
)

MediaResolver = Callable[[object], MediaRef]
CONSENSUS = "consensus"
CONSENSUS_COLOUR = "#37474f"
DIFFER_BG = "rgba(255, 193, 7, 0.30)"  # characters the annotators do not agree on
TRACK_PX, TRACK_GAP_PX = 3, 2
STACK_STEP = 0.8  # the spread chart: annotators who gave one number, stacked this far apart
EMPTY_CELL = '<span class="qrc-muted">—</span>'
FIGURE_WIDTH_PX = 620  # a column's width on a wide page, two columns side by side: the figures' height follows
FIGURE_TOP_PX = 28  # room above the picture for the label chips of regions at its top edge


@dataclass(frozen=True)
class CompareContext:
    cfg: LabelingConfig
    data: dict[str, Any]
    media: MediaResolver
    key_prefix: str
    colours: dict[str, str]  # annotator -> colour

    def key(self, *parts: object) -> str:
        return "_".join([self.key_prefix, *(str(p) for p in parts)])


def annotator_colours(names: Sequence[str]) -> dict[str, str]:
    """One colour per annotator: the sorted names onto Plotly's qualitative palette, the rule of the Quality
    page's charts (views/analytics.py ``annotator_colours``), so a person keeps their colour there and here."""
    palette = px.colors.qualitative.Plotly
    return {name: palette[i % len(palette)] for i, name in enumerate(sorted(set(names)))}


def _chip(name: str, colour: str) -> str:
    return (f'<span class="qrc-chip"><span class="qrc-dot" style="background:{colour}"></span>'
            f"{escape_text(name)}</span>")


STYLE = """<style>
.qrc { font-size: 0.95rem; }
.qrc-chip { display: inline-flex; align-items: center; gap: 0.3em; margin-right: 0.9em; white-space: nowrap; }
.qrc-dot { width: 0.8em; height: 0.8em; border-radius: 50%; display: inline-block; }
.qrc-text { white-space: pre-wrap; padding: 0.4rem 0; }
.qrc-seg { -webkit-box-decoration-break: clone; box-decoration-break: clone; background-repeat: no-repeat;
           border-radius: 2px; }
.qrc table { border-collapse: collapse; width: 100%; margin-top: 0.4rem; }
.qrc th, .qrc td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid rgba(128,128,128,0.25);
                   vertical-align: top; }
.qrc th { font-weight: 600; }
.qrc tr.qrc-differ td { background: rgba(255, 193, 7, 0.12); }
.qrc .qrc-muted { opacity: 0.6; }
.qrc ins { background: rgba(46, 160, 67, 0.22); text-decoration: none; border-radius: 2px; padding: 0 2px; }
.qrc del { background: rgba(248, 81, 73, 0.20); text-decoration: line-through; border-radius: 2px; padding: 0 2px; }
.qrc-bar { height: 0.9em; border-radius: 3px; background: #4c78a8; display: inline-block; vertical-align: middle; }
.qrc-diffline { margin: 0.35rem 0; line-height: 1.7; }
</style>"""


def _html(body: str) -> None:
    st.html(STYLE + f'<div class="qrc">{body}</div>')


# --- images ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Picture:
    source: str  # a data: URL of the display copy, or the URL the resolver allows the browser to load
    width: int
    height: int


def _picture(control: ControlTag, ctx: CompareContext, items: Sequence[dict[str, Any]]) -> _Picture | None:
    obj = ctx.cfg.objects.get(control.to_names[0]) if control.to_names else None
    if obj is None:
        return None
    media = ctx.media(resolve_value(obj.value, ctx.data))
    if not media.available:
        return None
    raw = _read_media(media)
    if raw is not None:
        image = _display_copy(raw, DEFAULT_MAX_WIDTH, DEFAULT_MAX_HEIGHT)
        assert isinstance(image.background, bytes)
        kind = "png" if image.background[:4] == b"\x89PNG" else "jpeg"
        source = f"data:image/{kind};base64," + base64.b64encode(image.background).decode()
        return _Picture(source, image.display_width, image.display_height)
    sizes = [(i.get("original_width"), i.get("original_height")) for i in items]
    width, height = next(((int(w), int(h)) for w, h in sizes if w and h), (DEFAULT_MAX_WIDTH, DEFAULT_MAX_WIDTH * 3 // 4))
    scale = min(1.0, DEFAULT_MAX_WIDTH / width, DEFAULT_MAX_HEIGHT / height)
    return _Picture(str(media.url), round(width * scale), round(height * scale))


def _figure(picture: _Picture) -> go.Figure:
    fig = go.Figure()
    fig.add_layout_image(source=picture.source, x=0, y=0, sizex=picture.width, sizey=picture.height, xref="x",
                         yref="y", sizing="stretch", layer="below", xanchor="left", yanchor="top")
    fig.update_xaxes(range=[0, picture.width], visible=False, showgrid=False, zeroline=False, fixedrange=True)
    fig.update_yaxes(range=[picture.height, 0], visible=False, showgrid=False, zeroline=False, fixedrange=True,
                     scaleanchor="x", scaleratio=1)
    height = max(240, min(680, round(FIGURE_WIDTH_PX * picture.height / max(picture.width, 1) + FIGURE_TOP_PX)))
    # No legend (it would take room from the picture on one side only; the captions carry the colours) and no
    # automatic margins: side by side, both pictures have exactly this box.
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": FIGURE_TOP_PX, "b": 0, "autoexpand": False},
                      showlegend=False, plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)",
                      dragmode=False, hoverlabel={"namelength": -1})
    return fig


def _add_region(fig: go.Figure, picture: _Picture, value: dict[str, Any], *, colour: str, group: str,
                first: bool, hover: str, dashed: bool, tag: str | None) -> None:
    """One region drawn as its own trace (so each has its own hover), grouped under ``group`` in the legend;
    ``tag``: a label chip above its top-left corner."""
    outline = _region_outline(value, picture.width, picture.height)
    common = {"name": escape_text(group), "legendgroup": group, "showlegend": first,
              "hoverinfo": "text", "text": hover}
    if outline is not None:
        xs = [p[0] for p in outline] + [outline[0][0]]
        ys = [p[1] for p in outline] + [outline[0][1]]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=with_alpha(colour, 0.10),
                                 line={"color": colour, "width": 3 if dashed else 2.2, "dash": "dash" if dashed else "solid"},
                                 hoveron="fills", **common))
        anchor = min(outline, key=lambda p: (p[1], p[0]))
    elif "x" in value and "y" in value:
        cx, cy = float(value["x"]) * picture.width / 100, float(value["y"]) * picture.height / 100
        fig.add_trace(go.Scatter(x=[cx], y=[cy], mode="markers", marker={
            "size": 11, "color": colour, "symbol": "circle-open" if dashed else "circle",
            "line": {"width": 3 if dashed else 1.5, "color": colour if dashed else "white"}}, **common))
        anchor = (cx + 6, cy - 6)
    else:
        return
    if tag:
        fig.add_annotation(x=anchor[0], y=anchor[1], text=escape_text(tag), showarrow=False, xanchor="left",
                           yanchor="bottom", bgcolor=colour, font={"color": "white", "size": 11},
                           borderpad=2, opacity=0.95)


def _hover(region: DrawnRegion) -> str:
    what = escape_text(region.label or "region")
    if region.matched:
        extra = f"<br>{escape_text(region.note)}" if region.note else ""
        return (f"{escape_text(region.annotator)}: {what} (in the consensus, #{(region.consensus_index or 0) + 1})"
                + extra)
    return f"{escape_text(region.annotator)}: {what}<br>{escape_text(region.note)}"


def _image_regions(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, RegionComparison)
    control = comparison.control
    all_items = [r.item for r in detail.regions] + [c.item for c in detail.consensus]
    picture = _picture(control, ctx, all_items)
    if picture is None:
        st.warning("The image is not available (not an allowed location), so the regions cannot be drawn on it.")
        _region_table(detail)
        return
    names = list(detail.annotators)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        shown = st.pills("Annotators shown", names, selection_mode="multi", default=names,
                         format_func=escape_markdown, key=ctx.key(control.name, "who"),
                         help="Switch annotators on and off on the picture.")
        only_differences = st.toggle("Only regions not everyone drew", key=ctx.key(control.name, "odd"),
                                     help="Hide regions that match a consensus region.")
    shown_set = set(shown or [])
    # Captions (of different lengths, wrapping differently) in a row of their own, the two pictures in the row
    # below, each figure with the same height and margins and no legend (the annotators' colours are chips in
    # the caption row): the overlay and the consensus line up whatever the width of the window.
    overlay_caption, consensus_caption = st.columns(2, gap="medium")
    with overlay_caption:
        st.markdown("**Every annotator** · dashed: only one person drew it, or it matches no consensus region")
        _html("".join(_chip(name, ctx.colours.get(name, CONSENSUS_COLOUR)) for name in names if name in shown_set))
    consensus_caption.markdown("**Proposed consensus** · dashed: not everyone drew it" if detail.has_consensus
                               else "**No consensus** (a tie, or no way to combine)")
    overlay, beside = st.columns(2, gap="medium")
    with overlay:
        fig = _figure(picture)
        seen: set[str] = set()
        for region in sorted(detail.regions, key=detail.stands_out):  # the odd ones drawn on top
            odd = detail.stands_out(region)
            if region.annotator not in shown_set or (only_differences and not odd):
                continue
            colour = ctx.colours.get(region.annotator, CONSENSUS_COLOUR)
            _add_region(fig, picture, region.item.get("value") or {}, colour=colour, group=region.annotator,
                        first=region.annotator not in seen, hover=_hover(region), dashed=odd,
                        tag=f"{region.label or 'region'} · {region.annotator}" if odd else None)
            seen.add(region.annotator)
        st.plotly_chart(fig, width="stretch", key=ctx.key(control.name, "overlay"),
                        config={"displayModeBar": False, "scrollZoom": False})
    with beside:
        fig = _figure(picture)
        colours = label_colors([control])
        n = len(names)
        for i, agreed in enumerate(detail.consensus):
            colour = region_color(agreed.item, {control.name: control}, colours)
            missed = f"<br>missed by {escape_text(', '.join(agreed.missed_by))}" if agreed.missed_by else ""
            _add_region(fig, picture, agreed.item.get("value") or {}, colour=colour, group=agreed.label or "region",
                        first=False, dashed=bool(agreed.missed_by), tag=f"{agreed.label or 'region'} {len(agreed.drawn_by)}/{n}",
                        hover=f"#{i + 1} {escape_text(agreed.label or 'region')}: drawn by "
                              f"{escape_text(', '.join(agreed.drawn_by)) or 'nobody'}{missed}")
        st.plotly_chart(fig, width="stretch", key=ctx.key(control.name, "consensus"),
                        config={"displayModeBar": False, "scrollZoom": False})
    _differences_list(detail)


def _differences_list(detail: RegionComparison) -> None:
    """The regions that stand out, in words: consensus regions someone missed, regions nobody matched."""
    lines = [f"{escape_markdown(r.annotator)} **{escape_markdown(r.label or 'region')}**: {escape_markdown(r.note)}"
             for r in detail.unmatched]
    lines += [f"consensus #{i + 1} **{escape_markdown(c.label or 'region')}**: missed by "
              f"{escape_markdown(', '.join(c.missed_by))}" for i, c in enumerate(detail.consensus) if c.missed_by]
    if lines:
        st.markdown("\n".join(f"- {line}" for line in lines))
    elif detail.regions:
        st.caption("Every region matches a consensus region.")


def _region_table(detail: RegionComparison) -> None:
    rows = [{"annotator": r.annotator, "label": r.label, "in consensus": "yes" if r.matched else "no",
             "note": r.note} for r in detail.regions]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")


# --- text spans ----------------------------------------------------------------------------------------


def _span_range(item: dict[str, Any]) -> tuple[int, int]:
    value = item.get("value") or {}
    return int(value.get("start", 0)), int(value.get("end", 0))


def _text_spans(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, RegionComparison) and detail.text is not None
    text = detail.text
    tracks = [*detail.annotators, CONSENSUS] if detail.has_consensus else list(detail.annotators)
    spans: dict[str, list[tuple[int, int, str]]] = {name: [] for name in tracks}
    for region in detail.regions:
        spans[region.annotator].append((*_span_range(region.item), region.label))
    for c in detail.consensus:
        spans[CONSENSUS].append((*_span_range(c.item), c.label))
    cuts = sorted({0, len(text), *(p for own in spans.values() for s, e, _ in own for p in (s, e) if 0 <= p <= len(text))})
    colours = {**ctx.colours, CONSENSUS: CONSENSUS_COLOUR}
    parts: list[str] = []
    for start, end in zip(cuts, cuts[1:]):
        covering = {name: sorted({label for s, e, label in own if s <= start and end <= e}) for name, own in spans.items()}
        piece = escape_text(text[start:end])
        if not any(covering.values()):
            parts.append(piece)
            continue
        readings = {tuple(covering[name]) for name in detail.annotators}
        differs = len(readings) > 1
        layers, positions, sizes = [], [], []
        for k, name in enumerate(tracks):
            if covering[name]:
                colour = colours.get(name, CONSENSUS_COLOUR)
                layers.append(f"linear-gradient({colour},{colour})")
                lift = (len(tracks) - 1 - k) * (TRACK_PX + TRACK_GAP_PX)  # the first annotator nearest the text
                positions.append(f"0 calc(100% - {lift}px)")
                sizes.append(f"100% {TRACK_PX}px")
        title = " · ".join(f"{name}: {', '.join(covering[name]) or '—'}" for name in tracks)
        style = (f"background-image:{','.join(layers)};background-position:{','.join(positions)};"
                 f"background-size:{','.join(sizes)};padding-bottom:{len(tracks) * (TRACK_PX + TRACK_GAP_PX)}px;"
                 + (f"background-color:{DIFFER_BG};" if differs else ""))
        parts.append(f'<span class="qrc-seg" style="{style}" title="{escape_text(title)}">{piece}</span>')
    legend = "".join(_chip(name, colours.get(name, CONSENSUS_COLOUR)) for name in tracks)
    legend += f'<span class="qrc-chip"><span class="qrc-dot" style="background:{DIFFER_BG};border-radius:2px"></span>' \
              "annotators differ</span>"
    line_height = f"calc(1.6em + {len(tracks) * (TRACK_PX + TRACK_GAP_PX)}px)"
    _html(f'<div>{legend}</div><div class="qrc-text" style="line-height:{line_height}">{"".join(parts)}</div>'
          + _span_table(detail, text, tracks))


def _span_table(detail: RegionComparison, text: str, tracks: list[str]) -> str:
    """Overlapping spans of everyone grouped; one row per group, the groups the annotators read
    differently highlighted (and listed first)."""
    every = [(s, e, r.annotator, r.label) for r in detail.regions for s, e in [_span_range(r.item)]]
    every += [(s, e, CONSENSUS, c.label) for c in detail.consensus for s, e in [_span_range(c.item)]]
    groups: list[list[tuple[int, int, str, str]]] = []
    for span in sorted(every):
        if groups and span[0] < max(e for _, e, _, _ in groups[-1]):
            groups[-1].append(span)
        else:
            groups.append([span])
    rows: list[tuple[bool, str]] = []
    for group in groups:
        low, high = min(s for s, _, _, _ in group), max(e for _, e, _, _ in group)
        cells = []
        readings = []
        for name in tracks:
            own = [(s, e, label) for s, e, who, label in group if who == name]
            reading = "; ".join(label if (s, e) == (low, high) else f"{label} “{text[s:e]}”" for s, e, label in own)
            if name != CONSENSUS:
                readings.append(reading)
            cells.append(f"<td>{escape_text(reading) or EMPTY_CELL}</td>")
        differs = len(set(readings)) > 1
        rows.append((differs, f'<tr class="{"qrc-differ" if differs else ""}"><td>{escape_text(text[low:high])}</td>'
                              + "".join(cells) + "</tr>"))
    if not rows:
        return ""
    head = "<tr><th>text</th>" + "".join(f"<th>{escape_text(n)}</th>" for n in tracks) + "</tr>"
    ordered = [r for d, r in rows if d] + [r for d, r in rows if not d]
    n_differ = sum(d for d, _ in rows)
    caption = (f"{n_differ} of {len(rows)} span group(s) differ" if n_differ else "Every span is read alike")
    return f"<p class=\"qrc-muted\" style=\"margin-top:0.8rem\">{caption}</p><table>{head}{''.join(ordered)}</table>"


# --- time spans ----------------------------------------------------------------------------------------


def _position(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ranges(item: dict[str, Any]) -> list[tuple[float, float]]:
    value = item.get("value") or {}
    raw: list[Any] = value["ranges"] if isinstance(value.get("ranges"), list) else [value]
    out = []
    for r in (r for r in raw if isinstance(r, dict)):
        s, e = _position(r.get("start")), _position(r.get("end"))
        if s is not None and e is not None:
            out.append((s, max(e, s)))
    return out


def _time_spans(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, RegionComparison)
    lanes = [*detail.annotators, CONSENSUS] if detail.has_consensus else list(detail.annotators)
    fig = go.Figure()
    rows: list[tuple[str, DrawnRegion | None, dict[str, Any], str]] = [
        (r.annotator, r, r.item, r.label) for r in detail.regions]
    rows += [(CONSENSUS, None, c.item, c.label) for c in detail.consensus]
    seen: set[str] = set()
    for lane, region, item, label in rows:
        colour = ctx.colours.get(lane, CONSENSUS_COLOUR)
        note = "in the consensus" if region is None or region.matched else region.note
        for start, end in _ranges(item):
            fig.add_trace(go.Bar(
                y=[escape_text(lane)], x=[max(end - start, 1e-3)], base=[start], orientation="h",
                marker={"color": with_alpha(colour, 0.35 if region is not None and not region.matched else 0.75),
                        "line": {"color": colour, "width": 2}},
                text=[escape_text(label)], textposition="inside", insidetextanchor="middle",
                hovertext=[escape_text(f"{lane}: {label} {start:g}–{end:g} · {note}")], hoverinfo="text",
                name=escape_text(lane), legendgroup=lane, showlegend=False))
            seen.add(lane)
    fig.update_layout(barmode="overlay", height=60 + 38 * len(lanes), margin={"l": 0, "r": 0, "t": 10, "b": 30},
                      yaxis={"categoryorder": "array", "categoryarray": [escape_text(n) for n in reversed(lanes)],
                             "type": "category"}, dragmode=False)
    st.plotly_chart(fig, width="stretch", key=ctx.key(comparison.control.name, "lanes"),
                    config={"displayModeBar": False})
    _differences_list(detail)


def _node_spans(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, RegionComparison)
    _region_table(detail)


REGION_LAYOUTS: dict[str, Callable[[ControlComparison, CompareContext], None]] = {
    "image": _image_regions, "text": _text_spans, "time": _time_spans, "list": _node_spans,
}


def _regions(comparison: ControlComparison, ctx: CompareContext) -> None:
    """Regions drawn where they are: on the picture, on the text, on a time line, else as a table."""
    assert isinstance(comparison.detail, RegionComparison)
    REGION_LAYOUTS[comparison.detail.layout](comparison, ctx)


# --- whole-task answers ----------------------------------------------------------------------------------


def _votes(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, Votes)
    n = max(detail.n_annotators, 1)
    rows = []
    for option in detail.options:
        width = 100 * len(option.voters) / n
        mark = " <b>✓ consensus</b>" if option.in_consensus else ""
        who = "".join(_chip(name, ctx.colours.get(name, CONSENSUS_COLOUR)) for name in option.voters)
        bar = f'<span class="qrc-bar" style="width:{width:.0f}%"></span>' if option.voters else ""
        rows.append(f"<tr><td>{escape_text(option.option)}{mark}</td>"
                    f'<td style="width:3em">{len(option.voters)}</td><td style="width:30%">{bar}</td>'
                    f"<td>{who}</td></tr>")
    if detail.no_answer:
        who = "".join(_chip(name, ctx.colours.get(name, CONSENSUS_COLOUR)) for name in detail.no_answer)
        rows.append(f'<tr class="qrc-muted"><td>(no answer)</td><td>{len(detail.no_answer)}</td><td></td>'
                    f"<td>{who}</td></tr>")
    _html('<table><tr><th style="width:28%">option</th><th colspan="2">votes</th><th>who</th></tr>'
          + "".join(rows) + "</table>")


def _diff_html(ops: Sequence[tuple[str, str]]) -> str:
    out = []
    for op, words in ops:
        text = escape_text(words)
        out.append(f"<ins>{text}</ins>" if op == "insert" else f"<del>{text}</del>" if op == "delete" else text)
    return " ".join(out)


def _texts(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, TextComparison)
    lines = []
    if detail.consensus is not None:
        lines.append(f'<div class="qrc-diffline"><b>Consensus</b>: {escape_text(detail.consensus)}</div>')
    else:
        lines.append('<div class="qrc-diffline qrc-muted">No consensus text: each answer is compared with the '
                     "first one.</div>")
    for diff in detail.diffs:
        chip = _chip(diff.annotator, ctx.colours.get(diff.annotator, CONSENSUS_COLOUR))
        if diff.is_consensus:
            body = '<span class="qrc-muted">same words as the consensus</span>'
        else:
            body = _diff_html(diff.ops) or '<span class="qrc-muted">(empty)</span>'
        lines.append(f'<div class="qrc-diffline">{chip}<span class="qrc-muted">{diff.similarity:.0%} alike</span>'
                     f" &nbsp; {body}</div>")
    legend = ('<div class="qrc-muted" style="margin-top:0.3rem"><del>struck</del>: in the consensus, not in this '
              "answer · <ins>marked</ins>: in this answer, not in the consensus</div>")
    _html("".join(lines) + legend)


def _spread(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    assert isinstance(detail, Spread)
    if not detail.values:
        st.caption("Nobody gave a number.")
        return
    fig = go.Figure()
    stacked: dict[float, int] = {}  # annotators who gave the same number are stacked upwards
    for name, value in detail.values:
        level = stacked[value] = stacked.get(value, -1) + 1
        fig.add_trace(go.Scatter(x=[value], y=[level * STACK_STEP], mode="markers+text", text=[escape_text(name)],
                                 textposition="top center", cliponaxis=False,
                                 marker={"size": 14, "color": ctx.colours.get(name, CONSENSUS_COLOUR),
                                         "line": {"width": 1, "color": "white"}},
                                 hovertext=[escape_text(f"{name}: {value:g}")], hoverinfo="text", showlegend=False))
    if detail.consensus is not None:
        fig.add_trace(go.Scatter(x=[detail.consensus], y=[0], mode="markers", showlegend=False,
                                 marker={"size": 22, "symbol": "diamond-open", "color": CONSENSUS_COLOUR,
                                         "line": {"width": 2}},
                                 hovertext=[f"consensus: {detail.consensus:g}"], hoverinfo="text"))
    low, high = detail.scale or (detail.low or 0.0, detail.high or 0.0)
    pad = max((high - low) * 0.06, 0.5)
    if detail.low is not None and detail.high is not None:
        fig.add_shape(type="line", x0=detail.low, x1=detail.high, y0=0, y1=0, line={"color": "#999", "width": 6},
                      layer="below")
    top = max(stacked.values(), default=0) * STACK_STEP
    fig.update_layout(height=130 + 40 * max(stacked.values(), default=0), margin={"l": 30, "r": 30, "t": 10, "b": 30},
                      dragmode=False, yaxis={"visible": False, "range": [-0.6, top + 1.0], "fixedrange": True},
                      xaxis={"range": [low - pad, high + pad], "fixedrange": True, "zeroline": False})
    st.plotly_chart(fig, width="stretch", key=ctx.key(comparison.control.name, "spread"),
                    config={"displayModeBar": False})
    numbers = [f"min **{detail.low:g}**", f"median **{detail.median:g}**", f"max **{detail.high:g}**",
               f"spread **{detail.range:g}**"]
    if detail.consensus is not None:
        numbers.append(f"consensus **{detail.consensus:g}** (◇)")
    if detail.unanswered:
        numbers.append("no answer: " + escape_markdown(", ".join(detail.unanswered)))
    st.markdown(" · ".join(numbers))


def _listing(comparison: ControlComparison, ctx: CompareContext) -> None:
    detail = comparison.detail
    if not isinstance(detail, Listing):
        st.caption("No side-by-side view for this kind of answer.")
        return
    rows = "".join(f"<tr><td>{_chip(name, ctx.colours.get(name, CONSENSUS_COLOUR))}</td><td>{escape_text(answer)}</td></tr>"
                   for name, answer in detail.answers)
    if detail.consensus is not None:
        rows += f"<tr><td><b>consensus</b></td><td>{escape_text(detail.consensus)}</td></tr>"
    _html(f"<table>{rows}</table>")


def _scalars(comparison: ControlComparison, ctx: CompareContext) -> None:
    (_spread if isinstance(comparison.detail, Spread) else _votes)(comparison, ctx)


def _ordering(comparison: ControlComparison, ctx: CompareContext) -> None:
    (_votes if isinstance(comparison.detail, Votes) else _listing)(comparison, ctx)


Renderer = Callable[[ControlComparison, CompareContext], None]
RENDERERS: dict[str, Renderer] = {
    "shapes": _regions,
    "keypoints": _regions,
    "spans": _regions,
    "time_ranges": _regions,
    "choices": _votes,
    "text_answers": _texts,
    "scalars": _scalars,
    "ordering": _ordering,
    "relations": _listing,
    "chat": _listing,
}
"""How each tag family's comparison is drawn (a family not listed: :func:`_listing`)."""


def _renderer(comparison: ControlComparison) -> Renderer:
    if isinstance(comparison.detail, Listing):  # per-region answers and families without a view of their own
        return _listing
    return RENDERERS.get(comparison.family, _listing)


def show_differences(
    cfg: LabelingConfig,
    view_data: dict[str, Any],
    annotations: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    consensus: Sequence[dict[str, Any]] | None,
    media_resolver: MediaResolver,
    key_prefix: str,
    *,
    no_consensus: Collection[str] = (),
) -> list[ControlComparison]:
    """Draw, per answered control, where the annotators differ (see the module doc); returns the comparisons.

    ``annotations``: (annotator's name, result) per counted annotation, in the order to show them;
    ``consensus``: the proposed consensus result (``ReviewView.consensus``; None: no consensus at all);
    ``no_consensus``: the controls that got none (``ReviewView.missing``); ``media_resolver``: the project's
    (``core.cloud_storage.project_media``); ``key_prefix``: unique per task (e.g. ``f"rv{task_id}_diff"``).
    """
    comparisons = compare_task(cfg, view_data, annotations, consensus, no_consensus=no_consensus)
    ctx = CompareContext(cfg, view_data, media_resolver, key_prefix,
                         annotator_colours([name for name, _ in annotations]))
    for comparison in comparisons:
        with st.container(border=True, key=ctx.key(comparison.control.name, "box")):
            verdict = (":green-badge[:material/check: all agree]" if comparison.agree
                       else ":orange-badge[:material/compare_arrows: differ]")
            st.markdown(f"**{escape_markdown(comparison.question)}** {verdict}")
            if comparison.summary:
                st.caption(escape_markdown(comparison.summary))
            _renderer(comparison)(comparison, ctx)
    return comparisons


__all__ = ["RENDERERS", "annotator_colours", "show_differences"]
