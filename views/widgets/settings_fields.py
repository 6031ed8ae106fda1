"""The project settings inputs, one set for the New project and Settings pages.

Both pages ask the same questions with the same words and bounds, so a manager who set a project up meets the
same fields when tuning it later, and a setting added to ``ProjectSettings`` is added in one place. Call inside
an ``st.form``; the values are only read when the form is submitted.
"""
from __future__ import annotations

import streamlit as st

from core.projects import ESCALATION_ORDERS, MAX_OVERLAP, SAMPLING_MODES, ProjectSettings

SAMPLING_LABELS = {"sequential": "In order of import", "random": "Random",
                   "uncertainty": "Least certain prediction first"}
ESCALATION_LABELS = {"annotators_first": "Ask more annotators first, then review", "review_first": "Straight to review"}


def settings_fields(s: ProjectSettings, key: str) -> ProjectSettings:
    """Inputs for every setting, starting at ``s``; the settings as entered (checked by core, not here).

    Bounds are widened to the stored value, so a value set elsewhere (the CLI) still shows.
    """
    a, b, c = st.columns(3)
    overlap = a.number_input("Annotations per task", 1, MAX_OVERLAP, s.overlap, key=key + "overlap",
                             help="How many annotators label each task.")
    maximum = b.number_input("Maximum annotations (escalation)", 1, MAX_OVERLAP, s.maximum_annotations or s.overlap,
                             key=key + "maximum", help="When annotators disagree, the task goes to more "
                             "annotators until it has this many.")
    threshold = c.number_input("Agreement threshold", 0.0, 1.0, s.agreement_threshold, 0.05, key=key + "threshold",
                               help="Tasks that agree less than this go to more annotators or to review.")
    d, e, f = st.columns(3)
    escalation = d.selectbox("Escalation order", ESCALATION_ORDERS, ESCALATION_ORDERS.index(s.escalation_order),
                             format_func=ESCALATION_LABELS.get, key=key + "escalation")
    sampling = e.selectbox("Sampling (task order)", SAMPLING_MODES, SAMPLING_MODES.index(s.sampling),
                           format_func=SAMPLING_LABELS.get, key=key + "sampling")
    lock_minutes = f.number_input("Lock time-to-live (minutes)", min(1.0, s.lock_ttl_s / 60),
                                  max(7 * 24 * 60.0, s.lock_ttl_s / 60), s.lock_ttl_s / 60, 1.0,
                                  key=key + "lock", help="How long a task stays with a labeler who opened it.")
    g, h, i = st.columns(3)
    honeypot = g.number_input("Honeypot share", 0.0, max(0.99, s.honeypot_rate), s.honeypot_rate, 0.01,
                              key=key + "honeypot",
                              help="Share of hand-outs that are ground-truth tasks, to measure accuracy.")
    repeat = h.number_input("Repeat share (self-consistency)", 0.0, max(0.99, s.repeat_rate), s.repeat_rate, 0.01,
                            key=key + "repeat", help="Share of hand-outs that repeat an annotator's own earlier task.")
    show_predictions = i.checkbox("Show predictions", s.show_predictions, key=key + "predictions",
                                  help="Pre-fill the labeling widgets with the newest model prediction.")
    allow_skip = i.checkbox("Skipping allowed", s.allow_skip, key=key + "skip")
    if int(maximum) == (s.maximum_annotations or s.overlap) == s.overlap:
        maximum = overlap  # the maximum was left at "no escalation": it stays so when the overlap changes
    return ProjectSettings(
        overlap=int(overlap), maximum_annotations=int(maximum), agreement_threshold=float(threshold),
        sampling=sampling, lock_ttl_s=int(round(lock_minutes * 60)), honeypot_rate=float(honeypot),
        repeat_rate=float(repeat), show_predictions=show_predictions, allow_skip=allow_skip, escalation_order=escalation,
    )
