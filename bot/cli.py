"""``leadbot …`` commands: run, webhook, console, db, backup/restore, import-units, export, digest, periods."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from bot.config import ConfigError, Settings, load_settings, missing_setting
from storage.db import Database, SchemaOutOfDate

log = logging.getLogger("leadbot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        _logging(args, load_settings())
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SchemaOutOfDate as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _logging(args: argparse.Namespace, settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    from bot.logging_setup import setup_logging

    quiet = args.func is cmd_console
    level = logging.DEBUG if args.verbose else (logging.WARNING if quiet else settings.log_level)
    secrets = [settings.token_value() or "", settings.webhook_secret_value() or ""]
    try:
        secrets.append(make_url(settings.database_url).password or "")
    except Exception:
        pass
    setup_logging(level, json=settings.log_json, secrets=secrets)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadbot", description="Leadbot: 招商引资 reporting bot")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(title="commands")

    run = sub.add_parser("run", help="serve Telegram by long polling (needs LEADBOT_TOKEN)")
    run.set_defaults(func=cmd_run)

    hook = sub.add_parser(
        "webhook",
        help="serve Telegram by webhook with /healthz and /metrics (needs token, webhook URL and secret)",
    )
    hook.set_defaults(func=cmd_webhook)

    con = sub.add_parser("console", help="chat with the bot in the terminal, no token needed")
    con.add_argument(
        "--demo", action="store_true", help="seed a small demo jurisdiction in a fresh database"
    )
    con.add_argument(
        "--database-url",
        help="database to use (default: DATABASE_URL, or a temporary one with --demo)",
    )
    con.add_argument(
        "--now",
        help="start the console's clock here, e.g. 2026-11-24T10:00 (bot's zone); default: now",
    )
    con.set_defaults(func=cmd_console)

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(title="db commands")
    up = dbsub.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbsub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=cmd_db_current)

    bak = sub.add_parser(
        "backup", help="write a consistent copy of the database to PATH (safe while the bot runs)"
    )
    bak.add_argument("path", type=Path)
    bak.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    bak.set_defaults(func=cmd_backup)
    res = sub.add_parser(
        "restore", help="replace the database with the backup at PATH (stop the bot first)"
    )
    res.add_argument("path", type=Path)
    res.add_argument("--force", action="store_true", help="replace an existing database")
    res.set_defaults(func=cmd_restore)

    imp = sub.add_parser("import-units", help="import units from an .xlsx or .csv sheet")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_import_units)

    exp = sub.add_parser(
        "export", help="write the 台账 workbook (.xlsx): leads, weekly submissions, ledger, ranking"
    )
    exp.add_argument(
        "path", type=Path, help="the .xlsx to write; a folder gets 招商引资台账_<period>.xlsx"
    )
    exp.add_argument("--period", choices=["week", "month", "quarter", "year"], default="month")
    exp.add_argument(
        "--key", help="which one: 2026-W45, 2026-11, 2026-Q4, 2026 (default: the current one)"
    )
    exp.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    exp.set_defaults(func=cmd_export)

    dig = sub.add_parser(
        "digest",
        help="print a leaders' report (half-monthly, monthly, quarterly, annual); --xlsx writes its workbook",
    )
    dig.add_argument("kind", choices=["half", "month", "quarter", "year"])
    dig.add_argument(
        "key",
        nargs="?",
        help="which one: 2026-10-H1, 2026-10, 2026-Q3, 2026 (default: the last one that ended)",
    )
    dig.add_argument(
        "--xlsx",
        type=Path,
        help="also write the report's .xlsx here (a folder gets its default name)",
    )
    dig.set_defaults(func=cmd_digest)

    per = sub.add_parser("periods", help="print the weekly periods and deadlines of a year")
    per.add_argument("--year", type=int, required=True)
    per.set_defaults(func=cmd_periods)

    rs = sub.add_parser(
        "rescore",
        help="re-derive every ledger entry under the rules in force; print the change per unit",
    )
    rs.set_defaults(func=cmd_rescore)
    rules = sub.add_parser("rules", help="rules files")
    rulesub = rules.add_subparsers(title="rules commands")
    chk = rulesub.add_parser("check", help="validate a rules file and print the table in words")
    chk.add_argument("file", type=Path)
    chk.add_argument("--lang", default=None, help="zh_CN or en (default: LEADBOT_LOCALE)")
    chk.set_defaults(func=cmd_rules_check)
    return p


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    token = settings.token_value()
    if not token:
        raise ConfigError(
            "config error: LEADBOT_TOKEN (token): expected the bot token from @BotFather; "
            "without one, try `leadbot console --demo`"
        )
    from bot.app import ALLOWED_UPDATES, build_application

    db = Database(settings.database_url)
    app = build_application(settings, db)
    if app.web is not None:  # polling has no webhook server: the web app gets a port of its own
        app.web_listen = (settings.webhook_listen, settings.web_port)
    log.info("starting long polling on %s", _safe_url(settings.database_url))
    app.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
    asyncio.run(db.dispose())
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.token_value():
        raise missing_setting("token")
    if not settings.webhook_url:
        raise missing_setting("webhook_url")
    if not settings.webhook_secret_value():
        raise missing_setting("webhook_secret")
    from telegram.error import TelegramError

    from bot.webhook import serve

    log.info(
        "webhook at %s%s, database %s",
        settings.webhook_url,
        settings.webhook_path,
        _safe_url(settings.database_url),
    )
    try:
        return asyncio.run(serve(settings))
    except OSError as exc:  # e.g. the port is taken
        print(
            f"leadbot: cannot listen on {settings.webhook_listen}:{settings.webhook_port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
    except TelegramError as exc:  # Bot API unreachable, setWebhook refused the URL, ...
        print(f"leadbot: the webhook could not start: {exc.message}", file=sys.stderr)
    return 1


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

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
    from bot.backup import BackupError, restore

    settings = load_settings()
    try:
        result = restore(settings.database_url, args.path, force=args.force)
    except BackupError as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 1
    print(f"{_safe_url(settings.database_url)} restored from {args.path} ({result.detail})")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    settings = load_settings()
    start = None
    if args.now:
        try:
            start = datetime.fromisoformat(args.now)
        except ValueError:
            raise ConfigError(
                f"leadbot console: --now expects a time like 2026-11-24T10:00, got {args.now!r}"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=settings.zone)
    return asyncio.run(
        run_console(settings, demo=args.demo, database_url=args.database_url, start=start)
    )


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
    from bot.clock import SystemClock
    from bot.services import ServiceError
    from bot.services.units import ImportReport, import_units
    from bot.sheets import SheetError, read_unit_sheet

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
    from bot.clock import SystemClock
    from bot.export import ExportData, build_workbook
    from bot.services import ServiceError, export, scoring

    settings = load_settings()
    loc = settings.locale

    async def work(db: Database) -> ExportData:
        async with db.session() as session:
            return await export.collect(
                session, scoring.setup_for(settings), SystemClock().now(), args.period, args.key
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


def cmd_digest(args: argparse.Namespace) -> int:
    from bot import catalog, digest_xlsx
    from bot.clock import SystemClock
    from bot.digest_text import digest_text
    from bot.services import ServiceError, digests, scoring

    settings = load_settings()
    loc = settings.locale

    async def work(db: Database) -> digests.Report:
        async with db.session() as session:
            return await digests.collect(
                session, scoring.setup_for(settings), SystemClock().now(), args.kind, args.key
            )

    try:
        report = _with_database(settings.database_url, work)
    except ServiceError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1
    print(digest_text(loc, report, settings.zone))
    if args.xlsx is not None:
        path = args.xlsx / digest_xlsx.file_name(report) if args.xlsx.is_dir() else args.xlsx
        try:
            path.write_bytes(digest_xlsx.build_workbook(report, settings.zone))
        except OSError as exc:
            print(
                catalog.plain(
                    "digest.cli_cannot_write", loc, path=str(path), reason=exc.strerror or str(exc)
                ),
                file=sys.stderr,
            )
            return 1
        print(catalog.plain("digest.cli_written", loc, path=str(path)), file=sys.stderr)
    return 0


def cmd_periods(args: argparse.Namespace) -> int:
    from bot.periods import format_periods_lines

    settings = load_settings()
    for line in format_periods_lines(periods_for(settings), args.year):
        print(line)
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    """After a rules change: every derived entry again from the events; manual adjustments stay."""
    import time

    from bot.clock import SystemClock
    from bot.services import scoring

    settings = load_settings()
    setup = scoring.setup_for(settings)

    async def work(db: Database) -> list[scoring.UnitDiff]:
        return await scoring.rescore_all(db, setup, SystemClock().now())

    started = time.perf_counter()
    diffs = _with_database(settings.database_url, work)
    changed = [d for d in diffs if d.added or d.removed]
    print(
        f"rules: {setup.source} ({setup.fingerprint}); {len(diffs)} units, {len(changed)} changed, "
        f"{time.perf_counter() - started:.1f} s"
    )
    for d in changed:
        print(
            f"{d.unit_name}\t{_num(d.before)} → {_num(d.after)}\t(+{d.added} lines, −{d.removed} lines voided)"
        )
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    from bot.rules import RulesError, check_file

    settings = load_settings()
    try:
        _rules, lines = check_file(args.file, args.lang or settings.locale)
    except RulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"leadbot: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _num(value: object) -> str:
    from decimal import Decimal

    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def periods_for(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.periods import Periods, WeeklySchedule

    schedule = WeeklySchedule(
        weekday=settings.deadline_weekday,
        time=settings.deadline_time,
        tz=settings.tz,
        holiday_shift=settings.holiday_shift,
        extra_holidays=frozenset(settings.extra_holidays),
        extra_workdays=frozenset(settings.extra_workdays),
    )
    return Periods(schedule)


def _safe_url(url: str) -> str:
    """Never print a database password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


if __name__ == "__main__":
    raise SystemExit(main())
