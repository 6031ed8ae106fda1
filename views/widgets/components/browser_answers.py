"""Answers kept in the browser until submit: the choice buttons and the submit bar of the labeling page.

Why: a labeler presses a key per item all day. With Streamlit widgets each press is a server round trip
and a rerun (200-300 ms before the choice even shows). Here the choice buttons are one Components v2
component per Choices control whose state lives in the page: a key press or a click shows the selection
at once (no server involved), and

* the answer reaches the server's draft through a plain HTTP call (``POST DRAFT_URL``, served by
  ``serve.py``; the session cookie says who), serialised per task, without a rerun;
* the submit bar sends every browser-kept answer of the task together with the submit (one trigger, one
  rerun of the labeling fragment), so nothing depends on the draft calls having arrived.

Controls whose answer a ``visibleWhen`` condition reads are *live*: they also set their state value, so
the page reruns and shows or hides what depends on them.

DOM contract (the browser tests and ``bench/bench_felt.py`` rely on it): a choice component's root is
``div.qc-root[data-task=<task id>][data-control=<name>]``, each option ``button.qc-option[data-value]``
with ``aria-pressed="true"`` when selected; the submit bar is ``button.qs-submit`` in ``div.qs-root``.
Both render in an open shadow root.

The page-wide registry ``window.__quorumAnswers[task key]`` holds, per task: the browser-kept answers
(result items by control), the draft-call chain, and the labeler's active time (gaps under a minute
between interactions, like ``core.labeling.add_active_time``).
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from views.widgets.components.component_state import dict_field

DRAFT_URL = "/api/labeling/draft"
IDLE_GAP_MS = 60_000

_REGISTRY_JS = r"""
const IDLE_GAP_MS = %(idle)d;
const REG = (window.__quorumAnswers = window.__quorumAnswers || {});

function slotOf(task) {
  if (!REG[task]) {
    const now = performance.now();
    REG[task] = { items: {}, chain: Promise.resolve(), timers: {}, closed: false, active: 0, last: now };
    const touch = () => {
      const slot = REG[task];
      if (!slot || slot.closed) return;
      const t = performance.now();
      const gap = t - slot.last;
      if (gap >= 0 && gap <= IDLE_GAP_MS) slot.active += gap;
      slot.last = t;
    };
    REG[task].touch = touch;
    for (const type of ['keydown', 'pointerdown', 'input', 'wheel']) {
      window.addEventListener(type, touch, { capture: true, passive: true });
    }
    REG[task].detach = () => {
      for (const type of ['keydown', 'pointerdown', 'input', 'wheel']) window.removeEventListener(type, touch, { capture: true });
    };
  }
  return REG[task];
}

function typingIn(event) {
  const target = event.composedPath ? event.composedPath()[0] : event.target;
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target.type || 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(type);
  }
  return !!target.isContentEditable;
}
""" % {"idle": IDLE_GAP_MS}

_CHOICES_CSS = """
.qc-root { display: flex; flex-wrap: wrap; gap: 0.5rem; font-family: var(--st-font, sans-serif); }
.qc-root[data-layout="column"] { flex-direction: column; align-items: stretch; }
.qc-option { flex: 1 1 0; min-width: 6rem; display: inline-flex; align-items: center; justify-content: center;
  gap: 0.5rem; padding: 0.45rem 0.75rem; border-radius: 0.5rem; cursor: pointer; font: inherit;
  font-size: 1rem; line-height: 1.6; color: var(--st-text-color, #31333f);
  background: var(--st-secondary-background-color, #f0f2f6); border: 1px solid rgba(49, 51, 63, 0.2); }
.qc-option:hover { border-color: var(--st-primary-color, #ff4b4b); }
.qc-option:focus-visible { outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: 1px; }
.qc-option[aria-pressed="true"] { background: var(--st-primary-color, #ff4b4b); color: #fff;
  border-color: var(--st-primary-color, #ff4b4b); font-weight: 600; }
.qc-option[aria-pressed="true"]::before { content: "✓"; }
.qc-option:disabled { cursor: not-allowed; opacity: 0.6; }
.qc-key { font-size: 0.75rem; font-weight: 600; opacity: 0.7; border: 1px solid currentColor; border-radius: 0.25rem;
  padding: 0 0.3rem; line-height: 1.3; }
"""

_CHOICES_JS = _REGISTRY_JS + r"""
const HANDLERS = new WeakMap();

function toggled(selected, value, multiple, required) {
  const current = selected.slice();
  const at = current.indexOf(value);
  if (at >= 0) {
    if (!multiple && required) return current;  // a required single choice is changed, never emptied
    current.splice(at, 1);
    return current;
  }
  return multiple ? current.concat([value]) : [value];
}

function itemsOf(data, selected) {
  return selected.length ? [{ ...data.template, value: { choices: selected } }] : [];
}

function post(url, body) {
  return fetch(url, { method: 'POST', credentials: 'same-origin', keepalive: true,
                      headers: { 'Content-Type': 'application/json' }, body });
}

function sendDraft(data, slot) {
  // A burst of presses makes one call (the last answer); calls of a task go one after another, in order.
  clearTimeout(slot.timers[data.control]);
  slot.pending = slot.pending || {};
  slot.pending[data.control] = [data.draft_url,
    JSON.stringify({ task_id: data.task_id, names: [data.control], items: slot.items[data.control] })];
  slot.timers[data.control] = setTimeout(() => sendPending(data, slot, 2000), 250);
}

function sendPending(data, slot, backoff) {
  // The control's latest answer goes out; if the server could not take it (503: its database is restarting;
  // or the network failed) it is sent again later, unless a newer answer replaced it or the task was closed.
  const call = slot.pending[data.control];
  delete slot.pending[data.control];
  if (slot.closed || !call) return;
  slot.chain = slot.chain.then(() => post(...call)
    .then((r) => r.ok ? 'saved' : (r.status === 503 ? 'retry' : 'failed'), () => 'retry')
    .then((status) => {
      slot.draftStatus = status === 'retry' ? 'failed' : status;
      if (status !== 'retry' || slot.closed || slot.pending[data.control]) return;
      slot.pending[data.control] = call;
      slot.timers[data.control] = setTimeout(() => sendPending(data, slot, Math.min(backoff * 2, 30000)), backoff);
    }));
}

if (!window.__quorumFlushOnLeave) {  // a reload or a closed tab within the quarter second still saves the last answer
  window.__quorumFlushOnLeave = true;
  window.addEventListener('pagehide', () => {
    for (const slot of Object.values(REG)) {
      if (!slot || !slot.pending || slot.closed) continue;
      for (const call of Object.values(slot.pending)) post(...call);
      slot.pending = {};
    }
  });
}

function releasePickerFocus(task) {
  // A new task came after the labeler picked a project in the project box: the box keeps the focus, and the
  // next number key would type into its search instead of choosing. Give the keys back to the labeling.
  if (window.__quorumLastTask === task) return;
  window.__quorumLastTask = task;
  const focused = document.activeElement;
  if (focused && focused.closest && focused.closest('[data-testid="stSelectbox"]')) focused.blur();
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.qc-root');
  const slot = slotOf(data.task);
  releasePickerFocus(data.task);
  // The browser's answer wins over what the server last knew: reruns of the page must not undo a key press.
  let selected = slot.items[data.control] ? (slot.items[data.control][0]?.value?.choices || []) : data.selected.slice();
  slot.items[data.control] = itemsOf(data, selected);
  root.dataset.task = String(data.task_id);
  root.dataset.control = data.control;
  root.dataset.layout = data.inline ? 'row' : 'column';
  root.replaceChildren();
  const buttons = new Map();
  for (const option of data.options) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'qc-option';
    button.dataset.value = option.value;
    if (option.hint) button.title = option.hint;
    button.disabled = !!data.readonly;
    const label = document.createElement('span');
    label.className = 'qc-label';
    label.textContent = option.label;
    button.append(label);
    if (option.hotkey) {
      const key = document.createElement('span');
      key.className = 'qc-key';
      key.textContent = option.hotkey;
      button.append(key);
      button.setAttribute('aria-keyshortcuts', option.hotkey);
    }
    button.addEventListener('click', () => choose(option.value));
    buttons.set(option.value, button);
    root.append(button);
  }
  function paint() {
    for (const [value, button] of buttons) button.setAttribute('aria-pressed', selected.includes(value) ? 'true' : 'false');
  }
  function choose(value) {
    if (data.readonly || slot.closed) return;
    const next = toggled(selected, value, data.multiple, data.required);
    if (next.length === selected.length && next.every((v, i) => v === selected[i])) return;
    selected = next;
    paint();
    slot.items[data.control] = itemsOf(data, selected);
    if (data.live) setStateValue('value', selected);
    else sendDraft(data, slot);
  }
  paint();
  const keys = new Map(data.options.filter((o) => o.hotkey).map((o) => [o.hotkey.toLowerCase(), o.value]));
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || typingIn(event)) return;
    const value = keys.get((event.key || '').toLowerCase());
    if (value === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    choose(value);
  };
  const old = HANDLERS.get(root);
  if (old) window.removeEventListener('keydown', old, true);
  HANDLERS.set(root, onKey);
  if (!data.readonly) window.addEventListener('keydown', onKey, true);
  return () => { window.removeEventListener('keydown', onKey, true); HANDLERS.delete(root); };
}
"""

_SUBMIT_CSS = """
.qs-root { display: flex; font-family: var(--st-font, sans-serif); }
.qs-submit { flex: 1; display: inline-flex; align-items: center; justify-content: center; gap: 0.6rem;
  padding: 0.45rem 0.75rem; border-radius: 0.5rem; cursor: pointer; font: inherit; font-size: 1rem;
  line-height: 1.6; color: #fff; background: var(--st-primary-color, #ff4b4b);
  border: 1px solid var(--st-primary-color, #ff4b4b); }
.qs-submit:disabled { cursor: not-allowed; opacity: 0.6; }
.qs-key { font-size: 0.75rem; opacity: 0.85; }
"""

_SUBMIT_JS = _REGISTRY_JS + r"""
const HANDLERS = new WeakMap();

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector('.qs-root');
  for (const [other, old] of Object.entries(REG)) {  // earlier tasks' slots: their listeners go
    if (other !== data.task && old.closed) { old.detach(); delete REG[other]; }
  }
  const slot = slotOf(data.task);
  slot.closed = false;  // the server answered (e.g. a required answer was missing): the task is open again
  root.dataset.task = String(data.task_id);
  root.replaceChildren();
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'qs-submit';
  button.disabled = !!data.disabled;
  const label = document.createElement('span');
  label.textContent = data.label;
  const key = document.createElement('span');
  key.className = 'qs-key';
  key.textContent = 'Ctrl+Enter';
  button.append(label, key);
  button.setAttribute('aria-keyshortcuts', 'Control+Enter');
  root.append(button);
  function submit() {
    if (data.disabled || slot.closed) return;
    slot.touch();
    slot.closed = true;  // one submit per showing of the task; pending draft calls are dropped
    for (const timer of Object.values(slot.timers)) clearTimeout(timer);
    button.disabled = true;
    const items = [].concat(...Object.values(slot.items));
    // After the current event: a text area commits its value on the same Ctrl+Enter, and that value must
    // travel with this submit.
    setTimeout(() => setTriggerValue('submit', {
      seq: Date.now(), items, names: Object.keys(slot.items), active_s: slot.active / 1000,
    }), 0);
  }
  button.addEventListener('click', submit);
  // Ctrl/Cmd+Enter only submits, whatever has the focus. preventDefault stops a focused native button (an
  // st.button, a choice) from being clicked by the key down; a Streamlit segmented control (the Rating's
  // stars) is a React Aria button that presses on the key *up* after seeing the key down, so the key down
  // must not reach it at all, and the Enter's key up is kept from it too. A text box still gets the key: it
  // commits its value on it (see submit), and a key cannot press anything there.
  let swallowUp = false;
  const onKey = (event) => {
    // Alt+U flips the page's "I'm not sure" toggle (data.flag_selector: its checkbox), here in the browser: a
    // hidden Streamlit button with a shortcut costs every run of the labeling area ~30 ms.
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyU' && data.flag_selector) {
      const box = document.querySelector(data.flag_selector);
      if (box) {
        event.preventDefault();
        event.stopPropagation();
        box.click();
      }
      return;
    }
    if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    if (!typingIn(event)) {
      event.stopPropagation();
      swallowUp = true;
    }
    if (!event.repeat) submit();
  };
  const onKeyUp = (event) => {
    if (event.key !== 'Enter' || !swallowUp) return;
    swallowUp = false;
    event.preventDefault();
    event.stopPropagation();
  };
  const old = HANDLERS.get(root);
  if (old) {
    window.removeEventListener('keydown', old.down, true);
    window.removeEventListener('keyup', old.up, true);
  }
  HANDLERS.set(root, { down: onKey, up: onKeyUp });
  window.addEventListener('keydown', onKey, true);
  window.addEventListener('keyup', onKeyUp, true);
  return () => {
    window.removeEventListener('keydown', onKey, true);
    window.removeEventListener('keyup', onKeyUp, true);
    HANDLERS.delete(root);
  };
}
"""

_choices = st.components.v2.component(
    "quorum.choice_buttons", html='<div class="qc-root"></div>', css=_CHOICES_CSS, js=_CHOICES_JS
)
_submit = st.components.v2.component(
    "quorum.submit_bar", html='<div class="qs-root"></div>', css=_SUBMIT_CSS, js=_SUBMIT_JS
)


def choice_buttons(*, key: str, task: str, task_id: int, control: str, template: dict[str, Any],
                   options: list[dict[str, Any]], selected: list[str], multiple: bool, required: bool,
                   inline: bool, live: bool, readonly: bool = False) -> list[str] | None:
    """Mount one Choices control's buttons; returns the browser's selection when ``live`` (else None:
    the selection travels with the submit and the draft calls).

    ``task``: the page's key for the task on screen (the registry's key); ``template``: the result item
    without its value (from_name, to_name, type); ``options``: ``[{"value", "label", "hotkey", "hint"}]``.
    """
    result = _choices(
        key=key,
        data={"task": task, "task_id": task_id, "control": control, "template": template, "options": options,
              "selected": selected, "multiple": multiple, "required": required, "inline": inline, "live": live,
              "readonly": readonly, "draft_url": DRAFT_URL},
        default={"value": None},
        on_value_change=lambda: None,
    )
    value = result.get("value") if hasattr(result, "get") else getattr(result, "value", None)
    return list(value) if live and isinstance(value, list) else None


def submit_bar(*, key: str, task: str, task_id: int, label: str, disabled: bool, run: int,
               flag_selector: str | None = None) -> dict[str, Any] | None:
    """Mount the submit button (and its Ctrl+Enter); returns the submit sent in this run, or None:
    ``{"seq", "items", "names", "active_s"}`` (the browser-kept answers, their controls, the active time).
    ``flag_selector``: the CSS selector of the "I'm not sure" checkbox, which Alt+U clicks.

    Mount it before the interface (in a container placed below it), so the run knows it is a submit
    before drawing anything. ``run``: changes on each run, so the bar re-arms after a refused submit.
    """
    # A state value besides the trigger: only then does session state show the trigger before the bar is
    # mounted again (pending_submit).
    result = _submit(key=key, data={"task": task, "task_id": task_id, "label": label, "disabled": disabled,
                                    "run": run, "flag_selector": flag_selector},
                     default={"armed": True}, on_armed_change=lambda: None,
                     on_submit_change=lambda: None)
    return dict_field(result, "submit")


def pending_submit(key: str) -> dict[str, Any] | None:
    """The submit sent with this run, read before the bar is mounted (so a run can act on it first)."""
    return dict_field(st.session_state.get(key), "submit")
