"""The models and the Alembic head describe the same schema, on SQLite and on PostgreSQL.

A model changed without a migration (or a migration that drifted from the models) makes
``alembic revision --autogenerate`` find something; this test fails with that list.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import Database, SchemaOutOfDate, alembic_config, head_revision
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


async def test_0016_moves_each_leads_tax_figure_into_a_monthly_record(db_url: str) -> None:
    """Seed 004 税收 became records: a lead's field value is one record of the month of the /edit
    that set it (Shanghai time), or of its report month; the column is gone; downgrade sums back."""
    import sqlalchemy as sa

    db = Database(db_url)
    from datetime import datetime

    naive = datetime(2026, 3, 31, 17, 0)  # UTC on disk: 1 April 01:00 in Shanghai
    try:
        await db.upgrade("0015")
        async with db.engine.begin() as conn:
            run = conn.execute
            await run(
                sa.text(
                    "INSERT INTO units (id, name, active, created_at) VALUES (1, '甲', true, :t)"
                ),
                {"t": naive},
            )
            await run(
                sa.text(
                    "INSERT INTO members (id, tg_user_id, role, display_name, active, joined_at) "
                    "VALUES (1, 1101, 'liaison', '王', true, :t)"
                ),
                {"t": naive},
            )
            for lead_id, tax in ((1, "15"), (2, "8.5"), (3, None)):
                await run(
                    sa.text(
                        "INSERT INTO leads (id, unit_id, reporter_id, reported_at, updated_at, project,"
                        " company, company_key, industry, amount_wan, origin, stage, tags, attachments,"
                        " review, near_confirmed, tax_wan) VALUES (:id, 1, 1, :t, :t, 'p', :c, :c,"
                        " '现代服务业', 100, '省外', '线索', '[]', '[]', 'pending', false, :tax)"
                    ),
                    {"id": lead_id, "t": datetime(2026, 1, 10, 2), "c": f"c{lead_id}", "tax": tax},
                )
            await run(
                sa.text(
                    "INSERT INTO lead_events (lead_id, unit_id, at, kind, field, actor_tg_id)"
                    " VALUES (1, 1, :t, 'edit', 'tax_wan', 1101)"
                ),
                {"t": naive},
            )
        await db.upgrade()
        async with db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT lead_id, month, amount_wan, recorded_by FROM tax_paid ORDER BY lead_id"
                    )
                )
            ).all()
            columns = await conn.run_sync(
                lambda c: [col["name"] for col in sa.inspect(c).get_columns("leads")]
            )
        assert [(r[0], r[1], Decimal(r[2]), r[3]) for r in rows] == [
            (1, "2026-04", Decimal(15), 1101),  # the edit's month, in Shanghai
            (2, "2026-01", Decimal("8.5"), 0),  # the report's month
        ]
        assert "tax_wan" not in columns
        from alembic import command

        from storage.db import alembic_config

        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0015"))
        async with db.engine.connect() as conn:
            back = (await conn.execute(sa.text("SELECT id, tax_wan FROM leads ORDER BY id"))).all()
        assert [(i, None if t is None else Decimal(t)) for i, t in back] == [
            (1, Decimal(15)),
            (2, Decimal("8.5")),
            (3, None),
        ]
    finally:
        await db.dispose()


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    """``ensure_schema`` compares with :func:`head_revision` so that a start at head never
    imports Alembic; a migration file it would misread must fail here, not at a start."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_is_the_revision_no_file_names_as_its_parent(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text('revision = "ignored"\n')
    (tmp_path / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "0002_b.py").write_text('revision: str = "0002"\ndown_revision: str = "0001"\n')
    (tmp_path / "0003_c.py").write_text("revision = '0003'\ndown_revision = '0001'\n")
    with pytest.raises(RuntimeError, match=r"0002.*0003"):
        head_revision(tmp_path)  # two branches: no one head
    merge = 'revision = "0004"\ndown_revision = ("0002", "0003")\n'
    (tmp_path / "0004_merge.py").write_text(merge)
    assert head_revision(tmp_path) == "0004"


def _alembic_current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_the_current_revision_is_read_as_alembic_reads_it(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert await db.current_revision() is None  # no alembic_version table yet
        await db.upgrade("0015")
        async with db.engine.connect() as conn:
            assert await db.current_revision() == await conn.run_sync(_alembic_current) == "0015"
    finally:
        await db.dispose()


async def test_ensure_schema_upgrades_sqlite_and_refuses_postgresql_behind(db_url: str) -> None:
    """A fresh or older SQLite file is upgraded at start; PostgreSQL behind the code is
    refused with the command to run; either at head starts as is."""
    db = Database(db_url)
    try:
        if db.is_sqlite:
            await db.ensure_schema()  # a fresh file: created up to head
            assert await db.current_revision() == head_revision()
            older = Database(db_url.replace("test.db", "older.db"))
            try:
                await older.upgrade("0015")
                await older.ensure_schema()
                assert await older.current_revision() == head_revision()
            finally:
                await older.dispose()
        else:
            with pytest.raises(SchemaOutOfDate, match=r"nothing.*leadbot db upgrade"):
                await db.ensure_schema()
            await db.upgrade("0015")
            with pytest.raises(SchemaOutOfDate, match="0015"):
                await db.ensure_schema()
            await db.upgrade()
        assert await db.current_revision() == head_revision()
        await db.ensure_schema()  # at head: nothing to do
    finally:
        await db.dispose()
