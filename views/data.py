"""Import and export for managers: upload task or media files; download results in any format."""
from __future__ import annotations

import streamlit as st

from core.errors import QuorumError
from core.exports import CONSENSUS_ONLY, SELECTIONS, default_selection, export_for_download, formats_for_project
from core.permissions import Action
from core.sanitize import escape_markdown
from core.settings import load_settings
from views.import_wizard import render_import_wizard
from views.project_picker import pick_project
from views.services import blob_store, signed_in_user, uow_factory

user = signed_in_user()
make_uow = uow_factory()
settings = load_settings()
st.title("Import & export")
project = pick_project(make_uow, user, Action.IMPORT, key="data_project")
if project is None:
    st.stop()

tab_import, tab_export = st.tabs(["Import", "Export"], key="data_tab", on_change="rerun")  # stays put on reruns
with tab_import:  # the import wizard lives in views/import_wizard.py
    render_import_wizard(make_uow, user, project.id, blob_store())
with tab_export:
    with make_uow() as uow:
        formats = formats_for_project(uow, user, project_id=project.id)
    fmt = st.selectbox("Format", formats, format_func=lambda f: f"{f.title} — {f.needs}", key="export_format")
    offered = default_selection(fmt) if fmt is not None else None
    if offered is not None and ("export_selection" not in st.session_state
                                or st.session_state.get("export_selection_default") != offered):
        # Each kind of format offers its own default (image formats: the consensus), also after a change of
        # format or project; a choice made stays while the default does not change.
        st.session_state["export_selection_default"] = st.session_state["export_selection"] = offered
    selection = st.radio("What goes out", list(SELECTIONS), format_func=SELECTIONS.__getitem__, key="export_selection",
                         help="Consensus and ground truth only: one result per task, its ground truth if it has "
                              "one, else its consensus; tasks with neither are left out. Every annotation with its "
                              "author: in COCO, YOLO, VOC and CoNLL, which hold one answer per image or "
                              "sentence and no author, one set per annotator (a folder each in the zip, "
                              "`by_annotator/<name>/`, listed in `annotators.json`).")
    if fmt is not None and st.button("Prepare export", icon=":material/download:"):
        bar = st.progress(0.0, text="Exporting ...")
        with make_uow() as uow:
            try:
                result = export_for_download(
                    uow, user, project_id=project.id, fmt=fmt.name, exports_dir=settings.exports_dir,
                    selection=selection,
                    progress=lambda done, total: bar.progress(min(done / max(total, 1), 1.0),
                                                              text=f"Exporting {done:,} of {total:,} tasks ..."),
                )
            except QuorumError as exc:
                bar.empty()
                st.error(str(exc))
            else:
                bar.empty()
                made_for = (project.id, fmt.name, selection)
                st.session_state["export_ready"] = (made_for, str(result.path), result.n_tasks, result.n_left_out,
                                                    result.regions_left_out, result.sets)
                # An export whose files hold nothing (COCO without a box, a manifest without a transcript) is said
                # so, not handed out as if it were the data.
                st.session_state["export_nothing_useful"] = fmt.nothing_useful(result.files)
    ready = st.session_state.get("export_ready")
    # A file prepared for another project, format or selection is not offered: it would download the wrong data.
    if ready and fmt is not None and ready[0] == (project.id, fmt.name, selection):
        _, path, n_tasks, n_left_out, regions_left_out, sets = ready
        if sets:
            st.caption(f"One set per annotator, each with only that person's annotations (`by_annotator/<name>/` in "
                       f"the zip, listed in `annotators.json`): {escape_markdown(', '.join(sets))}.")
        if n_left_out:
            why = "without ground truth or consensus" if selection == CONSENSUS_ONLY else "that nobody annotated"
            st.caption(f"{n_left_out:,} tasks {why} were left out.")
            if selection == CONSENSUS_ONLY and not n_tasks:
                st.caption("No task has a ground truth or consensus yet: choose “Every annotation with its author” "
                           "for what the annotators made.")
        if regions_left_out:
            st.warning(f"{len(regions_left_out):,} region(s) could not be written in this format and were left out; "
                       f"first: {escape_markdown(regions_left_out[0])}", icon=":material/warning:")
        empty = st.session_state.get("export_nothing_useful")
        if empty:
            st.warning(f"{escape_markdown(empty)}. The download below is valid but empty.", icon=":material/warning:")
        with open(path, "rb") as handle:
            name = path.rsplit("/", 1)[-1]
            st.download_button(
                f"Download the empty export ({name})" if empty else f"Download {n_tasks} tasks ({name})", handle,
                file_name=name, icon=":material/file_download:", type="secondary" if empty else "primary",
            )
