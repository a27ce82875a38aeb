"""The tamper-evident audit trail: every audit entry is a link of a SHA-256 hash chain.

An entry's hash covers its fields (position, time, actor, action, table, record, version,
changes) in one canonical JSON form plus the hash of the entry before it. Editing an entry
changes its hash; deleting one leaves a gap in the positions and a broken link; an entry
inserted by hand has no valid place in the chain. The chain head (`audit_chain_head`) holds the
newest position and hash, so deleting the newest entries shows too.

Appends are serialised: the writer locks the head row before its first write of a flush
(`lock_head`, SELECT ... FOR UPDATE on PostgreSQL; SQLite allows one writer anyway), so the
head is always the first lock a writing transaction takes and two writers cannot deadlock on
it. The chain is generic over the audit table: any audited table's entries join it.

What it does not do: someone with write access to the database who recomputes every hash from
the point of an edit onwards, and rewrites the head, is not detected by the chain alone; compare
the head hash `audit verify` prints with a copy kept elsewhere (docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, Text, cast, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from myoivig.store import json_text
from myoivig.store.tables import AuditChainHeadRow, AuditCheckpointRow, AuditRow

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""
HEAD_ID = 1
_HEAD: Table = AuditChainHeadRow.__table__  # type: ignore[assignment]
_CHECKPOINT: Table = AuditCheckpointRow.__table__  # type: ignore[assignment]
PAGE_WINDOW = 2000
"""Older entries the audit pages re-verify on each view (the rolling window): with about
30 us per entry a view costs a few tens of milliseconds more, and an edit of an old entry is
found within ceil(checkpoint / PAGE_WINDOW) views."""
_FIELDS = (
    "occurred_at",
    "actor",
    "action",
    "table_name",
    "record_id",
    "record_version",
    "changes",
)


class AuditChainError(RuntimeError):
    """The chain head is missing: the audit trail cannot be appended to."""


def utc_instant(value: datetime) -> datetime:
    """The instant in UTC; naive values (SQLite hands them back) are read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def entry_hash(seq: int, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of one entry's canonical form: sorted-key compact JSON of its fields, the
    time as UTC with microseconds, `changes` as the exact JSON text stored in the database, its
    chain position and the previous entry's hash."""
    canonical = {
        "seq": seq,
        "prev": prev_hash,
        "occurred_at": utc_instant(fields["occurred_at"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": fields["actor"],
        "action": fields["action"],
        "table_name": fields["table_name"],
        "record_id": fields["record_id"],
        "record_version": fields["record_version"],
        "changes": str(fields["changes"]),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_changes(column: Any) -> Any:
    """The `changes` column as the JSON text the database holds (not parsed): what is hashed.

    PostgreSQL's `json` type keeps its input text exactly; SQLite stores it as TEXT."""
    return cast(column, Text)


def lock_head(connection: Connection) -> tuple[int, str]:
    """Lock the chain head for this transaction and return (newest position, newest hash)."""
    row = connection.execute(
        select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if row is None:
        raise AuditChainError(
            "the audit chain head (table audit_chain_head) is missing, so no change can be "
            "audited; run `myoivig audit verify` and restore the database from a backup"
        )
    return int(row[0]), str(row[1])


def lock_for_writing(session: Session) -> None:
    """Take the chain lock now, before any row lock, for code that locks rows itself."""
    lock_head(session.connection())


def chained(start: tuple[int, str], entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The entries as rows to insert, each with its position, previous hash and own hash.

    `changes` is serialised once here and stored as that very text (`JsonText` passes through
    the store's JSON serialiser), so the hash covers exactly what the database holds.
    """
    seq, prev = start
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        row = {name: entry[name] for name in _FIELDS}
        row["occurred_at"] = utc_instant(entry["occurred_at"])
        row["changes"] = json_text.JsonText(json_text.dumps(entry["changes"]))
        digest = entry_hash(seq, prev, row)
        rows.append(row | {"chain_seq": seq, "prev_hash": prev, "entry_hash": digest})
        prev = digest
    return rows


def append(connection: Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    """Write audit entries as the next links of the chain, in the caller's transaction."""
    if not entries:
        return
    rows = chained(lock_head(connection), entries)
    connection.execute(insert(AuditRow), rows)
    last = rows[-1]
    connection.execute(
        update(_HEAD)
        .where(_HEAD.c.id == HEAD_ID)
        .values(seq=last["chain_seq"], entry_hash=last["entry_hash"])
    )


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking the whole chain: how many entries, and the first problem."""

    entries: int
    head_hash: str
    problem: str | None = None
    entry_id: int | None = None
    checkpoint: int | None = None
    """Incremental check (the audit pages): the position verified before, from which on every
    entry was verified now; None for a whole-chain check."""
    window: tuple[int, int] | None = None
    """Incremental check: the older positions re-verified now (the rolling window)."""
    sweep: int = 0
    """Incremental check: views it takes the rolling window to cover every older entry."""

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def whole(self) -> bool:
        """Whether every entry was verified by this check (the window may cover them all)."""
        return self.checkpoint is None or self.window == (1, self.checkpoint)

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit chain OK: {self.entries} entries verified (head: position "
                f"{self.entries}, hash {self.head_hash}; keep both to check later with --anchor)"
            )
        return f"audit chain BROKEN: {self.problem}"


def _positions(first: int, last: int) -> str:
    return f"position {first}" if first == last else f"positions {first}-{last}"


def _entry_rows(session: Session, *conditions: Any) -> Any:
    """The entries (id, position, prev hash, hash, fields, changes text) in chain order."""
    fields = [getattr(AuditRow, name) for name in _FIELDS[:-1]]
    return session.execute(
        select(
            AuditRow.id,
            AuditRow.chain_seq,
            AuditRow.prev_hash,
            AuditRow.entry_hash,
            *fields,
            stored_changes(AuditRow.changes),
        )
        .where(*conditions)
        .order_by(AuditRow.chain_seq, AuditRow.id),
        execution_options={"yield_per": 2000},
    )


@dataclass
class _Walk:
    """Walking the chain from a known link: what was checked, and the first problem."""

    seq: int  # position of the last good link
    prev: str  # its hash
    prev_id: int | None = None
    count: int = 0
    problem: str | None = None
    entry_id: int | None = None

    def fail(self, problem: str, entry_id: int | None) -> _Walk:
        self.problem, self.entry_id = problem, entry_id
        return self


def _walk(rows: Any, walk: _Walk, last: int, anchors: dict[int, str] | None = None) -> _Walk:
    """Check each row links to the one before and matches its hash, positions without gaps,
    none beyond `last` (the chain head's position); stops at the first problem."""
    try:
        for row in rows.tuples():
            entry_id, position, row_prev, row_hash = int(row[0]), int(row[1]), row[2], row[3]
            values = dict(zip(_FIELDS, row[4:], strict=True))
            if position > last:
                return walk.fail(
                    f"entry {entry_id} at chain position {position} lies beyond the chain head "
                    f"(position {last}): it was inserted outside the application",
                    entry_id,
                )
            if position <= walk.seq:
                return walk.fail(
                    f"entry {entry_id} repeats chain position {position} of entry "
                    f"{walk.prev_id}: one of them was inserted outside the application",
                    entry_id,
                )
            if position > walk.seq + 1:
                return walk.fail(
                    f"the entries at chain {_positions(walk.seq + 1, position - 1)} are missing "
                    f"before entry {entry_id}: deleted",
                    entry_id,
                )
            if row_prev != walk.prev:
                after = (
                    f"entry {walk.prev_id}"
                    if walk.prev_id is not None
                    else "the start of the chain"
                    if walk.seq == 0
                    else f"the entry at position {walk.seq}"
                )
                return walk.fail(
                    f"entry {entry_id} (position {position}) does not link to {after}: an "
                    "entry was inserted or replaced, or a hash was rewritten",
                    entry_id,
                )
            if entry_hash(position, walk.prev, values) != row_hash:
                return walk.fail(_edited(entry_id, position, values), entry_id)
            kept = anchors.pop(position, None) if anchors is not None else None
            if kept is not None and kept != row_hash:
                return walk.fail(
                    f"entry {entry_id} at chain position {position} has hash {row_hash}, but "
                    f"the hash kept for that position is {kept}: the history up to it was "
                    "rewritten",
                    entry_id,
                )
            walk.count += 1
            walk.seq, walk.prev, walk.prev_id = position, row_hash, entry_id
        return walk
    finally:
        rows.close()


def _edited(entry_id: int, position: int, values: Mapping[str, Any]) -> str:
    return (
        f"entry {entry_id} (position {position}, {values['action']} on {values['table_name']} "
        f"record {values['record_id']}) was edited: its content no longer matches its hash"
    )


def _read_head(session: Session) -> tuple[int, str] | None:
    head = session.execute(
        select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == HEAD_ID)
    ).one_or_none()
    return None if head is None else (int(head[0]), str(head[1]))


def _head_matches(walk: _Walk, head_seq: int, head_hash: str) -> str | None:
    """The newest entries missing, or a head that does not match the newest entry."""
    if walk.seq < head_seq:
        return (
            f"the newest entries, at chain {_positions(walk.seq + 1, head_seq)}, are missing: "
            "deleted"
        )
    if walk.prev != head_hash:
        return (
            f"the chain head does not match the newest entry {walk.prev_id}: the head or that "
            "entry's hash was rewritten"
        )
    return None


def _beyond_head(session: Session, head_seq: int) -> tuple[str, int] | None:
    """An entry at a position after the head `head_seq` read before, that no writer committed
    since: it was inserted outside the application.

    The entries are read up to the head only, and this is asked afterwards, because a writer
    may commit between the two reads (at READ COMMITTED, or SQLite without a read
    transaction): its entries and the head move in one transaction, so an entry beyond the head
    read first is legitimate exactly when the head, read again now, reaches it."""
    row = session.execute(
        select(AuditRow.id, AuditRow.chain_seq)
        .where(AuditRow.chain_seq > head_seq)
        .order_by(AuditRow.chain_seq)
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    entry_id, position = int(row[0]), int(row[1])
    now = _read_head(session)
    if now is not None and now[0] >= position:
        return None
    shown = now[0] if now is not None else head_seq
    return (
        f"entry {entry_id} at chain position {position} lies beyond the chain head (position "
        f"{shown}): it was inserted outside the application",
        entry_id,
    )


def verify_chain(session: Session, anchors: Mapping[int, str] | None = None) -> ChainCheck:
    """Recompute every link, oldest first, and report the first edited, inserted or deleted
    entry (by id and chain position); reads the entries in batches.

    `anchors` maps chain positions to hashes kept outside the database (an earlier `audit
    verify`'s head): a history rewritten with recomputed hashes no longer matches them."""
    kept = dict(anchors or {})
    head = _read_head(session)
    if head is None:
        return ChainCheck(0, GENESIS, "the chain head (table audit_chain_head) was deleted")
    head_seq, head_hash = head
    walk = _walk(
        _entry_rows(session, AuditRow.chain_seq <= head_seq), _Walk(0, GENESIS), head_seq, kept
    )
    if walk.problem is not None:
        return ChainCheck(walk.count, head_hash, walk.problem, walk.entry_id)
    beyond = _beyond_head(session, head_seq)
    if beyond is not None:
        return ChainCheck(walk.count, head_hash, *beyond)
    if kept:
        position = min(kept)
        return ChainCheck(
            walk.count,
            head_hash,
            f"no entry holds chain position {position}, for which a hash was kept: the entries "
            "up to it were deleted",
            None,
        )
    problem = _head_matches(walk, head_seq, head_hash)
    if problem is not None:
        entry = walk.prev_id if problem.startswith("the chain head") else None
        return ChainCheck(walk.count, head_hash, problem, entry)
    return ChainCheck(walk.count, head_hash)


# --- the audit pages: verify what is new since the last view, and a rolling window ----------


@dataclass(frozen=True)
class Checkpoint:
    """What an audit page view verified: the chain up to `seq` (hash `entry_hash`), and where
    the next view's re-check of older entries starts."""

    seq: int
    entry_hash: str
    window_start: int
    verified_at: datetime | None = None


def read_checkpoint(session: Session) -> Checkpoint | None:
    row = session.execute(
        select(
            _CHECKPOINT.c.seq,
            _CHECKPOINT.c.entry_hash,
            _CHECKPOINT.c.window_start,
            _CHECKPOINT.c.verified_at,
        ).where(_CHECKPOINT.c.id == HEAD_ID)
    ).one_or_none()
    if row is None:
        return None
    return Checkpoint(int(row[0]), str(row[1]), int(row[2]), row[3])


def save_checkpoint(session: Session, checkpoint: Checkpoint) -> bool:
    """Record a verified checkpoint in a short transaction of its own (the page's session only
    reads). Best effort: when it cannot be written (a busy or unreachable database) the next
    view verifies from the older checkpoint, which is only slower. A checkpoint never moves
    back: of two views at once, the one that verified further wins."""
    values = {
        "seq": checkpoint.seq,
        "entry_hash": checkpoint.entry_hash,
        "window_start": checkpoint.window_start,
        "verified_at": datetime.now(UTC),
    }
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with suppress(DBAPIError), engine.begin() as connection:
        moved = connection.execute(
            update(_CHECKPOINT)
            .where(_CHECKPOINT.c.id == HEAD_ID, _CHECKPOINT.c.seq <= checkpoint.seq)
            .values(**values)
        ).rowcount
        if (
            not moved
            and connection.execute(select(func.count()).select_from(_CHECKPOINT)).scalar() == 0
        ):
            connection.execute(insert(_CHECKPOINT).values(id=HEAD_ID, **values))
        return True
    return False


def verify_for_page(session: Session, window: int = PAGE_WINDOW) -> ChainCheck:
    """The audit pages' check: incremental, so a view does not cost the whole trail.

    The first view (no checkpoint yet) verifies the whole chain. Later views verify, from the
    checkpoint the previous view recorded: that the entry there still has the hash verified
    then; every entry after it (edits, gaps, insertions, rewritten hashes) up to the head and
    the head itself; that exactly as many entries as before hold the positions up to the
    checkpoint (a deletion among them shows); and a rolling window of `window` older entries,
    resuming where the previous view stopped, so an edit of an old entry is found within
    ceil(checkpoint / window) views. `myoivig audit verify` always checks everything.

    A writer committing while the check reads is not tampering: the entries are read up to
    the head read first, and an entry beyond it counts only if the head still does not reach it
    afterwards (`_beyond_head`).
    """
    check, verified = _page_check(session, window)
    if check.ok and verified is not None:
        save_checkpoint(session, verified)
    return check


_PageResult = tuple[ChainCheck, Checkpoint | None]


def _page_check(session: Session, window: int) -> _PageResult:
    """One incremental check, and the checkpoint to record if it passed (None: unchanged)."""
    head = _read_head(session)
    if head is None:
        gone = ChainCheck(0, GENESIS, "the chain head (table audit_chain_head) was deleted")
        return gone, None
    head_seq, head_hash = head
    kept = read_checkpoint(session)
    if kept is None or kept.seq == 0:
        whole = verify_chain(session)
        # the check reports the head it read (a writer may have moved it since `head`)
        return whole, Checkpoint(whole.entries, whole.head_hash, 1) if whole.ok else None

    def broken(problem: str, entry_id: int | None = None) -> _PageResult:
        return ChainCheck(head_seq, head_hash, problem, entry_id, checkpoint=kept.seq), None

    when = (
        f" when last verified ({kept.verified_at:%Y-%m-%d %H:%M} UTC)" if kept.verified_at else ""
    )
    if kept.seq > head_seq:
        return broken(
            f"the chain head (position {head_seq}) is behind the position verified{when}, "
            f"{kept.seq}: the newest entries were deleted and the head rewritten"
        )
    older = int(session.scalar(select(func.count()).where(AuditRow.chain_seq <= kept.seq)) or 0)
    if older != kept.seq:
        return broken(
            f"{older} entries hold the chain positions up to {kept.seq}, which held exactly "
            f"{kept.seq}{when}: entries were {'deleted' if older < kept.seq else 'inserted'} "
            "among the older entries"
        )
    # the checkpoint entry itself, then everything after it
    anchor_rows = _entry_rows(session, AuditRow.chain_seq == kept.seq)
    anchor = anchor_rows.tuples().first()
    if anchor is None:
        return broken(
            f"the entry at chain position {kept.seq}, verified{when}, is missing: deleted"
        )
    anchor_id, anchor_prev, anchor_hash = int(anchor[0]), anchor[2], anchor[3]
    values = dict(zip(_FIELDS, anchor[4:], strict=True))
    if anchor_hash != kept.entry_hash:
        return broken(
            f"entry {anchor_id} at chain position {kept.seq} has hash {anchor_hash}, but the "
            f"hash verified there{when} is {kept.entry_hash}: the history up to it was rewritten",
            anchor_id,
        )
    if entry_hash(kept.seq, anchor_prev, values) != anchor_hash:
        return broken(_edited(anchor_id, kept.seq, values), anchor_id)
    recent = _walk(
        _entry_rows(session, AuditRow.chain_seq > kept.seq, AuditRow.chain_seq <= head_seq),
        _Walk(kept.seq, kept.entry_hash, anchor_id),
        head_seq,
    )
    if recent.problem is not None:
        return broken(recent.problem, recent.entry_id)
    beyond = _beyond_head(session, head_seq)
    if beyond is not None:
        return broken(*beyond)
    problem = _head_matches(recent, head_seq, head_hash)
    if problem is not None:
        return broken(problem, recent.prev_id if problem.startswith("the chain head") else None)
    # the rolling window of older entries
    first = kept.window_start if 1 <= kept.window_start <= kept.seq else 1
    last = min(first + window - 1, kept.seq)
    start = _Walk(0, GENESIS)
    if first > 1:
        before = session.execute(
            select(AuditRow.id, AuditRow.entry_hash).where(AuditRow.chain_seq == first - 1)
        ).one_or_none()
        if before is None:
            return broken(f"the entry at chain position {first - 1} is missing: deleted")
        start = _Walk(first - 1, str(before[1]), int(before[0]))
    older_walk = _walk(
        _entry_rows(session, AuditRow.chain_seq >= first, AuditRow.chain_seq <= last),
        start,
        last,
    )
    if older_walk.problem is not None:
        return broken(older_walk.problem, older_walk.entry_id)
    if older_walk.seq < last:
        return broken(
            f"the entries at chain {_positions(older_walk.seq + 1, last)} are missing: deleted"
        )
    following = last + 1 if last < kept.seq else 1
    check = ChainCheck(
        head_seq,
        head_hash,
        checkpoint=kept.seq,
        window=(first, last),
        sweep=max(1, math.ceil(kept.seq / window)),
    )
    if (head_seq, head_hash, following) == (kept.seq, kept.entry_hash, kept.window_start):
        return check, None  # nothing new and the window stays: no need to write
    return check, Checkpoint(head_seq, head_hash, following)
