"""Admin: create a project from the template gallery or a pasted Label Studio config, with live checks
and a live preview of the labeling interface on a sample task."""
from __future__ import annotations

import streamlit as st

from core.errors import QuorumError
from core.projects import ProjectSettings, create_project
from core.templates import GROUPS, label_names, list_templates, set_label_names
from views.services import signed_in_user, uow_factory
from views.state import CURRENT_PROJECT_KEY
from views.widgets.config_check import show_config_check
from views.widgets.settings_fields import settings_fields

user = signed_in_user()
make_uow = uow_factory()
st.title("New project")

templates = list_templates()
label_problem = False
source = st.radio("Start from", ["Template gallery", "My own config"], horizontal=True, key="np_source")
if source == "Template gallery":
    group = st.selectbox("Group", GROUPS, key="np_group")
    in_group = [t for t in templates if t.group == group]
    template = st.selectbox("Template", in_group, format_func=lambda t: t.title, key="np_template")
    st.caption(template.description if template else "")
    xml = template.xml if template else ""
    editable = label_names(xml) if xml else {}
    if editable:
        with st.expander("Edit the labels (no XML needed)", expanded=True):
            for control, names in editable.items():
                typed = st.text_area(
                    f"Labels of “{control}”, one per line", "\n".join(names), key=f"np_labels_{template.slug}_{control}"
                )
                wanted = [line.strip() for line in typed.splitlines() if line.strip()]
                if wanted != names:
                    try:
                        xml = set_label_names(xml, control, wanted)
                    except QuorumError as exc:
                        st.error(str(exc))
                        label_problem = True  # creating now would silently use the template's own labels
    with st.expander("The config as XML"):
        st.code(xml, language="xml")
else:
    xml = st.text_area("Label Studio labeling config (XML)", height=260, key="np_xml", placeholder="<View>...</View>")

# With labels the editor refused, the XML is still the template's: checking and previewing it would show
# labels the manager did not ask for.
cfg = None if label_problem else show_config_check(xml, key_prefix="preview")

st.subheader("Settings")
with st.form("new_project"):
    title = st.text_input("Title")
    description = st.text_input("Description")
    instructions = st.text_area("Instructions for labelers (markdown)")
    settings_in = settings_fields(ProjectSettings(), "np_settings_")
    if label_problem:
        st.caption("Fix the labels above to create the project.")
    if st.form_submit_button("Create project", type="primary", disabled=cfg is None or label_problem):
        with make_uow() as uow:
            try:
                made = create_project(
                    uow, user, title=title, config_xml=xml, description=description, instructions=instructions,
                    settings=settings_in,
                )
                uow.commit()
            except QuorumError as exc:
                st.error(str(exc))
            else:
                st.session_state[CURRENT_PROJECT_KEY] = made.id
                st.success(f"Created {made.title!r}. Import data next.")
                st.page_link("views/data.py", label="Import data", icon=":material/upload_file:")
