"""The Import tab's wizard: upload -> preview and column mapping -> import with a progress bar -> summary.

Thin: every step calls core (``core.import_preview`` reads and checks a file without writing,
``core.imports.import_upload`` imports it). Session state holds only UI state: the previews computed for the
current files and mapping (a file is read once per mapping, not on every rerun) and the last summary.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

import streamlit as st

from core.errors import QuorumError
from core.import_mapping import effective_mapping
from core.import_preview import FilePreview, preview_upload, project_variables
from core.imports import MAX_UPLOAD_MB, ImportSummary, RejectedRow, import_upload, read_user_table
from core.uow import UowFactory
from core.users import UserInfo

if TYPE_CHECKING:  # the page only passes the store on to core
    from core.bootstrap import BlobStore

UPLOAD_TYPES = ["json", "jsonl", "ndjson", "csv", "tsv", "txt", "jpg", "jpeg", "png", "gif", "bmp", "webp",
                "wav", "mp3", "flac", "m4a", "ogg", "mp4", "webm"]
PREVIEWS_KEY = "IMPORT_WIZARD_PREVIEWS"
SUMMARY_KEY = "IMPORT_WIZARD_SUMMARY"
SKIP_KEY = "import_skip_rejected"
UPLOADS_GENERATION_KEY = "IMPORT_WIZARD_UPLOADS_GENERATION"  # a new upload widget after each import
NO_COLUMN = "(its own name)"


class Upload(Protocol):
    """What the wizard needs of an uploaded file (Streamlit's ``UploadedFile`` is one)."""

    name: str

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


@dataclass(frozen=True)
class WizardResult:
    """What the import step did: the summaries of every file, or the error that refused them all."""

    summaries: tuple[ImportSummary, ...] = ()
    error: str | None = None


def render_import_wizard(make_uow: UowFactory, user: UserInfo, project_id: int, blob_store: BlobStore) -> None:
    """The whole Import tab: the upload widget, then :func:`render_wizard_steps` for the chosen files."""
    st.markdown(
        "Upload **JSON**, **JSON lines**, **CSV**, **TSV** or **TXT** files of tasks (Label Studio exports too, "
        "annotations and predictions included), or **images / audio** (a task per file). "
        "You see a preview and can map columns to the labeling config's variables before anything is imported; "
        "all files of one upload are imported together or not at all. "
        f"Each file may be up to {MAX_UPLOAD_MB:,} MB; import larger ones with `python cli.py import`, which reads "
        "files of any size as a stream."
    )
    generation = st.session_state.get(UPLOADS_GENERATION_KEY, 0)
    files = st.file_uploader("Files", accept_multiple_files=True, type=UPLOAD_TYPES, key=f"import_files_{generation}")
    render_wizard_steps(make_uow, user, project_id, blob_store, files or [])


def render_wizard_steps(
    make_uow: UowFactory, user: UserInfo, project_id: int, blob_store: BlobStore, files: Sequence[Upload]
) -> None:
    """Preview and mapping per file, the reject list, the import button with its progress bar, the summary."""
    summary = st.session_state.get(SUMMARY_KEY)
    if summary is not None and files and [f.name for f in files] != summary[2]:
        st.session_state.pop(SUMMARY_KEY)  # other files are previewed: that report is not theirs
        summary = None
    if summary is not None and summary[0] == project_id:
        _show_summary(summary[1])
    if not files:
        return
    with make_uow() as uow:
        variables = project_variables(uow, user, project_id=project_id)
    previews: list[tuple[Upload, FilePreview, dict[str, str | None]]] = []
    for index, upload in enumerate(files):
        st.subheader(upload.name, divider="gray")
        preview, mapping = _preview_step(make_uow, user, project_id, upload, index, variables)
        previews.append((upload, preview, mapping))
    refused = [p for _, p, _ in previews if p.error]
    n_valid = sum(p.n_valid for _, p, _ in previews)
    rejected = [row for _, p, _ in previews for row in p.rejected]
    n_rejected = sum(p.n_rejected for _, p, _ in previews)
    if refused:
        st.error("These files cannot be imported; remove or fix them first:\n\n"
                 + "\n".join(f"* {p.error}" for p in refused))
        return
    skip = False
    if n_rejected:
        st.warning(f"{n_rejected:,} row(s) would be rejected. Nothing is imported while any row is rejected, "
                   "unless you choose to skip them.")
        st.dataframe(_reject_table(rejected), hide_index=True, width="stretch")
        skip = st.checkbox(f"Import the {n_valid:,} valid rows and skip the {n_rejected:,} rejected ones",
                           key=SKIP_KEY)
    users, users_error = _user_table(project_id)
    ready = n_valid > 0 and (skip or not n_rejected) and users_error is None
    if st.button(f"Import {n_valid:,} tasks", type="primary", icon=":material/upload:", disabled=not ready,
                 key="import_start"):
        result = run_import(make_uow, user, project_id, blob_store, previews, skip_rejected=skip,
                            total=n_valid + n_rejected, users=users)
        st.session_state[SUMMARY_KEY] = (project_id, result, [upload.name for upload, _, _ in previews])
        st.session_state.pop(PREVIEWS_KEY, None)  # imported files are now duplicates: preview them afresh
        if not result.error:  # start the next upload from an empty widget
            st.session_state[UPLOADS_GENERATION_KEY] = st.session_state.get(UPLOADS_GENERATION_KEY, 0) + 1
        st.rerun()


def _user_table(project_id: int) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The optional user table of a Label Studio export (``GET /api/users``), read when given: ``(users, None)``,
    or ``(None, the reason it cannot be read)`` (shown; the import waits until it is fixed or removed)."""
    with st.expander("Label Studio user list (optional)"):
        st.caption("Label Studio exports name an annotation's author by its id there. With the user list of that "
                   "Label Studio (the JSON its `GET /api/users` gives), each id finds the account with the same "
                   "e-mail here; without it, authors known only by id become inactive accounts `ls-user-<id>`.")
        upload = st.file_uploader("User list", type=["json"], key=f"import_users_{project_id}")
    if upload is None:
        return None, None
    try:
        return read_user_table(_stream(upload), upload.name), None
    except QuorumError as exc:
        st.error(str(exc))
        return None, str(exc)


def _preview_step(
    make_uow: UowFactory, user: UserInfo, project_id: int, upload: Upload, index: int, variables: Sequence[str]
) -> tuple[FilePreview, dict[str, str | None]]:
    """The file's preview, with its column mapping chosen below it (the preview is recomputed on a change)."""
    base = _cached_preview(make_uow, user, project_id, upload, {})
    mapping: dict[str, str | None] = {}
    if base.is_mappable and variables:
        st.caption("Which column feeds each variable of the labeling config:")
        cells = st.columns(min(len(variables), 4))
        options = [NO_COLUMN, *base.columns]
        for n, variable in enumerate(variables):
            suggested = base.suggested.get(variable)
            choice = cells[n % len(cells)].selectbox(
                f"${variable}", options, index=options.index(suggested) if suggested in options else 0,
                key=f"import_map_{index}_{upload.name}_{variable}",
            )
            mapping[variable] = None if choice == NO_COLUMN else choice
    preview = _cached_preview(make_uow, user, project_id, upload, mapping) if effective_mapping(mapping) else base
    if preview.error:
        return preview, mapping
    if preview.first_rows:
        st.caption(f"First {len(preview.first_rows)} of {preview.n_valid + preview.n_rejected:,} rows, as read:")
        st.dataframe(list(preview.first_rows), hide_index=True, width="stretch")
    st.caption(f"{preview.n_valid:,} task(s) to import, {preview.n_rejected:,} rejected.")
    return preview, mapping


def _cached_preview(
    make_uow: UowFactory, user: UserInfo, project_id: int, upload: Upload, mapping: dict[str, str | None]
) -> FilePreview:
    cache: dict[tuple[Any, ...], FilePreview] = st.session_state.setdefault(PREVIEWS_KEY, {})
    key = (project_id, upload.name, getattr(upload, "file_id", id(upload)), tuple(sorted(effective_mapping(mapping).items())))
    if key not in cache:
        with make_uow() as uow:
            cache[key] = preview_upload(uow, user, project_id=project_id, stream=_stream(upload),
                                        filename=upload.name, mapping=mapping)
    return cache[key]


def run_import(
    make_uow: UowFactory,
    user: UserInfo,
    project_id: int,
    blob_store: BlobStore,
    previews: Sequence[tuple[Upload, FilePreview, dict[str, str | None]]],
    *,
    skip_rejected: bool,
    total: int,
    users: Sequence[Any] | None = None,
) -> WizardResult:
    """Import every file in one unit of work with a progress bar: all files or none."""
    bar = st.progress(0.0, text="Importing ...")
    done_before = 0

    def progress(n_read: int) -> None:
        done = done_before + n_read
        bar.progress(min(done / max(total, 1), 1.0), text=f"Imported {done:,} of {total:,} rows ...")

    summaries: list[ImportSummary] = []
    with make_uow() as uow:
        try:
            for upload, preview, mapping in previews:
                summaries.append(import_upload(
                    uow, user, project_id=project_id, stream=_stream(upload), filename=upload.name,
                    blob_store=blob_store, mapping=mapping, skip_invalid=skip_rejected, progress=progress,
                    users=users,
                ))
                done_before += preview.n_valid + preview.n_rejected
            uow.commit()
        except QuorumError as exc:
            bar.empty()
            return WizardResult(error=str(exc))
    bar.empty()
    return WizardResult(summaries=tuple(summaries))


def _show_summary(result: WizardResult) -> None:
    if result.error:
        st.error(f"Nothing was imported.\n\n{result.error}")
        return
    summaries = result.summaries
    n_drafts = sum(s.n_drafts for s in summaries)
    drafts = f", {n_drafts:,} drafts" if n_drafts else ""
    st.success(
        f"Imported {sum(s.n_tasks for s in summaries):,} tasks, {sum(s.n_annotations for s in summaries):,} "
        f"annotations{drafts} and {sum(s.n_predictions for s in summaries):,} predictions from {len(summaries)} "
        "file(s)."
    )
    for summary in summaries:
        for note in summary.notes:
            st.info(f"{summary.filename}: {note}", icon=":material/info:")
    skipped = [row for s in summaries for row in s.rejected]
    n_skipped = sum(s.n_rejected for s in summaries)
    if n_skipped:
        st.warning(f"{n_skipped:,} rejected row(s) were skipped:")
        st.dataframe(_reject_table(skipped), hide_index=True, width="stretch")


def _reject_table(rows: Sequence[RejectedRow]) -> list[dict[str, str]]:
    return [{"file": row.filename, "row": row.where, "problem": row.reason} for row in rows]


def _stream(upload: Upload) -> IO[bytes]:
    upload.seek(0)
    return upload  # type: ignore[return-value]
