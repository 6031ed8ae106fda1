"""The in-page half of bench/bench_felt.py: timing and DOM conditions, installed before any page script.

How a figure is taken: Python arms a measurement (``__felt.arm(spec)``: which event starts it, which
condition ends it), then presses the key or moves the mouse. A listener on ``window`` in the capture phase,
registered before the page's own scripts, takes ``performance.now()`` when the starting event arrives and
starts a ``requestAnimationFrame`` loop; the figure ends at the first animation frame whose DOM shows the
result (the frame that paints it). ``spec.idle`` also waits, in the same loop, until the app is idle
(Streamlit: script not running and connected; Label Studio: no fetch/XHR in flight): the second time.

Adapters (chosen per call from the DOM, so one loop serves every version of the labeling page):

* ``quorum-new``: the choices of a task are a Components v2 component in an open shadow root,
  ``div.qc-root[data-task=<task id>]`` with ``button.qc-option[data-value=<value>]``, ``aria-pressed="true"``
  when selected.
* ``quorum-old``: each choice is an ``st.button`` keyed ``t<task>_u<user>_choice_<control>_<value>``
  (class ``st-key-...``), selected = the primary kind (``stBaseButton-primary``).
* ``ls``: Label Studio 1.23's labeling stream: choices ``label.lsf-choice__checkbox``
  (``ant-checkbox-wrapper-checked`` when selected), the text in ``.lsf-richtext__line``, regions
  ``.lsf-outliner-item``.

Tasks are recognised by their text "Task <n> of the labeling benchmark" (Quorum: n is the task id), image
tasks by the ``st-key-t<task>_...`` classes (Quorum) or the image's blob URL (Label Studio).
"""

FELT_JS = r"""
(() => {
  if (window.__felt) return;
  const F = window.__felt = { armed: null, inflight: 0 };

  // --- requests in flight (Label Studio's "idle") ------------------------------------------------
  const origFetch = window.fetch;
  window.fetch = function (...args) {
    F.inflight++;
    return origFetch.apply(this, args).finally(() => { F.inflight--; });
  };
  const origSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    F.inflight++;
    this.addEventListener('loadend', () => { F.inflight--; }, { once: true });
    return origSend.apply(this, args);
  };

  // --- DOM helpers ---------------------------------------------------------------------------------
  const hosts = () => document.querySelectorAll('[data-testid="stBidiComponentIsolated"]');
  F.deepAll = (sel) => {
    const out = Array.from(document.querySelectorAll(sel));
    for (const h of hosts()) if (h.shadowRoot) out.push(...h.shadowRoot.querySelectorAll(sel));
    return out;
  };
  F.app = () => document.querySelector('[data-testid="stApp"]');
  F.idle = () => {
    const app = F.app();
    if (!app) return F.inflight === 0;
    return app.getAttribute('data-test-script-state') === 'notRunning'
      && app.getAttribute('data-test-connection-state') === 'CONNECTED';
  };
  F.kind = () => {
    if (!F.app()) return 'ls';
    return F.deepAll('.qc-root').length ? 'quorum-new' : 'quorum-old';
  };
  const visible = (el) => !el.checkVisibility || el.checkVisibility();
  const TEXT_RE = /Task (\d+) of the labeling benchmark/;
  F.textTasks = () => {  // numbers of the task texts visible now
    const found = new Set();
    const scan = (root) => {
      let r;
      try {
        r = document.evaluate(".//*[contains(text(), 'of the labeling benchmark')]", root, null,
                              XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
      } catch (e) { return; }
      for (let i = 0; i < r.snapshotLength; i++) {
        const n = r.snapshotItem(i);
        if (!visible(n)) continue;
        const m = TEXT_RE.exec(n.textContent);
        if (m) found.add(Number(m[1]));
      }
    };
    scan(document);
    for (const h of hosts()) if (h.shadowRoot) scan(h.shadowRoot);
    return found;
  };
  const KEY_RE = /^st-key-t(\d+)_u\d+_(.*)$/;
  F.keyTasks = (what) => {  // task ids of st-key-t<task>_u<user>_<what...> elements
    const ids = new Set();
    for (const el of document.querySelectorAll('[class*="st-key-t"]')) {
      for (const c of el.classList) {
        const m = KEY_RE.exec(c);
        if (m && (!what || m[2].startsWith(what))) ids.add(Number(m[1]));
      }
    }
    return ids;
  };
  const oldChoices = (task) => Array.from(document.querySelectorAll(`[class*="st-key-t${task}_u"][class*="_choice_"]`))
    .filter((el) => el.querySelector('button'));
  const oldChoice = (task, value) => oldChoices(task).find((el) =>
    Array.from(el.classList).some((c) => c.startsWith(`st-key-t${task}_u`) && c.endsWith('_' + value)));
  const lsChoices = () => Array.from(document.querySelectorAll('label.lsf-choice__checkbox'));
  const lsImage = () => Array.from(document.querySelectorAll('img')).find((i) => i.src.startsWith('blob:')
    && i.naturalWidth > 0 && i.getBoundingClientRect().width > 100);

  // Quorum's drawing canvas under `within` (a keyed element or the page), once its image is painted (the
  // background canvas has pixels in the middle)
  const quorumCanvas = (within) => {
    const roots = [within, ...Array.from(within.querySelectorAll('[data-testid="stBidiComponentIsolated"]'))
      .map((h) => h.shadowRoot).filter(Boolean)];
    for (const root of roots) {
      const el = Array.from(root.querySelectorAll('canvas.upper-canvas'))
        .find((c) => c.getBoundingClientRect().width > 0);
      if (!el) continue;
      const background = el.getRootNode().querySelector('canvas.dc-background-canvas, canvas.lower-canvas');
      if (!background || !background.width) return null;
      const ctx = background.getContext('2d', { willReadFrequently: true });
      const px = ctx.getImageData(Math.floor(background.width / 2), Math.floor(background.height / 2), 1, 1).data;
      return px[3] ? el : null;
    }
    return null;
  };

  // --- conditions: each returns a truthy value (kept as the result) or false -------------------------
  const COND = {
    // the task on screen now (no waiting): {kind, task}
    current: () => {
      const kind = F.kind();
      if (kind === 'quorum-new') {
        const roots = F.deepAll('.qc-root[data-task]');
        return { kind, task: Number(roots[roots.length - 1].dataset.task) };
      }
      if (kind === 'quorum-old') {
        const texts = F.textTasks();
        const ids = [...F.keyTasks()].filter((id) => !texts.size || texts.has(id));
        return ids.length ? { kind, task: Math.max(...ids) } : false;
      }
      const texts = [...F.textTasks()];
      if (texts.length) return { kind, task: texts[0] };
      const img = lsImage();
      return img ? { kind, task: img.src } : false;
    },
    selected: ({ task, value }) => {
      const kind = F.kind();
      if (kind === 'quorum-new') {
        return F.deepAll(`.qc-root[data-task="${task}"] .qc-option[aria-pressed="true"]`)
          .some((b) => b.dataset.value === value) && kind;
      }
      if (kind === 'quorum-old') {
        const el = oldChoice(task, value);
        return !!(el && el.querySelector('[data-testid="stBaseButton-primary"]')) && kind;
      }
      return lsChoices().some((l) => l.classList.contains('ant-checkbox-wrapper-checked')
        && l.textContent.trim().startsWith(value)) && kind;
    },
    // the next text task is shown and takes keys: its text is visible and its choices are there
    ready: ({ prev, nChoices }) => {
      const kind = F.kind();
      const texts = F.textTasks();
      if (kind === 'quorum-new') {
        const root = F.deepAll('.qc-root[data-task]').find((r) => Number(r.dataset.task) !== prev
          && texts.has(Number(r.dataset.task)) && r.querySelectorAll('.qc-option').length >= nChoices);
        return root ? { kind, task: Number(root.dataset.task) } : false;
      }
      if (kind === 'quorum-old') {
        const id = [...F.keyTasks('choice_')]
          .find((t) => t !== prev && texts.has(t) && oldChoices(t).length >= nChoices);
        return id !== undefined ? { kind, task: id } : false;
      }
      const n = [...texts].find((t) => t !== prev);
      const choices = lsChoices();
      if (n === undefined || choices.length < nChoices) return false;
      return choices.some((l) => l.classList.contains('ant-checkbox-wrapper-checked')) ? false : { kind, task: n };
    },
    // the next image task is shown: Quorum: the task's canvas with its image painted; Label Studio: its image
    // loaded; no regions yet
    imageReady: ({ prev }) => {
      if (F.app()) {
        for (const t of F.keyTasks()) {
          if (t === prev) continue;
          const keyed = document.querySelector(`[class*="st-key-t${t}_u"][class*="_canvas"]`);
          if (keyed && quorumCanvas(keyed)) return { kind: F.kind(), task: t };
        }
        return false;
      }
      const img = lsImage();
      if (!img || img.src === prev || document.querySelectorAll('.lsf-outliner-item').length) return false;
      return { kind: 'ls', task: img.src };
    },
    // the region list shows at least `count` regions of the task
    regions: ({ task, count }) => {
      if (F.app()) {
        const rows = document.querySelectorAll(`[class*="st-key-t${task}_u"][class*="_row_"]`).length;
        let listed = rows;
        if (!rows) {  // no keyed rows (a rewritten list): the "Regions (N)" heading
          for (const el of document.querySelectorAll('[data-testid="stMarkdownContainer"]')) {
            const m = /Regions \((\d+)\)/.exec(el.textContent);
            if (m) listed = Math.max(listed, Number(m[1]));
          }
        }
        return listed >= count && { kind: F.kind(), task };
      }
      return document.querySelectorAll('.lsf-outliner-item').length >= count && { kind: 'ls', task };
    },
    // a page of the app fully rendered: idle, no spinner or skeleton or stale element, its title and
    // content there, charts drawn and data grids painted
    page: ({ title, content }) => {
      if (!F.idle()) return false;
      const main = document.querySelector('[data-testid="stMain"]');
      if (!main) return false;
      if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
      if (main.querySelector('[data-stale="true"]')) return false;
      const h1 = main.querySelector('h1');
      if (!h1 || !h1.textContent.includes(title)) return false;
      for (const sel of content) if (!Array.from(main.querySelectorAll(sel)).some(visible)) return false;
      // what is on screen is drawn (charts and grids in a hidden tab are not)
      for (const chart of main.querySelectorAll('[data-testid="stPlotlyChart"]')) {
        if (visible(chart) && !chart.querySelector('.main-svg')) return false;
      }
      for (const grid of main.querySelectorAll('[data-testid="stDataFrame"]')) {
        if (visible(grid) && !grid.querySelector('canvas')) return false;
      }
      return { kind: F.kind(), title };
    },
    idle: () => F.idle() && { kind: F.kind() },
    // where to draw, once the image is painted: Quorum's canvas (its background canvas has pixels),
    // Label Studio's loaded image
    drawable: () => {
      if (!F.idle()) return false;
      const el = F.app() ? quorumCanvas(document.querySelector('[data-testid="stMain"]') || document) : lsImage();
      if (!el) return false;
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height, scrollY: window.scrollY };
    },
    signIn: () => F.idle() && !!document.querySelector('[data-testid="stForm"] input[type="password"]')
      && !!document.querySelector('[data-testid="stMain"] h1') && { kind: 'quorum' },
  };
  F.cond = COND;

  // --- measuring -----------------------------------------------------------------------------------
  F.arm = (spec) => {
    const a = F.armed = { spec, t0: null, t1: null, tIdle: null, done: false, error: null, value: null,
                          frames: 0, maxGap: 0, resolve: null };
    if (spec.trigger === 'now') { a.t0 = spec.t0 ?? performance.now(); start(a); }
    return true;
  };
  // an exception the app shows (Streamlit's stException): the item failed, the awaited result may never come
  F.exceptions = () => document.querySelectorAll('[data-testid="stException"]');
  const summary = (a) => ({ t0: a.t0, t1: a.t1, tIdle: a.tIdle, error: a.error, value: a.value,
                            frames: a.frames, maxGap: a.maxGap });
  F.wait = () => new Promise((resolve) => {
    const a = F.armed;
    if (!a) return resolve({ error: 'not armed' });
    if (a.done) return resolve(summary(a));
    a.resolve = () => resolve(summary(a));
  });
  const finish = (a) => { a.done = true; if (a.resolve) a.resolve(); };
  const start = (a) => {
    let last = a.t0;
    const frame = () => {
      if (F.armed !== a || a.done) return;
      const now = performance.now();
      a.frames++;
      a.maxGap = Math.max(a.maxGap, now - last);
      last = now;
      try {
        if (a.t1 === null) {
          const v = COND[a.spec.cond](a.spec.arg || {});
          if (v) { a.t1 = now; a.value = v; }
        }
        if (a.t1 !== null && (!a.spec.idle || (F.idle() && COND[a.spec.cond](a.spec.arg || {})))) {
          a.tIdle = now;
          return finish(a);
        }
      } catch (e) {
        a.error = String(e && e.stack || e);
        return finish(a);
      }
      const shown = F.exceptions();
      if (shown.length) {  // the labeler sees an error: this item failed (a reload clears it)
        a.error = 'the app shows an exception: ' + shown[shown.length - 1].textContent.slice(0, 200);
        return finish(a);
      }
      if (now - a.t0 > a.spec.timeout) { a.error = 'timeout'; return finish(a); }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  };
  const onEvent = (ev) => {
    const a = F.armed;
    if (!a || a.t0 !== null || ev.type !== a.spec.trigger) return;
    if (a.spec.key && ev.key !== a.spec.key) return;
    if (a.spec.ctrl && !ev.ctrlKey) return;
    a.t0 = performance.now();
    start(a);
  };
  for (const type of ['keydown', 'mousedown', 'mouseup', 'click']) {
    window.addEventListener(type, onEvent, { capture: true });
  }

  // A full page load measured from navigation start (time origin 0): armed by the context (cold start) or
  // by the previous document of this tab (sessionStorage), before any of the page's own scripts run.
  let load = window.__feltLoadSpec || null;
  try {
    const stored = sessionStorage.getItem('__feltLoad');
    if (stored) { sessionStorage.removeItem('__feltLoad'); load = JSON.parse(stored); }
  } catch (e) { /* opaque origin */ }
  if (load) F.arm({ ...load, trigger: 'now', t0: 0 });
})();
"""
