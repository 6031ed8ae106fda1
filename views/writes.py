"""Calling a core write service from a page: its own unit of work, committed on success, a domain error
shown with ``st.error`` (nothing written), and a toast that survives the ``st.rerun`` after a write."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.errors import QuorumError
from core.uow import UowFactory
from core.users import UserInfo


def run_write(make_uow: UowFactory, user: UserInfo, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
    """``action(uow, user, *args, **kwargs)`` committed; None (and the error shown) on a QuorumError."""
    with make_uow() as uow:
        try:
            out = action(uow, user, *args, **kwargs)
            uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
            return None
    return out


def show_flash(key: str, *, lasting: bool = False) -> None:
    """The message a write left under ``key`` before its rerun, once.

    A toast on the pages of the rapid loops (label, review, data browser), where a banner would push the
    next task down; ``lasting``: a success banner that stays until the next action, on set-up pages whose
    messages report consequences worth reading (tasks re-scored, locks released).
    """
    message = st.session_state.pop(key, None)
    if message and lasting:
        st.success(message, icon=":material/check_circle:")
    elif message:
        st.toast(message, icon=":material/check_circle:")
