"""``canvas_assist``: an invisible Components v2 helper that adds what streamlit-drawable-canvas 0.13.0 lacks.

The canvas (rendered in an open shadow root, in the element container of class ``canvas_class``) has no
parameter for its toolbar buttons, no keyboard handling and no pan mode. This helper, mounted next to it,
reaches into that shadow root and:

* lays the toolbar out *above* the canvas, in its own space, always visible (the package floats it over
  whatever is above the canvas on hover: our help text);
* hides the toolbar's upload button ("Update the app with this drawing": every change is already sent), and
  clicks it itself on a mouse-up that ends a shape, so the shape reaches the app without the package's
  200 ms debounce (the region is listed that much sooner);
* turns the toolbar's bin ("Reset canvas & history", which only reverts to the last drawing Python gave)
  into "Delete all regions": the click is swallowed and reported as the event ``{"type": "clear"}``;
* on Delete / Backspace (not while typing in an input, textarea or editable element, nor in a dialog):
  clicks the canvas's own "Delete selected" when a shape is selected in its edit mode, else reports
  ``{"type": "delete"}`` (Python removes the region selected in its list);
* in pan mode (``pan``), a drag on the canvas scrolls its view instead of drawing; Ctrl/Cmd + wheel over
  the canvas reports ``{"type": "zoom", "step": +1|-1}``; after a zoom change it scrolls the view so the
  point that was under the cursor (or at the centre) stays there.

Events are the state value ``event`` with a unique ``id``: a state value persists across reruns, so the
caller handles each id once (:func:`pending_event` reads it before anything else is drawn).
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from views.widgets.components.component_state import dict_field

_JS = r"""
const REG = window.__quorumCanvasAssist || (window.__quorumCanvasAssist = { helpers: new Map(), active: null });

const STYLE = `
.dc-root { display: flex; flex-direction: column; }
.dc-root > .dc-toolbar, .dc-root:hover > .dc-toolbar, .dc-toolbar:hover, .dc-toolbar:focus-within,
.dc-toolbar[data-pinned=true] {
  position: static; order: -1; align-self: flex-end; opacity: 1; top: auto; transition: none;
  padding: 0 0 0.3rem 0;
}
.dc-toolbar-card { box-shadow: 0 0 0 1px color-mix(in srgb, var(--st-text-color, #31333f) 15%, transparent); }
button[data-quorum-hidden] { display: none !important; }
.dc-scroll[data-quorum-pan="true"], .dc-scroll[data-quorum-pan="true"] canvas { cursor: grab !important; }
.dc-scroll[data-quorum-panning="true"], .dc-scroll[data-quorum-panning="true"] canvas { cursor: grabbing !important; }
`;

const NOT_TYPING_INPUTS = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file', 'image']);

function typingOrDialog(ev) {
  const path = ev.composedPath ? ev.composedPath() : [ev.target];
  for (const el of path) {
    if (!(el instanceof Element)) continue;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
    if (tag === 'INPUT' && !NOT_TYPING_INPUTS.has((el.getAttribute('type') || 'text').toLowerCase())) return true;
    if (el.getAttribute('role') === 'dialog' || el.getAttribute('aria-modal') === 'true') return true;
  }
  return false;
}

function live(h) { return h && h.host.isConnected; }

function activeHelper() {
  for (const [key, h] of REG.helpers) if (!live(h)) REG.helpers.delete(key);
  const chosen = REG.helpers.get(REG.active);
  if (chosen && !chosen.data.disabled) return chosen;
  for (const h of REG.helpers.values()) if (!h.data.disabled) return h;
  return null;
}

function send(h, event) {
  h.counter += 1;
  h.setStateValue('event', { id: `${Date.now()}-${Math.random().toString(36).slice(2, 8)}-${h.counter}`, ...event });
}

function canvasParts(h) {
  const box = document.querySelector('.' + CSS.escape(h.data.canvas_class));
  if (!box) return null;
  for (const el of box.querySelectorAll('*')) {
    const root = el.shadowRoot;
    const dc = root && root.querySelector('.dc-root');
    if (dc) return { box, root, dc, scroll: dc.querySelector('.dc-scroll'), container: dc.querySelector('.dc-container') };
  }
  return null;
}

function deleteSelected(h) {
  const parts = canvasParts(h);
  const own = parts && parts.root.querySelector('button[aria-label="Delete selected"]');
  if (own && !own.disabled && own.offsetParent !== null) { own.click(); return; }  // a shape picked in edit mode
  send(h, { type: 'delete' });
}

if (!REG.keyListener) {
  REG.keyListener = (ev) => {
    if (ev.key !== 'Delete' && ev.key !== 'Backspace') return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.shiftKey || ev.isComposing || ev.repeat || ev.defaultPrevented) return;
    if (typingOrDialog(ev)) return;
    const h = activeHelper();
    if (!h) return;
    ev.preventDefault();
    deleteSelected(h);
  };
  document.addEventListener('keydown', REG.keyListener);
}

function rememberView(h, scroll) {
  const w = scroll.scrollWidth || 1, hh = scroll.scrollHeight || 1;
  h.view = { fx: (scroll.scrollLeft + scroll.clientWidth / 2) / w, fy: (scroll.scrollTop + scroll.clientHeight / 2) / hh,
             vx: scroll.clientWidth / 2, vy: scroll.clientHeight / 2 };
}

function wire(parts, key) {
  const { root, dc, scroll, box } = parts;
  const helper = () => REG.helpers.get(key);
  box.addEventListener('pointerdown', () => { REG.active = key; }, true);
  root.addEventListener('click', (ev) => {
    const bin = ev.target instanceof Element && ev.target.closest('[data-quorum-clear]');
    if (!bin) return;
    ev.stopPropagation();
    ev.preventDefault();
    const h = helper();
    if (h && !h.data.disabled) send(h, { type: 'clear' });
  }, true);
  const swallow = (ev) => {
    const h = helper();
    if (!h || !h.data.pan) return;
    ev.stopPropagation();
    ev.preventDefault();
    if (ev.type !== 'pointerdown' || ev.button !== 0) return;
    const x0 = ev.clientX, y0 = ev.clientY, left0 = scroll.scrollLeft, top0 = scroll.scrollTop;
    scroll.dataset.quorumPanning = 'true';
    const move = (e) => {
      e.stopPropagation();
      scroll.scrollLeft = left0 - (e.clientX - x0);
      scroll.scrollTop = top0 - (e.clientY - y0);
    };
    const up = (e) => {
      e.stopPropagation();
      scroll.dataset.quorumPanning = 'false';
      window.removeEventListener('pointermove', move, true);
      window.removeEventListener('pointerup', up, true);
    };
    window.addEventListener('pointermove', move, true);
    window.addEventListener('pointerup', up, true);
  };
  for (const type of ['pointerdown', 'mousedown', 'touchstart']) scroll.addEventListener(type, swallow, { capture: true, passive: false });
  // A shape finished with the mouse goes to the app at once: the package sends a change 200 ms after the
  // last one (its debounce, for free drawing), which the labeler would wait for before the region is
  // listed. Its own upload button sends the drawing now (and drops the pending send); it runs after the
  // package's mouse-up handling (next task of the event loop), so the finished shape is in what it sends.
  let pressed = false;
  scroll.addEventListener('pointerdown', () => { pressed = true; }, true);
  window.addEventListener('pointerup', () => {
    if (!pressed) return;
    pressed = false;
    const h = helper();
    if (!h || h.data.disabled || h.data.pan || !h.data.send_on_release || !live(h)) return;
    setTimeout(() => {
      const upload = root.querySelector('button[aria-label="Update the app with this drawing"]');
      if (upload && root.isConnected) upload.click();
    }, 0);
  });
  scroll.addEventListener('wheel', (ev) => {
    const h = helper();
    if (!h || h.data.disabled || !h.data.zoomable || !(ev.ctrlKey || ev.metaKey)) return;
    ev.preventDefault();
    ev.stopPropagation();
    const now = performance.now();
    if (now - (h.lastWheel || 0) < 300) return;
    h.lastWheel = now;
    const r = scroll.getBoundingClientRect();
    const vx = ev.clientX - r.left, vy = ev.clientY - r.top;
    h.anchor = { fx: (scroll.scrollLeft + vx) / (scroll.scrollWidth || 1), fy: (scroll.scrollTop + vy) / (scroll.scrollHeight || 1), vx, vy };
    send(h, { type: 'zoom', step: ev.deltaY < 0 ? 1 : -1 });
  }, { capture: true, passive: false });
  scroll.addEventListener('scroll', () => { const h = helper(); if (h) rememberView(h, scroll); }, { passive: true });
}

function attach(h) {
  const parts = canvasParts(h);
  if (!parts) return null;
  const { root, dc, scroll } = parts;
  if (!root.querySelector('style[data-quorum-assist]')) {
    const style = document.createElement('style');
    style.dataset.quorumAssist = '1';
    style.textContent = STYLE;
    root.appendChild(style);
  }
  const upload = root.querySelector('button[aria-label="Update the app with this drawing"]');
  if (upload) upload.dataset.quorumHidden = '1';
  const bin = root.querySelector('button[aria-label="Reset canvas & history"]');
  if (bin) {
    bin.dataset.quorumClear = '1';
    bin.title = 'Delete all regions';
    bin.setAttribute('aria-label', 'Delete all regions');
  }
  if (dc.__quorumAssistKey !== h.key) {
    const first = dc.__quorumAssistKey === undefined;
    dc.__quorumAssistKey = h.key;
    if (first) wire(parts, h.key);
  }
  scroll.dataset.quorumPan = h.data.pan ? 'true' : 'false';
  if (!h.view) rememberView(h, scroll);
  return parts;
}

function keepViewAfterZoom(h) {
  const anchor = h.anchor || h.view;
  h.anchor = null;
  if (!anchor) return;
  const want = `${h.data.canvas_width}px`;
  const started = performance.now();
  const step = () => {
    const parts = canvasParts(h);
    if (parts && parts.container && parts.container.style.width === want && parts.scroll.scrollWidth >= h.data.canvas_width - 1) {
      const s = parts.scroll;
      s.scrollLeft = anchor.fx * s.scrollWidth - anchor.vx;
      s.scrollTop = anchor.fy * s.scrollHeight - anchor.vy;
      rememberView(h, s);
      return;
    }
    if (performance.now() - started < 5000) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const key = data.canvas_class;
  let h = REG.helpers.get(key);
  if (!h || h.host !== parentElement) {
    h = { key, host: parentElement, counter: 0, view: null, anchor: null, data };
    REG.helpers.set(key, h);
  }
  const zoomBefore = h.data.zoom;
  h.setStateValue = setStateValue;
  h.data = data;
  attach(h);
  if (zoomBefore !== data.zoom) keepViewAfterZoom(h);
  if (!h.timer) h.timer = setInterval(() => { if (live(h)) attach(h); }, 300);
  return () => {
    clearInterval(h.timer);
    h.timer = null;
  };
}
"""

_component = st.components.v2.component("quorum.canvas_assist", js=_JS, isolate_styles=False)


def css_class_of_key(key: str) -> str:
    """The class Streamlit gives the element container of a keyed element (``st-key-`` + the key, with
    characters other than letters, digits, ``_`` and ``-`` replaced)."""
    return "st-key-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in key)


def canvas_assist(*, key: str, canvas_key: str, zoom: float, canvas_width: int, canvas_height: int,
                  pan: bool, zoomable: bool, disabled: bool, send_on_release: bool = True) -> dict[str, Any] | None:
    """Mount the helper for the canvas keyed ``canvas_key``; returns its last event (see the module
    docstring) or None. It draws nothing; its element container is hidden. ``send_on_release``: a mouse-up
    on the canvas ends a shape (every tool but the polygon's, whose shape ends with its closing click)."""
    st.html(f"<style>.{css_class_of_key(key)} {{ display: none; }}</style>")
    result = _component(key=key, data={"canvas_class": css_class_of_key(canvas_key), "zoom": zoom,
                                       "canvas_width": canvas_width, "canvas_height": canvas_height,
                                       "pan": pan, "zoomable": zoomable, "disabled": disabled,
                                       "send_on_release": send_on_release},
                        default={"event": None}, on_event_change=lambda: None)
    return dict_field(result, "event")


def pending_event(key: str) -> dict[str, Any] | None:
    """The helper's last event from session state, readable *before* anything is drawn this run."""
    return dict_field(st.session_state.get(key), "event")
