"""A browserless Streamlit client: the same WebSocket protocol a browser tab speaks, without the browser.

Why: one chromium page per simulated labeler costs the machine more than the server it measures (50 pages
do not fit on 2 cores beside the app), so the load and capacity benchmarks drive the app the way a tab does
-- a ``BackMsg.rerun_script`` per interaction with the widget states it would send, ``ForwardMsg`` deltas
back until the run finishes -- and the server does exactly the work it does for a browser: the same
sessions, script runs, fragments and component messages. It reads what a labeler needs from the deltas: each
Components-v2 element (name, widget id, JSON data, the fragment it belongs to) and any exception shown.

Only 127.0.0.1 URLs are used by the benchmarks; nothing here is part of the app.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
RUN_TIMEOUT_S = 60.0


@dataclass
class Component:
    """One Components-v2 element of a run: what the page mounted and where."""

    name: str  # e.g. "quorum.choice_buttons"
    widget_id: str
    data: Any  # the JSON ``data`` the page passed
    fragment_id: str  # "" outside a fragment
    received_at: float  # time.perf_counter() when its delta arrived

    def state(self, values: dict[str, Any]) -> WidgetState:
        """The widget state a browser keeps for the component's ``setStateValue`` values (and sends with
        every run once set; a default given by the page counts as set)."""
        state = WidgetState(id=self.widget_id)
        state.json_value = json.dumps(values)
        return state

    def trigger(self, event: str, value: Any) -> WidgetState:
        """The widget state a browser sends when the component calls ``setTriggerValue(event, value)``."""
        state = WidgetState(id=_make_trigger_id(self.widget_id, "events"))
        state.json_trigger_value = json.dumps([{"event": event, "value": value}])
        return state


@dataclass
class Run:
    """What one script run sent: its components, the exceptions it showed, how it ended."""

    components: list[Component] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    status: int | None = None
    finished_at: float = 0.0

    def named(self, name: str) -> list[Component]:
        return [c for c in self.components if c.name.endswith(name)]


class StreamlitClient:
    """One tab's session: ``connect``, then ``run`` for each interaction (one at a time)."""

    def __init__(self, base_url: str, *, cookies: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.ws_url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
        self.cookies = dict(cookies or {})
        self._ws: Any = None

    async def connect(self) -> None:
        headers = {"Origin": self.base_url}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], additional_headers=headers,
                                            max_size=64 * 2**20, open_timeout=30)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def run(self, *, page_name: str, query_string: str = "", widget_states: list[WidgetState] = (),
                  fragment_id: str = "", timeout_s: float = RUN_TIMEOUT_S) -> Run:
        """Ask for a run the way a browser does and collect its messages until it finishes."""
        msg = BackMsg()
        msg.rerun_script.page_name = page_name
        msg.rerun_script.query_string = query_string
        msg.rerun_script.fragment_id = fragment_id
        msg.rerun_script.widget_states.widgets.extend(widget_states)
        await self._ws.send(msg.SerializeToString())
        return await self._collect(timeout_s)

    async def _collect(self, timeout_s: float) -> Run:
        run = Run()
        deadline = time.monotonic() + timeout_s
        while True:
            raw = await asyncio.wait_for(self._ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta":
                self._read_delta(fwd, run)
            elif kind == "script_finished":
                run.status = fwd.script_finished
                run.finished_at = time.perf_counter()
                if fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return run

    @staticmethod
    def _read_delta(fwd: ForwardMsg, run: Run) -> None:
        delta = fwd.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        which = element.WhichOneof("type")
        if which == "bidi_component":
            bidi = element.bidi_component
            data = json.loads(bidi.json) if bidi.json else None
            run.components.append(Component(bidi.component_name, bidi.id, data, delta.fragment_id,
                                            time.perf_counter()))
        elif which == "exception":
            run.exceptions.append(f"{element.exception.type}: {element.exception.message}")
