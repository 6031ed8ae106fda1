"""Project settings (managers): every setting of the project, the labeling config with the impact of a
change shown before it is saved, and the history of config versions."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import pandas as pd
import streamlit as st

from core.cloud_storage import project_media
from core.config_impact import ConfigImpact, config_impact
from core.config_versions import change_config, config_history, version_diff
from core.errors import QuorumError
from core.permissions import Action
from core.projects import ProjectInfo, sample_task_data, update_settings
from core.sanitize import markdown_with_allowed_images
from core.settings import load_settings
from core.uow import UowFactory
from core.users import UserInfo
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.widgets.config_check import show_config_check
from views.widgets.controls import escape_markdown
from views.widgets.review_queue import review_settings_fields
from views.widgets.settings_fields import settings_fields
from views.writes import show_flash

FLASH_KEY = "SETTINGS_FLASH"
PREVIEW_KEY = "SETTINGS_CONFIG_PREVIEW"  # ((project, version), sample task data, media resolver)
IMPACT_KEY = "SETTINGS_CONFIG_IMPACT"  # (signature of project, version and new XML, ConfigImpact)


def settings_form(make_uow: UowFactory, user: UserInfo, project: ProjectInfo) -> None:
    s, key = project.settings, f"settings_{project.id}_"
    left, right = st.columns(2, gap="large")
    instructions = left.text_area("Instructions for labelers (markdown)", project.instructions, height=220,
                                  key=key + "instructions")
    with right:
        st.caption("Preview, as labelers see it (HTML in the text is not rendered)")
        with st.container(border=True, height=220):
            st.markdown(markdown_with_allowed_images(instructions) if instructions else "*No instructions.*")
    with st.form(key + "form"):
        title = st.text_input("Title", project.title, key=key + "title")
        description = st.text_area("Description", project.description, height=80, key=key + "description")
        wanted = replace(settings_fields(s, key), **review_settings_fields(s, key))
        if not st.form_submit_button("Save settings", type="primary"):
            return
    with make_uow() as uow:
        try:
            done = update_settings(uow, user, project_id=project.id, title=title, description=description,
                                   instructions=instructions, settings=wanted)
            uow.commit()
        except QuorumError as exc:
            st.error(f"Not saved: {exc}")
            return
    if not done.changed:
        st.info("Nothing changed.")
        return
    message = f"Saved: {', '.join(name.replace('_', ' ') for name in done.changed)}."
    if done.n_scored or done.n_reopened:
        message += (f" {done.n_scored} task(s) had all their annotations and were scored ({done.n_done} done, "
                    f"{done.n_review} to review, {done.n_escalated} to more annotators); "
                    f"{done.n_reopened} waiting task(s) need more annotations.")
    if done.n_verification_added:
        message += f" {done.n_verification_added} agreed task(s) drawn by the new verification share went to review."
    if done.n_verification_taken_back:
        message += (f" {done.n_verification_taken_back} verification task(s) no longer drawn and not reviewed yet "
                    "left the review queue.")
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _impact(make_uow: UowFactory, user: UserInfo, project: ProjectInfo, xml: str) -> ConfigImpact:
    """The impact of ``xml``, computed once per project version and text (it counts in the database)."""
    signature = f"{project.id}:{project.config_version}:{hashlib.sha256(xml.encode()).hexdigest()}"
    cached = st.session_state.get(IMPACT_KEY)
    if cached and cached[0] == signature:
        return cached[1]
    with make_uow() as uow:
        impact = config_impact(uow, user, project_id=project.id, new_xml=xml)
    st.session_state[IMPACT_KEY] = (signature, impact)
    return impact


def config_editor(make_uow: UowFactory, user: UserInfo, project: ProjectInfo) -> None:
    st.caption(f"Version {project.config_version}. Saving a change makes version {project.config_version + 1}; "
               "every annotation keeps the version it was made under.")
    key = f"settings_xml_{project.id}_{project.config_version}"
    xml = st.text_area("Labeling config (XML)", project.config_xml, height=320, key=key)
    signature = (project.id, project.config_version)  # the preview runs on one of the project's own tasks
    if st.session_state.get(PREVIEW_KEY, (None,))[0] != signature:
        with make_uow() as uow:
            st.session_state[PREVIEW_KEY] = (signature, sample_task_data(uow, user, project.id),
                                             project_media(uow, user, project_id=project.id, settings=load_settings()))
    _, sample, media = st.session_state[PREVIEW_KEY]
    cfg = show_config_check(xml, key_prefix=f"settings_preview_{project.id}", sample=sample, media=media)
    if cfg is None or xml.strip() == project.config_xml.strip():
        return
    try:
        impact = _impact(make_uow, user, project, xml)
    except QuorumError as exc:  # e.g. the stored config no longer parses (made by an older version)
        st.error(f"Cannot compare with the current config: {exc}")
        return
    confirmed = True
    if impact.is_empty:
        st.info("No label, control or data field changes: existing annotations are not affected.")
    else:
        st.warning("What this change affects:\n\n" + "\n".join(f"- {escape_markdown(line)}" for line in impact.summary()))
        confirmed = st.checkbox("I have read what this change affects; save it anyway", key=key + "_confirm")
    if st.button(f"Save as version {project.config_version + 1}", type="primary", disabled=not confirmed,
                 key=key + "_save"):
        with make_uow() as uow:
            try:
                saved = change_config(uow, user, project_id=project.id, config_xml=xml,
                                      based_on_version=project.config_version, confirmed=confirmed)
                uow.commit()
            except QuorumError as exc:
                st.error(f"Not saved: {exc}")
                return
        st.session_state.pop(IMPACT_KEY, None)
        st.session_state[FLASH_KEY] = f"Saved the labeling config as version {saved.version}."
        st.rerun()


def history(make_uow: UowFactory, user: UserInfo, project: ProjectInfo) -> None:
    with make_uow() as uow:
        versions = config_history(uow, user, project_id=project.id)
    st.dataframe(
        pd.DataFrame([{"version": v.version, "saved by": v.author or "(deleted account)", "saved at (UTC)": v.created_at,
                       "current": v.version == project.config_version} for v in versions]),
        hide_index=True,
    )
    numbers = [v.version for v in versions]
    if len(numbers) < 2:
        st.caption("Only one version so far.")
        return
    a, b = st.columns(2)
    old = a.selectbox("Compare version", numbers, index=1, key=f"history_old_{project.id}")
    new = b.selectbox("with version", numbers, index=0, key=f"history_new_{project.id}")
    with make_uow() as uow:
        diff = version_diff(uow, user, project_id=project.id, old=old, new=new)
    st.code(diff or "(the same text)", language="diff")


user = signed_in_user()
make_uow = uow_factory()
st.title("Settings")
project = pick_project(make_uow, user, Action.MANAGE, key="settings_project")
if project is None:
    st.stop()
show_flash(FLASH_KEY, lasting=True)
# Keyed and tracked, so a save's rerun (and the message it leaves above) keeps the manager on their tab.
tab_settings, tab_config, tab_history = st.tabs(["Settings", "Labeling config", "History"], key="settings_tab",
                                                on_change="rerun")
with tab_settings:
    settings_form(make_uow, user, project)
with tab_config:
    config_editor(make_uow, user, project)
with tab_history:
    history(make_uow, user, project)
