"""Deduplication: normalise, block, compare field by field, cluster, merge reversibly."""

from myoivig.review.dedup.cluster import DedupResult, DuplicateCluster, find_duplicates
from myoivig.review.dedup.compare import DedupSettings, PairScore
from myoivig.review.dedup.merges import MergedView, MergeEvent, auto_merge_events, replay, unmerge

__all__ = [
    "DedupResult",
    "DedupSettings",
    "DuplicateCluster",
    "MergeEvent",
    "MergedView",
    "PairScore",
    "auto_merge_events",
    "find_duplicates",
    "replay",
    "unmerge",
]
