"""Making user-supplied text safe to show as HTML or markdown.

Task data, labels, instructions and config values come from users. Quorum never renders them as raw
HTML: plain text is escaped; HTML task content goes through ``nh3`` (the Rust
``ammonia`` sanitiser), which keeps formatting tags and drops scripts, event handlers, styles that can
overlay the page, and ``javascript:`` URLs. Markdown (project instructions) is shown with
``st.markdown``, which never passes raw HTML through unless told to; Quorum never tells it to.
"""
from __future__ import annotations

import html

import nh3

# Formatting a document needs; no forms, no iframes, no scripts, no styles.
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small",
        "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"title"},
}


def escape_text(text: object) -> str:
    """Plain text for an HTML context: every markup character escaped."""
    return html.escape("" if text is None else str(text), quote=True)


def sanitize_html(fragment: object) -> str:
    """An HTML fragment with only formatting tags and safe attributes left; links get rel=noopener."""
    return nh3.clean(
        "" if fragment is None else str(fragment),
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
    )

