"""``leadbot …`` commands: run, console, db upgrade, import-units, periods."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from storage.db import Database, SchemaOutOfDate

log = logging.getLogger("leadbot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    quiet = getattr(args, "func", None) is cmd_console
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else (logging.WARNING if quiet else logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SchemaOutOfDate as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadbot", description="Leadbot: 招商引资 reporting bot")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(title="commands")

    run = sub.add_parser("run", help="serve Telegram by long polling (needs LEADBOT_TOKEN)")
    run.set_defaults(func=cmd_run)

    con = sub.add_parser("console", help="chat with the bot in the terminal, no token needed")
    con.add_argument("--demo", action="store_true", help="seed a small demo jurisdiction in a fresh database")
    con.add_argument("--database-url", help="database to use (default: DATABASE_URL, or a temporary one with --demo)")
    con.set_defaults(func=cmd_console)

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(title="db commands")
    up = dbsub.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbsub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=cmd_db_current)

    imp = sub.add_parser("import-units", help="import units from an .xlsx or .csv sheet")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_import_units)

    per = sub.add_parser("periods", help="print the weekly periods and deadlines of a year")
    per.add_argument("--year", type=int, required=True)
    per.set_defaults(func=cmd_periods)
    return p


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    token = settings.token_value()
    if not token:
        raise ConfigError("config error: LEADBOT_TOKEN (token): expected the bot token from @BotFather; "
                          "without one, try `leadbot console --demo`")
    from bot.app import build_application

    db = Database(settings.database_url)
    app = build_application(settings, db)
    log.info("starting long polling on %s", _safe_url(settings.database_url))
    app.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"], close_loop=False)
    asyncio.run(db.dispose())
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    settings = load_settings()
    return asyncio.run(run_console(settings, demo=args.demo, database_url=args.database_url))


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def go() -> str | None:
        db = Database(settings.database_url)
        try:
            await db.upgrade(args.revision)
            return await db.current_revision()
        finally:
            await db.dispose()

    print(f"schema at revision {asyncio.run(go())} ({_safe_url(settings.database_url)})")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def go() -> str | None:
        db = Database(settings.database_url)
        try:
            return await db.current_revision()
        finally:
            await db.dispose()

    print(asyncio.run(go()) or "none")
    return 0


def cmd_import_units(args: argparse.Namespace) -> int:
    from bot import catalog
    from bot.services import ServiceError
    from bot.services.units import import_units
    from bot.sheets import SheetError, read_unit_sheet
    from bot.clock import SystemClock

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

    async def go() -> int:
        db = Database(settings.database_url)
        try:
            await db.ensure_schema()
            async with db.session() as session:
                report = await import_units(session, SystemClock().now(), rows)
        except ServiceError as err:
            print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        print(catalog.plain("import.done", loc, added=len(report.added), skipped=len(report.skipped)))
        for row, code, params in report.skipped:
            print(catalog.plain("import.skip_line", loc, row=row, reason=catalog.plain(code, loc, **params)))
        return 0

    return asyncio.run(go())


def cmd_periods(args: argparse.Namespace) -> int:
    from bot.periods import format_periods_lines

    settings = load_settings()
    for line in format_periods_lines(periods_for(settings), args.year):
        print(line)
    return 0


def periods_for(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.periods import Periods, WeeklySchedule

    return Periods(WeeklySchedule(weekday=settings.deadline_weekday, time=settings.deadline_time, tz=settings.tz))


def _safe_url(url: str) -> str:
    """Never print a database password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


if __name__ == "__main__":
    raise SystemExit(main())
