"""Alembic environment: runs migrations on the connection the Store hands over (or the URL)."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

import myoivig.store.tables  # noqa: F401  (registers every table on the metadata)
from myoivig.store.registry import target_metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as own:
            _run(own)
        return
    _run(connection)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
