"""Chat: a conversation from the task, messages a labeler adds, and per-message answers.

How a labeler uses it: the conversation of the task (``value="$chat"``, a list of ``{role, content}``)
is shown as chat bubbles. With ``editable="true"`` a box under it adds messages: pick the role
(``messageroles``, default ``user,assistant``; after adding, the next role is preselected), type,
"Add message"; messages one added carry a Delete button. A ``llm="provider/model"`` attribute cannot
be honoured (Quorum calls no model): a note says assistant replies are typed by the labeler.
``minMessages``/``maxMessages`` (numbers or ``$var``) are shown and enforced on submit
(``core.results.check_chat_rules``); "Add message" is disabled at the maximum.

Every message is a region. "Select" on a message selects it (again: unselects); the panel under the
conversation then shows the ``perRegion="true"`` controls pointing at the chat, for that message --
inside the config's ``<View visibleWhen="region-selected" whenRole="...">`` blocks that hold them
(headers included, nested ``visibleWhen="choice-selected"`` views honoured), and any other per-region
control after them. ``visibleWhen="no-region-selected"`` blocks are handled by the interface walker
from the selection this widget publishes (``views/widgets/selection.py``).

Results (Label Studio-like; ``label-studio-formats.md`` section b):

- an added message: ``{"id": <10-char region id>, "from_name": <chat>, "to_name": <chat>,
  "type": "chatmessage", "value": {"chatmessage": {"role": ..., "content": ...}}}``;
- a per-message answer: ``{"id": <message id>, "from_name": <control>, "to_name": <chat>,
  "type": "rating" | "choices" | "textarea" | "number" ..., "value": {<value key>: answer}}``, where the
  message id is the added message's ``id`` or, for a message of the task data, the stable id
  ``msg-<index>`` (its 0-based index in the task's list), and such items also carry
  ``"item_index": <index>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.config import ControlTag, ObjectTag, TagNode, chat_limit, chat_roles, resolve_value
from core.results import chat_messages
from views.widgets.base import OBJECT_VIEWS, ResultItem, WidgetContext, region_widget
from views.widgets.components.region_tools import (
    RegionState,
    edit_region_answer,
    finish,
    load_state_for_names,
    new_region_id,
)
from views.widgets.selection import (
    PANEL_BLOCK_OBJECTS,
    block_owner,
    publish_selection,
    role_matches,
    selection_key,
    visible_when,
)

PANEL_BLOCK_OBJECTS.add("Chat")
DATA_ID_PREFIX = "msg-"


def data_message_id(index: int) -> str:
    """The stable region id of the task's ``index``-th message (0-based)."""
    return f"{DATA_ID_PREFIX}{index}"


@dataclass(frozen=True)
class Message:
    id: str
    role: str
    content: str
    index: int | None  # position in the task's list; None for a message the labeler added

    @property
    def added(self) -> bool:
        return self.index is None


def task_messages(obj: ObjectTag, data: dict[str, Any]) -> list[Message]:
    """The conversation of the task: ``[{role, content}]`` (other shapes shown as best we can)."""
    raw = resolve_value(obj.value, data)
    out: list[Message] = []
    for index, entry in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(entry, dict):
            role, content = entry.get("role", ""), entry.get("content", "")
        else:
            role, content = "", entry
        out.append(Message(data_message_id(index), str(role or "message"),
                           "" if content is None else str(content), index))
    return out


def conversation(obj: ObjectTag, data: dict[str, Any], items: list[ResultItem]) -> list[Message]:
    """Task messages, then the messages added in ``items``, in order."""
    out = task_messages(obj, data)
    for item in chat_messages(obj.name, items):
        message = item.get("value", {}).get("chatmessage") or {}
        out.append(Message(str(item.get("id")), str(message.get("role") or "message"),
                           str(message.get("content") or ""), None))
    return out


# --- state and callbacks --------------------------------------------------------------------------

def _selection(message: Message | None) -> dict[str, Any] | None:
    return None if message is None else {"id": message.id, "role": message.role}


def _select(state_key: str, sel_key: str, message: Message) -> None:
    state: RegionState = st.session_state[state_key]
    state.selected = None if state.selected == message.id else message.id
    publish_selection(sel_key, _selection(message) if state.selected else None)
    state.changed_by_python()


def _delete(state_key: str, sel_key: str, message_id: str) -> None:
    state: RegionState = st.session_state[state_key]
    state.snapshot()
    state.remove(message_id)  # the message and its per-message answers
    if state.selected is None:
        publish_selection(sel_key, None)
    state.changed_by_python()


def _add(state_key: str, chat_name: str, text_key: str, role_key: str, roles: list[str],
         room: int | None) -> None:
    state: RegionState = st.session_state[state_key]
    text = str(st.session_state.get(text_key) or "").strip()
    role = st.session_state.get(role_key) or roles[0]
    if not text:
        state.extra["error"] = "Type the message first."
        return
    if room is not None and room <= 0:
        state.extra["error"] = "The conversation has the most messages this project allows."
        return
    state.snapshot()
    state.items.append({"id": new_region_id(), "from_name": chat_name, "to_name": chat_name,
                        "type": "chatmessage", "value": {"chatmessage": {"role": role, "content": text}},
                        "origin": "manual"})
    state.extra.pop("error", None)
    st.session_state[text_key] = ""
    if role in roles:  # a conversation alternates: preselect the next role
        st.session_state[role_key] = roles[(roles.index(role) + 1) % len(roles)]
    state.changed_by_python()


# --- per-message answers --------------------------------------------------------------------------

def _answer_input(obj: ObjectTag, state: RegionState, control: ControlTag, message: Message,
                  ctx: WidgetContext) -> None:
    extra = {"item_index": message.index} if message.index is not None else {}
    edit_region_answer(state, ctx, obj, control, message.id, version=state.version, value_base={}, extra=extra)


def _answers_of(state: RegionState, control_name: str, message_id: str) -> list[str]:
    for item in state.items:
        if item.get("id") == message_id and item.get("from_name") == control_name:
            value = item.get("value", {}).get("choices")
            return [str(v) for v in value] if isinstance(value, list) else []
    return []


def _block_visible(node: TagNode, state: RegionState, message: Message) -> bool:
    when = visible_when(node)
    if when == "region-selected":
        return role_matches(node, _selection(message))
    if when == "no-region-selected":
        return False
    if when in ("choice-selected", "choice-unselected"):
        tag_name = node.get("whenTagName") or ""
        wanted = [v.strip() for v in (node.get("whenChoiceValue") or "").split(",") if v.strip()]
        chosen = _answers_of(state, tag_name, message.id)
        hit = bool(chosen) and (not wanted or any(v in chosen for v in wanted))
        return hit if when == "choice-selected" else not hit
    return True


def _render_block(node: TagNode, obj: ObjectTag, state: RegionState, per_region: dict[str, ControlTag],
                  message: Message, ctx: WidgetContext, shown: set[str]) -> None:
    """One node of a ``region-selected`` block, for the selected message."""
    if node.tag == "View":
        if _block_visible(node, state, message):
            for child in node.children:
                _render_block(child, obj, state, per_region, message, ctx, shown)
    elif node.tag == "Header":
        OBJECT_VIEWS["Header"](node, ctx)  # type: ignore[arg-type]
    elif node.tag == "Markdown":
        st.markdown(node.get("value") or node.text)
    elif node.kind.is_control:
        control = per_region.get(node.name or "")
        if control is not None:
            shown.add(control.name)
            _answer_input(obj, state, control, message, ctx)
        else:
            st.warning(f"{node.tag} {node.name!r} is inside a region-selected block but does not answer "
                       f"per message of {obj.name!r}; Quorum does not show it here.")
    elif node.kind.is_object:
        inner = ctx.cfg.objects.get(node.name or "")
        if inner is not None and inner.tag in OBJECT_VIEWS:
            OBJECT_VIEWS[inner.tag](inner, ctx)


def owned_blocks(obj: ObjectTag, ctx: WidgetContext) -> list[TagNode]:
    """The outermost ``visibleWhen="region-selected"`` views holding this chat's per-region controls."""
    out: list[TagNode] = []

    def visit(node: TagNode) -> None:
        if node.tag == "View" and block_owner(ctx.cfg, node) == obj.name:
            out.append(node)
            return
        for child in node.children:
            visit(child)

    visit(ctx.cfg.root)
    return out


def _panel(obj: ObjectTag, state: RegionState, per_controls: list[ControlTag], message: Message,
           number: int, ctx: WidgetContext) -> None:
    per_region = {c.name: c for c in per_controls}
    shown: set[str] = set()
    with st.container(border=True, key=ctx.key(obj.name, "panel")):
        st.markdown(f"**Selected: message #{number} ({_role_text(message.role)})**")
        blocks = owned_blocks(obj, ctx)
        for block in blocks:
            if _block_visible(block, state, message):
                _render_block(block, obj, state, per_region, message, ctx, shown)
        in_blocks = {n.name for b in blocks for n in b.walk() if n.name}
        for control in per_controls:  # per-region controls outside any region-selected block
            if control.name not in shown and control.name not in in_blocks:
                _answer_input(obj, state, control, message, ctx)
                shown.add(control.name)
        if not shown and blocks:
            st.caption(f"Nothing to answer for a {_role_text(message.role)} message.")


# --- the widget -----------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:")


def _role_text(role: str) -> str:
    """A role from the task, safe inside Markdown (captions): every Markdown character escaped."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in role)


def _show_message(obj: ObjectTag, state_key: str, sel_key: str, message: Message, number: int,
                  selectable: bool, deletable: bool, ctx: WidgetContext) -> None:
    selected = message.id == st.session_state[state_key].selected
    with st.container(border=selected, key=ctx.key(obj.name, "msg", message.id)):
        with st.chat_message(message.role or "message"):
            st.caption(f"#{number} · {_role_text(message.role)}" + (" · added by you" if message.added else "")
                       + (" · selected" if selected else ""))
            st.text(message.content)  # plain text: no Markdown or HTML from the task reaches the page
            if selectable or deletable:
                with st.container(horizontal=True, gap="small"):
                    if selectable:
                        st.button("Selected" if selected else "Select", key=ctx.key(obj.name, "sel", message.id),
                                  type="primary" if selected else "secondary", on_click=_select,
                                  args=(state_key, sel_key, message),
                                  help="Select this message to answer the per-message questions")
                    if deletable:
                        st.button("Delete", key=ctx.key(obj.name, "del", message.id), icon=":material/delete:",
                                  on_click=_delete, args=(state_key, sel_key, message.id))


@region_widget("Chat")
def render_chat(obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem],
                ctx: WidgetContext) -> list[ResultItem]:
    """Show the conversation, add messages (``editable``), and answer per-message controls."""
    per_controls = [c for c in controls if not c.kind.is_region]
    state_key, state = load_state_for_names(ctx, obj, {obj.name} | {c.name for c in per_controls}, items)
    messages = conversation(obj, ctx.data, state.items)
    by_id = {m.id: m for m in messages}
    if state.selected not in by_id:
        state.selected = None
    sel_key = selection_key(ctx, obj.name)
    selected = by_id.get(state.selected or "")
    publish_selection(sel_key, _selection(selected))

    editable = (obj.get("editable") or "false").strip().lower() == "true"
    llm = (obj.get("llm") or "").strip()
    if llm:
        st.info(f"This project names a model ({llm}) to answer in the chat. Quorum does not call models: "
                "type the assistant replies yourself.", icon=":material/info:")
    low, high = chat_limit(obj, "minMessages", ctx.data), chat_limit(obj, "maxMessages", ctx.data)
    limits = [f"at least {low}" if low is not None else "", f"at most {high}" if high is not None else ""]
    limit_text = " and ".join(p for p in limits if p)
    status = f"{len(messages)} message{'s' if len(messages) != 1 else ''}"
    if limit_text:
        status += f" ({limit_text} to submit)"
    if low is not None and len(messages) < low:
        status = f":orange[{status}]"
    st.caption(status)

    selectable = bool(per_controls)
    if not messages:
        st.caption("No messages yet." + (" Add the first one below." if editable and not ctx.disabled else ""))
    for number, message in enumerate(messages, start=1):
        _show_message(obj, state_key, sel_key, message, number, selectable,
                      editable and message.added and not ctx.disabled, ctx)

    if editable and not ctx.disabled:
        roles = chat_roles(obj)
        room = None if high is None else high - len(messages)
        role_key, text_key = ctx.key(obj.name, "role"), ctx.key(obj.name, "text")
        if st.session_state.get(role_key) not in roles:
            st.session_state[role_key] = roles[0]
        with st.container(border=True, key=ctx.key(obj.name, "compose")):
            st.radio("Role", roles, key=role_key, horizontal=True, format_func=_role_text)
            st.text_area("Message", key=text_key, placeholder="Type the message ...")
            st.button("Add message", key=ctx.key(obj.name, "add"), icon=":material/send:",
                      disabled=room is not None and room <= 0, on_click=_add,
                      args=(state_key, obj.name, text_key, role_key, roles, room))
            if room is not None and room <= 0:
                st.caption(f"The conversation has reached its maximum of {high} messages.")
            if state.extra.get("error"):
                st.warning(state.extra.pop("error"))

    if per_controls:
        if selected is None:
            if not any(visible_when(n) == "no-region-selected" for n in ctx.cfg.root.walk()):
                st.caption("Select a message to answer " + ", ".join(c.name for c in per_controls) + " for it.")
        else:
            _panel(obj, state, per_controls, selected, messages.index(selected) + 1, ctx)
    return finish(state)
