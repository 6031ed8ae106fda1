"""core.sanitize and core.media.browser_may_load: images obey the media allow-list wherever a page shows
them (HyperText, Markdown instructions), and text meant as text stays text in Markdown."""
from __future__ import annotations

import pytest

from core.media import browser_may_load
from core.sanitize import (
    BLOCKED_IMAGE,
    escape_markdown,
    hypertext_text,
    markdown_with_allowed_images,
    sanitize_html,
)


@pytest.fixture(autouse=True)
def allowed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_MEDIA_HOSTS", "cdn.example.com")


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://cdn.example.com/a.png", True),
    ("HTTPS://CDN.EXAMPLE.COM/a b.png", True),  # a space in the path does not change the host
    ("data:image/png;base64,iVBORw0KGgo=", True),
    ("https://tracker.example.net/p.gif", False),
    ("/data/upload/1/a.png", False),  # relative: the browser would call our own server
    ("//tracker.example.net/p.gif", False),
    ("https://tracker.example.net\\@cdn.example.com/p.gif", False),  # the browser reads host tracker...
    ("https://user@cdn.example.com/p.gif", False),
    ("https://cdn.exa\tmple.com/p.gif", False),
    ("javascript:alert(1)", False),
    (None, False),
])
def test_the_browser_may_load_only_data_urls_and_allowed_hosts(url: object, allowed: bool) -> None:
    assert browser_may_load(url) is allowed


def test_hypertext_images_from_other_hosts_lose_their_address_and_show_a_placeholder() -> None:
    html = ('<p>Look: <img src="https://tracker.example.net/p.gif" alt="chart"> and '
            '<img src="https://cdn.example.com/ok.png"> and <img src="/data/upload/x.png"></p>')
    out = sanitize_html(html)
    assert "tracker.example.net" not in out and "/data/upload" not in out
    assert '<img src="https://cdn.example.com/ok.png">' in out
    assert f'alt="[{BLOCKED_IMAGE}: chart]"' in out and f'alt="[{BLOCKED_IMAGE}]"' in out


def test_the_placeholder_is_no_text_node_so_hypertext_span_offsets_do_not_move() -> None:
    html = '<p>ab<img src="https://tracker.example.net/p.gif">c &amp; <b>d</b></p><script>x</script>'
    assert hypertext_text(html) == "abc & d"


def test_hypertext_text_reads_a_pre_as_the_browser_does() -> None:
    # the HTML parser drops the line feed that opens a <pre>; the sanitiser's output must be read the same way
    assert hypertext_text("<pre>\n\nx</pre>y\r\nz") == "x" + "y\nz"


def test_markdown_images_from_other_hosts_become_placeholder_text() -> None:
    text = ("![chart](https://cdn.example.com/c.png \"t\") ![pixel](https://tracker.example.net/p.gif) "
            "![rel](img/a.png)")
    out = markdown_with_allowed_images(text)
    assert out.startswith('![chart](https://cdn.example.com/c.png "t") ')
    assert "](https://tracker.example.net" not in out and "](img/a.png)" not in out
    assert "tracker\\.example\\.net" in out and "image not shown" in out


@pytest.mark.parametrize("image", [
    "![a][ref]\n\n[ref]: https://tracker.example.net/p.gif",  # reference image
    "![a [b](https://cdn.example.com/x) c](https://tracker.example.net/p.gif)",  # a link in the alt text
    "![a](<https://tracker.example.net/p q.gif>)",  # angle-bracket destination
    "![a](https://cdn.example.com&#47;@tracker.example.net/p.gif)",  # an entity in the destination
    "\\\\![a](https://tracker.example.net/p.gif)",  # an escaped backslash, not an escaped "!"
])
def test_other_image_syntax_loses_its_bang_and_stays_a_mere_link(image: str) -> None:
    out = markdown_with_allowed_images(image)
    assert "![" not in out.replace("\\![", "")  # every image opener left is escaped


def test_an_escaped_bang_is_left_alone() -> None:
    assert markdown_with_allowed_images("\\![a](https://tracker.example.net/p.gif)") == (
        "\\![a](https://tracker.example.net/p.gif)")


@pytest.mark.parametrize("name", [
    "**bold** [x](javascript:alert(1))", "<img src=x>", "![p](https://tracker.example.net/p.gif)",
    "# Heading", "1. list", "- item", "> quote", ":red[red] :material/home: $x^2$", "a | b", "~~gone~~",
    "me@example.com www.example.com", "&lt;b&gt;", "line\n===",
])
def test_escaped_markdown_keeps_no_markdown_syntax(name: str) -> None:
    escaped = escape_markdown(name)
    assert "\n" not in escaped
    unescaped = escaped.replace("\\", "")
    assert unescaped == name.replace("\n", " ")
    for i, c in enumerate(escaped):  # every syntax character is preceded by a backslash
        if c in "*[]()<>!#-.:|~$&=@`_":
            assert escaped[i - 1] == "\\", (name, escaped)
