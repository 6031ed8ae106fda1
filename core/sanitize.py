"""Making user-supplied text safe to show as HTML or markdown.

Task data, labels, instructions, display names and config values come from users. Quorum never renders
them as raw HTML: plain text is escaped; HTML task content goes through ``nh3`` (the Rust ``ammonia``
sanitiser), which keeps formatting tags and drops scripts, event handlers, styles that can overlay the
page, and ``javascript:`` URLs. Markdown (project instructions) is shown with ``st.markdown``, which never
passes raw HTML through unless told to; Quorum never tells it to. Text that is not Markdown but lands in a
Markdown context (a display name in a heading, a label on a button) is escaped with :func:`escape_markdown`.

Images are the one thing a page fetches by itself, so an ``<img>`` in HyperText and an image in Markdown
instructions obey the task media allow-list (:func:`core.media.browser_may_load`): one that may not be
loaded keeps no address and shows a placeholder text instead.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import nh3

from core.media import browser_may_load

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
BLOCKED_IMAGE = "image not shown (address not allowed)"
# The characters that start or shape Markdown syntax in Streamlit: CommonMark (emphasis, code, links, images,
# headings, lists, block quotes, HTML, entities with &, setext = underlines), GFM (tables |, strikethrough ~,
# e-mail autolinks with @ and www./http: autolinks, broken by the escaped . and :) and Streamlit's own
# (:material/icons:, :color[directives]{...}, $math$). Each is ASCII punctuation, so a backslash escapes it.
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|:<>~$&=@")


def escape_text(text: object) -> str:
    """Plain text for an HTML context: every markup character escaped."""
    return html.escape("" if text is None else str(text), quote=True)


def escape_markdown(text: object) -> str:
    """``text`` shown literally inside Streamlit Markdown (st.markdown, captions, headings, widget labels).

    Markdown's characters are backslash-escaped and line breaks become spaces, so a display name
    such as ``**x** [y](javascript:alert(1))`` or ``![a](http://tracker/p.gif)`` shows as typed: no
    emphasis, link, image, heading, list or HTML.
    """
    flat = " ".join(("" if text is None else str(text)).splitlines())
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in flat)


def _image_gate(element: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: an ``<img src>`` the browser may not load is dropped (nothing is fetched)."""
    if element == "img" and attribute == "src" and not browser_may_load(value):
        return None
    return value


class _BlockedImageLabels(HTMLParser):
    """Re-emits sanitised HTML as it is, giving every ``<img>`` left without ``src`` a visible alt text.

    The placeholder is an ``alt``, not a text node, so HyperText span offsets (over text nodes) do not move.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag != "img" or values.get("src"):
            self.parts.append(self.get_starttag_text() or "")
            return
        alt = values.get("alt")
        values["alt"] = f"[{BLOCKED_IMAGE}{': ' + alt if alt else ''}]"
        self.parts.append("<img" + "".join(f' {k}="{escape_text(v or "")}"' for k, v in values.items()) + ">")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.parts.append(f"&#{name};")


def sanitize_html(fragment: object) -> str:
    """An HTML fragment with only formatting tags and safe attributes left; links get rel=noopener, and an
    ``<img>`` from outside the media allow-list loses its address and shows a placeholder."""
    cleaned = nh3.clean(
        "" if fragment is None else str(fragment),
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_image_gate,
    )
    if "<img" not in cleaned:
        return cleaned
    labeller = _BlockedImageLabels()
    labeller.feed(cleaned)
    labeller.close()
    return "".join(labeller.parts)


class _TextContent(HTMLParser):
    """The text nodes of well-formed (sanitised) HTML, as a browser's DOM holds them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._after_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._after_pre = tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self._after_pre = False

    def handle_data(self, data: str) -> None:
        if self._after_pre and data.startswith("\n"):
            data = data[1:]  # the HTML parser drops the line feed that opens a <pre> (the serialiser doubles it)
        self._after_pre = False
        self.parts.append(data)


def hypertext_text(fragment: object) -> str:
    """The text a HyperText span's offsets count in: the text nodes of :func:`sanitize_html` of ``fragment``,
    concatenated in document order (what the labeling page's span component measures in the browser)."""
    reader = _TextContent()
    reader.feed(sanitize_html(fragment))
    reader.close()
    return "".join(reader.parts)


# A Markdown image in its plain inline form: no brackets, code, HTML or escapes in the alt text, a bare
# destination of URL characters (no entities, spaces or parentheses), an optional "title". Written like
# this, every CommonMark reader agrees where it starts and ends and which address it loads.
_PLAIN_IMAGE = re.compile(
    r'!\[(?P<alt>[^\[\]\\`<>\n]*)\]\((?P<src>[A-Za-z0-9\-._~:/?#@$*+,;=%\']+)(?: "[^"\\\n]*")?\)'
)


def _escaped(source: str, index: int) -> bool:
    """Whether the character at ``index`` follows an odd number of backslashes (is escaped)."""
    count = 0
    while index - count > 0 and source[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _image_placeholder(src: str) -> str:
    host = urlparse(src).hostname or src[:40]
    return "*" + escape_markdown(f"[{BLOCKED_IMAGE}: {host}]") + "*"


def markdown_with_allowed_images(text: object) -> str:
    """Markdown ``text`` in which no image outside the media allow-list can be shown.

    A plain image (``![alt](https://host/x.png)``) whose address the browser may load stays; one that may
    not becomes a placeholder text naming its host. Any other image syntax (reference images, addresses
    with spaces or entities, brackets or code in the alt text) is not worth telling apart: its ``!`` is
    escaped, which leaves a plain link, not an image. Inside code the rewrite shows too (a rare, visible
    change; never a fetch).
    """
    source = "" if text is None else str(text)
    out: list[str] = []
    position = 0
    while (start := source.find("![", position)) != -1:
        out.append(source[position:start])
        image = _PLAIN_IMAGE.match(source, start)
        if _escaped(source, start):  # a backslash before the "!": an escaped "!", no image
            out.append("![")
            position = start + 2
        elif image is None:
            out.append("\\![")
            position = start + 2
        else:
            allowed = browser_may_load(image["src"])
            out.append(image.group(0) if allowed else _image_placeholder(image["src"]))
            position = image.end()
    out.append(source[position:])
    return "".join(out)
