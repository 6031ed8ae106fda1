"""Consensus: from several annotators' labels to one label (or region, text, number) per task.

Categorical aggregators follow crowd-kit's interface (``fit(df) -> self``, ``fit_predict(df)``,
fitted attributes ending in ``_``) over the long frame (task, annotator, label); a tie is no
consensus (NaN). Region and value consensus are functions over frames of regions or values.
"""
from metrics.consensus.boxes import fuse_boxes
from metrics.consensus.dawid_skene import DawidSkene, OneCoinDawidSkene
from metrics.consensus.kinds import borda_ranking, cluster_keypoints, vote_intervals, vote_polygons, vote_relations
from metrics.consensus.majority import MajorityVote, WeightedVote, vote_leaders
from metrics.consensus.values import median_numbers, medoid_texts, vote_spans, weighted_median

__all__ = [
    "DawidSkene",
    "MajorityVote",
    "OneCoinDawidSkene",
    "WeightedVote",
    "borda_ranking",
    "cluster_keypoints",
    "fuse_boxes",
    "median_numbers",
    "medoid_texts",
    "vote_intervals",
    "vote_polygons",
    "vote_relations",
    "vote_leaders",
    "vote_spans",
    "weighted_median",
]
