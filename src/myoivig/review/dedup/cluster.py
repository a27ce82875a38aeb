"""Blocking, pair scoring and duplicate clusters; merges are events, so each can be undone.

A cluster is a set of records judged to be the same publication. Clusters are kept (not deleted):
PRISMA counts 'duplicates removed' from them, and reversing a merge restores the members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from myoivig.review.dedup.compare import DedupSettings, Fingerprint, PairScore, compare
from myoivig.review.dedup.normalise import title_blocking_keys
from myoivig.review.records import BibRecord


def blocking_keys(fp: Fingerprint) -> list[str]:
    """Cheap keys; only records sharing a key are compared (keeps dedup near-linear)."""
    keys: list[str] = []
    if fp.doi:
        keys.append(f"doi:{fp.doi}")
    if fp.pmid:
        keys.append(f"pmid:{fp.pmid}")
    title_keys = title_blocking_keys(fp.title)
    if fp.cjk_title and fp.year is not None:
        # Chinese titles in one topic share long stems; the year keeps those blocks small.
        title_keys = [f"{k}:{fp.year}" for k in title_keys]
    keys.extend(title_keys)
    if fp.authors and fp.year is not None:
        keys.append(f"au:{fp.authors[0]}:{fp.year}")  # surname + initial + year
    if fp.first_page and fp.year is not None:
        keys.append(f"pg:{fp.year}:{fp.first_page}")
    if fp.first_page and fp.volume:
        keys.append(f"vp:{fp.volume}:{fp.first_page}")
    return keys


def candidate_pairs(
    fps: list[Fingerprint], settings: DedupSettings
) -> tuple[set[tuple[int, int]], dict[str, int]]:
    """Pairs sharing a blocking key, and the blocks skipped as too large (key -> size).

    Skipped blocks are returned so the caller can report them: records that share only such an
    unspecific key (e.g. a very common surname and year) are never compared.
    """
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, fp in enumerate(fps):
        for key in blocking_keys(fp):
            blocks[key].append(i)
    pairs: set[tuple[int, int]] = set()
    skipped: dict[str, int] = {}
    for key, members in blocks.items():
        if len(members) > settings.max_block:
            skipped[key] = len(members)
            continue
        if len(members) < 2:
            continue
        for pos, i in enumerate(members):
            for j in members[pos + 1 :]:
                pairs.add((i, j) if i < j else (j, i))
    return pairs, skipped


@dataclass
class DuplicateCluster:
    cluster_id: str
    record_ids: list[str]
    confidence: float  # weakest auto-merge edge that joined the cluster
    rules: list[str]


@dataclass
class DedupResult:
    clusters: list[DuplicateCluster]  # auto-merge candidates (>= auto_merge), size >= 2
    queue: list[PairScore]  # pairs for a person (review <= confidence < auto_merge)
    pairs_compared: int
    settings: DedupSettings = field(default_factory=DedupSettings)
    skipped_blocks: dict[str, int] = field(default_factory=dict)  # too-large blocks: key -> size


class _UnionFind:
    """Union-find that also tracks each group's DOIs and PMIDs, so a chain of merges can never
    put two different identifiers in one cluster (A=DOI x ~ B=no DOI ~ C=DOI y)."""

    def __init__(self, fps: list[Fingerprint]) -> None:
        self.parent = list(range(len(fps)))
        self.dois: list[set[str]] = [{fp.doi} if fp.doi else set() for fp in fps]
        self.pmids: list[set[str]] = [{fp.pmid} if fp.pmid else set() for fp in fps]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def conflict(self, i: int, j: int) -> str | None:
        """Why joining the groups of i and j is vetoed (two DOIs or two PMIDs), or None."""
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return None
        if len(self.dois[ri] | self.dois[rj]) > 1:
            return "DOI conflict in cluster"
        if len(self.pmids[ri] | self.pmids[rj]) > 1:
            return "PMID conflict in cluster"
        return None

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            low, high = min(ri, rj), max(ri, rj)
            self.parent[high] = low
            self.dois[low] |= self.dois[high]
            self.pmids[low] |= self.pmids[high]


def find_duplicates(records: list[BibRecord], settings: DedupSettings | None = None) -> DedupResult:
    """Score candidate pairs; cluster those above the auto-merge threshold, queue the doubtful.

    Strong edges join clusters strongest first; an edge whose clusters already hold different
    DOIs or PMIDs is not merged but queued for a person (identifier conflict is a veto, also
    when it only appears through a chain of records).
    """
    settings = settings or DedupSettings()
    fps = [Fingerprint.of(r) for r in records]
    pairs, skipped = candidate_pairs(fps, settings)
    uf = _UnionFind(fps)
    candidates: list[tuple[int, int, PairScore]] = []
    doubtful: list[tuple[int, int, PairScore]] = []
    for i, j in sorted(pairs):
        result = compare(fps[i], fps[j], settings)
        if result.confidence >= settings.auto_merge:
            candidates.append((i, j, result))
        elif result.confidence >= settings.review:
            doubtful.append((i, j, result))
    strong: list[tuple[int, int, PairScore]] = []
    vetoed: list[tuple[int, int, PairScore]] = []
    for i, j, result in sorted(candidates, key=lambda t: (-t[2].confidence, t[0], t[1])):
        reason = uf.conflict(i, j)
        if reason is None:
            uf.union(i, j)
            strong.append((i, j, result))
        elif uf.find(i) != uf.find(j):
            evidence = {**result.evidence, "veto": reason}
            vetoed.append(
                (
                    i,
                    j,
                    replace(
                        result, rule=f"{result.rule} ({reason}: ask a person)", evidence=evidence
                    ),
                )
            )
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(fps)):
        groups[uf.find(i)].append(i)
    edge_conf: dict[int, list[PairScore]] = defaultdict(list)
    for i, _j, result in strong:
        edge_conf[uf.find(i)].append(result)
    clusters = []
    for root, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        edges = edge_conf[root]
        ids = [fps[m].record_id for m in members]
        clusters.append(
            DuplicateCluster(
                cluster_id=f"dup:{ids[0]}",
                record_ids=ids,
                confidence=min(e.confidence for e in edges),
                rules=sorted({e.rule for e in edges}),
            )
        )
    queue = [r for i, j, r in [*vetoed, *doubtful] if uf.find(i) != uf.find(j)]
    return DedupResult(
        clusters=clusters,
        queue=queue,
        pairs_compared=len(pairs),
        settings=settings,
        skipped_blocks=skipped,
    )
