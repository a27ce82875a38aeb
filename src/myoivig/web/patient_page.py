"""The patient page's body and the API's patient document, built once and kept (in this
process and in the database).

Building the body at 20 visits costs tens of milliseconds of CPU (dossier, criteria panel,
next-course plan, HTML) and it is the same for every reader of one role until the record, the
day, the protocol settings or the code changes. `page_key` names all of those; the body is kept
under it in this process (`PAGES`) and in the table `page_snapshots` (every worker and process
reads what another built). A write to the record changes `record_version` and so the key: the
next reader builds the page again. What differs per request (who is signed in, the CSRF token,
the menu) is in the layout around the body, rendered on every request.

The warm-up (`web.page_warming`) builds the pages ahead of readers, after start-up and at the
turn of the day; a page that is not kept yet is built on demand by its first reader.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import myoivig
from myoivig.accounts.roles import PLANS_DOSES, Role
from myoivig.clinic.derived_cache import DerivedViews
from myoivig.clinic.overview import ABBREVIATIONS
from myoivig.clinic.recording import edit_keys
from myoivig.clinic.service import Viewer, patient_views, shown, stored_dossier, visible_code
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.service import next_course
from myoivig.protocol.settings import ProtocolSettings
from myoivig.protocol.settings_file import load_settings
from myoivig.store import Store
from myoivig.store.page_snapshots import keep_snapshot, pack, read_snapshot, unpack
from myoivig.store.repository import RecordNotFoundError, record_version
from myoivig.web.templating import templates

log = logging.getLogger(__name__)

PAGES = DerivedViews(max_entries=4096)
"""Packed page bodies and API documents by (patient code, variant, key), per process: about
10-15 kB each."""


@dataclass(frozen=True)
class PatientPage:
    code: str
    """The patient's code as this reader names it (a researcher's pseudonym)."""
    body: Markup
    built: bool
    """True when this request built the body (nothing usable was kept)."""


@cache
def code_fingerprint() -> str:
    """SHA-256 of the package's source and templates: pages built by other code are not reused
    (a fix to a rule or a template shows at once after an upgrade)."""
    root = Path(myoivig.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".html", ".yaml", ".csv", ".json"} and path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def variant_of(role: Role, viewer: Viewer) -> str:
    """What the body differs by between readers: the role (links to forms, the planner, the
    audit trail) and whether it is pseudonymised."""
    return f"{role.value}{'-pseudonymised' if viewer.pseudonymised else ''}"


def page_key(version: str, today: date, settings: ProtocolSettings, variant: str) -> str:
    return _key(version, today.isoformat(), settings.model_dump_json(), variant)


def _key(*parts: str) -> str:
    """SHA-256 of what a kept page or document was built from, and of the code that built it."""
    return hashlib.sha256("\x1f".join((code_fingerprint(), *parts)).encode("utf-8")).hexdigest()


def patient_page(
    store: Store, session: Session, viewer: Viewer, role: Role, code: str, today: date | None = None
) -> PatientPage:
    """The body of the patient page for this reader; RecordNotFoundError for a patient that
    does not exist or that the reader may not see."""
    today = today or date.today()
    real, version = _visible_version(session, viewer, code)
    settings = load_settings()
    variant = variant_of(role, viewer)
    key = page_key(version, today, settings, variant)
    packed, built = kept(
        store,
        session,
        real,
        variant,
        key,
        lambda: render_body(store, session, viewer, role, real, version, settings, today),
    )
    shown_code = code if viewer.pseudonymised else real
    return PatientPage(shown_code, Markup(unpack(packed)), built)


def patient_document(store: Store, session: Session, viewer: Viewer, code: str) -> tuple[str, bool]:
    """The API's JSON document of one dossier (pseudonymised for researchers) and whether this
    request built it; kept like the page, under the record's version (it does not depend on
    the day or the settings). RecordNotFoundError as for the page."""
    real, version = _visible_version(session, viewer, code)
    variant = "api-json" + ("-pseudonymised" if viewer.pseudonymised else "")
    key = _key(version, variant)
    packed, built = kept(
        store,
        session,
        real,
        variant,
        key,
        lambda: shown(stored_dossier(session, real, version), viewer).model_dump_json(),
    )
    return unpack(packed), built


def _visible_version(session: Session, viewer: Viewer, code: str) -> tuple[str, str]:
    """The clinic's code of a patient the viewer may see and the record's version."""
    real = visible_code(session, viewer, code)
    version = record_version(session, real)
    if version is None:  # deleted between the two queries
        raise RecordNotFoundError(f"no patient with code {code!r}")
    return real, version


def kept(
    store: Store,
    session: Session,
    real: str,
    variant: str,
    key: str,
    build: Callable[[], str],
) -> tuple[bytes, bool]:
    """What is kept under `key` for this patient and variant (in the process, else in the
    database), or `build()` packed and kept; and whether it was built here."""
    built = False

    def from_database_or_built() -> bytes:
        nonlocal built
        packed = read_snapshot(session, real, variant, key)
        if packed is not None:
            return packed
        built = True
        packed = pack(build())
        try:
            keep_snapshot(store, real, variant, key, packed)
        except SQLAlchemyError as error:  # served all the same; only speed is lost
            # the error's text may quote the statement's parameters: no patient code in the log
            log.warning("a %s could not be kept: %s", variant, type(error).__name__)
        return packed

    return PAGES.get((real, variant, key), from_database_or_built), built


def render_body(
    store: Store,
    session: Session,
    viewer: Viewer,
    role: Role,
    real: str,
    version: str,
    settings: ProtocolSettings,
    today: date,
) -> str:
    """The page body from the stored record (the template escapes every value)."""
    dossier = shown(stored_dossier(session, real, version), viewer)
    try:
        care, care_error = next_course(store, dossier, settings, today), None
    except ProtocolError as problem:
        care, care_error = None, str(problem)
    views = patient_views(dossier)
    return templates.get_template("patient_body.html").render(
        care=care,
        care_error=care_error,
        plans_doses=role in PLANS_DOSES,
        role=role.value,
        pseudonymised=viewer.pseudonymised,
        dossier=dossier,
        timeline=views.timeline,
        criteria=views.criteria,
        # Row ids for the edit and delete links: only for those who may change the record.
        edit_keys=edit_keys(session, viewer, real) if role is Role.CLINICIAN else None,
        abbreviations=ABBREVIATIONS,
    )
