"""Engine, sessions and schema upgrades for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """PostgreSQL is behind the code: the operator runs ``leadbot db upgrade``."""


def json_loads(text: str) -> Any:
    """A JSON column's value; the empty list most leads' tags hold without the parser (a
    report reads thousands of them: json.loads costs ~2 µs even on "[]")."""
    return [] if text == "[]" else json.loads(text)


class Database:
    """Owns the engine; hands out sessions; knows how to migrate itself."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            engine_kwargs.setdefault("connect_args", {"timeout": 30})
        else:
            engine_kwargs.setdefault("pool_pre_ping", True)
        engine_kwargs.setdefault("json_deserializer", json_loads)
        self.engine: AsyncEngine = create_async_engine(url, **engine_kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_TrackedSession
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed on success, rolled back on any error.

        While an update from the inbox is being handled, the first unit of work that
        writes anything also marks that update done, in the same transaction
        (storage/inbox.py), so its effects and its "done" commit together."""
        from storage import inbox

        async with self.sessions() as session:
            try:
                yield session
                state = inbox.CURRENT.get()
                marking = state is not None and not state.done and _wrote(session)
                if marking:
                    assert state is not None
                    await session.execute(inbox.done_statement(state))
                await session.commit()
                if marking:
                    assert state is not None
                    state.done = True
            except BaseException:
                await session.rollback()
                raise

    async def upgrade(self, revision: str = "head") -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )

    async def ensure_schema(self) -> None:
        """SQLite upgrades itself; PostgreSQL is upgraded deliberately by an operator."""
        if self.is_sqlite:
            await self.upgrade()
            return
        current = await self.current_revision()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        if current != head:
            raise SchemaOutOfDate(
                f"database schema is at {current or 'nothing'}, code needs {head}: "
                "run `leadbot db upgrade`"
            )

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


class _TrackedSession(Session):
    """Knows whether it wrote anything (an ORM flush or an INSERT/UPDATE/DELETE)."""


def _wrote(session: AsyncSession) -> bool:
    sync = session.sync_session
    return bool(sync.info.get("wrote") or sync.new or sync.dirty or sync.deleted)


@event.listens_for(_TrackedSession, "do_orm_execute")
def _note_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


@event.listens_for(_TrackedSession, "after_flush")
def _note_flush(session: Session, _flush: UOWTransaction) -> None:
    session.info["wrote"] = True


@event.listens_for(_TrackedSession, "after_commit")
def _forget_writes(session: Session) -> None:
    session.info.pop("wrote", None)


@event.listens_for(_TrackedSession, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("wrote", None)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers (/rank) run while a writer commits; FKs are off by default."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
