"""The new-project page through AppTest: the shared live check (views/widgets/config_check.py) lists a
pasted config's problems and blocks creation; a valid config gets a preview and creates the project."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.core.helpers import TEXT_CONFIG
from tests.pages.test_app_shell import _query, _signed_in, data_dir, menus, seeded_demo_db  # noqa: F401


def own_config_page(folder: Path) -> AppTest:
    at = _signed_in(folder, "admin")
    at.switch_page("views/new_project.py").run()
    at.radio(key="np_source").set_value("My own config").run()
    assert not at.exception, at.exception
    return at


def create_button(at: AppTest):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == "Create project")


def test_a_broken_config_lists_its_problems_and_cannot_be_created(data_dir: Path, menus: list[list[str]]) -> None:
    at = own_config_page(data_dir)
    at.text_area(key="np_xml").input('<View><Choices name="c" toName="nowhere"/></View>').run()
    assert not at.exception, at.exception
    assert any("cannot be used yet" in e.value for e in at.error)
    assert create_button(at).disabled
    at.text_area(key="np_xml").input("<View><Text").run()  # not even XML: still a message, not a crash
    assert not at.exception, at.exception
    assert at.error


def test_a_valid_config_is_previewed_and_creates_the_project(data_dir: Path, menus: list[list[str]]) -> None:
    at = own_config_page(data_dir)
    at.text_area(key="np_xml").input(TEXT_CONFIG).run()
    assert any(s.value.startswith("Valid: 1 object tag(s), 1 control(s)") for s in at.success)
    assert not create_button(at).disabled
    next(t for t in at.text_input if t.label == "Title").input("Pasted project")
    create_button(at).click().run()
    assert not at.exception, at.exception
    rows = _query(data_dir, "SELECT config_version FROM projects WHERE title = 'Pasted project'")
    assert [r["config_version"] for r in rows] == [1]


def test_new_project_asks_every_setting_the_settings_page_has(data_dir: Path, menus: list[list[str]]) -> None:
    """One set of fields for both pages: quality settings (honeypots, repeats, escalation) can be chosen at
    creation; a maximum left at "no escalation" follows the overlap."""
    at = own_config_page(data_dir)
    at.text_area(key="np_xml").input(TEXT_CONFIG).run()
    next(t for t in at.text_input if t.label == "Title").input("Tuned at birth")
    at.number_input(key="np_settings_overlap").set_value(3)
    at.number_input(key="np_settings_honeypot").set_value(0.1)
    at.number_input(key="np_settings_repeat").set_value(0.05)
    at.selectbox(key="np_settings_escalation").set_value("review_first")
    create_button(at).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    rows = _query(data_dir, "SELECT overlap, maximum_annotations, honeypot_rate, repeat_rate, escalation_order "
                            "FROM projects WHERE title = 'Tuned at birth'")
    assert [tuple(r) for r in rows] == [(3, 3, 0.1, 0.05, "review_first")]


def test_a_label_list_the_editor_refuses_blocks_creation(data_dir: Path, menus: list[list[str]]) -> None:
    """A duplicate label cannot be written into the config; the page must not then create the project with
    the template's own labels as if nothing happened."""
    at = _signed_in(data_dir, "admin")
    at.switch_page("views/new_project.py").run()
    label_area = next(t for t in at.text_area if (t.key or "").startswith("np_labels_"))
    first = label_area.value.splitlines()[0]
    label_area.input(f"{first}\n{first}").run()
    assert not at.exception, at.exception
    assert any("twice" in e.value or "duplicate" in e.value for e in at.error), [e.value for e in at.error]
    assert create_button(at).disabled
