"""Building patient pages ahead of their readers (the warm-up).

A patient page is kept under a key that includes the day (the next-course plan depends on it),
so every page needs building again after midnight, after an upgrade (`code_fingerprint`) and
after a change of protocol settings; and a page nobody has opened yet has never been built. The
warm-up builds, for every patient and every role that has an active account able to read
patients, the page that is not kept yet (and the API's document of the patient), and warms
the patient list's responder column, so that readers find them ready (`web.patient_page`).
A page that is current is left alone, so two server workers sweeping at once mostly skip what
the other has just built.

`PageWarmer` runs the sweep in a background thread of each server process after start-up and
again whenever the day, the settings or the code change; `warm_pages` is the sweep itself
(also called by benchmarks and tests). Correctness never depends on it: a page that is not
ready is built by its first reader.
"""

from __future__ import annotations

import gc
import logging
import random
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from myoivig.accounts.roles import PSEUDONYMISED, READS_PATIENTS, Role
from myoivig.accounts.tables import UserRow
from myoivig.clinic.derived_cache import DOSSIERS, STORED_DIGESTS
from myoivig.clinic.list_filters import trial_responders
from myoivig.clinic.service import Viewer, pseudonym
from myoivig.protocol.settings_file import SettingsFileError, load_settings
from myoivig.store import Store
from myoivig.store.tables import PatientRow
from myoivig.web.patient_page import code_fingerprint, patient_document, patient_page

log = logging.getLogger(__name__)
RECHECK_S = 60.0
"""How often the background warmer looks whether the day, the settings or the code changed."""


@dataclass(frozen=True)
class WarmUp:
    patients: int
    roles: tuple[Role, ...]
    built: int
    current: int
    seconds: float

    def line(self) -> str:
        roles = ", ".join(r.value for r in self.roles) or "none"
        return (
            f"patient pages ready: {self.patients} patients x roles ({roles}), with their API "
            f"documents: {self.built} built, {self.current} already current, "
            f"{self.seconds:.1f} s"
        )


def reader_roles(store: Store) -> tuple[Role, ...]:
    """The roles of the active accounts that read patient pages (pages for roles nobody holds
    are built when first asked for)."""
    with store.session() as session:
        held = set(session.scalars(select(UserRow.role).where(UserRow.active.is_(True))))
    return tuple(sorted((r for r in READS_PATIENTS if r.value in held), key=lambda r: r.value))


def warm_pages(
    store: Store,
    pseudonym_key: bytes,
    roles: tuple[Role, ...] | None = None,
    today: date | None = None,
    stop: threading.Event | None = None,
    seed: int | None = None,
) -> WarmUp:
    """Build every patient page that is not kept yet for `roles` (default: `reader_roles`), in
    a random order (`seed`), and the patient list's responder column. Stops early when `stop`
    is set."""
    started = time.monotonic()
    roles = reader_roles(store) if roles is None else roles
    with store.session() as session:
        patients = list(session.execute(select(PatientRow.id, PatientRow.code)))
        trial_responders(session, [pid for pid, _ in patients])
    codes = [code for _, code in patients]
    random.Random(seed).shuffle(codes)
    # the API's document (one per pseudonymised or not) with the first role of each kind
    documented: dict[bool, Role] = {}
    for role in roles:
        documented.setdefault(role in PSEUDONYMISED, role)
    outcomes: list[bool] = []  # one per page or document looked at: built here or not

    def result() -> WarmUp:
        built = sum(outcomes)
        return WarmUp(len(codes), roles, built, len(outcomes) - built, time.monotonic() - started)

    for code in codes:
        for role in roles:
            if stop is not None and stop.is_set():
                return result()
            viewer = Viewer(
                name="page-warm-up",
                all_sites=True,
                pseudonymised=role in PSEUDONYMISED,
                pseudonym_key=pseudonym_key,
            )
            seen_as = pseudonym(code, pseudonym_key) if viewer.pseudonymised else code
            with store.session() as session:
                outcomes.append(patient_page(store, session, viewer, role, seen_as, today).built)
                if role is documented[viewer.pseudonymised]:
                    outcomes.append(patient_document(store, session, viewer, seen_as)[1])
    return result()


def settle_memory() -> None:
    """After a sweep: drop the dossiers it read (the pages and documents are kept; a dossier
    is read again when a page has to be rebuilt), then move what is left out of the garbage
    collector's reach (`gc.freeze`). The collector's full passes over the hundreds of
    thousands of objects a sweep leaves took a few hundred milliseconds each, and every request
    that came meanwhile waited (seen as the tail of the API list under load)."""
    DOSSIERS.clear()
    STORED_DIGESTS.clear()
    gc.collect()
    gc.freeze()


class PageWarmer:
    """The warm-up in a background thread: once after start-up, then whenever the day, the
    protocol settings or the code change. Failures are reported and retried at the next
    check; the pages are then built by their readers."""

    def __init__(self, store: Store, pseudonym_key: bytes) -> None:
        self._store = store
        self._key = pseudonym_key
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="page-warmer", daemon=True)
        self.done = threading.Event()
        """Set after each complete sweep (tests wait on it)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        swept: tuple[str, str, str] | None = None
        while not self._stop.is_set():
            try:
                settings = load_settings().model_dump_json()
            except SettingsFileError as error:
                print(f"myoivig: patient pages not built ahead: {error}", file=sys.stderr)
                self._stop.wait(RECHECK_S)
                continue
            wanted = (date.today().isoformat(), settings, code_fingerprint())
            if wanted != swept:
                try:
                    result = warm_pages(self._store, self._key, stop=self._stop)
                except Exception as error:  # a thread's boundary: say it, retry at the next check
                    print(f"myoivig: patient pages not built ahead: {error}", file=sys.stderr)
                else:
                    if not self._stop.is_set():
                        swept = wanted
                        settle_memory()
                        print(f"myoivig: {result.line()}", file=sys.stderr, flush=True)
                        self.done.set()
            self._stop.wait(RECHECK_S)
