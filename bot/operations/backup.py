"""``leadbot backup PATH`` and ``leadbot restore PATH``.

SQLite: sqlite3's online backup API copies the database in one step under a read
transaction, so the copy is a consistent snapshot even while the bot writes (WAL
lets the writer go on meanwhile). The copy is written next to PATH, checked with
``PRAGMA integrity_check``, switched to a single-file journal and then renamed into
place. Restore copies the other way with the same API and refuses to overwrite an
existing database unless told to (``force``); stop the bot first.

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``, with the
URL turned into libpq's form (``postgresql://…``, no ``+asyncpg``) and the password
passed in ``PGPASSWORD``, never on the command line and never printed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """One line for the operator."""


@dataclass
class BackupResult:
    path: Path
    bytes: int
    detail: str


def backup(database_url: str, target: Path, *, force: bool = False) -> BackupResult:
    if target.is_dir():
        raise BackupError(
            f"{target} is a folder; name the file to write, e.g. {target / 'leadbot.db'}"
        )
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another name or add --force to overwrite it")
    if not target.parent.is_dir():
        raise BackupError(
            f"the folder {target.parent} does not exist; create it (mkdir -p {target.parent}) "
            "or choose another path"
        )
    if _is_sqlite(database_url):
        return backup_sqlite(sqlite_path(database_url), target)
    return backup_postgres(database_url, target)


def restore(database_url: str, source: Path, *, force: bool = False) -> BackupResult:
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if _is_sqlite(database_url):
        return restore_sqlite(source, sqlite_path(database_url), force=force)
    return restore_postgres(source, database_url, force=force)


# -- SQLite ---------------------------------------------------------------------


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(
            f"cannot back up the SQLite database {database or ':memory:'!r}: it is not a file"
        )
    return Path(database)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    tmp = target.with_name(f".{target.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        _copy(source, tmp)
        _check(tmp, f"the copy of {source}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, _summary(target))


def restore_sqlite(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    _check(source, str(source))
    if target.exists() and not force:
        raise BackupError(f"{target} exists; stop the bot and add --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy(source, target)
    return BackupResult(target, target.stat().st_size, _summary(target))


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=30)  # read-only would fail on a WAL file without -shm
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)  # pages=-1: the whole database in one consistent step
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _check(path: Path, what: str) -> None:
    try:
        conn = sqlite3.connect(path)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a usable SQLite database: {exc}") from exc
    if not result or result[0] != "ok":
        raise BackupError(f"{what} failed the integrity check: {result[0] if result else '?'}")


def _summary(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        revision = None
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    finally:
        conn.close()
    return f"{len(tables)} tables, schema revision {revision or 'none'}"


# -- PostgreSQL -------------------------------------------------------------------

INSTALL_HINT = (
    "{tool} not found on PATH: install the PostgreSQL client tools of the server's major "
    "version (Debian/Ubuntu: apt install postgresql-client-15), or run "
    "`{tool} {example}` yourself"
)


def libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """``postgresql+asyncpg://u:p@h/db`` → (``postgresql://u@h/db``, {"PGPASSWORD": p})."""
    url = make_url(database_url)
    env = {"PGPASSWORD": url.password} if url.password else {}
    query = dict(url.query)
    if "ssl" in query and "sslmode" not in query:  # asyncpg's spelling → libpq's
        query["sslmode"] = query.pop("ssl")
    bare = URL.create("postgresql", url.username, None, url.host, url.port, url.database, query)
    dsn = bare.render_as_string(hide_password=False)
    return dsn, env


def _tool(name: str, example: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(INSTALL_HINT.format(tool=name, example=example))
    return found


def _run(argv: list[str], env: dict[str, str], secret: str | None) -> None:
    done = subprocess.run(
        argv, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        line = message[-1] if message else f"exit status {done.returncode}"
        if secret:
            line = line.replace(secret, "***")
        raise BackupError(f"{Path(argv[0]).name} failed: {line}")


def backup_postgres(database_url: str, target: Path) -> BackupResult:
    pg_dump = _tool(
        "pg_dump", f"--format=custom --file={target} --dbname=postgresql://USER@HOST/DB"
    )
    dsn, env = libpq(database_url)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        _run(
            [pg_dump, "--format=custom", f"--file={tmp}", f"--dbname={dsn}"],
            env,
            env.get("PGPASSWORD"),
        )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, "pg_dump custom format")


def restore_postgres(source: Path, database_url: str, *, force: bool = False) -> BackupResult:
    pg_restore = _tool(
        "pg_restore", f"--clean --if-exists --dbname=postgresql://USER@HOST/DB {source}"
    )
    dsn, env = libpq(database_url)
    if not force and _postgres_has_tables(database_url):
        raise BackupError(
            "the target database already has tables; stop the bot and add --force to replace them"
        )
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={dsn}",
            str(source),
        ],
        env,
        env.get("PGPASSWORD"),
    )
    return BackupResult(source, source.stat().st_size, "restored with pg_restore")


def _postgres_has_tables(database_url: str) -> bool:
    import asyncio

    from sqlalchemy import text

    from storage.db import Database

    async def go() -> bool:
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                count = await conn.scalar(
                    text(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
                    )
                )
                return bool(count)
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except Exception as exc:
        raise BackupError(f"cannot reach the target database: {type(exc).__name__}") from exc
