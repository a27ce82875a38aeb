"""Whether a database already has the newest schema, answered without loading Alembic.

Every command that writes opens the store with "create or upgrade the schema"; running Alembic
for that costs about 0.7 s even when there is nothing to do (it imports itself and every migration
file). The common case, a database at the newest revision, is recognised here from the migration
files' `revision`/`down_revision` lines and the `alembic_version` table; anything else (an older
or unknown revision, several heads, a file this reader does not understand) goes to Alembic.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*[\"']([^\"']+)[\"']\s*$", re.M)


def script_head(versions: Path) -> str | None:
    """The one revision no other migration builds on, or None if that is not clear-cut."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.findall(source)
        if len(found) != 1:
            return None
        revisions.add(found[0])
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def database_revision(engine: Engine) -> str | None:
    """The revision stamped in the database, or None (no schema yet, or not one revision)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def at_head(engine: Engine, versions: Path) -> bool:
    """True only when the database is certainly at the newest migration."""
    head = script_head(versions)
    return head is not None and database_revision(engine) == head
