"""Views derived from a dossier (criteria panel, next-course plan, advice), kept per process.

Computing them takes tens of milliseconds per view at 20 visits (a paired t test per visit, a
full course plan); a patient page showed them on every view. They are pure functions of the
dossier (and the settings and the day, which callers put in the key), so they are kept under
the SHA-256 of the dossier's full JSON content: any write to the record — through the pages,
the API, the CLI, an import, in this process or another worker — changes the content and so
the key, and the view is computed again. Nothing has to be invalidated, and a stale view cannot
be served. Anything read from the store besides the dossier (recorded overrides and approvals
of a plan) is not cached here. Entries are read-only: callers must not change what they get.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from myoivig.domain.records import PatientDossier

T = TypeVar("T")
MAX_ENTRIES = 2048  # about two views for each of 1,000 patients; a few hundred kB each at most


def dossier_digest(dossier: PatientDossier) -> str:
    """SHA-256 of everything in the dossier (a few milliseconds at 20 visits; a patient page
    needs it twice). A stored dossier's digest, taken once when it was read
    (`remember_stored`), is reused; any other dossier is hashed each time, since its owner may
    still change it."""
    known = STORED_DIGESTS.digest_of(dossier)
    return known if known is not None else _hash(dossier)


def _hash(dossier: PatientDossier) -> str:
    return hashlib.sha256(dossier.model_dump_json().encode("utf-8")).hexdigest()


class StoredDigests:
    """Digests of the read-only stored dossiers the process keeps (`DOSSIERS`), by object
    identity. Each entry holds its dossier, so an id cannot be reused by another object while
    its entry lives; bounded like `DOSSIERS`."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[int, tuple[PatientDossier, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def remember(self, dossier: PatientDossier) -> PatientDossier:
        """Hash a dossier just read from the store, which nobody changes afterwards."""
        digest = _hash(dossier)
        with self._lock:
            self._entries[id(dossier)] = (dossier, digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return dossier

    def digest_of(self, dossier: PatientDossier) -> str | None:
        with self._lock:
            found = self._entries.get(id(dossier))
            if found is None or found[0] is not dossier:
                return None
            self._entries.move_to_end(id(dossier))
            return found[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class DerivedViews:
    """A bounded least-recently-used map from (kind, content key ...) to a computed view."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """The view kept under `key`, computed (outside the lock) when missing."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                found: T = self._entries[key]
                return found
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


DERIVED = DerivedViews()
"""The process's cache of derived patient views (one per server worker)."""
DOSSIERS = DerivedViews(max_entries=1024)
STORED_DIGESTS = StoredDigests(max_entries=1024)
"""Stored dossiers by patient and record version (`clinic.service.stored_dossier`); about half a
megabyte each at 20 visits, so at most about 500 MB per server process."""
