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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, Text, cast, insert, select, update
from sqlalchemy.orm import Session

from myoivig.store import json_text
from myoivig.store.tables import AuditChainHeadRow, AuditRow

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""
HEAD_ID = 1
_HEAD: Table = AuditChainHeadRow.__table__  # type: ignore[assignment]
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

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit chain OK: {self.entries} entries verified (head: position "
                f"{self.entries}, hash {self.head_hash}; keep both to check later with --anchor)"
            )
        return f"audit chain BROKEN: {self.problem}"


def _positions(first: int, last: int) -> str:
    return f"position {first}" if first == last else f"positions {first}-{last}"


def verify_chain(session: Session, anchors: Mapping[int, str] | None = None) -> ChainCheck:
    """Recompute every link, oldest first, and report the first edited, inserted or deleted
    entry (by id and chain position); reads the entries in batches.

    `anchors` maps chain positions to hashes kept outside the database (an earlier `audit
    verify`'s head): a history rewritten with recomputed hashes no longer matches them."""
    anchors = dict(anchors or {})
    head = session.execute(
        select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == HEAD_ID)
    ).one_or_none()
    if head is None:
        return ChainCheck(0, GENESIS, "the chain head (table audit_chain_head) was deleted")
    head_seq, head_hash = int(head[0]), str(head[1])
    fields = [getattr(AuditRow, name) for name in _FIELDS[:-1]]
    rows = session.execute(
        select(
            AuditRow.id,
            AuditRow.chain_seq,
            AuditRow.prev_hash,
            AuditRow.entry_hash,
            *fields,
            stored_changes(AuditRow.changes),
        ).order_by(AuditRow.chain_seq, AuditRow.id),
        execution_options={"yield_per": 2000},
    )
    count, seq, prev, prev_id = 0, 0, GENESIS, None

    def broken(problem: str, entry_id: int | None) -> ChainCheck:
        rows.close()
        return ChainCheck(count, head_hash, problem, entry_id)

    for row in rows.tuples():
        entry_id, position, row_prev, row_hash = int(row[0]), int(row[1]), row[2], row[3]
        values = dict(zip(_FIELDS, row[4:], strict=True))
        if position > head_seq:
            return broken(
                f"entry {entry_id} at chain position {position} lies beyond the chain head "
                f"(position {head_seq}): it was inserted outside the application",
                entry_id,
            )
        if position <= seq:
            return broken(
                f"entry {entry_id} repeats chain position {position} of entry {prev_id}: "
                "one of them was inserted outside the application",
                entry_id,
            )
        if position > seq + 1:
            return broken(
                f"the entries at chain {_positions(seq + 1, position - 1)} are missing before "
                f"entry {entry_id}: deleted",
                entry_id,
            )
        if row_prev != prev:
            after = f"entry {prev_id}" if prev_id is not None else "the start of the chain"
            return broken(
                f"entry {entry_id} (position {position}) does not link to {after}: an entry "
                "was inserted or replaced, or a hash was rewritten",
                entry_id,
            )
        if entry_hash(position, prev, values) != row_hash:
            return broken(
                f"entry {entry_id} (position {position}, {values['action']} on "
                f"{values['table_name']} record {values['record_id']}) was edited: its content "
                "no longer matches its hash",
                entry_id,
            )
        kept = anchors.pop(position, None)
        if kept is not None and kept != row_hash:
            return broken(
                f"entry {entry_id} at chain position {position} has hash {row_hash}, but the "
                f"hash kept for that position is {kept}: the history up to it was rewritten",
                entry_id,
            )
        count, seq, prev, prev_id = count + 1, position, row_hash, entry_id
    if anchors:
        position = min(anchors)
        return ChainCheck(
            count,
            head_hash,
            f"no entry holds chain position {position}, for which a hash was kept: the entries "
            "up to it were deleted",
            None,
        )
    if seq < head_seq:
        return ChainCheck(
            count,
            head_hash,
            f"the newest entries, at chain {_positions(seq + 1, head_seq)}, are missing: deleted",
            None,
        )
    if prev != head_hash:
        return ChainCheck(
            count,
            head_hash,
            f"the chain head does not match the newest entry {prev_id}: the head or that "
            "entry's hash was rewritten",
            prev_id,
        )
    return ChainCheck(count, head_hash)
