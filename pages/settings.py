"""Project settings (managers): every setting of the project, the labeling config with the impact of a
change shown before it is saved, and the history of config versions."""
from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.config_impact import ConfigImpact, config_impact
from core.config_versions import change_config, config_history, version_diff
from core.errors import QuorumError
from core.permissions import Action
from core.projects import (
    ESCALATION_ORDERS,
    MAX_OVERLAP,
    SAMPLING_MODES,
    ProjectInfo,
    ProjectSettings,
    update_settings,
)
from core.uow import UowFactory
from core.users import UserInfo
from pages.project_picker import pick_project
from pages.services import current_user, uow_factory
from pages.widgets.config_check import show_config_check
from pages.widgets.controls import escape_markdown

FLASH_KEY = "SETTINGS_FLASH"
IMPACT_KEY = "SETTINGS_CONFIG_IMPACT"  # (signature of project, version and new XML, ConfigImpact)
SAMPLING_LABELS = {"sequential": "In order of import", "random": "Random",
                   "uncertainty": "Least certain prediction first"}
ESCALATION_LABELS = {"annotators_first": "Ask more annotators first, then review", "review_first": "Straight to review"}


def settings_form(make_uow: UowFactory, user: UserInfo, project: ProjectInfo) -> None:
    s, key = project.settings, f"settings_{project.id}_"
    left, right = st.columns(2, gap="large")
    instructions = left.text_area("Instructions for labelers (markdown)", project.instructions, height=220,
                                  key=key + "instructions")
    with right:
        st.caption("Preview, as labelers see it (HTML in the text is not rendered)")
        with st.container(border=True, height=220):
            st.markdown(instructions or "*No instructions.*")
    with st.form(key + "form"):
        title = st.text_input("Title", project.title, key=key + "title")
        description = st.text_area("Description", project.description, height=80, key=key + "description")
        a, b, c = st.columns(3)
        overlap = a.number_input("Annotations per task", 1, MAX_OVERLAP, s.overlap, key=key + "overlap",
                                 help="How many annotators label each task.")
        maximum = b.number_input("Maximum annotations (escalation)", 1, MAX_OVERLAP,
                                 s.maximum_annotations or s.overlap,
                                 key=key + "maximum", help="When annotators disagree, the task goes to more "
                                 "annotators until it has this many.")
        threshold = c.number_input("Agreement threshold", 0.0, 1.0, s.agreement_threshold, 0.05, key=key + "threshold",
                                   help="Tasks that agree less than this go to more annotators or to review.")
        d, e, f = st.columns(3)
        escalation = d.selectbox("Escalation order", ESCALATION_ORDERS, ESCALATION_ORDERS.index(s.escalation_order),
                                 format_func=ESCALATION_LABELS.get, key=key + "escalation")
        sampling = e.selectbox("Sampling (task order)", SAMPLING_MODES, SAMPLING_MODES.index(s.sampling),
                               format_func=SAMPLING_LABELS.get, key=key + "sampling")
        # Bounds widened to the stored value, so a value set elsewhere (the CLI) still shows.
        lock_minutes = f.number_input("Lock time-to-live (minutes)", min(1.0, s.lock_ttl_s / 60),
                                      max(7 * 24 * 60.0, s.lock_ttl_s / 60), s.lock_ttl_s / 60, 1.0,
                                      key=key + "lock", help="How long a task stays with a labeler who opened it.")
        g, h, i = st.columns(3)
        honeypot = g.number_input("Honeypot share", 0.0, max(0.99, s.honeypot_rate), s.honeypot_rate, 0.01,
                                  key=key + "honeypot",
                                  help="Share of hand-outs that are ground-truth tasks, to measure accuracy.")
        repeat = h.number_input("Repeat share (self-consistency)", 0.0, max(0.99, s.repeat_rate), s.repeat_rate, 0.01,
                                key=key + "repeat",
                                help="Share of hand-outs that repeat an annotator's own earlier task.")
        show_predictions = i.checkbox("Show predictions", s.show_predictions, key=key + "predictions")
        allow_skip = i.checkbox("Skipping allowed", s.allow_skip, key=key + "skip")
        if not st.form_submit_button("Save settings", type="primary"):
            return
    wanted = ProjectSettings(
        overlap=int(overlap), maximum_annotations=int(maximum), agreement_threshold=float(threshold),
        sampling=sampling, lock_ttl_s=int(round(lock_minutes * 60)), honeypot_rate=float(honeypot),
        repeat_rate=float(repeat), show_predictions=show_predictions, allow_skip=allow_skip, escalation_order=escalation,
    )
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
    cfg = show_config_check(xml, key_prefix=f"settings_preview_{project.id}")
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


user = current_user()
assert user is not None
make_uow = uow_factory()
st.title("Settings")
project = pick_project(make_uow, user, Action.MANAGE, key="settings_project")
if project is None:
    st.stop()
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
tab_settings, tab_config, tab_history = st.tabs(["Settings", "Labeling config", "History"])
with tab_settings:
    settings_form(make_uow, user, project)
with tab_config:
    config_editor(make_uow, user, project)
with tab_history:
    history(make_uow, user, project)
