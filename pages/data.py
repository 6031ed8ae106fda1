"""Import and export for managers: upload task or media files; download results in any format."""
from __future__ import annotations

import streamlit as st

from core.errors import QuorumError
from core.exports import export_for_download, formats_for_project
from core.imports import import_upload
from core.permissions import Action
from core.settings import load_settings
from pages.project_picker import pick_project
from pages.services import blob_store, current_user, uow_factory

user = current_user()
assert user is not None
make_uow = uow_factory()
settings = load_settings()
st.title("Import & export")
project = pick_project(make_uow, user, Action.IMPORT, key="data_project")
if project is None:
    st.stop()

tab_import, tab_export = st.tabs(["Import", "Export"])
with tab_import:
    st.markdown(
        "Upload **JSON**, **JSON lines**, **CSV**, **TSV** or **TXT** files of tasks (Label Studio exports too, "
        "annotations and predictions included), or **images / audio** (a task per file). "
        "All files of one upload are imported together or not at all."
    )
    files = st.file_uploader(
        "Files",
        accept_multiple_files=True,
        type=["json", "jsonl", "ndjson", "csv", "tsv", "txt", "jpg", "jpeg", "png", "gif", "bmp", "webp",
              "wav", "mp3", "flac", "m4a", "ogg", "mp4", "webm"],
        key="import_files",
    )
    if files and st.button("Import", type="primary", icon=":material/upload:"):
        summaries = []
        with st.spinner("Importing ..."), make_uow() as uow:
            try:
                for upload in files:
                    summaries.append(
                        import_upload(
                            uow, user, project_id=project.id, stream=upload, filename=upload.name, blob_store=blob_store()
                        )
                    )
                uow.commit()
            except QuorumError as exc:
                st.error(f"Nothing was imported.\n\n{exc}")
                summaries = []
        if summaries:
            st.success(
                f"Imported {sum(s.n_tasks for s in summaries)} tasks, {sum(s.n_annotations for s in summaries)} "
                f"annotations and {sum(s.n_predictions for s in summaries)} predictions from {len(summaries)} file(s)."
            )
with tab_export:
    with make_uow() as uow:
        formats = formats_for_project(uow, user, project_id=project.id)
    fmt = st.selectbox("Format", formats, format_func=lambda f: f"{f.title} — {f.needs}", key="export_format")
    if fmt is not None and st.button("Prepare export", icon=":material/download:"):
        with st.spinner("Exporting ..."), make_uow() as uow:
            try:
                result = export_for_download(
                    uow, user, project_id=project.id, fmt=fmt.name, exports_dir=settings.exports_dir
                )
            except QuorumError as exc:
                st.error(str(exc))
            else:
                st.session_state["export_ready"] = (str(result.path), result.n_tasks)
    ready = st.session_state.get("export_ready")
    if ready:
        path, n_tasks = ready
        with open(path, "rb") as handle:
            st.download_button(
                f"Download {n_tasks} tasks ({path.rsplit('/', 1)[-1]})", handle, file_name=path.rsplit("/", 1)[-1],
                icon=":material/file_download:", type="primary",
            )
