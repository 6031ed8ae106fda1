"""What a person sees while the database cannot be reached: a plain message that says their work is kept,
and the page coming back by itself when the database answers again (instead of Streamlit's generic
"An error occurred", which is all ``showErrorDetails = "none"`` leaves of a traceback)."""
from __future__ import annotations

import streamlit as st

from core.uow import database_reachable, is_database_outage
from views.services import uow_factory

POLL_SECONDS = 3


def show_database_outage() -> None:
    """The outage notice, polling every POLL_SECONDS and rerunning the app once the database is back."""
    st.title("Quorum is reconnecting")
    st.warning("The database cannot be reached right now. Answers you submitted are stored; an answer being "
               "labeled stays in this tab and is sent again when the connection is back. This page comes back "
               "by itself.", icon=":material/cloud_off:")

    @st.fragment(run_every=POLL_SECONDS)
    def _poll() -> None:
        try:
            back = database_reachable(uow_factory())  # making the factory connects too (migrations)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            back = False
        if back:
            st.rerun(scope="app")
        st.caption(f"Trying again every {POLL_SECONDS} seconds ...")

    _poll()
