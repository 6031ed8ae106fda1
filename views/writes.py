"""Calling a core write service from a page: its own unit of work, committed on success, a domain error
shown with ``st.error`` (nothing written), and a toast that survives the ``st.rerun`` after a write."""
from __future__ import annotations

import time

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


def show_flash(key: str, *, lasting: bool = False, keep_s: float = 0.0) -> None:
    """The message a write left under ``key`` before its rerun, once.

    A toast on the pages of the rapid loops (label, review, data browser), where a banner would push the
    next task down; ``lasting``: a success banner that stays until the next action, on set-up pages whose
    messages report consequences worth reading (tasks re-scored, locks released); ``keep_s``: shown again on
    every run for that long, on a page that reruns by itself (the Quality page refreshes when new figures
    arrive, which would otherwise take the message away a second after it appeared).
    """
    message = st.session_state.pop(key, None)
    kept = f"{key}__kept"
    if message and keep_s:
        st.session_state[kept] = (message, time.monotonic())
    elif not message and keep_s and (found := st.session_state.get(kept)) and time.monotonic() - found[1] < keep_s:
        message = found[0]
    if message and lasting:
        st.success(message, icon=":material/check_circle:")
    elif message:
        st.toast(message, icon=":material/check_circle:")
