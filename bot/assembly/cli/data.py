"""The database and the data in it: ``db upgrade``/``db current``, ``backup``/``restore``,
``import-units``, ``export`` and ``bench-data``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bot.assembly.config import load_settings
from storage.db import Database


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.operations.backup import BackupError, backup

    settings = load_settings()
    try:
        result = backup(settings.database_url, args.path, force=args.force)
    except BackupError as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 1
    print(
        f"backup of {_safe_url(settings.database_url)} written to {result.path} ({result.bytes} bytes, {result.detail})"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.operations.backup import BackupError, restore

    settings = load_settings()
    try:
        result = restore(settings.database_url, args.path, force=args.force)
    except BackupError as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 1
    print(f"{_safe_url(settings.database_url)} restored from {args.path} ({result.detail})")
    return 0


T = TypeVar("T")


def _with_database(url: str, work: Callable[[Database], Awaitable[T]], *, schema: bool = True) -> T:
    """One piece of CLI work on the database: the schema checked (SQLite upgraded) first,
    the engine disposed after, whatever happens."""

    async def go() -> T:
        db = Database(url)
        try:
            if schema:
                await db.ensure_schema()
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def upgrade(db: Database) -> str | None:
        await db.upgrade(args.revision)
        return await db.current_revision()

    revision = _with_database(settings.database_url, upgrade, schema=False)
    print(f"schema at revision {revision} ({_safe_url(settings.database_url)})")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    settings = load_settings()

    print(_with_database(settings.database_url, Database.current_revision, schema=False) or "none")
    return 0


def cmd_import_units(args: argparse.Namespace) -> int:
    from bot import catalog
    from bot.assembly.clock import SystemClock
    from bot.operations.sheets import SheetError, read_unit_sheet
    from bot.services import ServiceError
    from bot.services.units import ImportReport, import_units

    settings = load_settings()
    loc = settings.locale
    try:
        rows = read_unit_sheet(args.file.read_bytes(), args.file.name)
    except OSError as exc:
        print(f"leadbot: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except SheetError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1

    async def work(db: Database) -> ImportReport:
        async with db.session() as session:
            return await import_units(session, SystemClock().now(), rows)

    try:
        report = _with_database(settings.database_url, work)
    except ServiceError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1
    print(catalog.plain("import.done", loc, added=len(report.added), skipped=len(report.skipped)))
    for row, code, params in report.skipped:
        print(
            catalog.plain(
                "import.skip_line", loc, row=row, reason=catalog.plain(code, loc, **params)
            )
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot import catalog
    from bot.assembly.clock import SystemClock
    from bot.rendering.export import ExportData, build_workbook
    from bot.services import ServiceError, export, scoring

    settings = load_settings()
    loc = settings.locale
    kind = args.period or export.DEFAULT_KIND
    if args.key:
        key_kind = export.key_kind(args.key)
        if key_kind is None:
            print(
                catalog.plain("rough.cli.export_bad_key", loc, key=args.key[:20]), file=sys.stderr
            )
            return 1
        if args.period and args.period != key_kind:
            print(
                catalog.plain(
                    "rough.cli.export_kind_mismatch",
                    loc,
                    key=args.key[:20],
                    key_kind=key_kind,
                    kind=args.period,
                ),
                file=sys.stderr,
            )
            return 1
        kind = key_kind

    async def work(db: Database) -> ExportData:
        async with db.session() as session:
            return await export.collect(
                session,
                scoring.setup_for(settings),
                SystemClock().now(),
                kind,
                args.key,
                whole=args.all,
            )

    try:
        data = _with_database(settings.database_url, work)
    except ServiceError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1
    path = args.path / data.filename if args.path.is_dir() else args.path
    if path.exists() and not args.force:
        print(catalog.plain("export.cli_exists", loc, path=str(path)), file=sys.stderr)
        return 1
    try:
        path.write_bytes(build_workbook(data))
    except OSError as exc:
        print(
            catalog.plain(
                "export.cli_cannot_write", loc, path=str(path), reason=exc.strerror or str(exc)
            ),
            file=sys.stderr,
        )
        return 1
    print(
        catalog.plain(
            "export.cli_done",
            loc,
            path=str(path),
            leads=len(data.leads),
            weekly=len(data.weekly),
            ledger=len(data.ledger),
            units=len(data.ranking),
            period=data.span.label(loc),
        )
    )
    return 0


def cmd_bench_data(args: argparse.Namespace) -> int:
    from bot.operations import benchdata
    from bot.services import scoring

    url = args.path if "://" in args.path else f"sqlite+aiosqlite:///{Path(args.path).resolve()}"
    if "://" not in args.path and Path(args.path).exists():
        print(f"{args.path} exists: bench-data writes a new database", file=sys.stderr)
        return 1
    settings = load_settings().model_copy(update={"rules_file": args.rules})
    setup = scoring.setup_for(settings)
    size = benchdata.BenchSize(args.units, args.leads, args.ledger, args.years, args.seed)

    async def work() -> benchdata.BenchReport:
        db = Database(url)
        try:
            await db.upgrade()
            return await benchdata.write(db, setup, benchdata.default_now(), size, print)
        finally:
            await db.dispose()

    r = asyncio.run(work())
    print(
        f"{r.units} units, {r.leads} leads, {r.lead_events} lead events, {r.activities} activities, "
        f"{r.weekly} weekly submissions, {r.ledger} ledger lines in {r.seconds:.0f} s"
    )
    return 0


def _safe_url(url: str) -> str:
    """Never print a database password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
