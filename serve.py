"""Quorum's server: the Streamlit pages (app.py) plus plain HTTP routes, on one port (``st.App``).

Run with ``streamlit run serve.py`` (scripts/start.sh does). The routes answer what needs no page rerun:
the labeling page's draft saves (api/labeling.py), the session cookie, which only a server response can
set HttpOnly (api/session.py), and the Label Studio-compatible API for scripts and pipelines (api/rest/). They use the same database and services as the pages.
"""
from __future__ import annotations

import streamlit as st

from api.labeling import routes as labeling_routes
from api.rest.routes import routes as rest_routes
from api.session import routes as session_routes


def _uow_factory():  # type: ignore[no-untyped-def]
    from views.services import uow_factory  # the pages' own factory (created once per process)

    return uow_factory()


app = st.App("app.py", routes=[*labeling_routes(_uow_factory), *session_routes(_uow_factory),
                               *rest_routes(_uow_factory)])
