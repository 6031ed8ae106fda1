"""The app's global style (app.py): Streamlit's focus box around the whole scrolling main area is not
drawn (a click on blank page and a labeling shortcut drew it across the page), on every page, signed in or
not; controls keep their own focus rings (nothing here touches them)."""
from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.pages.test_app_shell import APP, TIMEOUT_S, _signed_in, data_dir, seeded_demo_db  # noqa: F401


def _styles(at: AppTest) -> str:
    return " ".join(element.proto.body for element in at.get("html"))


def _hides_only_the_main_area_focus_box(css: str) -> None:
    rules = re.findall(r"([^{}<>]+)\{([^}]*)\}", css)
    hidden = [(selector.strip(), body) for selector, body in rules if ":focus" in selector]
    assert hidden, css
    for selector, body in hidden:
        assert selector == "[data-testid='stMain']:focus-visible::before", selector  # no control loses its ring
        assert "content: none" in body, body


def test_signed_out_pages_have_no_main_area_focus_box(data_dir: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, at.exception
    _hides_only_the_main_area_focus_box(_styles(at))


def test_the_labeling_page_has_no_main_area_focus_box(data_dir: Path) -> None:
    at = _signed_in(data_dir, "annotator1")
    at.switch_page("views/label.py").run()
    assert not at.exception, at.exception
    _hides_only_the_main_area_focus_box(_styles(at))
