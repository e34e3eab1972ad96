"""The models and the Alembic head describe the same schema, on SQLite and on PostgreSQL.

A model changed without a migration (or a migration that drifted from the models) makes
``alembic revision --autogenerate`` find something; this test fails with that list.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_autogenerate_finds_nothing_after_upgrading_to_head(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.upgrade()  # the migrations, not create_all: they are what production runs
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await db.dispose()
    assert differences == [], "models and migrations disagree:\n" + "\n".join(
        map(repr, differences)
    )
