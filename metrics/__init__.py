"""Quorum's quality engine: pure numpy/pandas/scipy maths, no database, no Streamlit, no I/O.

Modules, one job each:

* ``metrics.coefficients``: Cohen (per pair), Light, Fleiss, Krippendorff (nominal, ordinal,
  interval, ratio), Gwet's AC1, percent agreement over the long frame (task, annotator, label).
* ``metrics.agreement``: pairwise agreement of two annotations per Label Studio tag kind, and task
  agreement (mean pairwise score per tag, weighted mean over tags).
* ``metrics.geometry``: box and polygon IoU, span overlap, Hungarian region matching.
* ``metrics.text``: edit similarity, CER, WER.
* ``metrics.consensus``: MajorityVote, WeightedVote, DawidSkene, OneCoinDawidSkene (crowd-kit
  interface), fuse_boxes, vote_spans, medoid_texts, median_numbers.
"""
