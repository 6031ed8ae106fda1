"""``span_annotator``: our offline Components v2 text-span component (no CDN, no build step).

It shows blocks of text (plain text, or HTML that the caller has already sanitised) with overlapping
coloured spans and label chips, and reports two kinds of event as the state value ``event``:

* ``{"seq", "type": "select", "start", "end", "text", "start_xpath", "start_offset", "end_xpath",
  "end_offset"}`` when the mouse selects text;
* ``{"seq", "type": "click", "id"}`` when a span or its chip is clicked.

Offsets are **code points** of the concatenated block texts (Python ``str`` indices, so ``\\r\\n``
counts 2), ``end`` exclusive; decorations (paragraph authors, label chips) do not count. ``seq``
grows with each event, so the caller handles every event once (a state value persists across reruns).
``*_xpath``/``*_offset`` locate both ends inside an HTML block the way Label Studio's HyperText does
(``/p[2]/text()[1]`` relative to the block, offset in code points of that text node).

streamlit-nlp-annotator 1.1.0 was tried first: it drops any annotation that overlaps an earlier one
(its ``jl()`` filter) and colours labels from a palette by sorted name, so it cannot show
overlapping Label Studio spans with the config's label colours.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from views.widgets.components.component_state import dict_field

_HTML = '<div class="qsa-root"></div>'

_CSS = """
.qsa-root { font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit);
  font-size: 1rem; line-height: 2.1; }
.qsa-block { white-space: pre-wrap; word-wrap: break-word; padding: 0.15rem 0; }
.qsa-block + .qsa-block { border-top: 1px dashed rgba(128,128,128,0.25); }
.qsa-prefix { font-weight: 600; opacity: 0.75; user-select: none; margin-right: 0.35rem; }
.qsa-hl { cursor: pointer; border-radius: 2px; }
.qsa-hl.qsa-selected { outline: 2px solid var(--qsa-sel, #333); outline-offset: 1px; }
.qsa-chip { display: inline-block; font-size: 0.68rem; line-height: 1.2; font-weight: 600;
  padding: 0 0.3rem; margin: 0 0.15rem 0 0.1rem; border-radius: 0.6rem; color: #fff;
  vertical-align: super; cursor: pointer; user-select: none; white-space: nowrap; }
.qsa-root[data-readonly="true"] { cursor: default; }
"""

_JS = r"""
const STATE = new WeakMap();

function cpLen(s) { let n = 0; for (const _ of s) n++; return n; }
function cpToU16(s, cp) { let u = 0, n = 0; for (const ch of s) { if (n >= cp) break; u += ch.length; n++; } return u; }

function textNodes(el) {
  const out = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, { acceptNode: (n) =>
    n.parentElement && n.parentElement.closest('[data-ignore]') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  let n; while ((n = walker.nextNode())) out.push(n);
  return out;
}

function xpathOf(node, body) {
  const steps = [];
  let cur = node;
  while (cur && cur !== body) {
    const parent = cur.parentNode;
    if (!parent) break;
    if (cur.nodeType === Node.TEXT_NODE) {
      let i = 0; for (const c of parent.childNodes) { if (c.nodeType === Node.TEXT_NODE) i++; if (c === cur) break; }
      steps.unshift(`text()[${i}]`);
    } else {
      const tag = cur.nodeName.toLowerCase();
      let i = 0; for (const c of parent.childNodes) { if (c.nodeName.toLowerCase() === tag) i++; if (c === cur) break; }
      steps.unshift(`${tag}[${i}]`);
    }
    cur = parent;
  }
  return '/' + steps.join('/');
}

function render(st) {
  const { root, data } = st;
  root.innerHTML = '';
  root.dataset.readonly = data.readonly ? 'true' : 'false';
  st.blocks = [];
  st.chars = [];
  let base = 0;
  for (const block of data.blocks || []) {
    const div = document.createElement('div');
    div.className = 'qsa-block';
    if (block.prefix) {
      const p = document.createElement('span');
      p.className = 'qsa-prefix'; p.dataset.ignore = '1'; p.textContent = block.prefix;
      div.appendChild(p);
    }
    const body = document.createElement('span');
    body.className = 'qsa-body';
    if (block.html != null) body.innerHTML = block.html; else body.appendChild(document.createTextNode(block.text || ''));
    div.appendChild(body);
    root.appendChild(div);
    const info = { body, base, len: 0 };
    for (const t of textNodes(body)) { const cps = Array.from(t.data); info.len += cps.length; st.chars.push(...cps); }
    st.blocks.push(info);
    base += info.len;
  }
  st.total = base;
  for (const info of st.blocks) highlight(st, info);
}

function highlight(st, info) {
  const spans = (st.data.spans || []).filter((s) => s.end > info.base && s.start < info.base + info.len && s.end > s.start);
  if (!spans.length) return;
  const cuts = new Set();
  for (const s of spans) { cuts.add(s.start - info.base); cuts.add(s.end - info.base); }
  // split text nodes at every span boundary
  let pos = 0;
  for (const t of textNodes(info.body)) {
    const len = cpLen(t.data);
    const inside = [...cuts].filter((c) => c > pos && c < pos + len).sort((a, b) => b - a);
    for (const c of inside) t.splitText(cpToU16(t.data, c - pos));
    pos += len;
  }
  pos = 0;
  const pieces = [];
  for (const t of textNodes(info.body)) {
    const len = cpLen(t.data);
    const start = info.base + pos, end = start + len;
    pos += len;
    const covering = spans.filter((s) => s.start < end && s.end > start && len > 0);
    if (covering.length) pieces.push({ t, start, end, covering });
  }
  for (const piece of pieces) {
    const cover = [...piece.covering].sort((a, b) => (b.end - b.start) - (a.end - a.start));
    const inner = cover[cover.length - 1];
    const wrap = document.createElement('span');
    wrap.className = 'qsa-hl' + (cover.some((s) => s.selected) ? ' qsa-selected' : '');
    wrap.dataset.id = inner.id;
    wrap.style.background = inner.fill;
    wrap.style.boxShadow = cover.map((s, k) => `0 ${2 * (k + 1)}px 0 ${s.color}`).join(', ');
    const sel = cover.find((s) => s.selected);
    if (sel) wrap.style.setProperty('--qsa-sel', sel.color);
    wrap.title = cover.map((s) => s.label).join(' + ');
    piece.t.parentNode.insertBefore(wrap, piece.t);
    wrap.appendChild(piece.t);
    for (const s of cover.filter((s) => s.end === piece.end)) {
      const chip = document.createElement('span');
      chip.className = 'qsa-chip'; chip.dataset.ignore = '1'; chip.dataset.id = s.id;
      chip.style.background = s.color; chip.textContent = s.label;
      wrap.parentNode.insertBefore(chip, wrap.nextSibling);
    }
  }
}

function pointToGlobal(st, node, offset) {
  for (const info of st.blocks) {
    let pos = info.base;
    for (const t of textNodes(info.body)) {
      if (t === node) return { at: pos + cpLen(t.data.slice(0, offset)), info, node: t, offset };
      pos += cpLen(t.data);
    }
  }
  const r = document.createRange();
  try { r.setStart(node, offset); } catch (e) { return null; }
  r.collapse(true);
  for (const info of st.blocks) {
    let pos = info.base;
    for (const t of textNodes(info.body)) {
      if (r.comparePoint(t, 0) >= 0) return { at: pos, info, node: t, offset: 0 };
      pos += cpLen(t.data);
    }
  }
  return { at: st.total, info: st.blocks[st.blocks.length - 1], node: null, offset: 0 };
}

function send(st, event) {
  st.seq = Math.max(st.seq + 1, Date.now());
  st.setStateValue('event', { seq: st.seq, ...event });
}

function selectedRange(st) {
  // A selection inside a shadow root is retargeted to the host in document.getSelection(); ask for
  // the composed range (or Chrome's ShadowRoot.getSelection) to see the real text nodes.
  const rootNode = st.root.getRootNode();
  const docSel = document.getSelection();
  const shadowSel = typeof rootNode.getSelection === 'function' ? rootNode.getSelection() : null;
  let range = null;
  if (docSel && typeof docSel.getComposedRanges === 'function' && rootNode instanceof ShadowRoot) {
    try { range = docSel.getComposedRanges({ shadowRoots: [rootNode] })[0] || null; } catch (e) { range = null; }
    if (!range || range.collapsed) {
      try { range = docSel.getComposedRanges(rootNode)[0] || null; } catch (e) { range = null; }
    }
  }
  if ((!range || range.collapsed) && shadowSel && shadowSel.rangeCount) range = shadowSel.getRangeAt(0);
  if ((!range || range.collapsed) && docSel && docSel.rangeCount) range = docSel.getRangeAt(0);
  const clear = () => { if (docSel) docSel.removeAllRanges(); if (shadowSel) shadowSel.removeAllRanges(); };
  return { range: range && !range.collapsed ? range : null, clear };
}

function onMouseUp(st) {
  if (st.data.readonly) return;
  const { range, clear } = selectedRange(st);
  if (!range || !st.root.contains(range.startContainer) || !st.root.contains(range.endContainer)) return;
  const a = pointToGlobal(st, range.startContainer, range.startOffset);
  const b = pointToGlobal(st, range.endContainer, range.endOffset);
  clear();
  if (!a || !b) return;
  const [s, e] = a.at <= b.at ? [a, b] : [b, a];
  if (e.at <= s.at) return;
  const localOffset = (p) => (p.node ? cpLen(p.node.data.slice(0, p.offset)) : 0);
  send(st, { type: 'select', start: s.at, end: e.at, text: st.chars.slice(s.at, e.at).join(''),
    start_xpath: s.node ? xpathOf(s.node, s.info.body) : '', start_offset: localOffset(s),
    end_xpath: e.node ? xpathOf(e.node, e.info.body) : '', end_offset: localOffset(e) });
}

function onClick(st, ev) {
  if (selectedRange(st).range) return;
  const hit = ev.composedPath().find((n) => n.dataset && n.dataset.id && n.classList &&
    (n.classList.contains('qsa-hl') || n.classList.contains('qsa-chip')));
  if (hit) send(st, { type: 'click', id: hit.dataset.id });
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.qsa-root');
  let st = STATE.get(root);
  if (!st) {
    st = { root, seq: 0, blocks: [], total: 0 };
    STATE.set(root, st);
    root.addEventListener('mouseup', () => onMouseUp(st));
    root.addEventListener('click', (ev) => onClick(st, ev));
  }
  st.setStateValue = setStateValue;
  const key = JSON.stringify(data);
  if (key !== st.lastKey) { st.lastKey = key; st.data = data; render(st); }
}
"""

_component = st.components.v2.component("quorum.span_annotator", html=_HTML, css=_CSS, js=_JS)


def span_annotator(*, blocks: list[dict[str, Any]], spans: list[dict[str, Any]], key: str,
                   readonly: bool = False) -> dict[str, Any] | None:
    """Mount the component; returns the last event (see the module docstring) or None.

    ``blocks``: ``[{"text": str} | {"html": str}, optional "prefix": str]``; ``spans``:
    ``[{"id", "start", "end", "label", "color", "fill", "selected"}]`` in global code points.
    """
    result = _component(key=key, data={"blocks": blocks, "spans": spans, "readonly": readonly},
                        default={"event": None}, on_event_change=lambda: None)
    return dict_field(result, "event")


def pending_event(key: str) -> dict[str, Any] | None:
    """The component's last event from session state, readable *before* it is mounted this run."""
    return dict_field(st.session_state.get(key), "event")
