"""Engine, sessions and schema upgrades for SQLite (default) and PostgreSQL.

Alembic is imported only when a migration runs (or its tooling is asked for): a start on a
database already at the code's revision reads ``alembic_version`` with plain SQLAlchemy and
the head from the migration files' text (:func:`head_revision`), since importing Alembic
(and Mako, Pygments behind it) would add some 11 MB the bot would hold for nothing.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which storage/migrations/env.py keeps
# A migration file's ``revision = "0030"`` / ``down_revision = "0028"`` line (annotated or not).
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


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
        """The database's revision (None: never migrated), read without Alembic."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current_revision)

    async def ensure_schema(self) -> None:
        """SQLite upgrades itself; PostgreSQL is upgraded deliberately by an operator.

        Compared first without Alembic, so that the usual start (already at head) never
        imports it."""
        current = await self.current_revision()
        head = head_revision()
        if current == head:
            return
        if self.is_sqlite:
            await self.upgrade()
            return
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, code needs {head}: "
            "run `leadbot db upgrade`"
        )

    async def ping(self) -> bool:
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


def head_revision(versions: Path = MIGRATIONS / "versions") -> str:
    """The code's head revision, read from the migration files' text: the one revision no
    file names as its ``down_revision``. Alembic's ``ScriptDirectory.get_current_head()``
    says the same (tests/unit/test_migrations.py holds them equal) but costs its import."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        if path.name.startswith("_"):
            continue
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            found = ast.literal_eval(value)
            if name == "revision":
                revisions.add(found)
            elif isinstance(found, str):
                parents.add(found)
            elif found is not None:  # a merge names its parents as a tuple
                parents.update(found)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {versions} have heads {sorted(heads)}, not one")
    return heads.pop()


def _current_revision(connection: Connection) -> str | None:
    """``alembic_version``'s one row, as Alembic's ``MigrationContext`` reads it; Alembic
    itself only for the case it alone handles (several rows: branches)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) <= 1:
        return rows[0] if rows else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()  # raises: many heads


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations (run on ``connection`` when given)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers (/rank) run while a writer commits; FKs are off by default."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
